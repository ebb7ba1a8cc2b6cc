//! The Overview's figures against keys made and used here, written and not
//! yet written; the API Keys table's "Expiring soon" filter they link to;
//! and the Audit Log's filters, paging and CSV download.

use crate::support::TestServer;
use reqwest::StatusCode;
use serde_json::Value;
use textpeak::domain::roles::Role;
use textpeak::rpc::api_keys::{CreateApiKey, DeleteApiKey, ListApiKeys, SetApiKeyEnabled, UpdateApiKey};
use textpeak::rpc::audit::ListAuditLog;
use textpeak::rpc::overview::Overview;

async fn any_acl(server: &TestServer, client: &reqwest::Client) -> String {
    let (_, page) = server.call::<ListApiKeys>(client, &[]).await;
    page["ip_acls"][0]["id"].as_i64().unwrap().to_string()
}

/// Creates a key; returns (id, token).
async fn key(server: &TestServer, client: &reqwest::Client, form: &[(&str, &str)]) -> (String, String) {
    let (status, created) = server.call::<CreateApiKey>(client, form).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let name = form.iter().find(|(k, _)| *k == "name").unwrap().1;
    let (_, page) = server.call::<ListApiKeys>(client, &[("q", name)]).await;
    (page["keys"][0]["id"].as_i64().unwrap().to_string(), created["token"].as_str().unwrap().to_owned())
}

fn in_days(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days)).format("%Y-%m-%d").to_string()
}

async fn figures(server: &TestServer, client: &reqwest::Client) -> Value {
    let (status, figures) = server.call::<Overview>(client, &[]).await;
    assert_eq!(status, StatusCode::OK, "{figures}");
    figures
}

fn busiest(figures: &Value) -> Vec<(String, i64)> {
    figures["busiest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["name"].as_str().unwrap().to_owned(), k["requests"].as_i64().unwrap()))
        .collect()
}

#[tokio::test]
async fn the_overview_counts_keys_and_requests_before_and_after_they_are_written() {
    let server = TestServer::start().await;
    let client = server.admin_client().await;
    let acl = any_acl(&server, &client).await;
    let (_, busy) = key(&server, &client, &[("name", "Busy"), ("ip_acl_id", &acl)]).await;
    let (_, quiet) = key(&server, &client, &[("name", "Quiet"), ("ip_acl_id", &acl)]).await;
    let (off, _) = key(&server, &client, &[("name", "Off"), ("ip_acl_id", &acl)]).await;
    let soon_date = in_days(5);
    let soon = [("name", "Soon"), ("ip_acl_id", &acl), ("expires", "date"), ("expiry_date", &soon_date)];
    key(&server, &client, &soon).await;
    key(&server, &client, &[("name", "Idle"), ("ip_acl_id", &acl)]).await;
    server.call::<SetApiKeyEnabled>(&client, &[("id", &off), ("enabled", "false")]).await;
    for _ in 0..4 {
        assert_eq!(server.whoami(&busy).await.0, StatusCode::OK);
    }
    assert_eq!(server.whoami(&quiet).await.0, StatusCode::OK);

    let before = figures(&server, &client).await;
    let counts = &before["counts"];
    assert_eq!(
        (&counts["active"], &counts["expiring"], &counts["disabled"], &counts["expired"]),
        (&Value::from(4), &Value::from(1), &Value::from(1), &Value::from(0)),
        "{counts}"
    );
    assert_eq!(busiest(&before), [("Busy".to_owned(), 4), ("Quiet".to_owned(), 1)], "not yet written counts");
    let today = before["days"].as_array().unwrap().last().unwrap();
    assert_eq!((&today["allowed"], &today["refused"]), (&Value::from(5), &Value::from(0)));
    assert_eq!(before["days"].as_array().unwrap().len(), 30);
    let recent: Vec<&str> =
        before["recent"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(recent.len(), 5);
    assert_eq!(recent[0], "Disabled API key", "newest first");

    // Written: the same figures, counted once.
    server.state.usage.flush(&server.state.db).await.unwrap();
    let after = figures(&server, &client).await;
    assert_eq!(after["days"], before["days"]);
    assert_eq!(busiest(&after), busiest(&before));
    // More uses on top of written ones move a key up.
    for _ in 0..5 {
        assert_eq!(server.whoami(&quiet).await.0, StatusCode::OK);
    }
    let moved = figures(&server, &client).await;
    assert_eq!(busiest(&moved), [("Quiet".to_owned(), 6), ("Busy".to_owned(), 4)]);
    // What the Overview read is kept a few seconds, but a change shows at once.
    let (_, page) = server.call::<ListApiKeys>(&client, &[("q", "Busy")]).await;
    let busy_id = page["keys"][0]["id"].as_i64().unwrap().to_string();
    server.call::<SetApiKeyEnabled>(&client, &[("id", &busy_id), ("enabled", "false")]).await;
    assert_eq!(figures(&server, &client).await["counts"]["disabled"], 2);

    // Each count's link: the table filtered by that status.
    let (_, expiring) = server.call::<ListApiKeys>(&client, &[("status", "expiring")]).await;
    let names: Vec<&str> = expiring["keys"].as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Soon"]);
    let (_, active) = server.call::<ListApiKeys>(&client, &[("status", "active")]).await;
    assert_eq!(active["keys"].as_array().unwrap().len(), 3, "Busy was disabled above");
}

#[tokio::test]
async fn a_deleted_key_leaves_the_busiest_but_its_requests_stay_in_the_chart() {
    let server = TestServer::start().await;
    let client = server.admin_client().await;
    let acl = any_acl(&server, &client).await;
    let (id, token) = key(&server, &client, &[("name", "Gone soon"), ("ip_acl_id", &acl)]).await;
    for _ in 0..3 {
        server.whoami(&token).await;
    }
    server.state.usage.flush(&server.state.db).await.unwrap();
    assert_eq!(figures(&server, &client).await["counts"]["active"], 1);
    server.call::<DeleteApiKey>(&client, &[("id", &id)]).await;
    let figures = figures(&server, &client).await;
    assert_eq!(figures["counts"]["active"], 0, "the account's count of keys follows the delete");
    assert_eq!(busiest(&figures), []);
    assert_eq!(figures["days"].as_array().unwrap().last().unwrap()["allowed"], 3);
}

/// Entries by two admins on three keys, for the filters below.
async fn audited() -> (TestServer, reqwest::Client) {
    let server = TestServer::start().await;
    let client = server.admin_client().await;
    server.add_member("second", "the second admin's password", Role::Admin).await;
    let second = server.signed_in_client("second", "the second admin's password").await;
    let acl = any_acl(&server, &client).await;
    let (billing, _) = key(&server, &client, &[("name", "Billing Service"), ("ip_acl_id", &acl)]).await;
    let (reports, _) = key(&server, &second, &[("name", "Reports"), ("ip_acl_id", &acl)]).await;
    key(&server, &second, &[("name", "billing-cron"), ("ip_acl_id", &acl)]).await;
    server.call::<UpdateApiKey>(&second, &[("id", &billing), ("name", "Billing Service"), ("ip_acl_id", &acl)]).await;
    server.call::<DeleteApiKey>(&client, &[("id", &reports)]).await;
    (server, client)
}

async fn entries(
    server: &TestServer,
    client: &reqwest::Client,
    view: &[(&str, &str)],
) -> Vec<(String, String, String)> {
    let form: Vec<(String, &str)> = view.iter().map(|(k, v)| (format!("view[{k}]"), *v)).collect();
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let (status, page) = server.call::<ListAuditLog>(client, &form).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let text = |f: &str| e[f].as_str().unwrap_or_default().to_owned();
            (text("admin"), text("action"), text("subject"))
        })
        .collect()
}

#[tokio::test]
async fn the_audit_log_is_found_by_each_filter_and_their_combinations() {
    let (server, client) = audited().await;
    let by_second = entries(&server, &client, &[("admin", "second")]).await;
    assert!(by_second.iter().all(|(admin, ..)| admin == "second"), "{by_second:?}");
    assert!(by_second.iter().any(|(_, action, _)| action == "Created API key"));
    let deleted = entries(&server, &client, &[("action", "api_key_deleted")]).await;
    assert_eq!(deleted, [("admin".into(), "Deleted API key".into(), "Reports".into())]);
    // Contains, ignoring case: both billing keys, not Reports.
    let billing = entries(&server, &client, &[("q", "BILLING")]).await;
    let subjects: std::collections::BTreeSet<&str> = billing.iter().map(|(.., s)| s.as_str()).collect();
    assert_eq!(subjects, ["Billing Service", "billing-cron"].into());
    // Combined: the second admin's edits of billing keys.
    let combined =
        entries(&server, &client, &[("admin", "second"), ("action", "api_key_updated"), ("q", "billing")]).await;
    assert_eq!(combined, [("second".into(), "Edited API key".into(), "Billing Service".into())]);
    // Dates, both included: today finds them, yesterday and tomorrow do not.
    let today = in_days(0);
    assert_eq!(
        entries(&server, &client, &[("from", &today), ("to", &today)]).await.len(),
        entries(&server, &client, &[]).await.len()
    );
    assert!(entries(&server, &client, &[("to", &in_days(-1))]).await.is_empty());
    assert!(entries(&server, &client, &[("from", &in_days(1))]).await.is_empty());
    // Wildcards are text.
    assert!(entries(&server, &client, &[("q", "%")]).await.is_empty());

    // Bad filters are named, not ignored.
    for (view, field, words) in [
        (("from", "last tuesday"), "from", "From is not a date"),
        (("action", "api_key_eaten"), "filter", "no such action"),
    ] {
        let form = [(format!("view[{}]", view.0), view.1)];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let (status, body) = server.call::<ListAuditLog>(&client, &form).await;
        assert_ne!(status, StatusCode::OK, "{body}");
        assert_eq!(body["invalid"]["field"], field, "{body}");
        assert!(body["invalid"]["message"].as_str().unwrap().contains(words), "{body}");
    }
    let (_, reversed) = server
        .call::<ListAuditLog>(&client, &[("view[from]", in_days(1).as_str()), ("view[to]", in_days(0).as_str())])
        .await;
    assert_eq!(reversed["invalid"]["field"], "to", "{reversed}");
}

#[tokio::test]
async fn the_audit_log_pages_by_keyset_both_ways() {
    let server = TestServer::start().await;
    let client = server.admin_client().await;
    let acl = any_acl(&server, &client).await;
    for i in 0..60 {
        let name = format!("Paged {i:02}");
        let (status, body) = server.call::<CreateApiKey>(&client, &[("name", &name), ("ip_acl_id", &acl)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let page = |place: Option<(&'static str, String)>| {
        let (server, client) = (&server, &client);
        async move {
            let mut form = vec![("view[action]", "api_key_created".to_owned())];
            form.extend(place);
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, page) = server.call::<ListAuditLog>(client, &form).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            page
        }
    };
    let subjects = |page: &Value| -> Vec<String> {
        page["entries"].as_array().unwrap().iter().map(|e| e["subject"].as_str().unwrap().to_owned()).collect()
    };
    let first = page(None).await;
    assert_eq!(subjects(&first).len(), 50);
    assert_eq!(subjects(&first)[0], "Paged 59", "newest first");
    assert_eq!(first["newer"], Value::Null);
    let older = first["older"].as_str().expect("an older page").to_owned();
    let second = page(Some(("view[before]", older))).await;
    assert_eq!(subjects(&second), (0..10).rev().map(|i| format!("Paged {i:02}")).collect::<Vec<_>>());
    assert_eq!(second["older"], Value::Null);
    let newer = second["newer"].as_str().expect("a newer page").to_owned();
    let back = page(Some(("view[after]", newer))).await;
    assert_eq!(subjects(&back), subjects(&first), "Newer returns to the same page");
    assert_eq!(back["newer"], Value::Null);

    let (status, body) = server.call::<ListAuditLog>(&client, &[("view[before]", "not a place")]).await;
    assert_ne!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn the_audit_log_download_follows_the_filters() {
    let (server, client) = audited().await;
    let get = |query: &'static str| {
        let (client, url) = (client.clone(), server.url(&format!("/settings/audit-log/export.csv{query}")));
        async move {
            let response = client.get(url).send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let (status, all) = get("").await;
    assert_eq!(status, StatusCode::OK);
    let (status, billing) = get("?q=billing&admin=second").await;
    assert_eq!(status, StatusCode::OK);
    let rows: Vec<&str> = billing.split("\r\n").filter(|l| !l.is_empty()).skip(1).collect();
    assert_eq!(rows.len(), 2, "{billing}");
    assert!(rows.iter().all(|r| r.contains(",second,") && r.to_lowercase().contains("billing")), "{billing}");
    assert!(all.split("\r\n").filter(|l| !l.is_empty()).count() > rows.len() + 3, "{all}");
    let (status, refused) = get("?from=someday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(refused.contains("From is not a date"), "{refused}");
}
