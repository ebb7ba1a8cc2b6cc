//! A real console server on a loopback port with its own temporary SQLite
//! database, for tests that go through HTTP as a browser or API client would.

use reqwest::StatusCode;
use serde_json::Value;
use server_fn::ServerFn;
use std::collections::HashMap;
use std::net::SocketAddr;
use textpeak::server::http::routes::router;
use textpeak::server::startup::config::Settings;
use textpeak::server::startup::start::build_state;
use textpeak::server::state::AppState;

pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    pub dir: tempfile::TempDir,
    /// Where its data lives: its own SQLite file, or its own PostgreSQL database.
    pub database_url: String,
    /// The background jobs (listener, heartbeat, catch-up), when started with them.
    pub jobs: Option<textpeak::server::jobs::Jobs>,
}

/// The PostgreSQL server the suite runs against (`TEXTPEAK_TEST_POSTGRES`, a
/// server URL without a database; `make test` sets it for the second run),
/// or `None` when the suite runs on SQLite.
pub fn postgres() -> Option<String> {
    std::env::var("TEXTPEAK_TEST_POSTGRES").ok().filter(|v| !v.is_empty())
}

/// Says why a test that only makes sense on one database does nothing on this run.
pub fn only_on(database: &str, why: &str) {
    eprintln!("only on {database}: {why}");
}

/// A database of its own for one server: a new PostgreSQL database when the
/// suite runs on PostgreSQL, `None` for SQLite (a file in the data folder).
pub fn fresh_database_url() -> Option<String> {
    let server = postgres()?;
    let mut bytes = [0u8; 8];
    getrandom_bytes(&mut bytes);
    let name = format!("test_{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>());
    let admin_url = format!("{server}/postgres");
    let create = format!("CREATE DATABASE {name}");
    // The tests' runtimes are single-threaded: create it on a thread of its own.
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
            use sea_orm::ConnectionTrait;
            let db = sea_orm::Database::connect(&admin_url).await.expect("the test PostgreSQL server answers");
            db.execute_unprepared(&create).await.unwrap();
            db.close().await.unwrap();
        })
    })
    .join()
    .unwrap();
    Some(format!("{server}/{name}"))
}

fn getrandom_bytes(bytes: &mut [u8]) {
    use std::io::Read;
    std::fs::File::open("/dev/urandom").unwrap().read_exact(bytes).unwrap();
}

/// A fixed master key: tests need not create key files.
pub const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// The first admin's password in every test server.
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts with extra environment settings, as the binary would read them.
    pub async fn start_with(extra: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_owned();
        Self::start_at(dir, &data, extra).await
    }

    /// Starts with its data folder at `data` (created by the server if missing).
    pub async fn start_in(data: &std::path::Path, extra: &[(&str, &str)]) -> Self {
        Self::start_at(tempfile::tempdir().unwrap(), data, extra).await
    }

    async fn start_at(dir: tempfile::TempDir, data: &std::path::Path, extra: &[(&str, &str)]) -> Self {
        let mut env: HashMap<String, String> = HashMap::from([
            ("TEXTPEAK_DATA_DIR".into(), data.display().to_string()),
            ("TEXTPEAK_MASTER_KEY".into(), MASTER_KEY.into()),
            ("TEXTPEAK_ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
        ]);
        if !extra.iter().any(|(k, _)| *k == "DATABASE_URL")
            && let Some(url) = fresh_database_url()
        {
            env.insert("DATABASE_URL".into(), url);
        }
        for (k, v) in extra {
            env.insert((*k).into(), (*v).into());
        }
        let settings = Settings::load_with(&move |name: &str| env.get(name).cloned()).unwrap();
        let database_url = settings.database_url.clone();
        let (state, _) = build_state(settings).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        TestServer { addr, state, dir, database_url, jobs: None }
    }

    /// As the binary runs: with its background jobs (on PostgreSQL, the
    /// listener and the heartbeat among them).
    pub async fn start_with_jobs(extra: &[(&str, &str)]) -> Self {
        let mut server = Self::start_with(extra).await;
        server.jobs = Some(textpeak::server::jobs::Jobs::start(&server.state));
        // On PostgreSQL the listener connects in the background: a test that
        // changes a key through another instance first waits until this one
        // hears, as a load balancer waits for /api/v1/ready. On a loaded
        // machine the first change otherwise raced the LISTEN (and the
        // instance counted as listening before it did: now it does not).
        if sea_orm::ConnectionTrait::get_database_backend(&server.state.db) == sea_orm::DbBackend::Postgres {
            let started = std::time::Instant::now();
            while !server.state.verifier.cache().listening() {
                assert!(started.elapsed() < std::time::Duration::from_secs(10), "the listener did not connect in 10 s");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A client signed in as the first admin (`admin` of account "Default").
    pub async fn admin_client(&self) -> reqwest::Client {
        self.signed_in_client("admin", ADMIN_PASSWORD).await
    }

    pub async fn signed_in_client(&self, username: &str, password: &str) -> reqwest::Client {
        let client = Self::client();
        let (status, body) = self.sign_in(&client, username, password).await;
        assert_eq!(status, StatusCode::OK, "sign-in as {username} failed: {body}");
        client
    }

    pub async fn sign_in(&self, client: &reqwest::Client, username: &str, password: &str) -> (StatusCode, Value) {
        self.call::<textpeak::rpc::auth::SignIn>(client, &[("username", username), ("password", password)]).await
    }

    /// Onboards an admin (creating the account if needed), as `textpeak admin add` does.
    pub async fn add_admin(&self, account: &str, username: &str, password: &str) {
        textpeak::db::service::admins::add(&self.state.db, account, username, password).await.unwrap();
    }

    /// Adds an admin with `role` to the first admin's account ("Default").
    pub async fn add_member(&self, username: &str, password: &str, role: textpeak::domain::roles::Role) -> i32 {
        let (_, account) =
            textpeak::db::service::admins::find_by_username(&self.state.db, "admin").await.unwrap().unwrap();
        textpeak::db::service::admins::create(&self.state.db, account.id, username, password, role).await.unwrap().id
    }

    /// Signs `admin` in and returns the `Cookie` header value of the session.
    pub async fn admin_session_cookie(&self) -> String {
        let response = Self::client()
            .post(self.url(<textpeak::rpc::auth::SignIn as ServerFn>::PATH))
            .header("origin", format!("http://{}", self.addr))
            .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("tp_session="))
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_owned()
    }

    /// A client without a session that, like a browser on the console's own
    /// pages, says where its requests come from (`Sec-Fetch-Site`).
    pub fn client() -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("sec-fetch-site", reqwest::header::HeaderValue::from_static("same-origin"));
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap()
    }

    /// Calls a server function the way the browser does (form-encoded POST).
    pub async fn call<F: ServerFn>(&self, client: &reqwest::Client, args: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = client
            .post(self.url(F::PATH))
            .header("origin", format!("http://{}", self.addr))
            .form(args)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// `GET /api/v1/whoami` from a given loopback source address, optionally with `X-Forwarded-For`.
    pub async fn whoami_from(&self, token: &str, source: &str, forwarded_for: Option<&str>) -> (StatusCode, Value) {
        let client =
            reqwest::Client::builder().local_address(source.parse::<std::net::IpAddr>().unwrap()).build().unwrap();
        let mut request = client.get(self.url("/api/v1/whoami")).bearer_auth(token);
        if let Some(hops) = forwarded_for {
            request = request.header("x-forwarded-for", hops);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    pub async fn whoami(&self, token: &str) -> (StatusCode, Value) {
        let response = reqwest::Client::new().get(self.url("/api/v1/whoami")).bearer_auth(token).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }
}

/// A browser-like client (cookies, `Sec-Fetch-Site`) calling from a chosen loopback address.
pub fn from(source: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("sec-fetch-site", reqwest::header::HeaderValue::from_static("same-origin"));
    reqwest::Client::builder()
        .local_address(source.parse::<std::net::IpAddr>().unwrap())
        .cookie_store(true)
        .default_headers(headers)
        .build()
        .unwrap()
}

/// How many keys a page of `list_api_keys` holds.
pub fn key_count(page: &Value) -> usize {
    page["keys"].as_array().map_or(0, Vec::len)
}

/// A TCP proxy in front of the database, that a test can cut (every open
/// connection reset, new ones refused) and restore: an instance behind it is
/// "partitioned" while the others reach the database.
pub struct Proxy {
    pub port: u16,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let open = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (cut_here, open_here) = (cut.clone(), open.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if cut_here.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                open_here.lock().unwrap().push(task.abort_handle());
            }
        });
        Proxy { port, cut, open }
    }

    pub fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for task in self.open.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    pub fn restore(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}
