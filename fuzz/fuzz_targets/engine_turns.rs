//! Fuzz target: see `targets::engine_turns`.
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    targets::engine_turns(data);
});
