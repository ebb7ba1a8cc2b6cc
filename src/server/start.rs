//! Starting the server: settings, logging, database, then the listener.

use crate::db;
use crate::db::service::accounts;
use crate::server::config::Settings;
use crate::server::routes::router;
use crate::server::state::AppState;
use std::net::SocketAddr;
use std::sync::Arc;

/// Logs go to stderr through `tracing`; `RUST_LOG` chooses what (default: info).
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).try_init();
}

/// Builds the shared state: connects, migrates, and makes sure the default account exists.
pub async fn build_state(settings: Settings) -> Result<AppState, String> {
    if let Some(dir) = settings.sqlite_dir() {
        std::fs::create_dir_all(&dir).map_err(|e| format!("database folder {}: {e}", dir.display()))?;
    }
    let db = db::connect(&settings.database_url)
        .await
        .map_err(|e| format!("DATABASE_URL: cannot open the database: {e}"))?;
    let account = accounts::ensure_default(&db).await.map_err(|e| format!("first start: {e}"))?;
    Ok(AppState {
        leptos_options: settings.leptos.clone(),
        master_key: Arc::new(settings.master_key.clone()),
        db,
        default_account_id: account.id,
        settings: Arc::new(settings),
    })
}

pub async fn serve() -> Result<(), String> {
    init_logging();
    let settings = Settings::load().map_err(|e| format!("configuration: {e}"))?;
    let addr = settings.leptos.site_addr;
    let state = build_state(settings).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("LEPTOS_SITE_ADDR: cannot listen on {addr}: {e}"))?;
    tracing::info!("TextPeak Console listening on http://{addr}");
    axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("server: {e}"))?;
    tracing::info!("TextPeak Console stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
