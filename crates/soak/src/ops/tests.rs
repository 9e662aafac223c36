//! Tests of the parent module.

use std::time::Instant;

use super::*;
use crate::epoch::Epochs;

fn models(client: u32) -> Vec<KeyModel> {
    (0..KEYS_PER_CLIENT)
        .map(|i| {
            let kind = if i == 0 {
                KeyKind::Counter
            } else {
                KeyKind::Blob
            };
            KeyModel::new(client, i, kind, Instant::now())
        })
        .collect()
}

#[test]
fn batches_encode_and_reused_keys_get_a_hopeless_cas() {
    let ms = models(5);
    let names: Vec<Bytes> = (0..KEYS_PER_CLIENT)
        .map(|i| value::key_name(1, 5, i))
        .collect();
    let mut rng = Rng::new(9);
    let mut reused_cas = 0;
    for protocol in [Protocol::Ascii, Protocol::Binary] {
        for seq in 0..2000 {
            let mut d = Draw {
                rng: &mut rng,
                models: &ms,
                protocol,
                quiet_percent: 20,
                now: Epochs::default().now(),
            };
            let mut used = vec![1];
            let op = d.op(&mut used, 5, seq);
            if let Op::Write {
                key: 1,
                write:
                    Write::Store {
                        mode: StoreMode::Cas,
                        cas,
                        ..
                    },
                ..
            } = &op
            {
                assert!(*cas >= 1 << 62);
                reused_cas += 1;
            }
            if let Op::Read { keys, .. } = &op {
                let mut k = keys.clone();
                k.dedup();
                assert_eq!(k.len(), keys.len(), "distinct keys");
            }
            let mut n = 0;
            let reqs = requests(&op, protocol, &names, || {
                n += 1;
                n
            });
            let mut out = bytes::BytesMut::new();
            for r in &reqs {
                match protocol {
                    Protocol::Ascii => protocol::ascii::encode_request(r, &mut out).unwrap(),
                    Protocol::Binary => protocol::binary::encode_request(r, &mut out).unwrap(),
                }
            }
        }
    }
    assert!(reused_cas > 0);
}
