//! Owner-only permissions for the state folder and its database files.
//!
//! Conversations are personal data (RGPD, issue 14): with the usual umask (022) the folder
//! would be created 0755 and the files 0644, readable by every local account and by any
//! process that shares the volume. Modes are set explicitly after creation because the mode
//! passed to `mkdir`/`open` is masked by whatever umask the process inherited.

use std::io;
use std::path::{Path, PathBuf};

/// The state folder: only guichet's user may list or enter it.
pub const PRIVATE_DIR_MODE: u32 = 0o700;

/// The database and its companions: only guichet's user may read or write them.
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// The files SQLite keeps beside a database: the WAL, its shared-memory index, and the
/// rollback journal used when WAL is unavailable.
const COMPANION_SUFFIXES: &[&str] = &["-wal", "-shm", "-journal"];

/// Creates `dir` and its missing parents; a folder created here is made owner-only. A folder
/// that already exists keeps its mode (it may be a mount point or shared on purpose; the
/// files inside are owner-only anyway), with a warning when others can read it.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() {
        return Ok(());
    }
    if dir.is_dir() {
        warn_if_shared(dir);
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(PRIVATE_DIR_MODE)
            .create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(PRIVATE_DIR_MODE))?;
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)?;
    Ok(())
}

/// Creates the database file owner-only if it does not exist yet, so that it is never
/// readable by others, not even between its creation and [`restrict_database_files`].
pub fn create_private_file(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(PRIVATE_FILE_MODE)
            .open(path)
        {
            // An empty file is a valid empty SQLite database.
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(error),
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Makes the database at `path` and every companion file that exists owner-only. SQLite
/// creates the WAL and shared-memory files later with the database file's own mode, so they
/// stay owner-only once the database is. Returns the file that could not be changed.
pub fn restrict_database_files(path: &Path) -> Result<(), (PathBuf, io::Error)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut files = vec![path.to_owned()];
        files.extend(COMPANION_SUFFIXES.iter().map(|suffix| {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        }));
        for file in files {
            match std::fs::set_permissions(
                &file,
                std::fs::Permissions::from_mode(PRIVATE_FILE_MODE),
            ) {
                Ok(()) => {}
                // Companions come and go with checkpoints and journal modes.
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err((file, error)),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (path, COMPANION_SUFFIXES);
    Ok(())
}

fn warn_if_shared(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = std::fs::metadata(dir)
            && metadata.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                path = %dir.display(),
                mode = format_args!("{:o}", metadata.permissions().mode() & 0o777),
                "the state folder is open to other users; its files are owner-only, \
                 but `chmod 700` it to hide them entirely"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_state_folder_is_owner_only() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data").join("state");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        // Created again: nothing changes, nothing fails.
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
    }

    #[test]
    fn an_existing_folder_keeps_its_mode() {
        let root = tempfile::tempdir().unwrap();
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir(root.path()).unwrap();
        assert_eq!(mode(root.path()), 0o755);
    }

    #[test]
    fn a_new_file_is_owner_only_and_an_existing_one_untouched() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("state.sqlite");
        create_private_file(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        std::fs::write(&path, b"kept").unwrap();
        create_private_file(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"kept");
    }
}
