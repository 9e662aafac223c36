//! A one-line progress bar on stderr for long runs. Drawn only when stderr
//! is a terminal (and not `--quiet`), so logs and pipes stay clean.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Width of the bar in characters.
const WIDTH: usize = 30;

/// How a run ends, for the bar's scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Goal {
    /// After this long.
    Time(Duration),
    /// After this many requests.
    Requests(u64),
}

/// A running progress bar; dropping it erases the line.
pub struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts drawing `label` and the progress of `done` towards `goal`, if
    /// `enabled` and stderr is a terminal; otherwise does nothing.
    pub fn start(enabled: bool, label: &str, goal: Goal, done: Arc<AtomicU64>) -> Progress {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = (enabled && std::io::stderr().is_terminal()).then(|| {
            let (stop, label) = (stop.clone(), label.to_string());
            std::thread::spawn(move || {
                let start = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    let line = render(&label, goal, start.elapsed(), done.load(Ordering::Relaxed));
                    eprint!("\r{line}");
                    let _ = std::io::stderr().flush();
                    std::thread::sleep(Duration::from_millis(200));
                }
                eprint!("\r{:width$}\r", "", width = WIDTH + label.len() + 48);
            })
        });
        Progress { stop, thread }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The bar's text: `label [#####.....] 1.5/3.0 s  12345 req  8230 req/s`.
pub fn render(label: &str, goal: Goal, elapsed: Duration, done: u64) -> String {
    let secs = elapsed.as_secs_f64();
    let fraction = match goal {
        Goal::Time(d) => secs / d.as_secs_f64().max(1e-9),
        Goal::Requests(n) => done as f64 / n.max(1) as f64,
    }
    .clamp(0.0, 1.0);
    let filled = (fraction * WIDTH as f64).round() as usize;
    let bar = format!("{}{}", "#".repeat(filled), ".".repeat(WIDTH - filled));
    let scale = match goal {
        Goal::Time(d) => format!("{secs:.1}/{:.1} s", d.as_secs_f64()),
        Goal::Requests(n) => format!("{done}/{n}"),
    };
    let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
    format!("{label} [{bar}] {scale}  {done} req  {rate:.0} req/s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_fills_with_time_or_requests() {
        let half = render(
            "x",
            Goal::Time(Duration::from_secs(4)),
            Duration::from_secs(2),
            100,
        );
        assert!(
            half.starts_with("x [###############...............] 2.0/4.0 s"),
            "{half}"
        );
        assert!(half.ends_with("100 req  50 req/s"), "{half}");
        let full = render("y", Goal::Requests(10), Duration::from_secs(1), 20);
        assert!(full.contains(&"#".repeat(WIDTH)), "{full}");
        assert!(full.contains("20/10"), "{full}");
        let none = render("z", Goal::Requests(10), Duration::ZERO, 0);
        assert!(
            none.contains(&".".repeat(WIDTH)) && none.ends_with("0 req/s"),
            "{none}"
        );
    }
}
