//! The one port between the platform adapters and the core: adapters call [`Context`], which
//! throttles, runs a turn on the [`Bot`] and records health, metrics and statistics; the
//! daemon builds a `Context`, starts the adapters with it and serves the [`Status`] board.
//! Nothing here knows a platform, and nothing here depends on the daemon.

mod bot;
mod context;
pub mod stats;
mod status;
mod throttle;

pub use bot::{Bot, DEFAULT_IDLE_RESET, now_ms};
pub use context::{Context, Outcome};
pub use status::{Readiness, Status};
pub use throttle::{Admission, Throttle};
