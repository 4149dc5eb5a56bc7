//! `safething-codegen`: the TOML front end of SAFEthing, its diagnostics, the W3C WoT import
//! ([`import`]: Thing Descriptions and Thing Models to definition TOML), the Rust generator
//! ([`rust`], with the schema-to-Rust mapping table), the build-script [`Builder`], and the
//! `safething-gen` command line.
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), safething_codegen::BuildError> {
//!     safething_codegen::Builder::new().compile(&["things/gardening_device.toml"])
//! }
//! ```
//!
//! Loading a definition on its own:
//!
//! ```no_run
//! match safething_codegen::load("things/gardening_device.toml") {
//!     Ok(loaded) => eprint!("{}", loaded.render_warnings(false)),
//!     Err(e) => eprint!("{}", e.render(false)),
//! }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "toml")]
mod build;
pub mod compat;
pub mod docs;
#[cfg(feature = "toml")]
pub mod import;
#[cfg(feature = "toml")]
mod load;
pub mod output;
#[cfg(feature = "ts")]
pub mod reference;
#[cfg(feature = "toml")]
mod report;
pub mod rust;
#[cfg(feature = "toml")]
pub mod toml;
#[cfg(feature = "ts")]
pub mod ts;

#[cfg(feature = "toml")]
pub use build::{BuildError, Builder, compile, generate};
#[cfg(feature = "toml")]
pub use load::{LoadError, Loaded, load, load_str};
#[cfg(feature = "toml")]
pub use report::{Report, SourceDiagnostic, SourceFile};
pub use safething_ir::export;
