//! The lab: a private temporary directory, the memcached backends, and the
//! systems under test started in front of them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::procs::{backend_list, expand_template, free_port, nutcracker_yaml, CompareError, Proc};

/// How long a process may take to listen (valgrind is slow to start).
const PATIENCE: Duration = Duration::from_secs(15);
const VALGRIND_PATIENCE: Duration = Duration::from_secs(90);

/// Which kind of system a label stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// memcached itself, no proxy (single backend only).
    Direct,
    /// twemproxy (Debian `nutcracker`).
    Twemproxy,
    /// moxi, `-z PORT=backends`.
    Moxi,
    /// Any other proxy: a shell command template with `{port}` and `{backend}`.
    Other(String),
}

/// A named system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct System {
    /// Its label in tables, CSV and plots.
    pub label: String,
    /// How to start it.
    pub kind: Kind,
}

/// A started system: where to send load, and which process to watch.
pub struct Target {
    /// Label.
    pub label: String,
    /// Port on 127.0.0.1.
    pub port: u16,
    /// The process serving the port (memcached's own for `Direct`).
    pub pid: u32,
    /// Owned process (none for `Direct`).
    pub proc: Option<Proc>,
}

/// Settings of the processes the lab starts.
#[derive(Clone, Debug)]
pub struct LabConfig {
    /// The moxi binary.
    pub moxi: PathBuf,
    /// `-t` of memcached backends.
    pub backend_threads: usize,
    /// `-t` of moxi (twemproxy is single-threaded by design).
    pub proxy_threads: usize,
    /// Keep the lab directory (logs, configs, callgrind dumps) at the end.
    pub keep: bool,
}

/// A temporary directory plus the memcached backends; all removed and
/// stopped when dropped.
pub struct Lab {
    dir: PathBuf,
    cfg: LabConfig,
    /// The memcached backends.
    pub backends: Vec<Proc>,
}

impl Lab {
    /// Creates the directory and starts `backends` memcached servers.
    pub fn new(cfg: LabConfig, backends: usize) -> Result<Lab, CompareError> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("moxi-load-{}-{stamp}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| CompareError::Io(dir.display().to_string(), e))?;
        let mut lab = Lab {
            dir,
            cfg,
            backends: Vec::new(),
        };
        for i in 0..backends {
            let port = free_port()?;
            let mut cmd = Command::new("memcached");
            cmd.args(["-U", "0", "-l", "127.0.0.1", "-m", "256", "-c", "16384"])
                .args([
                    "-p",
                    &port.to_string(),
                    "-t",
                    &lab.cfg.backend_threads.to_string(),
                ]);
            if nix::unistd::geteuid().is_root() {
                cmd.args(["-u", "root"]);
            }
            let log = lab.path(&format!("memcached{i}.log"));
            lab.backends.push(Proc::spawn(
                &format!("memcached{i}"),
                cmd,
                port,
                &log,
                PATIENCE,
            )?);
        }
        Ok(lab)
    }

    /// The settings it was made with.
    pub fn config(&self) -> &LabConfig {
        &self.cfg
    }

    /// A file in the lab's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Ports of the first `n` backends.
    pub fn ports(&self, n: usize) -> Vec<u16> {
        self.backends.iter().take(n).map(|b| b.port).collect()
    }

    /// Starts `system` in front of the first `n` backends. With
    /// `callgrind_out`, the proxy runs under `valgrind --tool=callgrind`.
    pub fn start(
        &self,
        system: &System,
        n: usize,
        callgrind_out: Option<&Path>,
    ) -> Result<Target, CompareError> {
        let backends = self.ports(n);
        if system.kind == Kind::Direct {
            let b = self.backends.first().filter(|_| n == 1).ok_or_else(|| {
                CompareError::Other("direct memcached needs exactly one backend".into())
            })?;
            return Ok(Target {
                label: system.label.clone(),
                port: b.port,
                pid: b.pid(),
                proc: None,
            });
        }
        let port = free_port()?;
        let argv = self.argv(system, port, &backends)?;
        let mut cmd = match (&system.kind, callgrind_out) {
            (Kind::Other(_), out) => {
                let prefix = out.map_or(String::new(), |o| {
                    format!("valgrind {} ", valgrind(o).join(" "))
                });
                shell(&format!("exec {prefix}{}", argv[2]))
            }
            (_, Some(out)) => {
                let mut c = Command::new("valgrind");
                c.args(valgrind(out)).args(&argv);
                c
            }
            (_, None) => {
                let mut c = Command::new(&argv[0]);
                c.args(&argv[1..]);
                c
            }
        };
        cmd.current_dir(&self.dir);
        let log = self.path(&format!("{}.{port}.log", safe(&system.label)));
        let patience = if callgrind_out.is_some() {
            VALGRIND_PATIENCE
        } else {
            PATIENCE
        };
        let proc = Proc::spawn(&system.label, cmd, port, &log, patience)?;
        Ok(Target {
            label: system.label.clone(),
            port,
            pid: proc.pid(),
            proc: Some(proc),
        })
    }

    /// The command line of a proxy (for `Other`: `sh -c "exec ..."`).
    fn argv(
        &self,
        system: &System,
        port: u16,
        backends: &[u16],
    ) -> Result<Vec<String>, CompareError> {
        let s = |v: &str| v.to_string();
        Ok(match &system.kind {
            Kind::Direct => Vec::new(),
            Kind::Twemproxy => {
                let yml = self.path(&format!("nutcracker.{port}.yml"));
                std::fs::write(&yml, nutcracker_yaml(port, backends))
                    .map_err(|e| CompareError::Io(yml.display().to_string(), e))?;
                let stats = free_port()?;
                vec![
                    s("nutcracker"),
                    s("-c"),
                    yml.display().to_string(),
                    s("-o"),
                    self.path(&format!("nutcracker.{port}.out"))
                        .display()
                        .to_string(),
                    s("-s"),
                    stats.to_string(),
                    s("-a"),
                    s("127.0.0.1"),
                ]
            }
            Kind::Moxi => vec![
                self.cfg.moxi.display().to_string(),
                s("-l"),
                s("127.0.0.1"),
                s("-t"),
                self.cfg.proxy_threads.to_string(),
                s("-c"),
                s("16384"),
                s("-z"),
                format!("{port}={}", backend_list(backends)),
            ],
            Kind::Other(template) => {
                vec![s("sh"), s("-c"), expand_template(template, port, backends)]
            }
        })
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.backends.clear();
        if self.cfg.keep {
            eprintln!("moxi-load: lab directory kept: {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn shell(script: &str) -> Command {
    let mut c = Command::new("sh");
    c.args(["-c", script]);
    c
}

fn valgrind(out: &Path) -> Vec<String> {
    vec![
        "--tool=callgrind".into(),
        "--trace-children=yes".into(),
        format!("--callgrind-out-file={}", out.display()),
    ]
}

/// A label usable in a file name.
fn safe(label: &str) -> String {
    label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
