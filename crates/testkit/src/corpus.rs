//! The conversation corpus: loading `conversations/{ascii,binary}/*.txt`,
//! their directives, and checking a transcript against what a file expects.
//!
//! File formats are described in `conversations/README.md`; the line parsers
//! live in `script`.

use crate::compare::render;
use crate::normalize::normalize;
use crate::script::{self, Step};
use std::path::{Path, PathBuf};

/// One scripted conversation, run on a fresh connection.
#[derive(Clone, Debug)]
pub struct Conversation {
    /// `ascii/<file stem>` or `binary/<file stem>`.
    pub name: String,
    /// The file it came from.
    pub path: PathBuf,
    /// True for the binary protocol (files under `binary/`).
    pub binary: bool,
    /// What to send; run it with [`crate::run_conversation`], which handles
    /// `{cas}` steps. [`Conversation::static_input`] gives plain bytes when
    /// there are none.
    pub steps: Vec<Step>,
    /// `# expect: X` directives: the normalized transcript must contain X
    /// (ascii: X with escapes decoded, matched against the bytes; binary: X
    /// matched against the rendered frame lines, see [`crate::describe_frame`]).
    pub expect: Vec<Vec<u8>>,
    /// `# forbid: X` directives: like `expect`, but must not occur.
    pub forbid: Vec<Vec<u8>>,
    /// `# optional[: reason]`: behaviour a compatible server may skip.
    pub optional: Option<String>,
    /// `# expect-errors`: error replies are intended. Without it an ascii
    /// transcript must not contain `ERROR`, and a binary one no
    /// `unknown_command` or `invalid_arguments` status.
    pub errors_expected: bool,
}

impl Conversation {
    /// All bytes to send, if no step needs a captured CAS.
    pub fn static_input(&self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for step in &self.steps {
            match step {
                Step::Send(bytes) => out.extend_from_slice(bytes),
                Step::SendWithCas(_) => return None,
            }
        }
        Some(out)
    }

    /// True when some step needs a CAS captured from an earlier reply.
    pub fn is_interactive(&self) -> bool {
        self.steps.iter().any(|s| matches!(s, Step::SendWithCas(_)))
    }

    /// Checks a raw transcript against the file's directives: non-empty,
    /// every `expect` present, no `forbid` (and, unless `errors_expected`,
    /// no error reply). Returns a description of the first violation.
    pub fn check(&self, transcript: &[u8]) -> Result<(), String> {
        if transcript.is_empty() {
            return Err(format!("{}: empty transcript", self.name));
        }
        let haystack = if self.binary {
            render(&normalize(transcript, true), true).into_bytes()
        } else {
            normalize(transcript, false)
        };
        let mut forbid = self.forbid.clone();
        if !self.errors_expected {
            if self.binary {
                forbid.push(b"status=unknown_command".to_vec());
                forbid.push(b"status=invalid_arguments".to_vec());
            } else {
                forbid.push(b"ERROR".to_vec());
            }
        }
        let shown = || render(transcript, self.binary);
        for want in &self.expect {
            if !contains(&haystack, want) {
                return Err(format!(
                    "{}: expected {:?} in transcript:\n{}",
                    self.name,
                    String::from_utf8_lossy(want),
                    shown()
                ));
            }
        }
        for bad in &forbid {
            if contains(&haystack, bad) {
                return Err(format!(
                    "{}: unexpected {:?} in transcript (add `# expect-errors` if intended):\n{}",
                    self.name,
                    String::from_utf8_lossy(bad),
                    shown()
                ));
            }
        }
        Ok(())
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// The corpus shipped with this crate (`crates/testkit/conversations`).
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conversations")
}

/// Loads `dir/ascii/*.txt` and `dir/binary/*.txt`, sorted by name.
///
/// Panics with file and line on a malformed file: the corpus is test
/// input, and a broken one must fail loudly.
pub fn load_conversations(dir: impl AsRef<Path>) -> Vec<Conversation> {
    try_load_conversations(dir.as_ref()).unwrap_or_else(|e| panic!("{e}"))
}

/// Like [`load_conversations`], returning the first error instead.
pub fn try_load_conversations(dir: &Path) -> Result<Vec<Conversation>, String> {
    let mut all = Vec::new();
    for (sub, binary) in [("ascii", false), ("binary", true)] {
        let sub_dir = dir.join(sub);
        let entries = std::fs::read_dir(&sub_dir)
            .map_err(|e| format!("cannot read {}: {e}", sub_dir.display()))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let stem = path.file_stem().unwrap_or_default().to_string_lossy();
            let name = format!("{sub}/{stem}");
            let conv = parse_conversation(&name, &text, binary)
                .map_err(|e| format!("{}:{e}", path.display()))?;
            all.push(Conversation { path, ..conv });
        }
    }
    Ok(all)
}

/// Parses one conversation file. Errors are `line: message`.
pub fn parse_conversation(name: &str, text: &str, binary: bool) -> Result<Conversation, String> {
    let mut conv = Conversation {
        name: name.to_owned(),
        path: PathBuf::new(),
        binary,
        steps: Vec::new(),
        expect: Vec::new(),
        forbid: Vec::new(),
        optional: None,
        errors_expected: false,
    };
    for (index, line) in text.lines().enumerate() {
        let at = |e: String| format!("{}: {e}", index + 1);
        if line.contains('\r') {
            return Err(at("raw carriage return in file; write \\r".into()));
        }
        // Blank lines are sent in ascii (an empty value's data line, or the
        // empty command line); in binary scripts they only separate.
        if line.is_empty() && binary {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            directive(&mut conv, comment.trim()).map_err(at)?;
            continue;
        }
        let step = if binary {
            script::parse_binary_line(line)
        } else {
            script::parse_ascii_line(line)
        }
        .map_err(at)?;
        push_step(&mut conv.steps, step);
    }
    validate(&conv)?;
    Ok(conv)
}

/// Handles `# ...` lines. A comment that starts like a directive but is not
/// one is an error, so a typo cannot silently disable a check.
fn directive(conv: &mut Conversation, comment: &str) -> Result<(), String> {
    let expect = comment
        .strip_prefix("expect:")
        .or_else(|| comment.strip_prefix("expect-substring:"));
    if let Some(x) = expect {
        conv.expect.push(directive_bytes(conv.binary, x)?);
    } else if let Some(x) = comment.strip_prefix("forbid:") {
        conv.forbid.push(directive_bytes(conv.binary, x)?);
    } else if comment == "optional" {
        conv.optional = Some(String::new());
    } else if let Some(reason) = comment.strip_prefix("optional:") {
        conv.optional = Some(reason.trim().to_owned());
    } else if comment == "expect-errors" {
        conv.errors_expected = true;
    } else if ["expect", "forbid", "optional"]
        .iter()
        .any(|d| comment.starts_with(d))
    {
        return Err(format!("unknown directive {comment:?}"));
    }
    Ok(())
}

fn directive_bytes(binary: bool, text: &str) -> Result<Vec<u8>, String> {
    let text = text.trim();
    if binary {
        Ok(text.as_bytes().to_vec())
    } else {
        script::unescape(text)
    }
}

fn push_step(steps: &mut Vec<Step>, step: Step) {
    if let (Some(Step::Send(prev)), Step::Send(next)) = (steps.last_mut(), &step) {
        prev.extend_from_slice(next);
        return;
    }
    steps.push(step);
}

/// The ascii runner syncs on `VERSION` replies, so a conversation that uses
/// `{cas}` must not send `version` itself.
fn validate(conv: &Conversation) -> Result<(), String> {
    if conv.steps.is_empty() {
        return Err("0: conversation sends nothing".into());
    }
    if !conv.binary && conv.is_interactive() {
        let sends_version = conv.steps.iter().any(|s| match s {
            Step::Send(b) => b.split(|&c| c == b'\n').any(|l| l.starts_with(b"version")),
            Step::SendWithCas(_) => false,
        });
        if sends_version {
            return Err("0: a conversation using {cas} must not send `version`".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_directives_and_merges_sends() {
        let text = "# a comment\n# optional: needs stats settings\n# expect: STORED\\r\\n\n\
                    flush_all\nset a 0 0 1\nx\nset e 0 0 0\n\n";
        let conv = parse_conversation("ascii/t", text, false).unwrap();
        assert_eq!(conv.optional.as_deref(), Some("needs stats settings"));
        assert_eq!(conv.expect, vec![b"STORED\r\n".to_vec()]);
        assert_eq!(
            conv.static_input().unwrap(),
            b"flush_all\r\nset a 0 0 1\r\nx\r\nset e 0 0 0\r\n\r\n"
        );
        assert!(conv.check(b"OK\r\nSTORED\r\n").is_ok());
        assert!(conv.check(b"OK\r\nEXISTS\r\n").is_err());
        assert!(conv.check(b"STORED\r\nERROR\r\n").is_err());
        assert!(conv.check(b"").is_err());
    }

    #[test]
    fn rejects_misspelt_directives() {
        let err = parse_conversation("ascii/t", "# expects: OK\nflush_all\n", false).unwrap_err();
        assert!(err.contains("unknown directive"), "{err}");
        let ok = parse_conversation("ascii/t", "# expect-substring: OK\nflush_all\n", false);
        assert_eq!(ok.unwrap().expect, vec![b"OK".to_vec()]);
    }

    #[test]
    fn reports_line_numbers() {
        let err = parse_conversation("binary/t", "req noop\nreq nope\n", true).unwrap_err();
        assert!(err.starts_with("2: "), "{err}");
    }

    #[test]
    fn cas_conversations_must_not_send_version() {
        let err =
            parse_conversation("ascii/t", "version\ncas a 0 0 1 {cas}\nx\n", false).unwrap_err();
        assert!(err.contains("version"), "{err}");
    }

    #[test]
    fn shipped_corpus_parses() {
        let convs = load_conversations(corpus_dir());
        assert!(convs.iter().any(|c| c.binary));
        assert!(convs.iter().any(|c| !c.binary));
    }
}
