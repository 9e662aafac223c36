//! `moxi-soak`: see `moxi-soak --help` and docs/reliability/crosstalk.md.

use std::process::ExitCode;

use soak::cli::{self, Cli};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = match cli::parse(&args) {
        Ok(Cli::Help) => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(Cli::Run(cfg)) => cfg,
        Err(e) => {
            eprintln!("moxi-soak: {e}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    println!(
        "moxi-soak: {} s, {:?} topology, downstreams {}, {} clients, faults {}, moxi {}",
        cfg.duration.as_secs(),
        cfg.shape,
        cfg.downstreams.join(","),
        cfg.clients,
        cfg.fault_every
            .map_or("off".into(), |d| format!("every {} s", d.as_secs())),
        cfg.moxi.display()
    );
    match soak::run_soak(&cfg) {
        Ok(result) => {
            print!("{result}");
            if result.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("moxi-soak: {e}");
            ExitCode::from(2)
        }
    }
}
