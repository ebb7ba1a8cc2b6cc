use leptos::prelude::*;
use leptos_meta::Title;

/// The landing page: where to go next.
#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Overview" />
        <header class="page-header">
            <h1>"TextPeak Console"</h1>
        </header>
        <section class="panel">
            <p>
                "Your software calls the TextPeak API with an API key. Manage your keys under "
                <a href="/settings/api-keys">"Settings › API Keys"</a> "."
            </p>
        </section>
    }
}
