//! The value checks shared with the TypeScript runtime (`tests/vectors/value-checks.json`):
//! each value gets exactly the expected first error (pointer, keyword, message) or none. The
//! TypeScript half is in `tests/ts/test/runtime.test.ts`; both checking the same file keeps
//! their messages, pointers and tagged-union handling in agreement.

use std::collections::BTreeMap;

use safething_ir::DataSchema;
use safething_ir::value::Compiler;
use serde_json::{Value, json};

#[test]
fn shared_value_checks() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/vectors/value-checks.json"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let types: BTreeMap<String, DataSchema> = serde_json::from_value(doc["types"].clone()).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() > 30, "the case file lost its cases");
    let mut compiler = Compiler::new(&types);
    let mut failures = Vec::new();
    for case in cases {
        let schema: DataSchema = serde_json::from_value(case["schema"].clone()).unwrap();
        let got = match compiler.compile(&schema).check(&case["value"]) {
            Ok(()) => Value::Null,
            Err(e) => json!({
                "path": e.path,
                "keyword": e.violation.keyword(),
                "message": e.violation.to_string(),
            }),
        };
        if got != case["error"] {
            failures.push(format!(
                "{}: expected {}, got {got}",
                case["name"], case["error"]
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
