//! The Rust generator: snapshots of every example definition and fixture, determinism, the
//! build-script API, and generation over many programmatic definitions.
//!
//! Review snapshot changes with `INSTA_UPDATE=always cargo test -p safething-codegen --test rust`
//! and `git diff`. The snapshots are compiled (under deny(warnings) and clippy) by the
//! `safething-generated-tests` crate, whose build script generates the same files.

mod common;
mod synthetic;

use std::path::PathBuf;

use common::{root, toml_files};
use safething_codegen::{BuildError, Builder};

fn definitions() -> Vec<String> {
    let mut files = toml_files("examples/things");
    files.extend(toml_files("codegen/tests/fixtures"));
    files
}

fn generate(file: &str) -> String {
    let loaded = safething_codegen::load(root().join(file)).unwrap();
    safething_codegen::rust::generate(&loaded.definition).unwrap()
}

#[test]
fn snapshots_of_every_definition() {
    for file in definitions() {
        let name = PathBuf::from(&file)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        insta::with_settings!({ snapshot_suffix => name, prepend_module_to_snapshot => false, description => file.clone(), omit_expression => true }, {
            insta::assert_snapshot!("rust", generate(&file));
        });
    }
}

#[test]
fn output_is_deterministic() {
    for file in definitions() {
        assert_eq!(generate(&file), generate(&file), "{file}");
    }
    let paths: Vec<PathBuf> = definitions().iter().map(|f| root().join(f)).collect();
    let a = Builder::new().generate(&paths).unwrap();
    let b = Builder::new().generate(&paths).unwrap();
    assert_eq!(a, b);
    assert_eq!(
        a.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "co2_sensor.rs",
            "door_lock.rs",
            "gardening_controller.rs",
            "gardening_device.rs",
            "option.rs",
            "printer.rs",
            "switchboard.rs",
            "thermostat.rs"
        ]
    );
}

#[test]
fn generated_files_have_the_header_and_no_inner_attributes() {
    for file in definitions() {
        let code = generate(&file);
        assert!(code.starts_with(safething_codegen::rust::HEADER), "{file}");
        // `include!` rejects inner attributes.
        assert!(!code.contains("#!["), "{file}");
        syn::parse_file(&code).unwrap();
    }
}

#[test]
fn the_embedded_definition_is_the_one_generated_from() {
    for file in definitions() {
        let loaded = safething_codegen::load(root().join(file)).unwrap();
        let code = safething_codegen::rust::generate(&loaded.definition).unwrap();
        let start = code.find("const JSON: &str = ").unwrap() + "const JSON: &str = ".len();
        let end = start + code[start..].find(";\n").unwrap();
        let literal: syn::LitStr = syn::parse_str(&code[start..end]).unwrap();
        let embedded: safething_ir::Definition = serde_json::from_str(&literal.value()).unwrap();
        assert_eq!(&embedded, loaded.definition.definition());
    }
}

#[test]
fn builder_compiles_into_out_dir_only_when_changed() {
    let dir = tempfile::tempdir().unwrap();
    let paths = [root().join("examples/things/gardening_device.toml")];
    let builder = Builder::new().out_dir(dir.path()).cargo_directives(false);
    builder.compile(&paths).unwrap();
    let file = dir.path().join("gardening_device.rs");
    let before = std::fs::metadata(&file).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    builder.compile(&paths).unwrap();
    assert_eq!(
        std::fs::metadata(&file).unwrap().modified().unwrap(),
        before
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        generate("examples/things/gardening_device.toml")
    );
}

#[test]
fn builder_without_out_dir_says_so() {
    // SAFETY-free: tests in this binary do not read OUT_DIR concurrently; cargo does not set it
    // for integration tests.
    assert!(std::env::var_os("OUT_DIR").is_none());
    let err = Builder::new()
        .cargo_directives(false)
        .compile(&[root().join("examples/things/printer.toml")])
        .unwrap_err();
    assert!(matches!(err, BuildError::NoOutDir));
    assert!(err.to_string().contains("OUT_DIR is not set"), "{err}");
}

#[test]
fn builder_errors_render_like_the_cli() {
    let paths = [
        root().join("codegen/tests/bad/unknown_ref.toml"),
        root().join("codegen/tests/bad/many_errors.toml"),
        root().join("examples/things/printer.toml"),
    ];
    let err = Builder::new().generate(&paths).unwrap_err();
    let text = format!("{err:?}");
    assert_eq!(text, err.to_string());
    let unknown_ref = root().join("codegen/tests/bad/unknown_ref.toml");
    let located = format!("{}:", unknown_ref.display());
    assert!(
        text.lines()
            .any(|l| l.starts_with(&located) && l.contains("error[")),
        "{text}"
    );
    assert!(text.contains("many_errors.toml:"), "{text}");
    assert!(text.contains("help:") || text.contains("= help"), "{text}");

    let twice = [
        root().join("examples/things/printer.toml"),
        root().join("examples/things/printer.toml"),
    ];
    assert!(matches!(
        Builder::new().generate(&twice),
        Err(BuildError::SameName { .. })
    ));
}

#[test]
fn many_definitions_generate_without_error() {
    for seed in 0..200 {
        let def = synthetic::definition(seed, 10)
            .checked()
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let code =
            safething_codegen::rust::generate(&def).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        syn::parse_file(&code).unwrap();
    }
}

#[test]
fn odd_names_generate_code_that_parses() {
    let def: safething_ir::Definition = serde_json::from_value(serde_json::json!({
        "thing": {"name": "HVAC", "version": "1.0.0"},
        "types": {
            "Self": {"type": "object", "properties": {"self": {"type": "integer"}}},
            "U": {"oneOf": [{"ref": "Self"}, {"ref": "Self"}, {"title": "", "type": "null"}]},
            "E": {"type": "string", "enum": ["Self", "self", "", "9", "_", "é", "a b", "r#x"]}
        },
        "attributes": {"u": {"ref": "U", "access": "all"}, "e": {"ref": "E", "writable": true}},
        "actions": {"self": {"input": {"ref": "Self"}, "output": {"ref": "U"}}}
    }))
    .unwrap();
    let def = def.checked().unwrap();
    let code = safething_codegen::rust::generate(&def).unwrap();
    syn::parse_file(&code).unwrap();
    assert!(code.contains("SelfValue(Self_)"), "{code}");
}

/// The framework's methods of a device handle (beside `set_<attr>` and `emit_<event>`).
const DEVICE_METHODS: &[&str] = &[
    "definition",
    "checked_definition",
    "builder",
    "new",
    "id",
    "inner",
    "into_inner",
    "serve",
    "register",
    "publish",
    "disable",
    "lifecycle",
    "shutdown",
];

/// The inherent methods of `impl <type_name>` in a generated file.
fn inherent_methods(code: &str, type_name: &str) -> Vec<String> {
    let file: syn::File = syn::parse_str(code).unwrap();
    let mut names = Vec::new();
    for item in file.items {
        let syn::Item::Impl(imp) = item else { continue };
        let syn::Type::Path(path) = imp.self_ty.as_ref() else {
            continue;
        };
        if imp.trait_.is_some() || !path.path.is_ident(type_name) {
            continue;
        }
        for item in imp.items {
            if let syn::ImplItem::Fn(f) = item {
                names.push(f.sig.ident.to_string());
            }
        }
    }
    names
}

/// No name is reserved: a device handle's own methods cannot be produced by an affordance name
/// (they are neither `set_..` nor `emit_..`), and a client has no inherent method besides its
/// affordances' (the framework's are `safething::ThingClient`'s).
#[test]
fn framework_methods_are_out_of_reach_of_affordance_names() {
    for name in DEVICE_METHODS {
        assert!(
            !name.starts_with("set_") && !name.starts_with("emit_"),
            "{name}"
        );
    }
    for (file, device, client) in [
        (
            "codegen/tests/fixtures/door_lock.toml",
            "DoorLock",
            "DoorLockClient",
        ),
        (
            "codegen/tests/fixtures/switchboard.toml",
            "Switchboard",
            "SwitchboardClient",
        ),
        (
            "examples/things/thermostat.toml",
            "Thermostat",
            "ThermostatClient",
        ),
    ] {
        let code = generate(file);
        for method in inherent_methods(&code, device) {
            let affordance = method.starts_with("set_") || method.starts_with("emit_");
            assert!(
                affordance || DEVICE_METHODS.contains(&method.as_str()),
                "{file}: device method `{method}` is neither an affordance's nor a known framework method"
            );
        }
        // One method per read, watch (dynamic), write, history, event and action: nothing else.
        let methods = inherent_methods(&code, client);
        let definition = safething_codegen::load(root().join(file))
            .unwrap()
            .definition;
        let mut expected = 0;
        for a in definition.attributes.values() {
            let dynamic = a.kind == safething_ir::AttributeKind::Dynamic;
            expected += 1 + usize::from(dynamic) + usize::from(a.writable);
            expected += usize::from(a.history.is_some());
        }
        expected += definition.events.len() + definition.actions.len();
        assert_eq!(methods.len(), expected, "{file}: {methods:?}");
    }
}
