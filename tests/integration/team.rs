//! The team: the role table walked over every server function, invitations,
//! two-factor sign-in with its replay and expiry rules, Confirm access,
//! sessions an admin ends, and the limits on what each input may be.

use crate::support::{ADMIN_PASSWORD, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server_fn::ServerFn;
use std::collections::HashMap;
use std::time::Duration;
use textpeak::domain::roles::{self, Need, Role};
use textpeak::domain::totp::TotpSecret;
use textpeak::rpc::api_keys::{CreateApiKey, ListApiKeys, RevealApiKey};
use textpeak::rpc::auth::{CurrentAdmin, SignIn, SignOut};
use textpeak::rpc::ip_acls::{CreateIpAcl, ListIpAcls};
use textpeak::rpc::security::{
    BeginTwoFactorSetup, ChangePassword, ConfirmAccess, EndOtherSessions, SecuritySettings, TurnOnTwoFactor,
    VerifyTwoFactor,
};
use textpeak::rpc::team::{ChangeAdminRole, InvitationDetails, InviteAdmin, ListTeam, RemoveAdmin};

const PASSWORD: &str = "a long enough password";

/// A refusal by the guard, as opposed to the function's own answer.
fn refused_by_guard(body: &Value) -> bool {
    body == &json!("unauthenticated")
        || body == &json!("forbidden")
        || body == &json!("confirm_access")
        || body == &json!("two_factor_setup_required")
        || body.get("not_allowed").is_some()
}

/// What each server function is called with in the walk: ids of account A's
/// things. A server function added without a row here fails the walk.
fn arguments(endpoint: &str, ids: &HashMap<&str, String>) -> Vec<(&'static str, String)> {
    let id = |name: &str| ids[name].clone();
    let v = |s: &str| s.to_owned();
    match endpoint {
        "sign_in" => vec![("username", v("nobody")), ("password", v("wrong password here"))],
        "verify_two_factor" => vec![("code", v("000000"))],
        "invitation_details" => vec![("token", v("not-a-token"))],
        "sign_out"
        | "current_admin"
        | "list_api_keys"
        | "keys_needing_attention"
        | "overview"
        | "list_ip_acls"
        | "list_team"
        | "security_settings"
        | "begin_two_factor_setup"
        | "new_recovery_codes"
        | "end_other_sessions" => vec![],
        "confirm_access" => vec![("password", v("not my password"))],
        "api_key_details" | "reveal_api_key" | "delete_api_key" => vec![("id", id("key"))],
        "create_api_key" => vec![("name", v("walk key")), ("ip_acl_id", id("acl"))],
        "update_api_key" => vec![("id", id("key")), ("name", v("walked")), ("ip_acl_id", id("acl"))],
        "set_api_key_enabled" => vec![("id", id("key")), ("enabled", v("false"))],
        "restrict_api_key" => vec![("id", id("key")), ("permissions", v("sms:send"))],
        "roll_api_key" => vec![("id", id("key")), ("grace", v("1h"))],
        "lock_api_key_to_addresses" => {
            vec![("id", id("key")), ("name", v("walk lock")), ("addresses", v("192.0.2.1")), ("report_only", v("true"))]
        }
        "create_ip_acl" => vec![("name", v("walk acl")), ("entries", v("192.0.2.0/24"))],
        "update_ip_acl" => vec![("id", id("acl")), ("name", v("walked acl")), ("entries", v("192.0.2.0/24"))],
        "delete_ip_acl" => vec![("id", id("spare_acl"))],
        "list_audit_log" => vec![("view[action]", v("api_key_created"))],
        "invite_admin" => vec![("username", v("walk-invitee")), ("role", v("viewer"))],
        "cancel_invitation" => vec![("id", id("invitation"))],
        "change_admin_role" => vec![("id", id("viewer")), ("role", v("admin"))],
        "remove_admin" => vec![("id", id("viewer"))],
        "set_require_two_factor" => vec![("on", v("false"))],
        "change_password" => vec![("current", v("not it")), ("new", v("short")), ("confirm", v("short"))],
        "turn_on_two_factor" => vec![("code", v("000000"))],
        "turn_off_two_factor" => vec![("password", v("not my password"))],
        "end_session" => vec![("id", id("session"))],
        other => panic!("no arguments for the server function {other}: add a row to this test's table"),
    }
}

async fn call(
    server: &TestServer,
    client: &reqwest::Client,
    path: &str,
    args: &[(&str, String)],
) -> (StatusCode, Value) {
    let response = client
        .post(server.url(path))
        .header("origin", format!("http://{}", server.addr))
        .form(args)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Every server function, as a stranger, an Owner of another account, a
/// Viewer, an Admin and an Owner: the guard lets through exactly what the
/// role table says, and another account's Owner changes nothing of this one.
#[tokio::test]
async fn the_role_table_decides_every_server_function() {
    let server = TestServer::start().await;
    let owner = server.admin_client().await;
    server.add_member("vera", PASSWORD, Role::Viewer).await;
    let viewer_id = server.add_member("vic", PASSWORD, Role::Viewer).await;
    server.add_member("adam", PASSWORD, Role::Admin).await;
    server.add_admin("Elsewhere", "olaf", PASSWORD).await;
    let (_, page) = server.call::<ListApiKeys>(&owner, &[]).await;
    let acl = page["ip_acls"][0]["id"].as_i64().unwrap().to_string();
    let (status, _) = server.call::<CreateApiKey>(&owner, &[("name", "Walked"), ("ip_acl_id", &acl)]).await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = server.call::<ListApiKeys>(&owner, &[]).await;
    let key = page["keys"][0]["id"].as_i64().unwrap().to_string();
    server.call::<CreateIpAcl>(&owner, &[("name", "Spare"), ("entries", "10.0.0.0/8")]).await;
    let (_, acls) = server.call::<ListIpAcls>(&owner, &[]).await;
    let spare = acls.as_array().unwrap().iter().find(|a| a["name"] == "Spare").unwrap()["id"].to_string();
    let (status, _) = server.call::<InviteAdmin>(&owner, &[("username", "pending-one"), ("role", "admin")]).await;
    assert_eq!(status, StatusCode::OK);
    let (_, team) = server.call::<ListTeam>(&owner, &[]).await;
    let invitation = team["invitations"][0]["id"].to_string();
    let (_, security) = server.call::<SecuritySettings>(&owner, &[]).await;
    let session = security["sessions"][0]["id"].to_string();
    let ids = HashMap::from([
        ("key", key.clone()),
        ("acl", acl),
        ("spare_acl", spare),
        ("invitation", invitation),
        ("viewer", viewer_id.to_string()),
        ("session", session),
    ]);

    let mut paths: Vec<&str> = server_fn::axum::server_fn_paths().map(|(path, _)| path).collect();
    paths.sort();
    // Signing out ends the walk's session: last.
    paths.sort_by_key(|path| path.ends_with("/sign_out"));
    for path in &paths {
        let endpoint = path.trim_start_matches("/rpc/");
        assert!(roles::rule_for(endpoint).is_some(), "{endpoint} has no row in domain::roles::RULES");
    }
    assert_eq!(paths.len(), roles::RULES.len(), "every row of the table is a server function");

    let stranger = TestServer::client();
    let foreign = server.signed_in_client("olaf", PASSWORD).await;
    let viewer = server.signed_in_client("vera", PASSWORD).await;
    let admin = server.signed_in_client("adam", PASSWORD).await;
    let callers: [(&str, Option<Role>, &reqwest::Client); 5] = [
        ("a stranger", None, &stranger),
        ("another account's Owner", Some(Role::Owner), &foreign),
        ("a Viewer", Some(Role::Viewer), &viewer),
        ("an Admin", Some(Role::Admin), &admin),
        ("an Owner", Some(Role::Owner), &owner),
    ];
    for (who, role, client) in callers {
        for path in &paths {
            let endpoint = path.trim_start_matches("/rpc/");
            let rule = roles::rule_for(endpoint).unwrap();
            let (status, body) = call(&server, client, path, &arguments(endpoint, &ids)).await;
            let allowed = match role {
                None => rule.need == Need::Nobody,
                Some(role) => role.may(rule.need),
            };
            if allowed {
                assert!(!refused_by_guard(&body), "{who} calling {endpoint}: {status} {body}");
            } else if role.is_none() {
                assert_eq!(
                    (status, &body),
                    (StatusCode::UNAUTHORIZED, &json!("unauthenticated")),
                    "{who} calling {endpoint}"
                );
            } else {
                let role = role.unwrap();
                assert_eq!(status, StatusCode::FORBIDDEN, "{who} calling {endpoint}: {body}");
                assert_eq!(body, json!({ "not_allowed": { "role": role.code() } }), "{who} calling {endpoint}");
            }
        }
        if who == "another account's Owner" || who == "a Viewer" {
            // Nothing of the account changed: the key, its name, the viewer, the invitation.
            let (_, page) = server.call::<ListApiKeys>(&owner, &[]).await;
            let names: Vec<&str> =
                page["keys"].as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap()).collect();
            assert_eq!(names, ["Walked"], "after {who}");
            assert_eq!(page["keys"][0]["status"], json!("Active"), "after {who}");
            let (_, team) = server.call::<ListTeam>(&owner, &[]).await;
            assert_eq!(team["members"].as_array().unwrap().len(), 4, "after {who}");
            assert_eq!(team["invitations"].as_array().unwrap().len(), 1, "after {who}");
        }
    }
    // The Owner's own walk signed it out at the end.
    assert_eq!(server.call::<CurrentAdmin>(&owner, &[]).await.0, StatusCode::UNAUTHORIZED);
}

/// Reads the pending second step's cookie a password answer set.
async fn sign_in_to_second_step(server: &TestServer, username: &str, password: &str) -> reqwest::Client {
    let client = TestServer::client();
    let (status, _) = server.call::<SignIn>(&client, &[("username", username), ("password", password)]).await;
    assert_eq!(status, StatusCode::OK, "the password is right");
    assert_eq!(server.call::<CurrentAdmin>(&client, &[]).await.0, StatusCode::UNAUTHORIZED, "no session yet");
    client
}

async fn turn_on_two_factor(server: &TestServer, client: &reqwest::Client) -> (TotpSecret, Vec<String>) {
    let (status, setup) = server.call::<BeginTwoFactorSetup>(client, &[]).await;
    assert_eq!(status, StatusCode::OK, "{setup}");
    assert!(setup["qr_code"].as_str().unwrap().starts_with("data:image/svg+xml;base64,"));
    let secret = TotpSecret::from_base32(setup["setup_key"].as_str().unwrap()).unwrap();
    let (status, body) = server.call::<TurnOnTwoFactor>(client, &[("code", "123")]).await;
    assert_eq!((status, &body["invalid"]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("code")));
    let code = secret.code_at(server.state.clock.now_ms());
    let (status, codes) = server.call::<TurnOnTwoFactor>(client, &[("code", &code)]).await;
    assert_eq!(status, StatusCode::OK, "{codes}");
    let codes: Vec<String> = serde_json::from_value(codes).unwrap();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

#[tokio::test]
async fn two_factor_sign_in_refuses_a_replayed_code_and_spends_recovery_codes() {
    let server = TestServer::start().await;
    server.add_member("tess", PASSWORD, Role::Admin).await;
    let tess = server.signed_in_client("tess", PASSWORD).await;
    let (secret, codes) = turn_on_two_factor(&server, &tess).await;
    let clock = &server.state.clock;

    // The step that turned it on is spent: the next sign-in waits for the next one.
    let client = sign_in_to_second_step(&server, "tess", PASSWORD).await;
    let code = secret.code_at(clock.now_ms());
    let (status, body) = server.call::<VerifyTwoFactor>(&client, &[("code", &code)]).await;
    assert_eq!(
        (status, &body["invalid"]["message"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("That code was already used. Wait for the next one."))
    );
    clock.advance(Duration::from_secs(30));
    let code = secret.code_at(clock.now_ms());
    let (status, body) = server.call::<VerifyTwoFactor>(&client, &[("code", &code)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(server.call::<CurrentAdmin>(&client, &[]).await.1["username"], "tess");
    // The same code again, from another browser: refused (RFC 6238 §5.2).
    let again = sign_in_to_second_step(&server, "tess", PASSWORD).await;
    let (status, body) = server.call::<VerifyTwoFactor>(&again, &[("code", &code)]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // A recovery code works once.
    let (status, _) = server.call::<VerifyTwoFactor>(&again, &[("recovery_code", &codes[3].to_uppercase())]).await;
    assert_eq!(status, StatusCode::OK);
    let third = sign_in_to_second_step(&server, "tess", PASSWORD).await;
    let (status, body) = server.call::<VerifyTwoFactor>(&third, &[("recovery_code", &codes[3])]).await;
    assert_eq!((status, &body["invalid"]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("recovery_code")));
    let (_, settings) = server.call::<SecuritySettings>(&tess, &[]).await;
    assert_eq!(settings["recovery_codes_left"], 9);
}

#[tokio::test]
async fn the_second_step_lasts_five_minutes_and_counts_against_the_throttle() {
    let server = TestServer::start().await;
    server.add_member("tom", PASSWORD, Role::Viewer).await;
    let tom = server.signed_in_client("tom", PASSWORD).await;
    let (secret, _) = turn_on_two_factor(&server, &tom).await;
    let clock = &server.state.clock;
    let late = sign_in_to_second_step(&server, "tom", PASSWORD).await;
    clock.advance(Duration::from_secs(5 * 60 + 1));
    let code = secret.code_at(clock.now_ms());
    let (status, body) = server.call::<VerifyTwoFactor>(&late, &[("code", &code)]).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, json!("challenge_expired")));
    // Wrong codes are wrong passwords to the throttle: the sixth in a minute waits.
    let guessing = sign_in_to_second_step(&server, "tom", PASSWORD).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(server.call::<VerifyTwoFactor>(&guessing, &[("code", "000000")]).await.0);
    }
    assert_eq!(statuses[..5], [StatusCode::UNPROCESSABLE_ENTITY; 5]);
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn an_invitation_accepted_twice_at_once_lets_one_in() {
    let server = TestServer::start().await;
    let owner = server.admin_client().await;
    let (status, invited) = server.call::<InviteAdmin>(&owner, &[("username", "Nina"), ("role", "admin")]).await;
    assert_eq!(status, StatusCode::OK, "{invited}");
    let link = invited["link"].as_str().unwrap();
    assert!(link.starts_with(&format!("http://{}/join/", server.addr)), "{link}");
    let path = link.split_once(&server.addr.to_string()).unwrap().1.to_owned();
    let token = path.trim_start_matches("/join/").to_owned();
    let (status, details) = server.call::<InvitationDetails>(&TestServer::client(), &[("token", &token)]).await;
    assert_eq!((status, details), (StatusCode::OK, json!({ "account": "Default", "username": "nina" })));

    let join = |client: reqwest::Client| {
        let url = server.url(&path);
        let origin = format!("http://{}", server.addr);
        async move {
            let response = client
                .post(url)
                .header("origin", origin)
                .form(&[("password", PASSWORD), ("confirm", PASSWORD)])
                .send()
                .await
                .unwrap();
            (response.status(), client)
        }
    };
    let (a, b) = tokio::join!(join(TestServer::client()), join(TestServer::client()));
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::SEE_OTHER, StatusCode::NOT_FOUND],
        "one joins, one is told it is no longer valid"
    );
    let joined = if a.0 == StatusCode::SEE_OTHER { a.1 } else { b.1 };
    let (_, me) = server.call::<CurrentAdmin>(&joined, &[]).await;
    assert_eq!((&me["username"], &me["role"]), (&json!("nina"), &json!("admin")));
    let page = TestServer::client().get(server.url(&path)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("This invitation is no longer valid"), "the used link");
    assert!(!page.contains("Default"), "says nothing of the account");
}

#[tokio::test]
async fn invitations_expire_after_72_hours_and_the_last_owner_stays() {
    let server = TestServer::start().await;
    let owner = server.admin_client().await;
    let (_, invited) = server.call::<InviteAdmin>(&owner, &[("username", "late"), ("role", "viewer")]).await;
    let token = invited["link"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    server.state.clock.advance(Duration::from_secs(72 * 3600));
    // Three days on, the owner's session has ended too.
    let owner = server.admin_client().await;
    let (status, body) = server.call::<InvitationDetails>(&TestServer::client(), &[("token", &token)]).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({ "not_found": "This invitation is no longer valid" })));
    let (_, team) = server.call::<ListTeam>(&owner, &[]).await;
    assert_eq!(team["invitations"], json!([]), "expired invitations are not pending");

    let me = team["members"][0]["id"].to_string();
    let (status, body) = server.call::<RemoveAdmin>(&owner, &[("id", &me)]).await;
    assert_eq!((status, body), (StatusCode::CONFLICT, json!({ "conflict": "An account needs at least one owner." })));
    let (status, _) = server.call::<ChangeAdminRole>(&owner, &[("id", &me), ("role", "admin")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_removed_or_demoted_admin_is_refused_on_the_next_request() {
    let server = TestServer::start().await;
    let owner = server.admin_client().await;
    let ann = server.add_member("ann", PASSWORD, Role::Admin).await.to_string();
    let bob = server.add_member("bob", PASSWORD, Role::Admin).await.to_string();
    let ann_client = server.signed_in_client("ann", PASSWORD).await;
    let bob_client = server.signed_in_client("bob", PASSWORD).await;
    let (_, page) = server.call::<ListApiKeys>(&ann_client, &[]).await;
    let acl = page["ip_acls"][0]["id"].to_string();
    assert_eq!(
        server.call::<CreateApiKey>(&ann_client, &[("name", "Before"), ("ip_acl_id", &acl)]).await.0,
        StatusCode::OK
    );

    assert_eq!(server.call::<ChangeAdminRole>(&owner, &[("id", &ann), ("role", "viewer")]).await.0, StatusCode::OK);
    let (status, body) = server.call::<CreateApiKey>(&ann_client, &[("name", "After"), ("ip_acl_id", &acl)]).await;
    assert_eq!((status, body), (StatusCode::FORBIDDEN, json!({ "not_allowed": { "role": "viewer" } })));

    assert_eq!(server.call::<RemoveAdmin>(&owner, &[("id", &bob)]).await.0, StatusCode::OK);
    assert_eq!(server.call::<ListApiKeys>(&bob_client, &[]).await.0, StatusCode::UNAUTHORIZED);
    let page = bob_client.get(server.url("/settings/api-keys")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert!(page.headers()["location"].to_str().unwrap().starts_with("/login"));
    assert!(
        server.sign_in(&TestServer::client(), "bob", PASSWORD).await.0 != StatusCode::OK,
        "bob cannot sign in again"
    );
}

#[tokio::test]
async fn showing_a_token_needs_a_recent_proof_of_identity() {
    let server = TestServer::start_with(&[("TEXTPEAK_CONFIRM_ACCESS_SECONDS", "5")]).await;
    let owner = server.admin_client().await;
    let (_, page) = server.call::<ListApiKeys>(&owner, &[]).await;
    let acl = page["ip_acls"][0]["id"].to_string();
    let (_, created) = server.call::<CreateApiKey>(&owner, &[("name", "Shown"), ("ip_acl_id", &acl)]).await;
    let (_, page) = server.call::<ListApiKeys>(&owner, &[]).await;
    let id = page["keys"][0]["id"].to_string();
    assert_eq!(
        server.call::<RevealApiKey>(&owner, &[("id", &id)]).await.1,
        created["token"],
        "signing in was the proof"
    );
    server.state.clock.advance(Duration::from_secs(6));
    let (status, body) = server.call::<RevealApiKey>(&owner, &[("id", &id)]).await;
    assert_eq!((status, body), (StatusCode::FORBIDDEN, json!("confirm_access")));
    let (status, body) = server.call::<ConfirmAccess>(&owner, &[("password", "not the password")]).await;
    assert_eq!((status, &body["invalid"]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("password")));
    assert_eq!(server.call::<RevealApiKey>(&owner, &[("id", &id)]).await.0, StatusCode::FORBIDDEN);
    assert_eq!(server.call::<ConfirmAccess>(&owner, &[("password", ADMIN_PASSWORD)]).await.0, StatusCode::OK);
    assert_eq!(server.call::<RevealApiKey>(&owner, &[("id", &id)]).await.1, created["token"]);
}

#[tokio::test]
async fn a_new_password_ends_every_other_session() {
    let server = TestServer::start().await;
    let here = server.admin_client().await;
    let there = server.admin_client().await;
    let new = "a brand new password";
    let (status, body) =
        server.call::<ChangePassword>(&here, &[("current", "wrong one"), ("new", new), ("confirm", new)]).await;
    assert_eq!((status, &body["invalid"]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("password")));
    let (status, body) =
        server.call::<ChangePassword>(&here, &[("current", ADMIN_PASSWORD), ("new", new), ("confirm", "other")]).await;
    assert_eq!((status, &body["invalid"]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("confirm_password")));
    let (status, _) =
        server.call::<ChangePassword>(&here, &[("current", ADMIN_PASSWORD), ("new", new), ("confirm", new)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.call::<CurrentAdmin>(&here, &[]).await.0, StatusCode::OK, "this browser stays");
    assert_eq!(server.call::<CurrentAdmin>(&there, &[]).await.0, StatusCode::UNAUTHORIZED, "the other is out");
    assert_eq!(server.sign_in(&TestServer::client(), "admin", new).await.0, StatusCode::OK);
    let third = server.signed_in_client("admin", new).await;
    assert_eq!(server.call::<EndOtherSessions>(&here, &[]).await.0, StatusCode::OK);
    assert_eq!(server.call::<CurrentAdmin>(&third, &[]).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(server.call::<SignOut>(&here, &[]).await.0, StatusCode::OK);
}

#[tokio::test]
async fn every_new_input_is_bounded() {
    let server = TestServer::start().await;
    let owner = server.admin_client().await;
    let huge = "a".repeat(1024 * 1024);
    for (path, field) in [
        (InviteAdmin::PATH, "username"),
        (VerifyTwoFactor::PATH, "code"),
        (TurnOnTwoFactor::PATH, "code"),
        (ConfirmAccess::PATH, "password"),
        (InvitationDetails::PATH, "token"),
    ] {
        let (status, _) = call(&server, &owner, path, &[(field, huge.clone()), ("role", "viewer".into())]).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{path}");
    }
    // Under the body limit, still far too long for what it is.
    let long = "a".repeat(60 * 1024);
    let (status, body) = server.call::<InviteAdmin>(&owner, &[("username", &long), ("role", "viewer")]).await;
    assert_eq!((status, &body["invalid"]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("username")));
    let (status, body) = server.call::<InviteAdmin>(&owner, &[("username", "fine"), ("role", &long)]).await;
    assert_eq!((status, &body["invalid"]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("role")));
    let (status, _) = server.call::<TurnOnTwoFactor>(&owner, &[("code", &long)]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let join = TestServer::client()
        .post(server.url("/join/whatever"))
        .header("origin", format!("http://{}", server.addr))
        .body(format!("password={huge}"))
        .send()
        .await
        .unwrap();
    assert_eq!(join.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let (_, team) = server.call::<ListTeam>(&owner, &[]).await;
    assert_eq!((team["members"].as_array().unwrap().len(), &team["invitations"]), (1, &json!([])), "nothing stored");
}

/// A database made by the migrations before the team: its admin signs in as an Owner.
#[tokio::test]
async fn admins_from_before_the_team_are_owners() {
    use sea_orm::{ConnectOptions, ConnectionTrait, Database};
    use sea_orm_migration::MigratorTrait;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    let mut options = ConnectOptions::new(url.clone());
    options.max_connections(1).sqlx_logging(false);
    let db = Database::connect(options).await.unwrap();
    textpeak::db::migration::Migrator::up(&db, Some(6)).await.unwrap();
    let hash = textpeak::domain::password::hash(PASSWORD).unwrap();
    let now = textpeak::db::service::now_ms();
    for sql in [
        "INSERT INTO accounts (id, name, created_at) VALUES (1, 'Default', 0)".to_owned(),
        format!(
            "INSERT INTO admins (id, account_id, username, password_hash, created_at) VALUES (1, 1, 'old', '{hash}', 0)"
        ),
        format!(
            "INSERT INTO sessions (id_digest, admin_id, account_id, created_at, last_seen_at) VALUES (X'00', 1, 1, {now}, {now})"
        ),
    ] {
        db.execute_unprepared(&sql).await.unwrap();
    }
    db.close().await.unwrap();
    let server = TestServer::start_with(&[("DATABASE_URL", &url)]).await;
    let old = server.signed_in_client("old", PASSWORD).await;
    let (_, me) = server.call::<CurrentAdmin>(&old, &[]).await;
    assert_eq!((&me["role"], &me["two_factor"]), (&json!("owner"), &json!(false)));
    let row = server
        .state
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            server.state.db.get_database_backend(),
            format!("SELECT proved_at FROM sessions WHERE created_at = {now}"),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i64>("", "proved_at").unwrap(), now, "open sessions proved who they are at sign-in");
}
