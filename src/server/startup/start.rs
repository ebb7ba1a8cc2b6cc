//! Starting the server: settings, logging, database, first admin, listener.

use crate::db;
use crate::db::service::admins::AdminError;
use crate::db::service::{accounts, admins};
use crate::domain::device::{self, DeviceKey};
use crate::domain::password;
use crate::domain::recovery::{self, RecoveryKey};
use crate::domain::roles::Role;
use crate::server::clock::Clock;
use crate::server::console::throttle::SignInThrottle;
use crate::server::http::routes::router;
use crate::server::jobs::Jobs;
use crate::server::public_api::verifier::{DEFAULT_TTL, Verifier};
use crate::server::startup::config::Settings;
use crate::server::startup::files;
use crate::server::state::{AppState, Shared};
use crate::server::usage::UsageRecorder;
use axum::serve::ListenerExt;
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;
use std::sync::Arc;

pub const FIRST_ADMIN: &str = "admin";

/// How log lines are written (`TEXTPEAK_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Lines for a person to read (the default).
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

impl LogFormat {
    pub fn from_env(value: Option<&str>) -> Result<Self, String> {
        match value.map(str::trim) {
            None | Some("") | Some("text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(format!("TEXTPEAK_LOG_FORMAT: {other:?} is neither text nor json")),
        }
    }
}

/// Logs go to stderr through `tracing`; `RUST_LOG` chooses what (default:
/// info), `TEXTPEAK_LOG_FORMAT` how. Each line written while a request is
/// served names its request id (the `request` span).
pub fn init_logging() -> Result<(), String> {
    use tracing_subscriber::EnvFilter;
    let format = LogFormat::from_env(std::env::var("TEXTPEAK_LOG_FORMAT").ok().as_deref())?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr);
    let _ = match format {
        // Colours only for a person at a terminal: a log file gets plain text.
        LogFormat::Text => builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).try_init(),
        // The request's span flattened into each line: `"span":{"id":…,"name":"request"}`.
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
    };
    Ok(())
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
    let state = AppState::new(Shared {
        leptos_options: settings.leptos.clone(),
        device_key: Arc::new(DeviceKey::new(settings.master_key.derive(device::KEY_LABEL))),
        recovery_key: Arc::new(RecoveryKey::new(settings.master_key.derive(recovery::KEY_LABEL))),
        master_key: Arc::new(settings.master_key.clone()),
        db,
        throttle: Arc::new(SignInThrottle::default()),
        verifier,
        usage,
        clock,
        overview: Arc::default(),
        settings: Arc::new(settings),
    });
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
    // The metrics address too: a typo there fails the start, not the first scrape.
    let metrics_listener = match settings.metrics_addr {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("TEXTPEAK_METRICS_ADDR: cannot listen on {addr}: {e}"))?;
            let database = if settings.database_url.starts_with("sqlite:") { "sqlite" } else { "postgres" };
            Some((listener, crate::server::metrics::install(database)?))
        }
        None => None,
    };
    let (state, first_start) = build_state(settings).await?;
    if let Some(FirstStart { generated_password: Some(password) }) = first_start {
        // Printed once, to the operator's terminal only; never logged.
        println!(
            "\n  First start: sign in as \"{FIRST_ADMIN}\" with the password\n\n      {password}\n\n  \
             It is not shown again. Set TEXTPEAK_ADMIN_PASSWORD before the first start to choose it.\n"
        );
    }
    tracing::info!("TextPeak Console listening on http://{addr}");
    if let Some((listener, _)) = &metrics_listener
        && let Ok(at) = listener.local_addr()
    {
        tracing::info!("metrics on http://{at}/metrics");
    }
    let jobs = Jobs::start(&state);
    // Pages stream: the shell first, the data when it is ready. Without
    // TCP_NODELAY the second write waits for the client's delayed ACK (40 ms).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    // One stop signal, heard by the console and the metrics endpoint alike.
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stopping.send(true);
    });
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    };
    let metrics = metrics_listener.map(|(listener, handle)| {
        tokio::spawn(crate::server::metrics::serve(listener, handle, state.clone(), until_stopped()))
    });
    let stop_requested = until_stopped();
    let served = axum::serve(listener, router(state.clone()).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(until_stopped())
        .into_future();
    // Requests in flight get DRAIN_LIMIT to finish once a stop is asked for;
    // a client that holds its connection open past that does not hold the stop.
    let served = tokio::select! {
        served = served => served,
        _ = async { stop_requested.await; tokio::time::sleep(DRAIN_LIMIT).await } => {
            tracing::warn!("requests still in flight after {DRAIN_LIMIT:?}; stopping without them");
            Ok(())
        }
    };
    // Each job finishes what it is doing; then the last uses since the last
    // flush are written before the process goes.
    jobs.stop().await;
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
    served.map_err(|e| format!("server: {e}"))?;
    tracing::info!("TextPeak Console stopped");
    Ok(())
}

/// How long requests in flight may take to finish once a stop is asked for.
pub const DRAIN_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

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
