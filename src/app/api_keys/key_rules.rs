//! The parts of the add and edit forms that say what a key may do and how
//! often: Permissions (Full access, or a None / Read / Write grid) and Rate
//! limit (No limit, or Requests per Second, Minute or Hour). Both are drawn
//! from the domain's catalogue, the same one the API checks against.

use crate::app::form::FieldError;
use crate::domain::permissions::{Access, Level, Resource, Scopes};
use crate::domain::rate_limit::{Period, RateLimit};
use leptos::html;
use leptos::prelude::*;

/// What the admin chose, as signals the form reads on submit.
#[derive(Clone, Copy)]
pub struct RulesChoice {
    restricted: RwSignal<bool>,
    levels: RwSignal<[Level; 4]>,
    limited: RwSignal<bool>,
    requests: NodeRef<html::Input>,
    per: NodeRef<html::Select>,
}

impl RulesChoice {
    pub fn new(access: Access, limit: Option<RateLimit>) -> Self {
        // A full-access key offers the grid empty: Restricted starts from nothing granted.
        let scopes = match access {
            Access::Full => Scopes::default(),
            Access::Restricted(scopes) => scopes,
        };
        Self {
            restricted: RwSignal::new(matches!(access, Access::Restricted(_))),
            levels: RwSignal::new(Resource::ALL.map(|r| r.level_in(scopes))),
            limited: RwSignal::new(limit.is_some()),
            requests: NodeRef::new(),
            per: NodeRef::new(),
        }
    }

    /// `full`, or the granted codes, comma-separated; `none` when nothing
    /// is chosen, which the server refuses next to the grid (an empty value
    /// would read as "left out").
    pub fn permissions(&self) -> String {
        if !self.restricted.get_untracked() {
            return "full".to_owned();
        }
        let levels = self.levels.get_untracked();
        let granted =
            Scopes::of(Resource::ALL.iter().zip(levels).flat_map(|(r, level)| r.grants(level).iter().copied()));
        if granted.is_empty() { "none".to_owned() } else { granted.to_codes() }
    }

    /// `none`, or the requests as typed, and the period's code.
    pub fn rate_limit(&self) -> (String, String) {
        if !self.limited.get_untracked() {
            return ("none".to_owned(), String::new());
        }
        let requests = self.requests.get_untracked().map(|input| input.value()).unwrap_or_default();
        let per = self.per.get_untracked().map(|select| select.value()).unwrap_or_default();
        (requests, per)
    }
}

/// Permissions: Full access (the default) or Restricted, which shows one
/// radio group per resource, labelled by the resource.
#[component]
pub fn PermissionsField(choice: RulesChoice, #[prop(into)] error: Signal<Option<String>>) -> impl IntoView {
    let restricted = choice.restricted;
    let id = "api-key-permissions";
    view! {
        <fieldset class="field choice" aria-describedby=move || error.with(Option::is_some).then(|| format!("{id}-error"))>
            <legend>"Permissions"</legend>
            <label>
                <input type="radio" name="permissions" checked=!restricted.get_untracked() on:change=move |_| restricted.set(false) />
                "Full access"
            </label>
            <label>
                <input type="radio" name="permissions" checked=restricted.get_untracked() on:change=move |_| restricted.set(true) />
                "Restricted"
            </label>
        </fieldset>
        <Show when=move || restricted.get()>
            <div class="permission-grid" aria-invalid=move || error.with(Option::is_some).then_some("true")>
                {Resource::ALL.into_iter().enumerate().map(|(row, resource)| view! { <ResourceRow row resource levels=choice.levels /> }).collect_view()}
            </div>
        </Show>
        <FieldError id error />
    }
}

/// One resource's None / Read / Write.
#[component]
fn ResourceRow(row: usize, resource: Resource, levels: RwSignal<[Level; 4]>) -> impl IntoView {
    let label_id = format!("permission-{}", resource.code());
    let name = label_id.clone();
    let labelled_by = label_id.clone();
    let now = levels.get_untracked()[row];
    view! {
        <div class="permission-row" role="radiogroup" aria-labelledby=labelled_by>
            <span id=label_id class="permission-resource">{resource.label()}</span>
            {resource
                .levels()
                .iter()
                .map(|level| {
                    let level = *level;
                    view! {
                        <label>
                            <input
                                type="radio"
                                name=name.clone()
                                value=level.code()
                                checked=now == level
                                on:change=move |_| levels.update(|l| l[row] = level)
                            />
                            {level.label()}
                        </label>
                    }
                })
                .collect_view()}
        </div>
    }
}

/// Rate limit: No limit (the default) or Limited, which shows Requests and Per.
#[component]
pub fn RateLimitField(
    choice: RulesChoice,
    initial: Option<RateLimit>,
    #[prop(into)] requests_error: Signal<Option<String>>,
    #[prop(into)] per_error: Signal<Option<String>>,
) -> impl IntoView {
    let limited = choice.limited;
    let (requests_id, per_id) = ("api-key-rate-requests", "api-key-rate-per");
    let initial_requests = initial.map(|l| l.requests.to_string()).unwrap_or_default();
    let initial_per = initial.map_or(Period::Minute, |l| l.per);
    view! {
        <fieldset class="field choice">
            <legend>"Rate limit"</legend>
            <label>
                <input type="radio" name="rate-limit" checked=initial.is_none() on:change=move |_| limited.set(false) />
                "No limit"
            </label>
            <label>
                <input type="radio" name="rate-limit" checked=initial.is_some() on:change=move |_| limited.set(true) />
                "Limited"
            </label>
        </fieldset>
        <Show when=move || limited.get()>
            <div class="field-row">
                <div class="field">
                    <label for=requests_id>"Requests"</label>
                    <input
                        id=requests_id
                        // No min or max: the server's message, next to the field, says the bounds.
                        type="number"
                        inputmode="numeric"
                        node_ref=choice.requests
                        value=initial_requests.clone()
                        aria-invalid=move || requests_error.with(Option::is_some).then_some("true")
                        aria-describedby=move || requests_error.with(Option::is_some).then(|| format!("{requests_id}-error"))
                    />
                    <FieldError id=requests_id error=requests_error />
                </div>
                <div class="field">
                    <label for=per_id>"Per"</label>
                    <select
                        id=per_id
                        node_ref=choice.per
                        aria-invalid=move || per_error.with(Option::is_some).then_some("true")
                        aria-describedby=move || per_error.with(Option::is_some).then(|| format!("{per_id}-error"))
                    >
                        {Period::ALL
                            .into_iter()
                            .map(|p| view! { <option value=p.code() selected=p == initial_per>{p.label()}</option> })
                            .collect_view()}
                    </select>
                    <FieldError id=per_id error=per_error />
                </div>
            </div>
            <p class="hint">"A burst of up to that many requests is let through at once."</p>
        </Show>
    }
}
