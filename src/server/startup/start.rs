//! Starting the server: settings, logging, database, first admin, listener.

use crate::db;
use crate::db::service::admins::AdminError;
use crate::db::service::{accounts, admins};
use crate::domain::device::{self, DeviceKey};
use crate::domain::recovery::{self, RecoveryKey};
use crate::domain::password;
use crate::domain::roles::Role;
use crate::server::clock::Clock;
use crate::server::console::throttle::SignInThrottle;
use crate::server::http::routes::router;
use crate::server::jobs::Jobs;
use crate::server::public_api::verifier::{DEFAULT_TTL, Verifier};
use crate::server::startup::config::Settings;
use crate::server::startup::files;
use crate::server::state::AppState;
use crate::server::usage::UsageRecorder;
use axum::serve::ListenerExt;
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;
use std::sync::Arc;

pub const FIRST_ADMIN: &str = "admin";

/// Logs go to stderr through `tracing`; `RUST_LOG` chooses what (default: info).
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    // Colours only for a person at a terminal: a log file or a collector gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Opens (creating if needed) and migrates the configured database. A new
/// SQLite database is created readable by the server's user only, in a
/// folder only it can enter; SQLite gives its `-wal` and `-shm` files the
/// database file's mode.
pub async fn open_database(settings: &Settings) -> Result<DatabaseConnection, String> {
    if let Some(file) = settings.sqlite_file() {
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            files::create_private_dir(dir).map_err(|e| format!("database folder {}: {e}", dir.display()))?;
        }
        files::create_private_file(&file).map_err(|e| format!("database file {}: {e}", file.display()))?;
    }
    db::connect_with_pool(&settings.database_url, settings.db_pool)
        .await
        .map_err(|e| format!("DATABASE_URL: cannot open the database: {e}"))
}

/// What a first start did, for the operator's eyes only.
pub struct FirstStart {
    /// The generated password of `admin`, when `TEXTPEAK_ADMIN_PASSWORD` was not set.
    pub generated_password: Option<String>,
}

/// With no admin at all, creates the account "Default" and its admin `admin`.
/// Several instances starting at once on an empty database race here: the
/// one that loses finds the account or the admin made and goes on as a
/// restart would.
pub async fn ensure_first_admin(db: &DatabaseConnection, settings: &Settings) -> Result<Option<FirstStart>, String> {
    let failed = |e: &dyn std::fmt::Display| format!("first start: {e}");
    if admins::count(db).await.map_err(|e| failed(&e))? > 0 {
        return Ok(None);
    }
    let account = accounts::ensure_default(db).await.map_err(|e| failed(&e))?;
    let (password, generated) = match &settings.admin_password {
        Some(p) => (p.clone(), false),
        None => (password::generate().map_err(|e| failed(&e))?, true),
    };
    match admins::create(db, account.id, FIRST_ADMIN, &password, Role::Owner).await {
        Ok(_) => {}
        Err(AdminError::Taken(_)) => return Ok(None),
        Err(e) => return Err(failed(&e)),
    }
    tracing::info!(account = %account.name, username = FIRST_ADMIN, "created the first admin");
    Ok(Some(FirstStart { generated_password: generated.then_some(password) }))
}

/// Builds the shared state: database ready, first admin in place.
pub async fn build_state(settings: Settings) -> Result<(AppState, Option<FirstStart>), String> {
    let db = open_database(&settings).await?;
    let first_start = ensure_first_admin(&db, &settings).await?;
    let clock = Arc::new(Clock::default());
    let usage = Arc::new(UsageRecorder::default());
    let verifier = Arc::new(Verifier::with_usage(DEFAULT_TTL, clock.clone(), usage.clone()));
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        verifier.cache().require_listening(settings.stale_limit);
    }
    // Every token's digest in memory before the first request: a made-up
    // token is refused without a query from the start.
    let loaded = verifier.tokens().reload(&db).await.map_err(|e| format!("loading the token index: {e}"))?;
    tracing::info!(
        tokens = loaded.tokens,
        took_ms = loaded.took.as_millis() as u64,
        kib = loaded.memory_bytes / 1024,
        "token index loaded"
    );
    let state = AppState {
        leptos_options: settings.leptos.clone(),
        device_key: Arc::new(DeviceKey::new(settings.master_key.derive(device::KEY_LABEL))),
        recovery_key: Arc::new(RecoveryKey::new(settings.master_key.derive(recovery::KEY_LABEL))),
        master_key: Arc::new(settings.master_key.clone()),
        db,
        throttle: Arc::new(SignInThrottle::default()),
        verifier,
        usage,
        clock,
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
    let jobs = Jobs::start(&state);
    // Pages stream: the shell first, the data when it is ready. Without
    // TCP_NODELAY the second write waits for the client's delayed ACK (40 ms).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    let served = axum::serve(listener, router(state.clone()).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await;
    // Each job finishes what it is doing; then the last uses since the last
    // flush are written before the process goes.
    jobs.stop().await;
    served.map_err(|e| format!("server: {e}"))?;
    tracing::info!("TextPeak Console stopped");
    Ok(())
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
