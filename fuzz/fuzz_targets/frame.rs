//! libFuzzer target: the frame decoder on arbitrary bytes (see `safething_fuzz::frame`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    safething_fuzz::frame(data);
});
