//! The health and queue part of the Prometheus page: one series per
//! downstream server (up, connections, connects, failures, times marked
//! down) and the process-wide queue, timeout and retry counters.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::health;
use crate::stats::totals;

fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Appends the server and queue metrics in Prometheus text format.
pub fn render(out: &mut String) {
    let servers = health::all();
    type Read = fn(&health::ServerHealth) -> u64;
    let series: [(&str, &str, &str, Read); 5] = [
        (
            "moxi_server_up",
            "gauge",
            "1 while the server is not marked down.",
            |h| u64::from(!h.is_down()),
        ),
        (
            "moxi_server_connections",
            "gauge",
            "Open connections to the server.",
            |h| h.counters.num_downstream_conn.load(Ordering::Relaxed),
        ),
        (
            "moxi_server_connects_total",
            "counter",
            "Connections to the server opened (and authenticated).",
            |h| h.counters.tot_downstream_connect.load(Ordering::Relaxed),
        ),
        (
            "moxi_server_connect_failures_total",
            "counter",
            "Connects or authentications to the server that failed.",
            |h| {
                h.counters
                    .tot_downstream_connect_failed
                    .load(Ordering::Relaxed)
            },
        ),
        (
            "moxi_server_marked_down_total",
            "counter",
            "Times the server was marked down after connect_max_errors failures.",
            |h| h.times_marked_down(),
        ),
    ];
    for (name, kind, help, read) in series {
        head(out, name, kind, help);
        for h in &servers {
            let _ = writeln!(out, "{name}{{server=\"{}\"}} {}", h.addr(), read(h));
        }
    }
    let t = totals();
    for (name, help, v) in [
        (
            "moxi_wait_queue_timeouts_total",
            "Requests that timed out in the wait queue (downstream_max).",
            t.tot_wait_queue_timeout,
        ),
        (
            "moxi_conn_queue_timeouts_total",
            "Requests that timed out waiting for a server's connections.",
            t.tot_downstream_conn_queue_timeout,
        ),
        (
            "moxi_downstream_timeouts_total",
            "Requests whose reply did not come within downstream_timeout.",
            t.tot_downstream_timeout,
        ),
        (
            "moxi_down_server_requests_total",
            "Requests failed at once because their server was marked down.",
            t.tot_downstream_connect_interval,
        ),
        (
            "moxi_retries_total",
            "Requests re-sent (closed connection or NOT_MY_VBUCKET).",
            t.tot_retry,
        ),
    ] {
        head(out, name, "counter", help);
        let _ = writeln!(out, "{name} {v}");
    }
}
