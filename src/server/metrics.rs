//! Prometheus metrics for the people who run the console, served on an
//! address of their own (`TEXTPEAK_METRICS_ADDR`), never the console's.
//!
//! The code records through the `metrics` facade: with no exporter installed
//! (the setting unset) every call is a load of an unset global and nothing
//! more. Counters and the latency histogram are recorded where things
//! happen; figures that describe a state (cache size, pool, listener) are
//! read when Prometheus scrapes, so the hot path never keeps them current.

use crate::server::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub const VERIFICATIONS: &str = "textpeak_verifications_total";
pub const VERIFY_SECONDS: &str = "textpeak_verification_duration_seconds";
pub const CACHE_ENTRIES: &str = "textpeak_token_cache_entries";
pub const CACHE_HITS: &str = "textpeak_token_cache_hits_total";
pub const CACHE_MISSES: &str = "textpeak_token_cache_misses_total";
pub const INDEX_TOKENS: &str = "textpeak_token_index_tokens";
pub const DB_LOOKUPS: &str = "textpeak_database_lookups_total";
pub const REFRESHES: &str = "textpeak_token_refreshes_total";
pub const LISTENER_UP: &str = "textpeak_listener_up";
pub const LISTENER_UNHEARD: &str = "textpeak_listener_unheard_seconds";
pub const CHANGES_PUBLISHED: &str = "textpeak_changes_published_total";
pub const CHANGES_RECEIVED: &str = "textpeak_changes_received_total";
pub const FLUSH_SECONDS: &str = "textpeak_usage_flush_duration_seconds";
pub const FLUSH_ROWS: &str = "textpeak_usage_flush_keys_total";
pub const FLUSH_FAILURES: &str = "textpeak_usage_flush_failures_total";
pub const REFUSALS_DROPPED: &str = "textpeak_usage_refusals_dropped_total";
pub const SIGN_INS: &str = "textpeak_sign_in_attempts_total";
pub const POOL_CONNECTIONS: &str = "textpeak_database_pool_connections";
pub const BUILD_INFO: &str = "textpeak_build_info";

/// Verification takes microseconds from memory and milliseconds from the database.
const VERIFY_BUCKETS: &[f64] =
    &[0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1, 0.5, 1.5];
const FLUSH_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0];
/// Histograms hold their samples until upkeep folds them in; this bounds that memory between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Installs the process-wide Prometheus recorder; from then on every
/// recording lands in it. Fails if one is installed already.
pub fn install(database: &'static str) -> Result<PrometheusHandle, String> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(VERIFY_SECONDS.into()), VERIFY_BUCKETS)
        .and_then(|builder| builder.set_buckets_for_metric(Matcher::Full(FLUSH_SECONDS.into()), FLUSH_BUCKETS))
        .and_then(|builder| builder.install_recorder())
        .map_err(|e| format!("TEXTPEAK_METRICS_ADDR: cannot start the metrics recorder: {e}"))?;
    describe();
    INSTALLED.store(true, Ordering::Relaxed);
    gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION"), "database" => database).set(1.0);
    // Every outcome is listed from the first scrape, at zero: an alert on a
    // rate never has to tell "nothing yet" from "no such series".
    for outcome in OUTCOMES {
        counter!(VERIFICATIONS, "outcome" => *outcome).absolute(0);
    }
    for outcome in SIGN_IN_OUTCOMES {
        counter!(SIGN_INS, "outcome" => *outcome).absolute(0);
    }
    Ok(handle)
}

/// Every `outcome` label of [`VERIFICATIONS`]: `allowed`, then the API's error codes.
pub const OUTCOMES: &[&str] = &[
    "allowed",
    "missing_token",
    "malformed_token",
    "invalid_token",
    "token_expired",
    "key_disabled",
    "key_expired",
    "ip_not_allowed",
    "too_many_unknown_tokens",
    "rate_limited",
    "unavailable",
    "internal",
];
pub const SIGN_IN_OUTCOMES: &[&str] = &["success", "wrong", "throttled", "busy", "error"];

fn describe() {
    describe_counter!(VERIFICATIONS, "API token verifications, by outcome (allowed, or the refusal's error code)");
    describe_histogram!(VERIFY_SECONDS, Unit::Seconds, "Time to verify an API token, whatever the outcome");
    describe_gauge!(CACHE_ENTRIES, "Keys held in the token cache");
    describe_counter!(CACHE_HITS, "Verifications decided by the token cache (known or known-unknown)");
    describe_counter!(CACHE_MISSES, "Verifications the token cache could not decide");
    describe_gauge!(INDEX_TOKENS, "Token digests in the in-memory index that refuses made-up tokens");
    describe_counter!(DB_LOOKUPS, "Token lookups that went to the database");
    describe_counter!(REFRESHES, "Cached tokens in use read again before expiry, by outcome (renewed, gone, failed)");
    describe_gauge!(LISTENER_UP, "1 while this instance hears other instances' changes (PostgreSQL)");
    describe_gauge!(LISTENER_UNHEARD, Unit::Seconds, "Seconds since the database was last heard (PostgreSQL)");
    describe_counter!(CHANGES_PUBLISHED, "Key, IP ACL and token changes announced to other instances");
    describe_counter!(CHANGES_RECEIVED, "Changes heard from other instances");
    describe_histogram!(FLUSH_SECONDS, Unit::Seconds, "Time to write the uses of API keys held in memory");
    describe_counter!(FLUSH_ROWS, "API keys whose uses were written");
    describe_counter!(FLUSH_FAILURES, "Writes of uses that failed (kept in memory for the next)");
    describe_counter!(REFUSALS_DROPPED, "Refused uses dropped because they came faster than they were written");
    describe_counter!(SIGN_INS, "Console sign-in attempts, by outcome");
    describe_gauge!(POOL_CONNECTIONS, "Database pool connections, by state (in_use, idle)");
    describe_gauge!(BUILD_INFO, "Always 1; the labels say the version and the database");
}

/// Set once this module installs the recorder: until then a verification is
/// not timed at all (two clock reads a request for a histogram nobody keeps).
/// A recorder installed any other way sees no verifications.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// When a verification started, if anyone records how long it took.
pub fn verification_started() -> Option<Instant> {
    INSTALLED.load(Ordering::Relaxed).then(Instant::now)
}

/// One verification and what it came to.
pub fn verified(outcome: &'static str, started: Option<Instant>) {
    let Some(started) = started else { return };
    counter!(VERIFICATIONS, "outcome" => outcome).increment(1);
    histogram!(VERIFY_SECONDS).record(started.elapsed().as_secs_f64());
}

pub fn cache(hit: bool) {
    if hit {
        counter!(CACHE_HITS).increment(1);
    } else {
        counter!(CACHE_MISSES).increment(1);
    }
}

pub fn database_lookup() {
    counter!(DB_LOOKUPS).increment(1);
}

/// What a batch of the token cache's refresh came to.
pub fn refreshed(outcome: &'static str, tokens: usize) {
    counter!(REFRESHES, "outcome" => outcome).increment(tokens as u64);
}

pub fn changes_published(count: usize) {
    counter!(CHANGES_PUBLISHED).increment(count as u64);
}

pub fn changes_received(count: usize) {
    counter!(CHANGES_RECEIVED).increment(count as u64);
}

/// One write of the uses held in memory: how long, how many keys, what was lost.
pub fn usage_flushed(took: Duration, result: Result<(usize, u64), ()>) {
    histogram!(FLUSH_SECONDS).record(took.as_secs_f64());
    match result {
        Ok((keys, dropped)) => {
            counter!(FLUSH_ROWS).increment(keys as u64);
            counter!(REFUSALS_DROPPED).increment(dropped);
        }
        Err(()) => counter!(FLUSH_FAILURES).increment(1),
    }
}

pub fn sign_in(outcome: &'static str) {
    counter!(SIGN_INS, "outcome" => outcome).increment(1);
}

/// The figures that describe a state, read now.
fn sample(state: &AppState) {
    let now = Instant::now();
    let cache = state.verifier.cache();
    gauge!(CACHE_ENTRIES).set(cache.len() as f64);
    gauge!(INDEX_TOKENS).set(state.verifier.tokens().len() as f64);
    if state.db.get_database_backend() == sea_orm::DbBackend::Postgres {
        gauge!(LISTENER_UP).set(if cache.listening() { 1.0 } else { 0.0 });
        gauge!(LISTENER_UNHEARD).set(cache.unheard_for(now).as_secs_f64());
    }
    if let Some((size, idle)) = pool(&state.db) {
        gauge!(POOL_CONNECTIONS, "state" => "in_use").set(size.saturating_sub(idle) as f64);
        gauge!(POOL_CONNECTIONS, "state" => "idle").set(idle as f64);
    }
}

/// The pool's open and idle connections.
fn pool(db: &sea_orm::DatabaseConnection) -> Option<(usize, usize)> {
    match db.get_database_backend() {
        #[cfg(feature = "sqlite")]
        sea_orm::DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            Some((pool.size() as usize, pool.num_idle()))
        }
        #[cfg(feature = "postgres")]
        sea_orm::DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            Some((pool.size() as usize, pool.num_idle()))
        }
        _ => None,
    }
}

async fn scrape(State((handle, state)): State<(PrometheusHandle, AppState)>) -> Response {
    sample(&state);
    let mut response = handle.render().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

/// Serves `GET /metrics` on `listener` until `stop` ends, and folds the
/// histograms' samples in every few seconds meanwhile.
pub async fn serve(
    listener: tokio::net::TcpListener,
    handle: PrometheusHandle,
    state: AppState,
    stop: impl Future<Output = ()> + Send + 'static,
) {
    let upkeep = {
        let handle = handle.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(UPKEEP_EVERY);
            loop {
                ticker.tick().await;
                handle.run_upkeep();
            }
        })
    };
    let router = Router::new().route("/metrics", get(scrape)).with_state((handle, state));
    if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(stop).await {
        tracing::error!(error = %e, "the metrics endpoint stopped");
    }
    upkeep.abort();
}
