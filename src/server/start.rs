//! Starting the server: settings, logging, database, first admin, listener.

use crate::db;
use crate::db::service::{accounts, admins};
use crate::domain::password;
use crate::server::config::Settings;
use crate::server::routes::router;
use crate::server::state::AppState;
use crate::server::throttle::SignInThrottle;
use crate::server::verifier::Verifier;
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;
use std::sync::Arc;

pub const FIRST_ADMIN: &str = "admin";

/// Logs go to stderr through `tracing`; `RUST_LOG` chooses what (default: info).
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr).try_init();
}

/// Opens (creating if needed) and migrates the configured database.
pub async fn open_database(settings: &Settings) -> Result<DatabaseConnection, String> {
    if let Some(dir) = settings.sqlite_dir() {
        std::fs::create_dir_all(&dir).map_err(|e| format!("database folder {}: {e}", dir.display()))?;
    }
    db::connect(&settings.database_url).await.map_err(|e| format!("DATABASE_URL: cannot open the database: {e}"))
}

/// What a first start did, for the operator's eyes only.
pub struct FirstStart {
    /// The generated password of `admin`, when `TEXTPEAK_ADMIN_PASSWORD` was not set.
    pub generated_password: Option<String>,
}

/// With no admin at all, creates the account "Default" and its admin `admin`.
pub async fn ensure_first_admin(db: &DatabaseConnection, settings: &Settings) -> Result<Option<FirstStart>, String> {
    if admins::count(db).await.map_err(|e| format!("first start: {e}"))? > 0 {
        return Ok(None);
    }
    let account = accounts::ensure_default(db).await.map_err(|e| format!("first start: {e}"))?;
    let (password, generated) = match &settings.admin_password {
        Some(p) => (p.clone(), false),
        None => (password::generate().map_err(|e| format!("first start: {e}"))?, true),
    };
    admins::create(db, account.id, FIRST_ADMIN, &password).await.map_err(|e| format!("first start: {e}"))?;
    tracing::info!(account = %account.name, username = FIRST_ADMIN, "created the first admin");
    Ok(Some(FirstStart { generated_password: generated.then_some(password) }))
}

/// Builds the shared state: database ready, first admin in place.
pub async fn build_state(settings: Settings) -> Result<(AppState, Option<FirstStart>), String> {
    let db = open_database(&settings).await?;
    let first_start = ensure_first_admin(&db, &settings).await?;
    let state = AppState {
        leptos_options: settings.leptos.clone(),
        master_key: Arc::new(settings.master_key.clone()),
        db,
        throttle: Arc::new(SignInThrottle::default()),
        verifier: Arc::new(Verifier::default()),
        settings: Arc::new(settings),
    };
    Ok((state, first_start))
}

pub async fn serve(settings: Settings) -> Result<(), String> {
    let addr = settings.leptos.site_addr;
    // Listen for SIGTERM/SIGINT before anything else: a stop requested while
    // starting is then a clean stop once started, never the default kill that
    // would lose the last uses held in memory.
    let shutdown = shutdown_signal()?;
    // Bound before the first admin is made: a start that cannot listen
    // changes nothing and prints no password that then goes unused.
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("LEPTOS_SITE_ADDR: cannot listen on {addr}: {e}"))?;
    let (state, first_start) = build_state(settings).await?;
    if let Some(FirstStart { generated_password: Some(password) }) = first_start {
        // Printed once, to the operator's terminal only; never logged.
        println!(
            "\n  First start: sign in as \"{FIRST_ADMIN}\" with the password\n\n      {password}\n\n  \
             It is not shown again. Set TEXTPEAK_ADMIN_PASSWORD before the first start to choose it.\n"
        );
    }
    tracing::info!("TextPeak Console listening on http://{addr}");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let flusher = tokio::spawn(flush_usage_every(state.clone(), USAGE_FLUSH_INTERVAL, stopped));
    let served = axum::serve(listener, router(state.clone()).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await;
    // The flusher finishes a flush under way before it stops; then the last
    // uses since are written before the process goes.
    let _ = stop.send(true);
    let _ = flusher.await;
    if let Err(e) = state.verifier.flush_usage(&state.db).await {
        tracing::error!(error = %e, "could not record the last uses of API keys");
    }
    served.map_err(|e| format!("server: {e}"))?;
    tracing::info!("TextPeak Console stopped");
    Ok(())
}

/// "Last used" is written at most this often per key, never per request.
pub const USAGE_FLUSH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

async fn flush_usage_every(
    state: AppState,
    interval: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if let Err(e) = state.verifier.flush_usage(&state.db).await {
                    tracing::error!(error = %e, "could not record the last uses of API keys");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Registers the stop signals at once; the returned future ends on the first.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).map_err(|e| format!("cannot listen for SIGTERM: {e}"))?;
        let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| format!("cannot listen for SIGINT: {e}"))?;
        Ok(async move {
            tokio::select! {
                _ = terminate.recv() => {},
                _ = interrupt.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
