//! Requests per day as a bar chart, drawn as SVG on the server (no chart
//! library in the bundle), with the same figures as a table for screen
//! readers and anyone who wants numbers.

use crate::app::format::utc_date;
use crate::rpc::api_keys::DayCounts;
use leptos::prelude::*;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;
const AXIS: f64 = 18.0;

#[component]
pub fn RequestsChart(days: Vec<DayCounts>) -> impl IntoView {
    let shown_as_table = RwSignal::new(false);
    let allowed: i64 = days.iter().map(|d| d.allowed).sum();
    let refused: i64 = days.iter().map(|d| d.refused).sum();
    let would: i64 = days.iter().map(|d| d.would_refuse).sum();
    let limited: i64 = days.iter().map(|d| d.rate_limited).sum();
    let summary = format!(
        "Requests per day over the last 30 days: {allowed} allowed{}, {refused} refused, {limited} rate limited.",
        if would > 0 { format!(" ({would} of them from outside a report-only IP ACL)") } else { String::new() }
    );
    let drawing = drawing(&days);
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=summary.clone() preserveAspectRatio="none">
                <g inner_html=drawing />
            </svg>
            <figcaption>
                <span class="legend allowed">"Allowed"</span>
                <span class="legend refused">"Refused"</span>
                <span class="legend limited">"Rate limited"</span>
                <button
                    type="button"
                    class="button small"
                    aria-expanded=move || shown_as_table.get().to_string()
                    aria-controls="requests-table"
                    on:click=move |_| shown_as_table.update(|shown| *shown = !*shown)
                >
                    {move || if shown_as_table.get() { "Hide table" } else { "Show as table" }}
                </button>
            </figcaption>
        </figure>
        <table class="data-table compact" id="requests-table" hidden=move || !shown_as_table.get()>
            <caption class="visually-hidden">"Requests per day"</caption>
            <thead>
                <tr>
                    <th scope="col">"Day (UTC)"</th>
                    <th scope="col">"Allowed"</th>
                    <th scope="col">"Refused"</th>
                    <th scope="col">"Would be refused"</th>
                    <th scope="col">"Rate limited"</th>
                </tr>
            </thead>
            <tbody>
                {days
                    .into_iter()
                    .rev()
                    .map(|d| {
                        view! {
                            <tr>
                                <th scope="row">{utc_date(d.day)}</th>
                                <td>{d.allowed}</td>
                                <td>{d.refused}</td>
                                <td>{d.would_refuse}</td>
                                <td>{d.rate_limited}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

fn slot(days: usize) -> f64 {
    WIDTH / days.max(1) as f64
}

/// The bars, the axis and its date labels as SVG markup, set as one
/// element's content: hydration then adopts the server's drawing without
/// walking its 130-odd nodes one by one, which on a desktop was a long task
/// of 60-130 ms on every page with a chart (Lighthouse's blocking time).
/// Only numbers and dates go into it, never a name an admin typed.
///
/// One stacked bar per day: allowed at the bottom, refused, then rate
/// limited on top. A day without traffic still has its place, marked by a
/// hairline at zero.
fn drawing(days: &[DayCounts]) -> String {
    use std::fmt::Write;
    let top = days.iter().map(|d| d.allowed + d.refused + d.rate_limited).max().unwrap_or(0).max(1) as f64;
    let room = HEIGHT - AXIS - 4.0;
    let slot = slot(days.len());
    let width = slot * 0.7;
    let base = HEIGHT - AXIS;
    let mut svg = String::with_capacity(days.len() * 320 + 400);
    for (i, d) in days.iter().enumerate() {
        let x = slot * i as f64 + (slot - width) / 2.0;
        let allowed = room * d.allowed as f64 / top;
        let refused = room * d.refused as f64 / top;
        let limited = room * d.rate_limited as f64 / top;
        svg.push_str("<g>");
        let mut rect = |class: &str, y: f64, height: f64| {
            let _ = write!(
                svg,
                r#"<rect class="bar {class}" x="{x:.1}" width="{width:.1}" y="{y:.1}" height="{height:.1}"/>"#
            );
        };
        rect("allowed", base - allowed, allowed);
        rect("refused", base - allowed - refused, refused);
        rect("limited", base - allowed - refused - limited, limited);
        if d.allowed + d.refused + d.rate_limited == 0 {
            rect("zero", base - 1.0, 1.0);
        }
        svg.push_str("</g>");
    }
    let _ = write!(svg, r#"<line x1="0" x2="{WIDTH}" y1="{base}" y2="{base}" class="axis-line"/>"#);
    for i in [0, days.len() / 2, days.len().saturating_sub(1)] {
        if let Some(day) = days.get(i) {
            let x = slot * (i as f64 + 0.5);
            let label = &utc_date(day.day)[5..];
            let _ = write!(
                svg,
                r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle" class="axis">{label}</text>"#,
                HEIGHT - 4.0
            );
        }
    }
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(day: i64, allowed: i64, refused: i64) -> DayCounts {
        DayCounts { day, allowed, refused, would_refuse: 0, rate_limited: 0 }
    }

    #[test]
    fn the_drawing_has_a_bar_per_day_a_hairline_for_a_quiet_one_and_three_dates() {
        const DAY: i64 = 86_400_000;
        let days = [day(0, 10, 5), day(DAY, 0, 0), day(2 * DAY, 20, 0)];
        let svg = drawing(&days);
        assert_eq!(svg.matches("<g>").count(), 3);
        assert_eq!(svg.matches("</g>").count(), 3);
        assert_eq!(svg.matches(r#"class="bar zero""#).count(), 1, "only the day without traffic");
        // The busiest day fills the room (160 - 18 - 4 = 138): its allowed bar starts at 142 - 138.
        assert!(svg.contains(r#"class="bar allowed" x="430.0" width="140.0" y="4.0" height="138.0""#), "{svg}");
        assert!(svg.contains(r#"<line x1="0" x2="600" y1="142" y2="142" class="axis-line"/>"#));
        let labels: Vec<&str> = svg.split(r#"class="axis">"#).skip(1).map(|t| &t[..5]).collect();
        assert_eq!(labels, ["01-01", "01-02", "01-03"]);
    }
}
