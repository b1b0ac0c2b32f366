//! Fuzz target: see `targets::kb_with_includes`.
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    thread_local! {
        static DIR: tempfile::TempDir = tempfile::tempdir().expect("a temporary folder");
    }
    DIR.with(|dir| targets::kb_with_includes(dir.path(), data));
});
