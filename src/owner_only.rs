//! Files that may hold a secret (PINs, the passcode hash, the client secret) are created
//! readable by the station's user alone (0600), and an existing one is tightened to 0600
//! before anything is written to it: `mode` applies only when the file is created.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Opens `path` with `options`, owner-only.
pub fn open(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        options.open(path)
    }
}

/// Opens `path` for appending, creating it when missing.
pub fn append(path: &Path) -> io::Result<File> {
    open(path, OpenOptions::new().create(true).append(true))
}

/// Replaces `path`'s content with `text`.
pub fn write(path: &Path, text: &str) -> io::Result<()> {
    write_bytes(path, text.as_bytes())
}

/// Replaces `path`'s content with `bytes`, then syncs it to disk.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = open(
        path,
        OpenOptions::new().write(true).create(true).truncate(true),
    )?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &std::path::Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_files_are_owner_only_and_existing_ones_are_tightened_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("fresh");
        super::write(&fresh, "secret").unwrap();
        assert_eq!(mode(&fresh), 0o600);

        let loose = dir.path().join("loose");
        std::fs::write(&loose, "old").unwrap();
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
        super::append(&loose).unwrap();
        assert_eq!(mode(&loose), 0o600);
        assert_eq!(std::fs::read_to_string(&loose).unwrap(), "old");

        super::write(&loose, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&loose).unwrap(), "new");
    }
}
