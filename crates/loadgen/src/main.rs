//! `moxi-load`: see `moxi-load --help` and docs/PERFORMANCE.md.

use std::process::ExitCode;

use loadgen::cli::{self, Cli, RunArgs};
use loadgen::compare;
use loadgen::csv;
use loadgen::report;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match cli::parse(&args) {
        Ok(Cli::Help) => {
            print!("{}", cli::USAGE);
            Ok(())
        }
        Ok(Cli::Run(r)) => run(&r),
        Ok(Cli::Plot { out, inputs }) => plot(&out, &inputs),
        Ok(Cli::Compare(c)) => compare::compare(&c).map_err(|e| e.to_string()),
        Ok(Cli::Callgrind(c)) => compare::callgrind_only(&c).map_err(|e| e.to_string()),
        Err(e) => Err(format!("{e}\n\n{}", cli::USAGE)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("moxi-load: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &RunArgs) -> Result<(), String> {
    let r = loadgen::run(&args.run);
    let row = r.row(&args.run);
    let mut rows = vec![row.clone()];
    match &args.csv {
        Some(path) if path.as_os_str() == "-" => {
            println!("{}", csv::HEADER);
            println!("{}", row.to_line());
        }
        Some(path) => {
            print!("{}", report::table(&args.run, &r));
            csv::append(path, &[row]).map_err(|e| format!("{}: {e}", path.display()))?;
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            rows = csv::parse_all(&text).map_err(|e| e.to_string())?;
        }
        None => print!("{}", report::table(&args.run, &r)),
    }
    if let Some(path) = &args.svg {
        std::fs::write(path, loadgen::svg::render(&rows))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    match report::errors_line(&r) {
        Some(line) => Err(line),
        None => Ok(()),
    }
}

fn plot(out: &std::path::Path, inputs: &[std::path::PathBuf]) -> Result<(), String> {
    let mut rows = Vec::new();
    for p in inputs {
        let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
        rows.extend(csv::parse_all(&text).map_err(|e| format!("{}: {e}", p.display()))?);
    }
    std::fs::write(out, loadgen::svg::render(&rows)).map_err(|e| format!("{}: {e}", out.display()))
}
