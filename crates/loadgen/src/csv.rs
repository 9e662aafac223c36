//! Results as CSV: one row per run, appended to a file that gets its header
//! when it is created. Only the label may need quoting (RFC 4180 rules).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

/// The header line (without newline).
pub const HEADER: &str = "label,mode,protocol,connections,pipeline,multiget,get_ratio,\
value_size,rate,throughput,p50_us,p99_us,p999_us,max_us,requests,errors";

/// One run's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The system measured (`memcached`, `twemproxy`, `moxi`, ...).
    pub label: String,
    /// `closed` or `open`.
    pub mode: String,
    /// `ascii` or `binary`.
    pub protocol: String,
    /// Client connections.
    pub connections: u64,
    /// Outstanding requests per connection (closed loop).
    pub pipeline: u64,
    /// Keys per get.
    pub multiget: u64,
    /// Fraction of gets.
    pub get_ratio: f64,
    /// Bytes per value.
    pub value_size: u64,
    /// Offered rate (open loop), 0 for closed loop.
    pub rate: f64,
    /// Requests per second achieved.
    pub throughput: f64,
    /// Median latency, µs.
    pub p50_us: f64,
    /// 99th percentile, µs.
    pub p99_us: f64,
    /// 99.9th percentile, µs.
    pub p999_us: f64,
    /// Maximum, µs.
    pub max_us: f64,
    /// Requests measured.
    pub requests: u64,
    /// Requests answered wrongly or not at all.
    pub errors: u64,
}

/// A line that is not a result row.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("bad CSV row {line:?}: {why}")]
pub struct ParseError {
    /// The line.
    pub line: String,
    /// What is wrong.
    pub why: String,
}

impl Row {
    /// What the run measured, apart from the system: rows with the same
    /// case are comparable.
    pub fn case(&self) -> String {
        let mut s = format!("{} {} c={}", self.mode, self.protocol, self.connections);
        if self.pipeline > 1 {
            let _ = write!(s, " p={}", self.pipeline);
        }
        if self.multiget > 1 {
            let _ = write!(s, " mget={}", self.multiget);
        }
        if self.rate > 0.0 {
            let _ = write!(s, " rate={}", self.rate);
        }
        s
    }

    /// The CSV line (without newline).
    pub fn to_line(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{},{},{:.1},{:.1},{:.1},{:.1},{:.1},{},{}",
            quote(&self.label),
            self.mode,
            self.protocol,
            self.connections,
            self.pipeline,
            self.multiget,
            self.get_ratio,
            self.value_size,
            self.rate,
            self.throughput,
            self.p50_us,
            self.p99_us,
            self.p999_us,
            self.max_us,
            self.requests,
            self.errors
        )
    }

    /// Parses a line written by [`Row::to_line`].
    pub fn parse(line: &str) -> Result<Row, ParseError> {
        let bad = |why: &str| ParseError {
            line: line.to_string(),
            why: why.to_string(),
        };
        let f = split(line).ok_or_else(|| bad("unbalanced quotes"))?;
        if f.len() != 16 {
            return Err(bad(&format!("{} fields, want 16", f.len())));
        }
        let int = |i: usize| {
            f[i].parse::<u64>()
                .map_err(|_| bad(&format!("field {i} not an integer")))
        };
        let num = |i: usize| {
            f[i].parse::<f64>()
                .map_err(|_| bad(&format!("field {i} not a number")))
        };
        Ok(Row {
            label: f[0].clone(),
            mode: f[1].clone(),
            protocol: f[2].clone(),
            connections: int(3)?,
            pipeline: int(4)?,
            multiget: int(5)?,
            get_ratio: num(6)?,
            value_size: int(7)?,
            rate: num(8)?,
            throughput: num(9)?,
            p50_us: num(10)?,
            p99_us: num(11)?,
            p999_us: num(12)?,
            max_us: num(13)?,
            requests: int(14)?,
            errors: int(15)?,
        })
    }
}

/// Parses a whole file's text: the header (if present) and blank lines are
/// skipped.
pub fn parse_all(text: &str) -> Result<Vec<Row>, ParseError> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && *l != HEADER)
        .map(Row::parse)
        .collect()
}

/// Appends `rows` to `path`, writing the header first if the file is new or
/// empty.
pub fn append(path: &Path, rows: &[Row]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let mut text = String::new();
    if f.metadata()?.len() == 0 {
        text.push_str(HEADER);
        text.push('\n');
    }
    for r in rows {
        text.push_str(&r.to_line());
        text.push('\n');
    }
    f.write_all(text.as_bytes())
}

fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Splits one CSV line into fields; `None` on an unterminated quote.
fn split(line: &str) -> Option<Vec<String>> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        let cur = fields.last_mut()?;
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if cur.is_empty() => quoted = true,
            (false, ',') => fields.push(String::new()),
            _ => cur.push(c),
        }
    }
    (!quoted).then_some(fields)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A row for tests.
    pub(crate) fn row(label: &str, connections: u64, throughput: f64) -> Row {
        Row {
            label: label.into(),
            mode: "closed".into(),
            protocol: "ascii".into(),
            connections,
            pipeline: 1,
            multiget: 1,
            get_ratio: 0.9,
            value_size: 32,
            rate: 0.0,
            throughput,
            p50_us: 50.0,
            p99_us: 120.5,
            p999_us: 300.0,
            max_us: 2000.0,
            requests: 1000,
            errors: 0,
        }
    }

    #[test]
    fn line_has_header_columns_and_round_trips() {
        let r = row("moxi", 32, 12345.678);
        let line = r.to_line();
        assert_eq!(
            line,
            "moxi,closed,ascii,32,1,1,0.9,32,0,12345.7,50.0,120.5,300.0,2000.0,1000,0"
        );
        assert_eq!(line.split(',').count(), HEADER.split(',').count());
        let back = Row::parse(&line).unwrap();
        assert_eq!(back.label, "moxi");
        assert_eq!(back.throughput, 12345.7);
        assert_eq!(back.case(), "closed ascii c=32");
    }

    #[test]
    fn labels_with_commas_and_quotes_are_quoted() {
        let r = row("a,\"b\"", 1, 1.0);
        let line = r.to_line();
        assert!(line.starts_with("\"a,\"\"b\"\"\",closed"), "{line}");
        assert_eq!(Row::parse(&line).unwrap().label, "a,\"b\"");
        assert!(Row::parse("\"open,closed").is_err());
        assert!(Row::parse("a,b").is_err());
    }

    #[test]
    fn file_gets_one_header() {
        let dir = std::env::temp_dir().join(format!("loadgen-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.csv");
        let _ = std::fs::remove_file(&path);
        append(&path, &[row("a", 1, 1.0)]).unwrap();
        append(&path, &[row("b", 1, 2.0), row("c", 1, 3.0)]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().filter(|l| *l == HEADER).count(), 1);
        let rows = parse_all(&text).unwrap();
        assert_eq!(
            rows.iter().map(|r| r.label.as_str()).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn case_names_the_scenario() {
        let mut r = row("x", 32, 1.0);
        r.multiget = 100;
        r.pipeline = 4;
        assert_eq!(r.case(), "closed ascii c=32 p=4 mget=100");
        r.mode = "open".into();
        r.rate = 5000.0;
        assert!(r.case().ends_with("rate=5000"));
    }
}
