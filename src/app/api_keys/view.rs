//! The table's view (search, status filter, sort, page) as the page's URL
//! holds it, so reload and Back keep it and a link can point at it.

use crate::app::format::query_value;
use crate::rpc::api_keys::{EXPORT_PATH, PageCursor, SortColumn, SortDirection, StatusFilter};
use leptos_router::params::ParamsMap;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeysView {
    pub q: String,
    pub status: StatusFilter,
    pub sort: SortColumn,
    pub dir: SortDirection,
    pub cursor: Option<PageCursor>,
}

impl KeysView {
    /// Reads the URL's query; anything unreadable falls back to the default.
    pub fn from_query(query: &ParamsMap) -> Self {
        let sort = query.get("sort").and_then(|s| SortColumn::from_code(&s)).unwrap_or_default();
        let id = |name: &str| query.get(name).and_then(|v| v.parse::<i32>().ok());
        KeysView {
            q: query.get("q").unwrap_or_default(),
            status: query.get("status").and_then(|s| StatusFilter::from_code(&s)).unwrap_or_default(),
            dir: query.get("dir").and_then(|d| SortDirection::from_code(&d)).unwrap_or_else(|| {
                if sort == SortColumn::default() { SortDirection::default() } else { sort.first_direction() }
            }),
            sort,
            cursor: id("after").map(PageCursor::After).or(id("before").map(PageCursor::Before)),
        }
    }

    /// The page's address for this view; defaults are left out.
    pub fn href(&self) -> String {
        self.address(PAGE, true)
    }

    /// The CSV of every key this view selects, whichever page is on screen.
    pub fn download_href(&self) -> String {
        self.address(EXPORT_PATH, false)
    }

    fn address(&self, path: &str, with_cursor: bool) -> String {
        let mut query: Vec<(&str, String)> = Vec::new();
        if !self.q.is_empty() {
            query.push(("q", self.q.clone()));
        }
        if self.status != StatusFilter::default() {
            query.push(("status", self.status.code().to_owned()));
        }
        if self.sort != SortColumn::default() || self.dir != SortDirection::default() {
            query.push(("sort", self.sort.code().to_owned()));
            query.push(("dir", self.dir.code().to_owned()));
        }
        match self.cursor.filter(|_| with_cursor) {
            Some(PageCursor::After(id)) => query.push(("after", id.to_string())),
            Some(PageCursor::Before(id)) => query.push(("before", id.to_string())),
            None => {}
        }
        let encoded: Vec<String> = query.into_iter().map(|(k, v)| format!("{k}={}", query_value(&v))).collect();
        if encoded.is_empty() { path.to_owned() } else { format!("{path}?{}", encoded.join("&")) }
    }

    /// The same view from its first page (a new search, filter or sort starts there).
    pub fn first_page(&self) -> Self {
        KeysView { cursor: None, ..self.clone() }
    }

    /// The view sorted by `column`: a second click on the sorted column turns the order round.
    pub fn sorted_by(&self, column: SortColumn) -> Self {
        let dir = if self.sort == column { self.dir.flipped() } else { column.first_direction() };
        KeysView { sort: column, dir, cursor: None, ..self.clone() }
    }

    pub fn at(&self, cursor: PageCursor) -> Self {
        KeysView { cursor: Some(cursor), ..self.clone() }
    }
}

pub const PAGE: &str = "/settings/api-keys";

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> ParamsMap {
        let mut map = ParamsMap::new();
        for (k, v) in pairs {
            map.insert(k.to_string(), v.to_string());
        }
        map
    }

    #[test]
    fn the_default_view_is_the_bare_page() {
        assert_eq!(KeysView::from_query(&query(&[])), KeysView::default());
        assert_eq!(KeysView::default().href(), "/settings/api-keys");
    }

    #[test]
    fn a_view_round_trips_through_its_address() {
        let view = KeysView {
            q: "50% off & more".into(),
            status: StatusFilter::Disabled,
            sort: SortColumn::Name,
            dir: SortDirection::Asc,
            cursor: Some(PageCursor::After(42)),
        };
        let href = view.href();
        assert_eq!(href, "/settings/api-keys?q=50%25%20off%20%26%20more&status=disabled&sort=name&dir=asc&after=42");
        let pairs: Vec<(String, String)> = href
            .split_once('?')
            .unwrap()
            .1
            .split('&')
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k.to_owned(), percent_decode(v))
            })
            .collect();
        let map = query(&pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>());
        assert_eq!(KeysView::from_query(&map), view);
        assert_eq!(
            view.download_href(),
            "/settings/api-keys/export.csv?q=50%25%20off%20%26%20more&status=disabled&sort=name&dir=asc",
            "every page of the view, not the one on screen"
        );
    }

    #[test]
    fn sorting_by_a_column_twice_turns_the_order_round() {
        let view = KeysView::default().at(PageCursor::After(3));
        let by_name = view.sorted_by(SortColumn::Name);
        assert_eq!((by_name.sort, by_name.dir, by_name.cursor), (SortColumn::Name, SortDirection::Asc, None));
        assert_eq!(by_name.sorted_by(SortColumn::Name).dir, SortDirection::Desc);
        assert_eq!(
            view.sorted_by(SortColumn::Created).dir,
            SortDirection::Asc,
            "created is already sorted newest first"
        );
    }

    fn percent_decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }
}
