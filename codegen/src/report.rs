//! Diagnostics tied to source files, and their rendering for humans.
//!
//! Each diagnostic is rendered as a `file:line:col: error[rule]: message` header (the form
//! editors and CI logs link), followed by the source snippet with a caret under the offending
//! part and a `help:` line when there is something useful to say.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label, Severity as CsSeverity};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, Config, termcolor};
use safething_ir::{IrPath, Rule, Severity};

/// A source file: its name (as shown in messages) and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// The name shown in diagnostics, usually the path as given.
    pub name: String,
    /// The text (a file that is not UTF-8 is kept with replacement characters).
    pub text: Arc<str>,
}

impl SourceFile {
    /// A file from its name and text.
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> SourceFile {
        SourceFile {
            name: name.into(),
            text: text.into(),
        }
    }

    /// The 1-based line and column (in characters) of byte `offset`.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let text = &*self.text;
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = before.matches('\n').count() + 1;
        let col = text[line_start..offset].chars().count() + 1;
        (line, col)
    }
}

/// One problem, located in a source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceDiagnostic {
    /// The file's name, as in [`SourceFile::name`].
    pub file: String,
    /// 1-based line; 0 when the problem has no place in the file (it could not be read).
    pub line: usize,
    /// 1-based column, in characters; 0 with `line`.
    pub col: usize,
    /// The byte range pointed at, when there is one.
    pub span: Option<Range<usize>>,
    /// Error or warning.
    pub severity: Severity,
    /// The rule that found it; `None` for problems outside the definition (I/O).
    pub rule: Option<Rule>,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is something useful to say.
    pub help: Option<String>,
    /// The IR path it is about, when it is about one.
    pub path: Option<IrPath>,
}

impl SourceDiagnostic {
    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// A located diagnostic from an IR diagnostic and the span it maps to in `file`.
    pub fn from_ir(
        file: &SourceFile,
        diagnostic: safething_ir::Diagnostic,
        span: Range<usize>,
    ) -> SourceDiagnostic {
        let (line, col) = file.line_col(span.start);
        SourceDiagnostic {
            file: file.name.clone(),
            line,
            col,
            span: Some(span),
            severity: diagnostic.severity,
            rule: Some(diagnostic.rule),
            message: diagnostic.message,
            help: diagnostic.help,
            path: (!diagnostic.path.is_root()).then_some(diagnostic.path),
        }
    }

    /// An error about a file as a whole (it could not be read, ...).
    pub fn file_error(file: impl Into<String>, message: impl Into<String>) -> SourceDiagnostic {
        SourceDiagnostic {
            file: file.into(),
            line: 0,
            col: 0,
            span: None,
            severity: Severity::Error,
            rule: None,
            message: message.into(),
            help: None,
            path: None,
        }
    }

    fn level(&self) -> &'static str {
        match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// The one-line form: `file:line:col: error[rule]: message`.
impl fmt::Display for SourceDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.col)?;
        }
        write!(f, ": {}", self.level())?;
        if let Some(rule) = self.rule {
            write!(f, "[{rule}]")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Diagnostics of one or more files, rendered together.
#[derive(Clone, Debug, Default)]
pub struct Report {
    files: Vec<SourceFile>,
    diagnostics: Vec<SourceDiagnostic>,
}

impl Report {
    /// An empty report.
    pub fn new() -> Report {
        Report::default()
    }

    /// Adds a file and its diagnostics (a file added twice keeps its first text).
    pub fn add(
        &mut self,
        file: &SourceFile,
        diagnostics: impl IntoIterator<Item = SourceDiagnostic>,
    ) {
        if !self.files.iter().any(|f| f.name == file.name) {
            self.files.push(file.clone());
        }
        self.diagnostics.extend(diagnostics);
    }

    /// Every diagnostic, in the order added.
    pub fn diagnostics(&self) -> &[SourceDiagnostic] {
        &self.diagnostics
    }

    /// How many errors.
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// How many warnings.
    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }

    /// A summary such as `2 errors, 1 warning`.
    pub fn summary(&self) -> String {
        let plural = |n: usize, what: &str| {
            if n == 1 {
                format!("1 {what}")
            } else {
                format!("{n} {what}s")
            }
        };
        format!(
            "{}, {}",
            plural(self.error_count(), "error"),
            plural(self.warning_count(), "warning")
        )
    }

    /// Renders every diagnostic: header, snippet with caret, help. ANSI colours only when
    /// `color` is true.
    pub fn render(&self, color: bool) -> String {
        let entries: Vec<Entry<'_>> = self
            .diagnostics
            .iter()
            .map(|d| Entry {
                file: &d.file,
                line: d.line,
                col: d.col,
                span: d.span.clone(),
                severity: d.severity,
                rule: d.rule.map(Rule::name),
                message: &d.message,
                help: d.help.as_deref(),
            })
            .collect();
        render_entries(&self.files, &entries, color)
    }
}

/// What rendering needs of one located problem: definition diagnostics and compatibility
/// findings (whose rule names are not validation [`Rule`]s) render alike.
pub(crate) struct Entry<'a> {
    pub(crate) file: &'a str,
    pub(crate) line: usize,
    pub(crate) col: usize,
    pub(crate) span: Option<Range<usize>>,
    pub(crate) severity: Severity,
    pub(crate) rule: Option<&'a str>,
    pub(crate) message: &'a str,
    pub(crate) help: Option<&'a str>,
}

impl Entry<'_> {
    fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    fn level(&self) -> &'static str {
        match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// Renders `entries` against `files`: header, snippet with caret, help.
pub(crate) fn render_entries(
    files_in: &[SourceFile],
    entries: &[Entry<'_>],
    color: bool,
) -> String {
    let mut files = SimpleFiles::new();
    let ids: Vec<(String, usize)> = files_in
        .iter()
        .map(|f| (f.name.clone(), files.add(f.name.clone(), f.text.clone())))
        .collect();
    let config = Config::default();
    let mut out = String::new();
    for d in entries {
        header(&mut out, d, color);
        let id = ids
            .iter()
            .find(|(name, _)| *name == d.file)
            .map(|(_, id)| *id);
        let snippet = match (id, &d.span) {
            (Some(id), Some(span)) => snippet(&files, id, span.clone(), d, &config, color),
            _ => None,
        };
        match snippet {
            Some(s) => {
                out.push_str(s.trim_end());
                out.push('\n');
            }
            None => {
                if let Some(help) = &d.help {
                    out.push_str(&format!("  = help: {help}\n"));
                }
            }
        }
        out.push('\n');
    }
    out
}

const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const RESET: &str = "\x1b[0m";

fn header(out: &mut String, d: &Entry<'_>, color: bool) {
    if !color {
        out.push_str(d.file);
        if d.line > 0 {
            out.push_str(&format!(":{}:{}", d.line, d.col));
        }
        out.push_str(&format!(": {}", d.level()));
        if let Some(rule) = d.rule {
            out.push_str(&format!("[{rule}]"));
        }
        out.push_str(&format!(": {}\n", d.message));
        return;
    }
    let level_color = if d.is_error() { RED } else { YELLOW };
    out.push_str(BOLD);
    out.push_str(d.file);
    if d.line > 0 {
        out.push_str(&format!(":{}:{}", d.line, d.col));
    }
    out.push_str(&format!(": {RESET}{level_color}{}", d.level()));
    if let Some(rule) = d.rule {
        out.push_str(&format!("[{rule}]"));
    }
    out.push_str(&format!("{RESET}{BOLD}: {}{RESET}\n", d.message));
}

/// The source snippet (without codespan's own header line), or `None` if it cannot be drawn.
fn snippet(
    files: &SimpleFiles<String, Arc<str>>,
    id: usize,
    span: Range<usize>,
    d: &Entry<'_>,
    config: &Config,
    color: bool,
) -> Option<String> {
    let severity = if d.is_error() {
        CsSeverity::Error
    } else {
        CsSeverity::Warning
    };
    let notes = d.help.iter().map(|h| format!("help: {h}")).collect();
    let diagnostic = CsDiagnostic::new(severity)
        .with_labels(vec![Label::primary(id, span)])
        .with_notes(notes);
    let text = if color {
        let mut buffer = termcolor::Buffer::ansi();
        term::emit_to_write_style(&mut buffer, config, files, &diagnostic).ok()?;
        String::from_utf8_lossy(buffer.as_slice()).into_owned()
    } else {
        let mut text = String::new();
        term::emit_to_string(&mut text, config, files, &diagnostic).ok()?;
        text
    };
    // Drop codespan's header line: ours carries the location.
    let (_, rest) = text.split_once('\n')?;
    Some(rest.to_owned())
}
