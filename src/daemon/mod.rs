//! The daemon: one process serving every enabled platform with one engine and one state
//! store (`guichet serve`). It builds the [`crate::service::Context`] the adapters share,
//! starts them, serves the status board (`/healthz`, `/metrics`), reloads the knowledge base
//! and purges old state.

pub mod admin;
pub mod reload;
pub mod serve;
