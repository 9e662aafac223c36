//! How each client of the repository's `clients/` folder is found, built
//! and run: a client is a library plus a small workload program in its own
//! language, run as `PROGRAM SERVERS PROTOCOL workload` (prints the
//! transcript) or `PROGRAM SERVERS PROTOCOL place N` (stores `place:0` to
//! `place:N-1`). clients/README.md describes the workload.
//!
//! Debian's packages install system-wide; the two registries' packages
//! (python-binary-memcached and pymemcache from PyPI, memjs from npm) live
//! under `$MOXI_CLIENTS_DIR` (default [`DEFAULT_DIR`]), where `.ci/run`
//! installs them: `venv/` (a venv that also sees Debian's Python
//! packages) and `node/node_modules/`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where `.ci/run` installs the registries' client packages.
pub const DEFAULT_DIR: &str = "/opt/moxi-clients";

/// How long one run of a workload program may take (each client's own
/// timeouts are 10 s per operation; a run normally takes 1-3 s).
const RUN_DEADLINE: Duration = Duration::from_secs(120);

/// Debian's gomemcache sources, for a GOPATH build without modules.
const GOPATH: &str = "/usr/share/gocode";

/// Debian's spymemcached jar.
const SPYMEMCACHED_JAR: &str = "/usr/share/java/spymemcached.jar";

/// JVM flags for short runs (start-up dominates them).
const JVM_FLAGS: &[&str] = &["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"];

/// The language a client's workload program is written in.
#[derive(Clone, Copy, Debug)]
pub enum Lang {
    /// clients/python/workload.py with this client name (its import name
    /// is the second field).
    Python(&'static str, &'static str),
    /// clients/ruby/workload.rb (dalli).
    Ruby,
    /// clients/go/workload.go (gomemcache).
    Go,
    /// clients/php/workload.php (the memcached extension).
    Php,
    /// clients/node/workload.js (memjs).
    Node,
    /// clients/java/Workload.java (spymemcached).
    Java,
}

/// A client library under test.
#[derive(Clone, Copy, Debug)]
pub struct Client {
    /// Its name in messages and in the README's table.
    pub name: &'static str,
    /// How its workload program runs.
    pub lang: Lang,
    /// The protocols it speaks to its servers (each is run).
    pub protocols: &'static [&'static str],
    /// Whether it places keys as moxi's default distribution does
    /// (libmemcached KETAMA_WEIGHTED), so its placement is compared too.
    pub places_like_moxi: bool,
}

/// A client whose toolchain was found and whose program is built.
pub struct Ready {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
}

/// `$MOXI_CLIENTS_DIR`, or [`DEFAULT_DIR`].
pub fn clients_dir() -> PathBuf {
    std::env::var_os("MOXI_CLIENTS_DIR").map_or_else(|| DEFAULT_DIR.into(), PathBuf::from)
}

/// The repository's `clients/` folder.
fn sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../clients")
}

/// Scratch space for built programs, inside the target directory.
fn scratch() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("clients");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn source(rel: &str) -> String {
    sources().join(rel).to_string_lossy().into_owned()
}

/// Runs a probe or build command; `Err` says what failed and its stderr.
fn check(what: &str, cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: cannot run {:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        return Ok(());
    }
    // The line naming the error, else the last one (node ends with its
    // version, python with the exception).
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    let line = lines
        .iter()
        .find(|l| l.contains("Error") || l.contains("error:"))
        .or(lines.last())
        .map_or("", |l| l.trim());
    Err(format!("{what} failed ({}): {line}", out.status))
}

fn tool(name: &str, package: &str) -> Result<PathBuf, String> {
    testkit::find_tool(name)
        .ok_or_else(|| format!("{name} not on PATH (apt-get install {package})"))
}

impl Client {
    /// Finds the toolchain and library and builds the workload program;
    /// `Err(why)` when something is missing.
    pub fn prepare(&self) -> Result<Ready, String> {
        let ready = |program: PathBuf, args: Vec<String>, env| Ready {
            name: self.name,
            program,
            args,
            env,
        };
        match self.lang {
            Lang::Python(kind, module) => {
                let venv = clients_dir().join("venv/bin/python");
                let python = if venv.exists() {
                    venv
                } else {
                    tool("python3", "python3")?
                };
                let import = format!("import {module}");
                check(
                    &format!("{} -c '{import}' (.ci/run installs it)", python.display()),
                    Command::new(&python).args(["-c", &import]),
                )?;
                let args = vec![source("python/workload.py"), kind.to_string()];
                Ok(ready(python, args, vec![]))
            }
            Lang::Ruby => {
                let ruby = tool("ruby", "ruby ruby-dalli")?;
                check(
                    "require 'dalli' (apt-get install ruby-dalli)",
                    Command::new(&ruby).args(["-e", "require 'dalli'"]),
                )?;
                Ok(ready(ruby, vec![source("ruby/workload.rb")], vec![]))
            }
            Lang::Go => self.build_go().map(|bin| ready(bin, vec![], vec![])),
            Lang::Php => {
                let php = tool("php", "php-cli php-memcached")?;
                check(
                    "php's memcached extension (apt-get install php-memcached)",
                    Command::new(&php).args(["-r", "exit(class_exists('Memcached') ? 0 : 1);"]),
                )?;
                Ok(ready(php, vec![source("php/workload.php")], vec![]))
            }
            Lang::Node => {
                let node = tool("node", "nodejs")?;
                let modules = clients_dir().join("node/node_modules");
                let path = modules.to_string_lossy().into_owned();
                check(
                    &format!("require('memjs') with NODE_PATH={path} (.ci/run installs it)"),
                    Command::new(&node)
                        .args(["-e", "require('memjs')"])
                        .env("NODE_PATH", &path),
                )?;
                let env = vec![("NODE_PATH", path)];
                Ok(ready(node, vec![source("node/workload.js")], env))
            }
            Lang::Java => {
                let (java, classes) = self.build_java()?;
                let cp = format!("{SPYMEMCACHED_JAR}:{}", classes.display());
                // C1 only and the serial collector: a 1 s run, not 1.7 s.
                let args = [JVM_FLAGS, &["-cp", &cp, "Workload"]].concat();
                Ok(ready(
                    java,
                    args.into_iter().map(String::from).collect(),
                    vec![],
                ))
            }
        }
    }

    /// `go build` with GOPATH mode: Debian's gomemcache, no download.
    fn build_go(&self) -> Result<PathBuf, String> {
        let go = tool("go", "golang-go")?;
        let lib = Path::new(GOPATH).join("src/github.com/bradfitz/gomemcache");
        if !lib.is_dir() {
            let why = "apt-get install golang-github-bradfitz-gomemcache-dev";
            return Err(format!("{} missing ({why})", lib.display()));
        }
        let out = scratch().join("gomemcache-workload");
        check(
            "go build clients/go/workload.go",
            Command::new(go)
                .arg("build")
                .arg("-o")
                .arg(&out)
                .arg(source("go/workload.go"))
                .env("GO111MODULE", "off")
                .env("GOPATH", GOPATH)
                .env("GOFLAGS", "")
                .env("GOCACHE", scratch().join("go-cache")),
        )?;
        Ok(out)
    }

    /// `javac` against Debian's spymemcached jar.
    fn build_java(&self) -> Result<(PathBuf, PathBuf), String> {
        let javac = tool("javac", "default-jdk-headless")?;
        let java = tool("java", "default-jdk-headless")?;
        if !Path::new(SPYMEMCACHED_JAR).exists() {
            let why = "apt-get install libspymemcached-java";
            return Err(format!("{SPYMEMCACHED_JAR} missing ({why})"));
        }
        let classes = scratch().join("java-classes");
        check(
            "javac clients/java/Workload.java",
            Command::new(javac)
                .args(JVM_FLAGS.iter().map(|f| format!("-J{f}")))
                .args(["-d", &classes.to_string_lossy(), "-cp", SPYMEMCACHED_JAR])
                .arg(source("java/Workload.java")),
        )?;
        Ok((java, classes))
    }
}

impl Ready {
    /// Runs the program against `servers` (`host:port,...`) speaking
    /// `protocol`, with `mode` (`["workload"]` or `["place", "N"]`), and
    /// returns what it printed. Panics when it fails or outlives
    /// [`RUN_DEADLINE`].
    pub fn run(&self, servers: &str, protocol: &str, mode: &[&str]) -> String {
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .args([servers, protocol])
            .args(mode)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: cannot start {:?}: {e}", self.name, self.program));
        let drain = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = pipe.read_to_string(&mut text);
                text
            })
        };
        let stdout = drain(Box::new(child.stdout.take().unwrap()));
        let stderr = drain(Box::new(child.stderr.take().unwrap()));
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if start.elapsed() > RUN_DEADLINE {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            // Polls the child's exit: std has no wait with a deadline.
            std::thread::sleep(Duration::from_millis(5));
        };
        let (out, err) = (stdout.join().unwrap(), stderr.join().unwrap());
        let what = format!("{} {servers} {protocol} {mode:?}", self.name);
        match status {
            Some(s) if s.success() => out,
            Some(s) => panic!("{what} exited with {s}\nstdout:\n{out}\nstderr:\n{err}"),
            None => panic!(
                "{what} still running after {RUN_DEADLINE:?}\nstdout:\n{out}\nstderr:\n{err}"
            ),
        }
    }
}
