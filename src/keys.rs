//! What the station knows about an inserted key, and whether it can be issued.
//!
//! Shared by `devices`, `key info`, and step 1 of the enrollment workflow.

use std::fmt;

use ctap::authenticator::Authenticator;
use ctap::device::DeviceDescriptor;
use ctap::CtapChannel;

/// A key's identity and PIN state, as shown to the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySummary {
    /// Where it is (`hid:…`, `udp:…`, `pcsc:…`).
    pub address: String,
    /// A card on a PC/SC reader (NFC or contact): user presence is holding it on the reader.
    pub card: bool,
    /// Model: the USB product string (the AAGUID identifies it exactly).
    pub model: String,
    /// AAGUID as a UUID string.
    pub aaguid: String,
    /// Versions as the key reports them (FIDO_2_0, FIDO_2_1, …).
    pub versions: Vec<String>,
    /// firmwareVersion, when reported.
    pub firmware: Option<u64>,
    /// Serial number (YubiKey vendor command or USB string).
    pub serial: Option<String>,
    /// Whether the key supports PINs at all, and whether one is set.
    pub pin: PinState,
    /// PIN retries left, when a PIN is set.
    pub pin_retries: Option<u32>,
    /// Minimum PIN length the key enforces.
    pub min_pin_length: u32,
    /// A forced PIN change is pending.
    pub force_pin_change: bool,
    /// Resident (discoverable) credentials supported.
    pub resident_keys: bool,
    /// setMinPINLength + forceChangePin available.
    pub supports_min_pin_length: bool,
}

/// The clientPin option of getInfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinState {
    /// The key has no PIN support.
    Unsupported,
    /// Supported, not set.
    NotSet,
    /// Set.
    Set,
}

/// Why the built-in software key is refused outside the demo, and what to do instead.
pub const TEST_KEY_REFUSAL: &str = "this is the built-in software test key: its attestation key \
is published, so a passkey on it protects nothing; issue a real security key (for training \
against `passkey-kiosk fake-tenant` only, set \"allowTestKeys\": true in configs.json)";

impl KeySummary {
    /// Whether this is the built-in software key (`soft-key`, the demo's keys): it reports the
    /// test AAGUID, which no real key model uses. Read from getInfo, before anything is written.
    pub fn is_test_key(&self) -> bool {
        self.aaguid == ctap::commands::get_info::uuid_string(&ctap::soft::TEST_AAGUID)
    }

    /// Why this key cannot be issued, if it cannot (Entra needs a discoverable credential
    /// protected by a PIN).
    pub fn refusal(&self) -> Option<String> {
        if !self.resident_keys {
            return Some(
                "this key cannot store passkeys (no resident-key support): use another model"
                    .into(),
            );
        }
        if self.pin == PinState::Unsupported {
            return Some("this key has no PIN support (clientPin): use another model".into());
        }
        if self.pin_retries == Some(0) {
            return Some(
                "this key's PIN is blocked: reset the key (key reset) before issuing it".into(),
            );
        }
        None
    }
}

/// Why a key that reports no serial may not be given to someone else, from the passkeys on it
/// (credential management, read with the PIN the operator typed); `None` when it holds none.
///
/// Any discoverable credential counts, not only Entra's (`login.microsoft.com`): whoever
/// receives the key and its PIN can use every passkey on it, so a key still holding anyone's
/// passkey is re-issued only through a reset, which erases them.
pub fn in_use_refusal(
    stored: &ctap::commands::credential_management::StoredCredentials,
) -> Option<String> {
    if stored.count == 0 {
        return None;
    }
    let rps = if stored.rp_ids.is_empty() {
        String::new()
    } else {
        format!(" (for {})", stored.rp_ids.join(", "))
    };
    Some(format!(
        "this key reports no serial number and already holds {} passkey{}{rps}: it is still \
         someone's, and whoever gets its PIN could use them",
        stored.count,
        if stored.count == 1 { "" } else { "s" }
    ))
}

/// Reads getInfo, PIN retries and the serial of an open key.
pub fn inspect(desc: &DeviceDescriptor, channel: &mut dyn CtapChannel) -> ctap::Result<KeySummary> {
    let serial = ctap::device::read_serial(desc, channel)?;
    let mut auth = Authenticator::new(channel);
    let info = auth.get_info()?.clone();
    let pin = match info.option("clientPin") {
        None => PinState::Unsupported,
        Some(false) => PinState::NotSet,
        Some(true) => PinState::Set,
    };
    let pin_retries = if pin == PinState::Set {
        Some(auth.pin_retries()?)
    } else {
        None
    };
    let aaguid = info.aaguid_string();
    let model = if desc.product.is_empty() {
        "unknown model".to_string()
    } else {
        desc.product.clone()
    };
    Ok(KeySummary {
        address: desc.address.to_string(),
        card: desc.is_pcsc(),
        model,
        aaguid,
        versions: info.versions.clone(),
        firmware: info.firmware_version,
        serial,
        pin,
        pin_retries,
        min_pin_length: info.min_pin_length_or_default(),
        force_pin_change: info.force_pin_change,
        resident_keys: info.option("rk") == Some(true),
        supports_min_pin_length: info.option("setMinPINLength") == Some(true),
    })
}

impl fmt::Display for KeySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}  {}", self.address, self.model)?;
        writeln!(f, "  AAGUID              {}", self.aaguid)?;
        writeln!(f, "  versions            {}", self.versions.join(", "))?;
        if let Some(fw) = self.firmware {
            writeln!(f, "  firmware            {fw} (0x{fw:06X})")?;
        }
        writeln!(
            f,
            "  serial              {}",
            self.serial.as_deref().unwrap_or("(none reported)")
        )?;
        let pin = match (self.pin, self.pin_retries) {
            (PinState::Unsupported, _) => "not supported".to_string(),
            (PinState::NotSet, _) => "not set".to_string(),
            (PinState::Set, Some(r)) => format!("set, {r} retries left"),
            (PinState::Set, None) => "set".to_string(),
        };
        writeln!(f, "  PIN                 {pin}")?;
        writeln!(f, "  min PIN length      {}", self.min_pin_length)?;
        writeln!(
            f,
            "  forced PIN change   {}",
            if self.force_pin_change {
                "pending"
            } else {
                "no"
            }
        )?;
        writeln!(
            f,
            "  passkeys (rk)       {}",
            if self.resident_keys { "yes" } else { "no" }
        )?;
        write!(
            f,
            "  setMinPINLength     {}",
            if self.supports_min_pin_length {
                "yes"
            } else {
                "no"
            }
        )?;
        if let Some(why) = self.refusal() {
            write!(f, "\n  NOT SUITABLE        {why}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctap::commands::credential_management::StoredCredentials;

    #[test]
    fn a_key_holding_any_passkey_is_in_use() {
        assert_eq!(in_use_refusal(&StoredCredentials::default()), None);
        let one = StoredCredentials {
            count: 1,
            rp_ids: vec!["github.com".into()],
        };
        let why = in_use_refusal(&one).expect("in use");
        assert!(why.contains("1 passkey (for github.com):"), "{why}");
        let two = StoredCredentials {
            count: 2,
            rp_ids: vec!["login.microsoft.com".into(), "github.com".into()],
        };
        let why = in_use_refusal(&two).expect("in use");
        assert!(
            why.contains("2 passkeys (for login.microsoft.com, github.com):"),
            "{why}"
        );
    }
}
