//! Files that hold secrets (identities, device state): written atomically and privately, and
//! refused when others can read them.
//!
//! A secret file must never be observable half-written, never be readable by other users — not
//! even for a moment while it is written — and never be redirected by a file an attacker placed
//! beside it. So every write goes to a fresh temporary name created exclusively (`O_EXCL`, which
//! also refuses to follow a symbolic link planted under that name) with mode 0600, is synced,
//! and then moved into place; the directory is synced so that the move survives a power cut.

use std::fs::{File, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};

/// Replaces `path` with `bytes`, atomically: readers see the old file or the new one, never a
/// mix. The new file has mode 0600 whatever was there before.
pub(crate) fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temporary = write_temporary(path, bytes)?;
    let moved = std::fs::rename(&temporary, path);
    if moved.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    moved?;
    sync_parent(path)
}

/// Creates `path` holding `bytes`, failing with [`ErrorKind::AlreadyExists`] when it exists.
/// The file appears complete or not at all.
pub(crate) fn create_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temporary = write_temporary(path, bytes)?;
    // A hard link, unlike a rename, fails when the target exists.
    let linked = std::fs::hard_link(&temporary, path);
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => sync_parent(path),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(e),
        // A file system without hard links: create the file in place instead.
        Err(_) => {
            write_exclusive(path, bytes)?;
            sync_parent(path)
        }
    }
}

/// Fails unless `path` is a regular file that only its user can read or write.
pub(crate) fn check_private(path: &Path) -> Result<(), NotPrivate> {
    let meta = std::fs::metadata(path).map_err(NotPrivate::Io)?;
    if !meta.is_file() {
        return Err(NotPrivate::NotAFile);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(NotPrivate::Mode(mode));
        }
    }
    Ok(())
}

/// Why [`check_private`] refused a file.
#[derive(Debug)]
pub(crate) enum NotPrivate {
    /// It could not be inspected.
    Io(io::Error),
    /// It is a directory or a device, not a file.
    NotAFile,
    /// Others may read or write it (its permission bits).
    Mode(u32),
}

/// Writes `bytes` to a new, uniquely named file next to `path` and returns its name.
fn write_temporary(path: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| io::Error::other(e.to_string()))?;
    let temporary = dir.unwrap_or(Path::new("")).join(format!(
        ".{name}.{}.tmp",
        data_encoding::HEXLOWER.encode(&nonce)
    ));
    if let Err(e) = write_exclusive(&temporary, bytes) {
        // Only a file this call created is removed: `AlreadyExists` means someone else's.
        if e.kind() != ErrorKind::AlreadyExists {
            let _ = std::fs::remove_file(&temporary);
        }
        return Err(e);
    }
    Ok(temporary)
}

/// Creates `path` exclusively with mode 0600 and writes and syncs `bytes`.
fn write_exclusive(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes a new directory entry durable.
fn sync_parent(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0)
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[cfg(unix)]
    #[test]
    fn attack_planted_temporary_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("thing.state");
        // The fixed temporary name of old (`thing.tmp`), planted as a symlink to a file the
        // attacker can read, and a world-readable file beside it.
        let stolen = dir.path().join("stolen");
        std::os::unix::fs::symlink(&stolen, dir.path().join("thing.tmp")).expect("link");
        let planted = dir.path().join(".thing.state.tmp");
        std::fs::write(&planted, "attacker").expect("plant");
        std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        replace(&path, b"secret").expect("saved");
        assert_eq!(mode(&path), 0o600);
        assert!(!stolen.exists(), "the write followed a planted symlink");
        assert_eq!(std::fs::read(&planted).expect("planted"), b"attacker");
        check_private(&path).expect("private");
    }

    #[cfg(unix)]
    #[test]
    fn replacing_a_readable_file_leaves_a_private_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("thing.state");
        std::fs::write(&path, "old").expect("old");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(matches!(check_private(&path), Err(NotPrivate::Mode(0o644))));
        replace(&path, b"new").expect("saved");
        assert_eq!(std::fs::read(&path).expect("read"), b"new");
        assert_eq!(mode(&path), 0o600);
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }

    #[test]
    fn create_new_never_replaces() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("me.key");
        create_new(&path, b"first").expect("created");
        let again = create_new(&path, b"second").expect_err("exists");
        assert_eq!(again.kind(), ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).expect("read"), b"first");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("sub").join("thing.state");
        replace(&path, b"old").expect("saved");
        // The directory becomes unusable: a file where it was.
        std::fs::remove_dir_all(dir.path().join("sub")).expect("rm");
        std::fs::write(dir.path().join("sub"), "not a dir").expect("file");
        assert!(replace(&path, b"new").is_err());
        assert!(matches!(
            check_private(dir.path()),
            Err(NotPrivate::NotAFile)
        ));
    }
}
