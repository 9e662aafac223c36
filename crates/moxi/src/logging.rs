//! Logging: levels from `-v` (none: warnings and errors; `-v` info, `-vv`
//! debug, `-vvv` trace), written to stderr or to the `-O` file, which SIGHUP
//! reopens (for log rotation). Every line starts with an RFC 3339 UTC
//! timestamp and the level (`2026-12-07T23:59:01.123Z WARN proxy::buckets::watch:
//! ...`); `--log-format json` writes one JSON object per line instead, with
//! `ts`, `level`, `target`, `msg` and the record's key-value fields.
//!
//! A record below the level is never formatted: the `log` macros compare
//! the level with `log::max_level()` (one atomic load) before building it.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use log::kv::{Key, Value, VisitSource};
use log::{Level, LevelFilter, Log, Metadata, Record};

/// How lines are written (`--log-format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// `TIMESTAMP LEVEL target: message`.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl Format {
    /// Parses `--log-format`'s value.
    pub fn parse(v: &str) -> Option<Format> {
        match v {
            "text" => Some(Format::Text),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

enum Sink {
    Stderr,
    File { path: String, file: File },
}

struct Logger {
    sink: Mutex<Sink>,
    format: Mutex<Format>,
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

fn logger() -> &'static Logger {
    LOGGER.get_or_init(|| Logger {
        sink: Mutex::new(Sink::Stderr),
        format: Mutex::new(Format::Text),
    })
}

/// Installs the logger. `path` is `-O` (`None`, empty or `stderr`: stderr).
pub fn init(verbosity: u32, path: Option<&str>, format: Format) -> io::Result<()> {
    let sink = match path {
        None | Some("") | Some("stderr") => Sink::Stderr,
        Some(p) => Sink::File {
            path: p.to_string(),
            file: open(p)?,
        },
    };
    let logger = logger();
    *logger.sink.lock().unwrap_or_else(|p| p.into_inner()) = sink;
    *logger.format.lock().unwrap_or_else(|p| p.into_inner()) = format;
    // A second init (tests) keeps the first logger; only the level changes.
    let _ = log::set_logger(logger);
    log::set_max_level(level_for(verbosity));
    Ok(())
}

/// Whether lines go to a file (`-O`) rather than stderr.
pub fn to_file() -> bool {
    let sink = logger().sink.lock().unwrap_or_else(|p| p.into_inner());
    matches!(*sink, Sink::File { .. })
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

/// Writes an INFO line whatever the level: what moxi listens on, which an
/// operator needs at every verbosity.
pub fn announce(msg: std::fmt::Arguments<'_>) {
    logger().write(
        &Record::builder()
            .args(msg)
            .level(Level::Info)
            .target("moxi")
            .build(),
    );
}

/// Logs a fatal start-up error; with `-O`, also on stderr, so that whoever
/// started moxi sees why it exited.
pub fn fatal(msg: &str) {
    logger().write(
        &Record::builder()
            .args(format_args!(
                "{}",
                msg.strip_prefix("ERROR: ").unwrap_or(msg)
            ))
            .level(Level::Error)
            .target("moxi")
            .build(),
    );
    if to_file() {
        eprintln!("{msg}");
    }
}

/// `t` as RFC 3339 UTC with milliseconds: `2026-12-07T23:59:01.123Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (y, m, day) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60,
        d.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Error => "ERROR",
        Level::Warn => "WARN",
        Level::Info => "INFO",
        Level::Debug => "DEBUG",
        Level::Trace => "TRACE",
    }
}

/// One line of text for `record` at `ts`.
pub fn text_line(ts: &str, record: &Record<'_>) -> String {
    format!(
        "{ts} {} {}: {}\n",
        level_name(record.level()),
        record.target(),
        record.args()
    )
}

/// One JSON object (and a newline) for `record` at `ts`.
pub fn json_line(ts: &str, record: &Record<'_>) -> String {
    let mut out = String::with_capacity(128);
    out.push_str("{\"ts\":");
    json_str(&mut out, ts);
    out.push_str(",\"level\":");
    json_str(&mut out, level_name(record.level()));
    out.push_str(",\"target\":");
    json_str(&mut out, record.target());
    out.push_str(",\"msg\":");
    json_str(&mut out, &record.args().to_string());
    let _ = record.key_values().visit(&mut JsonFields(&mut out));
    out.push_str("}\n");
    out
}

/// Appends the key-value fields of a record as JSON members.
struct JsonFields<'a>(&'a mut String);

impl<'kvs> VisitSource<'kvs> for JsonFields<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
        let out = &mut *self.0;
        out.push(',');
        json_str(out, key.as_str());
        out.push(':');
        if let Some(n) = value.to_u64() {
            let _ = write!(out, "{n}");
        } else if let Some(n) = value.to_i64() {
            let _ = write!(out, "{n}");
        } else if let Some(b) = value.to_bool() {
            let _ = write!(out, "{b}");
        } else {
            json_str(out, &value.to_string());
        }
        Ok(())
    }
}

/// Appends `s` as a JSON string.
fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Logger {
    fn write(&self, record: &Record<'_>) {
        let ts = rfc3339(SystemTime::now());
        let format = *self.format.lock().unwrap_or_else(|p| p.into_inner());
        let line = match format {
            Format::Text => text_line(&ts, record),
            Format::Json => json_line(&ts, record),
        };
        let Ok(mut sink) = self.sink.lock() else {
            return;
        };
        let _ = match &mut *sink {
            Sink::Stderr => io::stderr().write_all(line.as_bytes()),
            Sink::File { file, .. } => file.write_all(line.as_bytes()),
        };
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            self.write(record);
        }
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
    use std::time::Duration;

    #[test]
    fn levels_follow_v_count() {
        assert_eq!(level_for(0), LevelFilter::Warn);
        assert_eq!(level_for(1), LevelFilter::Info);
        assert_eq!(level_for(2), LevelFilter::Debug);
        assert_eq!(level_for(5), LevelFilter::Trace);
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        let at = |ms: u64| rfc3339(UNIX_EPOCH + Duration::from_millis(ms));
        assert_eq!(at(0), "1970-01-01T00:00:00.000Z");
        // date -u -d @1796687941 → 2026-12-07T23:59:01
        assert_eq!(at(1_796_687_941_123), "2026-12-07T23:59:01.123Z");
        // A leap day and the turn of a century.
        assert_eq!(at(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(at(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
    }

    #[test]
    fn text_lines_carry_time_level_and_target() {
        let r = Record::builder()
            .args(format_args!("hello"))
            .level(Level::Warn)
            .target("proxy::buckets::watch")
            .build();
        assert_eq!(
            text_line("2026-12-07T23:59:01.123Z", &r),
            "2026-12-07T23:59:01.123Z WARN proxy::buckets::watch: hello\n"
        );
    }

    #[test]
    fn json_lines_are_one_object_with_fields() {
        let kvs: &[(&str, Value<'_>)] = &[
            ("server", Value::from("127.0.0.1:1")),
            ("suppressed", Value::from(3u64)),
        ];
        let r = Record::builder()
            .args(format_args!("a \"quoted\"\nline\u{1}"))
            .level(Level::Info)
            .target("proxy::health")
            .key_values(&kvs)
            .build();
        let line = json_line("2026-12-07T23:59:01.123Z", &r);
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["ts"], "2026-12-07T23:59:01.123Z");
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["target"], "proxy::health");
        assert_eq!(v["msg"], "a \"quoted\"\nline\u{1}");
        assert_eq!(v["server"], "127.0.0.1:1");
        assert_eq!(v["suppressed"], 3);
    }

    #[test]
    fn file_sink_is_reopened_after_rotation() {
        let dir = std::env::temp_dir().join(format!("moxi-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("moxi.log");
        let p = path.to_str().unwrap();
        init(1, Some(p), Format::Text).unwrap();
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
        assert!(
            new.contains(" INFO moxi::logging::tests: after rotation"),
            "{new}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
