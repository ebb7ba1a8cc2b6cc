//! Files at rest: the data folder (0700), the SQLite database (0600, and
//! with it SQLite's `-wal` and `-shm` files, which take the database file's
//! mode) and the master key file (0600, a regular file owned by the server's
//! user, never followed through a symbolic link).

use std::io::Read;
use std::path::Path;

/// The key file is 44 bytes of base64; anything much longer is not one.
const KEY_FILE_MAX_BYTES: u64 = 1024;

/// Creates `dir` (and its missing parents) readable by the server's user only.
/// A folder that already exists is left as it is, with a warning if others can enter it.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if !dir.exists() {
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        } else if std::fs::metadata(dir)?.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %dir.display(), "the data folder can be entered by other users; chmod 700 it");
        }
        Ok(())
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// Creates an empty file readable by the server's user only, unless it exists.
pub fn create_private_file(path: &Path) -> std::io::Result<()> {
    match create_private_file_new(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates an empty private file (mode 0600); fails if anything is there already.
pub fn create_private_file_new(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(drop)
}

/// Writes a new private file (mode 0600); refuses to replace an existing one.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// Reads a secret file: `None` if there is none. The checks are made on the
/// opened file, so the file checked is the file read.
pub fn read_private(path: &Path) -> Result<Option<String>, String> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(
                "is a symbolic link; put the key file itself there (mode 600, owned by the server's user)".into()
            );
        }
        Err(e) => return Err(e.to_string()),
    };
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.file_type().is_file() {
        return Err(
            "is not a regular file; put the key file itself there (mode 600, owned by the server's user)".into()
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Err(format!(
                "is owned by user {} but the server runs as user {me}; run chown on it or start the server as its owner",
                meta.uid()
            ));
        }
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(format!("is readable by other users (mode {:o}); run chmod 600 on it", mode & 0o777));
        }
    }
    let mut text = String::new();
    file.take(KEY_FILE_MAX_BYTES).read_to_string(&mut text).map_err(|e| e.to_string())?;
    Ok(Some(text))
}
