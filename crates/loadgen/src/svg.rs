//! A hand-written SVG plot of result rows: one throughput panel (grouped
//! bars: one group per case, one bar per system) and one latency panel per
//! case (p50, p99, p99.9, max on a log scale, one line per system). Rows
//! repeated for a system and case (rounds) are shown by their median, and
//! the panel's title says so (a single run's does not).

use std::fmt::Write as _;

use crate::csv::Row;

const WIDTH: f64 = 900.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 20.0;
const PANEL: f64 = 220.0;
const GAP: f64 = 70.0;
const COLORS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];
const PERCENTILES: [&str; 4] = ["p50", "p99", "p99.9", "max"];

/// The SVG document for `rows`.
pub fn render(rows: &[Row]) -> String {
    let systems = distinct(rows.iter().map(|r| r.label.clone()));
    let cases = distinct(rows.iter().map(Row::case));
    let height = 70.0 + (PANEL + GAP) * (1 + cases.len()) as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    legend(&mut s, &systems);
    let mut top = 70.0;
    throughput_panel(&mut s, rows, &systems, &cases, top);
    for case in &cases {
        top += PANEL + GAP;
        latency_panel(&mut s, rows, &systems, case, top);
    }
    s.push_str("</svg>\n");
    s
}

fn legend(s: &mut String, systems: &[String]) {
    let mut x = LEFT;
    for (i, name) in systems.iter().enumerate() {
        let _ = writeln!(
            s,
            r#"<g class="legend" data-system="{n}"><rect x="{x}" y="20" width="12" height="12" fill="{c}"/><text x="{tx}" y="31">{n}</text></g>"#,
            n = escape(name),
            c = color(i),
            tx = x + 16.0
        );
        x += 36.0 + 8.0 * name.chars().count() as f64;
    }
}

fn throughput_panel(s: &mut String, rows: &[Row], systems: &[String], cases: &[String], top: f64) {
    let value = |sys: &str, case: &str| median(rows, sys, case, |r| r.throughput);
    let max = cases
        .iter()
        .flat_map(|c| systems.iter().filter_map(move |sys| value(sys, c)))
        .fold(0.0, f64::max);
    let ymax = nice_ceiling(max);
    let rounds = rounds_note(rows, |_| true);
    title(s, &format!("throughput (requests/s{rounds})"), top);
    linear_axis(s, top, ymax);
    let plot_w = WIDTH - LEFT - RIGHT;
    let group_w = plot_w / cases.len().max(1) as f64;
    let bar_w = (group_w * 0.8) / systems.len().max(1) as f64;
    for (ci, case) in cases.iter().enumerate() {
        let gx = LEFT + group_w * ci as f64 + group_w * 0.1;
        for (si, sys) in systems.iter().enumerate() {
            let Some(v) = value(sys, case) else { continue };
            let h = if ymax > 0.0 { PANEL * v / ymax } else { 0.0 };
            let _ = writeln!(
                s,
                r#"<rect class="bar" data-system="{n}" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{c}"><title>{n} {case_e}: {v:.0}/s</title></rect>"#,
                n = escape(sys),
                x = gx + bar_w * si as f64,
                y = top + PANEL - h,
                w = bar_w * 0.9,
                c = color(si),
                case_e = escape(case),
            );
            let _ = writeln!(
                s,
                r#"<text x="{x:.1}" y="{y:.1}" text-anchor="middle" font-size="10">{t}</text>"#,
                x = gx + bar_w * si as f64 + bar_w * 0.45,
                y = top + PANEL - h - 3.0,
                t = compact(v)
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{y}" text-anchor="middle">{t}</text>"#,
            x = gx + group_w * 0.4,
            y = top + PANEL + 16.0,
            t = escape(case)
        );
    }
}

/// Per system (by index) that has rows in `case`: its four percentiles.
fn percentiles(rows: &[Row], systems: &[String], case: &str) -> Vec<(usize, Vec<f64>)> {
    type Metric = fn(&Row) -> f64;
    let metrics: [Metric; 4] = [|r| r.p50_us, |r| r.p99_us, |r| r.p999_us, |r| r.max_us];
    systems
        .iter()
        .enumerate()
        .filter_map(|(i, sys)| {
            let v: Option<Vec<f64>> = metrics
                .iter()
                .map(|m| median(rows, sys, case, *m))
                .collect();
            v.map(|v| (i, v))
        })
        .collect()
}

fn latency_panel(s: &mut String, rows: &[Row], systems: &[String], case: &str, top: f64) {
    let series = percentiles(rows, systems, case);
    let (lo, hi) = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let lo_exp = lo.max(0.1).log10().floor() as i32;
    let hi_exp = (hi.max(1.0).log10().ceil() as i32).max(lo_exp + 1);
    let rounds = rounds_note(rows, |r| r.case() == case);
    title(
        s,
        &format!("latency, µs (log scale{rounds}): {}", escape(case)),
        top,
    );
    let y_of = |v: f64| {
        let f = (v.max(0.1).log10() - f64::from(lo_exp)) / f64::from(hi_exp - lo_exp);
        top + PANEL - PANEL * f
    };
    for e in lo_exp..=hi_exp {
        let y = y_of(10f64.powi(e));
        grid_line(s, y, &format_tick(10f64.powi(e)));
    }
    let plot_w = WIDTH - LEFT - RIGHT;
    let x_of = |i: usize| LEFT + plot_w * (i as f64 + 0.5) / PERCENTILES.len() as f64;
    for (i, p) in PERCENTILES.iter().enumerate() {
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{y}" text-anchor="middle">{p}</text>"#,
            x = x_of(i),
            y = top + PANEL + 16.0
        );
    }
    for (si, values) in &series {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x_of(i), y_of(*v)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline class="series" data-system="{n}" fill="none" stroke="{c}" stroke-width="2" points="{p}"/>"#,
            n = escape(&systems[*si]),
            c = color(*si),
            p = points.join(" ")
        );
        for (i, v) in values.iter().enumerate() {
            let _ = writeln!(
                s,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{c}"><title>{n} {p}: {v:.1} µs</title></circle>"#,
                x = x_of(i),
                y = y_of(*v),
                c = color(*si),
                n = escape(&systems[*si]),
                p = PERCENTILES[i]
            );
        }
    }
}

fn title(s: &mut String, text: &str, top: f64) {
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="{y}" font-weight="bold">{text}</text>"#,
        y = top - 10.0
    );
}

fn linear_axis(s: &mut String, top: f64, ymax: f64) {
    for i in 0..=4 {
        let v = ymax * f64::from(i) / 4.0;
        grid_line(s, top + PANEL - PANEL * f64::from(i) / 4.0, &format_tick(v));
    }
}

fn grid_line(s: &mut String, y: f64, label: &str) {
    let _ = writeln!(
        s,
        r##"<line x1="{LEFT}" x2="{x2}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{tx}" y="{ty:.1}" text-anchor="end">{label}</text>"##,
        x2 = WIDTH - RIGHT,
        tx = LEFT - 6.0,
        ty = y + 4.0
    );
}

/// What a panel over the rows `shown` plots: each single run as itself,
/// repeated runs of a system and case (rounds) by their median. Empty when
/// every system and case ran once.
fn rounds_note(rows: &[Row], shown: impl Fn(&Row) -> bool) -> String {
    let mut runs: Vec<((&str, String), usize)> = Vec::new();
    for r in rows.iter().filter(|r| shown(r)) {
        let key = (r.label.as_str(), r.case());
        match runs.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => runs.push((key, 1)),
        }
    }
    let min = runs.iter().map(|(_, n)| *n).min().unwrap_or(1);
    let max = runs.iter().map(|(_, n)| *n).max().unwrap_or(1);
    match (min, max) {
        (_, 1) => String::new(),
        (a, b) if a == b => format!(", median of {b} rounds"),
        (1, b) => format!(", median of up to {b} rounds"),
        (a, b) => format!(", median of {a}-{b} rounds"),
    }
}

/// The median of `metric` over rows of `system` and `case`.
fn median(rows: &[Row], system: &str, case: &str, metric: fn(&Row) -> f64) -> Option<f64> {
    let mut v: Vec<f64> = rows
        .iter()
        .filter(|r| r.label == system && r.case() == case)
        .map(metric)
        .collect();
    crate::compare::table::median(&mut v)
}

/// Values in first-seen order, without repeats.
fn distinct(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// 1, 2 or 5 times a power of ten, at least `v`.
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * p)
}

fn format_tick(v: f64) -> String {
    match v {
        v if v >= 1e6 => format!("{}M", v / 1e6),
        v if v >= 1e3 => format!("{}k", v / 1e3),
        v => format!("{v}"),
    }
}

/// A bar's value: `141.2k`, `1.25M`, `45`.
fn compact(v: f64) -> String {
    match v {
        v if v >= 1e6 => format!("{:.2}M", v / 1e6),
        v if v >= 1e3 => format!("{:.1}k", v / 1e3),
        v => format!("{v:.0}"),
    }
}

fn color(i: usize) -> &'static str {
    COLORS[i % COLORS.len()]
}

/// XML text escaping.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv::tests::row;

    fn count(s: &str, needle: &str) -> usize {
        s.matches(needle).count()
    }

    #[test]
    fn one_series_per_system_and_case() {
        let mut rows = Vec::new();
        for round in 0..3 {
            for (sys, t) in [
                ("memcached", 100_000.0),
                ("twemproxy", 60_000.0),
                ("moxi", 70_000.0),
            ] {
                for c in [1, 32] {
                    rows.push(row(sys, c, t + f64::from(round)));
                }
            }
        }
        let svg = render(&rows);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(count(&svg, "<svg"), 1);
        for sys in ["memcached", "twemproxy", "moxi"] {
            let tag = format!("data-system=\"{sys}\"");
            assert_eq!(count(&svg, &format!("<g class=\"legend\" {tag}")), 1);
            assert_eq!(count(&svg, &format!("<polyline class=\"series\" {tag}")), 2);
            assert_eq!(count(&svg, &format!("<rect class=\"bar\" {tag}")), 2);
        }
        assert_eq!(count(&svg, "<g "), count(&svg, "</g>"));
        assert_eq!(count(&svg, "<text"), count(&svg, "</text>"));
        assert!(
            svg.contains("memcached closed ascii c=32: 100001/s"),
            "median of rounds"
        );
        assert!(svg.contains(">throughput (requests/s, median of 3 rounds)<"));
        assert!(svg.contains(">latency, µs (log scale, median of 3 rounds): closed ascii c=1<"));
    }

    #[test]
    fn titles_say_median_only_over_repeated_runs() {
        let single = render(&[row("moxi", 32, 5.0), row("memcached", 32, 6.0)]);
        assert!(single.contains(">throughput (requests/s)<"), "{single}");
        assert!(single.contains(">latency, µs (log scale): closed ascii c=32<"));
        assert!(!single.contains("median"));
        let mixed = render(&[
            row("moxi", 1, 5.0),
            row("moxi", 1, 6.0),
            row("moxi", 32, 7.0),
        ]);
        assert!(mixed.contains(">throughput (requests/s, median of up to 2 rounds)<"));
        assert!(mixed.contains(">latency, µs (log scale, median of 2 rounds): closed ascii c=1<"));
        assert!(mixed.contains(">latency, µs (log scale): closed ascii c=32<"));
    }

    #[test]
    fn labels_are_escaped_and_empty_input_is_still_svg() {
        let svg = render(&[row("a<b&c", 1, 5.0)]);
        assert!(svg.contains("data-system=\"a&lt;b&amp;c\""));
        assert!(!svg.contains("a<b"));
        let empty = render(&[]);
        assert!(empty.starts_with("<svg") && empty.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn axis_helpers() {
        assert_eq!(nice_ceiling(73_000.0), 100_000.0);
        assert_eq!(nice_ceiling(1_500.0), 2_000.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(format_tick(2_500_000.0), "2.5M");
        assert_eq!(format_tick(50_000.0), "50k");
        assert_eq!(compact(141_234.0), "141.2k");
        assert_eq!(compact(1_250_000.0), "1.25M");
        assert_eq!(compact(45.4), "45");
    }
}
