//! Everything that runs only on the server, one folder per concern:
//! `startup` (settings, command line, start and stop), `http` (the router and
//! the middleware every request passes), `console` (the work behind the
//! console's server functions), `public_api` (the TextPeak API and its token
//! verifier), `changes` (the one seam every committed change goes through) and
//! `jobs` (background work with its own start and stop), and `metrics`
//! (what operators scrape).

pub mod caller;
pub mod changes;
pub mod clock;
pub mod console;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod public_api;
pub mod startup;
pub mod state;
pub mod usage;
