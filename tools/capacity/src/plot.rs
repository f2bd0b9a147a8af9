//! A small SVG line chart (no plotting dependency, no fonts needed): log-scale x, linear or
//! log-scale y, one line per series. Draws the bench's load chart and the capacity plots.

pub struct Series<'a> {
    pub name: &'a str,
    pub color: &'a str,
    pub points: Vec<(f64, f64)>,
}

pub struct Panel<'a> {
    pub title: &'a str,
    pub y_label: &'a str,
    pub y_scale: Scale,
    pub series: Vec<Series<'a>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Decades.
    Log,
    /// From zero, in fifths of the top value.
    Linear,
}

const W: f64 = 460.0;
const H: f64 = 300.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

/// Panels side by side, x = history length (log10), y = log10 of the value.
pub fn render(panels: &[Panel], x_label: &str) -> String {
    let width = W * panels.len() as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    for (i, panel) in panels.iter().enumerate() {
        svg += &panel_svg(panel, i as f64 * W, x_label);
    }
    svg += "</svg>\n";
    svg
}

fn panel_svg(panel: &Panel, x0: f64, x_label: &str) -> String {
    let points: Vec<(f64, f64)> = panel.series.iter().flat_map(|s| s.points.iter().copied()).collect();
    let lx = |v: f64| v.max(1e-9).log10();
    let (xmin, xmax) = bounds(points.iter().map(|p| lx(p.0)));
    let linear = panel.y_scale == Scale::Linear;
    let ly = |v: f64| if linear { v } else { lx(v) };
    let (ymin, ymax) = bounds(points.iter().map(|p| ly(p.1)));
    let (ymin, ymax) =
        if linear { (0.0, nice_top(ymax)) } else { (ymin.floor(), ymax.ceil().max(ymin.floor() + 1.0)) };
    let px = |x: f64| x0 + LEFT + (lx(x) - xmin) / (xmax - xmin).max(1e-9) * (W - LEFT - RIGHT);
    let py = |y: f64| TOP + (1.0 - (ly(y) - ymin) / (ymax - ymin)) * (H - TOP - BOTTOM);
    let mut s = format!(
        "<text x=\"{}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
        x0 + LEFT,
        panel.title
    );
    // axes, decade grid
    let (bx, by) = (x0 + LEFT, H - BOTTOM);
    s += &format!("<line x1=\"{bx}\" y1=\"{TOP}\" x2=\"{bx}\" y2=\"{by}\" stroke=\"black\"/>\n");
    s += &format!("<line x1=\"{bx}\" y1=\"{by}\" x2=\"{}\" y2=\"{by}\" stroke=\"black\"/>\n", x0 + W - RIGHT);
    let step = if linear { (ymax - ymin) / 5.0 } else { 1.0 };
    let mut d = ymin;
    while d <= ymax + 1e-9 {
        let y = TOP + (1.0 - (d - ymin) / (ymax - ymin)) * (H - TOP - BOTTOM);
        let label = if linear { human(d) } else { human(10f64.powf(d)) };
        s += &format!(
            "<line x1=\"{bx}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
            x0 + W - RIGHT,
            bx - 6.0,
            y + 4.0,
            label
        );
        d += step;
    }
    for p in panel.series.first().map(|s| s.points.clone()).unwrap_or_default() {
        s += &format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
            px(p.0),
            by + 18.0,
            human(p.0)
        );
    }
    s += &format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{x_label}</text>\n",
        x0 + LEFT + (W - LEFT - RIGHT) / 2.0,
        H - 12.0
    );
    s += &format!(
        "<text transform=\"translate({},{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
        x0 + 16.0,
        TOP + (H - TOP - BOTTOM) / 2.0,
        panel.y_label
    );
    for (k, series) in panel.series.iter().enumerate() {
        let path: Vec<String> =
            series.points.iter().map(|p| format!("{:.1},{:.1}", px(p.0), py(p.1))).collect();
        s += &format!(
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n",
            series.color,
            path.join(" ")
        );
        for p in &series.points {
            s += &format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{}\"/>\n",
                px(p.0),
                py(p.1),
                series.color
            );
        }
        let ly = TOP + 14.0 + 16.0 * k as f64;
        s += &format!(
            "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"3\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
            bx + 12.0,
            ly - 4.0,
            series.color,
            bx + 28.0,
            ly,
            series.name
        );
    }
    s
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)))
}

/// 1, 2 or 5 times a power of ten, at or above `v`.
fn nice_top(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let decade = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * decade)
        .find(|top| *top >= v * (1.0 - 1e-9))
        .unwrap_or(10.0 * decade)
}

fn human(v: f64) -> String {
    if v >= 1000.0 {
        format!("{}k", (v / 1000.0).round())
    } else if v >= 1.0 {
        format!("{}", v.round())
    } else {
        format!("{}", (v * 1000.0).round() / 1000.0)
    }
}
