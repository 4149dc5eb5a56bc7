//! libFuzzer target: a description body as a client reads it from the network (see
//! `safething_fuzz::description`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    safething_fuzz::description(data);
});
