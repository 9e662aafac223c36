//! `/readyz`: whether this process can serve its clients now. Ready means
//! a configuration is loaded and every pool (each static `-z` pool, each
//! REST bucket) has at least one server up; otherwise the answer says which
//! pool is not and why.
//!
//! A server counts as up when the proxy has not marked it down and either
//! holds a connection to it or a connect made for the check succeeds within
//! [`CONNECT_CHECK`]. The connect matters: servers are only marked down
//! after failed requests, so an idle proxy whose servers all died would
//! otherwise still look ready.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use proxy::gateway::Gateway;
use proxy::PoolShared;

/// How long the check waits for a connect to a server with no open
/// connection.
pub const CONNECT_CHECK: Duration = Duration::from_millis(300);

/// The pools the check looks at.
#[derive(Default)]
pub struct Pools {
    /// Static `-z` pools, named by their port.
    pub fixed: Vec<(String, Arc<PoolShared>)>,
    /// REST mode's buckets.
    pub gateway: Option<Arc<Gateway>>,
}

/// `Ok(())` when ready, else the reasons, one line each (newline-ended).
pub async fn check(pools: &Pools) -> Result<(), String> {
    if proxy::metrics::config_version() == 0 {
        return Err("no configuration loaded yet\n".into());
    }
    let mut named: Vec<(String, Arc<PoolShared>)> = pools.fixed.clone();
    if let Some(g) = &pools.gateway {
        if g.config_version() == 0 {
            return Err("waiting for the first REST configuration\n".into());
        }
        let names = g.bucket_names();
        if names.is_empty() {
            return Err("the REST configuration names no bucket\n".into());
        }
        for name in names {
            if let Some(pool) = g.bucket(&name) {
                named.push((format!("bucket {name}"), pool));
            }
        }
    }
    let mut why = String::new();
    for (name, pool) in &named {
        if let Err(e) = pool_ready(pool).await {
            why.push_str(&format!("{name}: {e}\n"));
        }
    }
    if why.is_empty() {
        Ok(())
    } else {
        Err(why)
    }
}

/// Whether one pool has a server up; the error lists what was tried.
async fn pool_ready(pool: &PoolShared) -> Result<(), String> {
    let topo = pool.topology();
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
