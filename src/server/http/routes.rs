//! The HTTP surface: the console's pages and server functions, the public
//! TextPeak API, and the static files of the browser bundle.

use crate::app::{App, LOGIN_PATH, TWO_FACTOR_PATH, shell};
use crate::server::console::export;
use crate::server::http::client_ip::{self, TrustedProxies};
use crate::server::http::forms::{self, Which};
use crate::server::http::{guard, headers, limits, request_id, rpc};
use crate::server::public_api;
use crate::server::state::AppState;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::routing::{any, get, post};
use leptos::config::Env;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, ResponseOptions, generate_route_list};
use tower_http::compression::CompressionLayer;

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    let dev = options.env == Env::DEV;
    // Every rendered page gets a policy naming the nonce Leptos put on its scripts.
    let page_context = move || {
        if let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<ResponseOptions>())
            && let Ok(policy) = HeaderValue::from_str(&headers::page_policy(nonce.as_inner(), dev))
        {
            response.insert_header(header::CONTENT_SECURITY_POLICY, policy);
        }
    };
    let trusted = TrustedProxies::new(state.settings.trusted_proxies.clone());

    // The TextPeak API is the hot path: it skips the console's layers (the
    // session guard lets it through untouched anyway).
    let api = Router::new()
        .route("/api/v1/health", get(public_api::health))
        .route("/api/v1/ready", get(public_api::ready))
        .route("/api/v1/whoami", get(public_api::whoami))
        .route("/api/v1/check", get(public_api::check))
        .route("/api/v1/{*rest}", any(public_api::not_found));
    // Layers run outside in: the last added sees the request first.
    let console = Router::new()
        .route(export::API_KEYS_PATH, get(export::api_keys))
        .route(export::AUDIT_LOG_PATH, get(export::audit_log))
        .route(
            LOGIN_PATH,
            post(move |state: State<AppState>, request: Request| {
                forms::submit(state, Which::SignIn, page_context, request)
            }),
        )
        .route(
            TWO_FACTOR_PATH,
            post(move |state: State<AppState>, request: Request| {
                forms::submit(state, Which::SecondStep, page_context, request)
            }),
        )
        .route(
            "/join/{token}",
            post(move |state: State<AppState>, request: Request| {
                forms::submit(state, Which::Join, page_context, request)
            }),
        )
        .leptos_routes_with_context(&state, routes, page_context, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(page_context, shell))
        .layer(middleware::from_fn(rpc::error_status))
        .layer(middleware::from_fn_with_state(state.clone(), guard::sessions));
    api.merge(console)
        .layer(middleware::from_fn(limits::bodies))
        .layer(middleware::from_fn(move |request, next| client_ip::resolve(trusted.clone(), request, next)))
        .layer(middleware::from_fn(headers::security))
        .layer(CompressionLayer::new())
        .layer(middleware::from_fn(request_id::tag))
        .with_state(state)
}
