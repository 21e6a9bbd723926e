//! Server-drawn SVG charts for the dashboards: bars, grouped or stacked bars, lines with a
//! band, a funnel and a leaderboard against target.
//!
//! Each function returns one self-contained `<svg>` string: no JavaScript, no external assets,
//! every text escaped, a `viewBox` and `width="100%"` so that CSS sizes it, `role="img"` with an
//! `aria-label` and a `<title>` for screen readers, and a `<title>` on each bar or point as its
//! tooltip. Colours are presentation attributes, so a chart looks right on its own and CSS can
//! still override them through the classes (`chart`, `axis`, `grid`, `tick`, `bar`, `band`,
//! `history`, `forecast`, `target`), the same classes the analytics page's charts use. Empty input
//! (or input with no finite value) draws a "No data yet" placeholder instead of failing.
//!
//! Value axes start at zero (bars and lines alike) and end on a round number from
//! [`nice_ticks`]; values are formatted by a caller-supplied function such as [`fmt_compact`] or
//! [`money`]. Negative values are drawn below (or left of) the zero line.

use std::fmt::Write;

/// Width of every chart's coordinate system.
const W: f64 = 860.0;
/// Height of the bar and line charts.
const H: f64 = 260.0;
/// Colours of successive series (the first is the UI's accent).
pub const PALETTE: [&str; 8] = ["#3856d6", "#e0712c", "#2f9e62", "#8e44ad", "#16a2b8", "#b8860b", "#d63384", "#6b7385"];
const NEGATIVE: &str = "#c0392b";
const MET: &str = "#2f9e62";
const AXIS: &str = "#c9cedb";
const GRID: &str = "#eef0f5";
const MUTED: &str = "#6b7385";
const INK: &str = "#343a40";

/// Escapes text for SVG/HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters, with an ellipsis when cut.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_string() } else { s.chars().take(max.saturating_sub(1)).collect::<String>() + "…" }
}

/// Round tick values covering `[min, max]`, about `n` of them: steps of 1, 2 or 5 × 10ᵏ, the
/// first tick at or below `min` and the last at or above `max`. A degenerate range is widened
/// (`[v, v]` to a range around `v`, `[0, 0]` to `[0, 1]`); non-finite bounds give `[0, 1]`.
pub fn nice_ticks(min: f64, max: f64, n: usize) -> Vec<f64> {
    let (mut lo, mut hi) = if min.is_finite() && max.is_finite() { (min.min(max), min.max(max)) } else { (0.0, 1.0) };
    if hi - lo <= f64::EPSILON * hi.abs().max(lo.abs()).max(1e-300) {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        if lo >= 0.0 && lo - pad < 0.0 {
            (lo, hi) = (0.0, hi + pad)
        } else {
            (lo, hi) = (lo - pad, hi + pad)
        }
        if lo == 0.0 && hi == 0.0 {
            hi = 1.0;
        }
    }
    let n = n.max(2);
    let raw = (hi - lo) / (n - 1) as f64;
    let exp = raw.log10().floor() as i32;
    let frac = raw / 10f64.powi(exp);
    // Round to the nearest of 1, 2, 5, 10 (Heckbert's "nice numbers"), so the count stays near `n`.
    let m: i64 = if frac < 1.5 {
        1
    } else if frac < 3.0 {
        2
    } else if frac < 7.0 {
        5
    } else {
        10
    };
    // A tick is k·m·10^exp; build it from integers so that 0.1 + 0.2 noise never shows up.
    let value = |k: i64| if exp >= 0 { (k * m) as f64 * 10f64.powi(exp) } else { (k * m) as f64 / 10f64.powi(-exp) };
    let step = value(1);
    let (mut first, mut last) = ((lo / step).floor() as i64, (hi / step).ceil() as i64);
    // Guard against floor() or ceil() landing one step inside the range through rounding.
    while value(first) > lo {
        first -= 1;
    }
    while value(last) < hi {
        last += 1;
    }
    (first..=last.max(first + 1)).map(value).collect()
}

/// Applies the sign with a real minus (U+2212) so negative labels read well.
fn signed(v: f64, body: String) -> String {
    if v < 0.0 && body.chars().any(|c| c.is_ascii_digit() && c != '0') { format!("\u{2212}{body}") } else { body }
}

/// Thousands-grouped digits of `|v|` with `decimals` decimals.
fn grouped(v: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = s.split_once('.').map_or((s.as_str(), None), |(a, b)| (a, Some(b)));
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// A number in full: `12,500`, `3.25`, `−40` (two decimals at most, trailing zeros dropped).
pub fn fmt_number(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let d = if v.fract() == 0.0 || v.abs() >= 100.0 { 0 } else { 2 };
    let mut s = grouped(v, d);
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    signed(v, s)
}

/// A number in short form: `950`, `12.5k`, `3.4M`, `1.2B`, `−7k`.
pub fn fmt_compact(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let a = v.abs();
    let (scaled, suffix) = if a >= 1e9 {
        (a / 1e9, "B")
    } else if a >= 1e6 {
        (a / 1e6, "M")
    } else if a >= 1e3 {
        (a / 1e3, "k")
    } else {
        return fmt_number(v);
    };
    let d = if scaled >= 100.0 { 0 } else { 1 };
    let mut s = format!("{scaled:.d$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    signed(v, format!("{s}{suffix}"))
}

/// A share as a whole percentage (`0.623` → `62%`; below 10%, one decimal: `4.5%`).
pub fn fmt_percent(share: f64) -> String {
    if !share.is_finite() {
        return "—".into();
    }
    let p = share * 100.0;
    if p.abs() < 10.0 && p.fract().abs() > 1e-9 { signed(p, format!("{:.1}%", p.abs())) } else { signed(p, format!("{:.0}%", p.abs())) }
}

/// A formatter for amounts in major units of `currency` (ISO 4217), compact:
/// `money("EUR")(12_500.0)` is `€12.5k`; codes without a common symbol are prefixed (`CHF 950`).
pub fn money(currency: &str) -> impl Fn(f64) -> String + use<> {
    let symbol = match currency {
        "USD" => "$".to_string(),
        "EUR" => "€".to_string(),
        "GBP" => "£".to_string(),
        "JPY" => "¥".to_string(),
        "INR" => "₹".to_string(),
        other => format!("{other} "),
    };
    move |v: f64| {
        if !v.is_finite() {
            return "—".into();
        }
        let body = fmt_compact(v.abs());
        signed(v, format!("{symbol}{body}"))
    }
}

/// The opening `<svg>` with its accessible name.
fn open(title: &str, w: f64, h: f64) -> String {
    let t = escape(title);
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="{t}" class="chart" font-family="system-ui, sans-serif" font-size="11"><title>{t}</title>"#
    )
}

/// The placeholder drawn when there is nothing to show.
pub fn no_data(title: &str) -> String {
    let h = 120.0;
    let mut svg = open(title, W, h);
    let _ = write!(
        svg,
        r#"<rect x="0.5" y="0.5" width="{}" height="{}" rx="6" fill="none" stroke="{AXIS}" stroke-dasharray="4 4"/>"#,
        W - 1.0,
        h - 1.0
    );
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle" class="tick" fill="{MUTED}">{}: no data yet</text>"#,
        W / 2.0,
        h / 2.0 + 4.0,
        escape(title)
    );
    svg.push_str("</svg>");
    svg
}

/// A vertical value scale: ticks and the mapping from value to y.
struct YScale {
    ticks: Vec<f64>,
    top: f64,
    bottom: f64,
}

impl YScale {
    /// A zero-based scale over `values`, between y = `top` and y = `bottom`.
    fn new(values: impl Iterator<Item = f64>, top: f64, bottom: f64) -> Self {
        let (lo, hi) = values.filter(|v| v.is_finite()).fold((0.0_f64, 0.0_f64), |(a, b), v| (a.min(v), b.max(v)));
        YScale { ticks: nice_ticks(lo, hi, 5), top, bottom }
    }

    fn min(&self) -> f64 {
        self.ticks[0]
    }

    fn max(&self) -> f64 {
        *self.ticks.last().unwrap_or(&1.0)
    }

    fn y(&self, v: f64) -> f64 {
        self.bottom - (self.bottom - self.top) * (v - self.min()) / (self.max() - self.min())
    }

    /// Grid lines with labels left of `left`, and the zero line as the axis.
    fn draw(&self, svg: &mut String, left: f64, right: f64, fmt: &dyn Fn(f64) -> String) {
        for &t in &self.ticks {
            let y = self.y(t);
            let _ = write!(svg, r#"<line x1="{left}" y1="{y:.1}" x2="{right}" y2="{y:.1}" class="grid" stroke="{GRID}"/>"#);
            let _ = write!(
                svg,
                r#"<text x="{}" y="{:.1}" text-anchor="end" class="tick" fill="{MUTED}">{}</text>"#,
                left - 6.0,
                y + 4.0,
                escape(&fmt(t))
            );
        }
        let y0 = self.y(0.0);
        let _ = write!(svg, r#"<line x1="{left}" y1="{y0:.1}" x2="{right}" y2="{y0:.1}" class="axis" stroke="{AXIS}"/>"#);
    }
}

/// Category labels under the plot, thinned to about a dozen and cut to fit their slot.
fn x_labels<L: AsRef<str>>(svg: &mut String, labels: &[L], x: impl Fn(usize) -> f64, slot: f64, y: f64) {
    let every = labels.len().div_ceil(12).max(1);
    let chars = ((slot * every as f64) / 6.5).floor().max(3.0) as usize;
    for (i, l) in labels.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{y}" text-anchor="middle" class="tick" fill="{MUTED}">{}</text>"#,
            x(i),
            escape(&truncate(l.as_ref(), chars))
        );
    }
}

/// How a legend entry is drawn.
#[derive(Clone, Copy, PartialEq)]
enum Swatch {
    Bar,
    Line,
    Dashed,
    Band,
}

/// Swatches and names, right-aligned along the top edge.
fn legend(svg: &mut String, items: &[(String, &str, Swatch)]) {
    let mut x = W - 16.0;
    for (name, colour, swatch) in items.iter().rev() {
        let name = truncate(name, 28);
        let width = 6.5 * name.chars().count() as f64;
        x -= width;
        let _ = write!(svg, r#"<text x="{x:.1}" y="16" class="tick" fill="{MUTED}">{}</text>"#, escape(&name));
        x -= 18.0;
        let _ = match swatch {
            Swatch::Bar => write!(svg, r#"<rect x="{x:.1}" y="7" width="12" height="10" rx="2" fill="{colour}"/>"#),
            Swatch::Band => write!(svg, r#"<rect x="{x:.1}" y="7" width="12" height="10" rx="2" fill="{colour}" fill-opacity="0.25"/>"#),
            Swatch::Line | Swatch::Dashed => {
                let dash = if *swatch == Swatch::Dashed { r#" stroke-dasharray="4 3""# } else { "" };
                write!(svg, r#"<line x1="{x:.1}" y1="12" x2="{:.1}" y2="12" stroke="{colour}" stroke-width="2"{dash}/>"#, x + 14.0)
            }
        };
        x -= 16.0;
    }
}

/// Vertical bars, one per `(label, value)` — monthly revenue, tickets per week.
pub fn bar_chart<L: AsRef<str>>(title: &str, bars: &[(L, f64)], fmt: &dyn Fn(f64) -> String) -> String {
    if !bars.iter().any(|b| b.1.is_finite()) {
        return no_data(title);
    }
    let (left, right, top, bottom) = (64.0, W - 16.0, 24.0, H - 30.0);
    let scale = YScale::new(bars.iter().map(|b| b.1), top, bottom);
    let mut svg = open(title, W, H);
    scale.draw(&mut svg, left, right, fmt);
    let slot = (right - left) / bars.len() as f64;
    let bw = (slot * 0.7).min(64.0);
    let x = |i: usize| left + slot * (i as f64 + 0.5);
    let y0 = scale.y(0.0);
    let show_values = bars.len() <= 16;
    for (i, (label, v)) in bars.iter().enumerate() {
        if !v.is_finite() {
            continue;
        }
        let yv = scale.y(*v);
        let fill = if *v < 0.0 { NEGATIVE } else { PALETTE[0] };
        let tip = escape(&format!("{}: {}", label.as_ref(), fmt(*v)));
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{:.1}" width="{bw:.1}" height="{:.1}" class="bar" fill="{fill}"><title>{tip}</title></rect>"#,
            x(i) - bw / 2.0,
            yv.min(y0),
            (yv - y0).abs()
        );
        if show_values {
            let ty = if *v < 0.0 { yv + 12.0 } else { yv - 4.0 };
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{ty:.1}" text-anchor="middle" class="tick" fill="{INK}">{}</text>"#,
                x(i),
                escape(&fmt(*v))
            );
        }
    }
    let labels: Vec<&str> = bars.iter().map(|b| b.0.as_ref()).collect();
    x_labels(&mut svg, &labels, x, slot, H - 10.0);
    svg.push_str("</svg>");
    svg
}

/// One named row of values of a [`grouped_bars`] chart, aligned with its categories.
#[derive(Debug, Clone, Copy)]
pub struct BarSeries<'a> {
    /// Legend name.
    pub name: &'a str,
    /// One value per category (missing ones count as 0 when stacked and are skipped when grouped).
    pub values: &'a [f64],
}

/// How [`grouped_bars`] places the series of one category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarLayout {
    /// Side by side (amount next to weighted amount).
    Grouped,
    /// On top of each other (positive values up, negative ones down).
    Stacked,
}

/// Several series per category, side by side or stacked — pipeline by stage with its amount
/// and weighted amount. All series share one value axis, so they must share a unit.
pub fn grouped_bars<L: AsRef<str>>(
    title: &str,
    categories: &[L],
    series: &[BarSeries<'_>],
    layout: BarLayout,
    fmt: &dyn Fn(f64) -> String,
) -> String {
    let value = |s: &BarSeries<'_>, i: usize| s.values.get(i).copied().filter(|v| v.is_finite());
    let n = categories.len();
    if n == 0 || !series.iter().any(|s| (0..n).any(|i| value(s, i).is_some())) {
        return no_data(title);
    }
    let (left, right, top, bottom) = (64.0, W - 16.0, 28.0, H - 30.0);
    let extent: Vec<f64> = match layout {
        BarLayout::Grouped => series.iter().flat_map(|s| (0..n).filter_map(move |i| value(s, i))).collect(),
        BarLayout::Stacked => (0..n)
            .flat_map(|i| {
                let vals = series.iter().filter_map(|s| value(s, i));
                let (pos, neg) = vals.fold((0.0, 0.0), |(p, q), v| if v >= 0.0 { (p + v, q) } else { (p, q + v) });
                [pos, neg]
            })
            .collect(),
    };
    let scale = YScale::new(extent.into_iter(), top, bottom);
    let mut svg = open(title, W, H);
    scale.draw(&mut svg, left, right, fmt);
    let slot = (right - left) / n as f64;
    let x = |i: usize| left + slot * (i as f64 + 0.5);
    let m = series.len().max(1) as f64;
    for (i, cat) in categories.iter().enumerate() {
        let (mut up, mut down) = (0.0, 0.0);
        for (j, s) in series.iter().enumerate() {
            let Some(v) = value(s, i) else { continue };
            let colour = PALETTE[j % PALETTE.len()];
            let tip = escape(&format!("{} — {}: {}", cat.as_ref(), s.name, fmt(v)));
            let (bx, bw, a, b) = match layout {
                BarLayout::Grouped => {
                    let group = (slot * 0.8).min(48.0 * m);
                    let bw = group / m;
                    (x(i) - group / 2.0 + bw * j as f64, bw - 1.0, 0.0, v)
                }
                BarLayout::Stacked => {
                    let bw = (slot * 0.7).min(64.0);
                    let base = if v >= 0.0 { up } else { down };
                    if v >= 0.0 {
                        up += v
                    } else {
                        down += v
                    }
                    (x(i) - bw / 2.0, bw, base, base + v)
                }
            };
            let (ya, yb) = (scale.y(a), scale.y(b));
            let _ = write!(
                svg,
                r#"<rect x="{bx:.1}" y="{:.1}" width="{bw:.1}" height="{:.1}" class="bar" fill="{colour}"><title>{tip}</title></rect>"#,
                ya.min(yb),
                (ya - yb).abs()
            );
        }
    }
    x_labels(&mut svg, categories, x, slot, H - 10.0);
    let items: Vec<(String, &str, Swatch)> =
        series.iter().enumerate().map(|(j, s)| (s.name.to_string(), PALETTE[j % PALETTE.len()], Swatch::Bar)).collect();
    legend(&mut svg, &items);
    svg.push_str("</svg>");
    svg
}

/// One line of a [`line_chart`]: `(x label, value)` points.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a, L> {
    /// Legend name.
    pub name: &'a str,
    /// Points in x order.
    pub points: &'a [(L, f64)],
    /// Draw dashed, in the colour of the series before it (a forecast continuing it).
    pub dashed: bool,
}

/// A shaded interval of a [`line_chart`]: `(x label, lower, upper)`.
#[derive(Debug, Clone, Copy)]
pub struct Band<'a, L> {
    /// Legend name, e.g. "95% interval".
    pub name: &'a str,
    /// Bounds per x label.
    pub points: &'a [(L, f64, f64)],
}

/// Lines over shared x labels, with an optional shaded band — monthly sales and the forecast.
///
/// The x axis is every label in order of first appearance (series in order, then the band),
/// so a history series and a forecast series that continues it line up; a forecast that
/// should start at the last actual point repeats that point.
pub fn line_chart<L: AsRef<str>>(title: &str, series: &[Series<'_, L>], band: Option<Band<'_, L>>, fmt: &dyn Fn(f64) -> String) -> String {
    let mut labels: Vec<&str> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for l in series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0.as_ref()))
        .chain(band.iter().flat_map(|b| b.points.iter().map(|p| p.0.as_ref())))
    {
        index.entry(l).or_insert_with(|| {
            labels.push(l);
            labels.len() - 1
        });
    }
    let finite = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).any(f64::is_finite);
    if labels.is_empty() || !finite {
        return no_data(title);
    }
    let (left, right, top, bottom) = (64.0, W - 16.0, 28.0, H - 30.0);
    let values =
        series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).chain(band.iter().flat_map(|b| b.points.iter().flat_map(|p| [p.1, p.2])));
    let scale = YScale::new(values, top, bottom);
    let mut svg = open(title, W, H);
    scale.draw(&mut svg, left, right, fmt);
    let n = labels.len();
    let x = |i: usize| if n == 1 { (left + right) / 2.0 } else { left + (right - left) * i as f64 / (n - 1) as f64 };
    // A dashed series (a forecast) continues the series before it, so it takes that one's
    // colour; the band belongs to the last dashed series.
    let mut colours: Vec<&str> = Vec::new();
    let mut k = 0;
    for (j, s) in series.iter().enumerate() {
        if s.dashed && j > 0 {
            colours.push(colours[j - 1]);
        } else {
            colours.push(PALETTE[k % PALETTE.len()]);
            k += 1;
        }
    }
    let band_colour = series.iter().zip(&colours).filter(|(s, _)| s.dashed).map(|(_, c)| *c).next_back().unwrap_or(PALETTE[0]);
    let mut items = Vec::new();
    if let Some(b) = &band {
        let pts: Vec<(f64, f64, f64)> = b
            .points
            .iter()
            .filter(|p| p.1.is_finite() && p.2.is_finite())
            .map(|p| (x(index[p.0.as_ref()]), scale.y(p.1), scale.y(p.2)))
            .collect();
        if !pts.is_empty() {
            let mut poly: Vec<String> = pts.iter().map(|p| format!("{:.1},{:.1}", p.0, p.2)).collect();
            poly.extend(pts.iter().rev().map(|p| format!("{:.1},{:.1}", p.0, p.1)));
            let _ = write!(
                svg,
                r#"<polygon points="{}" class="band" fill="{}" fill-opacity="0.15"><title>{}</title></polygon>"#,
                poly.join(" "),
                band_colour,
                escape(b.name)
            );
            items.push((b.name.to_string(), band_colour, Swatch::Band));
        }
    }
    let dots = n <= 60;
    for (j, s) in series.iter().enumerate() {
        let colour = colours[j];
        let pts: Vec<(f64, f64, &str, f64)> =
            s.points.iter().filter(|p| p.1.is_finite()).map(|p| (x(index[p.0.as_ref()]), scale.y(p.1), p.0.as_ref(), p.1)).collect();
        let class = if s.dashed { "forecast" } else { "history" };
        let dash = if s.dashed { r#" stroke-dasharray="6 4""# } else { "" };
        let line: Vec<String> = pts.iter().map(|p| format!("{:.1},{:.1}", p.0, p.1)).collect();
        let _ = write!(
            svg,
            r#"<polyline points="{}" class="{class}" fill="none" stroke="{colour}" stroke-width="2"{dash}><title>{}</title></polyline>"#,
            line.join(" "),
            escape(s.name)
        );
        if dots || pts.len() == 1 {
            for (px, py, l, v) in &pts {
                let tip = escape(&format!("{} — {l}: {}", s.name, fmt(*v)));
                let _ = write!(svg, r#"<circle cx="{px:.1}" cy="{py:.1}" r="2.5" fill="{colour}"><title>{tip}</title></circle>"#);
            }
        }
        items.push((s.name.to_string(), colour, if s.dashed { Swatch::Dashed } else { Swatch::Line }));
    }
    let slot = if n > 1 { (right - left) / (n - 1) as f64 } else { right - left };
    x_labels(&mut svg, &labels, x, slot, H - 10.0);
    if items.len() > 1 {
        legend(&mut svg, &items);
    }
    svg.push_str("</svg>");
    svg
}

/// Stage-to-stage conversion: one centred bar per `(stage, count)`, with each stage's share of
/// the previous stage and of the first.
pub fn funnel<L: AsRef<str>>(title: &str, stages: &[(L, u64)]) -> String {
    if stages.is_empty() {
        return no_data(title);
    }
    let row = 34.0;
    let (top, label_w, info_w) = (12.0, 150.0, 230.0);
    let h = top * 2.0 + row * stages.len() as f64;
    let (left, right) = (label_w + 10.0, W - info_w);
    let cx = (left + right) / 2.0;
    let max = stages.iter().map(|s| s.1).max().unwrap_or(0).max(1) as f64;
    let first = stages[0].1;
    let mut svg = open(title, W, h);
    for (i, (stage, count)) in stages.iter().enumerate() {
        let y = top + row * i as f64;
        let bw = ((right - left) * *count as f64 / max).max(2.0);
        let prev = if i == 0 { None } else { Some(stages[i - 1].1) };
        let share = |of: u64| if of == 0 { "—".to_string() } else { fmt_percent(*count as f64 / of as f64) };
        let info = match prev {
            None => fmt_number(*count as f64),
            Some(p) => format!("{} · {} of previous", fmt_number(*count as f64), share(p)),
        };
        let tip = match prev {
            None => format!("{}: {}", stage.as_ref(), fmt_number(*count as f64)),
            Some(p) => format!("{}: {} ({} of previous, {} of first)", stage.as_ref(), fmt_number(*count as f64), share(p), share(first)),
        };
        let _ = write!(
            svg,
            r#"<text x="{label_w}" y="{:.1}" text-anchor="end" class="tick" fill="{INK}">{}</text>"#,
            y + row / 2.0 + 4.0,
            escape(&truncate(stage.as_ref(), 22))
        );
        let colour = PALETTE[0];
        let opacity = 1.0 - 0.5 * i as f64 / stages.len().max(2) as f64;
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{:.1}" width="{bw:.1}" height="{:.1}" rx="3" class="bar" fill="{colour}" fill-opacity="{opacity:.2}"><title>{}</title></rect>"#,
            cx - bw / 2.0,
            y + 4.0,
            row - 8.0,
            escape(&tip)
        );
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" class="tick" fill="{MUTED}">{}</text>"#,
            right + 12.0,
            y + row / 2.0 + 4.0,
            escape(&info)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A leaderboard: one horizontal bar per `(name, value, target)`, with a marker at the target and
/// the share of target reached (bars that reach their target are green).
pub fn hbar<L: AsRef<str>>(title: &str, rows: &[(L, f64, Option<f64>)], fmt: &dyn Fn(f64) -> String) -> String {
    if !rows.iter().any(|r| r.1.is_finite()) {
        return no_data(title);
    }
    let row = 28.0;
    let (top, label_w, info_w) = (26.0, 160.0, 170.0);
    let h = top + row * rows.len() as f64 + 8.0;
    let (left, right) = (label_w + 10.0, W - info_w);
    let extent = rows.iter().flat_map(|r| [r.1, r.2.unwrap_or(0.0)]).filter(|v| v.is_finite());
    let (lo, hi) = extent.fold((0.0_f64, 0.0_f64), |(a, b), v| (a.min(v), b.max(v)));
    let ticks = nice_ticks(lo, hi, 5);
    let (tmin, tmax) = (ticks[0], *ticks.last().unwrap_or(&1.0));
    let x = |v: f64| left + (right - left) * (v - tmin) / (tmax - tmin);
    let mut svg = open(title, W, h);
    for &t in &ticks {
        let _ = write!(svg, r#"<line x1="{0:.1}" y1="{top}" x2="{0:.1}" y2="{1:.1}" class="grid" stroke="{GRID}"/>"#, x(t), h - 8.0);
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle" class="tick" fill="{MUTED}">{}</text>"#,
            x(t),
            top - 10.0,
            escape(&fmt(t))
        );
    }
    let x0 = x(0.0);
    let _ = write!(svg, r#"<line x1="{x0:.1}" y1="{top}" x2="{x0:.1}" y2="{:.1}" class="axis" stroke="{AXIS}"/>"#, h - 8.0);
    for (i, (name, value, target)) in rows.iter().enumerate() {
        let y = top + row * i as f64;
        let _ = write!(
            svg,
            r#"<text x="{label_w}" y="{:.1}" text-anchor="end" class="tick" fill="{INK}">{}</text>"#,
            y + row / 2.0 + 4.0,
            escape(&truncate(name.as_ref(), 24))
        );
        let target = target.filter(|t| t.is_finite() && *t > 0.0);
        let mut info = fmt(*value);
        let mut tip = format!("{}: {}", name.as_ref(), fmt(*value));
        if let Some(t) = target {
            let pct = fmt_percent(value / t);
            info = format!("{info} · {pct} of target");
            tip = format!("{tip} of {} target ({pct})", fmt(t));
        }
        if value.is_finite() {
            let met = target.is_some_and(|t| *value >= t);
            let fill = if *value < 0.0 {
                NEGATIVE
            } else if met {
                MET
            } else {
                PALETTE[0]
            };
            let xv = x(*value);
            let _ = write!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="2" class="bar" fill="{fill}"><title>{}</title></rect>"#,
                xv.min(x0),
                y + 5.0,
                (xv - x0).abs(),
                row - 10.0,
                escape(&tip)
            );
        }
        if let Some(t) = target {
            let xt = x(t);
            let _ = write!(
                svg,
                r#"<line x1="{xt:.1}" y1="{:.1}" x2="{xt:.1}" y2="{:.1}" class="target" stroke="{INK}" stroke-width="2"><title>target {}</title></line>"#,
                y + 2.0,
                y + row - 2.0,
                escape(&fmt(t))
            );
        }
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" class="tick" fill="{MUTED}">{}</text>"#,
            right + 10.0,
            y + row / 2.0 + 4.0,
            escape(&info)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny well-formedness check: tags balance, attributes are quoted, no stray `<` or `&`.
    fn assert_well_formed(svg: &str) {
        assert!(svg.starts_with("<svg "), "{svg}");
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let text = &rest[..start];
            check_text(text, svg);
            let end = rest[start..].find('>').unwrap_or_else(|| panic!("unclosed tag in {svg}")) + start;
            let tag = &rest[start + 1..end];
            assert!(!tag.contains('<'), "`<` inside a tag: {tag}");
            assert_eq!(tag.matches('"').count() % 2, 0, "unbalanced quotes in {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}> in {svg}");
            } else if !tag.ends_with('/') {
                let name = tag.split_whitespace().next().unwrap_or("").to_string();
                assert!(!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()), "bad tag name {name:?}");
                stack.push(name);
            }
            rest = &rest[end + 1..];
            if stack.is_empty() {
                assert!(rest.is_empty(), "content after the root element: {rest}");
            }
        }
        check_text(rest, svg);
        assert!(stack.is_empty(), "unclosed {stack:?}");
        assert!(svg.contains("role=\"img\"") && svg.contains("aria-label=") && svg.contains("<title>"));
        assert!(svg.contains("viewBox=\"0 0 "));
    }

    fn check_text(text: &str, svg: &str) {
        assert!(!text.contains('>'), "raw `>` in text of {svg}");
        for (i, _) in text.match_indices('&') {
            let entity = &text[i..];
            assert!(["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].iter().any(|e| entity.starts_with(e)), "raw & in {text}");
        }
    }

    fn n(v: f64) -> String {
        fmt_number(v)
    }

    const EVIL: &str = "<script>alert('x')</script> & \"co\"";

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(nice_ticks(0.0, 100.0, 5), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(nice_ticks(0.0, 100.0, 6), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(nice_ticks(0.0, 0.3, 4), vec![0.0, 0.1, 0.2, 0.3]);
        assert_eq!(nice_ticks(0.0, 1.0, 6), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(nice_ticks(0.0, 0.0, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        for (lo, hi, count) in [
            (0.0, 12_345.0, 5),
            (-3_210.0, 987.0, 5),
            (0.013, 0.0171, 4),
            (1e6, 1e6, 5),
            (-5.0, -5.0, 5),
            (37.0, 12.0, 5),
            (0.0, 7.3e9, 5),
            (-1.5, 1.5, 7),
        ] {
            let t = nice_ticks(lo, hi, count);
            assert!(t.len() >= 2 && t.len() <= 2 * count + 1, "{lo}..{hi}: {t:?}");
            assert!(t[0] <= lo.min(hi) && *t.last().unwrap() >= hi.max(lo), "{lo}..{hi}: {t:?}");
            let step = t[1] - t[0];
            let mantissa = step / 10f64.powf(step.log10().floor());
            assert!([1.0, 2.0, 5.0, 10.0].iter().any(|m| (mantissa - m).abs() < 1e-9), "{lo}..{hi}: step {step}");
            for w in t.windows(2) {
                assert!(((w[1] - w[0]) - step).abs() < step * 1e-9);
            }
            for v in &t {
                // Round: a whole number of steps, printed without float noise.
                assert!(((v / step) - (v / step).round()).abs() < 1e-9, "{v} in {t:?}");
                assert!(v.to_string().len() <= 12, "{v} in {t:?}");
            }
        }
        assert_eq!(nice_ticks(f64::NAN, 3.0, 5), nice_ticks(0.0, 1.0, 5));
    }

    #[test]
    fn formats_numbers_and_money() {
        assert_eq!(n(12_500.0), "12,500");
        assert_eq!(n(3.25), "3.25");
        assert_eq!(n(3.5), "3.5");
        assert_eq!(n(-40.0), "\u{2212}40");
        assert_eq!(n(0.0), "0");
        assert_eq!(n(-0.0), "0");
        assert_eq!(n(1_234_567.8), "1,234,568");
        assert_eq!(fmt_compact(950.0), "950");
        assert_eq!(fmt_compact(12_500.0), "12.5k");
        assert_eq!(fmt_compact(12_000.0), "12k");
        assert_eq!(fmt_compact(250_000.0), "250k");
        assert_eq!(fmt_compact(3_400_000.0), "3.4M");
        assert_eq!(fmt_compact(-7_000.0), "\u{2212}7k");
        assert_eq!(fmt_compact(1.2e9), "1.2B");
        assert_eq!(fmt_percent(0.623), "62%");
        assert_eq!(fmt_percent(0.045), "4.5%");
        assert_eq!(fmt_percent(1.0), "100%");
        assert_eq!(money("EUR")(12_500.0), "€12.5k");
        assert_eq!(money("USD")(-1_200.0), "\u{2212}$1.2k");
        assert_eq!(money("CHF")(950.0), "CHF 950");
        assert_eq!(fmt_number(f64::NAN), "—");
    }

    #[test]
    fn bar_chart_draws_bars_escaped_and_negative() {
        let data = [("Jan 2026", 12_000.0), ("Feb 2026", 18_500.0), ("Refunds", -2_500.0), (EVIL, 4_000.0)];
        let svg = bar_chart("Monthly revenue", &data, &money("EUR"));
        assert_well_formed(&svg);
        assert_eq!(svg.matches("<rect").count(), 4);
        assert!(svg.contains("Monthly revenue"));
        assert!(svg.contains("€18.5k"));
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains(NEGATIVE), "negative bar drawn in its colour");
        // The zero line sits between the top and bottom ticks: the axis reaches below zero.
        assert!(svg.contains("\u{2212}€5k") || svg.contains("\u{2212}€2.5k"), "{svg}");
        // Negative bar extends down from zero: its y equals the zero line's y.
        let y0 = svg.split("class=\"axis\"").next().unwrap().rsplit("y1=\"").next().unwrap().split('"').next().unwrap().to_string();
        let neg = svg.split(&format!("fill=\"{NEGATIVE}\"")).next().unwrap();
        let neg_y = neg.rsplit(" y=\"").next().unwrap().split('"').next().unwrap();
        assert_eq!(neg_y, y0);
    }

    #[test]
    fn empty_data_says_so() {
        let none: [(&str, f64); 0] = [];
        for svg in [
            bar_chart("Revenue", &none, &fmt_compact),
            bar_chart("Revenue", &[("Jan", f64::NAN)], &fmt_compact),
            grouped_bars::<&str>("Pipeline", &[], &[], BarLayout::Grouped, &fmt_compact),
            grouped_bars("Pipeline", &["Lead"], &[BarSeries { name: "Amount", values: &[] }], BarLayout::Stacked, &fmt_compact),
            line_chart::<&str>("Sales", &[], None, &fmt_compact),
            line_chart("Sales", &[Series { name: "Sales", points: &[] as &[(&str, f64)], dashed: false }], None, &fmt_compact),
            funnel::<&str>("Funnel", &[]),
            hbar::<&str>("Leaderboard", &[], &fmt_compact),
        ] {
            assert_well_formed(&svg);
            assert!(svg.contains("no data yet"), "{svg}");
        }
        assert!(no_data(EVIL).contains("&lt;script&gt;"));
        assert_well_formed(&no_data(EVIL));
    }

    #[test]
    fn grouped_and_stacked_pipeline() {
        let stages = ["Qualification", "Proposal", EVIL];
        let amount = [50_000.0, 30_000.0, 10_000.0];
        let weighted = [5_000.0, 12_000.0, -1_000.0];
        let series = [BarSeries { name: "Amount", values: &amount }, BarSeries { name: "Weighted <model>", values: &weighted }];
        for layout in [BarLayout::Grouped, BarLayout::Stacked] {
            let svg = grouped_bars("Pipeline by stage", &stages, &series, layout, &money("USD"));
            assert_well_formed(&svg);
            assert_eq!(svg.matches("class=\"bar\"").count(), 6);
            assert!(svg.contains("Weighted &lt;model&gt;"));
            assert!(!svg.contains("<script>"));
            assert!(svg.contains(PALETTE[1]));
        }
        // Stacked: the axis reaches the sum of the positive parts.
        let svg = grouped_bars("Pipeline by stage", &stages, &series, BarLayout::Stacked, &fmt_compact);
        assert!(svg.contains(">60k<") || svg.contains(">80k<"), "{svg}");
    }

    #[test]
    fn line_chart_with_forecast_band() {
        let history: Vec<(String, f64)> = (1..=12).map(|m| (format!("2025-{m:02}"), 1000.0 + 50.0 * m as f64)).collect();
        let forecast: Vec<(String, f64)> =
            std::iter::once(history[11].clone()).chain((1..=6).map(|m| (format!("2026-{m:02}"), 1700.0 + 20.0 * m as f64))).collect();
        let band: Vec<(String, f64, f64)> = forecast.iter().map(|(l, v)| (l.clone(), v - 200.0, v + 200.0)).collect();
        let svg = line_chart(
            "Monthly sales & forecast",
            &[Series { name: "Sales", points: &history, dashed: false }, Series { name: "Forecast", points: &forecast, dashed: true }],
            Some(Band { name: "95% interval", points: &band }),
            &fmt_compact,
        );
        assert_well_formed(&svg);
        assert!(svg.contains("Monthly sales &amp; forecast"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<polygon").count(), 1);
        assert!(svg.contains("stroke-dasharray=\"6 4\""));
        assert!(svg.contains("95% interval"));
        // 18 distinct months on the axis; the repeated junction month is not duplicated.
        assert_eq!(svg.matches("<circle").count(), 12 + 7);
        assert!(svg.contains(">2025-01<"));

        // Negative values and a single point still draw.
        let svg = line_chart("NPS", &[Series { name: EVIL, points: &[("Q1", -12.0)], dashed: false }], None, &fmt_number);
        assert_well_formed(&svg);
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(svg.contains("\u{2212}"));
        assert!(!svg.contains("<script>"));
    }

    #[test]
    fn funnel_shows_conversion() {
        let svg = funnel("Deal funnel", &[("Lead", 200), ("Qualified", 80), (EVIL, 20), ("Won", 0), ("After zero", 0)]);
        assert_well_formed(&svg);
        assert_eq!(svg.matches("<rect").count(), 5);
        assert!(svg.contains("80 · 40% of previous"));
        assert!(svg.contains("20 · 25% of previous"));
        assert!(svg.contains("10% of first"));
        assert!(svg.contains("0 · — of previous"), "division by a zero stage shows a dash");
        assert!(svg.contains("&lt;script&gt;"));
        assert!(!svg.contains("<script>"));
    }

    #[test]
    fn leaderboard_against_target() {
        let rows =
            [("Ada", 120_000.0, Some(100_000.0)), ("Grace", 45_000.0, Some(90_000.0)), (EVIL, -5_000.0, None), ("Linus", 10.0, Some(0.0))];
        let svg = hbar("Won this quarter", &rows, &money("GBP"));
        assert_well_formed(&svg);
        assert_eq!(svg.matches("class=\"bar\"").count(), 4);
        assert_eq!(svg.matches("class=\"target\"").count(), 2, "no marker without a positive target");
        assert!(svg.contains("120% of target"));
        assert!(svg.contains("50% of target"));
        assert!(svg.contains(MET) && svg.contains(NEGATIVE));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(!svg.contains("<script>"));
    }

    #[test]
    fn long_labels_are_cut_with_the_full_text_in_the_tooltip() {
        let long = "A very long customer name that would overflow its slot";
        let svg = bar_chart("Revenue", &(0..12).map(|i| (format!("{long} {i}"), i as f64)).collect::<Vec<_>>(), &fmt_number);
        assert_well_formed(&svg);
        assert!(svg.contains('…'));
        assert!(svg.contains(&format!("<title>{long} 3: 3</title>")));
    }
}
