//! The `textpeak` binary: first start and `textpeak admin add`.

mod support;

use reqwest::StatusCode;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::MASTER_KEY;

fn textpeak(data: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_textpeak"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TEXTPEAK_DATA_DIR", data)
        .env("TEXTPEAK_MASTER_KEY", MASTER_KEY)
        .env("LEPTOS_OUTPUT_NAME", "textpeak")
        .env("RUST_LOG", "warn");
    command
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts the server and waits until it listens; its stdout is read when it stops.
fn start(data: &std::path::Path, port: u16) -> Child {
    let mut child = textpeak(data)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    loop {
        let line = lines.next().expect("the server stopped").unwrap();
        assert!(!line.contains("ERROR"), "{line}");
        if line.contains("listening on") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    child
}

fn stop(mut child: Child) -> String {
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8(output.stdout).unwrap()
}

async fn sign_in(port: u16, username: &str, password: &str) -> StatusCode {
    reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}{}", <textpeak::api::auth::SignIn as server_fn::ServerFn>::PATH))
        .form(&[("username", username), ("password", password)])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn first_start_prints_a_generated_password_once() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = start(dir.path(), port);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let printed = stop(child);
    let password = printed
        .lines()
        .map(str::trim)
        .find(|line| line.len() == 20 && line.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or_else(|| panic!("no password in: {printed}"))
        .to_owned();
    assert!(printed.contains("sign in as \"admin\""), "{printed}");

    let child = start(dir.path(), port);
    assert_eq!(sign_in(port, "admin", &password).await, StatusCode::OK);
    let printed_again = stop(child);
    assert!(!printed_again.contains(&password), "printed a second time: {printed_again}");
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
    assert_eq!(String::from_utf8_lossy(&added.stdout).trim(), "Added admin \"beta.admin\" to account \"Beta Corp\".");

    let short = run(&["admin", "add", "--account", "Beta Corp", "--username", "second"], "short\n");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 12 characters"));
    let taken = run(&["admin", "add", "--account", "Other", "--username", "BETA.ADMIN"], "another long password\n");
    assert!(!taken.status.success());
    assert!(String::from_utf8_lossy(&taken.stderr).contains("already taken"));

    let port = free_port();
    let child = start(dir.path(), port);
    assert_eq!(sign_in(port, "beta.admin", "beta's long password").await, StatusCode::OK);
    assert_eq!(sign_in(port, "second", "short").await, StatusCode::UNAUTHORIZED);
    stop(child);
}
