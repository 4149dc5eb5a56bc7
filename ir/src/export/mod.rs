//! Exports of a definition for other tools: JSON Schema (draft 2020-12) of every payload, and
//! W3C WoT Thing Descriptions / Thing Models.
