//! The compatibility rules: stable ids, categories and severities.

use std::fmt;

use safething_ir::Severity;
use serde::Serialize;

/// What a finding is about: who notices the change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Payloads old peers send would be rejected, or payloads they receive would not fit the
    /// types they were built with.
    Wire,
    /// Who may use an affordance, or whether it may be written.
    Access,
    /// Code generated from the old definition, and the code written against it, stops
    /// compiling when regenerated.
    Source,
    /// The same bytes now mean something else (unit, deadline, history, defaults).
    Semantic,
}

impl Category {
    /// The lowercase name (`wire`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Wire => "wire",
            Category::Access => "access",
            Category::Source => "source",
            Category::Semantic => "semantic",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! rules {
    ($($variant:ident = $id:literal, $category:ident, $severity:ident, $summary:literal;)*) => {
        /// A compatibility rule. Its id (`affordance-removed`, ...) is stable: tools and docs
        /// may rely on it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum CompatRule {
            $(#[doc = $summary] $variant,)*
        }

        impl CompatRule {
            /// Every rule, in documentation order.
            pub const ALL: &'static [CompatRule] = &[$(CompatRule::$variant,)*];

            /// The stable kebab-case id.
            pub fn id(self) -> &'static str {
                match self { $(CompatRule::$variant => $id,)* }
            }

            /// The category.
            pub fn category(self) -> Category {
                match self { $(CompatRule::$variant => Category::$category,)* }
            }

            /// Error (breaking) or warning (compatible, worth knowing).
            pub fn severity(self) -> Severity {
                match self { $(CompatRule::$variant => Severity::$severity,)* }
            }

            /// One sentence on what the rule finds.
            pub fn summary(self) -> &'static str {
                match self { $(CompatRule::$variant => $summary,)* }
            }
        }
    };
}

rules! {
    AffordanceRemoved = "affordance-removed", Wire, Error,
        "An attribute, event or action is gone: old peers still use it.";
    AffordanceKindChanged = "affordance-kind-changed", Wire, Error,
        "An affordance became another kind (an attribute became an action, ...).";
    PayloadAdded = "payload-added", Wire, Error,
        "An event or action input/output that had no payload now has one.";
    PayloadRemoved = "payload-removed", Wire, Error,
        "An event or action input/output that had a payload has none any more.";
    TypeChanged = "type-changed", Wire, Error,
        "A value changed its JSON type (or between a single type and a union).";
    InputRangeNarrowed = "input-range-narrowed", Wire, Error,
        "An input's minimum was raised or its maximum lowered (or made exclusive).";
    InputMultipleOfNarrowed = "input-multiple-of-narrowed", Wire, Error,
        "An input's `multipleOf` no longer accepts every value it accepted.";
    InputLengthNarrowed = "input-length-narrowed", Wire, Error,
        "An input string's `minLength` was raised or `maxLength` lowered.";
    InputItemsNarrowed = "input-items-narrowed", Wire, Error,
        "An input array's `minItems` was raised or `maxItems` lowered.";
    InputPatternChanged = "input-pattern-changed", Wire, Error,
        "An input string's `pattern` was added or changed.";
    InputFormatChanged = "input-format-changed", Wire, Error,
        "An input string's `format` was added or changed.";
    InputEnumValueRemoved = "input-enum-value-removed", Wire, Error,
        "An input no longer accepts a value of its `enum` (or `const`).";
    InputRequiredFieldAdded = "input-required-field-added", Wire, Error,
        "An input object has a new required property, or a property became required.";
    InputFieldRemoved = "input-field-removed", Wire, Error,
        "An input object lost a property: objects are closed, old peers that send it are refused.";
    InputAlternativeRemoved = "input-alternative-removed", Wire, Error,
        "An input `oneOf` lost an alternative.";
    OutputRangeWidened = "output-range-widened", Wire, Error,
        "An output's minimum was lowered or its maximum raised (or made inclusive).";
    OutputMultipleOfWidened = "output-multiple-of-widened", Wire, Error,
        "An output's `multipleOf` allows values the old one did not.";
    OutputLengthWidened = "output-length-widened", Wire, Error,
        "An output string's `minLength` was lowered or `maxLength` raised.";
    OutputItemsWidened = "output-items-widened", Wire, Error,
        "An output array's `minItems` was lowered or `maxItems` raised.";
    OutputPatternChanged = "output-pattern-changed", Wire, Error,
        "An output string's `pattern` was removed or changed.";
    OutputFormatChanged = "output-format-changed", Wire, Error,
        "An output string's `format` was removed or changed.";
    OutputEnumValueAdded = "output-enum-value-added", Wire, Error,
        "An output may take a value its old `enum` (or `const`) did not allow.";
    OutputFieldOptional = "output-field-optional", Wire, Error,
        "An output object's required property became optional.";
    OutputFieldRemoved = "output-field-removed", Wire, Error,
        "An output object lost a required property.";
    OutputFieldAdded = "output-field-added", Wire, Error,
        "An output object has a new property: objects are closed, old peers refuse it.";
    OutputAlternativeAdded = "output-alternative-added", Wire, Error,
        "An output may take a shape (a `oneOf` alternative) it could not before.";
    OutputNullableAdded = "output-nullable-added", Wire, Error,
        "An output may now be `null`.";
    AccessTightened = "access-tightened", Access, Error,
        "An affordance's access type became more restrictive (all < group < owner < thing).";
    WritableRemoved = "writable-removed", Access, Error,
        "An attribute is no longer writable.";
    AccessLoosened = "access-loosened", Access, Warning,
        "An affordance's access type became less restrictive: more parties see its data.";
    ThingRenamed = "thing-renamed", Source, Error,
        "The thing's name changed: every generated type and module name changes.";
    TypeRemoved = "type-removed", Source, Error,
        "A named type under `[types]` is gone: code naming its generated type breaks.";
    TypeRenamed = "type-renamed", Source, Error,
        "A named type was renamed (same structure, new name).";
    EnumVariantAdded = "enum-variant-added", Source, Error,
        "A generated enum gained a variant: generated enums are exhaustive, `match`es break.";
    EnumVariantRemoved = "enum-variant-removed", Source, Error,
        "A generated enum lost a variant: code that names it breaks.";
    RustTypeChanged = "rust-type-changed", Source, Error,
        "A value keeps its wire shape but its generated Rust type changes (`u8` to `u16`, ...).";
    FieldOptionalityChanged = "field-optionality-changed", Source, Error,
        "A property changed between required and optional where the wire allows it: its generated field changes between `T` and `Option<T>`.";
    StructFieldRemoved = "struct-field-removed", Source, Error,
        "An optional output property is gone: code that reads its generated field breaks.";
    StructFieldAdded = "struct-field-added", Source, Warning,
        "An optional input property was added: struct literals of the generated type need it.";
    UnitChanged = "unit-changed", Semantic, Error,
        "A value's unit changed: the same number now means something else.";
    ContentChanged = "content-changed", Semantic, Error,
        "A string's `contentMediaType` or `contentEncoding` changed.";
    TimeoutShortened = "timeout-shortened", Semantic, Error,
        "An action's timeout got shorter: requests that used to finish now time out.";
    HistoryRemoved = "history-removed", Semantic, Error,
        "An attribute no longer keeps a history.";
    HistoryShortened = "history-shortened", Semantic, Error,
        "An attribute keeps fewer past values.";
    SafeRemoved = "safe-removed", Semantic, Error,
        "An action is no longer `safe` (it may now change state).";
    IdempotentRemoved = "idempotent-removed", Semantic, Error,
        "An action is no longer `idempotent`: retrying it is no longer harmless.";
    DefaultChanged = "default-changed", Semantic, Warning,
        "A value's `default` changed or was removed.";
    AttributeKindChanged = "attribute-kind-changed", Semantic, Warning,
        "An attribute changed between static and dynamic.";
}

impl fmt::Display for CompatRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for CompatRule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}
