//! `#[derive(SafeThing)]` under the compiler: what must compile (hygiene, `crate = ".."`), and
//! every mistake, each a reviewed `.stderr` that underlines exactly the offending token.
//! Blessed on the pinned toolchain (`rust-toolchain.toml`) with
//! `TRYBUILD=overwrite cargo test -p safething-derive --test ui`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    for category in ["container", "field", "event", "action", "types", "cascade"] {
        t.compile_fail(format!("tests/ui/{category}/*.rs"));
    }
}
