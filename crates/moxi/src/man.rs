//! The man page (`moxi --man`, installed as `moxi.1` by the Debian package),
//! generated from the `-h` text of [`crate::usage`] so that the two cannot
//! drift apart: each of its sections becomes a subsection of OPTIONS, each
//! flag line a tagged paragraph, every word kept.

/// The man page in roff (`man 7 man`).
pub fn man_page() -> String {
    let usage = crate::usage::usage();
    let mut lines = usage.lines();
    let title = lines.next().unwrap_or_default();
    let summary = title.split_once(" - ").map_or(title, |(_, s)| s);
    let version = env!("CARGO_PKG_VERSION");
    let mut out = format!(
        ".TH MOXI 1 \"\" \"moxi {version}\" \"User Commands\"\n\
         .SH NAME\nmoxi \\- {}\n\
         .SH SYNOPSIS\n.B moxi\n[\\fIOPTION\\fR]...\n\
         .SH DESCRIPTION\n\
         moxi listens for memcached clients, speaks the ascii and binary protocols and routes\n\
         each key to one of your memcached servers (\\fB\\-z\\fR); it also embeds a\n\
         memcached\\-compatible cache (\\fB\\-p\\fR).\n\
         .SH OPTIONS\n\
         .\\\" Long URLs in the text: ragged right rather than stretched lines.\n\
         .ad l\n",
        escape(summary)
    );
    for line in lines {
        out.push_str(&render_line(line));
    }
    out.push_str(
        ".SH FILES\n\
         .TP\n.I /etc/default/moxi\n\
         the options the systemd unit \\fBmoxi.service\\fR starts moxi with\n\
         .SH SEE ALSO\n\
         .BR memcached (1),\n\
         /usr/share/doc/moxi/README.md\n",
    );
    out
}

/// One line of the usage text as roff.
fn render_line(line: &str) -> String {
    if line.trim().is_empty() {
        return String::new();
    }
    if !line.starts_with([' ', '-']) && line.ends_with(':') {
        return format!(".SS {}\n", escape(line));
    }
    if line.starts_with(' ') {
        // The continuation of the flag above.
        return format!("{}\n", escape(line.trim()));
    }
    match split_flag(line) {
        Some((flag, text)) => format!(".TP\n.B {}\n{}\n", escape(flag), escape(text)),
        None => format!(".PP\n{}\n", escape(line.trim())),
    }
}

/// A flag line's term and its description: split at the first run of two
/// spaces, or (when the term fills its column) after the words that look
/// like flags (`-x,`, `--name=<arg>`, `<arg>`).
fn split_flag(line: &str) -> Option<(&str, &str)> {
    if !line.starts_with('-') {
        return None;
    }
    if let Some(at) = line.find("  ") {
        return Some((line[..at].trim(), line[at..].trim()));
    }
    let mut end = 0;
    for word in line.split(' ') {
        let flag_like = word.starts_with(['-', '<']) || word.contains("=<");
        if !flag_like {
            break;
        }
        end += word.len() + 1;
    }
    let (flag, text) = (line[..end].trim(), line[end.min(line.len())..].trim());
    // A list of flags with values ("-U 0, -a, ..."): no description.
    if flag.is_empty() || text.is_empty() || text.split(' ').next()?.ends_with(',') {
        return None;
    }
    Some((flag, text))
}

/// Escapes text for roff: backslashes, hyphens (so that flags copy as
/// ASCII minus signs) and a leading dot or quote (a request otherwise).
fn escape(text: &str) -> String {
    let s = text.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with(['.', '\'']) {
        format!("\\&{s}")
    } else {
        s
    }
}

/// The man page's text without roff: requests dropped, escapes undone,
/// `.B`'s and `.SS`'s arguments kept. For the test that the man page says
/// what `-h` says.
pub fn plain_text(roff: &str) -> String {
    let mut out = String::new();
    for line in roff.lines() {
        let text = if let Some(rest) = line.strip_prefix(".B ") {
            rest
        } else if let Some(rest) = line.strip_prefix(".SS ") {
            rest
        } else if line.starts_with('.') {
            continue;
        } else {
            line
        };
        out.push_str(
            &text
                .replace("\\-", "-")
                .replace("\\e", "\\")
                .replace("\\&", ""),
        );
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<&str> {
        text.split_whitespace().collect()
    }

    #[test]
    fn the_man_page_says_every_word_of_the_usage_text_in_order() {
        let man = man_page();
        let options = man
            .split_once(".SH OPTIONS\n")
            .and_then(|(_, rest)| rest.split_once(".SH FILES\n"))
            .map(|(options, _)| plain_text(options))
            .unwrap_or_default();
        let usage = crate::usage::usage();
        let body = usage.split_once('\n').map_or("", |(_, b)| b);
        assert_eq!(words(&options), words(body));
        assert!(man.starts_with(".TH MOXI 1 "));
    }

    #[test]
    fn every_flag_line_becomes_a_tagged_paragraph() {
        let man = man_page();
        let usage = crate::usage::usage();
        let flags = usage.lines().filter(|l| l.starts_with('-')).count();
        let tagged = man.matches(".TP\n.B \\-").count();
        let plain = usage
            .lines()
            .filter(|l| l.starts_with('-') && split_flag(l).is_none())
            .count();
        assert_eq!(tagged + plain, flags);
        assert!(tagged >= 20, "{man}");
    }

    #[test]
    fn roff_requests_and_backslashes_are_escaped() {
        assert_eq!(escape(".x 'y' \\n-"), "\\&.x 'y' \\en\\-");
        assert_eq!(plain_text(&escape(".x \\n-")), ".x \\n-\n");
        assert_eq!(
            split_flag("-b, --listen-backlog=<num> listen backlog"),
            Some(("-b, --listen-backlog=<num>", "listen backlog"))
        );
        assert_eq!(split_flag("-U 0, -a, -k"), None);
    }
}
