//! Hears the changes other instances commit (PostgreSQL `LISTEN`), so a key
//! deleted, disabled, rolled or moved through one instance stops working on
//! every instance within milliseconds, not at the next 30 s re-read.
//!
//! While the listening connection is down, notifications are lost and nobody
//! can say which: the cache is cleared, and entries read meanwhile are
//! trusted for one second only. What the cache held is kept aside, to answer
//! only while the database itself cannot be asked (`Verifier::lose_track`). Once listening again, the cache is cleared
//! once more (what changed between the drop and the new LISTEN is unknown)
//! and entries live their usual time. The drop and the recovery are logged
//! once each, however many attempts the reconnection takes.

use crate::server::changes::{self, CHANNEL};
use crate::server::public_api::verifier::Verifier;
use sea_orm::sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long to wait before trying to listen again.
const RETRY: Duration = Duration::from_millis(250);

/// The name this instance's listening connection shows in `pg_stat_activity`.
pub fn application_name() -> String {
    format!("textpeak-listener-{}", std::process::id())
}

pub async fn run(database_url: String, verifier: Arc<Verifier>, mut stop: watch::Receiver<bool>) {
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
                    verifier.forget_cached();
                } else {
                    verifier.lose_track();
                    lost_track = true;
                }
                verifier.set_degraded(true);
                tokio::select! {
                    _ = tokio::time::sleep(RETRY) => continue,
                    _ = stop.changed() => return,
                }
            }
        };
        // Listening (again): whatever changed before this moment is read afresh.
        verifier.clear();
        verifier.set_degraded(false);
        if down_since_logged {
            tracing::info!("listening for other instances' changes again");
        } else {
            tracing::debug!("listening for other instances' changes");
        }
        loop {
            let received = tokio::select! {
                received = listener.try_recv() => received,
                _ = stop.changed() => return,
            };
            match received {
                Ok(Some(notification)) => match changes::decode(notification.payload()) {
                    Some(heard) => changes::forget(&verifier, &heard),
                    None => {
                        tracing::warn!(
                            payload = notification.payload(),
                            "unreadable change notification; forgetting every cached key"
                        );
                        verifier.clear();
                    }
                },
                Ok(None) | Err(_) => {
                    tracing::warn!(
                        "lost the connection that hears other instances' changes; cached keys are trusted for 1 s until it is back"
                    );
                    down_since_logged = true;
                    verifier.lose_track();
                    lost_track = true;
                    verifier.set_degraded(true);
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
