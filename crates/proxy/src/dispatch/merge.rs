//! Merging `stats` replies from several servers into one, as moxi does
//! (behaviour inventory 7.1): some stats keep the first value, some the
//! largest, the rest are summed. Output keeps first-seen order (moxi used
//! hash-table order).

use bytes::Bytes;
use protocol::Response;

/// Stats whose value is an identity: the first server's value is kept.
const KEEP_FIRST: &[&str] = &[
    "pid",
    "version",
    "libevent",
    "ep_dbname",
    "ep_storage_type",
    "ep_flusher_state",
    "ep_warmup_thread",
];
/// Stats for which the largest value is the meaningful one.
const KEEP_MAX: &[&str] = &[
    "uptime",
    "time",
    "pointer_size",
    "limit_maxbytes",
    "accepting_conns",
    "chunk_size",
    "chunk_per_page",
    "age",
];

enum Rule {
    First,
    Max,
    Sum,
}

fn rule(name: &[u8]) -> Rule {
    // moxi matches on the last `:`-separated component.
    let last = name.rsplit(|&b| b == b':').next().unwrap_or(name);
    let last = std::str::from_utf8(last).unwrap_or("");
    if KEEP_FIRST.contains(&last) {
        Rule::First
    } else if KEEP_MAX.contains(&last) {
        Rule::Max
    } else {
        Rule::Sum
    }
}

/// Accumulates STAT frames from many servers.
#[derive(Default)]
pub struct StatsMerger {
    order: Vec<Bytes>,
    values: std::collections::HashMap<Bytes, Bytes>,
}

impl StatsMerger {
    /// Adds one server's STAT frames (other frames are ignored).
    pub fn add(&mut self, frames: &[Response]) {
        for f in frames {
            if let Response::Stat { name, value } = f {
                self.add_one(name, value);
            }
        }
    }

    fn add_one(&mut self, name: &Bytes, value: &Bytes) {
        let Some(old) = self.values.get(name) else {
            self.order.push(name.clone());
            self.values.insert(name.clone(), value.clone());
            return;
        };
        let merged = match rule(name) {
            Rule::First => return,
            Rule::Max => combine(old, value, |a, b| a.max(b), |a, b| a.max(b)),
            Rule::Sum => combine(old, value, |a, b| a.wrapping_add(b), |a, b| a + b),
        };
        if let Some(m) = merged {
            self.values.insert(name.clone(), m);
        }
    }

    /// The merged frames, without the closing `End`.
    pub fn finish(self) -> Vec<Response> {
        let mut values = self.values;
        self.order
            .into_iter()
            .filter_map(|name| {
                values
                    .remove(&name)
                    .map(|value| Response::Stat { name, value })
            })
            .collect()
    }
}

/// Combines two numeric stat values; non-numeric ones keep the first (None).
fn combine(
    a: &Bytes,
    b: &Bytes,
    int: impl Fn(u64, u64) -> u64,
    float: impl Fn(f64, f64) -> f64,
) -> Option<Bytes> {
    let (sa, sb) = (std::str::from_utf8(a).ok()?, std::str::from_utf8(b).ok()?);
    if sa.contains('.') || sb.contains('.') {
        let v = float(sa.parse().ok()?, sb.parse().ok()?);
        return Some(Bytes::from(format!("{v:.6}")));
    }
    Some(Bytes::from(
        int(sa.parse().ok()?, sb.parse().ok()?).to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(n: &'static str, v: &'static str) -> Response {
        Response::Stat {
            name: Bytes::from_static(n.as_bytes()),
            value: Bytes::from_static(v.as_bytes()),
        }
    }

    #[test]
    fn merges_by_rule() {
        let mut m = StatsMerger::default();
        m.add(&[
            stat("pid", "10"),
            stat("uptime", "5"),
            stat("curr_items", "3"),
            stat("rusage_user", "0.5"),
        ]);
        m.add(&[
            stat("pid", "20"),
            stat("uptime", "9"),
            stat("curr_items", "4"),
            stat("rusage_user", "0.25"),
        ]);
        let out = m.finish();
        assert_eq!(
            out,
            vec![
                stat("pid", "10"),
                stat("uptime", "9"),
                stat("curr_items", "7"),
                stat("rusage_user", "0.750000")
            ]
        );
    }

    #[test]
    fn non_numeric_keeps_first() {
        let mut m = StatsMerger::default();
        m.add(&[stat("evictions", "on")]);
        m.add(&[stat("evictions", "off")]);
        assert_eq!(m.finish(), vec![stat("evictions", "on")]);
    }
}
