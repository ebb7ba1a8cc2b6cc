//! "Contains" searches (key names, audit subjects) on a trigram index: on
//! SQLite an FTS5 table and per-trigram counts kept by triggers (migrations
//! 5 and 11); on PostgreSQL a `pg_trgm` GIN index its planner uses by itself.

use crate::domain::validation::fold;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

/// Up to this many rows holding its rarest trigram, a search reads its
/// candidates from the trigram index; past it, matches are dense enough that
/// reading the table in the order asked for reaches a page of them quickly.
pub const INDEXED_SEARCH_MAX: i64 = 2_000;

/// A SQLite trigram index: an FTS5 table (trigram tokenizer) over one text
/// column, and a table of how many rows hold each trigram, both kept by triggers.
pub struct TrigramIndex {
    pub fts: &'static str,
    pub counts: &'static str,
    /// The counts table's column of rows per trigram.
    pub rows: &'static str,
}

/// On SQLite, the ids of the rows whose text may contain `search`, when
/// the trigram index can (three characters or more) and should (its rarest
/// trigram is rare) narrow the search: the rows holding its two rarest
/// trigrams (by the counts the triggers keep), which LIKE then checks
/// exactly. The cost follows the rarest trigrams, not the number of rows.
/// PostgreSQL's planner makes this choice by itself with its `pg_trgm`
/// index, so there this is `None`.
pub async fn candidates(
    db: &impl ConnectionTrait,
    search: &str,
    index: &TrigramIndex,
) -> Result<Option<Vec<i32>>, DbErr> {
    let chars: Vec<char> = fold(search.trim()).chars().collect();
    if db.get_database_backend() != DbBackend::Sqlite || chars.len() < 3 {
        return Ok(None);
    }
    let mut trigrams: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
    trigrams.sort();
    trigrams.dedup();
    let phrase = |term: &str| format!("\"{}\"", term.replace('"', "\"\""));
    let placeholders = vec!["?"; trigrams.len()].join(", ");
    let TrigramIndex { fts, counts, rows } = index;
    let counted = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            format!("SELECT trigram, {rows} AS n FROM {counts} WHERE trigram IN ({placeholders})"),
            trigrams.iter().map(|t| t.clone().into()),
        ))
        .await?;
    let mut held = std::collections::HashMap::new();
    for row in counted {
        held.insert(row.try_get::<String>("", "trigram")?, row.try_get::<i64>("", "n")?);
    }
    // A trigram no row holds counts 0: the rarest of all, and the search below finds little or nothing.
    let mut counts: Vec<(i64, &str)> =
        trigrams.iter().map(|t| (held.get(t).copied().unwrap_or(0), t.as_str())).collect();
    counts.sort();
    if counts[0].0 > INDEXED_SEARCH_MAX {
        return Ok(None);
    }
    let query = counts.iter().take(2).map(|(_, term)| phrase(term)).collect::<Vec<_>>().join(" AND ");
    // The counts bound this, unless they miss a trigram the index holds (a
    // text SQLite's ASCII `lower()` folded otherwise): past the bound, read in order.
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            format!("SELECT rowid AS id FROM {fts} WHERE {fts} MATCH ? LIMIT {}", INDEXED_SEARCH_MAX + 1),
            [query.into()],
        ))
        .await?;
    if rows.len() as i64 > INDEXED_SEARCH_MAX {
        return Ok(None);
    }
    rows.into_iter().map(|row| row.try_get::<i32>("", "id")).collect::<Result<_, _>>().map(Some)
}

/// `%text%` for LIKE, with LIKE's own wildcards in the text taken literally.
pub fn contains_pattern(search: &str) -> Option<String> {
    let folded = fold(search.trim());
    if folded.is_empty() {
        return None;
    }
    let mut pattern = String::with_capacity(folded.len() + 2);
    pattern.push('%');
    for c in folded.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    Some(pattern)
}
