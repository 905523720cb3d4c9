//! The timeline chart, drawn by plotters to SVG (its SVG backend only: no
//! font files, no raster): one row per zone or indicator, alerts binned
//! over packet time and coloured by their commonest kind, over a band from
//! the row's first to its last sighting, the hijack window. plotters lays
//! out the time axis and its labels and escapes every text it writes; the
//! row labels are drawn as text beside the plot.

use std::collections::BTreeMap;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::aggregate::Span;
use super::timeline::{Histogram, KINDS, KindCounts};

/// Rows drawn; the rest are counted under the chart.
pub const ROWS: usize = 16;
/// Columns the period is drawn in.
const DRAWN_BINS: i64 = 200;
const WIDTH: u32 = 1000;
const ROW_HEIGHT: u32 = 26;
/// Characters of a row label shown.
const LABEL_CHARS: usize = 40;

/// The colour of each kind, in [`KindCounts`] order (dnsentry's kinds,
/// then any other), the same in the chart and its legend.
const PALETTE: [(u8, u8, u8); KINDS] = [
    (0xb0, 0x00, 0x20), // ioc_address
    (0xe6, 0x4a, 0x19), // ioc_domain
    (0x15, 0x65, 0xc0), // unexpected_address
    (0x6a, 0x1b, 0x9a), // unexpected_ns
    (0x8e, 0x24, 0xaa), // unexpected_ns_address
    (0x00, 0x83, 0x8f), // unexpected_mx
    (0x2e, 0x7d, 0x32), // unexpected_cname
    (0x9e, 0x9d, 0x24), // low_ttl
    (0x4e, 0x34, 0x2e), // unexpected_resolver
    (0x37, 0x47, 0x4f), // dnssec_missing
    (0xad, 0x14, 0x57), // conflicting_response
    (0xf5, 0x7f, 0x17), // dnssec_invalid
    (0x00, 0x69, 0x5c), // inconsistent_servers
    (0x75, 0x75, 0x75), // other
];
const BAND: RGBColor = RGBColor(0xfd, 0xe0, 0xe0);
const RULE: RGBColor = RGBColor(0xe4, 0xe4, 0xe4);

/// The colour of the kind at `index`; "other" past the known kinds.
fn colour(index: usize) -> (u8, u8, u8) {
    PALETTE.get(index).copied().unwrap_or(PALETTE[KINDS - 1])
}

/// The CSS colour of the kind at `index`.
pub fn kind_css(index: usize) -> String {
    let (r, g, b) = colour(index);
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// One row of the chart.
pub struct Row<'a> {
    pub label: String,
    pub span: &'a Span,
    pub timeline: &'a Histogram,
}

fn seconds(micros: i64) -> f64 {
    micros as f64 / 1e6
}

/// Time labels as fine as the period needs.
fn time_label(period_seconds: f64) -> impl Fn(&f64) -> String {
    let format = if period_seconds <= 120.0 {
        "%H:%M:%S%.3f"
    } else if period_seconds <= 7_200.0 {
        "%H:%M:%S"
    } else if period_seconds <= 86_400.0 {
        "%H:%M"
    } else if period_seconds <= 14.0 * 86_400.0 {
        "%m-%d %H:%M"
    } else {
        "%Y-%m-%d"
    };
    move |s: &f64| {
        jiff::Timestamp::from_microsecond((s * 1e6) as i64)
            .map(|t| t.strftime(format).to_string())
            .unwrap_or_default()
    }
}

fn shorten(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_string();
    }
    let mut s: String = label.chars().take(LABEL_CHARS - 1).collect();
    s.push('…');
    s
}

/// The chart of `rows` over `period`, as one `<svg>` element.
pub fn timeline_svg(rows: &[Row<'_>], period: &Span) -> Result<String, String> {
    let fail = |e: &dyn std::fmt::Display| format!("the timeline could not be drawn: {e}");
    let (start, end) = (period.first_micros, period.last_micros);
    // A margin either side, so alerts at the period's ends are not on the
    // axes, and a period of one instant still has a width.
    let pad = ((end - start) / 50).max(500_000);
    let (x0, x1) = (seconds(start - pad), seconds(end + pad));
    let labels: Vec<String> = rows.iter().map(|r| shorten(&r.label)).collect();
    let label_width = labels
        .iter()
        .map(|l| l.chars().count() as u32 * 8 + 16)
        .max()
        .unwrap_or(0)
        .clamp(120, 320);
    let n = rows.len() as f64;
    let height = ROW_HEIGHT * rows.len() as u32 + 60;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .margin_top(8)
            .margin_right(40)
            .x_label_area_size(44)
            .y_label_area_size(label_width)
            .build_cartesian_2d(x0..x1, 0f64..n)
            .map_err(|e| fail(&e))?;
        let formatter = time_label(x1 - x0);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(7)
            .x_label_formatter(&formatter)
            .x_desc("packet time (UTC)")
            .label_style(("sans-serif", 13))
            .light_line_style(WHITE)
            .bold_line_style(RULE)
            .draw()
            .map_err(|e| fail(&e))?;

        // Row i is drawn from the top: between n-i-1 and n-i.
        let bottom = |i: usize| n - i as f64 - 1.0;
        chart
            .draw_series((1..rows.len()).map(|i| {
                let y = bottom(i) + 1.0;
                PathElement::new(vec![(x0, y), (x1, y)], RULE)
            }))
            .map_err(|e| fail(&e))?;
        // A window of one instant still shows, as a sliver.
        let min_width = (x1 - x0) / 400.0;
        chart
            .draw_series(rows.iter().enumerate().map(|(i, r)| {
                let (a, b) = (seconds(r.span.first_micros), seconds(r.span.last_micros));
                let grow = ((min_width - (b - a)) / 2.0).max(0.0);
                Rectangle::new(
                    [(a - grow, bottom(i) + 0.12), (b + grow, bottom(i) + 0.88)],
                    BAND.filled(),
                )
            }))
            .map_err(|e| fail(&e))?;
        let width = (end + 2 * pad - start) as f64 / DRAWN_BINS as f64;
        for (i, r) in rows.iter().enumerate() {
            let mut drawn: BTreeMap<i64, KindCounts> = BTreeMap::new();
            for (middle, counts) in r.timeline.bins() {
                let column =
                    (((middle - (start - pad)) as f64 / width) as i64).clamp(0, DRAWN_BINS - 1);
                let cell = drawn.entry(column).or_insert([0; KINDS]);
                for (c, n) in cell.iter_mut().zip(counts) {
                    *c = c.saturating_add(*n);
                }
            }
            chart
                .draw_series(drawn.iter().map(|(column, counts)| {
                    let dominant = counts
                        .iter()
                        .enumerate()
                        .max_by_key(|&(_, n)| *n)
                        .map_or(KINDS - 1, |(k, _)| k);
                    let (red, green, blue) = colour(dominant);
                    let left = x0 + (*column as f64 * width) / 1e6;
                    let right = left + (width / 1e6).max(min_width);
                    Rectangle::new(
                        [(left, bottom(i) + 0.25), (right, bottom(i) + 0.75)],
                        RGBColor(red, green, blue).filled(),
                    )
                }))
                .map_err(|e| fail(&e))?;
        }
        let style = TextStyle::from(("sans-serif", 14).into_font())
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        for (i, label) in labels.iter().enumerate() {
            let (_, y) = chart.backend_coord(&(x0, bottom(i) + 0.5));
            root.draw(&Text::new(label.as_str(), (6, y), style.clone()))
                .map_err(|e| fail(&e))?;
        }
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(first: i64, last: i64) -> Span {
        Span {
            first: String::new(),
            first_micros: first,
            last: String::new(),
            last_micros: last,
        }
    }

    #[test]
    fn rows_are_labelled_escaped_and_coloured_by_kind() {
        let mut h = Histogram::default();
        h.add(1_000_000, 0);
        h.add(9_000_000, 2);
        let s = span(1_000_000, 9_000_000);
        let rows = [
            Row {
                label: "zone <b>\"x\"</b>.example".into(),
                span: &s,
                timeline: &h,
            },
            Row {
                label: "indicator ".to_string() + &"y".repeat(100),
                span: &s,
                timeline: &h,
            },
        ];
        let svg = timeline_svg(&rows, &s).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.contains("zone &lt;b&gt;&quot;x&quot;&lt;/b&gt;.example"));
        assert!(!svg.contains("<b>"));
        assert!(svg.contains(&"y".repeat(LABEL_CHARS - 11)) && svg.contains('…'));
        let fill = |i: usize| kind_css(i).to_uppercase().replace("#", "fill=\"#");
        assert_eq!(
            svg.matches(&fill(0)).count(),
            2,
            "one ioc_address cell a row"
        );
        assert_eq!(svg.matches(&fill(2)).count(), 2);
        assert!(svg.contains("packet time (UTC)"));
    }
}
