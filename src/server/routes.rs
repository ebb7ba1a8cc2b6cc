//! The HTTP surface: the console's pages and server functions, the public
//! TextPeak API, and the static files of the browser bundle.

use crate::app::{App, shell};
use crate::server::state::AppState;
use crate::server::{public_api, rpc};
use axum::Router;
use axum::middleware;
use axum::routing::{any, get};
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::compression::CompressionLayer;

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        .route("/api/v1/health", get(public_api::health))
        .route("/api/v1/whoami", get(public_api::whoami))
        .route("/api/v1/{*rest}", any(public_api::not_found))
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn(rpc::error_status))
        .layer(CompressionLayer::new())
        .with_state(state)
}
