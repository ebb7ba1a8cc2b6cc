//! Server functions behind Settings › Team, and the join page's.

use super::ConsoleError;
use crate::domain::roles::Role;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// An admin of the account, as the Team table shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMember {
    pub id: i32,
    pub username: String,
    pub role: Role,
    pub two_factor: bool,
    /// Milliseconds since the epoch; `None`: never signed in.
    pub last_signed_in: Option<i64>,
    /// The admin looking at the page.
    pub you: bool,
}

/// An invitation not yet accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingInvitation {
    pub id: i32,
    pub username: String,
    pub role: Role,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub members: Vec<TeamMember>,
    pub invitations: Vec<PendingInvitation>,
    pub require_two_factor: bool,
    /// The looking admin's own role and two-factor, for what the page offers.
    pub your_role: Role,
    pub you_have_two_factor: bool,
}

/// The link shown once after Invite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedInvitation {
    pub username: String,
    pub link: String,
}

/// What the join page says about a valid invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub account: String,
    pub username: String,
}

#[server(prefix = "/rpc", endpoint = "list_team")]
pub async fn list_team() -> Result<Team, ConsoleError> {
    use crate::server::caller as rpc;
    crate::server::console::team::list(&rpc::state()?, &rpc::caller().await?).await
}

/// Invites `username` as `role`; the answer carries the link, the only time it is sent.
#[server(prefix = "/rpc", endpoint = "invite_admin")]
pub async fn invite_admin(username: String, role: String) -> Result<CreatedInvitation, ConsoleError> {
    use crate::server::caller as rpc;
    crate::server::console::team::invite(&rpc::state()?, &rpc::caller().await?, &username, &role).await
}

#[server(prefix = "/rpc", endpoint = "cancel_invitation")]
pub async fn cancel_invitation(id: i32) -> Result<(), ConsoleError> {
    use crate::server::caller as rpc;
    crate::server::console::team::cancel(&rpc::state()?, &rpc::caller().await?, id).await
}

#[server(prefix = "/rpc", endpoint = "change_admin_role")]
pub async fn change_admin_role(id: i32, role: String) -> Result<(), ConsoleError> {
    use crate::server::caller as rpc;
    crate::server::console::team::change_role(&rpc::state()?, &rpc::caller().await?, id, &role).await
}

/// Removes an admin; their sessions end at once.
#[server(prefix = "/rpc", endpoint = "remove_admin")]
pub async fn remove_admin(id: i32) -> Result<(), ConsoleError> {
    use crate::server::caller as rpc;
    crate::server::console::team::remove(&rpc::state()?, &rpc::caller().await?, id).await
}

#[server(prefix = "/rpc", endpoint = "set_require_two_factor")]
pub async fn set_require_two_factor(on: bool) -> Result<(), ConsoleError> {
    use crate::server::caller as rpc;
    crate::server::console::team::set_require_two_factor(&rpc::state()?, &rpc::caller().await?, on).await
}

/// The account and username an invitation link is for; "no longer valid"
/// (and nothing about the account) when it cannot be used.
#[server(prefix = "/rpc", endpoint = "invitation_details")]
pub async fn invitation_details(token: String) -> Result<Invitation, ConsoleError> {
    use crate::server::caller as rpc;
    crate::server::console::team::invitation(&rpc::state()?, &token).await
}
