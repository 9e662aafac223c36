//! Logging: levels from `-v` (none: warnings and errors; `-v` info, `-vv`
//! debug, `-vvv` trace), written to stderr or to the `-O` file, which SIGHUP
//! reopens (for log rotation).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::sync::{Mutex, OnceLock};

use log::{Level, LevelFilter, Log, Metadata, Record};

enum Sink {
    Stderr,
    File { path: String, file: File },
}

struct Logger {
    sink: Mutex<Sink>,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// The level `-v` given `count` times selects.
pub fn level_for(count: u32) -> LevelFilter {
    match count {
        0 => LevelFilter::Warn,
        1 => LevelFilter::Info,
        2 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    }
}

fn open(path: &str) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Installs the logger. `path` is `-O` (`None`, empty or `stderr`: stderr).
pub fn init(verbosity: u32, path: Option<&str>) -> io::Result<()> {
    let sink = match path {
        None | Some("") | Some("stderr") => Sink::Stderr,
        Some(p) => Sink::File {
            path: p.to_string(),
            file: open(p)?,
        },
    };
    let logger = LOGGER.get_or_init(|| Logger {
        sink: Mutex::new(Sink::Stderr),
    });
    if let Ok(mut s) = logger.sink.lock() {
        *s = sink;
    }
    // A second init (tests) keeps the first logger; only the level changes.
    let _ = log::set_logger(logger);
    log::set_max_level(level_for(verbosity));
    Ok(())
}

/// Reopens the `-O` file (SIGHUP), so a rotated log starts afresh.
pub fn reopen() {
    let Some(logger) = LOGGER.get() else { return };
    let Ok(mut sink) = logger.sink.lock() else {
        return;
    };
    if let Sink::File { path, file } = &mut *sink {
        match open(path) {
            Ok(f) => *file = f,
            Err(e) => eprintln!("moxi: could not reopen log file {path}: {e}"),
        }
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let tag = match record.level() {
            Level::Error => "ERROR",
            Level::Warn => "WARNING",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        };
        let line = format!("moxi: {tag}: {}\n", record.args());
        let Ok(mut sink) = self.sink.lock() else {
            return;
        };
        let _ = match &mut *sink {
            Sink::Stderr => io::stderr().write_all(line.as_bytes()),
            Sink::File { file, .. } => file.write_all(line.as_bytes()),
        };
    }

    fn flush(&self) {
        if let Ok(mut sink) = self.sink.lock() {
            if let Sink::File { file, .. } = &mut *sink {
                let _ = file.flush();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_v_count() {
        assert_eq!(level_for(0), LevelFilter::Warn);
        assert_eq!(level_for(1), LevelFilter::Info);
        assert_eq!(level_for(2), LevelFilter::Debug);
        assert_eq!(level_for(5), LevelFilter::Trace);
    }

    #[test]
    fn file_sink_is_reopened_after_rotation() {
        let dir = std::env::temp_dir().join(format!("moxi-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("moxi.log");
        let p = path.to_str().unwrap();
        init(1, Some(p)).unwrap();
        log::info!("before rotation");
        std::fs::rename(&path, dir.join("moxi.log.1")).unwrap();
        reopen();
        log::info!("after rotation");
        log::logger().flush();
        let old = std::fs::read_to_string(dir.join("moxi.log.1")).unwrap();
        let new = std::fs::read_to_string(&path).unwrap();
        assert!(
            old.contains("before rotation") && !old.contains("after rotation"),
            "{old}"
        );
        assert!(new.contains("moxi: INFO: after rotation"), "{new}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
