//! Faults on a schedule, applied to the memcached behind moxi while the
//! checked load runs, each bracketed by the fault clocks ([`Epochs`]):
//!
//! - kill: `kill -9` a memcached (its data is lost), restart it on the
//!   same port a moment later;
//! - stop: SIGSTOP a memcached for longer than moxi's
//!   `downstream_timeout`, then SIGCONT (requests time out; none is lost,
//!   but some writes land after their client was told they failed);
//! - garbage: kill a memcached and put a server that answers garbage on
//!   its port for a while, then restart memcached.
//!
//! Every fault ends with a settling time (moxi's timeouts run out, its
//! health probe finds the server again, its queues drain: at least the
//! plan's, then until clients have met no failure for a second) before the
//! clocks say it is over.

use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use testkit::Memcached;

use crate::epoch::Epochs;
use crate::garbage::Garbage;

/// Which fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// kill -9, then restart on the same port.
    Kill,
    /// SIGSTOP, then SIGCONT.
    Stop,
    /// kill -9, a garbage server on the port, then restart.
    Garbage,
}

impl FaultKind {
    /// The order faults take turns in.
    pub const CYCLE: [FaultKind; 3] = [FaultKind::Kill, FaultKind::Stop, FaultKind::Garbage];
}

impl std::str::FromStr for FaultKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "kill" => Ok(FaultKind::Kill),
            "stop" => Ok(FaultKind::Stop),
            "garbage" => Ok(FaultKind::Garbage),
            _ => Err(format!("unknown fault {s:?} (kill, stop, garbage)")),
        }
    }
}

/// Timing of the faults.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The faults, taking turns.
    pub kinds: Vec<FaultKind>,
    /// A fault starts this often.
    pub every: Duration,
    /// How long a killed memcached stays down.
    pub down_for: Duration,
    /// How long a stopped memcached stays stopped.
    pub stop_for: Duration,
    /// How long the garbage server answers.
    pub garbage_for: Duration,
    /// Quiet time after each fault before it counts as over.
    pub settle: Duration,
}

impl Plan {
    /// Faults every `every`, shaped for moxi's `downstream_timeout` and
    /// the number of moxi hops on the way to memcached (each hop waits its
    /// own timeout, so the after-effects last longer).
    pub fn new(every: Duration, downstream_timeout: Duration, hops: u32) -> Plan {
        Plan {
            kinds: FaultKind::CYCLE.to_vec(),
            every,
            down_for: Duration::from_millis(500),
            stop_for: downstream_timeout * 2 + Duration::from_millis(500),
            garbage_for: Duration::from_secs(2),
            settle: downstream_timeout * hops.max(1) + Duration::from_millis(500),
        }
    }
}

/// One fault as it happened.
#[derive(Clone, Debug)]
pub struct FaultRecord {
    /// When it started, from the start of the run.
    pub at: Duration,
    /// Which fault.
    pub kind: FaultKind,
    /// The memcached's port.
    pub port: u16,
    /// From start to the end of its settling time.
    pub lasted: Duration,
    /// What went wrong applying it, if anything.
    pub trouble: Option<String>,
}

impl std::fmt::Display for FaultRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>7.1}s {:<8} memcached :{} ({:.1}s)",
            self.at.as_secs_f64(),
            format!("{:?}", self.kind).to_lowercase(),
            self.port,
            self.lasted.as_secs_f64()
        )?;
        if let Some(t) = &self.trouble {
            write!(f, " trouble: {t}")?;
        }
        Ok(())
    }
}

/// Applies faults to `servers` in turn from `start + every` until `until`
/// (a fault under way is finished). Returns what happened.
pub fn run(
    servers: &mut [Memcached],
    plan: Plan,
    epochs: &Epochs,
    start: Instant,
    until: Instant,
) -> Vec<FaultRecord> {
    let mut done = Vec::new();
    let mut next = start + plan.every;
    for i in 0.. {
        let now = Instant::now();
        if next >= until || servers.is_empty() || plan.kinds.is_empty() {
            break;
        }
        std::thread::sleep(next.saturating_duration_since(now));
        let kind = plan.kinds[i % plan.kinds.len()];
        // Kinds and servers take turns independently (every pairing comes up).
        let target = i % servers.len();
        let began = Instant::now();
        epochs.begin_fault();
        let trouble = apply(&mut servers[target], kind, &plan, epochs).err();
        settle(epochs, plan.settle);
        epochs.end_fault();
        done.push(FaultRecord {
            at: began - start,
            kind,
            port: servers[target].addr().port(),
            lasted: began.elapsed(),
            trouble,
        });
        next = (next + plan.every).max(Instant::now());
    }
    done
}

/// How long clients must have met no failure before a fault is over.
pub const QUIET: Duration = Duration::from_secs(1);

/// The longest a fault's after-effects are waited out.
pub const MAX_SETTLE: Duration = Duration::from_secs(30);

/// Waits `at_least`, then until clients have met no failure for [`QUIET`]
/// (moxi's queues and timeouts drain), up to [`MAX_SETTLE`].
fn settle(epochs: &Epochs, at_least: Duration) {
    let start = Instant::now();
    std::thread::sleep(at_least);
    while start.elapsed() < MAX_SETTLE && epochs.since_failure().is_some_and(|d| d < QUIET) {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The fault itself (between the fault clock's ticks).
fn apply(mc: &mut Memcached, kind: FaultKind, plan: &Plan, epochs: &Epochs) -> Result<(), String> {
    match kind {
        FaultKind::Kill => {
            lose(mc, epochs);
            std::thread::sleep(plan.down_for);
            restart(mc)
        }
        FaultKind::Stop => {
            let pid = Pid::from_raw(i32::try_from(mc.server().pid()).map_err(|e| e.to_string())?);
            kill(pid, Signal::SIGSTOP).map_err(|e| format!("SIGSTOP: {e}"))?;
            std::thread::sleep(plan.stop_for);
            kill(pid, Signal::SIGCONT).map_err(|e| format!("SIGCONT: {e}"))
        }
        FaultKind::Garbage => {
            lose(mc, epochs);
            let garbage = Garbage::start(mc.addr().port());
            std::thread::sleep(plan.garbage_for);
            let started = garbage
                .map(drop)
                .map_err(|e| format!("garbage server: {e}"));
            restart(mc).and(started)
        }
    }
}

/// kill -9, bracketed by the loss clock.
fn lose(mc: &mut Memcached, epochs: &Epochs) {
    epochs.begin_loss();
    mc.stop();
    epochs.end_loss();
}

/// Restarts on the same port, trying a few times (the port may linger).
fn restart(mc: &mut Memcached) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..5 {
        match mc.restart() {
            Ok(()) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!("restart failed: {last}"))
}
