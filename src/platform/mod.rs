//! Platform adapters: each translates its platform's events into engine inputs and replies
//! into its platform's messages, and nothing more.

#[cfg(feature = "discord")]
pub mod discord;
#[cfg(feature = "matrix")]
pub mod matrix;
pub mod terminal;
