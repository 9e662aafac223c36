//! `moxi`: parses the command line and starts what it asks for.

use std::process::ExitCode;

use moxi::cli::{self, Action};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
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
    if opts.settings.verbosity > 0 {
        for note in &opts.ignored {
            eprintln!("moxi: ignoring {note}");
        }
    }
    let running = match moxi::run::start(&opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    if let Some(user) = &opts.user {
        if let Err(e) = moxi::daemon::drop_privileges(user) {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    }
    for (listener, _) in &running.proxies {
        for addr in listener.local_addrs() {
            eprintln!("moxi: proxy listening on {addr}");
        }
    }
    if let Some(server) = &running.server {
        for addr in server.local_addrs() {
            eprintln!("moxi: embedded server listening on {addr}");
        }
    }
    // The server runs on its own threads; park the main thread until a
    // signal ends the process.
    loop {
        std::thread::park();
    }
}
