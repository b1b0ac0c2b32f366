//! The daemon: one process serving every enabled platform with one engine and one state
//! store (`guichet serve`). This module holds what adapters share: the [`Context`] they call,
//! the [`Status`] board behind `/healthz` and `/metrics`, and the per-user throttle.

pub mod admin;
pub mod context;
pub mod reload;
pub mod serve;
pub mod stats;
pub mod status;

pub use context::{Admission, Context, Outcome, Throttle};
pub use status::{Readiness, Status};
