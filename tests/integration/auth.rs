//! Sign-in, sessions, tenant isolation, cross-site refusal and the audit log,
//! against a running router over HTTP.

use crate::support::{ADMIN_PASSWORD, TestServer, key_count};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::{Value, json};
use textpeak::db::entities::admin;
use textpeak::rpc::api_keys::{CreateApiKey, DeleteApiKey, ListApiKeys, RevealApiKey, UpdateApiKey};
use textpeak::rpc::audit::ListAuditLog;
use textpeak::rpc::auth::{CurrentAdmin, SignIn, SignOut};

const BETA_PASSWORD: &str = "beta's long password";

/// Signs in as `admin` with a bare client, optionally claiming an `Origin`, to see the raw answer.
async fn post_sign_in(server: &TestServer, origin: Option<&str>) -> reqwest::Response {
    let mut request = TestServer::client()
        .post(server.url(<SignIn as server_fn::ServerFn>::PATH))
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)]);
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request.send().await.unwrap()
}

async fn first_acl(server: &TestServer, client: &reqwest::Client) -> String {
    let (_, page) = server.call::<ListApiKeys>(client, &[]).await;
    page["ip_acls"][0]["id"].as_i64().unwrap().to_string()
}

#[tokio::test]
async fn every_server_function_needs_a_session() {
    let server = TestServer::start().await;
    let anonymous = TestServer::client();
    let paths: Vec<&str> = server_fn::axum::server_fn_paths().map(|(path, _)| path).collect();
    assert!(paths.len() >= 8, "server functions found: {paths:?}");
    for path in paths {
        let endpoint = path.trim_start_matches("/rpc/");
        if textpeak::domain::roles::rule_for(endpoint)
            .is_some_and(|rule| rule.need == textpeak::domain::roles::Need::Nobody)
        {
            continue;
        }
        let response = anonymous.post(server.url(path)).form(&[("id", "1"), ("page", "0")]).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(response.json::<Value>().await.unwrap(), json!("unauthenticated"), "{path}");
    }
}

#[tokio::test]
async fn sign_in_returns_to_the_page_asked_for_and_never_to_another_site() {
    let server = TestServer::start().await;
    for (next, lands) in [
        ("/settings/ip-acls", "/settings/ip-acls"),
        ("/settings/audit-log?page=2", "/settings/audit-log?page=2"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/login", "/"),
    ] {
        let client = TestServer::client();
        let response = client
            .post(server.url(<SignIn as server_fn::ServerFn>::PATH))
            .form(&[("username", "admin"), ("password", ADMIN_PASSWORD), ("next", next)])
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success() || response.status().is_redirection(), "{next}");
        assert_eq!(response.headers()["location"], lands, "{next}");
    }
    // Already signed in, the sign-in page follows the same rule.
    let admin = server.admin_client().await;
    for (login, lands) in
        [("/login?next=%2Fsettings%2Fip-acls", "/settings/ip-acls"), ("/login?next=%2F%2Fevil.example", "/")]
    {
        let response = admin.get(server.url(login)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{login}");
        assert_eq!(response.headers()["location"], lands, "{login}");
    }
}

#[tokio::test]
async fn console_pages_without_a_session_go_to_the_sign_in_page() {
    let server = TestServer::start().await;
    let anonymous = TestServer::client();
    for (page, login) in [
        ("/", "/login"),
        ("/settings/api-keys", "/login?next=%2Fsettings%2Fapi-keys"),
        ("/settings/audit-log?page=2", "/login?next=%2Fsettings%2Faudit-log%3Fpage%3D2"),
    ] {
        let response = anonymous.get(server.url(page)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{page}");
        assert_eq!(response.headers()["location"], login, "{page}");
    }
    let login = anonymous.get(server.url("/login")).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let html = login.text().await.unwrap();
    for words in ["Username", "Password", "Sign in"] {
        assert!(html.contains(words), "{words}");
    }
    // Signed in, the sign-in page sends you on.
    let admin = server.admin_client().await;
    let response = admin.get(server.url("/login")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(admin.get(server.url("/settings/api-keys")).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn wrong_username_and_wrong_password_get_the_same_answer() {
    let server = TestServer::start().await;
    let client = TestServer::client();
    let (status_a, body_a) = server.sign_in(&client, "admin", "not the password").await;
    let (status_b, body_b) = server.sign_in(&client, "nobody", ADMIN_PASSWORD).await;
    assert_eq!(status_a, StatusCode::UNAUTHORIZED);
    assert_eq!((status_a, &body_a), (status_b, &body_b));
    assert_eq!(body_a, json!("wrong_credentials"));
    assert_eq!(server.call::<CurrentAdmin>(&client, &[]).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_strict() {
    let server = TestServer::start().await;
    let response = post_sign_in(&server, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("tp_session="), "{cookie}");
    assert!(cookie.contains("; HttpOnly"), "{cookie}");
    assert!(cookie.contains("; SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("; Path=/"), "{cookie}");
    let id = cookie.trim_start_matches("tp_session=").split(';').next().unwrap();
    assert!(id.len() >= 22, "at least 128 bits: {id}");
    assert!(!cookie.contains("Secure"), "loopback development over plain HTTP");

    let secure = TestServer::start_with(&[("TEXTPEAK_SECURE_COOKIES", "true")]).await;
    let response = post_sign_in(&secure, None).await;
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-tp_session=") && cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id() {
    let server = TestServer::start().await;
    server.add_admin("Beta", "beta", BETA_PASSWORD).await;
    let admins = admin::Entity::find().all(&server.state.db).await.unwrap();
    assert_eq!(admins.len(), 2);
    for admin in admins {
        assert!(admin.password_hash.starts_with("$argon2id$v=19$"), "{}", admin.password_hash);
        assert!(!admin.password_hash.contains(ADMIN_PASSWORD) && !admin.password_hash.contains(BETA_PASSWORD));
    }
}

#[tokio::test]
async fn repeated_failures_are_throttled_with_429() {
    let server = TestServer::start().await;
    let client = TestServer::client();
    for attempt in 1..=5 {
        let (status, _) = server.sign_in(&client, "admin", "wrong password!").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    // Even the right password waits now: that is what stops guessing.
    let (status, body) = server.sign_in(&client, "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let wait = body["too_many_attempts"]["retry_after_secs"].as_u64().unwrap();
    assert!((1..=12).contains(&wait), "{wait}");
}

#[tokio::test]
async fn the_throttle_cannot_be_dodged_by_spelling_the_username_differently() {
    let server = TestServer::start().await;
    let client = TestServer::client();
    for variant in ["admin", " admin", "ADMIN", "admin\t", "Admin "] {
        assert_eq!(
            server.sign_in(&client, variant, "wrong password!").await.0,
            StatusCode::UNAUTHORIZED,
            "{variant:?}"
        );
    }
    assert_eq!(server.sign_in(&client, "admin", ADMIN_PASSWORD).await.0, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn parallel_guesses_get_no_more_tries_than_sequential_ones() {
    let server = TestServer::start().await;
    server.add_admin("Default", "second", "second's long password").await;
    let guesses = (0..20).map(|i| {
        let client = TestServer::client();
        let server = &server;
        async move { server.sign_in(&client, "second", &format!("guess number {i}")).await.0 }
    });
    // Twenty guesses at once: at most five are even tried; the rest are
    // refused (429), or told the server is busy (503): one address holds two
    // places in the queue at most.
    let answers = futures::future::join_all(guesses).await;
    let tried = answers.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let refused = answers
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS || **s == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    assert!(tried >= 1 && tried <= 5, "{answers:?}");
    assert_eq!(tried + refused, 20, "{answers:?}");
}

#[tokio::test]
async fn one_address_cannot_try_many_usernames() {
    let server = TestServer::start().await;
    let client = TestServer::client();
    for i in 0..5 {
        assert_eq!(server.sign_in(&client, &format!("user{i}"), "a password").await.0, StatusCode::UNAUTHORIZED);
    }
    // From the same address (loopback), even a real admin with the right password waits.
    assert_eq!(server.sign_in(&client, "admin", ADMIN_PASSWORD).await.0, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn sign_out_really_ends_the_session() {
    use reqwest::cookie::{CookieStore, Jar};
    let server = TestServer::start().await;
    let jar = std::sync::Arc::new(Jar::default());
    let client = reqwest::Client::builder().cookie_provider(jar.clone()).build().unwrap();
    assert_eq!(server.sign_in(&client, "admin", ADMIN_PASSWORD).await.0, StatusCode::OK);
    assert_eq!(
        server.call::<CurrentAdmin>(&client, &[]).await.1,
        json!({ "username": "admin", "account": "Default", "role": "owner", "two_factor": false })
    );
    let cookie = jar.cookies(&server.url("/").parse().unwrap()).expect("a session cookie");

    let (status, _) = server.call::<SignOut>(&client, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.call::<CurrentAdmin>(&client, &[]).await.0, StatusCode::UNAUTHORIZED);
    // Replaying the old cookie by hand does not bring the session back.
    let replay = TestServer::client()
        .post(server.url(<CurrentAdmin as server_fn::ServerFn>::PATH))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn idle_sessions_expire_and_restarts_keep_live_ones() {
    let server = TestServer::start().await;
    let client = server.admin_client().await;
    assert_eq!(server.call::<CurrentAdmin>(&client, &[]).await.0, StatusCode::OK);

    let db_url = server.database_url.clone();
    let restarted = TestServer::start_with(&[("DATABASE_URL", &db_url)]).await;
    assert_eq!(restarted.call::<CurrentAdmin>(&client, &[]).await.0, StatusCode::OK, "a restart keeps the session");

    let now = textpeak::db::service::now_ms();
    let thirty_one_minutes_ago = now - 31 * 60 * 1000;
    let db = &server.state.db;
    db.execute_unprepared(&format!("UPDATE sessions SET last_seen_at = {thirty_one_minutes_ago}")).await.unwrap();
    assert_eq!(server.call::<CurrentAdmin>(&client, &[]).await.0, StatusCode::UNAUTHORIZED);
    // The page of an ended session goes to sign-in and drops the stale cookie.
    let page = client.get(server.url("/settings/api-keys")).send().await.unwrap();
    assert_eq!(page.headers()["location"], "/login?next=%2Fsettings%2Fapi-keys");
    assert!(page.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));

    // Active all along, but signed in more than 12 hours ago.
    let client = server.admin_client().await;
    let thirteen_hours_ago = now - 13 * 60 * 60 * 1000;
    db.execute_unprepared(&format!("UPDATE sessions SET created_at = {thirteen_hours_ago}, last_seen_at = {now}"))
        .await
        .unwrap();
    assert_eq!(server.call::<CurrentAdmin>(&client, &[]).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cross_site_calls_are_refused_even_with_a_valid_cookie() {
    let server = TestServer::start().await;
    let client = server.admin_client().await;
    let path = server.url(<ListApiKeys as server_fn::ServerFn>::PATH);
    let foreign =
        client.post(&path).header("origin", "https://evil.example").form(&[("page", "0")]).send().await.unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    assert_eq!(foreign.json::<Value>().await.unwrap(), json!("forbidden"));
    let cross_site =
        client.post(&path).header("sec-fetch-site", "cross-site").form(&[("page", "0")]).send().await.unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let same = client
        .post(&path)
        .header("origin", format!("http://{}", server.addr))
        .header("sec-fetch-site", "same-origin")
        .form(&[("page", "0")])
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), StatusCode::OK);
    // Sign-in too: a login CSRF would sign the victim into the attacker's account.
    let login = post_sign_in(&server, Some("https://evil.example")).await;
    assert_eq!(login.status(), StatusCode::FORBIDDEN);

    // Behind a proxy, the configured public origin is the one accepted.
    let proxied = TestServer::start_with(&[("TEXTPEAK_PUBLIC_URL", "https://console.example.com")]).await;
    let response = post_sign_in(&proxied, Some("https://console.example.com")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let direct = post_sign_in(&proxied, Some(&format!("http://{}", proxied.addr))).await;
    assert_eq!(direct.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn another_accounts_ids_are_answered_like_ids_that_do_not_exist() {
    let server = TestServer::start().await;
    let alpha = server.admin_client().await;
    let alpha_acl = first_acl(&server, &alpha).await;
    let (_, created) =
        server.call::<CreateApiKey>(&alpha, &[("name", "Alpha billing"), ("ip_acl_id", &alpha_acl)]).await;
    let alpha_token = created["token"].as_str().unwrap().to_owned();
    let (_, page) = server.call::<ListApiKeys>(&alpha, &[]).await;
    let alpha_key = page["keys"][0]["id"].as_i64().unwrap().to_string();

    server.add_admin("Beta", "beta", BETA_PASSWORD).await;
    let beta = server.signed_in_client("beta", BETA_PASSWORD).await;
    let (_, beta_page) = server.call::<ListApiKeys>(&beta, &[]).await;
    assert_eq!(key_count(&beta_page), 0, "beta sees none of alpha's keys");
    let beta_acl = beta_page["ip_acls"][0]["id"].as_i64().unwrap().to_string();
    assert_ne!(beta_acl, alpha_acl);
    assert_eq!(beta_page["ip_acls"].as_array().unwrap().len(), 1);

    let missing = json!({ "not_found": "This API key no longer exists." });
    for (name, (status, body)) in [
        ("reveal", server.call::<RevealApiKey>(&beta, &[("id", &alpha_key)]).await),
        (
            "update",
            server
                .call::<UpdateApiKey>(&beta, &[("id", &alpha_key), ("name", "stolen"), ("ip_acl_id", &beta_acl)])
                .await,
        ),
        ("delete", server.call::<DeleteApiKey>(&beta, &[("id", &alpha_key)]).await),
    ] {
        assert_eq!(status, StatusCode::NOT_FOUND, "{name}");
        assert_eq!(body, missing, "{name}");
    }
    // Creating a key on alpha's ACL: the same answer as an ACL that never existed.
    let (status, foreign) = server.call::<CreateApiKey>(&beta, &[("name", "sneaky"), ("ip_acl_id", &alpha_acl)]).await;
    let (_, never) = server.call::<CreateApiKey>(&beta, &[("name", "sneaky"), ("ip_acl_id", "999999")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(foreign, never);
    // Moving one of beta's keys onto alpha's ACL: likewise.
    server.call::<CreateApiKey>(&beta, &[("name", "Beta own"), ("ip_acl_id", &beta_acl)]).await;
    let (_, beta_page) = server.call::<ListApiKeys>(&beta, &[]).await;
    let beta_key = beta_page["keys"][0]["id"].as_i64().unwrap().to_string();
    let (status, _) =
        server.call::<UpdateApiKey>(&beta, &[("id", &beta_key), ("name", "Beta own"), ("ip_acl_id", &alpha_acl)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Nothing of alpha's changed.
    let (_, page) = server.call::<ListApiKeys>(&alpha, &[]).await;
    assert_eq!(key_count(&page), 1);
    assert_eq!(page["keys"][0]["name"], "Alpha billing");
    assert_eq!(server.whoami(&alpha_token).await.0, StatusCode::OK);
    // And each audit log holds only its own account's entries.
    let (_, beta_log) = server.call::<ListAuditLog>(&beta, &[("page", "0")]).await;
    assert!(!beta_log.to_string().contains("Alpha billing"));
    let (_, alpha_log) = server.call::<ListAuditLog>(&alpha, &[("page", "0")]).await;
    assert!(!alpha_log.to_string().contains("Beta own"));
}

#[tokio::test]
async fn the_audit_log_records_reveals_and_never_a_token() {
    let server = TestServer::start().await;
    let client = server.admin_client().await;
    let acl = first_acl(&server, &client).await;
    let (_, created) = server.call::<CreateApiKey>(&client, &[("name", "Audited"), ("ip_acl_id", &acl)]).await;
    let token = created["token"].as_str().unwrap().to_owned();
    let (_, page) = server.call::<ListApiKeys>(&client, &[]).await;
    let id = page["keys"][0]["id"].as_i64().unwrap().to_string();
    server.call::<RevealApiKey>(&client, &[("id", &id)]).await;
    server.call::<UpdateApiKey>(&client, &[("id", &id), ("name", "Audited twice"), ("ip_acl_id", &acl)]).await;
    server.sign_in(&TestServer::client(), "admin", "a wrong password").await;

    // A failed sign-in is audited off the response path: wait for it to land.
    let mut log = Value::Null;
    for _ in 0..250 {
        let (status, page) = server.call::<ListAuditLog>(&client, &[("page", "0")]).await;
        assert_eq!(status, StatusCode::OK);
        log = page;
        if log["total"] == 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let actions: Vec<(&str, &str)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["subject"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("Failed sign-in", ""),
            ("Edited API key", "Audited twice"),
            ("Revealed API key", "Audited"),
            ("Created API key", "Audited"),
            ("Signed in", ""),
        ]
    );
    let reveal = &log["entries"][2];
    assert_eq!(reveal["admin"], "admin");
    assert_eq!(reveal["client_ip"], "127.0.0.1");
    assert!(reveal["at"].as_i64().unwrap() > 1_700_000_000_000, "milliseconds since the epoch");
    assert_eq!(log["entries"][1]["detail"], "renamed from \u{201c}Audited\u{201d}");
    // No token anywhere in the log, as served or as stored.
    assert!(!log.to_string().contains(&token[3..40]));
    let rows = server
        .state
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            server.state.db.get_database_backend(),
            "SELECT admin || client_ip || action || coalesce(subject, '') || coalesce(detail, '') AS row FROM audit_entries",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 5);
    for row in rows {
        let text: String = row.try_get("", "row").unwrap();
        assert!(!text.contains(&token[3..40]), "{text}");
    }
}

#[tokio::test]
async fn pages_carry_security_headers_and_a_nonce_for_their_scripts() {
    let server = TestServer::start().await;
    let client = server.admin_client().await;
    let response = client.get(server.url("/settings/api-keys")).send().await.unwrap();
    let headers = response.headers().clone();
    let html = response.text().await.unwrap();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let nonce = csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce");
    assert!(nonce.len() >= 16, "{nonce}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    // Every inline script is admitted by the nonce, and no other is.
    let scripts = html.matches("<script").count();
    assert!(scripts >= 1);
    assert_eq!(html.matches(&format!("nonce=\"{nonce}\"")).count(), scripts, "{html}");
    let again = client.get(server.url("/settings/api-keys")).send().await.unwrap();
    assert!(!again.headers()["content-security-policy"].to_str().unwrap().contains(nonce), "a fresh nonce per page");
    // The public API gets the headers too.
    let api = client.get(server.url("/api/v1/health")).send().await.unwrap();
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
    assert!(api.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
}

/// Posts the sign-in page's form as Chromium does from this console: under
/// `Referrer-Policy: no-referrer` a form's `Origin` is `null`, and
/// `Sec-Fetch-Site` is what says where it came from.
async fn post_login_form(server: &TestServer, client: &reqwest::Client, fields: &[(&str, &str)]) -> reqwest::Response {
    client
        .post(server.url("/login"))
        .header("origin", "null")
        .header("sec-fetch-site", "same-origin")
        .header("accept", "text/html")
        .form(fields)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_sign_in_page_is_a_plain_form_that_loads_no_bundle() {
    let server = TestServer::start().await;
    let login = TestServer::client().get(server.url("/login?next=%2Fsettings%2Fip-acls")).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let html = login.text().await.unwrap();
    assert!(html.contains(r#"method="post" action="/login""#), "{html}");
    assert!(html.contains(r#"name="next" value="/settings/ip-acls""#), "{html}");
    assert!(!html.contains("/pkg/textpeak.js") && !html.contains("/pkg/textpeak.wasm"), "{html}");
    // Every other page does load it: the check above can tell the two apart.
    let page = server.admin_client().await.get(server.url("/settings/api-keys")).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("/pkg/textpeak.js"));
}

#[tokio::test]
async fn the_sign_in_form_goes_on_to_the_page_asked_for_and_never_to_another_site() {
    let server = TestServer::start().await;
    for (next, lands) in [("/settings/ip-acls", "/settings/ip-acls"), ("//evil.example/", "/"), ("", "/")] {
        let client = TestServer::client();
        let response =
            post_login_form(&server, &client, &[("username", "admin"), ("password", ADMIN_PASSWORD), ("next", next)])
                .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(response.headers()["location"], lands, "{next}");
        let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
        assert!(cookies.iter().any(|c| c.starts_with("tp_session=") && c.contains("HttpOnly")), "{cookies:?}");
        assert!(cookies.iter().any(|c| c.starts_with("tp_browser=")), "{cookies:?}");
        let signed_in = client.get(server.url("/settings/api-keys")).send().await.unwrap();
        assert_eq!(signed_in.status(), StatusCode::OK, "{next}");
    }
}

#[tokio::test]
async fn a_failed_sign_in_form_shows_the_page_again_with_the_message_and_the_username() {
    let server = TestServer::start().await;
    let client = TestServer::client();
    let fields = [("username", "admin"), ("password", "not the password"), ("next", "/settings/ip-acls")];
    let response = post_login_form(&server, &client, &fields).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(response.headers().contains_key("content-security-policy"));
    let html = response.text().await.unwrap();
    assert!(html.contains("Wrong username or password"), "{html}");
    assert!(html.contains(r#"value="admin""#), "{html}");
    assert!(html.contains(r#"name="next" value="/settings/ip-acls""#), "{html}");
    assert!(!html.contains("not the password"));
    assert!(!html.contains("/pkg/textpeak.js"));

    // The form shares the throttle with the server function: the sixth try is refused.
    let mut throttled = None;
    for _ in 0..10 {
        let response = post_login_form(&server, &client, &fields).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let throttled = throttled.expect("the form was never throttled");
    assert!(throttled.headers().contains_key("retry-after"));
    assert!(throttled.text().await.unwrap().contains("Too many failed attempts"));
    assert_eq!(server.sign_in(&client, "admin", ADMIN_PASSWORD).await.0, StatusCode::TOO_MANY_REQUESTS);

    let huge = "x".repeat(20_000);
    let response = post_login_form(&server, &client, &[("username", "admin"), ("password", &huge)]).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.text().await.unwrap().contains("This form is too large to send"));
}

#[tokio::test]
async fn a_sign_in_form_posted_from_another_site_is_refused() {
    let server = TestServer::start().await;
    let form = [("username", "admin"), ("password", ADMIN_PASSWORD)];
    let cases: [&[(&str, &str)]; 5] = [
        &[("origin", "https://evil.example")],
        &[("origin", "https://evil.example"), ("sec-fetch-site", "same-origin")],
        &[("sec-fetch-site", "cross-site"), ("origin", "null")],
        // A sandboxed frame's `null` says nothing of where it is.
        &[("origin", "null")],
        // Neither header: no browser sends a form like that.
        &[],
    ];
    for headers in cases {
        // Not `TestServer::client()`, which says it is same-origin on every request.
        let bare = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let mut request = bare.post(server.url("/login")).form(&form);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{headers:?}");
        assert!(response.headers().get("set-cookie").is_none(), "{headers:?}");
    }
}
