//! `safething-gen diff`'s rules, each in both directions: the breaking change and its
//! compatible counterpart, from small (old, new) pairs. Each case names the rule ids it must
//! find (exactly), and its rendered report is a snapshot
//! (`INSTA_UPDATE=always cargo test -p safething-codegen --test compat` to bless).

use std::collections::BTreeSet;

use safething_codegen::compat::{CompatReport, CompatRule};
use safething_codegen::load_str;

/// (name, old body, new body, the rule ids found). Bodies follow a `[thing]` table of thing
/// `T`, version 1.0.0 (a body may start with its own `[thing]`).
const CASES: &[(&str, &str, &str, &[&str])] = &[
    // Affordances.
    (
        "affordance_removed",
        "[attributes.a]\ntype = \"boolean\"\n[attributes.b]\ntype = \"boolean\"\n",
        "[attributes.a]\ntype = \"boolean\"\n",
        &["affordance-removed"],
    ),
    (
        "affordance_renamed",
        "[attributes.a]\ntype = \"boolean\"\n[actions.start]\ninput = { type = \"integer\", minimum = 0, maximum = 9 }\n",
        "[attributes.a]\ntype = \"boolean\"\n[actions.begin]\ninput = { type = \"integer\", minimum = 0, maximum = 9 }\n",
        &["affordance-removed"],
    ),
    (
        "affordance_added",
        "[attributes.a]\ntype = \"boolean\"\n",
        "[attributes.a]\ntype = \"boolean\"\n[attributes.b]\ntype = \"boolean\"\n",
        &[],
    ),
    (
        "affordance_kind_changed",
        "[attributes.a]\ntype = \"boolean\"\n[events.alarm]\n",
        "[attributes.a]\ntype = \"boolean\"\n[actions.alarm]\n",
        &["affordance-kind-changed"],
    ),
    (
        "affordance_kind_kept",
        "[events.alarm]\n",
        "[events.alarm]\ndescription = \"Rings\"\n",
        &[],
    ),
    (
        "payload_added",
        "[events.alarm]\n",
        "[events.alarm]\ndata = { type = \"integer\", minimum = 0, maximum = 9 }\n",
        &["payload-added"],
    ),
    (
        "payload_removed",
        "[actions.go]\ninput = { type = \"boolean\" }\n",
        "[actions.go]\n",
        &["payload-removed"],
    ),
    (
        "payload_kept",
        "[actions.go]\ninput = { type = \"boolean\" }\n",
        "[actions.go]\ninput = { type = \"boolean\", description = \"Fast\" }\n",
        &[],
    ),
    // Types.
    (
        "type_changed",
        "[attributes.a]\ntype = \"integer\"\n",
        "[attributes.a]\ntype = \"string\"\n",
        &["type-changed"],
    ),
    (
        "type_widened_input",
        "[actions.go]\ninput = { type = \"integer\" }\n",
        "[actions.go]\ninput = { type = \"number\" }\n",
        &["rust-type-changed"],
    ),
    (
        "type_narrowed_output",
        "[attributes.a]\ntype = \"number\"\n",
        "[attributes.a]\ntype = \"integer\"\n",
        &["rust-type-changed"],
    ),
    (
        "type_widened_output",
        "[attributes.a]\ntype = \"integer\"\n",
        "[attributes.a]\ntype = \"number\"\n",
        &["type-changed"],
    ),
    // Ranges.
    (
        "input_range_narrowed",
        "[actions.go]\ninput = { type = \"integer\", minimum = 0, maximum = 100 }\n",
        "[actions.go]\ninput = { type = \"integer\", minimum = 10, maximum = 100 }\n",
        &["input-range-narrowed"],
    ),
    (
        "input_range_widened",
        "[actions.go]\ninput = { type = \"integer\", minimum = 10, maximum = 100 }\n",
        "[actions.go]\ninput = { type = \"integer\", minimum = 0, maximum = 100 }\n",
        &[],
    ),
    (
        "input_range_made_exclusive",
        "[actions.go]\ninput = { type = \"number\", maximum = 100 }\n",
        "[actions.go]\ninput = { type = \"number\", exclusiveMaximum = 100 }\n",
        &["input-range-narrowed"],
    ),
    (
        "input_range_made_inclusive",
        "[actions.go]\ninput = { type = \"number\", exclusiveMaximum = 100 }\n",
        "[actions.go]\ninput = { type = \"number\", maximum = 100 }\n",
        &[],
    ),
    (
        "output_range_widened",
        "[attributes.a]\ntype = \"integer\"\nminimum = 0\nmaximum = 100\n",
        "[attributes.a]\ntype = \"integer\"\nminimum = 0\nmaximum = 200\n",
        &["output-range-widened"],
    ),
    (
        "output_range_narrowed",
        "[attributes.a]\ntype = \"integer\"\nminimum = 0\nmaximum = 200\n",
        "[attributes.a]\ntype = \"integer\"\nminimum = 0\nmaximum = 100\n",
        &[],
    ),
    (
        "output_range_bound_removed",
        "[attributes.a]\ntype = \"number\"\nminimum = 0\n",
        "[attributes.a]\ntype = \"number\"\n",
        &["output-range-widened"],
    ),
    (
        "writable_range_shifted",
        "[attributes.a]\ntype = \"integer\"\nminimum = 0\nmaximum = 100\nwritable = true\n",
        "[attributes.a]\ntype = \"integer\"\nminimum = 10\nmaximum = 200\nwritable = true\n",
        &["input-range-narrowed", "output-range-widened"],
    ),
    (
        "rust_integer_type_changed",
        "[actions.go]\ninput = { type = \"integer\", minimum = 0, maximum = 100 }\n",
        "[actions.go]\ninput = { type = \"integer\", minimum = 0, maximum = 1000 }\n",
        &["rust-type-changed"],
    ),
    (
        "input_multiple_of_narrowed",
        "[actions.go]\ninput = { type = \"number\", multipleOf = 0.5 }\n",
        "[actions.go]\ninput = { type = \"number\", multipleOf = 1 }\n",
        &["input-multiple-of-narrowed"],
    ),
    (
        "input_multiple_of_widened",
        "[actions.go]\ninput = { type = \"number\", multipleOf = 1 }\n",
        "[actions.go]\ninput = { type = \"number\", multipleOf = 0.5 }\n",
        &[],
    ),
    (
        "output_multiple_of_widened",
        "[attributes.a]\ntype = \"number\"\nmultipleOf = 1\n",
        "[attributes.a]\ntype = \"number\"\nmultipleOf = 0.5\n",
        &["output-multiple-of-widened"],
    ),
    (
        "output_multiple_of_narrowed",
        "[attributes.a]\ntype = \"number\"\nmultipleOf = 0.5\n",
        "[attributes.a]\ntype = \"number\"\nmultipleOf = 1\n",
        &[],
    ),
    // Lengths and counts.
    (
        "input_length_narrowed",
        "[actions.go]\ninput = { type = \"string\", maxLength = 64 }\n",
        "[actions.go]\ninput = { type = \"string\", maxLength = 32 }\n",
        &["input-length-narrowed"],
    ),
    (
        "input_length_widened",
        "[actions.go]\ninput = { type = \"string\", minLength = 2, maxLength = 32 }\n",
        "[actions.go]\ninput = { type = \"string\", maxLength = 64 }\n",
        &[],
    ),
    (
        "output_length_widened",
        "[attributes.a]\ntype = \"string\"\nminLength = 1\n",
        "[attributes.a]\ntype = \"string\"\n",
        &["output-length-widened"],
    ),
    (
        "output_length_narrowed",
        "[attributes.a]\ntype = \"string\"\n",
        "[attributes.a]\ntype = \"string\"\nminLength = 1\nmaxLength = 8\n",
        &[],
    ),
    (
        "input_items_narrowed",
        "[actions.go]\ninput = { type = \"array\", items = { type = \"boolean\" }, maxItems = 10 }\n",
        "[actions.go]\ninput = { type = \"array\", items = { type = \"boolean\" }, minItems = 1, maxItems = 10 }\n",
        &["input-items-narrowed"],
    ),
    (
        "input_items_widened",
        "[actions.go]\ninput = { type = \"array\", items = { type = \"boolean\" }, maxItems = 10 }\n",
        "[actions.go]\ninput = { type = \"array\", items = { type = \"boolean\" } }\n",
        &[],
    ),
    (
        "output_items_widened",
        "[events.e]\ndata = { type = \"array\", items = { type = \"boolean\" }, maxItems = 4 }\n",
        "[events.e]\ndata = { type = \"array\", items = { type = \"boolean\" }, maxItems = 8 }\n",
        &["output-items-widened"],
    ),
    (
        "output_items_narrowed",
        "[events.e]\ndata = { type = \"array\", items = { type = \"boolean\" }, maxItems = 8 }\n",
        "[events.e]\ndata = { type = \"array\", items = { type = \"boolean\" }, maxItems = 4 }\n",
        &[],
    ),
    // Patterns and formats.
    (
        "input_pattern_added",
        "[actions.go]\ninput = { type = \"string\" }\n",
        "[actions.go]\ninput = { type = \"string\", pattern = \"^[a-z]+$\" }\n",
        &["input-pattern-changed"],
    ),
    (
        "input_pattern_removed",
        "[actions.go]\ninput = { type = \"string\", pattern = \"^[a-z]+$\" }\n",
        "[actions.go]\ninput = { type = \"string\" }\n",
        &[],
    ),
    (
        "output_pattern_removed",
        "[attributes.a]\ntype = \"string\"\npattern = \"^[a-z]+$\"\n",
        "[attributes.a]\ntype = \"string\"\n",
        &["output-pattern-changed"],
    ),
    (
        "output_pattern_added",
        "[attributes.a]\ntype = \"string\"\n",
        "[attributes.a]\ntype = \"string\"\npattern = \"^[a-z]+$\"\n",
        &[],
    ),
    (
        "input_format_added",
        "[actions.go]\ninput = { type = \"string\" }\n",
        "[actions.go]\ninput = { type = \"string\", format = \"date-time\" }\n",
        &["input-format-changed"],
    ),
    (
        "input_format_removed",
        "[actions.go]\ninput = { type = \"string\", format = \"date-time\" }\n",
        "[actions.go]\ninput = { type = \"string\" }\n",
        &[],
    ),
    (
        "output_format_changed",
        "[attributes.a]\ntype = \"string\"\nformat = \"date-time\"\n",
        "[attributes.a]\ntype = \"string\"\nformat = \"uri\"\n",
        &["output-format-changed"],
    ),
    (
        "output_format_added",
        "[attributes.a]\ntype = \"string\"\n",
        "[attributes.a]\ntype = \"string\"\nformat = \"uri\"\n",
        &[],
    ),
    // Enums.
    (
        "input_enum_value_removed",
        "[actions.go]\ninput = { type = \"string\", enum = [\"a\", \"b\", \"c\"] }\n",
        "[actions.go]\ninput = { type = \"string\", enum = [\"a\", \"b\"] }\n",
        &["input-enum-value-removed"],
    ),
    (
        "input_enum_value_added",
        "[actions.go]\ninput = { type = \"string\", enum = [\"a\", \"b\"] }\n",
        "[actions.go]\ninput = { type = \"string\", enum = [\"a\", \"b\", \"c\"] }\n",
        &["enum-variant-added"],
    ),
    (
        "output_enum_value_added",
        "[attributes.a]\ntype = \"string\"\nenum = [\"a\", \"b\"]\n",
        "[attributes.a]\ntype = \"string\"\nenum = [\"a\", \"b\", \"c\"]\n",
        &["output-enum-value-added"],
    ),
    (
        "output_enum_value_removed",
        "[attributes.a]\ntype = \"string\"\nenum = [\"a\", \"b\", \"c\"]\n",
        "[attributes.a]\ntype = \"string\"\nenum = [\"a\", \"b\"]\n",
        &["enum-variant-removed"],
    ),
    (
        "output_integer_enum_value_added",
        "[attributes.a]\ntype = \"integer\"\nenum = [1, 2]\n",
        "[attributes.a]\ntype = \"integer\"\nenum = [1, 2, 3]\n",
        &["output-enum-value-added"],
    ),
    (
        "output_integer_enum_value_removed",
        "[attributes.a]\ntype = \"integer\"\nenum = [1, 2, 3]\n",
        "[attributes.a]\ntype = \"integer\"\nenum = [1, 2]\n",
        &[],
    ),
    (
        "input_const_changed",
        "[actions.go]\ninput = { type = \"string\", const = \"v1\" }\n",
        "[actions.go]\ninput = { type = \"string\", const = \"v2\" }\n",
        &["input-enum-value-removed"],
    ),
    (
        "input_const_removed",
        "[actions.go]\ninput = { type = \"string\", const = \"v1\" }\n",
        "[actions.go]\ninput = { type = \"string\" }\n",
        &[],
    ),
    // Object properties.
    (
        "input_required_field_added",
        "[actions.go]\ninput = { type = \"object\", properties.a = { type = \"boolean\" } }\n",
        "[actions.go]\ninput = { type = \"object\", required = [\"b\"], properties.a = { type = \"boolean\" }, properties.b = { type = \"boolean\" } }\n",
        &["input-required-field-added"],
    ),
    (
        "input_optional_field_added",
        "[actions.go]\ninput = { type = \"object\", properties.a = { type = \"boolean\" } }\n",
        "[actions.go]\ninput = { type = \"object\", properties.a = { type = \"boolean\" }, properties.b = { type = \"boolean\" } }\n",
        &["struct-field-added"],
    ),
    (
        "input_field_became_required",
        "[actions.go]\ninput = { type = \"object\", properties.a = { type = \"boolean\" } }\n",
        "[actions.go]\ninput = { type = \"object\", required = [\"a\"], properties.a = { type = \"boolean\" } }\n",
        &["input-required-field-added"],
    ),
    (
        "input_field_became_optional",
        "[actions.go]\ninput = { type = \"object\", required = [\"a\"], properties.a = { type = \"boolean\" } }\n",
        "[actions.go]\ninput = { type = \"object\", properties.a = { type = \"boolean\" } }\n",
        &["field-optionality-changed"],
    ),
    (
        "input_field_removed",
        "[actions.go]\ninput = { type = \"object\", properties.a = { type = \"boolean\" }, properties.b = { type = \"boolean\" } }\n",
        "[actions.go]\ninput = { type = \"object\", properties.a = { type = \"boolean\" } }\n",
        &["input-field-removed"],
    ),
    (
        "output_field_became_optional",
        "[events.e]\ndata = { type = \"object\", required = [\"a\"], properties.a = { type = \"boolean\" } }\n",
        "[events.e]\ndata = { type = \"object\", properties.a = { type = \"boolean\" } }\n",
        &["output-field-optional"],
    ),
    (
        "output_field_became_required",
        "[events.e]\ndata = { type = \"object\", properties.a = { type = \"boolean\" } }\n",
        "[events.e]\ndata = { type = \"object\", required = [\"a\"], properties.a = { type = \"boolean\" } }\n",
        &["field-optionality-changed"],
    ),
    (
        "output_required_field_removed",
        "[events.e]\ndata = { type = \"object\", required = [\"a\"], properties.a = { type = \"boolean\" }, properties.b = { type = \"boolean\" } }\n",
        "[events.e]\ndata = { type = \"object\", properties.b = { type = \"boolean\" } }\n",
        &["output-field-removed"],
    ),
    (
        "output_optional_field_removed",
        "[events.e]\ndata = { type = \"object\", properties.a = { type = \"boolean\" }, properties.b = { type = \"boolean\" } }\n",
        "[events.e]\ndata = { type = \"object\", properties.b = { type = \"boolean\" } }\n",
        &["struct-field-removed"],
    ),
    (
        "output_field_added",
        "[actions.go]\noutput = { type = \"object\", properties.a = { type = \"boolean\" } }\n",
        "[actions.go]\noutput = { type = \"object\", properties.a = { type = \"boolean\" }, properties.b = { type = \"boolean\" } }\n",
        &["output-field-added"],
    ),
    (
        "nested_input_range_narrowed",
        "[actions.go]\ninput = { type = \"array\", items = { type = \"object\", properties.x = { type = \"integer\", minimum = 0, maximum = 9 } } }\n",
        "[actions.go]\ninput = { type = \"array\", items = { type = \"object\", properties.x = { type = \"integer\", minimum = 1, maximum = 9 } } }\n",
        &["input-range-narrowed"],
    ),
    // Unions.
    (
        "input_alternative_removed",
        "[[actions.go.input.oneOf]]\ntype = \"string\"\n[[actions.go.input.oneOf]]\ntype = \"boolean\"\n[[actions.go.input.oneOf]]\ntype = \"integer\"\n",
        "[[actions.go.input.oneOf]]\ntype = \"string\"\n[[actions.go.input.oneOf]]\ntype = \"boolean\"\n",
        &["input-alternative-removed"],
    ),
    (
        "input_alternative_added",
        "[[actions.go.input.oneOf]]\ntype = \"string\"\n[[actions.go.input.oneOf]]\ntype = \"boolean\"\n",
        "[[actions.go.input.oneOf]]\ntype = \"string\"\n[[actions.go.input.oneOf]]\ntype = \"boolean\"\n[[actions.go.input.oneOf]]\ntype = \"integer\"\n",
        &["enum-variant-added"],
    ),
    (
        "output_alternative_added",
        "[[attributes.a.oneOf]]\ntype = \"string\"\n[[attributes.a.oneOf]]\ntype = \"boolean\"\n",
        "[[attributes.a.oneOf]]\ntype = \"string\"\n[[attributes.a.oneOf]]\ntype = \"boolean\"\n[[attributes.a.oneOf]]\ntype = \"integer\"\n",
        &["output-alternative-added"],
    ),
    (
        "output_alternative_removed",
        "[[attributes.a.oneOf]]\ntype = \"string\"\n[[attributes.a.oneOf]]\ntype = \"boolean\"\n[[attributes.a.oneOf]]\ntype = \"integer\"\n",
        "[[attributes.a.oneOf]]\ntype = \"string\"\n[[attributes.a.oneOf]]\ntype = \"boolean\"\n",
        &["rust-type-changed"],
    ),
    (
        "output_nullable_added",
        "[attributes.a]\ntype = \"string\"\n",
        "[[attributes.a.oneOf]]\ntype = \"string\"\n[[attributes.a.oneOf]]\ntype = \"null\"\n",
        &["output-nullable-added"],
    ),
    (
        "output_nullable_removed",
        "[[attributes.a.oneOf]]\ntype = \"string\"\n[[attributes.a.oneOf]]\ntype = \"null\"\n",
        "[attributes.a]\ntype = \"string\"\n",
        &["rust-type-changed"],
    ),
    (
        "union_alternative_narrowed",
        "[[actions.go.input.oneOf]]\ntype = \"string\"\n[[actions.go.input.oneOf]]\ntype = \"integer\"\nminimum = 0\n",
        "[[actions.go.input.oneOf]]\ntype = \"string\"\n[[actions.go.input.oneOf]]\ntype = \"integer\"\nminimum = 1\n",
        &["input-range-narrowed"],
    ),
    // Access.
    (
        "access_tightened",
        "[attributes.a]\ntype = \"boolean\"\naccess = \"group\"\n",
        "[attributes.a]\ntype = \"boolean\"\naccess = \"owner\"\n",
        &["access-tightened"],
    ),
    (
        "access_loosened",
        "[actions.go]\naccess = \"owner\"\n",
        "[actions.go]\naccess = \"all\"\n",
        &["access-loosened"],
    ),
    (
        "access_tightened_to_thing",
        "[events.e]\naccess = \"all\"\n",
        "[events.e]\naccess = \"thing\"\n",
        &["access-tightened"],
    ),
    (
        "writable_removed",
        "[attributes.a]\ntype = \"boolean\"\nwritable = true\n",
        "[attributes.a]\ntype = \"boolean\"\n",
        &["writable-removed"],
    ),
    (
        "writable_added",
        "[attributes.a]\ntype = \"boolean\"\n",
        "[attributes.a]\ntype = \"boolean\"\nwritable = true\n",
        &[],
    ),
    // Names and named types.
    (
        "thing_renamed",
        "[attributes.a]\ntype = \"boolean\"\n",
        "[thing]\nname = \"Renamed\"\nversion = \"1.0.0\"\n[attributes.a]\ntype = \"boolean\"\n",
        &["thing-renamed"],
    ),
    (
        "type_removed",
        "[types.Level]\ntype = \"integer\"\n[attributes.a]\ntype = \"boolean\"\n",
        "[attributes.a]\ntype = \"boolean\"\n",
        &["type-removed"],
    ),
    (
        "type_added",
        "[attributes.a]\ntype = \"boolean\"\n",
        "[types.Level]\ntype = \"integer\"\n[attributes.a]\ntype = \"boolean\"\n",
        &[],
    ),
    (
        "type_renamed",
        "[types.Level]\ntype = \"integer\"\nminimum = 0\nmaximum = 9\n[attributes.a]\nref = \"Level\"\n",
        "[types.Grade]\ntype = \"integer\"\nminimum = 0\nmaximum = 9\n[attributes.a]\nref = \"Grade\"\n",
        &["type-renamed"],
    ),
    (
        "type_renamed_and_widened",
        "[types.Level]\ntype = \"integer\"\nminimum = 0\nmaximum = 9\n[attributes.a]\nref = \"Level\"\n",
        "[types.Grade]\ntype = \"integer\"\nminimum = 0\nmaximum = 99\n[attributes.a]\nref = \"Grade\"\n",
        &["output-range-widened", "type-removed"],
    ),
    (
        "named_type_widened_where_output",
        "[types.Level]\ntype = \"integer\"\nminimum = 0\nmaximum = 9\n[attributes.a]\nref = \"Level\"\n[actions.set]\ninput = { ref = \"Level\" }\n",
        "[types.Level]\ntype = \"integer\"\nminimum = 0\nmaximum = 99\n[attributes.a]\nref = \"Level\"\n[actions.set]\ninput = { ref = \"Level\" }\n",
        &["output-range-widened"],
    ),
    (
        "named_type_narrowed_where_input",
        "[types.Level]\ntype = \"integer\"\nminimum = 0\nmaximum = 99\n[attributes.a]\nref = \"Level\"\n[actions.set]\ninput = { ref = \"Level\" }\n",
        "[types.Level]\ntype = \"integer\"\nminimum = 0\nmaximum = 9\n[attributes.a]\nref = \"Level\"\n[actions.set]\ninput = { ref = \"Level\" }\n",
        &["input-range-narrowed"],
    ),
    (
        "ref_replaced_by_inline",
        "[types.Level]\ntype = \"integer\"\n[attributes.a]\nref = \"Level\"\n",
        "[types.Level]\ntype = \"integer\"\n[attributes.a]\ntype = \"integer\"\n",
        &["rust-type-changed"],
    ),
    (
        "ref_to_another_type",
        "[types.Level]\ntype = \"integer\"\n[types.Grade]\ntype = \"integer\"\n[attributes.a]\nref = \"Level\"\n",
        "[types.Level]\ntype = \"integer\"\n[types.Grade]\ntype = \"integer\"\n[attributes.a]\nref = \"Grade\"\n",
        &["rust-type-changed"],
    ),
    // Semantics.
    (
        "unit_changed",
        "[attributes.t]\ntype = \"number\"\nunit = \"celsius\"\n",
        "[attributes.t]\ntype = \"number\"\nunit = \"fahrenheit\"\n",
        &["unit-changed"],
    ),
    (
        "unit_added",
        "[attributes.t]\ntype = \"number\"\n",
        "[attributes.t]\ntype = \"number\"\nunit = \"celsius\"\n",
        &[],
    ),
    (
        "content_changed",
        "[actions.upload]\ninput = { type = \"string\", contentMediaType = \"image/png\", contentEncoding = \"base64\" }\n",
        "[actions.upload]\ninput = { type = \"string\", contentMediaType = \"image/jpeg\", contentEncoding = \"base64\" }\n",
        &["content-changed"],
    ),
    (
        "timeout_shortened",
        "[actions.go]\ntimeout = \"10s\"\n",
        "[actions.go]\ntimeout = \"5s\"\n",
        &["timeout-shortened"],
    ),
    (
        "timeout_removed_below_default",
        "[actions.go]\ntimeout = \"2m\"\n",
        "[actions.go]\n",
        &["timeout-shortened"],
    ),
    (
        "timeout_lengthened",
        "[actions.go]\ntimeout = \"5s\"\n",
        "[actions.go]\ntimeout = \"1m30s\"\n",
        &[],
    ),
    (
        "history_removed",
        "[attributes.t]\ntype = \"number\"\nhistory = 10\n",
        "[attributes.t]\ntype = \"number\"\n",
        &["history-removed"],
    ),
    (
        "history_shortened",
        "[attributes.t]\ntype = \"number\"\nhistory = 10\n",
        "[attributes.t]\ntype = \"number\"\nhistory = 5\n",
        &["history-shortened"],
    ),
    (
        "history_lengthened",
        "[attributes.t]\ntype = \"number\"\nhistory = 5\n",
        "[attributes.t]\ntype = \"number\"\nhistory = 50\n",
        &[],
    ),
    (
        "safe_removed",
        "[actions.look]\nsafe = true\n",
        "[actions.look]\n",
        &["safe-removed"],
    ),
    (
        "idempotent_removed",
        "[actions.set]\nidempotent = true\n",
        "[actions.set]\n",
        &["idempotent-removed"],
    ),
    (
        "safe_and_idempotent_added",
        "[actions.look]\n",
        "[actions.look]\nsafe = true\nidempotent = true\n",
        &[],
    ),
    (
        "default_changed",
        "[actions.go]\ninput = { type = \"integer\", minimum = 1, maximum = 9, default = 1 }\n",
        "[actions.go]\ninput = { type = \"integer\", minimum = 1, maximum = 9, default = 2 }\n",
        &["default-changed"],
    ),
    (
        "default_added",
        "[actions.go]\ninput = { type = \"integer\", minimum = 1, maximum = 9 }\n",
        "[actions.go]\ninput = { type = \"integer\", minimum = 1, maximum = 9, default = 2 }\n",
        &[],
    ),
    (
        "attribute_kind_changed",
        "[attributes.model]\ntype = \"string\"\nkind = \"static\"\nvalue = \"X1\"\n",
        "[attributes.model]\ntype = \"string\"\n",
        &["attribute-kind-changed"],
    ),
];

const THING: &str = "[thing]\nname = \"T\"\nversion = \"1.0.0\"\n";

fn source(body: &str) -> String {
    if body.starts_with("[thing]") {
        body.to_owned()
    } else {
        format!("{THING}{body}")
    }
}

fn report(old: &str, new: &str) -> CompatReport {
    let old = load_str("old.toml", &source(old)).unwrap_or_else(|e| panic!("old: {e}"));
    let new = load_str("new.toml", &source(new)).unwrap_or_else(|e| panic!("new: {e}"));
    CompatReport::new(&old, &new)
}

#[test]
fn every_rule_in_both_directions() {
    let mut failures = Vec::new();
    for (name, old, new, expected) in CASES {
        let r = report(old, new);
        let found: BTreeSet<&str> = r.located.iter().map(|l| l.finding.rule.id()).collect();
        let expected: BTreeSet<&str> = expected.iter().copied().collect();
        if found != expected {
            failures.push(format!("{name}: expected {expected:?}, found {found:?}"));
        }
        for l in &r.located {
            assert!(l.line >= 1 && l.col >= 1, "{name}: unlocated {l:?}");
        }
        let rendered = r.render(false);
        insta::assert_snapshot!(
            *name,
            format!(
                "--- old.toml\n{}--- new.toml\n{}--- safething-gen diff old.toml new.toml\n{rendered}",
                source(old),
                source(new)
            )
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_rule_has_a_case() {
    let covered: BTreeSet<&str> = CASES
        .iter()
        .flat_map(|(_, _, _, rules)| rules.iter().copied())
        .collect();
    let missing: Vec<&str> = CompatRule::ALL
        .iter()
        .map(|r| r.id())
        .filter(|id| !covered.contains(id))
        .collect();
    assert!(missing.is_empty(), "rules without a case: {missing:?}");
}

#[test]
fn identical_definitions_have_no_findings() {
    for file in [
        "thermostat",
        "printer",
        "gardening_device",
        "gardening_controller",
    ] {
        let path = format!(
            "{}/../examples/things/{file}.toml",
            env!("CARGO_MANIFEST_DIR")
        );
        let loaded = safething_codegen::load(&path).unwrap();
        let r = CompatReport::new(&loaded, &loaded);
        assert!(r.located.is_empty(), "{file}: {}", r.render(false));
        assert!(!r.fails());
    }
}

#[test]
fn the_version_bump_decides_whether_a_breaking_change_fails() {
    let old = "[attributes.a]\ntype = \"boolean\"\n[attributes.b]\ntype = \"boolean\"\n";
    let new = |version: &str| {
        format!(
            "[thing]\nname = \"T\"\nversion = \"{version}\"\n[attributes.a]\ntype = \"boolean\"\n"
        )
    };
    for (version, fails) in [("1.0.1", true), ("1.1.0", true), ("2.0.0", false)] {
        let r = report(old, &new(version));
        assert!(r.compatibility.is_breaking());
        assert_eq!(r.fails(), fails, "{version}");
        let summary = r.render(false);
        let last = summary.lines().last().unwrap_or_default();
        if fails {
            assert!(last.contains("breaking changes need 2.0.0"), "{last}");
        } else {
            assert!(last.contains("covers them"), "{last}");
        }
    }
    // 0.x: a minor bump is a major one.
    let old0 = "[thing]\nname = \"T\"\nversion = \"0.3.0\"\n[attributes.a]\ntype = \"boolean\"\n[attributes.b]\ntype = \"boolean\"\n";
    let new0 = |v: &str| {
        format!("[thing]\nname = \"T\"\nversion = \"{v}\"\n[attributes.a]\ntype = \"boolean\"\n")
    };
    assert!(report(old0, &new0("0.3.1")).fails());
    assert!(!report(old0, &new0("0.4.0")).fails());
}

#[test]
fn a_removal_points_at_the_new_file_and_says_where_it_was() {
    let r = report(
        "[attributes.a]\ntype = \"boolean\"\n[attributes.b]\ntype = \"boolean\"\n",
        "[attributes.a]\ntype = \"boolean\"\n",
    );
    let [l] = r.located.as_slice() else {
        panic!("{}", r.render(false));
    };
    assert_eq!(l.old_location, Some((6, 13)));
    let rendered = r.render(false);
    assert!(rendered.starts_with("new.toml:4:"), "{rendered}");
    assert!(rendered.contains("(it was at old.toml:6:13)"), "{rendered}");
}

#[test]
fn the_json_report_has_its_documented_fields() {
    let r = report(
        "[attributes.a]\ntype = \"boolean\"\naccess = \"group\"\n[attributes.b]\ntype = \"boolean\"\n",
        "[attributes.a]\ntype = \"boolean\"\naccess = \"all\"\n",
    );
    let v = r.to_json();
    assert_eq!(v["old"]["version"], "1.0.0");
    assert_eq!(v["new"]["file"], "new.toml");
    assert_eq!(v["breaking"], true);
    assert_eq!(v["major_bump"], false);
    assert_eq!(v["fails"], true);
    assert_eq!(v["errors"], 1);
    assert_eq!(v["warnings"], 1);
    let findings = v["findings"].as_array().unwrap();
    let removed = findings
        .iter()
        .find(|f| f["rule"] == "affordance-removed")
        .unwrap();
    assert_eq!(removed["category"], "wire");
    assert_eq!(removed["severity"], "error");
    assert_eq!(removed["path"], "attributes");
    assert_eq!(removed["old"]["path"], "attributes.b");
    assert_eq!(removed["old"]["file"], "old.toml");
    assert!(removed["line"].as_u64().unwrap() >= 1);
    let loosened = findings
        .iter()
        .find(|f| f["rule"] == "access-loosened")
        .unwrap();
    assert_eq!(loosened["severity"], "warning");
    assert_eq!(loosened["category"], "access");
    assert_eq!(loosened["path"], "attributes.a.access");
    assert!(loosened.get("old").is_none());
}

/// The examples' history (`codegen/tests/fixtures/history/<name>@<version>.toml`): what `diff`
/// says between consecutive versions, and whether the version bump covers it.
#[test]
fn the_examples_history() {
    let dir = format!("{}/tests/fixtures/history", env!("CARGO_MANIFEST_DIR"));
    let mut versions: std::collections::BTreeMap<String, Vec<(semver::Version, String)>> =
        std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        let stem = file.strip_suffix(".toml").unwrap();
        let (name, version) = stem.split_once('@').unwrap();
        versions
            .entry(name.to_owned())
            .or_default()
            .push((semver::Version::parse(version).unwrap(), file.clone()));
    }
    // (old file, new file, whether `diff` fails).
    let expected = [
        (
            "gardening_device@1.0.0.toml",
            "gardening_device@1.1.0.toml",
            true,
        ),
        (
            "gardening_device@1.1.0.toml",
            "gardening_device@2.0.0.toml",
            false,
        ),
        ("printer@2.0.0.toml", "printer@2.1.0.toml", false),
        ("thermostat@0.1.0.toml", "thermostat@0.2.0.toml", false),
        ("thermostat@0.2.0.toml", "thermostat@0.3.0.toml", false),
    ];
    let mut pairs = Vec::new();
    for (name, mut list) in versions {
        list.sort();
        for pair in list.windows(2) {
            let [(_, old), (_, new)] = pair else { continue };
            let load = |file: &str| {
                let text = std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
                load_str(&format!("{name}/{file}"), &text).unwrap()
            };
            let r = CompatReport::new(&load(old), &load(new));
            let rendered = r.render(false);
            insta::assert_snapshot!(
                format!("history_{old}_{new}").replace(".toml", ""),
                rendered
            );
            pairs.push((old.clone(), new.clone(), r.fails()));
        }
    }
    let expected: Vec<(String, String, bool)> = expected
        .iter()
        .map(|(a, b, f)| (a.to_string(), b.to_string(), *f))
        .collect();
    assert_eq!(pairs, expected);
}

/// The newest version of each example in the history is the example itself.
#[test]
fn the_history_ends_at_the_examples() {
    let root = env!("CARGO_MANIFEST_DIR");
    for (name, version) in [
        ("thermostat", "0.3.0"),
        ("printer", "2.1.0"),
        ("gardening_device", "1.0.0"),
    ] {
        let example =
            safething_codegen::load(format!("{root}/../examples/things/{name}.toml")).unwrap();
        let fixture = safething_codegen::load(format!(
            "{root}/tests/fixtures/history/{name}@{version}.toml"
        ))
        .unwrap();
        assert_eq!(
            example.definition.definition(),
            fixture.definition.definition(),
            "{name}@{version} is not examples/things/{name}.toml"
        );
    }
}

mod builder {
    use std::path::{Path, PathBuf};

    use safething_codegen::{BuildError, Builder};

    fn history(file: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/history/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    /// A definitions directory and a baseline directory, each with `gardening_device.toml`
    /// (the baseline only when given).
    fn setup(new: &str, baseline: Option<&str>) -> (tempfile::TempDir, PathBuf, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let things = tmp.path().join("things");
        let released = tmp.path().join("released");
        std::fs::create_dir_all(&things).unwrap();
        std::fs::create_dir_all(&released).unwrap();
        let def = things.join("gardening_device.toml");
        std::fs::write(&def, new).unwrap();
        if let Some(old) = baseline {
            std::fs::write(released.join("gardening_device.toml"), old).unwrap();
        }
        (tmp, def, released)
    }

    fn builder(released: &Path) -> Builder {
        Builder::new()
            .cargo_directives(false)
            .check_compatible(released)
    }

    #[test]
    fn a_breaking_change_without_a_major_bump_fails_the_build() {
        let old = history("gardening_device@1.0.0.toml");
        let (_tmp, def, released) = setup(&history("gardening_device@1.1.0.toml"), Some(&old));
        let err = builder(&released).generate(&[&def]).unwrap_err();
        assert!(matches!(err, BuildError::Incompatible(_)), "{err}");
        let text = err.to_string();
        assert!(
            text.contains(":63:137: error[input-required-field-added]: "),
            "{text}"
        );
        assert!(text.contains("breaking changes need 2.0.0"), "{text}");
        assert!(
            text.contains("error: breaking changes without a major version bump in"),
            "{text}"
        );
        // The same definition without the check builds.
        assert!(Builder::new().generate(&[&def]).is_ok());
    }

    #[test]
    fn a_major_bump_covers_breaking_changes() {
        let old = history("gardening_device@1.0.0.toml");
        let (_tmp, def, released) = setup(&history("gardening_device@2.0.0.toml"), Some(&old));
        let files = builder(&released).generate(&[&def]).unwrap();
        assert!(files.contains_key("gardening_device.rs"));
    }

    #[test]
    fn a_definition_without_a_baseline_is_not_checked() {
        let (_tmp, def, released) = setup(&history("gardening_device@1.1.0.toml"), None);
        assert!(builder(&released).generate(&[&def]).is_ok());
        // A baseline directory that does not exist is no baseline either.
        let b = Builder::new()
            .cargo_directives(false)
            .check_compatible(released.join("missing"));
        assert!(b.generate(&[&def]).is_ok());
    }

    #[test]
    fn an_invalid_baseline_fails_with_its_diagnostics() {
        let (_tmp, def, released) = setup(
            &history("gardening_device@1.0.0.toml"),
            Some("[thing]\nname = \"GardeningDevice\"\n"),
        );
        let err = builder(&released).generate(&[&def]).unwrap_err();
        assert!(matches!(err, BuildError::Definitions(_)), "{err}");
        assert!(
            err.to_string().contains("released/gardening_device.toml"),
            "{err}"
        );
    }

    #[test]
    fn compile_writes_and_reruns_on_the_baseline_files() {
        let old = history("gardening_device@1.0.0.toml");
        let (tmp, def, released) = setup(&history("gardening_device@2.0.0.toml"), Some(&old));
        let out = tmp.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        let b = builder(&released).out_dir(&out);
        assert_eq!(
            b.rerun_if_changed(&[&def]),
            [
                def.clone(),
                released.join("gardening_device.toml"),
                released.clone()
            ]
        );
        b.compile(&[&def]).unwrap();
        assert!(out.join("gardening_device.rs").is_file());
        // Without the check, only the definitions.
        assert_eq!(Builder::new().rerun_if_changed(&[&def]), vec![def]);
    }
}

/// Unions nested as deep as the limits allow, one alternative fewer at every level: each pair
/// of alternatives is compared once, so this finishes (it would take 2^depth comparisons
/// otherwise).
#[test]
fn attack_nested_unions_do_not_take_exponential_time() {
    use serde_json::json;
    fn nest(depth: usize, extra: bool) -> serde_json::Value {
        if depth == 0 {
            return json!({"type": "integer"});
        }
        let mut alternatives = vec![
            nest(depth - 1, extra),
            json!({"type": "boolean"}),
            json!({"type": "null"}),
        ];
        if extra {
            alternatives.push(json!({"type": "string"}));
        }
        json!({"oneOf": alternatives})
    }
    let def = |extra: bool| {
        let d: safething_ir::Definition = serde_json::from_value(json!({
            "thing": {"name": "T", "version": "1.0.0"},
            "attributes": {"a": nest(28, extra)},
        }))
        .unwrap();
        d.checked().unwrap()
    };
    let c = safething_codegen::compat::check(&def(true), &def(false));
    assert!(!c.findings.is_empty());
    assert!(
        c.findings
            .iter()
            .all(|f| f.rule == CompatRule::RustTypeChanged)
    );
}

/// `docs/compatibility.md` lists every rule, in the table of its category, with its severity.
#[test]
fn the_docs_list_every_rule() {
    let docs = std::fs::read_to_string(format!(
        "{}/../docs/compatibility.md",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    for rule in CompatRule::ALL {
        let heading = format!("### `{}`", rule.category());
        let section = docs
            .split("### ")
            .find(|s| format!("### {s}").starts_with(&heading))
            .unwrap_or_else(|| panic!("no section {heading}"));
        let severity = if rule.severity() == safething_ir::Severity::Error {
            "error"
        } else {
            "warning"
        };
        let row = format!("| `{}` | {severity} |", rule.id());
        assert!(section.contains(&row), "{heading} has no row {row}");
    }
}
