//! `/readyz`: whether this process can serve its clients now. Ready means
//! a configuration is loaded and every bucket (each static `-z` port, each
//! REST bucket) has at least one server up; otherwise the answer says which
//! bucket is not and why.
//!
//! A server counts as up when the proxy has not marked it down and either
//! holds a connection to it or a connect made for the check succeeds within
//! [`CONNECT_CHECK`]. The connect matters: servers are only marked down
//! after failed requests, so an idle proxy whose servers all died would
//! otherwise still look ready.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use proxy::buckets::Gateway;
use proxy::Bucket;

/// How long the check waits for a connect to a server with no open
/// connection.
pub const CONNECT_CHECK: Duration = Duration::from_millis(300);

/// The buckets the check looks at.
#[derive(Default)]
pub struct Buckets {
    /// Static `-z` buckets, named by their port.
    pub fixed: Vec<(String, Arc<Bucket>)>,
    /// REST mode's buckets.
    pub gateway: Option<Arc<Gateway>>,
}

/// `Ok(())` when ready, else the reasons, one line each (newline-ended).
pub async fn check(buckets: &Buckets) -> Result<(), String> {
    if proxy::stats::metrics::config_version() == 0 {
        return Err("no configuration loaded yet\n".into());
    }
    let mut named: Vec<(String, Arc<Bucket>)> = buckets.fixed.clone();
    if let Some(g) = &buckets.gateway {
        if g.config_version() == 0 {
            return Err("waiting for the first REST configuration\n".into());
        }
        let names = g.bucket_names();
        if names.is_empty() {
            return Err("the REST configuration names no bucket\n".into());
        }
        for name in names {
            if let Some(bucket) = g.bucket(&name) {
                named.push((format!("bucket {name}"), bucket));
            }
        }
    }
    let mut why = String::new();
    for (name, bucket) in &named {
        if let Err(e) = bucket_ready(bucket).await {
            why.push_str(&format!("{name}: {e}\n"));
        }
    }
    if why.is_empty() {
        Ok(())
    } else {
        Err(why)
    }
}

/// Whether one bucket has a server up; the error lists what was tried.
async fn bucket_ready(bucket: &Bucket) -> Result<(), String> {
    let topo = bucket.topology();
    if let Some(why) = topo.unserved() {
        return Err(format!("no servers ({why:?})"));
    }
    let mut down = Vec::new();
    for h in &topo.health {
        if h.is_down() {
            down.push(format!("{} marked down", h.addr()));
            continue;
        }
        if h.counters.num_downstream_conn.load(Ordering::Relaxed) > 0 {
            return Ok(());
        }
        match tokio::time::timeout(CONNECT_CHECK, tokio::net::TcpStream::connect(h.addr())).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) => down.push(format!("{}: {e}", h.addr())),
            Err(_) => down.push(format!(
                "{}: no connect within {} ms",
                h.addr(),
                CONNECT_CHECK.as_millis()
            )),
        }
    }
    Err(format!("no server up ({})", down.join("; ")))
}
