//! What a REST config changed, said in one log line: buckets added and
//! removed, and per bucket the servers added and removed, the vBucket map's
//! size and the config's revision (`rev`), each as "old -> new".

use crate::buckets::Gateway;
use crate::topology::Placement;

/// What the log tells about one bucket.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BucketView {
    /// `host:port` of each server, in the config's order.
    pub servers: Vec<String>,
    /// vBuckets in the map (none for a ketama bucket).
    pub vbuckets: Option<u32>,
    /// The config's `rev`.
    pub rev: Option<i64>,
}

/// Every bucket of a gateway, in the config's order.
pub type View = Vec<(String, BucketView)>;

/// The buckets `gateway` serves now.
pub fn view(gateway: &Gateway) -> View {
    gateway
        .bucket_names()
        .into_iter()
        .filter_map(|name| {
            let topo = gateway.bucket(&name)?.topology();
            let vbuckets = match &topo.placement {
                Placement::Vbucket { map } => {
                    Some(map.read().unwrap_or_else(|p| p.into_inner()).num_vbuckets())
                }
                _ => None,
            };
            let bucket = BucketView {
                servers: (0..topo.servers.len()).map(|i| topo.address(i)).collect(),
                vbuckets,
                rev: config::revision(&topo.config),
            };
            Some((name, bucket))
        })
        .collect()
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "none".to_string(), |v| v.to_string())
}

/// A new bucket, in full.
fn added(name: &str, b: &BucketView) -> String {
    let mut s = format!("bucket {name} added: servers [{}]", b.servers.join(", "));
    if let Some(n) = b.vbuckets {
        s.push_str(&format!(", {n} vBuckets"));
    }
    if let Some(rev) = b.rev {
        s.push_str(&format!(", rev {rev}"));
    }
    s
}

/// The servers of `a` that `b` does not name.
fn not_in<'a>(a: &'a [String], b: &[String]) -> Vec<&'a str> {
    a.iter()
        .filter(|s| !b.contains(s))
        .map(String::as_str)
        .collect()
}

/// What changed in a bucket that stays; `None` when nothing the log tells.
fn changed(name: &str, old: &BucketView, new: &BucketView) -> Option<String> {
    let mut parts = Vec::new();
    let plus = not_in(&new.servers, &old.servers);
    let minus = not_in(&old.servers, &new.servers);
    if !plus.is_empty() {
        parts.push(format!("servers added [{}]", plus.join(", ")));
    }
    if !minus.is_empty() {
        parts.push(format!("servers removed [{}]", minus.join(", ")));
    }
    if plus.is_empty() && minus.is_empty() && old.servers != new.servers {
        parts.push(format!("servers reordered [{}]", new.servers.join(", ")));
    }
    if old.vbuckets != new.vbuckets {
        let (a, b) = (opt(old.vbuckets), opt(new.vbuckets));
        parts.push(format!("vBuckets {a} -> {b}"));
    }
    if old.rev != new.rev {
        parts.push(format!("rev {} -> {}", opt(old.rev), opt(new.rev)));
    }
    (!parts.is_empty()).then(|| format!("bucket {name}: {}", parts.join(", ")))
}

/// One line saying what changed from `before` to `after`.
pub fn describe(before: &View, after: &View) -> String {
    let find = |v: &View, name: &str| v.iter().find(|(n, _)| n == name).map(|(_, b)| b.clone());
    let mut parts = Vec::new();
    for (name, new) in after {
        match find(before, name) {
            None => parts.push(added(name, new)),
            Some(old) => parts.extend(changed(name, &old, new)),
        }
    }
    for (name, _) in before {
        if find(after, name).is_none() {
            parts.push(format!("bucket {name} removed"));
        }
    }
    if parts.is_empty() {
        return "no change to buckets, servers, map sizes or revisions".to_string();
    }
    parts.join("; ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_gateway_is_viewed_by_bucket() {
        let g = Gateway::new(config::DefaultBucket::First, protocol::Limits::default());
        let body = r#"{"name":"b","rev":42,"vBucketServerMap":{"numReplicas":0,
            "serverList":["127.0.0.1:1","127.0.0.1:2"],"vBucketMap":[[0],[1],[0],[1]]}}"#;
        g.apply_body(body.as_bytes(), &config::Behaviors::default())
            .unwrap();
        let want = bucket(&["127.0.0.1:1", "127.0.0.1:2"], Some(4), Some(42));
        assert_eq!(view(&g), vec![("b".to_string(), want)]);
    }

    fn bucket(servers: &[&str], vbuckets: Option<u32>, rev: Option<i64>) -> BucketView {
        BucketView {
            servers: servers.iter().map(|s| s.to_string()).collect(),
            vbuckets,
            rev,
        }
    }

    #[test]
    fn says_what_changed() {
        let before: View = vec![
            ("a".into(), bucket(&["h:1", "h:2"], Some(256), Some(7))),
            ("gone".into(), bucket(&["h:1"], None, None)),
        ];
        let after: View = vec![
            ("a".into(), bucket(&["h:2", "h:3"], Some(1024), Some(8))),
            ("new".into(), bucket(&["h:4"], Some(64), Some(1))),
        ];
        assert_eq!(
            describe(&before, &after),
            "bucket a: servers added [h:3], servers removed [h:1], vBuckets 256 -> 1024, \
             rev 7 -> 8; bucket new added: servers [h:4], 64 vBuckets, rev 1; bucket gone removed"
        );
        assert_eq!(
            describe(&after, &after),
            "no change to buckets, servers, map sizes or revisions"
        );
        let first = describe(&Vec::new(), &before[..1].to_vec());
        assert_eq!(
            first,
            "bucket a added: servers [h:1, h:2], 256 vBuckets, rev 7"
        );
    }
}
