//! Findings located in the definition files, rendered like `check`'s diagnostics, and the
//! `--json` report.

use std::ops::Range;

use safething_ir::{IrPath, Severity};
use serde_json::{Value, json};

use super::{Compatibility, Finding, check};
use crate::load::Loaded;
use crate::report::{Entry, SourceFile, render_entries};
use crate::toml::{SourceMap, Spans};

/// A finding with its place in the new file (and, for a removal, in the old one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocatedFinding {
    /// The finding.
    pub finding: Finding,
    /// 1-based line in the new file.
    pub line: usize,
    /// 1-based column (characters) in the new file.
    pub col: usize,
    /// The byte range pointed at in the new file.
    pub span: Range<usize>,
    /// For a removal: line and column where it was in the old file.
    pub old_location: Option<(usize, usize)>,
}

/// The comparison of two loaded definition files.
#[derive(Clone, Debug)]
pub struct CompatReport {
    /// The old file.
    pub old: SourceFile,
    /// The new file.
    pub new: SourceFile,
    /// What was found.
    pub compatibility: Compatibility,
    /// The findings, located, in the order of the new file.
    pub located: Vec<LocatedFinding>,
}

impl CompatReport {
    /// Compares two loaded definitions and locates every finding.
    pub fn new(old: &Loaded, new: &Loaded) -> CompatReport {
        let compatibility = check(&old.definition, &new.definition);
        let mut located: Vec<LocatedFinding> = compatibility
            .findings
            .iter()
            .map(|f| {
                let span = locate(&new.source_map, &f.path);
                let (line, col) = new.source.line_col(span.start);
                let old_location = f.old_path.as_ref().map(|p| {
                    let span = locate(&old.source_map, p);
                    old.source.line_col(span.start)
                });
                LocatedFinding {
                    finding: f.clone(),
                    line,
                    col,
                    span,
                    old_location,
                }
            })
            .collect();
        // Stable: findings at one place keep the rule order.
        located.sort_by_key(|l| l.span.start);
        CompatReport {
            old: old.source.clone(),
            new: new.source.clone(),
            compatibility,
            located,
        }
    }

    /// Whether there is a breaking change the version bump does not cover.
    pub fn fails(&self) -> bool {
        self.compatibility.fails()
    }

    /// The message of a finding as printed: with where a removed part was in the old file.
    fn message(&self, l: &LocatedFinding) -> String {
        match l.old_location {
            Some((line, col)) => format!(
                "{} (it was at {}:{line}:{col})",
                l.finding.message, self.old.name
            ),
            None => l.finding.message.clone(),
        }
    }

    /// Every finding as `NEW:line:col: error[rule-id]: message` with the source snippet, then
    /// the summary line. ANSI colours only when `color` is true.
    pub fn render(&self, color: bool) -> String {
        let messages: Vec<String> = self.located.iter().map(|l| self.message(l)).collect();
        let entries: Vec<Entry<'_>> = self
            .located
            .iter()
            .zip(&messages)
            .map(|(l, message)| Entry {
                file: &self.new.name,
                line: l.line,
                col: l.col,
                span: Some(l.span.clone()),
                severity: l.finding.severity(),
                rule: Some(l.finding.rule.id()),
                message,
                help: None,
            })
            .collect();
        let mut out = render_entries(std::slice::from_ref(&self.new), &entries, color);
        out.push_str(&self.compatibility.summary());
        out.push('\n');
        out
    }

    /// The machine-readable report (`safething-gen diff --json`); its shape is documented in
    /// `docs/compatibility.md`.
    pub fn to_json(&self) -> Value {
        let c = &self.compatibility;
        let findings: Vec<Value> = self
            .located
            .iter()
            .map(|l| {
                let f = &l.finding;
                let mut v = json!({
                    "rule": f.rule.id(),
                    "category": f.category().as_str(),
                    "severity": match f.severity() {
                        Severity::Error => "error",
                        Severity::Warning => "warning",
                    },
                    "message": f.message,
                    "path": f.path.to_string(),
                    "file": self.new.name,
                    "line": l.line,
                    "column": l.col,
                });
                if let (Some(map), Some(old_path), Some((line, col))) =
                    (v.as_object_mut(), &f.old_path, l.old_location)
                {
                    map.insert(
                        "old".into(),
                        json!({
                            "path": old_path.to_string(),
                            "file": self.old.name,
                            "line": line,
                            "column": col,
                        }),
                    );
                }
                v
            })
            .collect();
        json!({
            "old": {"file": self.old.name, "version": c.old_version},
            "new": {"file": self.new.name, "version": c.new_version},
            "breaking": c.is_breaking(),
            "major_bump": c.bump_covers(),
            "fails": c.fails(),
            "errors": c.error_count(),
            "warnings": c.warning_count(),
            "findings": findings,
        })
    }
}

/// The span of `path`, or of its nearest written ancestor; the `[thing]` table when none is
/// written (a removal from a table the new file no longer has).
fn locate(map: &SourceMap, path: &IrPath) -> Range<usize> {
    map.nearest(path)
        .or_else(|| map.get(&IrPath::of(["thing"])))
        .map_or(0..0, Spans::primary)
}
