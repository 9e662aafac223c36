//! One client's side of the conversation, without I/O: the requests sent
//! and not yet answered, and every reply frame matched to the request it
//! answers and checked ([`crate::check`]).
//!
//! Replies come in request order. An ascii `noreply` request is never
//! answered; its predicted outcome is applied when it reaches the front.
//! A binary quiet request is answered only when it fails (or, for GETKQ,
//! hits): a later reply with another opaque means it succeeded (or missed).
//! Binary replies must echo the opaque and opcode of their request.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use protocol::binary::ReplyTo;
use protocol::{Request, Response};

use crate::check::{self, Hit, Write};
use crate::epoch::{Epochs, Window};
use crate::model::KeyModel;
use crate::ops::{Protocol, Read};
use crate::report::{describe_request, describe_response, Mismatch, Report};

mod feed;
mod reply;

pub use reply::failure;

/// What a sent request is about.
#[derive(Clone, Debug)]
pub enum What {
    /// A write to one key.
    Write {
        /// Key index.
        key: u8,
        /// The write.
        write: Write,
    },
    /// A read of these keys (binary: one).
    Read {
        /// Key indexes.
        keys: Vec<u8>,
        /// How.
        how: Read,
    },
    /// ascii `version` / binary NOOP: answered by the proxy itself.
    Sync,
}

/// A request sent and not yet answered.
#[derive(Clone, Debug)]
struct Pending {
    seq: u64,
    req: Request,
    what: What,
    window: Window,
    hits: Vec<(u8, Hit)>,
}

/// A decoded reply frame.
#[derive(Clone, Debug)]
pub enum Frame {
    /// An ascii frame.
    Ascii(Response),
    /// A binary frame and the request it says it answers.
    Binary(ReplyTo, Response),
}

/// One client's state: its keys' models, its outstanding requests, its counts.
pub struct Conversation {
    /// The client id.
    pub client: u32,
    /// The client's protocol.
    pub protocol: Protocol,
    /// One model per key.
    pub models: Vec<KeyModel>,
    /// The keys' names.
    pub names: Vec<Bytes>,
    /// Counts.
    pub report: Report,
    /// Label errors outside fault windows (a soak with faults).
    pub fault_aware: bool,
    /// moxi may answer a failed read with a miss for this client too (not
    /// only for ascii gets): an ascii hop inside the topology does so.
    pub miss_on_error: bool,
    epochs: Arc<Epochs>,
    pending: VecDeque<Pending>,
}

impl Conversation {
    /// A conversation for `client` over `models` named `names`.
    pub fn new(
        client: u32,
        protocol: Protocol,
        models: Vec<KeyModel>,
        names: Vec<Bytes>,
        epochs: Arc<Epochs>,
    ) -> Conversation {
        Conversation {
            client,
            protocol,
            models,
            names,
            report: Report::default(),
            fault_aware: false,
            miss_on_error: false,
            epochs,
            pending: VecDeque::new(),
        }
    }

    /// The fault clocks.
    pub fn epochs(&self) -> &Epochs {
        &self.epochs
    }

    /// Records a request as sent now.
    pub fn sent(&mut self, seq: u64, req: Request, what: What) {
        let now = self.epochs.now();
        self.report.requests += 1;
        self.pending.push_back(Pending {
            seq,
            req,
            what,
            window: Window {
                sent: now,
                recv: now,
                at: Instant::now(),
            },
            hits: Vec::new(),
        });
    }

    /// True while a reply is still due. Settles the ascii noreply
    /// requests at the front on the way.
    pub fn waiting(&mut self) -> bool {
        self.settle_noreply();
        !self.pending.is_empty()
    }

    /// The connection is gone (`why`): every write not yet answered may or
    /// may not have happened, and may still happen.
    pub fn abandon(&mut self, why: &str) {
        let w = self.pending.front().map(|p| self.window_of(p));
        self.error_in(why.to_owned(), w);
        while let Some(p) = self.pending.pop_front() {
            if let What::Write { key, .. } = p.what {
                let w = self.window_of(&p);
                self.models[usize::from(key)].write_failed(&w);
            }
        }
    }

    /// Matches and checks one reply frame. A mismatch leaves the stream
    /// unusable: the caller reports it and abandons the connection.
    pub fn on_frame(&mut self, frame: Frame) -> Result<(), Mismatch> {
        let (result, resp) = match frame {
            Frame::Ascii(resp) => {
                self.settle_noreply();
                (self.feed(&resp), resp)
            }
            Frame::Binary(to, resp) => {
                let r = self.match_binary(&to).and_then(|()| self.feed(&resp));
                (r, resp)
            }
        };
        result.map_err(|why| self.mismatch(&resp, why))
    }

    fn mismatch(&self, resp: &Response, why: String) -> Mismatch {
        self.mismatch_text(describe_response(resp), why)
    }

    /// A mismatch about the request at the front, for a reply described
    /// as `reply` (e.g. bytes that do not decode).
    pub fn mismatch_text(&self, reply: String, why: String) -> Mismatch {
        let (seq, request) = self
            .pending
            .front()
            .map_or((0, "(none outstanding)".into()), |p| {
                (p.seq, describe_request(&p.req))
            });
        Mismatch {
            client: self.client,
            protocol: self.protocol,
            seq,
            request,
            reply,
            why,
        }
    }

    fn window_of(&self, p: &Pending) -> Window {
        Window {
            recv: self.epochs.now(),
            ..p.window
        }
    }

    fn settle_noreply(&mut self) {
        while self.protocol == Protocol::Ascii && self.pending.front().is_some_and(|p| p.req.quiet)
        {
            let Some(p) = self.pending.pop_front() else {
                return;
            };
            if let What::Write { key, write } = &p.what {
                let w = self.window_of(&p);
                let m = &mut self.models[usize::from(*key)];
                m.remember(format!("#{} {} (noreply)", p.seq, describe_request(&p.req)));
                check::assume_write(m, write, &w);
            }
        }
    }

    /// Pops the quiet requests a binary reply skips (they succeeded or
    /// missed), then checks that the front request is the one answered.
    fn match_binary(&mut self, to: &ReplyTo) -> Result<(), String> {
        while let Some(p) = self.pending.front() {
            if !p.req.quiet || p.req.opaque == to.opaque {
                break;
            }
            self.quiet_skipped()?;
        }
        let Some(p) = self.pending.front() else {
            return Err(format!(
                "reply with opaque {:#x} but nothing outstanding",
                to.opaque
            ));
        };
        let want = ReplyTo::of(&p.req);
        if to.opaque != want.opaque {
            return Err(format!(
                "opaque {:#x} (client {}'s) answers a request with opaque {:#x}",
                to.opaque,
                to.opaque >> 12,
                want.opaque
            ));
        }
        if to.opcode != want.opcode {
            return Err(format!(
                "opcode {:#04x}, request opcode {:#04x}",
                to.opcode, want.opcode
            ));
        }
        Ok(())
    }

    /// The quiet request at the front was not answered.
    fn quiet_skipped(&mut self) -> Result<(), String> {
        let Some(p) = self.pending.front() else {
            return Ok(());
        };
        let w = self.window_of(p);
        match p.what.clone() {
            What::Write { key, write } => {
                self.remember(key, "(no reply)".into());
                check::quiet_success(&mut self.models[usize::from(key)], &write, &w)
                    .map_err(|e| self.with_history(key, e))?;
            }
            What::Read { keys, .. } => {
                for k in keys {
                    self.read_one(k, None, &w)?;
                }
            }
            What::Sync => {}
        }
        self.pending.pop_front();
        Ok(())
    }

    /// Counts an error of `kind`; one met by a request that no fault
    /// touched (`window` calm, or none: now calm) is counted apart.
    pub fn error_in(&mut self, kind: String, window: Option<Window>) {
        self.epochs.note_failure();
        let calm = match window {
            Some(w) => w.calm(),
            None => self.now_calm(),
        };
        if calm && self.fault_aware {
            self.report.error(format!("{kind} [outside faults]"));
        } else {
            self.report.error(kind);
        }
    }

    fn now_calm(&self) -> bool {
        let now = self.epochs.now();
        now.loss.is_multiple_of(2) && now.faults.is_multiple_of(2)
    }

    /// Remembers, on key `k`, the front request and `reply`.
    fn remember(&mut self, k: u8, reply: String) {
        let req = self.pending.front().map_or(String::new(), |p| {
            format!("#{} {}", p.seq, describe_request(&p.req))
        });
        self.models[usize::from(k)].remember(format!("{req} -> {reply}"));
    }

    fn with_history(&self, k: u8, why: String) -> String {
        format!(
            "{why}; key history: {}",
            self.models[usize::from(k)].history()
        )
    }
}

#[cfg(test)]
mod tests;
