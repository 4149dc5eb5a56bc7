//! Breaking-change detection between two versions of a definition, like `buf breaking` for
//! protobuf: what `safething-gen diff OLD NEW` and [`Builder::check_compatible`] run.
//!
//! [`check`] compares two definitions and returns every [`Finding`]: a [`CompatRule`] (stable
//! id, [`Category`], severity: error = breaking, warning = compatible but worth knowing), a
//! message, and the IR path in the new definition it is about (for something removed: the
//! place it was removed from, with its path in the old definition). Direction matters:
//! *inputs* (action inputs, the values peers write to writable attributes) may widen but not
//! narrow; *outputs* (attribute values, event data, action outputs) may narrow but not widen.
//! `ref`s are followed: named types are compared by structure, findings inside one point at
//! its declaration.
//!
//! A breaking change is covered by a major version bump (in 0.x, a minor bump):
//! [`Compatibility::fails`] is true when there is one and the bump does not cover it.
//!
//! [`Builder::check_compatible`]: crate::Builder::check_compatible

mod diff;
#[cfg(feature = "toml")]
mod report;
mod rules;

use safething_ir::{CheckedDefinition, IrPath, Severity};

#[cfg(feature = "toml")]
pub use report::{CompatReport, LocatedFinding};
pub use rules::{Category, CompatRule};

/// One difference between two definitions that old peers or old code may notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule that found it.
    pub rule: CompatRule,
    /// What changed and why it matters, naming the values.
    pub message: String,
    /// Where in the new definition; for a removal, where the removed part was declared (the
    /// table it was in).
    pub path: IrPath,
    /// For a removal, where the removed part was in the old definition.
    pub old_path: Option<IrPath>,
}

impl Finding {
    fn new(rule: CompatRule, path: IrPath, old_path: Option<IrPath>, message: String) -> Finding {
        Finding {
            rule,
            message,
            path,
            old_path,
        }
    }

    /// The rule's category.
    pub fn category(&self) -> Category {
        self.rule.category()
    }

    /// The rule's severity.
    pub fn severity(&self) -> Severity {
        self.rule.severity()
    }

    /// Whether it breaks old peers or old code.
    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }
}

/// Everything [`check`] found, with the versions it judges the findings against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compatibility {
    /// Every finding, errors and warnings, ordered by rule and path.
    pub findings: Vec<Finding>,
    /// The old definition's `version`.
    pub old_version: String,
    /// The new definition's `version`.
    pub new_version: String,
}

impl Compatibility {
    /// Whether any finding breaks old peers or old code.
    pub fn is_breaking(&self) -> bool {
        self.findings.iter().any(Finding::is_error)
    }

    /// Whether the new version is a major bump over the old (0.x: a minor bump), which
    /// announces breaking changes.
    pub fn bump_covers(&self) -> bool {
        is_major_bump(&self.old_version, &self.new_version)
    }

    /// Whether there is a breaking change the version bump does not cover.
    pub fn fails(&self) -> bool {
        self.is_breaking() && !self.bump_covers()
    }

    /// How many errors.
    pub fn error_count(&self) -> usize {
        self.findings.iter().filter(|f| f.is_error()).count()
    }

    /// How many warnings.
    pub fn warning_count(&self) -> usize {
        self.findings.len() - self.error_count()
    }

    /// One line on the outcome, e.g. `2 breaking changes, 1 warning; 1.2.0 -> 1.3.0 is not a
    /// major version bump (breaking changes need 2.0.0)`.
    pub fn summary(&self) -> String {
        let (old, new) = (&self.old_version, &self.new_version);
        let counts = format!(
            "{}, {}",
            plural(self.error_count(), "breaking change"),
            plural(self.warning_count(), "warning")
        );
        if !self.is_breaking() {
            return format!("{counts}; {old} -> {new} is compatible");
        }
        if self.bump_covers() {
            let zero = if old.starts_with("0.") {
                " (in 0.x, a minor bump is one)"
            } else {
                ""
            };
            return format!(
                "{counts}; {old} -> {new} is a major version bump{zero}, which covers them"
            );
        }
        match next_major(old) {
            Some(next) => format!(
                "{counts}; {old} -> {new} is not a major version bump (breaking changes need \
                 {next})"
            ),
            None => format!("{counts}; {old} -> {new} is not a major version bump"),
        }
    }
}

/// Compares `old` with `new`: every finding, ordered by rule, then path. Both are checked
/// definitions: their `ref`s resolve and do not go round in circles, and they stay within the
/// nesting limit, which bounds the comparison.
pub fn check(old: &CheckedDefinition, new: &CheckedDefinition) -> Compatibility {
    let mut findings = diff::compare(old, new);
    findings.sort_by(|a, b| (a.rule, &a.path).cmp(&(b.rule, &b.path)));
    Compatibility {
        findings,
        old_version: old.thing.version.clone(),
        new_version: new.thing.version.clone(),
    }
}

/// Whether `new` is a major version bump over `old` (in 0.x, a minor bump counts): only then
/// may it break compatibility. False when either is not a semantic version.
pub fn is_major_bump(old: &str, new: &str) -> bool {
    let (Ok(old), Ok(new)) = (semver::Version::parse(old), semver::Version::parse(new)) else {
        return false;
    };
    if new.major != old.major {
        return new.major > old.major;
    }
    old.major == 0 && new.minor > old.minor
}

/// The smallest version that is a major bump over `old`.
fn next_major(old: &str) -> Option<String> {
    let old = semver::Version::parse(old).ok()?;
    Some(if old.major == 0 {
        format!("0.{}.0", old.minor.checked_add(1)?)
    } else {
        format!("{}.0.0", old.major.checked_add(1)?)
    })
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_bumps() {
        for (old, new, covers) in [
            ("1.0.0", "2.0.0", true),
            ("1.4.2", "1.5.0", false),
            ("1.4.2", "1.4.3", false),
            ("0.3.0", "0.4.0", true),
            ("0.3.0", "0.3.1", false),
            ("0.3.0", "1.0.0", true),
            ("2.0.0", "1.9.0", false),
            ("1.0.0", "2.0.0-rc.1", true),
            ("x", "2.0.0", false),
        ] {
            assert_eq!(is_major_bump(old, new), covers, "{old} -> {new}");
        }
        assert_eq!(next_major("0.3.0").as_deref(), Some("0.4.0"));
        assert_eq!(next_major("1.3.0").as_deref(), Some("2.0.0"));
    }

    #[test]
    fn every_rule_has_a_distinct_id() {
        let ids: std::collections::BTreeSet<&str> =
            CompatRule::ALL.iter().map(|r| r.id()).collect();
        assert_eq!(ids.len(), CompatRule::ALL.len());
    }
}
