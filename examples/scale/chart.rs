#![allow(dead_code)] // Each user of this file calls one of its two entry points.
//! A line chart as SVG, written by hand (no plotting crate): one polyline per series over a
//! logarithmic x axis. Shared by `examples/scale` and `compare/` (which includes this file).

/// The chart titled `title`, y in `unit`, x labelled `x_label`, one line per `(name, points)`.
pub fn chart_with(
    title: &str,
    unit: &str,
    x_label: &str,
    series: &[(&str, Vec<(f64, f64)>)],
) -> String {
    chart_impl(title, unit, x_label, series)
}

/// A chart against N clients.
pub fn chart(title: &str, unit: &str, series: &[(&str, Vec<(f64, f64)>)]) -> String {
    chart_impl(title, unit, "clients in one process (N)", series)
}

fn chart_impl(
    title: &str,
    unit: &str,
    x_label: &str,
    series: &[(&str, Vec<(f64, f64)>)],
) -> String {
    const W: f64 = 640.0;
    const H: f64 = 360.0;
    const L: f64 = 70.0;
    const R: f64 = 150.0;
    const T: f64 = 40.0;
    const B: f64 = 50.0;
    let xs: Vec<f64> = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(x, _)| x.max(1.0).log10()))
        .collect();
    let (x0, x1) = xs
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(*x), b.max(*x)));
    let (x0, x1) = if x1 > x0 {
        (x0, x1)
    } else {
        (x0 - 1.0, x0 + 1.0)
    };
    let top = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
        .fold(0.0f64, f64::max)
        .max(1e-9);
    // Round steps (1, 2 or 5 times a power of ten), at most five above zero.
    let magnitude = 10f64.powf((top / 5.0).log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| top / step <= 5.0)
        .unwrap_or(10.0 * magnitude);
    let steps = (top / step).ceil().max(1.0) as usize;
    let ymax = step * steps as f64;
    let px = |x: f64| L + (x.max(1.0).log10() - x0) / (x1 - x0) * (W - L - R);
    let py = |y: f64| H - B - y / ymax * (H - T - B);
    let colors = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"];
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"{W}\" height=\"{H}\" \
         fill=\"white\"/>\n<text x=\"{L}\" y=\"22\" font-size=\"15\">{title}</text>\n"
    );
    svg.push_str(&format!(
        "<line x1=\"{L}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n\
         <line x1=\"{L}\" y1=\"{T}\" x2=\"{L}\" y2=\"{}\" stroke=\"black\"/>\n",
        H - B,
        W - R,
        H - B,
        H - B
    ));
    for i in 0..=steps {
        let y = step * i as f64;
        if i > 0 {
            svg.push_str(&format!(
                "<line x1=\"{L}\" y1=\"{:.1}\" x2=\"{}\" y2=\"{:.1}\" stroke=\"#ddd\"/>\n",
                py(y),
                W - R,
                py(y)
            ));
        }
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            L - 6.0,
            py(y) + 4.0,
            label(y, step)
        ));
    }
    let mut ticks: Vec<f64> = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(x, _)| *x))
        .collect();
    ticks.sort_by(f64::total_cmp);
    ticks.dedup();
    for x in ticks {
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{x}</text>\n",
            px(x),
            H - B + 18.0
        ));
    }
    svg.push_str(&format!(
        "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{x_label}</text>\n\
         <text x=\"16\" y=\"{:.1}\" transform=\"rotate(-90 16 {:.1})\" text-anchor=\"middle\">{unit}</text>\n",
        (L + W - R) / 2.0,
        H - 12.0,
        (T + H - B) / 2.0,
        (T + H - B) / 2.0
    ));
    for (i, (name, points)) in series.iter().enumerate() {
        let color = colors[i % colors.len()];
        let path: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
            .collect();
        svg.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>\n",
            path.join(" ")
        ));
        for (x, y) in points {
            svg.push_str(&format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{color}\"/>\n",
                px(*x),
                py(*y)
            ));
        }
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" fill=\"{color}\">{name}</text>\n",
            W - R + 12.0,
            T + 16.0 * i as f64 + 10.0
        ));
    }
    svg.push_str("</svg>\n");
    svg
}

/// An axis label: thousands separated, decimals only as fine as the step needs.
fn label(value: f64, step: f64) -> String {
    if step < 1.0 {
        let decimals = (-step.log10().floor()) as usize;
        return format!("{value:.decimals$}");
    }
    let digits = format!("{:.0}", value);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
