//! The known-things store: the keys of things met before, kept across runs, as ssh keeps
//! `known_hosts`.
//!
//! Trust on first use is only as good as the first use. Pins that live inside one client make
//! every run of a console a first contact, where an impostor that answers first is believed; a
//! store on disk makes only the very first contact count, and turns a later change of key into
//! a loud error instead of a silent switch.
//!
//! # Format
//!
//! UTF-8 text, one thing per line: its id, one or more spaces or tabs, its public key as
//! [`PublicKey`] prints it (`st` and 52 base32 characters). Blank lines and lines starting
//! with `#` are ignored. An id appears at most once.
//!
//! ```text
//! # safething known things
//! garden-01 stb3xk7...
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::identity::PublicKey;
use safething_ir::ThingId;

/// The header written at the top of a new store.
const HEADER: &str =
    "# SAFEthing known things: <thing id> <public key>, one per line (see `safething forget`)";

/// Errors of the known-things store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KnownThingsError {
    /// The file could not be read or written.
    #[error("known things file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// A line that is not `<thing id> <public key>`, or an id seen twice.
    #[error("{path}:{line}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}

/// Where a known key came from, for messages that tell the user how to change it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownKey {
    /// The key.
    pub key: PublicKey,
    /// Its line in the file (from 1), `None` when added by this process.
    pub line: Option<usize>,
}

/// The keys of things met before, loaded from and saved to one file.
#[derive(Debug)]
pub struct KnownThings {
    path: PathBuf,
    things: BTreeMap<ThingId, KnownKey>,
}

impl KnownThings {
    /// `$XDG_CONFIG_HOME/safething/known_things`, else `~/.config/safething/known_things`;
    /// `None` without either variable.
    pub fn default_path() -> Option<PathBuf> {
        crate::identity::config_dir().map(|dir| dir.join("known_things"))
    }

    /// Loads the store at `path`; a file that does not exist yet is an empty store.
    pub fn open(path: impl Into<PathBuf>) -> Result<KnownThings, KnownThingsError> {
        let path = path.into();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(KnownThingsError::Io { path, source }),
        };
        let things = parse(&path, &text)?;
        Ok(KnownThings { path, things })
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The key known for `id`.
    pub fn get(&self, id: &ThingId) -> Option<&KnownKey> {
        self.things.get(id)
    }

    /// Every known thing, by id.
    pub fn iter(&self) -> impl Iterator<Item = (&ThingId, &KnownKey)> {
        self.things.iter()
    }

    /// Records `key` for `id` and saves the file (atomically). Replaces an earlier key: call
    /// this only for a key the user accepted or for a thing not known before.
    pub fn remember(&mut self, id: &ThingId, key: PublicKey) -> Result<(), KnownThingsError> {
        self.things.insert(id.clone(), KnownKey { key, line: None });
        self.save()
    }

    /// Forgets `id` (its next contact is a first contact again) and saves the file; whether it
    /// was known.
    pub fn forget(&mut self, id: &ThingId) -> Result<bool, KnownThingsError> {
        let known = self.things.remove(id).is_some();
        if known {
            self.save()?;
        }
        Ok(known)
    }

    fn save(&self) -> Result<(), KnownThingsError> {
        let mut text = format!("{HEADER}\n");
        for (id, known) in &self.things {
            text.push_str(&format!("{id} {}\n", known.key));
        }
        crate::private_file::replace(&self.path, text.as_bytes()).map_err(|source| {
            KnownThingsError::Io {
                path: self.path.clone(),
                source,
            }
        })
    }
}

fn parse(path: &Path, text: &str) -> Result<BTreeMap<ThingId, KnownKey>, KnownThingsError> {
    let mut things = BTreeMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let malformed = |reason: String| KnownThingsError::Malformed {
            path: path.to_owned(),
            line,
            reason,
        };
        let content = raw.trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let mut fields = content.split_whitespace();
        let (Some(id), Some(key), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err(malformed("expected `<thing id> <public key>`".to_owned()));
        };
        let id = ThingId::new(id).map_err(|e| malformed(e.to_string()))?;
        let key: PublicKey = key.parse().map_err(|e| malformed(format!("{e}")))?;
        if let Some(first) = things.insert(
            id.clone(),
            KnownKey {
                key,
                line: Some(line),
            },
        ) {
            return Err(malformed(format!(
                "`{id}` is already known (line {})",
                first.line.unwrap_or_default()
            )));
        }
    }
    Ok(things)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;

    fn key() -> PublicKey {
        Identity::generate()
            .map(|i| *i.public_key())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn id(text: &str) -> ThingId {
        ThingId::new(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn remembers_across_loads_and_forgets() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("sub").join("known_things");
        let mut store = KnownThings::open(&path).expect("empty");
        let (a, b) = (key(), key());
        store.remember(&id("garden-01"), a).expect("saved");
        store.remember(&id("lamp-01"), b).expect("saved");
        let again = KnownThings::open(&path).expect("loaded");
        assert_eq!(again.get(&id("garden-01")).map(|k| k.key), Some(a));
        assert_eq!(
            again.get(&id("lamp-01")).map(|k| (k.key, k.line)),
            Some((b, Some(3)))
        );
        let mut again = again;
        assert!(again.forget(&id("garden-01")).expect("saved"));
        assert!(!again.forget(&id("garden-01")).expect("nothing to save"));
        let last = KnownThings::open(&path).expect("loaded");
        assert!(last.get(&id("garden-01")).is_none());
        assert_eq!(last.iter().count(), 1);
    }

    #[test]
    fn malformed_lines_are_located() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("known_things");
        let k = key();
        for (text, line, says) in [
            ("# c\n\ngarden-01\n".to_owned(), 3, "expected"),
            (
                format!("garden-01 {k}\ngarden-01 {k}\n"),
                2,
                "already known (line 1)",
            ),
            ("x nope\n".to_owned(), 1, "thing id"),
            ("garden-01 stnope\n".to_owned(), 1, "public key"),
            (format!("garden-01 {k} extra\n"), 1, "expected"),
        ] {
            std::fs::write(&path, &text).expect("write");
            let e = KnownThings::open(&path).expect_err(&text);
            let shown = e.to_string();
            assert!(
                shown.starts_with(&format!("{}:{line}: ", path.display())) && shown.contains(says),
                "{text:?}: {shown}"
            );
        }
    }
}
