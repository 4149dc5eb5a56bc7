//! The TypeScript naming oracle: how names from a definition are spelled in generated
//! TypeScript, and which ones must be escaped.
//!
//! - Affordance names become camelCase method names (`moisture_level` -> `moistureLevel`,
//!   `watchMoistureLevel`, `onVeryDryAlarm`). Reserved words are valid method and property names
//!   in TypeScript (`delete()`, `default()`, `class`), so they are kept; the names a client
//!   class uses itself (`constructor`, `then`, which would make the client a thenable, and
//!   `Object.prototype`'s members) get a trailing `_`. No other name is taken: the framework's
//!   operations are static members or reached through `thingOf(client)`, so an attribute `id`
//!   is the method `id()`.
//! - Property names keep their wire spelling (snake_case), so types match the JSON exactly.
//! - Type names come from [`safething_ir::types::type_plan`]; generated code names the runtime
//!   through the `rt` namespace and never a global type, so a type called `Promise`, `Array`
//!   or `Record` cannot shadow anything the code relies on.

use heck::ToLowerCamelCase;

/// JavaScript and TypeScript reserved words (including strict-mode and contextual ones).
/// Never used as identifiers by generated code; listed so names can be checked.
pub const TS_KEYWORDS: &[&str] = &[
    "abstract",
    "any",
    "as",
    "async",
    "await",
    "boolean",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "constructor",
    "continue",
    "debugger",
    "declare",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "from",
    "function",
    "get",
    "if",
    "implements",
    "import",
    "in",
    "infer",
    "instanceof",
    "interface",
    "is",
    "keyof",
    "let",
    "module",
    "namespace",
    "never",
    "new",
    "null",
    "number",
    "object",
    "of",
    "package",
    "private",
    "protected",
    "public",
    "readonly",
    "require",
    "return",
    "set",
    "static",
    "string",
    "super",
    "switch",
    "symbol",
    "this",
    "throw",
    "true",
    "try",
    "type",
    "typeof",
    "undefined",
    "unique",
    "unknown",
    "var",
    "void",
    "while",
    "with",
    "yield",
];

/// Member names that affordance methods must not take: the class constructor, `then` (it would
/// make the client a thenable, which `await` unwraps), and what `Object.prototype` gives every
/// object. The framework's own operations are static members (`connect`, `wrap`, `definition`)
/// or behind the runtime's `thingOf(client)` (a symbol key), so they need no name here.
pub const CLIENT_MEMBERS: &[&str] = &[
    "constructor",
    "then",
    "toString",
    "valueOf",
    "toJSON",
    "hasOwnProperty",
];

/// camelCase, as TypeScript spells members (`open_valve` -> `openValve`).
pub fn camel(name: &str) -> String {
    name.to_lower_camel_case()
}

/// A method name of a generated client: camelCase, `_` appended when it would clash with the
/// class's own members.
pub fn method(name: &str) -> String {
    let camel = camel(name);
    if CLIENT_MEMBERS.contains(&camel.as_str()) {
        format!("{camel}_")
    } else {
        camel
    }
}

/// A method name made of a prefix and an affordance name (`watch` + `moisture_level` ->
/// `watchMoistureLevel`), or an affordance name and a suffix.
pub fn affixed(prefix: &str, name: &str, suffix: &str) -> String {
    method(
        &format!("{prefix}_{name}_{suffix}")
            .trim_matches('_')
            .replace("__", "_"),
    )
}

/// Whether `name` can be written unquoted as a property name.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// A property key: bare when it is an identifier (keywords included, as TypeScript allows),
/// quoted otherwise.
pub fn property_key(name: &str) -> String {
    if is_identifier(name) {
        name.to_owned()
    } else {
        serde_json::to_string(name).unwrap_or_else(|_| format!("\"{name}\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling() {
        assert_eq!(method("moisture_level"), "moistureLevel");
        assert_eq!(affixed("watch", "moisture_level", ""), "watchMoistureLevel");
        assert_eq!(
            affixed("", "moisture_level", "history"),
            "moistureLevelHistory"
        );
        assert_eq!(affixed("on", "very_dry_alarm", ""), "onVeryDryAlarm");
        assert_eq!(method("constructor"), "constructor_");
        assert_eq!(method("then"), "then_");
        assert_eq!(method("delete"), "delete");
        assert_eq!(method("id"), "id");
        assert_eq!(method("is_online"), "isOnline");
        assert_eq!(method("description"), "description");
        assert_eq!(property_key("type"), "type");
        assert_eq!(property_key("a-b"), "\"a-b\"");
        assert!(TS_KEYWORDS.contains(&"delete"));
    }
}
