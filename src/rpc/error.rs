use crate::domain::roles::Role;
use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

/// Which input of a dialog an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Name,
    Entries,
    Username,
    Password,
    /// The Expires choice of a key.
    Expires,
    /// The Expiry date field (Expires: On a date…).
    ExpiryDate,
    /// Old token stops working (Roll).
    Grace,
    Role,
    NewPassword,
    ConfirmPassword,
    /// An authentication code (two-factor).
    Code,
    RecoveryCode,
    /// Full access or Restricted, and the grid.
    Permissions,
    /// The rate limit's Requests.
    RateLimit,
    /// The rate limit's Per.
    RatePer,
    /// The Audit Log's filters: From, To, and the others.
    From,
    To,
    Filter,
}

/// Every failure a server function can report, in words an admin can act on.
/// Details (database errors and the like) stay in the server log. On the
/// wire each is its snake_case name (`"confirm_access"`, `{"not_allowed": …}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum ConsoleError {
    #[error("{message}")]
    Invalid { field: Field, message: String },
    #[error("{0}")]
    NotFound(String),
    /// The request is valid but the current state refuses it (an IP ACL still in use).
    #[error("{0}")]
    Conflict(String),
    #[error("Your session has ended. Sign in again.")]
    Unauthenticated,
    #[error("This request was refused because it did not come from the console.")]
    Forbidden,
    /// The caller's role does not allow this (see `domain::roles`).
    #[error("Your role ({}) cannot do this.", role.label())]
    NotAllowed { role: Role },
    /// A recent proof of identity is needed first: the browser asks for it
    /// (Confirm access) and then sends the same request again.
    #[error("Confirm your password to continue.")]
    ConfirmAccess,
    /// The account requires two-factor authentication and this admin has not set it up.
    #[error("Your account requires two-factor authentication: set it up under Settings › Security first.")]
    TwoFactorSetupRequired,
    #[error("Wrong username or password")]
    WrongCredentials,
    /// The second step of a sign-in is over (5 minutes passed, or it was used).
    #[error("This sign-in took too long or is already finished. Sign in again.")]
    ChallengeExpired,
    #[error("Too many failed attempts. Try again in {retry_after_secs} s.")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("The request was not understood: {0}")]
    BadRequest(String),
    #[error("This form is too large to send: at most {limit_kib} KiB.")]
    TooLarge { limit_kib: u64 },
    /// Too many sign-ins are waiting for a password check; nothing was tried.
    #[error("The server is busy checking other sign-ins. Try again in {retry_after_secs} s.")]
    Busy { retry_after_secs: u64 },
    #[error("The database is unavailable, try again shortly.")]
    Unavailable,
    #[error(
        "The server's disk is full, so nothing was saved. Try again later; if it keeps happening, tell your administrator."
    )]
    StorageFull,
    #[error("Something went wrong on the server. Try again; if it keeps happening, tell your administrator.")]
    Internal,
    #[error("The console could not reach the server. Check your connection and try again.")]
    Unreachable,
}

impl ConsoleError {
    pub fn invalid(field: Field, message: impl Into<String>) -> Self {
        ConsoleError::Invalid { field, message: message.into() }
    }

    /// The HTTP status the server answers with.
    pub fn status(&self) -> u16 {
        match self {
            ConsoleError::Invalid { .. } => 422,
            ConsoleError::NotFound(_) => 404,
            ConsoleError::Conflict(_) => 409,
            ConsoleError::Unauthenticated | ConsoleError::WrongCredentials | ConsoleError::ChallengeExpired => 401,
            ConsoleError::Forbidden
            | ConsoleError::NotAllowed { .. }
            | ConsoleError::ConfirmAccess
            | ConsoleError::TwoFactorSetupRequired => 403,
            ConsoleError::TooManyAttempts { .. } => 429,
            ConsoleError::BadRequest(_) => 400,
            ConsoleError::TooLarge { .. } => 413,
            ConsoleError::Busy { .. } | ConsoleError::Unavailable => 503,
            ConsoleError::StorageFull => 507,
            ConsoleError::Internal | ConsoleError::Unreachable => 500,
        }
    }

    /// Seconds the client should wait before trying again (`Retry-After`).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ConsoleError::TooManyAttempts { retry_after_secs } | ConsoleError::Busy { retry_after_secs } => {
                Some(*retry_after_secs)
            }
            ConsoleError::Unavailable => Some(2),
            _ => None,
        }
    }

    /// The message to show next to `field`, if this error is about it.
    pub fn for_field(&self, field: Field) -> Option<String> {
        match self {
            ConsoleError::Invalid { field: f, message } if *f == field => Some(message.clone()),
            _ => None,
        }
    }

    /// The message to show above a form's buttons: anything not tied to a field.
    pub fn general(&self) -> Option<String> {
        match self {
            ConsoleError::Invalid { .. } => None,
            other => Some(other.to_string()),
        }
    }
}

impl FromServerFnError for ConsoleError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(detail)
            | ServerFnErrorErr::MissingArg(detail)
            | ServerFnErrorErr::Deserialization(detail) => ConsoleError::BadRequest(detail),
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => ConsoleError::Unreachable,
            _ => ConsoleError::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_go_to_their_field_only() {
        let err = ConsoleError::invalid(Field::Name, "Enter a name");
        assert_eq!(err.for_field(Field::Name).as_deref(), Some("Enter a name"));
        assert_eq!(err.for_field(Field::Entries), None);
        assert_eq!(err.general(), None);
        assert_eq!(err.status(), 422);
    }

    #[test]
    fn other_errors_are_general() {
        let err = ConsoleError::NotFound("This API key no longer exists.".into());
        assert_eq!(err.general().as_deref(), Some("This API key no longer exists."));
        assert_eq!(err.status(), 404);
    }

    #[test]
    fn encodes_as_json_for_the_browser() {
        let err = ConsoleError::TooManyAttempts { retry_after_secs: 42 };
        let json = serde_json::to_string(&err).unwrap();
        assert_eq!(serde_json::from_str::<ConsoleError>(&json).unwrap(), err);
        assert_eq!(err.to_string(), "Too many failed attempts. Try again in 42 s.");
        assert_eq!(serde_json::to_string(&ConsoleError::ConfirmAccess).unwrap(), "\"confirm_access\"");
        let role = ConsoleError::NotAllowed { role: Role::Viewer };
        assert_eq!(role.to_string(), "Your role (Viewer) cannot do this.");
        assert_eq!((role.status(), ConsoleError::ConfirmAccess.status()), (403, 403));
    }
}
