//! The JSON Schema of the definition format itself (what editors use to check TOML files).
