//! Measurement prototype for issue 13, item 1: moxi's hot path (one-key
//! get and set, ascii and binary clients, forwarded in binary to one or
//! more memcached over one pipelined connection each, replies matched in
//! order) on several event loops, to choose the loop of the new proxy core
//! by measurement. Not a workspace member; `bench/eventloop.sh` builds it
//! and measures it beside moxi and twemproxy.
//!
//! # Layout
//! - `core`: the sans-io hot path every loop shares (decode, route, queue
//!   downstream, match replies in order, answer in order).
//! - `tokio_loop`: today's design (current-thread runtime, `LocalSet`, a
//!   task per connection and two per downstream connection).
//! - `mio_loop`: a per-core epoll loop of our own on `mio`.
//! - `uring_loop`: the same loop on io_uring (`io-uring` crate), with the
//!   unsafe of submitting buffers in that one module.
//! - `sys`: the mio loop's one unsafe call (a read into spare capacity).
//!
//! # Why edge-triggered epoll for the mio loop
//! mio always registers with `EPOLLET`. That suits a proxy: each socket is
//! registered once for reading and writing and never touched again with
//! `epoll_ctl` (level-triggered would need an `EPOLL_CTL_MOD` each time a
//! write buffer fills and empties, or a WRITABLE event on every turn), and
//! a read shorter than the room offered proves the socket drained, so no
//! extra `read` is spent to see `EAGAIN` (tokio clears its readiness the
//! same way).
//!
//! Usage: `eventloop tokio|mio|uring LISTEN_PORT SERVER[,SERVER...]`, or
//! `eventloop tokio|mio|uring LISTEN_PORT local` for the embedded-server
//! case: the same loops and codecs, each request answered from a map on
//! the worker's thread.

mod core;
mod mio_loop;
mod sys;
mod tokio_loop;
mod uring_loop;

use std::net::{SocketAddr, TcpListener};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: eventloop tokio|mio|uring LISTEN_PORT HOST:PORT[,HOST:PORT...]|local";
    let [_, kind, port, servers] = args.as_slice() else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    // `local`: no servers, requests answered from a map (the embedded-server case).
    let list = if servers == "local" {
        ""
    } else {
        servers.as_str()
    };
    let servers: Vec<SocketAddr> = match list.split_terminator(',').map(str::parse).collect() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{usage}: {e}");
            std::process::exit(2);
        }
    };
    let listener = match TcpListener::bind(format!("127.0.0.1:{port}")) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("eventloop: listen on {port}: {e}");
            std::process::exit(1);
        }
    };
    let r = match kind.as_str() {
        "tokio" => tokio_loop::run(listener, &servers),
        "mio" => mio_loop::run(listener, &servers),
        "uring" => uring_loop::run(listener, &servers),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    if let Err(e) = r {
        eprintln!("eventloop {kind}: {e}");
        std::process::exit(1);
    }
}
