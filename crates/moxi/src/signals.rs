//! Process signals. The handlers are installed before any port is opened,
//! so a SIGHUP or SIGTERM that arrives right after start-up is never met by
//! the default action (which would kill the process).

use std::io;

use tokio::runtime::Runtime;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// Installed handlers for SIGHUP, SIGTERM and SIGINT.
pub struct Signals {
    rt: Runtime,
    hup: Signal,
    term: Signal,
    int: Signal,
}

impl Signals {
    /// Installs the handlers (call first thing in `main`).
    pub fn install() -> io::Result<Signals> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (hup, term, int) = rt.block_on(async {
            io::Result::Ok((
                signal(SignalKind::hangup())?,
                signal(SignalKind::terminate())?,
                signal(SignalKind::interrupt())?,
            ))
        })?;
        Ok(Signals { rt, hup, term, int })
    }

    /// Blocks until SIGTERM or SIGINT (or stdin closing, with `-Y y`, or a
    /// `shutdown` command, with `-A`);
    /// SIGHUP reopens the log file meanwhile.
    pub fn wait_for_stop(mut self, exit_on_stdin_close: bool) {
        self.rt.block_on(async {
            let stdin_closed = async {
                if !exit_on_stdin_close {
                    return std::future::pending::<()>().await;
                }
                let _ = tokio::task::spawn_blocking(|| {
                    let mut sink = Vec::new();
                    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
                })
                .await;
            };
            tokio::pin!(stdin_closed);
            // The embedded server's `shutdown` command (with `-A`).
            let mut stop = runtime::shutdown::stop_requested();
            let stop = async move {
                let _ = stop.wait_for(|asked| *asked).await;
            };
            tokio::pin!(stop);
            loop {
                tokio::select! {
                    _ = self.hup.recv() => crate::logging::reopen(),
                    _ = self.term.recv() => return,
                    _ = self.int.recv() => return,
                    _ = &mut stdin_closed => return,
                    _ = &mut stop => return,
                }
            }
        });
    }
}
