//! The tools outside Rust that some tests need: Node.js, the npm packages of `tests/ts`, Python
//! with the WoT conformance modules, Chromium. A test whose tool is missing is skipped with a
//! printed reason, so that `cargo test --workspace` runs on a machine with only Rust; with
//! `SAFETHING_REQUIRE_ALL=1` (which `scripts/test` sets, so CI runs every test) a missing tool
//! fails the test instead.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether a missing tool fails the test instead of skipping it.
pub fn require_all() -> bool {
    std::env::var_os("SAFETHING_REQUIRE_ALL").is_some_and(|v| v == "1")
}

/// `Some(found)`, or `None` after saying why the test is skipped; with
/// `SAFETHING_REQUIRE_ALL=1`, a panic with the same reason.
fn found<T>(what: Result<T, String>) -> Option<T> {
    match what {
        Ok(found) => Some(found),
        Err(reason) if require_all() => panic!("{reason}"),
        Err(reason) => {
            eprintln!("skipped: {reason} (SAFETHING_REQUIRE_ALL=1 makes this a failure)");
            None
        }
    }
}

fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Node.js (`$NODE`, or `node` on the PATH).
pub fn node() -> Option<String> {
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".to_owned());
    found(if runs(&node, &["--version"]) {
        Ok(node)
    } else {
        Err(format!(
            "Node.js 20+ is needed and `{node} --version` failed: install it (or set NODE)"
        ))
    })
}

/// `tests/ts/node_modules` under the workspace `root`, holding every one of `packages`.
pub fn npm_modules(root: &Path, packages: &[&str]) -> Option<PathBuf> {
    let modules = root.join("tests/ts/node_modules");
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| !modules.join(package).join("package.json").is_file())
        .collect();
    found(if missing.is_empty() {
        Ok(modules)
    } else {
        Err(format!(
            "the npm packages {missing:?} of tests/ts are missing: run `npm ci --prefix tests/ts`"
        ))
    })
}

/// Python (`$SAFETHING_PYTHON`, or `python3`) with the modules of
/// `tests/conformance/requirements.txt`.
pub fn conformance_python() -> Option<String> {
    let python = std::env::var("SAFETHING_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    found(
        if runs(&python, &["-c", "import jsonschema, referencing"]) {
            Ok(python)
        } else {
            Err(format!(
                "`{python}` with the WoT conformance modules is needed: \
             `pip install -r tests/conformance/requirements.txt` (or set SAFETHING_PYTHON)"
            ))
        },
    )
}

/// Chromium (`$CHROMIUM`, or Debian's `/usr/bin/chromium`).
pub fn chromium() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    found(if Path::new(&chromium).exists() {
        Ok(chromium)
    } else {
        Err(format!(
            "no Chromium at {chromium}: `apt-get install -y chromium` (or set CHROMIUM)"
        ))
    })
}
