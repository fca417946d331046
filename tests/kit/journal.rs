//! The journal as tests prepare and read it.

/// Makes every audit write to the journal at `journal` fail (created and migrated first), as
/// a full disk or a read-only file would.
pub fn disable_audit(journal: &std::path::Path) {
    drop(passkey_kiosk::store::Journal::open(journal).unwrap());
    rusqlite::Connection::open(journal)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER no_audit BEFORE INSERT ON audit
             BEGIN SELECT RAISE(ABORT, 'audit disabled by test'); END;",
        )
        .unwrap();
}
