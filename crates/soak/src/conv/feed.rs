//! Feeding reply frames to the request at the front of a conversation.

use protocol::Response;

use super::reply::{failure, hit_of, is_non_numeric, outcome};
use super::{Conversation, What};
use crate::check::{self, Hit, Outcome, ReadNote, Write};
use crate::epoch::Window;
use crate::model::{describe, Content};
use crate::ops::{Protocol, Read};
use crate::report::describe_response;

impl Conversation {
    /// Feeds a frame to the front request; pops it when complete.
    pub(super) fn feed(&mut self, resp: &Response) -> Result<(), String> {
        let Some(p) = self.pending.front() else {
            return Err("reply with no request outstanding".into());
        };
        let w = self.window_of(p);
        let done = match p.what.clone() {
            What::Write { key, write } => self.feed_write(key, &write, resp, &w)?,
            What::Read { keys, how } => self.feed_read(&keys, how, resp, &w)?,
            What::Sync => match (self.protocol, resp) {
                (Protocol::Ascii, Response::Version(_)) | (Protocol::Binary, Response::End) => true,
                _ => return Err("not the reply to version / noop".into()),
            },
        };
        if done {
            self.pending.pop_front();
        }
        Ok(())
    }

    fn feed_write(
        &mut self,
        key: u8,
        write: &Write,
        resp: &Response,
        w: &Window,
    ) -> Result<bool, String> {
        self.remember(key, describe_response(resp));
        if let Some(kind) = failure(self.protocol, resp) {
            // Only a request that timed out may still be waiting somewhere
            // (a stopped server, a queue); the others never reached a
            // server that lives on, or already did all they will do.
            let m = &mut self.models[usize::from(key)];
            let lower = kind.to_ascii_lowercase();
            if lower.contains("timeout") || lower.contains("busy") {
                m.write_failed(w);
            } else {
                m.write_unsure();
            }
            self.error_in(kind, Some(*w));
            return Ok(true);
        }
        if matches!(write, Write::Arith { .. }) && is_non_numeric(resp) {
            let m = &self.models[usize::from(key)];
            if check::may_be_refused_as_non_numeric(m, w) {
                self.report.quirks += 1;
                return Ok(true);
            }
            return Err(self.with_history(key, "non-numeric, for a counter below 2^63".into()));
        }
        let Some(got) = outcome(resp, write) else {
            return Err(self.with_history(key, "not a reply to a write".into()));
        };
        let quiet = self.pending.front().is_some_and(|p| p.req.quiet);
        let success = matches!(
            got,
            Outcome::Stored(_) | Outcome::Deleted | Outcome::Numeric(..)
        );
        if quiet && success {
            return Err("a quiet request answered with its success".into());
        }
        let m = &mut self.models[usize::from(key)];
        // A binary TOUCH crosses an ascii hop as `gats`, whose failure
        // that hop answers as a miss.
        let holds = matches!(m.content, Content::Stored { .. });
        if *write == Write::Touch
            && got == Outcome::NotFound
            && holds
            && self.miss_on_error
            && !w.calm()
        {
            self.report.fault_misses += 1;
            self.epochs().note_failure();
            return Ok(true);
        }
        if m.trusted(w) {
            self.report.exact_checks += 1;
        }
        check::check_write(m, write, &got, w).map_err(|e| self.with_history(key, e))?;
        Ok(true)
    }

    fn feed_read(
        &mut self,
        keys: &[u8],
        how: Read,
        resp: &Response,
        w: &Window,
    ) -> Result<bool, String> {
        if let Some(kind) = failure(self.protocol, resp) {
            self.error_in(kind, Some(*w));
            return Ok(true);
        }
        match (self.protocol, resp) {
            (Protocol::Ascii, Response::Value(v)) => {
                let cas_shown = v.cas != 0;
                if cas_shown != (how == Read::Gets) {
                    return Err(format!("CAS shown: {cas_shown}, for {how:?}"));
                }
                let k = self.key_index(keys, v.key.as_bytes())?;
                let p = self.pending.front_mut().ok_or("nothing outstanding")?;
                if p.hits.iter().any(|(h, _)| *h == k) {
                    return Err("the same key twice".into());
                }
                p.hits.push((k, hit_of(v)));
                Ok(false)
            }
            (Protocol::Ascii, Response::End) => {
                let hits = self
                    .pending
                    .front_mut()
                    .map(|p| std::mem::take(&mut p.hits))
                    .unwrap_or_default();
                for &k in keys {
                    let hit = hits.iter().find(|(h, _)| *h == k).map(|(_, hit)| hit);
                    self.read_one(k, hit, w)?;
                }
                Ok(true)
            }
            (Protocol::Binary, Response::Value(v)) => {
                let k = keys.first().copied().ok_or("read of no key")?;
                let named = how != Read::BinGet;
                if named && v.key.as_bytes() != self.names[usize::from(k)].as_ref() {
                    return Err("GETK reply for another key".into());
                }
                if v.cas == 0 {
                    return Err("binary hit without CAS".into());
                }
                self.read_one(k, Some(&hit_of(v)), w)?;
                Ok(true)
            }
            (Protocol::Binary, Response::End) if how != Read::BinGetKQ => {
                let k = keys.first().copied().ok_or("read of no key")?;
                self.read_one(k, None, w)?;
                Ok(true)
            }
            _ => Err("not a reply to a read".into()),
        }
    }

    fn key_index(&self, keys: &[u8], name: &[u8]) -> Result<u8, String> {
        keys.iter()
            .copied()
            .find(|&k| self.names[usize::from(k)].as_ref() == name)
            .ok_or_else(|| "VALUE for a key not asked".into())
    }

    pub(super) fn read_one(&mut self, k: u8, hit: Option<&Hit>, w: &Window) -> Result<(), String> {
        // moxi reads a failed server's keys as misses for ascii gets, and
        // an ascii hop inside the topology does so for everyone.
        let miss_ok = self.protocol == Protocol::Ascii || self.miss_on_error;
        let shown = hit.map_or("miss".into(), |h| {
            format!(
                "hit flags={:#x} cas={} {}",
                h.flags,
                h.cas,
                describe(&h.data)
            )
        });
        self.remember(k, shown);
        let m = &mut self.models[usize::from(k)];
        if m.trusted(w) {
            self.report.exact_checks += 1;
        }
        let name = String::from_utf8_lossy(&self.names[usize::from(k)]).into_owned();
        let checked = check::check_read(m, hit, w, miss_ok);
        match checked.map_err(|e| self.with_history(k, format!("key {name}: {e}")))? {
            ReadNote::Fine => {}
            ReadNote::FaultMiss => {
                self.report.fault_misses += 1;
                self.epochs().note_failure();
            }
        }
        Ok(())
    }
}
