//! Previous / Next for the long tables (API keys, audit log).

use leptos::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PagerInfo {
    pub first: u64,
    pub last: u64,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
}

impl PagerInfo {
    /// `page` counts from 0; `shown` is how many rows this page has.
    pub fn new(total: u64, page: u64, page_size: u64, shown: usize) -> Self {
        let pages = total.div_ceil(page_size.max(1)).max(1);
        let first = page * page_size + 1;
        let last = (first + shown as u64).saturating_sub(1);
        Self { first, last, total, page, pages }
    }
}

#[component]
pub fn Pager(info: PagerInfo, page: RwSignal<u64>, label: &'static str) -> impl IntoView {
    (info.pages > 1).then(|| {
        view! {
            <nav class="pager" aria-label=label>
                <span>{format!("{}–{} of {}", info.first, info.last, info.total)}</span>
                <button
                    type="button"
                    class="button small"
                    disabled=info.page == 0
                    on:click=move |_| page.set(info.page.saturating_sub(1))
                >
                    "Previous"
                </button>
                <span>{format!("Page {} of {}", info.page + 1, info.pages)}</span>
                <button
                    type="button"
                    class="button small"
                    disabled=info.page + 1 >= info.pages
                    on:click=move |_| page.set(info.page + 1)
                >
                    "Next"
                </button>
            </nav>
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_rows_and_pages() {
        assert_eq!(PagerInfo::new(120, 0, 50, 50), PagerInfo { first: 1, last: 50, total: 120, page: 0, pages: 3 });
        assert_eq!(PagerInfo::new(120, 2, 50, 20), PagerInfo { first: 101, last: 120, total: 120, page: 2, pages: 3 });
        assert_eq!(PagerInfo::new(50, 0, 50, 50).pages, 1);
        assert_eq!(PagerInfo::new(0, 0, 50, 0).pages, 1);
    }
}
