//! The build-script API, in prost-build's shape:
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), safething_codegen::BuildError> {
//!     safething_codegen::Builder::new().compile(&["things/gardening_device.toml"])
//! }
//! ```
//!
//! ```ignore
//! // src/lib.rs or src/main.rs
//! safething::include_thing!(pub mod gardening_device);
//! ```
//!
//! [`Builder::compile`] writes `<thing_name>.rs` (snake_case) into `OUT_DIR` — only files whose
//! contents changed — and prints `cargo:rerun-if-changed` for exactly the files it read and
//! `cargo:warning` for the definitions' warnings. [`Builder::generate`] does the same work
//! without touching the disk or printing anything. [`Builder::check_compatible`] adds the
//! breaking-change check of `safething-gen diff` against the released definitions:
//!
//! ```no_run
//! // build.rs: fail the build on a breaking change the version does not announce
//! fn main() -> Result<(), safething_codegen::BuildError> {
//!     safething_codegen::Builder::new()
//!         .check_compatible("released/")
//!         .compile(&["things/gardening_device.toml"])
//! }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use safething_ir::naming::snake_from_pascal;

use crate::compat::CompatReport;
use crate::load::{LoadError, Loaded, load};
use crate::report::Report;
use crate::rust::{self, GenError};

/// Why a build step failed. Its `Display` — and its `Debug`, which is what a build script's
/// `main` prints when it returns the error — shows every diagnostic as the CLI does
/// (`file:line:col: error[rule]: message`, the source line, a hint).
#[non_exhaustive]
pub enum BuildError {
    /// Definitions with errors: every diagnostic of every file.
    Definitions(Vec<LoadError>),
    /// Two definitions would be written to the same file: their things have the same name.
    SameName {
        /// The first definition file.
        first: PathBuf,
        /// The second one.
        second: PathBuf,
        /// The output file name they share.
        file: String,
    },
    /// The generator failed on a (valid) definition.
    Generate {
        /// The definition file.
        path: PathBuf,
        /// What went wrong.
        error: GenError,
    },
    /// Neither [`Builder::out_dir`] nor the `OUT_DIR` environment variable says where to write.
    NoOutDir,
    /// Breaking changes against the baseline (see [`Builder::check_compatible`]) that the
    /// version bump does not cover: every finding of every such definition.
    Incompatible(Vec<CompatReport>),
    /// Writing an output file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Definitions(errors) => {
                let mut report = Report::new();
                for e in errors {
                    report.add(&e.source, e.diagnostics.iter().cloned());
                }
                write!(f, "{}", report.render(false))?;
                write!(f, "error: invalid thing definitions: {}", report.summary())
            }
            BuildError::SameName {
                first,
                second,
                file,
            } => write!(
                f,
                "`{}` and `{}` would both be generated as `{file}`: their things have the same name",
                first.display(),
                second.display()
            ),
            BuildError::Generate { path, error } => write!(f, "{}: {error}", path.display()),
            BuildError::NoOutDir => f.write_str(
                "OUT_DIR is not set: call Builder::compile from a build script (build.rs), \
                 or set the output directory with Builder::out_dir",
            ),
            BuildError::Incompatible(reports) => {
                for r in reports {
                    write!(f, "{}", r.render(false))?;
                }
                write!(
                    f,
                    "error: breaking changes without a major version bump in {} \
                     (bump the version, or update the baseline)",
                    reports
                        .iter()
                        .map(|r| format!("`{}`", r.new.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            BuildError::Io { path, error } => {
                write!(f, "cannot write `{}`: {error}", path.display())
            }
        }
    }
}

/// The same text as `Display`: a build script that returns the error from `main` prints
/// `Debug`, and should show readable diagnostics.
impl fmt::Debug for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Generate { error, .. } => Some(error),
            BuildError::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Generates typed Rust modules from thing definitions in a build script.
#[derive(Clone, Debug)]
pub struct Builder {
    out_dir: Option<PathBuf>,
    cargo_directives: bool,
    baseline: Option<PathBuf>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

/// What [`Builder::generate`] produced, with the warnings of the definitions.
struct Generated {
    files: BTreeMap<String, String>,
    warnings: Vec<String>,
}

impl Builder {
    /// A builder writing into `OUT_DIR`, printing cargo directives.
    pub fn new() -> Builder {
        Builder {
            out_dir: None,
            cargo_directives: true,
            baseline: None,
        }
    }

    /// Checks every definition against its released version: the file of the same name in
    /// `baseline_dir`, when there is one (a definition without one is new and not checked).
    /// Breaking changes (see [`compat`](crate::compat)) fail the build with the findings unless
    /// the new `version` is a major bump over the baseline's (0.x: a minor bump); warnings
    /// become `cargo:warning`s. [`compile`](Self::compile) prints `cargo:rerun-if-changed` for
    /// each baseline file it reads, and for the directory (so that adding one reruns it).
    pub fn check_compatible(mut self, baseline_dir: impl Into<PathBuf>) -> Builder {
        self.baseline = Some(baseline_dir.into());
        self
    }

    /// Writes into `dir` instead of `OUT_DIR`.
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.out_dir = Some(dir.into());
        self
    }

    /// Whether [`compile`](Self::compile) prints `cargo:rerun-if-changed` and `cargo:warning`
    /// lines (default: yes).
    pub fn cargo_directives(mut self, print: bool) -> Builder {
        self.cargo_directives = print;
        self
    }

    /// What [`compile`](Self::compile) prints `cargo:rerun-if-changed` for: every definition,
    /// and with [`check_compatible`](Self::check_compatible) every baseline file it reads and
    /// the baseline directory (a baseline added there reruns the build script).
    pub fn rerun_if_changed<P: AsRef<Path>>(&self, paths: &[P]) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = paths.iter().map(|p| p.as_ref().to_path_buf()).collect();
        if let Some(dir) = &self.baseline {
            out.extend(baseline_files(dir, paths));
            if dir.is_dir() {
                out.push(dir.clone());
            }
        }
        out
    }

    /// Loads every definition and generates its module: `<thing_name>.rs` -> contents. Reads
    /// the files, writes and prints nothing. Fails with every error of every file.
    pub fn generate<P: AsRef<Path>>(
        &self,
        paths: &[P],
    ) -> Result<BTreeMap<String, String>, BuildError> {
        generate_all(paths, self.baseline.as_deref()).map(|g| g.files)
    }

    /// Generates every definition's module into the output directory (files are written only
    /// when their contents change), printing `cargo:rerun-if-changed` for every file read —
    /// also when one of them is invalid, so that fixing it reruns the build script.
    pub fn compile<P: AsRef<Path>>(&self, paths: &[P]) -> Result<(), BuildError> {
        if self.cargo_directives {
            for path in self.rerun_if_changed(paths) {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
        let out_dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or(BuildError::NoOutDir)?,
        };
        let generated = generate_all(paths, self.baseline.as_deref())?;
        if self.cargo_directives {
            for warning in &generated.warnings {
                println!("cargo:warning={warning}");
            }
        }
        for (file, contents) in &generated.files {
            let path = out_dir.join(file);
            crate::output::write_if_changed(&path, contents)
                .map_err(|error| BuildError::Io { path, error })?;
        }
        Ok(())
    }
}

/// The baseline file of each definition that has one: `dir/<file name>`.
fn baseline_files<P: AsRef<Path>>(dir: &Path, paths: &[P]) -> Vec<PathBuf> {
    paths
        .iter()
        .filter_map(|p| p.as_ref().file_name())
        .map(|name| dir.join(name))
        .filter(|p| p.is_file())
        .collect()
}

/// Compares each definition with its baseline; fails with the reports that break without a
/// major bump, else returns the warnings (of every comparison) as lines.
fn check_baseline(dir: &Path, loaded: &[(PathBuf, Loaded)]) -> Result<Vec<String>, BuildError> {
    let mut failing = Vec::new();
    let mut invalid = Vec::new();
    let mut warnings = Vec::new();
    for (path, new) in loaded {
        let Some(name) = path.file_name() else {
            continue;
        };
        let baseline = dir.join(name);
        if !baseline.is_file() {
            continue;
        }
        let old = match load(&baseline) {
            Ok(old) => old,
            Err(e) => {
                invalid.push(e);
                continue;
            }
        };
        let report = CompatReport::new(&old, new);
        if report.fails() {
            failing.push(report);
        } else {
            warnings.extend(report.located.iter().map(|l| {
                format!(
                    "{}:{}:{}: {}[{}]: {}",
                    report.new.name,
                    l.line,
                    l.col,
                    if l.finding.is_error() {
                        "error"
                    } else {
                        "warning"
                    },
                    l.finding.rule,
                    l.finding.message
                )
            }));
        }
    }
    if !invalid.is_empty() {
        return Err(BuildError::Definitions(invalid));
    }
    if !failing.is_empty() {
        return Err(BuildError::Incompatible(failing));
    }
    Ok(warnings)
}

fn generate_all<P: AsRef<Path>>(
    paths: &[P],
    baseline: Option<&Path>,
) -> Result<Generated, BuildError> {
    let mut loaded: Vec<(PathBuf, Loaded)> = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match load(path) {
            Ok(l) => loaded.push((path.as_ref().to_path_buf(), l)),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(BuildError::Definitions(errors));
    }
    let mut files = BTreeMap::new();
    let mut sources: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut warnings = match baseline {
        Some(dir) => check_baseline(dir, &loaded)?,
        None => Vec::new(),
    };
    for (path, l) in loaded {
        warnings.extend(l.warnings.iter().map(|w| w.to_string()));
        let file = format!("{}.rs", snake_from_pascal(&l.definition.thing.name));
        if let Some(first) = sources.get(&file) {
            return Err(BuildError::SameName {
                first: first.clone(),
                second: path,
                file,
            });
        }
        let code = rust::generate(&l.definition).map_err(|error| BuildError::Generate {
            path: path.clone(),
            error,
        })?;
        sources.insert(file.clone(), path);
        files.insert(file, code);
    }
    Ok(Generated { files, warnings })
}

/// [`Builder::new`]`.generate(paths)`.
pub fn generate<P: AsRef<Path>>(paths: &[P]) -> Result<BTreeMap<String, String>, BuildError> {
    Builder::new().generate(paths)
}

/// [`Builder::new`]`.compile(paths)`.
pub fn compile<P: AsRef<Path>>(paths: &[P]) -> Result<(), BuildError> {
    Builder::new().compile(paths)
}
