//! Checks of the machine the station runs on, without Graph: secret-file modes, access to the
//! FIDO keys present and to pcscd, and a writable journal folder with room. One implementation for the
//! kiosk's start-up checks and `doctor`.

use std::path::Path;

use ctap::device::DeviceSpec;

use crate::config::Config;
use crate::engine::api::{Check, CheckKind};

/// Below this much free space on the journal's file system the station stops being safe to
/// use: a full disk stops the write-ahead journal, and with it every enrollment.
pub const MIN_FREE_BYTES: u64 = 200 * 1024 * 1024;

/// The checks for a station taking keys from `keys` (`None`: the demo's software keys).
pub fn run(config: &Config, keys: Option<&DeviceSpec>) -> Vec<Check> {
    let mut checks = vec![super::file_modes::startup_check(config)];
    if let Some(spec) = keys {
        if spec.is_pcsc() {
            checks.push(card_readers());
        } else {
            checks.push(key_access(spec));
        }
    }
    checks.push(journal_space(&config.journal_path));
    checks
}

/// Every FIDO key present can be opened by this user (the udev rule and group are in place).
fn key_access(spec: &DeviceSpec) -> Check {
    let check = |ok: bool, detail: String| Check {
        kind: CheckKind::KeyAccess,
        ok,
        detail,
    };
    if matches!(spec, DeviceSpec::Udp { .. }) {
        return check(true, format!("{spec}: a simulator, no device to open"));
    }
    let keys = match ctap::device::list(spec) {
        Ok(keys) => keys,
        Err(e) => return check(false, format!("the security keys cannot be listed: {e}")),
    };
    let refused: Vec<String> = keys
        .iter()
        .filter_map(|d| match ctap::device::open(d) {
            Ok(_) => None,
            Err(e) => Some(format!("{}: {e}", d.address)),
        })
        .collect();
    if refused.is_empty() {
        check(
            true,
            match keys.len() {
                0 => "no key plugged in now; keys are opened as they come".into(),
                n => format!("{n} key(s) present, each can be opened"),
            },
        )
    } else {
        check(
            false,
            format!(
                "{}: an administrator installs the package's udev rule (FIDO hidraw devices to \
                 the passkey-kiosk group) and adds the station's user to that group",
                refused.join("; ")
            ),
        )
    }
}

/// pcscd answers (the station takes cards).
fn card_readers() -> Check {
    #[cfg(feature = "pcsc")]
    let (ok, detail) = match ctap::nfc::pcsc::ReaderWatch::new() {
        Ok(Some(watch)) => {
            let readers = watch.readers();
            (
                true,
                if readers.is_empty() {
                    "pcscd answers; no reader connected now".to_string()
                } else {
                    readers
                        .iter()
                        .map(|r| r.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            )
        }
        Ok(None) => (
            false,
            "pcscd is not running: an administrator enables it (systemctl enable --now \
             pcscd.socket)"
                .to_string(),
        ),
        Err(e) => (false, e.to_string()),
    };
    #[cfg(not(feature = "pcsc"))]
    let (ok, detail) = (
        false,
        "this build has no PC/SC support (built without the `pcsc` feature)".to_string(),
    );
    Check {
        kind: CheckKind::CardReaders,
        ok,
        detail,
    }
}

/// The journal's folder has room for the write-ahead journal.
fn journal_space(journal: &Path) -> Check {
    let dir = journal
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let free = rustix::fs::statvfs(dir).map(|s| s.f_bavail.saturating_mul(s.f_frsize));
    let writable = rustix::fs::access(dir, rustix::fs::Access::WRITE_OK).is_ok();
    let (ok, detail) = match free {
        Ok(_) if !writable => (
            false,
            format!(
                "{} is not writable by the station's user: an administrator gives it the                  folder (the package's /var/lib/passkey-kiosk is)",
                dir.display()
            ),
        ),
        Ok(free) if free >= MIN_FREE_BYTES => (
            true,
            format!("{} MB free in {}", free / (1024 * 1024), dir.display()),
        ),
        Ok(free) => (
            false,
            format!(
                "only {} MB free in {}: an administrator frees space (the journal needs at \
                 least {} MB to keep every enrollment safe)",
                free / (1024 * 1024),
                dir.display(),
                MIN_FREE_BYTES / (1024 * 1024)
            ),
        ),
        Err(e) => (
            false,
            format!(
                "{} cannot be examined ({e}): an administrator creates it, writable by the \
                 station's user",
                dir.display()
            ),
        ),
    };
    Check {
        kind: CheckKind::DiskSpace,
        ok,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_journal_folder_fails_with_the_remedy_and_an_existing_one_passes() {
        let dir = tempfile::tempdir().unwrap();
        let ok = journal_space(&dir.path().join("j.sqlite"));
        assert_eq!(ok.kind, CheckKind::DiskSpace);
        assert!(ok.ok, "{ok:?}");
        assert!(ok.detail.contains("MB free"), "{ok:?}");
        let missing = journal_space(&dir.path().join("nope/j.sqlite"));
        assert!(!missing.ok);
        assert!(
            missing.detail.contains("an administrator creates it"),
            "{missing:?}"
        );
    }

    #[test]
    fn no_key_present_is_fine_and_says_so() {
        let c = key_access(&DeviceSpec::AllHid);
        assert!(c.ok, "{c:?}");
        assert!(c.detail.contains("no key plugged in"), "{c:?}");
    }
}
