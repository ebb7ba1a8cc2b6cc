//! The API Keys server functions and `/api/v1/whoami`, over HTTP against a
//! temporary SQLite database.

use crate::support::{TestServer, key_count};
use reqwest::StatusCode;
use serde_json::{Value, json};
use textpeak::rpc::api_keys::{CreateApiKey, DeleteApiKey, ListApiKeys, RevealApiKey, UpdateApiKey};

async fn any_address_acl(server: &TestServer, client: &reqwest::Client) -> i64 {
    let (status, page) = server.call::<ListApiKeys>(client, &[]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let acls = page["ip_acls"].as_array().unwrap();
    assert_eq!(acls.len(), 1, "a fresh install has one IP ACL");
    assert_eq!(acls[0]["name"], "Any address");
    acls[0]["id"].as_i64().unwrap()
}

async fn create(server: &TestServer, client: &reqwest::Client, name: &str, acl: i64) -> (StatusCode, Value) {
    server.call::<CreateApiKey>(client, &[("name", name), ("ip_acl_id", &acl.to_string())]).await
}

#[tokio::test]
async fn a_created_key_is_listed_masked_and_its_token_works() {
    let server = TestServer::start().await;
    let client = server.admin_client().await;
    let acl = any_address_acl(&server, &client).await;

    let (status, created) = create(&server, &client, "  Billing service ", acl).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["name"], "Billing service");
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("tp_") && token.len() == 52, "{token}");

    let (_, page) = server.call::<ListApiKeys>(&client, &[]).await;
    assert_eq!(key_count(&page), 1);
    let row = &page["keys"][0];
    assert_eq!(row["name"], "Billing service");
    assert_eq!(row["ip_acl_name"], "Any address");
    assert_eq!(row["masked_token"], format!("tp_••••••••{}", &token[48..]));
    assert_eq!(row["last_used"], Value::Null);
    assert!(!page.to_string().contains(&token[3..48]), "the list must not carry the token");

    let (status, body) = server.whoami(&token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({ "name": "Billing service", "permissions": ["sms:send", "sms:read", "inbound:read", "numbers:read", "numbers:write", "usage:read"], "expires_at": null })
    );

    let id = row["id"].as_i64().unwrap().to_string();
    let (status, revealed) = server.call::<RevealApiKey>(&client, &[("id", &id)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(revealed, Value::String(token.clone()));
}

#[tokio::test]
async fn the_token_is_not_stored_in_plain_text() {
    let server = TestServer::start().await;
    let client = server.admin_client().await;
    let acl = any_address_acl(&server, &client).await;
    let (_, created) = create(&server, &client, "at rest", acl).await;
    let token = created["token"].as_str().unwrap();
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    if crate::support::postgres().is_some() {
        // Every row of every table, as text (bytea as hex).
        use sea_orm::ConnectionTrait;
        let db = &server.state.db;
        let tables = db
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
            ))
            .await
            .unwrap();
        assert!(tables.len() >= 8);
        for table in tables {
            let name: String = table.try_get("", "table_name").unwrap();
            let rows = db
                .query_all_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    format!("SELECT t::text AS row FROM \"{name}\" t"),
                ))
                .await
                .unwrap();
            for row in rows {
                let text: String = row.try_get("", "row").unwrap();
                assert!(!text.contains(&token[10..30]), "part of the token in {name}");
                assert!(!text.contains(&hex(&token.as_bytes()[10..30])), "part of the token, as bytes, in {name}");
            }
        }
        return;
    }
    // Everything SQLite wrote: the database, its WAL and shared-memory files.
    let mut seen = 0;
    for entry in std::fs::read_dir(server.dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        seen += bytes.len();
        assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()), "token found in a data file");
        assert!(!bytes.windows(20).any(|w| w == &token.as_bytes()[10..30]), "part of the token found in a data file");
    }
    assert!(seen > 0);
}

#[tokio::test]
async fn bad_names_are_refused_with_a_message_naming_the_problem() {
    let server = TestServer::start().await;
    let client = server.admin_client().await;
    let acl = any_address_acl(&server, &client).await;
    assert_eq!(create(&server, &client, "Production", acl).await.0, StatusCode::OK);

    let long = "x".repeat(101);
    let cases = [
        ("", "empty"),
        ("    ", "empty"),
        (long.as_str(), "at most 100"),
        ("production", "already has that name"),
        (" PRODUCTION ", "already has that name"),
    ];
    for (name, expected) in cases {
        let (status, body) = create(&server, &client, name, acl).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}: {body}");
        assert_eq!(body["invalid"]["field"], "name", "{name:?}: {body}");
        let message = body["invalid"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{name:?}: {message}");
    }
    let (status, body) = create(&server, &client, "x".repeat(100).as_str(), acl).await;
    assert_eq!(status, StatusCode::OK, "100 characters are allowed: {body}");

    let (status, body) = create(&server, &client, "Other", 9999).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["not_found"].as_str().unwrap().contains("IP ACL"), "{body}");

    let (status, body) = server.call::<CreateApiKey>(&client, &[("name", "x"), ("ip_acl_id", "abc")]).await;
    assert_eq!(status.as_u16() / 100, 4, "a non-numeric id is a client error: {body}");

    let (_, page) = server.call::<ListApiKeys>(&client, &[]).await;
    assert_eq!(key_count(&page), 2, "nothing was added by the refused requests");
}

#[tokio::test]
async fn edit_renames_and_moves_and_refuses_what_is_gone() {
    let server = TestServer::start().await;
    let client = server.admin_client().await;
    let acl = any_address_acl(&server, &client).await;
    create(&server, &client, "first", acl).await;
    let (_, created) = create(&server, &client, "second", acl).await;
    let token = created["token"].as_str().unwrap().to_owned();
    let (_, page) = server.call::<ListApiKeys>(&client, &[]).await;
    let id = page["keys"][0]["id"].as_i64().unwrap().to_string();
    assert_eq!(page["keys"][0]["name"], "second", "newest first");

    let (status, body) =
        server.call::<UpdateApiKey>(&client, &[("id", &id), ("name", "FIRST"), ("ip_acl_id", &acl.to_string())]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = server
        .call::<UpdateApiKey>(&client, &[("id", &id), ("name", "Second (renamed)"), ("ip_acl_id", &acl.to_string())])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Renaming to a different case of its own name is not a clash with itself.
    let (status, _) = server
        .call::<UpdateApiKey>(&client, &[("id", &id), ("name", "SECOND (RENAMED)"), ("ip_acl_id", &acl.to_string())])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.whoami(&token).await.1["name"], "SECOND (RENAMED)");

    let (status, body) =
        server.call::<UpdateApiKey>(&client, &[("id", "424242"), ("name", "x"), ("ip_acl_id", &acl.to_string())]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({ "not_found": "This API key no longer exists." }));
}

#[tokio::test]
async fn a_deleted_key_stops_working_at_once() {
    let server = TestServer::start().await;
    let client = server.admin_client().await;
    let acl = any_address_acl(&server, &client).await;
    let (_, created) = create(&server, &client, "short-lived", acl).await;
    let token = created["token"].as_str().unwrap().to_owned();
    assert_eq!(server.whoami(&token).await.0, StatusCode::OK);
    let (_, page) = server.call::<ListApiKeys>(&client, &[]).await;
    let id = page["keys"][0]["id"].as_i64().unwrap().to_string();

    assert_eq!(server.call::<DeleteApiKey>(&client, &[("id", &id)]).await.0, StatusCode::OK);
    let (status, body) = server.whoami(&token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_token");

    let (status, body) = server.call::<DeleteApiKey>(&client, &[("id", &id)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["not_found"], "This API key no longer exists.");
    let (status, _) = server.call::<RevealApiKey>(&client, &[("id", &id)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn whoami_refuses_missing_malformed_and_unknown_tokens() {
    let server = TestServer::start().await;
    let client = reqwest::Client::new();
    let response = client.get(server.url("/api/v1/whoami")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key("www-authenticate"));
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "missing_token");

    let response = client.get(server.url("/api/v1/whoami")).header("authorization", "Basic abc").send().await.unwrap();
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "malformed_token");

    let valid_shape = textpeak::domain::token::Token::generate().unwrap();
    let mut bad_checksum = valid_shape.expose().to_owned();
    bad_checksum.replace_range(51..52, if bad_checksum.ends_with('a') { "b" } else { "a" });
    for (token, error) in [
        ("nonsense", "malformed_token"),
        (bad_checksum.as_str(), "malformed_token"),
        (valid_shape.expose(), "invalid_token"),
    ] {
        let (status, body) = server.whoami(token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token}");
        assert_eq!(body["error"], error, "{token}");
        assert!(!body.to_string().contains(token), "the error must not echo the token");
    }
    assert_eq!(client.get(server.url("/api/v1/health")).send().await.unwrap().status(), StatusCode::OK);
    let missing = client.get(server.url("/api/v1/nothing-here")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.json::<Value>().await.unwrap()["error"], "not_found");
}

#[tokio::test]
async fn the_page_shows_markup_as_text_and_never_the_token() {
    let server = TestServer::start().await;
    let client = server.admin_client().await;
    let acl = any_address_acl(&server, &client).await;
    let (_, created) = create(&server, &client, "<img src=x onerror=alert(1)>", acl).await;
    let token = created["token"].as_str().unwrap();
    let html = client.get(server.url("/settings/api-keys")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"), "the name is escaped");
    assert!(!html.contains("<img src=x"), "the name is never markup");
    assert!(!html.contains(&token[3..48]), "the page must not carry the token");
    assert!(html.contains(&token[48..]), "the masked token shows the last four characters");
}

#[tokio::test]
async fn keys_survive_a_restart() {
    let server = TestServer::start().await;
    let client = server.admin_client().await;
    let acl = any_address_acl(&server, &client).await;
    let (_, created) = create(&server, &client, "durable", acl).await;
    let token = created["token"].as_str().unwrap().to_owned();
    let db_url = server.database_url.clone();

    let restarted = TestServer::start_with(&[("DATABASE_URL", &db_url)]).await;
    let (_, page) = restarted.call::<ListApiKeys>(&client, &[]).await;
    assert_eq!(page["keys"][0]["name"], "durable");
    assert_eq!(restarted.whoami(&token).await.0, StatusCode::OK);
    let id = page["keys"][0]["id"].as_i64().unwrap().to_string();
    let (_, revealed) = restarted.call::<RevealApiKey>(&client, &[("id", &id)]).await;
    assert_eq!(revealed, Value::String(token));
}

#[tokio::test]
async fn the_table_pages_newest_first_by_cursor() {
    let server = TestServer::start().await;
    let client = server.admin_client().await;
    let acl = any_address_acl(&server, &client).await;
    for i in 0..120 {
        let (status, _) = create(&server, &client, &format!("key {i:03}"), acl).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (_, first) = server.call::<ListApiKeys>(&client, &[]).await;
    assert_eq!(key_count(&first), 50);
    assert_eq!(first["keys"][0]["name"], "key 119");
    assert_eq!(first["previous"], Value::Null);
    let after = first["next"]["After"].as_i64().unwrap().to_string();
    let (_, second) = server.call::<ListApiKeys>(&client, &[("after", &after)]).await;
    assert_eq!(second["keys"][0]["name"], "key 069");
    let after = second["next"]["After"].as_i64().unwrap().to_string();
    let (_, last) = server.call::<ListApiKeys>(&client, &[("after", &after)]).await;
    assert_eq!(key_count(&last), 20);
    assert_eq!(last["keys"][19]["name"], "key 000");
    assert_eq!(last["next"], Value::Null);
    let before = last["previous"]["Before"].as_i64().unwrap().to_string();
    let (_, back) = server.call::<ListApiKeys>(&client, &[("before", &before)]).await;
    assert_eq!(back["keys"], second["keys"], "Previous returns to the same page");
    // A cursor whose key is gone gives the first page.
    let (_, gone) = server.call::<ListApiKeys>(&client, &[("after", "999999")]).await;
    assert_eq!(gone["keys"][0]["name"], "key 119");
}
