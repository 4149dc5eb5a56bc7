//! libFuzzer target: session frames (handshakes) as a device or client reads them (see
//! `safething_fuzz::session`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    safething_fuzz::session(data);
});
