//! HTTP plumbing: the router, and the middleware every request passes before
//! any handler (a request id, security headers, the client's address, body limits, the
//! session guard, the status of server-function errors).

pub mod client_ip;
pub mod cookies;
pub mod forms;
pub mod guard;
pub mod headers;
pub mod limits;
pub mod request_id;
pub mod routes;
pub mod rpc;
