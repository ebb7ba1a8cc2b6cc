//! Background work, each job started with the server and stopped with it:
//! writing what tokens did ("last used", hourly counts, addresses, refusals;
//! coalesced, never per request), forgetting what the sign-in and
//! unknown-token limits and the 90-day usage history no longer need, and, on PostgreSQL,
//! hearing other instances' changes (`listener`).

pub mod listener;

use crate::db::service::now_ms;
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
        let mut running = vec![flush, prune];
        if state.db.get_database_backend() == DbBackend::Postgres {
            let url = state.settings.database_url.clone();
            running.push(tokio::spawn(listener::run(url, state.verifier.clone(), stopped)));
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
    if let Err(e) = state.verifier.flush_usage(&state.db).await {
        tracing::error!(error = %e, "could not record the last uses of API keys");
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
    if let Err(e) = state.throttle.prune(&state.db, now_ms()).await {
        tracing::warn!(error = %e, "could not prune the sign-in throttle");
    }
}
