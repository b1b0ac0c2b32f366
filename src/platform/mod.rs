//! Platform adapters: each translates its platform's events into engine inputs and replies
//! into its platform's messages, and nothing more.

pub mod terminal;
