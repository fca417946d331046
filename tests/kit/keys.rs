//! Software keys as a test needs them: fresh, with a PIN set elsewhere, and checks of which
//! PIN a key holds.

use ctap::authenticator::Authenticator;
use ctap::soft::{SoftAuthenticator, SoftConfig};

/// A fresh software key (no PIN, no passkey) with this serial number.
pub fn soft_key(serial: u32) -> SoftAuthenticator {
    SoftAuthenticator::new(SoftConfig {
        serial,
        ..SoftConfig::default()
    })
    .unwrap()
}

/// A software key with `pin` already set (a key configured elsewhere).
pub fn key_with_pin(serial: u32, pin: &str) -> SoftAuthenticator {
    let key = soft_key(serial);
    set_pin(&key, pin);
    key
}

/// Sets the first PIN of `key` (which has none), as its owner's tool would.
pub fn set_pin(key: &SoftAuthenticator, pin: &str) {
    let mut ch = ctap::hid::server::in_process(key.clone()).unwrap();
    Authenticator::new(&mut ch).set_pin(pin).unwrap();
}

/// Whether `pin` is the key's PIN, checked the way its owner first uses it: changePIN
/// verifies the current PIN (a pending forced change makes token requests fail before the
/// PIN is even looked at, so they prove nothing). Changes the PIN when it opens.
pub fn pin_opens(key: &SoftAuthenticator, pin: &str) -> bool {
    let mut ch = ctap::hid::server::in_process(key.clone()).unwrap();
    let mut auth = Authenticator::new(&mut ch);
    match auth.change_pin(pin, "73914682") {
        Ok(()) => true,
        Err(ctap::Error::PinInvalid { .. }) => false,
        Err(e) => panic!("unexpected: {e}"),
    }
}

/// Whether `pin` gets a PIN token from a key with no forced change pending (leaves the PIN).
pub fn pin_token_ok(key: &SoftAuthenticator, pin: &str) -> bool {
    let mut ch = ctap::hid::server::in_process(key.clone()).unwrap();
    let mut auth = Authenticator::new(&mut ch);
    match auth.token(
        pin,
        ctap::commands::client_pin::Permissions::MAKE_CREDENTIAL,
        Some("login.microsoft.com"),
    ) {
        Ok(_) => true,
        Err(ctap::Error::PinInvalid { .. }) => false,
        Err(e) => panic!("unexpected: {e}"),
    }
}
