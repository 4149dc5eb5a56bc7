//! libFuzzer target: bundles split into frames (see `safething_fuzz::bundle`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    safething_fuzz::bundle(data);
});
