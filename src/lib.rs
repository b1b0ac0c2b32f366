//! guichet: serves ChatMD help chatbots where school staff already talk (Matrix, Discord,
//! a terminal), with one conversation engine behind every platform.
//!
//! The core is sans-I/O: [`kb`] reads the knowledge base into a typed model, the engine
//! decides replies, renderers turn them into each platform's format. Platform adapters sit
//! behind cargo features so the core builds and tests in seconds.

// matrix-sdk's futures are deep: proving `Send` for a spawned sync overflows the default limit.
#![recursion_limit = "256"]

mod bounded_read;
pub mod config;
pub mod daemon;
mod distance;
pub mod engine;
mod js;
pub mod kb;
pub mod platform;
pub mod render;
pub mod replay;
pub mod service;
pub mod store;
pub mod strings;
