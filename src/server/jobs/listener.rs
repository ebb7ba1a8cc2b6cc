//! Hears the changes other instances commit (PostgreSQL `LISTEN`), so a key
//! deleted, disabled, rolled or moved through one instance stops working on
//! every instance within milliseconds, not at the next 30 s re-read, and a
//! token made elsewhere is known to this instance's token index.
//!
//! A connection cut by a NAT or a proxy idle timeout can look open for
//! minutes: every instance sends a heartbeat on the channel every
//! [`HEARTBEAT_EVERY`] (`jobs::heartbeat`), so a listener that hears nothing
//! for [`HEARD_WITHIN`] counts its connection as lost on its own.
//!
//! While the listening connection is down, notices are lost and nobody can
//! say which: the cache is cleared, entries read meanwhile are trusted for
//! one second only, and the token index is not trusted (lookups go to the
//! database). What the cache held is kept aside, to answer only while the
//! database itself cannot be asked (`TokenCache::lose_track`). After the
//! stale limit without hearing anything, nothing answers from memory at all
//! (`TokenCache::stale`). Once listening again, the index is read afresh and
//! the cache cleared (what changed between the drop and the new LISTEN is
//! unknown). The drop and the recovery are logged once each, however many
//! attempts the reconnection takes.

use crate::server::changes::{self, CHANNEL};
use crate::server::public_api::verifier::Verifier;
use sea_orm::DatabaseConnection;
use sea_orm::sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long to wait before trying to listen again.
const RETRY: Duration = Duration::from_millis(250);
/// How often each instance sends a heartbeat on the channel.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// A listener that hears nothing (no change, no heartbeat of any instance,
/// its own included) for this long counts its connection as lost.
pub const HEARD_WITHIN: Duration = Duration::from_secs(5);

/// The name this instance's listening connection shows in `pg_stat_activity`.
pub fn application_name() -> String {
    format!("textpeak-listener-{}", std::process::id())
}

pub async fn run(
    database_url: String,
    db: DatabaseConnection,
    verifier: Arc<Verifier>,
    mut stop: watch::Receiver<bool>,
) {
    let cache = verifier.cache();
    let mut down_since_logged = false;
    // Set when the cache's state was put aside as the last known one: retries
    // must not overwrite it with later reads. Listening again ends in the
    // lost-connection branch, which sets it anew.
    let mut lost_track = false;
    loop {
        let connected = tokio::select! {
            connected = listen(&database_url) => connected,
            _ = stop.changed() => return,
        };
        let mut listener = match connected {
            Ok(listener) => listener,
            Err(e) => {
                if !down_since_logged {
                    tracing::warn!(error = %e, "cannot listen for other instances' changes; cached keys are trusted for 1 s until it can");
                    down_since_logged = true;
                }
                if lost_track {
                    cache.forget_cached();
                } else {
                    cache.lose_track();
                    verifier.tokens().distrust();
                    lost_track = true;
                }
                cache.set_degraded(true);
                tokio::select! {
                    _ = tokio::time::sleep(RETRY) => continue,
                    _ = stop.changed() => return,
                }
            }
        };
        // Listening (again): whatever changed before this moment is read afresh.
        if lost_track || !verifier.tokens().trusted() {
            match verifier.tokens().reload(&db).await {
                Ok(loaded) => tracing::debug!(tokens = loaded.tokens, "token index read afresh"),
                // Still untrusted: lookups go to the database until the next reload.
                Err(e) => tracing::warn!(error = %e, "could not read the token index afresh"),
            }
        }
        cache.clear();
        cache.set_degraded(false);
        cache.heard(Instant::now());
        if down_since_logged {
            tracing::info!("listening for other instances' changes again");
        } else {
            tracing::debug!("listening for other instances' changes");
        }
        loop {
            // Dropped at the deadline: the listener is dropped with it, so a
            // half-read message cannot be read wrongly later.
            let received = tokio::select! {
                received = listener.try_recv() => Some(received),
                _ = tokio::time::sleep(HEARD_WITHIN) => None,
                _ = stop.changed() => return,
            };
            match received {
                Some(Ok(Some(notification))) => {
                    cache.heard(Instant::now());
                    match changes::decode(notification.payload()) {
                        Some(heard) => {
                            crate::server::metrics::changes_received(heard.len());
                            changes::forget(&verifier, &heard);
                        }
                        None => {
                            tracing::warn!(
                                payload = notification.payload(),
                                "unreadable change notification; forgetting every cached key"
                            );
                            cache.clear();
                        }
                    }
                }
                Some(Ok(None) | Err(_)) | None => {
                    let why = if received.is_none() {
                        "heard nothing, not even a heartbeat"
                    } else {
                        "the connection dropped"
                    };
                    tracing::warn!(
                        why,
                        "lost the connection that hears other instances' changes; cached keys are trusted for 1 s until it is back"
                    );
                    down_since_logged = true;
                    cache.lose_track();
                    verifier.tokens().distrust();
                    lost_track = true;
                    cache.set_degraded(true);
                    break;
                }
            }
        }
    }
}

async fn listen(database_url: &str) -> Result<PgListener, sea_orm::sqlx::Error> {
    let options = PgConnectOptions::from_str(database_url)?.application_name(&application_name());
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(2))
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}
