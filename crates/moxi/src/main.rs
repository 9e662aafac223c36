//! `moxi`: parses the command line and starts what it asks for.

use std::process::ExitCode;

use moxi::cli::{self, Action};
use moxi::logging::{announce, fatal};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Hidden: the man page, generated from the -h text (packaging/build-deb.sh).
    if args == ["--man"] {
        print!("{}", moxi::man::man_page());
        return ExitCode::SUCCESS;
    }
    let opts = match cli::parse(&args) {
        Ok(Action::Help) => {
            print!("{}", moxi::usage::usage());
            return ExitCode::SUCCESS;
        }
        Ok(Action::Version) | Ok(Action::License) => {
            println!("moxi {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Ok(Action::Run(opts)) => opts,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    // A panic anywhere takes the whole process down rather than leaving it
    // half alive with a dead worker.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        std::process::exit(70);
    }));
    if opts.daemonize && !moxi::daemon::is_daemon_copy() {
        return match moxi::daemon::spawn_daemon(opts.pidfile.as_deref()) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("failed to daemon() in order to daemonize: {e}");
                ExitCode::from(1)
            }
        };
    }
    let (verbosity, log_file) = (opts.settings.verbosity, opts.log_file.as_deref());
    if let Err(e) = moxi::logging::init(verbosity, log_file, opts.log_format) {
        eprintln!("moxi: could not open log file: {e}");
        return ExitCode::from(1);
    }
    for note in &opts.ignored {
        log::info!("ignoring {note}");
    }
    let signals = match moxi::signals::Signals::install() {
        Ok(s) => s,
        Err(e) => {
            fatal(&format!("moxi: could not install signal handlers: {e}"));
            return ExitCode::from(1);
        }
    };
    let running = match moxi::run::start(&opts) {
        Ok(r) => r,
        Err(e) => {
            fatal(&e.to_string());
            return ExitCode::from(1);
        }
    };
    if let Some(user) = &opts.user {
        if let Err(e) = moxi::daemon::drop_privileges(user) {
            fatal(&e.to_string());
            return ExitCode::from(1);
        }
    }
    for (listener, _) in &running.proxies {
        for addr in listener.local_addrs() {
            announce(format_args!("proxy listening on {addr}"));
        }
    }
    if let Some((listener, _, _)) = &running.gateway {
        for addr in listener.local_addrs() {
            announce(format_args!("REST buckets listening on {addr}"));
        }
    }
    if let Some(server) = &running.server {
        for addr in server.local_addrs() {
            announce(format_args!("embedded server listening on {addr}"));
        }
    }
    if let Some(admin) = &running.admin {
        announce(format_args!(
            "metrics on http://{}/metrics",
            admin.local_addr()
        ));
    }
    let mut running = running;
    signals.wait_for_stop(opts.exit_on_stdin_close);
    log::info!("stopping: no new connections, draining the open ones");
    running.stop_listening();
    runtime::shutdown::begin_drain();
    running.wait_drained(DRAIN_DEADLINE);
    ExitCode::SUCCESS
}

/// How long open connections get to finish their requests after SIGTERM.
const DRAIN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);
