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
    /// Two ids: the thing id (`--thing-id`, key-safe, where the device lives in the key space)
    /// and the TD's `id` (`--id`, a URI). `--id garden-01` (no `:`) is the thing id, and the TD
    /// `id` is `urn:safething:thing:garden-01`. `--id urn:dev:ops:32473-Lamp-1234` (a URI) is
    /// the TD `id`; the thing id is `--thing-id`, or else the URI's last part after `:` or `/`.
    ///
    /// Example: safething-gen td things/gardening_device.toml --id garden-01 -o td.json
    Td {
        /// Thing definition file (TOML).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The TD's `id`: a URI, or a thing id (5 to 64 characters of `A-Z a-z 0-9 - _ .`).
        #[arg(long, value_name = "ID", required_unless_present = "thing_id", value_parser = parse_td_id)]
        id: Option<String>,
        /// The thing instance's id in the key space: 5 to 64 characters of `A-Z a-z 0-9 - _ .`.
        #[arg(long, value_name = "THING_ID", value_parser = parse_id)]
        thing_id: Option<ThingId>,
        /// The TD's `base` (default `safething://<thing-id>/`).
        #[arg(long, value_name = "URI")]
        base: Option<String>,
        /// URI of the thing's Thing Model: adds a `links` entry with `rel: "type"`.
        #[arg(long, value_name = "URI")]
        tm_href: Option<String>,
        /// The device's public key (`st...`, the `key=` of its claim URI): written as
        /// `safething:publicKey` and into every security definition, so consumers such as the
        /// node-wot binding refuse answers signed by any other key.
        #[arg(long, value_name = "KEY", value_parser = parse_public_key)]
        public_key: Option<String>,
        /// Output file; stdout when absent.
        #[arg(short = 'o', long = "output", value_name = "OUT")]
        output: Option<PathBuf>,
    },
    /// Import W3C WoT Thing Descriptions or Thing Models as definitions (TOML).
    ///
    /// Writes `<name>.toml` into DIR for each FILE (`MyLampThing` -> `my_lamp_thing.toml`),
    /// with a leading comment listing what was dropped (forms, security, semantic annotations)
    /// and why. Names become snake_case, the originals are kept as `wot_name`/`wotName` so
    /// that `td`/`tm` give them back. Thing Models: `tm:ref`, `tm:extends` and `tm:submodel`
    /// are resolved over local files relative to FILE (never the network), `{{PLACEHOLDERS}}`
    /// take values from `--placeholder` and `--placeholders`. What the definition format
    /// cannot express is an error naming its JSON pointer. Nothing is written if any FILE fails.
    ///
    /// Example: safething-gen import lamp.td.json -o things/ --access group
    Import {
        /// Thing Description or Thing Model files (JSON).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Output directory (created if missing).
        #[arg(short = 'o', long = "out-dir", value_name = "DIR")]
        out_dir: PathBuf,
        /// Access of every imported affordance: all, group, owner or thing.
        #[arg(long, value_name = "ACCESS", default_value = "owner", value_parser = parse_access)]
        access: safething_ir::Access,
        /// A placeholder's value, `NAME=VALUE` (repeatable).
        #[arg(long = "placeholder", value_name = "NAME=VALUE", value_parser = parse_placeholder)]
        placeholders: Vec<(String, String)>,
        /// A JSON file of placeholder values: `{"NAME": value, ...}`.
        #[arg(long = "placeholders", value_name = "FILE")]
        placeholder_file: Option<PathBuf>,
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

/// `--public-key`: `st` and 52 base32 characters (lowercase), the form the runtime prints. The
/// generator does not depend on the runtime, so it checks the form, not the curve point: a
/// consumer that pins a malformed key refuses every answer, never accepts a wrong one.
fn parse_public_key(s: &str) -> Result<String, String> {
    match s.strip_prefix("st") {
        Some(body)
            if body.len() == 52
                && body
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)) =>
        {
            Ok(s.to_owned())
        }
        _ => Err(format!(
            "`{}` is not a SAFEthing public key (expected `st` and 52 base32 characters)",
            s.chars().take(80).collect::<String>()
        )),
    }
}

/// `--id`: a URI (it has a scheme: letters, digits, `+-.`, then `:`) or a thing id.
fn parse_td_id(s: &str) -> Result<String, String> {
    match s.split_once(':') {
        Some((scheme, rest))
            if !rest.is_empty()
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && !s.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Ok(s.to_owned())
        }
        Some(_) => Err(format!("`{s}` is neither a URI nor a thing id")),
        None => ThingId::new(s)
            .map(|_| s.to_owned())
            .map_err(|e| e.to_string()),
    }
}

fn parse_access(s: &str) -> Result<safething_ir::Access, String> {
    s.parse().map_err(|e: safething_ir::UnknownAccess| {
        format!("{e}: {}", safething_ir::UnknownAccess::HELP)
    })
}

fn parse_placeholder(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("`{s}` is not NAME=VALUE")),
    }
}

/// The thing id and the TD `id` from `--id` and `--thing-id` (see `Command::Td`).
fn td_ids(
    id: Option<String>,
    thing_id: Option<ThingId>,
) -> Result<(ThingId, Option<String>), String> {
    match (id, thing_id) {
        (None, Some(t)) => Ok((t, None)),
        (Some(id), thing_id) if !id.contains(':') => {
            let from_id = ThingId::new(&id).map_err(|e| format!("--id `{id}`: {e}"))?;
            match thing_id {
                Some(t) if t != from_id => Err(format!(
                    "--id `{id}` is a thing id, and --thing-id `{}` another: give the TD id as a URI",
                    t.as_str()
                )),
                _ => Ok((from_id, None)),
            }
        }
        (Some(uri), Some(t)) => Ok((t, Some(uri))),
        (Some(uri), None) => {
            let last = uri.rsplit([':', '/']).next().unwrap_or_default();
            let safe: String = last
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            let t = ThingId::new(&safe).map_err(|e| {
                format!("no thing id in --id `{uri}` (`{safe}`: {e}): give one with --thing-id")
            })?;
            Ok((t, Some(uri)))
        }
        (None, None) => Err("give --id or --thing-id".into()),
    }
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
        Command::Td {
            file,
            id,
            thing_id,
            base,
            tm_href,
            public_key,
            output,
        } => {
            let (thing_id, td_id) = match td_ids(id, thing_id) {
                Ok(ids) => ids,
                // A usage error: exit status 2, as clap's own.
                Err(e) => {
                    clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("{e}\n"))
                        .exit()
                }
            };
            let loaded = load_one(&file, color)?;
            let options = TdOptions {
                id: td_id,
                base,
                thing_model: tm_href,
                public_key,
                ..TdOptions::default()
            };
            let td = export::thing_description(&loaded.definition, &thing_id, &options);
            emit(output.as_deref(), &json_pretty(&td))
        }
        Command::Import {
            files,
            out_dir,
            access,
            placeholders,
            placeholder_file,
        } => import(
            &files,
            &out_dir,
            access,
            placeholders,
            placeholder_file.as_deref(),
        ),
        Command::Tm { file, output } => {
            let loaded = load_one(&file, color)?;
            emit(
                output.as_deref(),
                &json_pretty(&export::thing_model(&loaded.definition)),
            )
        }
    }
}

fn import(
    files: &[PathBuf],
    out_dir: &Path,
    access: safething_ir::Access,
    placeholders: Vec<(String, String)>,
    placeholder_file: Option<&Path>,
) -> Result<(), Failed> {
    use safething_codegen::import::{ImportOptions, import_file};
    let mut values = BTreeMap::new();
    if let Some(path) = placeholder_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            fail(&format!("cannot read `{}`: {e}", path.display()));
            Failed
        })?;
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(map)) => values.extend(map),
            _ => {
                fail(&format!(
                    "`{}` is not a JSON object of placeholder values",
                    path.display()
                ));
                return Err(Failed);
            }
        }
    }
    for (k, v) in placeholders {
        values.insert(k, serde_json::Value::String(v));
    }
    let options = ImportOptions {
        access,
        placeholders: values,
    };
    let mut written: BTreeMap<PathBuf, (&Path, String)> = BTreeMap::new();
    let mut failed = false;
    for file in files {
        match import_file(file, &options) {
            Ok(imported) => {
                let path = out_dir.join(format!(
                    "{}.toml",
                    snake_from_pascal(&imported.definition.thing.name)
                ));
                if let Some((first, _)) = written.get(&path) {
                    fail(&format!(
                        "`{}` and `{}` would both be written to `{}`: their things have the same name",
                        first.display(),
                        file.display(),
                        path.display()
                    ));
                    failed = true;
                    continue;
                }
                written.insert(path, (file, imported.toml));
            }
            Err(e) => {
                fail(&e.to_string());
                failed = true;
            }
        }
    }
    if failed {
        return Err(Failed);
    }
    for (path, (_, text)) in written {
        write(&path, &text)?;
    }
    Ok(())
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
