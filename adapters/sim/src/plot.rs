//! The plot of a run (or of several runs of one scenario): stream opens per second above,
//! acknowledged records per second below, over simulated time. SVG, no system fonts needed.

use std::path::Path;

use plotters::prelude::*;

use crate::config::SimError;
use crate::report::Series;

/// Line colours, one per run, in order.
const COLOURS: [RGBColor; 4] =
    [RGBColor(0, 114, 178), RGBColor(213, 94, 0), RGBColor(0, 158, 115), RGBColor(204, 121, 167)];

/// Writes the two panels for `runs` (label, series) to `path` as SVG.
pub fn write_svg(path: &Path, title: &str, runs: &[(&str, &Series)]) -> Result<(), SimError> {
    draw(path, title, runs).map_err(|reason| SimError::Plot { path: path.display().to_string(), reason })
}

fn draw(path: &Path, title: &str, runs: &[(&str, &Series)]) -> Result<(), String> {
    let root = SVGBackend::new(path, (1100, 760)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (top, bottom) = root.split_vertically(380);
    let opens: Vec<(&str, &[u64])> = runs.iter().map(|(l, s)| (*l, s.opens.as_slice())).collect();
    let acked: Vec<(&str, &[u64])> = runs.iter().map(|(l, s)| (*l, s.acked.as_slice())).collect();
    // Opens on a log scale: an incident's reconnect spike is 10-30 times the rotation waves.
    let (x_max, y_max) = extent(&opens);
    let mut chart = ChartBuilder::on(&top)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..x_max, (LOG_FLOOR..y_max * 1.5).log_scale())
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("simulated time (s)")
        .y_desc("stream opens/s (log scale)")
        .light_line_style(WHITE)
        .draw()
        .map_err(|e| e.to_string())?;
    lines(&mut chart, &opens)?;
    let (x_max, y_max) = extent(&acked);
    let mut chart = ChartBuilder::on(&bottom)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max * 1.1)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("simulated time (s)")
        .y_desc("acknowledged records/s")
        .light_line_style(WHITE)
        .draw()
        .map_err(|e| e.to_string())?;
    lines(&mut chart, &acked)?;
    root.present().map_err(|e| e.to_string())
}

/// Zero drawn on a log axis: just below 1.
const LOG_FLOOR: f64 = 0.8;

/// The longest series and the largest value, at least 1.
fn extent(lines: &[(&str, &[u64])]) -> (f64, f64) {
    let x_max = lines.iter().map(|(_, v)| v.len()).max().unwrap_or(1).max(1);
    let y_max = lines.iter().flat_map(|(_, v)| v.iter().copied()).max().unwrap_or(1).max(1);
    (x_max as f64, y_max as f64)
}

fn lines<'a, DB, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    lines: &[(&str, &[u64])],
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    Y: Ranged<ValueType = f64>,
{
    for (i, (label, values)) in lines.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points = values.iter().enumerate().map(|(s, &n)| (s as f64, (n as f64).max(LOG_FLOOR)));
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(1)))
            .map_err(|e| e.to_string())?
            .label(*label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}
