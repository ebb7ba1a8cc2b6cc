//! The `textpeak` binary as an operator runs it: first start, `textpeak admin
//! add`, what it writes to its logs, and what it saves when it stops.

use crate::support::MASTER_KEY;
use reqwest::StatusCode;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub fn textpeak(data: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_textpeak"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TEXTPEAK_DATA_DIR", data)
        .env("DATABASE_URL", database_url(data))
        .env("TEXTPEAK_MASTER_KEY", MASTER_KEY)
        .env("RUST_LOG", "warn");
    command
}

/// Makes the server of `to` use the same database as the server of `from`.
pub fn share_database(from: &std::path::Path, to: &std::path::Path) {
    let url = database_url(from);
    std::fs::create_dir_all(to).unwrap();
    std::fs::write(to.join("database-url"), url).unwrap();
}

/// The database of the server whose data folder is `data`: the SQLite file
/// in it, or (on PostgreSQL) a database made for it on first use and
/// remembered in the folder, so a restart finds the same data.
pub fn database_url(data: &std::path::Path) -> String {
    if crate::support::postgres().is_none() {
        return format!("sqlite://{}?mode=rwc", data.join("textpeak.db").display());
    }
    let remembered = data.join("database-url");
    if let Ok(url) = std::fs::read_to_string(&remembered) {
        return url;
    }
    let url = crate::support::fresh_database_url().unwrap();
    std::fs::create_dir_all(data).unwrap();
    std::fs::write(&remembered, &url).unwrap();
    url
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub struct Running {
    child: Child,
    port: u16,
    logs: Arc<Mutex<String>>,
}

/// Starts the server and waits until it listens; everything it logs is kept.
pub fn start(data: &std::path::Path, extra_env: &[(&str, &str)]) -> Running {
    start_command(textpeak(data), extra_env)
}

/// Starts `command` (the server, perhaps wrapped) and waits until it listens.
pub fn start_command(mut command: Command, extra_env: &[(&str, &str)]) -> Running {
    let port = free_port();
    command.env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}")).env("RUST_LOG", "info");
    for (k, v) in extra_env {
        command.env(k, v);
    }
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let logs = Arc::new(Mutex::new(String::new()));
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        let line = lines.next().expect("the server stopped").unwrap();
        assert!(!line.contains("ERROR"), "{line}");
        logs.lock().unwrap().push_str(&(line.clone() + "\n"));
        if line.contains("listening on") {
            break;
        }
    }
    let sink = logs.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            sink.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    Running { child, port, logs }
}

/// A test that fails part way must not leave its server running.
impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Running {
    /// The server's resident memory now, in KiB.
    /// Resident anonymous memory (the heap and stacks): the binary's own
    /// pages come and go as code paths are first touched, and say nothing
    /// about what the process keeps.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("RssAnon:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// Everything it has logged so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills it at once (SIGKILL): no clean stop, nothing flushed.
    pub fn kill_now(&self) {
        Command::new("kill").arg("-KILL").arg(self.child.id().to_string()).status().unwrap();
    }

    /// Waits for a killed server to be gone.
    pub fn reap(mut self) {
        self.child.wait().unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Stops it as an operator or service manager would (SIGTERM); returns its stdout.
    pub fn stop(mut self) -> (String, String) {
        Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().unwrap();
        let mut stdout = String::new();
        std::io::Read::read_to_string(self.child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
        assert!(self.child.wait().unwrap().success(), "a clean exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
        let logs = self.logs.lock().unwrap().clone();
        (stdout, logs)
    }

    pub async fn sign_in(&self, client: &reqwest::Client, username: &str, password: &str) -> StatusCode {
        self.call::<textpeak::rpc::auth::SignIn>(client, &[("username", username), ("password", password)]).await.0
    }

    pub async fn call<F: server_fn::ServerFn>(
        &self,
        client: &reqwest::Client,
        args: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let response = client
            .post(self.url(F::PATH))
            .header("origin", format!("http://127.0.0.1:{}", self.port))
            .form(args)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn first_start_prints_a_generated_password_once_and_only_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let (printed, logs) = start(dir.path(), &[]).stop();
    let password = printed
        .lines()
        .map(str::trim)
        .find(|line| line.len() == 20 && line.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or_else(|| panic!("no password in: {printed}"))
        .to_owned();
    assert!(printed.contains("sign in as \"admin\""), "{printed}");
    assert!(!logs.contains(&password), "the password reached the logs");

    let server = start(dir.path(), &[]);
    assert_eq!(server.sign_in(&reqwest::Client::new(), "admin", &password).await, StatusCode::OK);
    let (printed_again, _) = server.stop();
    assert!(!printed_again.contains(&password), "printed a second time: {printed_again}");
}

#[tokio::test]
async fn logs_never_hold_a_token_and_stopping_saves_the_last_uses() {
    use textpeak::rpc::api_keys::{CreateApiKey, ListApiKeys, RevealApiKey};
    let dir = tempfile::tempdir().unwrap();
    let password = "an operator's password";
    // Debug logging for every crate: the most a log could ever show.
    let server = start(dir.path(), &[("TEXTPEAK_ADMIN_PASSWORD", password), ("RUST_LOG", "debug")]);
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    assert_eq!(server.sign_in(&client, "admin", password).await, StatusCode::OK);
    let (_, page) = server.call::<ListApiKeys>(&client, &[]).await;
    let acl = page["ip_acls"][0]["id"].as_i64().unwrap().to_string();
    let (_, created) = server.call::<CreateApiKey>(&client, &[("name", "Logged?"), ("ip_acl_id", &acl)]).await;
    let token = created["token"].as_str().unwrap().to_owned();
    let (_, page) = server.call::<ListApiKeys>(&client, &[]).await;
    let id = page["keys"][0]["id"].as_i64().unwrap();
    server.call::<RevealApiKey>(&client, &[("id", &id.to_string())]).await;
    let whoami = reqwest::Client::new().get(server.url("/api/v1/whoami")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(whoami.status(), StatusCode::OK);

    let (_, logs) = server.stop();
    assert!(logs.contains("API key revealed"), "debug logs were captured");
    assert!(!logs.contains(&token[3..40]), "a token reached the logs");
    assert!(!logs.contains(password), "a password reached the logs");

    // The use was only in memory; stopping wrote it.
    let url = database_url(dir.path());
    let db = textpeak::db::connect(&url).await.unwrap();
    let key = textpeak::db::service::api_keys::find(&db, 1, id as i32).await.unwrap().unwrap();
    assert!(key.last_used_at > 0, "last use written at shutdown");
    assert_eq!(key.last_used_ip.as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn admin_add_onboards_a_customer_account() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: &str| {
        let mut child = textpeak(dir.path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let added = run(&["admin", "add", "--account", "Beta Corp", "--username", "Beta.Admin"], "beta's long password\n");
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    assert_eq!(
        String::from_utf8_lossy(&added.stdout).trim(),
        "Added admin \"beta.admin\" to account \"Beta Corp\" as Owner."
    );

    let short = run(&["admin", "add", "--account", "Beta Corp", "--username", "second"], "short\n");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 12 characters"));
    let taken = run(&["admin", "add", "--account", "Other", "--username", "BETA.ADMIN"], "another long password\n");
    assert!(!taken.status.success());
    assert!(String::from_utf8_lossy(&taken.stderr).contains("already taken"));

    let url = database_url(dir.path());
    let db = textpeak::db::connect(&url).await.unwrap();
    let other = textpeak::db::service::accounts::find_by_name(&db, "Other").await.unwrap();
    assert!(other.is_none(), "a refused admin leaves no empty account behind");
    drop(db);

    let server = start(dir.path(), &[]);
    assert_eq!(server.sign_in(&reqwest::Client::new(), "beta.admin", "beta's long password").await, StatusCode::OK);
    assert_eq!(server.sign_in(&reqwest::Client::new(), "second", "short").await, StatusCode::UNAUTHORIZED);
    server.stop();
}

#[test]
fn a_start_that_cannot_listen_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let failed = textpeak(dir.path())
        .env("LEPTOS_SITE_ADDR", taken.local_addr().unwrap().to_string())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("cannot listen on"), "{stderr}");
    let stdout = String::from_utf8_lossy(&failed.stdout);
    assert!(!stdout.contains("First start"), "a password was printed for a server that never ran: {stdout}");

    // The first start that does listen is the one that makes, and shows, the admin.
    let (printed, _) = start(dir.path(), &[]).stop();
    assert!(printed.contains("First start"), "{printed}");
}
