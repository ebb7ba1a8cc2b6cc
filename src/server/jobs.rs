//! Background work, each job started with the server and stopped with it:
//! writing what tokens did ("last used", hourly counts, addresses, refusals;
//! coalesced, never per request); forgetting what the sign-in and
//! unknown-token limits, the 90-day usage history and the audit log's
//! retention no longer need; reading cached tokens in use again before they
//! expire; keeping the token index current (catching up
//! on tokens other processes made, and an hourly rebuild that drops deleted
//! ones); and, on PostgreSQL, hearing other instances' changes (`listener`)
//! and sending the heartbeat that lets every listener know it still hears.

pub mod listener;

use crate::server::state::AppState;
use sea_orm::DbBackend;
use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// "Last used" is written at most this often per key, never per request.
pub const USAGE_FLUSH_INTERVAL: Duration = Duration::from_secs(60);
/// Idle throttle and limit entries are forgotten this often, so their memory stays bounded.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(60);
/// How often the token index adds the tokens other processes made.
pub const CATCH_UP_INTERVAL: Duration = Duration::from_secs(2);
/// How often cached tokens past their refresh point are read again (well
/// inside the 1.5 s between the latest refresh point and expiry).
pub const REFRESH_INTERVAL: Duration = Duration::from_millis(500);
/// How often the token index is rebuilt, dropping deleted tokens.
pub const REBUILD_INTERVAL: Duration = Duration::from_secs(3600);

pub struct Jobs {
    state: AppState,
    stop: watch::Sender<bool>,
    running: Vec<JoinHandle<()>>,
}

impl Jobs {
    pub fn start(state: &AppState) -> Self {
        let (stop, stopped) = watch::channel(false);
        let flush = {
            let state = state.clone();
            every(USAGE_FLUSH_INTERVAL, stopped.clone(), move || flush_usage(state.clone()))
        };
        let prune = {
            let state = state.clone();
            every(PRUNE_INTERVAL, stopped.clone(), move || prune(state.clone()))
        };
        let catch_up = {
            let state = state.clone();
            every(CATCH_UP_INTERVAL, stopped.clone(), move || catch_up(state.clone()))
        };
        let rebuild = {
            let state = state.clone();
            every(REBUILD_INTERVAL, stopped.clone(), move || rebuild(state.clone()))
        };
        let share_limits = {
            let state = state.clone();
            every(crate::server::public_api::rate_limits::SYNC_EVERY, stopped.clone(), move || {
                share_limits(state.clone())
            })
        };
        let refresh = {
            let state = state.clone();
            every(REFRESH_INTERVAL, stopped.clone(), move || refresh_tokens(state.clone()))
        };
        let mut running = vec![flush, prune, catch_up, rebuild, share_limits, refresh];
        if state.db.get_database_backend() == DbBackend::Postgres {
            let url = state.settings.database_url.clone();
            running.push(tokio::spawn(listener::run(url, state.db.clone(), state.verifier.clone(), stopped.clone())));
            let state = state.clone();
            running.push(every(listener::HEARTBEAT_EVERY, stopped, move || heartbeat(state.clone())));
        }
        Jobs { state: state.clone(), stop, running }
    }

    /// Stops every job once the run under way is over, then writes the uses
    /// recorded since the last flush.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for job in self.running {
            let _ = job.await;
        }
        flush_usage(self.state).await;
    }
}

/// Runs `job` every `interval` until `stop` changes; a run under way finishes first.
fn every<F, Fut>(interval: Duration, mut stop: watch::Receiver<bool>, job: F) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = ticker.tick() => job().await,
                _ = stop.changed() => return,
            }
        }
    })
}

async fn flush_usage(state: AppState) {
    let started = std::time::Instant::now();
    let flushed = state.usage.flush(&state.db).await;
    crate::server::metrics::usage_flushed(
        started.elapsed(),
        flushed.as_ref().map(|done| (done.keys, done.refusals_dropped)).map_err(drop),
    );
    if let Err(e) = flushed {
        tracing::error!(error = %e, "could not record the last uses of API keys");
    }
}

/// Tokens made since the last catch-up (and a minute before, for slow commits).
async fn catch_up(state: AppState) {
    let since = state.clock.now_ms() - crate::server::public_api::tokens::CATCH_UP_OVERLAP_MS;
    if let Err(e) = state.verifier.tokens().catch_up(&state.db, since).await {
        tracing::debug!(error = %e, "could not catch up on new tokens");
    }
}

async fn refresh_tokens(state: AppState) {
    if let Err(e) = state.verifier.refresh(&state.db).await {
        tracing::debug!(error = %e, "could not refresh cached tokens; they are looked up when they expire");
    }
}

async fn rebuild(state: AppState) {
    if let Err(e) = state.verifier.tokens().reload(&state.db).await {
        tracing::warn!(error = %e, "could not rebuild the token index");
    }
}

/// Tells the other instances what this one let through under each key's
/// rate limit, and counts what they did.
async fn share_limits(state: AppState) {
    if let Err(e) = state.verifier.rate_limits().sync(&state.db, state.clock.now_ms()).await {
        tracing::debug!(error = %e, "could not share rate-limit counts");
    }
}

/// Heard by every listener, this one's included: proof the channel works.
async fn heartbeat(state: AppState) {
    use sea_orm::{ConnectionTrait, Statement};
    let ping = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [crate::server::changes::CHANNEL.into(), crate::server::changes::HEARTBEAT.into()],
    );
    if let Err(e) = state.db.execute_raw(ping).await {
        tracing::debug!(error = %e, "could not send the heartbeat");
    }
}

/// Hourly counts are kept this long.
const USAGE_KEPT_HOURS: i64 = 90 * 24;

/// One run of the pruning job; public so a test can run it without waiting a minute.
pub async fn prune(state: AppState) {
    state.verifier.prune();
    let oldest_kept = crate::domain::usage::hour_of(state.clock.now_ms()) - USAGE_KEPT_HOURS;
    if let Err(e) = crate::db::service::usage::prune_hours(&state.db, oldest_kept).await {
        tracing::warn!(error = %e, "could not prune old hourly counts");
    }
    let today = state.clock.now_ms().div_euclid(crate::domain::lifecycle::DAY_MS);
    if let Err(e) = crate::db::service::usage::roll_weeks(&state.db, today).await {
        tracing::warn!(error = %e, "could not move the keys' weeks on to today");
    }
    if let Err(e) = state.throttle.prune(&state.db, state.clock.now_ms()).await {
        tracing::warn!(error = %e, "could not prune the sign-in throttle");
    }
    if let Err(e) = state.verifier.rate_limits().prune(&state.db, state.clock.now_ms()).await {
        tracing::warn!(error = %e, "could not prune rate-limit counts");
    }
    if let Err(e) = crate::db::service::known_browsers::prune(&state.db, state.clock.now_ms()).await {
        tracing::warn!(error = %e, "could not prune known browsers");
    }
    let retention = state.settings.audit_retention_days as i64 * crate::domain::lifecycle::DAY_MS;
    if let Err(e) = crate::db::service::audit::prune(&state.db, state.clock.now_ms() - retention).await {
        tracing::warn!(error = %e, "could not prune the audit log");
    }
}
