//! libFuzzer target that crashes on purpose on its seed, so `scripts/fuzz` can show that a
//! crash is caught and reported before it trusts a clean run of the real targets.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"crash") {
        panic!("the canary crashed, as it should");
    }
});
