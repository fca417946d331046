//! `keysRegistered.csv`: the proof of concept's step-2 output, one row per issued key.
//!
//! Header exactly `#upn,entraIDAuthMethodObjectId,serialNumber,PIN`. The PIN column holds a
//! random PIN the station set (empty otherwise), so the file is created 0600 and rows are
//! appended and flushed as each key finishes: an interrupted run keeps what it did.

use std::io::Write;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// The exact header of the proof of concept.
pub const HEADER: [&str; 4] = ["#upn", "entraIDAuthMethodObjectId", "serialNumber", "PIN"];

/// One issued key.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRow {
    /// The user's UPN.
    pub upn: String,
    /// Graph's fido2AuthenticationMethod id.
    pub method_id: String,
    /// Key serial number, empty when the key does not report one.
    pub serial: String,
    /// The random PIN set by the station; `None` when the operator or user chose it.
    pub pin: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for KeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRow")
            .field("upn", &self.upn)
            .field("method_id", &self.method_id)
            .field("serial", &self.serial)
            .field("pin", &self.pin.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Appends rows to a keysRegistered.csv, writing the header when the file is new or empty.
pub struct KeysRegisteredFile {
    path: PathBuf,
}

impl KeysRegisteredFile {
    /// Targets `path`; nothing is created until the first row.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Where rows go.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one row (and the header first if needed), then syncs it to disk.
    pub fn append(&self, row: &KeyRow) -> std::io::Result<()> {
        let mut file = crate::owner_only::append(&self.path)?;
        let needs_header = file.metadata()?.len() == 0;
        let mut buf = Vec::new();
        {
            let mut w = csv::WriterBuilder::new().from_writer(&mut buf);
            if needs_header {
                w.write_record(HEADER)?;
            }
            let pin = row.pin.as_ref().map_or("", |p| p.as_str());
            w.write_record([row.upn.as_str(), &row.method_id, &row.serial, pin])?;
            w.flush()?;
        }
        let buf = Zeroizing::new(buf);
        file.write_all(&buf)?;
        file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_with_header_once_and_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let f = KeysRegisteredFile::new(dir.path().join("keysRegistered.csv"));
        f.append(&KeyRow {
            upn: "a@x".into(),
            method_id: "m1".into(),
            serial: "123".into(),
            pin: Some(Zeroizing::new("480213".into())),
        })
        .unwrap();
        f.append(&KeyRow {
            upn: "b@x".into(),
            method_id: "m2".into(),
            serial: String::new(),
            pin: None,
        })
        .unwrap();
        let text = std::fs::read_to_string(f.path()).unwrap();
        assert_eq!(
            text,
            "#upn,entraIDAuthMethodObjectId,serialNumber,PIN\na@x,m1,123,480213\nb@x,m2,,\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(f.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn debug_hides_the_pin() {
        let row = KeyRow {
            upn: "a@x".into(),
            method_id: "m".into(),
            serial: String::new(),
            pin: Some(Zeroizing::new("480213".into())),
        };
        assert!(!format!("{row:?}").contains("480213"));
    }
}
