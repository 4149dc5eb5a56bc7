//! Limits on definitions, and checks that stay iterative and linear however large the input:
//! a definition may arrive from the network.

use safething_ir::{Definition, Diagnostic, Invalid, Limit, Limits, Rule};
use serde_json::{Value, json};

/// Small enough that a recursion per type or per level of nesting overflows it.
const SMALL_STACK: usize = 256 * 1024;

/// Runs `f` on a thread with a small stack: a recursion proportional to the input aborts the
/// test process instead of passing.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

/// `T0 -> T1 -> ... -> T{n-1}`, the last an integer, used by one attribute.
fn chain(n: usize, close_cycle: bool) -> Definition {
    let mut types = serde_json::Map::new();
    for i in 0..n {
        let schema = if i + 1 < n {
            json!({"ref": format!("T{}", i + 1)})
        } else if close_cycle {
            json!({"ref": "T0"})
        } else {
            json!({"type": "integer"})
        };
        types.insert(format!("T{i}"), schema);
    }
    serde_json::from_value(json!({
        "thing": {"name": "Chain", "version": "1.0.0"},
        "types": types,
        "attributes": {"level": {"ref": "T0"}},
    }))
    .unwrap()
}

fn errors(result: Result<Vec<Diagnostic>, Invalid>) -> Vec<Diagnostic> {
    result
        .unwrap_err()
        .0
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect()
}

#[test]
fn attack_50000_type_ref_chain_is_rejected_by_the_limit() {
    let def = chain(50_000, false);
    let errors = on_small_stack(move || errors(def.check()));
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = &errors[0];
    assert_eq!(e.rule, Rule::LimitExceeded);
    assert_eq!(
        e.message,
        "the definition has 50000 named types, more than the limit of 1024 (limit `types`)"
    );
    // The first type over the limit, in key order.
    let mut names: Vec<String> = (0..50_000).map(|i| format!("T{i}")).collect();
    names.sort();
    assert_eq!(e.path.to_string(), format!("types.{}", names[1024]));
}

#[test]
fn a_50000_type_ref_chain_validates_iteratively_with_limits_raised() {
    let def = chain(50_000, false);
    let warnings = on_small_stack(move || def.check_with_limits(&Limits::UNLIMITED));
    assert_eq!(warnings, Ok(vec![]));
}

#[test]
fn a_50000_type_ref_cycle_is_reported_once_without_recursion() {
    let def = chain(50_000, true);
    let errors = on_small_stack(move || errors(def.check_with_limits(&Limits::UNLIMITED)));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].rule, Rule::CyclicRef);
    assert_eq!(errors[0].path.to_string(), "types.T0");
    assert!(
        errors[0]
            .message
            .starts_with("type `T0` refers back to itself: T0 -> T1 -> T2 -> "),
        "{}",
        &errors[0].message[..80]
    );
    assert!(errors[0].message.ends_with("T49999 -> T0"));
}

#[test]
fn a_ref_chain_within_the_type_limit_is_held_to_the_depth_limit() {
    // 40 types are allowed, but followed through their refs they nest 40 levels deep.
    let errors = errors(chain(40, false).check());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].rule, Rule::LimitExceeded);
    assert_eq!(errors[0].path.to_string(), "types.T0");
    assert_eq!(
        errors[0].message,
        "this schema has 40 levels of nesting, more than the limit of 32 (limit `depth`)"
    );
    // The attribute's `ref` is one level more than the 31 of the chain.
    assert!(chain(31, false).check().is_ok());
    let over = self::errors(chain(32, false).check());
    assert_eq!(over[0].path.to_string(), "attributes.level");
}

/// An attribute whose schema nests `levels` levels of arrays (the attribute's own schema is
/// level 1).
fn nested(levels: usize) -> Definition {
    let mut schema = json!({"type": "integer"});
    for _ in 1..levels {
        schema = json!({"type": "array", "items": schema});
    }
    serde_json::from_value(json!({
        "thing": {"name": "Deep", "version": "1.0.0"},
        "attributes": {"deep": schema},
    }))
    .unwrap()
}

#[test]
fn inline_nesting_is_held_to_the_depth_limit() {
    assert!(nested(32).check().is_ok());
    let errors = errors(nested(33).check());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].path.to_string(), "attributes.deep");
    assert!(
        errors[0].message.contains("33 levels of nesting"),
        "{}",
        errors[0].message
    );
    let raised = Limits {
        depth: 33,
        ..Limits::DEFAULT
    };
    assert!(nested(33).check_with_limits(&raised).is_ok());
}

#[test]
fn refs_and_nesting_add_up() {
    // A type 20 levels deep, used by a `ref` 20 levels down a payload: 20 + 20 > 32.
    let mut inner = json!({"type": "integer"});
    for _ in 1..20 {
        inner = json!({"type": "array", "items": inner});
    }
    let mut outer = json!({"ref": "Inner"});
    for _ in 1..20 {
        outer = json!({"type": "array", "items": outer});
    }
    let def: Definition = serde_json::from_value(json!({
        "thing": {"name": "Deep", "version": "1.0.0"},
        "types": {"Inner": inner},
        "events": {"deep": {"data": outer}},
    }))
    .unwrap();
    let errors = errors(def.check());
    assert_eq!(errors[0].path.to_string(), "events.deep.data");
    assert!(
        errors[0].message.contains("40 levels of nesting"),
        "{}",
        errors[0].message
    );
}

#[test]
fn affordances_are_limited() {
    let attributes: serde_json::Map<String, Value> = (0..1025)
        .map(|i| (format!("a{i:04}"), json!({"type": "integer"})))
        .collect();
    let def: Definition = serde_json::from_value(json!({
        "thing": {"name": "Wide", "version": "1.0.0"},
        "attributes": attributes,
    }))
    .unwrap();
    let errors = errors(def.check());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].path.to_string(), "attributes.a1024");
    assert_eq!(
        errors[0].message,
        "the definition has 1025 affordances (attributes, events and actions), more than the \
         limit of 1024 (limit `affordances`)"
    );
}

#[test]
fn bytes_are_limited_for_definitions_built_in_memory() {
    let def: Definition = serde_json::from_value(json!({
        "thing": {"name": "Big", "version": "1.0.0", "description": "x".repeat(1 << 20)},
        "attributes": {"a": {"type": "integer"}},
    }))
    .unwrap();
    let errors = errors(def.check());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].rule, Rule::LimitExceeded);
    assert!(errors[0].path.is_root());
    assert!(
        errors[0].message.contains("limit `bytes`"),
        "{}",
        errors[0].message
    );
    assert!(errors[0].message.contains("more than the limit of 1048576"));
}

#[test]
fn check_bytes_names_the_limit_and_the_value() {
    let e = Limits::DEFAULT.check_bytes(2_000_000).unwrap_err();
    assert_eq!(e.limit, Limit::Bytes);
    assert_eq!(
        e.to_string(),
        "2000000 bytes, more than the limit of 1048576 (limit `bytes`)"
    );
    assert!(Limits::DEFAULT.check_bytes(1 << 20).is_ok());
}

/// What a client does with a description's JSON: serde_json stops at 128 levels of nesting
/// (its default recursion limit), so deeply nested JSON is an error, not an overflow.
#[test]
fn attack_deeply_nested_json_is_a_parse_error_not_a_stack_overflow() {
    let depth = 100_000;
    let mut text =
        String::from(r#"{"thing": {"name": "T", "version": "1.0.0"}, "attributes": {"a": "#);
    for _ in 0..depth {
        text.push_str(r#"{"type": "array", "items": "#);
    }
    text.push_str(r#"{"type": "integer"}"#);
    for _ in 0..depth {
        text.push('}');
    }
    text.push_str("}}");
    // The stack of a tokio worker thread, where a client decodes descriptions.
    let err = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            serde_json::from_str::<Definition>(&text)
                .unwrap_err()
                .to_string()
        })
        .unwrap()
        .join()
        .unwrap();
    assert!(err.contains("recursion limit exceeded"), "{err}");
}
