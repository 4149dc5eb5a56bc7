//! Loading definition files: read, parse, lower, validate, and locate every diagnostic.

use std::fmt;
use std::path::Path;

use safething_ir::{CheckedDefinition, Rule, Severity};

use crate::report::{Report, SourceDiagnostic, SourceFile};

/// A definition that loaded without errors.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The validated definition.
    pub definition: CheckedDefinition,
    /// Warnings worth showing (the definition is usable).
    pub warnings: Vec<SourceDiagnostic>,
    /// The file it came from.
    pub source: SourceFile,
    /// Where each part of the definition is written in the file (for diagnostics that are
    /// found later, such as compatibility findings).
    pub source_map: crate::toml::SourceMap,
}

impl Loaded {
    /// The warnings, rendered (see [`Report::render`]); empty when there are none.
    pub fn render_warnings(&self, color: bool) -> String {
        let mut report = Report::new();
        report.add(&self.source, self.warnings.iter().cloned());
        report.render(color)
    }
}

/// A definition file that could not be loaded: every diagnostic (errors and warnings).
#[derive(Clone, Debug)]
pub struct LoadError {
    /// The file (empty text when it could not be read).
    pub source: SourceFile,
    /// Every problem found, in source order; at least one is an error.
    pub diagnostics: Vec<SourceDiagnostic>,
}

impl LoadError {
    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &SourceDiagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    /// Every diagnostic rendered with snippets (see [`Report::render`]).
    pub fn render(&self, color: bool) -> String {
        let mut report = Report::new();
        report.add(&self.source, self.diagnostics.iter().cloned());
        report.render(color)
    }
}

/// One `file:line:col: error[rule]: message` line per diagnostic.
impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// Loads a definition file. The file name in diagnostics is `path` as given.
pub fn load(path: impl AsRef<Path>) -> Result<Loaded, LoadError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    // An oversized file is refused by its length, without reading it.
    if let Ok(meta) = std::fs::metadata(path) {
        let len = usize::try_from(meta.len()).unwrap_or(usize::MAX);
        if let Err(e) = safething_ir::Limits::DEFAULT.check_bytes(len) {
            let source = SourceFile::new(name, "");
            let located = SourceDiagnostic::from_ir(&source, crate::toml::too_large(e), 0..0);
            return Err(LoadError {
                source,
                diagnostics: vec![located],
            });
        }
    }
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            return Err(LoadError {
                source: SourceFile::new(name.clone(), ""),
                diagnostics: vec![SourceDiagnostic::file_error(
                    name,
                    format!("cannot read the file: {e}"),
                )],
            });
        }
    };
    match String::from_utf8(bytes) {
        Ok(text) => load_str(&name, &text),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let source = SourceFile::new(name, text);
            // The lossy text equals the original up to `at`, where a replacement character
            // (3 bytes) stands for the invalid sequence.
            let end = (at + '\u{FFFD}'.len_utf8()).min(source.text.len());
            let diagnostic = safething_ir::Diagnostic::error(
                Rule::Syntax,
                safething_ir::IrPath::root(),
                format!("the file is not valid UTF-8 (invalid byte at offset {at})"),
            )
            .with_help("definition files are UTF-8 text; re-save the file as UTF-8");
            let located = SourceDiagnostic::from_ir(&source, diagnostic, at..end);
            Err(LoadError {
                source,
                diagnostics: vec![located],
            })
        }
    }
}

/// Loads a definition from its text; `name` is the file name shown in diagnostics.
pub fn load_str(name: &str, source: &str) -> Result<Loaded, LoadError> {
    let file = SourceFile::new(name, source);
    let parsed = crate::toml::parse(source);
    let source_map = parsed.source_map;
    let diagnostics: Vec<SourceDiagnostic> = parsed
        .problems
        .into_iter()
        .map(|p| SourceDiagnostic::from_ir(&file, p.diagnostic, p.span))
        .collect();
    if diagnostics.iter().any(SourceDiagnostic::is_error) {
        return Err(LoadError {
            source: file,
            diagnostics,
        });
    }
    let Some(definition) = parsed.checked else {
        // Without a syntax error, validation always runs: no checked definition and no error
        // would be a bug of the front end, reported rather than hidden.
        let diagnostic = safething_ir::Diagnostic::error(
            Rule::Syntax,
            safething_ir::IrPath::root(),
            "the definition was not validated (a bug in the TOML front end)",
        );
        return Err(LoadError {
            diagnostics: vec![SourceDiagnostic::from_ir(&file, diagnostic, 0..0)],
            source: file,
        });
    };
    let warnings = diagnostics
        .into_iter()
        .filter(|d| d.severity == Severity::Warning)
        .collect();
    Ok(Loaded {
        definition,
        warnings,
        source: file,
        source_map,
    })
}
