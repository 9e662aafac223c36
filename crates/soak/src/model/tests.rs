//! Tests of the parent module.

use super::*;
use crate::epoch::Epochs;

fn window(e: &Epochs) -> Window {
    Window {
        sent: e.now(),
        recv: e.now(),
        at: Instant::now(),
    }
}

#[test]
fn trust_follows_loss_and_ghosts() {
    let e = Epochs::default();
    let mut m = KeyModel::new(3, 1, KeyKind::Blob, Instant::now());
    assert!(m.trusted(&window(&e)));
    e.begin_loss();
    e.end_loss();
    assert!(!m.trusted(&window(&e)), "data lost since");
    let w = window(&e);
    m.establish(Content::Absent, &w, false);
    assert!(m.trusted(&window(&e)));
    m.write_failed(&window(&e));
    m.establish(Content::Absent, &window(&e), false);
    assert!(!m.trusted(&window(&e)), "a ghost may land");
}

#[test]
fn predicted_facts_fall_with_any_fault() {
    let e = Epochs::default();
    let mut m = KeyModel::new(3, 1, KeyKind::Blob, Instant::now());
    let w = window(&e);
    m.noreply_sent(&w);
    m.establish(Content::Absent, &w, true);
    assert!(m.trusted(&window(&e)));
    e.begin_fault();
    e.end_fault();
    assert!(!m.trusted(&window(&e)));
}

#[test]
fn cas_must_grow_within_an_epoch() {
    let e = Epochs::default();
    let mut m = KeyModel::new(3, 1, KeyKind::Blob, Instant::now());
    let w = window(&e);
    m.note_cas(10, &w, true).unwrap();
    m.note_cas(10, &w, false).unwrap();
    assert!(m.note_cas(10, &w, true).is_err());
    assert!(m.note_cas(9, &w, false).is_err());
    assert_eq!(m.cas_in(w.sent), Some(10));
    m.note_cas(11, &w, true).unwrap();
    assert_eq!(m.old_cas_in(w.sent), Some(10));
    e.begin_loss();
    e.end_loss();
    m.note_cas(2, &window(&e), true).unwrap();
    assert_eq!(m.cas_in(w.sent), None, "old epoch");
}

#[test]
fn a_read_during_a_fault_forgets_the_cas_but_does_not_call_it_old() {
    let e = Epochs::default();
    let mut m = KeyModel::new(3, 1, KeyKind::Blob, Instant::now());
    m.note_cas(10, &window(&e), true).unwrap();
    e.begin_fault();
    m.note_cas(10, &window(&e), false).unwrap();
    e.end_fault();
    let now = e.now();
    assert_eq!((m.cas_in(now), m.old_cas_in(now)), (None, None));
    m.note_cas(11, &window(&e), true).unwrap();
    e.begin_fault();
    m.note_cas(12, &window(&e), true).unwrap();
    assert_eq!(m.old_cas_in(e.now()), Some(11), "a write makes it old");
}

#[test]
fn plausibility_names_the_writer() {
    let m = KeyModel::new(3, 1, KeyKind::Blob, Instant::now());
    let mine = value::segment(
        Origin {
            client: 3,
            key: 1,
            seq: 9,
        },
        5,
    );
    let theirs = value::segment(
        Origin {
            client: 4,
            key: 1,
            seq: 9,
        },
        5,
    );
    assert!(m.plausible(&mine, value::flags(3, 9)).is_ok());
    let e = m.plausible(&theirs, value::flags(3, 9)).unwrap_err();
    assert!(e.contains("client 4 key 1 request 9"), "{e}");
    assert!(m.plausible(&mine, value::flags(4, 9)).is_err());
    let c = KeyModel::new(3, 0, KeyKind::Counter, Instant::now());
    assert!(c.plausible(b"12 ", 0).is_ok());
    assert!(c.plausible(&mine, 0).is_err());
}
