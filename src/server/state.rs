use crate::domain::crypto::MasterKey;
use crate::server::config::Settings;
use crate::server::throttle::SignInThrottle;
use crate::server::verifier::Verifier;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// What every handler and server function shares; cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: DatabaseConnection,
    pub master_key: Arc<MasterKey>,
    pub settings: Arc<Settings>,
    pub throttle: Arc<SignInThrottle>,
    pub verifier: Arc<Verifier>,
}
