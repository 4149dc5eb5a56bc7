//! SAFEthing runtime.
#![forbid(unsafe_code)]
pub use safething_ir as ir;
