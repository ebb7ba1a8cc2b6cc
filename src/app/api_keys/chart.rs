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
    let bars = bars(&days);
    let labels = [0, days.len() / 2, days.len().saturating_sub(1)]
        .into_iter()
        .filter_map(|i| days.get(i).map(|d| (i, utc_date(d.day)[5..].to_owned())))
        .map(|(i, label)| {
            let x = slot(days.len()) * (i as f64 + 0.5);
            view! { <text x=format!("{x:.1}") y=format!("{:.1}", HEIGHT - 4.0) text-anchor="middle" class="axis">{label}</text> }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=summary.clone() preserveAspectRatio="none">
                {bars}
                <line x1="0" x2=WIDTH.to_string() y1=format!("{}", HEIGHT - AXIS) y2=format!("{}", HEIGHT - AXIS) class="axis-line" />
                {labels}
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

/// One stacked bar per day: allowed at the bottom, refused, then rate
/// limited on top. A day without traffic still has its place, marked by a
/// hairline at zero.
fn bars(days: &[DayCounts]) -> impl IntoView + use<> {
    let top = days.iter().map(|d| d.allowed + d.refused + d.rate_limited).max().unwrap_or(0).max(1) as f64;
    let room = HEIGHT - AXIS - 4.0;
    let slot = slot(days.len());
    let width = slot * 0.7;
    days.iter()
        .enumerate()
        .map(|(i, d)| {
            let x = slot * i as f64 + (slot - width) / 2.0;
            let allowed = room * d.allowed as f64 / top;
            let refused = room * d.refused as f64 / top;
            let limited = room * d.rate_limited as f64 / top;
            let base = HEIGHT - AXIS;
            view! {
                <g>
                    <rect class="bar allowed" x=format!("{x:.1}") width=format!("{width:.1}") y=format!("{:.1}", base - allowed) height=format!("{allowed:.1}") />
                    <rect class="bar refused" x=format!("{x:.1}") width=format!("{width:.1}") y=format!("{:.1}", base - allowed - refused) height=format!("{refused:.1}") />
                    <rect class="bar limited" x=format!("{x:.1}") width=format!("{width:.1}") y=format!("{:.1}", base - allowed - refused - limited) height=format!("{limited:.1}") />
                    {(d.allowed + d.refused + d.rate_limited == 0).then(|| view! {
                        <rect class="bar zero" x=format!("{x:.1}") width=format!("{width:.1}") y=format!("{:.1}", base - 1.0) height="1" />
                    })}
                </g>
            }
        })
        .collect_view()
}
