//! Mistakes in the use of a generated API are compile errors: a misspelled attribute, event,
//! action or field, and payloads or filter values of the wrong type. The expected messages
//! (`tests/ui/*.stderr`) are blessed on the pinned toolchain with
//! `TRYBUILD=overwrite cargo test -p safething-generated-tests --test compile_fail`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
