//! Files that hold secrets must be readable by the station's user alone: `configs.json` (it may
//! hold the client secret), the certificate's private key and the operator passcode file. One
//! check for the kiosk's start-up checks and the headless commands' warning on stderr.

use std::path::{Path, PathBuf};

use super::passcode::passcode_file;
use crate::config::{Config, Credential};
use crate::engine::api::{Check, CheckKind};

/// The secret-holding files of `config` that exist.
pub fn secret_files(config: &Config) -> Vec<PathBuf> {
    let mut files = vec![config.path.clone()];
    if let Credential::Certificate { private_key, .. } = &config.credential {
        files.push(private_key.clone());
    }
    files.push(passcode_file(&config.path));
    files.into_iter().filter(|f| f.exists()).collect()
}

/// One warning per file of `files` that group or others may read, with the remedy.
pub fn readable_by_others(files: &[PathBuf]) -> Vec<String> {
    files.iter().filter_map(|f| warning(f)).collect()
}

/// [`readable_by_others`] for the files of `config`.
pub fn config_warnings(config: &Config) -> Vec<String> {
    readable_by_others(&secret_files(config))
}

/// The kiosk's start-up check: failed (with the files and the remedy) when one is readable by
/// group or others.
pub fn startup_check(config: &Config) -> Check {
    let loose = config_warnings(config);
    Check {
        kind: CheckKind::SecretFileModes,
        ok: loose.is_empty(),
        detail: if loose.is_empty() {
            "ok".into()
        } else {
            loose.join("; ")
        },
    }
}

/// A file root owns and only the station's own group may read is as private as owner-only: the
/// installed layout (`/etc/passkey-kiosk`, 0640 root:passkey-kiosk), written by the
/// administrator and read by the station's service user.
#[cfg(unix)]
fn warning(path: &Path) -> Option<String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::metadata(path).ok()?;
    let mode = meta.permissions().mode() & 0o777;
    let stations_group = meta.uid() == 0 && meta.gid() == rustix::process::getegid().as_raw();
    let loose = mode & 0o004 != 0 || (mode & 0o040 != 0 && !stations_group);
    loose.then(|| {
        format!(
            "{} is readable by {} (mode {mode:03o}): an administrator makes it owner-only (`chmod 600 {}`)",
            path.display(),
            match (mode & 0o040 != 0, mode & 0o004 != 0) {
                (true, true) => "its group and by others",
                (true, false) => "its group",
                _ => "others",
            },
            path.display()
        )
    })
}

#[cfg(not(unix))]
fn warning(_path: &Path) -> Option<String> {
    None
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn files_readable_by_group_or_others_are_named_with_the_remedy() {
        let dir = tempfile::tempdir().unwrap();
        let set = |name: &str, mode: u32| {
            let p = dir.path().join(name);
            std::fs::write(&p, "x").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            p
        };
        let files = vec![
            set("configs.json", 0o644),
            set("key.pem", 0o640),
            set("operator-passcode.phc", 0o600),
        ];
        let root = rustix::process::geteuid().is_root();
        if root {
            // Another group than the station's: daemon's.
            rustix::fs::chown(&files[1], None, Some(rustix::fs::Gid::from_raw(1))).unwrap();
        }
        let warnings = readable_by_others(&files);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("configs.json is readable by its group and by others (mode 644)")
        );
        assert!(warnings[0].contains("chmod 600"));
        assert!(warnings[1].contains("key.pem is readable by its group (mode 640)"));

        // The installed layout: root's file, readable by the station's own group.
        if root {
            let installed = set("installed.json", 0o640);
            rustix::fs::chown(&installed, None, Some(rustix::process::getegid())).unwrap();
            assert!(readable_by_others(&[installed]).is_empty());
        }
    }
}
