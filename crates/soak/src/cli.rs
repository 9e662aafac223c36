//! `moxi-soak`'s command line.

use std::path::PathBuf;
use std::time::Duration;

use crate::soak::SoakConfig;

/// The help text.
pub const USAGE: &str = "\
moxi-soak: real memcached and moxi on loopback, checked load, faults on a schedule

usage: moxi-soak [options]
  --minutes N             run N minutes (default 1)
  --seconds N             run N seconds instead
  --clients N             concurrent clients, ascii and binary (default 500)
  --moxi PATH             moxi binary (default: `moxi` next to this program)
  --topology SHAPE        simple, chain, fanout or fanoutin (default fanout)
  --downstream LIST       downstream protocols, one moxi each (default ascii,binary)
  --fault-every SECS      a fault this often (default 5)
  --faults LIST           kill,stop,garbage (default: all, taking turns)
  --no-faults             no faults
  --downstream-timeout MS moxi's downstream_timeout (default 1000)
  --client-timeout MS     the clients' own timeout (default 5000)
  --pipeline N            most operations per client batch (default 3)
  --threads N             client threads (default 2)
  --seed N                random seed (default 1)

Prints requests, errors by kind, mismatches and moxi's peak RSS; exits 1
on any mismatch or if a moxi died, 2 on bad usage or set-up failure.
";

/// What the command line asks.
#[derive(Debug)]
pub enum Cli {
    /// `--help`.
    Help,
    /// Run a soak.
    Run(SoakConfig),
}

/// Parses the arguments (without the program name).
pub fn parse(args: &[String]) -> Result<Cli, String> {
    let mut cfg = SoakConfig::new(default_moxi(), Duration::from_secs(60));
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--help" | "-h" => return Ok(Cli::Help),
            "--minutes" => cfg.duration = Duration::from_secs(60 * number::<u64>(value()?)?),
            "--seconds" => cfg.duration = Duration::from_secs(number(value()?)?),
            "--clients" => cfg.clients = number(value()?)?,
            "--moxi" => cfg.moxi = PathBuf::from(value()?),
            "--topology" => cfg.shape = value()?.parse()?,
            "--downstream" => cfg.downstreams = protocols(value()?)?,
            "--fault-every" => cfg.fault_every = Some(Duration::from_secs(number(value()?)?)),
            "--no-faults" => cfg.fault_every = None,
            "--faults" => {
                cfg.faults = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--downstream-timeout" => {
                cfg.downstream_timeout = Duration::from_millis(number(value()?)?)
            }
            "--client-timeout" => cfg.client_timeout = Duration::from_millis(number(value()?)?),
            "--pipeline" => cfg.pipeline = number(value()?)?,
            "--threads" => cfg.threads = number(value()?)?,
            "--seed" => cfg.seed = number(value()?)?,
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if cfg.clients == 0 || cfg.duration.is_zero() || cfg.fault_every.is_some_and(|d| d.is_zero()) {
        return Err("--clients, the duration and --fault-every must be positive".into());
    }
    Ok(Cli::Run(cfg))
}

fn number<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("not a number: {s:?}"))
}

fn protocols(list: &str) -> Result<Vec<String>, String> {
    let out: Vec<String> = list.split(',').map(str::to_owned).collect();
    match out
        .iter()
        .find(|p| !matches!(p.as_str(), "ascii" | "binary"))
    {
        Some(bad) => Err(format!(
            "unknown downstream protocol {bad:?} (ascii, binary)"
        )),
        None => Ok(out),
    }
}

/// `moxi` in the directory of this program (the workspace's build).
fn default_moxi() -> PathBuf {
    std::env::current_exe()
        .map(|p| p.with_file_name("moxi"))
        .unwrap_or_else(|_| PathBuf::from("moxi"))
}

#[cfg(test)]
mod tests {
    use testkit::topology::Shape;

    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn flags_parse() {
        let Ok(Cli::Run(c)) = parse(&args(
            "--seconds 10 --clients 7 --topology chain --downstream binary --no-faults --moxi /x/moxi",
        )) else {
            panic!("parses");
        };
        assert_eq!(c.duration, Duration::from_secs(10));
        assert_eq!(c.clients, 7);
        assert_eq!(c.shape, Shape::Chain);
        assert_eq!(c.downstreams, ["binary"]);
        assert!(c.fault_every.is_none());
        assert_eq!(c.moxi, PathBuf::from("/x/moxi"));
        let Ok(Cli::Run(c)) = parse(&args("--minutes 3 --fault-every 2")) else {
            panic!("parses");
        };
        assert_eq!(c.duration, Duration::from_secs(180));
        assert_eq!(c.fault_every, Some(Duration::from_secs(2)));
        assert!(matches!(parse(&args("--help")), Ok(Cli::Help)));
        assert!(parse(&args("--downstream ascii,udp")).is_err());
        assert!(parse(&args("--clients")).is_err());
        assert!(parse(&args("--clients 0")).is_err());
        assert!(parse(&args("--bogus")).is_err());
    }
}
