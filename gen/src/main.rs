//! `safething-gen`: validate SAFEthing thing definitions, generate typed Rust and TypeScript
//! code, and export them.
//!
//! Exit status: 0 on success (warnings go to stderr), 1 on invalid input (every error of every
//! file is printed), 2 on usage errors.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use safething_codegen::compat::CompatReport;
use safething_codegen::export::{self, TdOptions};
use safething_codegen::output::{json_pretty, write_if_changed};
use safething_codegen::{Loaded, Report};
use safething_ir::ThingId;
use safething_ir::naming::snake_from_pascal;

/// Validate SAFEthing thing definitions (TOML), generate typed Rust modules and TypeScript
/// clients from them, write Markdown references, and export them as JSON Schemas and W3C WoT
/// Thing Models / Thing Descriptions.
///
/// Errors are printed as `file:line:col: error[rule]: message` with the offending source.
/// Exit status: 0 success, 1 invalid input, 2 usage error (`diff` has its own, see its help).
#[derive(Debug, Parser)]
#[command(name = "safething-gen", version, max_term_width = 100)]
struct Cli {
    /// When to colour diagnostics: `auto` colours when stderr is a terminal (and NO_COLOR is
    /// unset).
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, global = true, value_name = "WHEN")]
    color: ColorWhen,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate definitions and report every problem.
    ///
    /// Each FILE is parsed and checked; every error of every file is printed as
    /// `file:line:col: error[rule]: message`, with the source line and a hint. Warnings are
    /// printed too but do not fail the check.
    ///
    /// Example: safething-gen check things/*.toml
    Check {
        /// Thing definition files (TOML).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Tell whether NEW breaks the users of OLD: peers, access, generated code, meaning.
    ///
    /// Compares two versions of a definition and prints each finding as
    /// `NEW:line:col: error[rule-id]: message` (warnings for compatible changes worth knowing),
    /// then a summary. Rules are in four categories: wire, access, source and semantic (see
    /// docs/compatibility.md). Inputs (action inputs, written attribute values) may widen but
    /// not narrow; outputs (attribute values, event data, action outputs) may narrow but not
    /// widen.
    ///
    /// Exit status: 1 when there is a breaking change and NEW's version is not a major bump over
    /// OLD's (in 0.x, a minor bump counts as major); 0 otherwise (findings are printed anyway);
    /// 2 on usage errors and unreadable or invalid files.
    ///
    /// Example: safething-gen diff released/thermostat.toml things/thermostat.toml
    Diff {
        /// The released version of the definition (TOML).
        #[arg(value_name = "OLD")]
        old: PathBuf,
        /// The new version of the definition (TOML).
        #[arg(value_name = "NEW")]
        new: PathBuf,
        /// Print a JSON report on stdout instead (shape: docs/compatibility.md).
        #[arg(long)]
        json: bool,
    },
    /// Write typed Rust modules: data types, handler trait, device handle and client.
    ///
    /// Writes `<name>.rs` into DIR for each definition, where `<name>` is the thing name in
    /// snake_case (`GardeningDevice` -> `gardening_device.rs`). Include one in a crate that
    /// depends on `safething` with `mod gardening_device { include!("gardening_device.rs"); }`
    /// (or generate from build.rs with `safething_codegen::Builder`). Files whose content is
    /// unchanged are not touched. Nothing is written if any definition is invalid.
    ///
    /// Example: safething-gen rust things/*.toml -o src/generated/
    Rust {
        /// Thing definition files (TOML).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Output directory (created if missing).
        #[arg(short = 'o', long = "out-dir", value_name = "DIR")]
        out_dir: PathBuf,
    },
    /// Write a TypeScript client SDK: payload types and a typed client class per thing.
    ///
    /// Writes `<name>.ts` into DIR for each definition (`GardeningDevice` ->
    /// `gardening_device.ts`, with `GardeningDeviceClient`), the runtime the modules import under
    /// `DIR/safething/`, and a `DIR/tsconfig.json`: the directory type-checks on its own with
    /// `tsc -p DIR` (strict). Files whose content is unchanged are not touched. Nothing is
    /// written if any definition is invalid.
    ///
    /// Example: safething-gen ts things/*.toml -o web/src/things/
    Ts {
        /// Thing definition files (TOML).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Output directory (created if missing).
        #[arg(short = 'o', long = "out-dir", value_name = "DIR")]
        out_dir: PathBuf,
    },
    /// Write a Markdown reference per thing: its affordances, data types and how to use them.
    ///
    /// Writes `<name>.md` into DIR for each definition (`GardeningDevice` ->
    /// `gardening_device.md`): what the thing is, a table per affordance kind (type, unit,
    /// range, access, writable, history, timeout), the named data types, and how to use each
    /// affordance from the `safething` CLI, the generated Rust client and the generated
    /// TypeScript client. Files whose content is unchanged are not touched. Nothing is written
    /// if any definition is invalid.
    ///
    /// Example: safething-gen docs things/*.toml -o docs/things/
    Docs {
        /// Thing definition files (TOML).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Output directory (created if missing).
        #[arg(short = 'o', long = "out-dir", value_name = "DIR")]
        out_dir: PathBuf,
    },
    /// Write the JSON Schemas (draft 2020-12) of every payload.
    ///
    /// Writes `<name>.schema.json` into DIR for each definition, where `<name>` is the thing
    /// name in snake_case (`GardeningDevice` -> `gardening_device.schema.json`). Files whose
    /// content is unchanged are not touched. Nothing is written if any definition is invalid.
    ///
    /// Example: safething-gen schema things/*.toml -o schemas/
    Schema {
        /// Thing definition files (TOML).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Output directory (created if missing).
        #[arg(short = 'o', long = "out-dir", value_name = "DIR")]
        out_dir: PathBuf,
    },
    /// Print or write the W3C WoT Thing Description 1.1 of one thing instance.
    ///
    /// A Thing Description describes one device: the definition's affordances plus the
    /// instance's id. Written to OUT (only if changed), or to stdout without `-o`.
    ///
    /// Example: safething-gen td things/gardening_device.toml --id garden-01 -o td.json
    Td {
        /// Thing definition file (TOML).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The thing instance's id: 5 to 64 characters of `A-Z a-z 0-9 - _ .`.
        #[arg(long, value_name = "ID", value_parser = parse_id)]
        id: ThingId,
        /// Output file; stdout when absent.
        #[arg(short = 'o', long = "output", value_name = "OUT")]
        output: Option<PathBuf>,
    },
    /// Print or write the W3C WoT Thing Model 1.1 of the thing type.
    ///
    /// A Thing Model describes the thing type, for every instance. Written to OUT (only if
    /// changed), or to stdout without `-o`.
    ///
    /// Example: safething-gen tm things/gardening_device.toml -o gardening_device.tm.json
    Tm {
        /// Thing definition file (TOML).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Output file; stdout when absent.
        #[arg(short = 'o', long = "output", value_name = "OUT")]
        output: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ColorWhen {
    /// Colour when stderr is a terminal.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorWhen {
    fn enabled(self) -> bool {
        match self {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => {
                std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        }
    }
}

fn parse_id(s: &str) -> Result<ThingId, String> {
    ThingId::new(s).map_err(|e| e.to_string())
}

/// Why a command failed; the details have been printed.
struct Failed;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = cli.color.enabled();
    if let Command::Diff { old, new, json } = &cli.command {
        // The findings go to stdout: colour them by stdout's terminal.
        let color_out = match cli.color {
            ColorWhen::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
            other => other.enabled(),
        };
        return diff(old, new, *json, color, color_out);
    }
    match run(cli.command, color) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failed) => ExitCode::from(1),
    }
}

/// `diff`: 1 for an uncovered breaking change, 2 when a file cannot be loaded, else 0.
fn diff(old: &Path, new: &Path, json: bool, color: bool, color_out: bool) -> ExitCode {
    let (Ok(old), Ok(new)) = (load_one(old, color), load_one(new, color)) else {
        return ExitCode::from(2);
    };
    let report = CompatReport::new(&old, &new);
    let text = if json {
        json_pretty(&report.to_json())
    } else {
        report.render(color_out)
    };
    if emit(None, &text).is_err() {
        return ExitCode::from(2);
    }
    if report.fails() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn run(command: Command, color: bool) -> Result<(), Failed> {
    match command {
        // Handled by `main`, which gives it its own exit statuses.
        Command::Diff { .. } => Ok(()),
        Command::Check { files } => {
            let loaded = load_all(&files, color)?;
            let warnings: usize = loaded.iter().map(|l| l.warnings.len()).sum();
            let files = plural(loaded.len(), "definition");
            match warnings {
                0 => eprintln!("{files} checked: no problems"),
                n => eprintln!("{files} checked: {}", plural(n, "warning")),
            }
            Ok(())
        }
        Command::Rust { files, out_dir } => {
            let loaded = load_all(&files, color)?;
            let outputs = outputs(&loaded, &out_dir, "rs")?;
            let mut generated = Vec::new();
            for (path, l) in outputs {
                match safething_codegen::rust::generate(&l.definition) {
                    Ok(code) => generated.push((path, code)),
                    Err(e) => {
                        fail(&format!("{}: {e}", l.source.name));
                        return Err(Failed);
                    }
                }
            }
            for (path, code) in generated {
                write(&path, &code)?;
            }
            Ok(())
        }
        Command::Ts { files, out_dir } => {
            let loaded = load_all(&files, color)?;
            // Checks that no two things share a module name, with the files' names.
            outputs(&loaded, &out_dir, "ts")?;
            let definitions: Vec<&safething_ir::CheckedDefinition> =
                loaded.iter().map(|l| &l.definition).collect();
            let generated = match safething_codegen::ts::generate_dir(&definitions) {
                Ok(files) => files,
                Err(e) => {
                    fail(&e.to_string());
                    return Err(Failed);
                }
            };
            for (relative, text) in generated {
                write(&out_dir.join(relative), &text)?;
            }
            Ok(())
        }
        Command::Docs { files, out_dir } => {
            let loaded = load_all(&files, color)?;
            let mut generated = Vec::new();
            for (path, l) in outputs(&loaded, &out_dir, "md")? {
                match safething_codegen::reference::generate(&l.definition) {
                    Ok(text) => generated.push((path, text)),
                    Err(e) => {
                        fail(&format!("{}: {e}", l.source.name));
                        return Err(Failed);
                    }
                }
            }
            for (path, text) in generated {
                write(&path, &text)?;
            }
            Ok(())
        }
        Command::Schema { files, out_dir } => {
            let loaded = load_all(&files, color)?;
            for (path, l) in outputs(&loaded, &out_dir, "schema.json")? {
                write(&path, &json_pretty(&export::json_schema(&l.definition)))?;
            }
            Ok(())
        }
        Command::Td { file, id, output } => {
            let loaded = load_one(&file, color)?;
            let td = export::thing_description(&loaded.definition, &id, &TdOptions::default());
            emit(output.as_deref(), &json_pretty(&td))
        }
        Command::Tm { file, output } => {
            let loaded = load_one(&file, color)?;
            emit(
                output.as_deref(),
                &json_pretty(&export::thing_model(&loaded.definition)),
            )
        }
    }
}

/// The output file of each definition, `DIR/<thing_name>.<ext>`; fails when two definitions
/// would share one.
fn outputs<'a>(
    loaded: &'a [Loaded],
    out_dir: &Path,
    ext: &str,
) -> Result<BTreeMap<PathBuf, &'a Loaded>, Failed> {
    let mut outputs: BTreeMap<PathBuf, &Loaded> = BTreeMap::new();
    for l in loaded {
        let path = out_dir.join(format!(
            "{}.{ext}",
            snake_from_pascal(&l.definition.thing.name)
        ));
        if let Some(first) = outputs.insert(path.clone(), l) {
            fail(&format!(
                "`{}` and `{}` would both be written to `{}`: their things have the same name",
                first.source.name,
                l.source.name,
                path.display()
            ));
            return Err(Failed);
        }
    }
    Ok(outputs)
}

/// Loads every file and prints every diagnostic of every file; fails if any has an error.
fn load_all(files: &[PathBuf], color: bool) -> Result<Vec<Loaded>, Failed> {
    let mut report = Report::new();
    let mut loaded = Vec::new();
    let mut failed_files = 0;
    for file in files {
        match safething_codegen::load(file) {
            Ok(l) => {
                report.add(&l.source, l.warnings.iter().cloned());
                loaded.push(l);
            }
            Err(e) => {
                failed_files += 1;
                report.add(&e.source, e.diagnostics);
            }
        }
    }
    if !report.diagnostics().is_empty() {
        eprint!("{}", report.render(color));
    }
    if failed_files > 0 {
        fail(&format!(
            "{} invalid: {}",
            plural(failed_files, "definition"),
            report.summary()
        ));
        return Err(Failed);
    }
    Ok(loaded)
}

fn load_one(file: &Path, color: bool) -> Result<Loaded, Failed> {
    let mut loaded = load_all(&[file.to_path_buf()], color)?;
    loaded.pop().ok_or(Failed)
}

fn emit(output: Option<&Path>, text: &str) -> Result<(), Failed> {
    match output {
        Some(path) => write(path, text),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .or_else(|e| {
                    // A closed pipe (`safething-gen td x.toml | head -1`) means nobody wants
                    // the rest: end quietly and successfully, as the coreutils do.
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        return Ok(());
                    }
                    fail(&format!("cannot write to stdout: {e}"));
                    Err(Failed)
                })
        }
    }
}

fn write(path: &Path, text: &str) -> Result<(), Failed> {
    match write_if_changed(path, text) {
        Ok(true) => {
            eprintln!("wrote {}", path.display());
            Ok(())
        }
        Ok(false) => {
            eprintln!("unchanged {}", path.display());
            Ok(())
        }
        Err(e) => {
            fail(&format!("cannot write `{}`: {e}", path.display()));
            Err(Failed)
        }
    }
}

fn fail(message: &str) {
    eprintln!("error: {message}");
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
