use crate::domain::crypto::MasterKey;
use crate::domain::device::DeviceKey;
use crate::domain::recovery::RecoveryKey;
use crate::server::clock::Clock;
use crate::server::console::overview::OverviewCache;
use crate::server::console::throttle::SignInThrottle;
use crate::server::public_api::verifier::Verifier;
use crate::server::startup::config::Settings;
use crate::server::usage::UsageRecorder;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// What every handler and server function shares. One `Arc`: the router
/// and its middleware clone the state for every request, and a profile of
/// `/api/v1/health` showed cloning and dropping a dozen fields (the Leptos
/// options' strings among them) at about a tenth of the server's time.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// leptos_axum's handlers take the options from the state.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub db: DatabaseConnection,
    pub master_key: Arc<MasterKey>,
    /// Signs the known-browser cookie (see `domain::device`).
    pub device_key: Arc<DeviceKey>,
    /// Keys the recovery codes' HMACs (see `domain::recovery`).
    pub recovery_key: Arc<RecoveryKey>,
    pub settings: Arc<Settings>,
    pub throttle: Arc<SignInThrottle>,
    pub verifier: Arc<Verifier>,
    /// What tokens did since the last flush (the verifier records, the flush job writes).
    pub usage: Arc<UsageRecorder>,
    /// The time every expiry and grace decision reads.
    pub clock: Arc<Clock>,
    /// What the Overview read from the database, for a few seconds.
    pub overview: Arc<OverviewCache>,
}
