//! The command line: `moxi-load [run] OPTIONS`, `moxi-load plot`,
//! `moxi-load compare`, `moxi-load callgrind`. Parsed by hand (`--name
//! value` or `--name=value`) into typed configurations.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use crate::compare::CompareConfig;
use crate::run::{Mode, RunConfig, Stop};

/// The usage text.
pub const USAGE: &str = "\
moxi-load: memcached load generator and proxy comparison

moxi-load [run] [OPTIONS]            measure one target
  --server HOST:PORT    target (default 127.0.0.1:11211)
  --label NAME          system name in results (default: the address)
  --duration D          run length: 10s, 500ms, 2m (default 10s)
  --requests N          stop after N requests instead
  --rate R              open loop: R requests/s on a fixed timetable, latency
                        from the intended send time (default: closed loop)
  --connections N       client connections (default 1)
  --pipeline N          outstanding requests per connection, closed loop (1)
  --threads N           client threads (default 1)
  --protocol P          ascii | binary (default ascii)
  --get-ratio F         fraction of gets, rest sets (default 0.9)
  --multiget N          keys per get (default 1)
  --value-size N        bytes per value (default 32)
  --keys N              key space, prefilled before measuring (default 10000)
  --no-prefill          do not set the key space first
  --seed N              request stream seed
  --csv FILE            also append a result row to FILE (header written if
                        new); --csv - prints the CSV row on stdout instead of
                        the summary table
  --svg FILE            write a plot of all rows of --csv FILE (or of this run)
  --quiet               no progress bar

moxi-load plot --out FILE.svg A.csv [B.csv ...]

moxi-load compare [OPTIONS]          memcached, twemproxy, moxi side by side
  --rounds N (5)  --duration D (5s)  --connections 1,32,512  --pipeline N (1)
  --threads N (1)  --protocol P  --get-ratio F  --value-size N  --keys N
  --multiget-keys N (100; 0 skips the 4-backend multi-get case)
  --multiget-connections N (32)
  --idle-conns N (10000; 0 skips the idle-connection memory check)
  --callgrind            also count instructions per request under valgrind
  --callgrind-requests N (20000)
  --callgrind-connections 1,4,32   connections of each callgrind measurement
  --moxi PATH            moxi binary (default $CARGO_TARGET_DIR/release/moxi
                         or target/release/moxi)
  --proxy-threads N (1)  --backend-threads N (2)
  --other 'LABEL=COMMAND with {port} and {backend}'   (repeatable)
  --csv FILE  --svg FILE  --quiet
  --keep                 keep the lab directory (logs, callgrind dumps)

moxi-load callgrind [compare OPTIONS]   only the callgrind measurement
";

/// What to do.
#[derive(Clone, Debug)]
pub enum Cli {
    /// One run.
    Run(RunArgs),
    /// Plot CSV files.
    Plot {
        /// SVG to write.
        out: PathBuf,
        /// CSV files to read.
        inputs: Vec<PathBuf>,
    },
    /// The comparison.
    Compare(CompareConfig),
    /// Only the callgrind part of the comparison.
    Callgrind(CompareConfig),
    /// Print usage.
    Help,
}

/// A run plus where its results go.
#[derive(Clone, Debug)]
pub struct RunArgs {
    /// The run.
    pub run: RunConfig,
    /// CSV to append to.
    pub csv: Option<PathBuf>,
    /// SVG to write.
    pub svg: Option<PathBuf>,
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Cli, String> {
    match args.first().map(String::as_str) {
        None => Ok(Cli::Run(parse_run(&[])?)),
        Some("-h" | "--help" | "help") => Ok(Cli::Help),
        Some("run") => Ok(Cli::Run(parse_run(&args[1..])?)),
        Some("plot") => parse_plot(&args[1..]),
        Some("compare") => Ok(Cli::Compare(parse_compare(&args[1..])?)),
        Some("callgrind") => Ok(Cli::Callgrind(parse_compare(&args[1..])?)),
        Some(a) if a.starts_with('-') => Ok(Cli::Run(parse_run(args)?)),
        Some(a) => Err(format!("unknown command {a:?}")),
    }
}

/// Splits `--name value` / `--name=value` pairs; `flags` take no value.
fn pairs(args: &[String], flags: &[&str]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let Some(name) = a.strip_prefix("--") else {
            out.push((String::new(), a.clone()));
            continue;
        };
        if let Some((n, v)) = name.split_once('=') {
            out.push((n.to_string(), v.to_string()));
        } else if flags.contains(&name) {
            out.push((name.to_string(), String::new()));
        } else {
            let v = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
            out.push((name.to_string(), v.clone()));
        }
    }
    Ok(out)
}

fn num<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("--{name}: bad number {v:?}"))
}

/// `10s`, `500ms`, `2m`, `1.5` (seconds).
pub fn parse_duration(v: &str) -> Result<Duration, String> {
    let (n, unit) = match v {
        _ if v.ends_with("ms") => (&v[..v.len() - 2], 0.001),
        _ if v.ends_with('s') => (&v[..v.len() - 1], 1.0),
        _ if v.ends_with('m') => (&v[..v.len() - 1], 60.0),
        _ => (v, 1.0),
    };
    let secs: f64 = n.parse().map_err(|_| format!("bad duration {v:?}"))?;
    if !(0.0..=86_400.0).contains(&secs) {
        return Err(format!("bad duration {v:?}"));
    }
    Ok(Duration::from_secs_f64(secs * unit))
}

fn resolve(v: &str) -> Result<SocketAddr, String> {
    v.to_socket_addrs()
        .map_err(|e| format!("--server {v}: {e}"))?
        .next()
        .ok_or_else(|| format!("--server {v}: no address"))
}

/// Applies one workload option shared by `run` and `compare`; false when
/// `name` is not one.
fn mix_option(mix: &mut crate::workload::Mix, name: &str, v: &str) -> Result<bool, String> {
    match name {
        "protocol" => mix.protocol = v.parse()?,
        "get-ratio" => {
            mix.get_ratio = num(name, v)?;
            if !(0.0..=1.0).contains(&mix.get_ratio) {
                return Err("--get-ratio must be within 0..1".into());
            }
        }
        "multiget" => mix.multiget = num::<u32>(name, v)?.max(1),
        "value-size" => mix.value_size = num(name, v)?,
        "keys" => mix.keys = num::<u64>(name, v)?.max(1),
        _ => return Ok(false),
    }
    Ok(true)
}

fn parse_run(args: &[String]) -> Result<RunArgs, String> {
    let mut run = RunConfig::new(resolve("127.0.0.1:11211")?, Duration::from_secs(10));
    let mut label = None;
    let (mut csv, mut svg) = (None, None);
    run.progress = true;
    for (name, v) in pairs(args, &["no-prefill", "quiet"])? {
        if mix_option(&mut run.mix, &name, &v)? {
            continue;
        }
        match name.as_str() {
            "server" => run.addr = resolve(&v)?,
            "label" => label = Some(v),
            "duration" => run.stop = Stop::After(parse_duration(&v)?),
            "requests" => run.stop = Stop::Requests(num(&name, &v)?),
            "rate" => {
                run.mode = Mode::Open {
                    rate: positive(&name, &v)?,
                }
            }
            "connections" => run.connections = num::<usize>(&name, &v)?.max(1),
            "pipeline" => run.pipeline = num::<usize>(&name, &v)?.max(1),
            "threads" => run.threads = num::<usize>(&name, &v)?.max(1),
            "seed" => run.seed = num(&name, &v)?,
            "no-prefill" => run.prefill = false,
            "quiet" => run.progress = false,
            "csv" => csv = Some(PathBuf::from(v)),
            "svg" => svg = Some(PathBuf::from(v)),
            "" => return Err(format!("unexpected argument {v:?}")),
            _ => return Err(format!("unknown option --{name}")),
        }
    }
    run.label = label.unwrap_or_else(|| run.addr.to_string());
    Ok(RunArgs { run, csv, svg })
}

fn positive(name: &str, v: &str) -> Result<f64, String> {
    let x: f64 = num(name, v)?;
    if x > 0.0 && x.is_finite() {
        Ok(x)
    } else {
        Err(format!("--{name} must be positive"))
    }
}

fn parse_plot(args: &[String]) -> Result<Cli, String> {
    let mut out = None;
    let mut inputs = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" | "-o" => out = it.next().map(PathBuf::from),
            _ if a.starts_with("--out=") => out = Some(PathBuf::from(&a[6..])),
            _ => inputs.push(PathBuf::from(a)),
        }
    }
    let out = out.ok_or("plot needs --out FILE.svg")?;
    if inputs.is_empty() {
        return Err("plot needs at least one CSV file".into());
    }
    Ok(Cli::Plot { out, inputs })
}

/// The moxi binary to use when `--moxi` is not given.
pub fn default_moxi() -> PathBuf {
    let from_env =
        std::env::var_os("CARGO_TARGET_DIR").map(|d| PathBuf::from(d).join("release/moxi"));
    from_env
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("target/release/moxi"))
}

fn parse_compare(args: &[String]) -> Result<CompareConfig, String> {
    let mut c = CompareConfig::default();
    c.lab.moxi = default_moxi();
    for (name, v) in pairs(args, &["quiet", "callgrind", "keep"])? {
        if mix_option(&mut c.mix, &name, &v)? {
            continue;
        }
        match name.as_str() {
            "rounds" => c.rounds = num::<u32>(&name, &v)?.max(1),
            "duration" => c.duration = parse_duration(&v)?,
            "connections" => {
                c.connections = v
                    .split(',')
                    .map(|n| num::<usize>(&name, n.trim()))
                    .collect::<Result<_, _>>()?;
            }
            "pipeline" => c.pipeline = num::<usize>(&name, &v)?.max(1),
            "threads" => c.threads = num::<usize>(&name, &v)?.max(1),
            "multiget-keys" => c.multiget_keys = num(&name, &v)?,
            "multiget-connections" => c.multiget_connections = num::<usize>(&name, &v)?.max(1),
            "idle-conns" => c.idle_conns = num(&name, &v)?,
            "callgrind" => c.callgrind = true,
            "callgrind-requests" => c.callgrind_requests = num::<u64>(&name, &v)?.max(1),
            "callgrind-connections" => {
                c.callgrind_connections = v
                    .split(',')
                    .map(|n| num::<usize>(&name, n.trim()).map(|n| n.max(1)))
                    .collect::<Result<_, _>>()?;
            }
            "moxi" => c.lab.moxi = PathBuf::from(v),
            "proxy-threads" => c.lab.proxy_threads = num::<usize>(&name, &v)?.max(1),
            "backend-threads" => c.lab.backend_threads = num::<usize>(&name, &v)?.max(1),
            "other" => {
                let (label, cmd) = v.split_once('=').ok_or("--other wants LABEL=COMMAND")?;
                c.others.push((label.trim().to_string(), cmd.to_string()));
            }
            "csv" => c.csv = Some(PathBuf::from(v)),
            "svg" => c.svg = Some(PathBuf::from(v)),
            "quiet" => c.progress = false,
            "keep" => c.lab.keep = true,
            "" => return Err(format!("unexpected argument {v:?}")),
            _ => return Err(format!("unknown option --{name}")),
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Protocol;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn run_options() {
        let Cli::Run(r) = parse(&args(
            "--server 127.0.0.1:9 --rate 5000 --connections 4 --protocol binary --get-ratio=0.5 \
             --multiget 10 --duration 500ms --no-prefill --quiet --csv out.csv --label moxi",
        ))
        .unwrap() else {
            panic!("not a run")
        };
        let c = r.run;
        assert_eq!(c.addr.port(), 9);
        assert_eq!(c.mode, Mode::Open { rate: 5000.0 });
        assert_eq!(
            (c.connections, c.mix.multiget, c.mix.get_ratio),
            (4, 10, 0.5)
        );
        assert_eq!(c.mix.protocol, Protocol::Binary);
        assert_eq!(c.stop, Stop::After(Duration::from_millis(500)));
        assert!(!c.prefill && !c.progress);
        assert_eq!(c.label, "moxi");
        assert_eq!(r.csv, Some(PathBuf::from("out.csv")));
        let Cli::Run(d) = parse(&args("run --requests 7")).unwrap() else {
            panic!()
        };
        assert_eq!(d.run.stop, Stop::Requests(7));
        assert_eq!(d.run.label, "127.0.0.1:11211");
    }

    #[test]
    fn errors_are_explained() {
        assert!(parse(&args("--connections"))
            .unwrap_err()
            .contains("needs a value"));
        assert!(parse(&args("--bogus 1"))
            .unwrap_err()
            .contains("unknown option"));
        assert!(parse(&args("--get-ratio 2")).is_err());
        assert!(parse(&args("--protocol meta")).is_err());
        assert!(parse(&args("--rate 0")).is_err());
        assert!(parse(&args("frobnicate")).is_err());
        assert!(parse(&args("plot a.csv")).is_err());
    }

    #[test]
    fn compare_and_plot_options() {
        let Cli::Compare(c) = parse(&[
            "compare".into(),
            "--rounds".into(),
            "3".into(),
            "--connections=1,32".into(),
            "--other".into(),
            "moxi-t1=moxi -t 1 -z {port}={backend}".into(),
            "--callgrind".into(),
            "--callgrind-connections=1,32".into(),
        ])
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            (c.rounds, c.connections.clone(), c.callgrind),
            (3, vec![1, 32], true)
        );
        assert_eq!(c.callgrind_connections, [1, 32]);
        assert_eq!(
            c.others,
            [(
                "moxi-t1".to_string(),
                "moxi -t 1 -z {port}={backend}".to_string()
            )]
        );
        let Cli::Plot { out, inputs } = parse(&args("plot -o x.svg a.csv b.csv")).unwrap() else {
            panic!()
        };
        assert_eq!((out, inputs.len()), (PathBuf::from("x.svg"), 2));
        assert!(matches!(parse(&args("--help")).unwrap(), Cli::Help));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3s").unwrap(), Duration::from_secs(3));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("0.3").unwrap(), Duration::from_millis(300));
        assert!(parse_duration("-1s").is_err() && parse_duration("x").is_err());
    }
}
