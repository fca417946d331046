//! `configs.json`: the proof of concept's keys, read unchanged, plus our optional ones.
//!
//! Every problem names the key, the value found and what is allowed, so an administrator can
//! fix the file without reading code. Secrets never appear in an error or in `Debug`.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use graph::{ApiVersion, Cloud};
use serde_json::Value;
use zeroize::Zeroizing;

/// Environment variable that overrides `journalUrl`.
pub const JOURNAL_URL_ENV: &str = "PASSKEY_KIOSK_JOURNAL_URL";

/// The longest `stationName` (it is shown on claims and in every audit entry).
pub const MAX_STATION_NAME: usize = 64;

/// Environment variable that may hold the client secret instead of the file.
pub const SECRET_ENV: &str = "PASSKEY_KIOSK_CLIENT_SECRET";

/// A secret string: zeroized on drop, printed as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: String) -> Self {
        Secret(Zeroizing::new(value))
    }
    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How the app proves its identity to Entra ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// `client_secret` from the file or from [`SECRET_ENV`].
    Secret(Secret),
    /// `clientCertificate`: a signed client assertion (what Microsoft recommends).
    Certificate {
        /// PEM certificate path.
        certificate: PathBuf,
        /// PEM private-key path.
        private_key: PathBuf,
    },
    /// `operatorSignIn: "delegated"`: no app credential on the station (a public client); Graph
    /// is called with the token of the operator who signed in with the device code.
    Delegated,
}

/// `operatorSignIn`: how operators sign in at the kiosk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OperatorSignIn {
    /// `app-only` (default): operator name + the station's local passcode; Graph is called with
    /// the app's identity (client secret or certificate).
    #[default]
    AppOnly,
    /// `delegated`: the operator signs in to Entra ID with the device code and Graph is called
    /// with their own rights (Authentication Administrator); no app secret on the station.
    Delegated,
}

/// Where a random PIN is handed to its person, which decides when the journal forgets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PinHandover {
    /// Headless `enroll`: keysRegistered.csv is the delivery; purged once the row is written.
    #[default]
    Csv,
    /// The kiosk shows it on screen; purged when the operator confirms it was handed over.
    OnScreen,
}

/// `pinDelivery`: how a random PIN reaches its person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinDelivery {
    /// `screen`: shown at the station (the kiosk's default); headless `enroll` prints it on
    /// the terminal.
    Screen,
    /// `letter`: a PDF letter per person (`enroll` writes one file each; the kiosk prints
    /// one on demand with `letter.printCommand`). The PIN is not in keysRegistered.csv.
    Letter,
    /// `csv`: the PIN column of keysRegistered.csv (headless `enroll`'s default).
    Csv,
}

/// `pinRetentionHours` when the config says nothing.
pub const DEFAULT_PIN_RETENTION_HOURS: u32 = 24;

/// Idle lock when the config says nothing.
pub const DEFAULT_IDLE_LOCK_MINUTES: u32 = 5;

/// Which group holds the people to enroll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupRef {
    /// `usersInScopeGroup`: display name (must match exactly one group).
    Name(String),
    /// `usersInScopeGroupId`: object id.
    Id(String),
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where it was read from (the journal lives next to it by default).
    pub path: PathBuf,
    /// `tenantName`: tenant domain or GUID.
    pub tenant: String,
    /// `client_id`: application (client) id.
    pub client_id: String,
    /// Secret or certificate.
    pub credential: Credential,
    /// Scope group.
    pub group: GroupRef,
    /// `includeNestedGroups`: members of nested groups too (transitiveMembers).
    pub include_nested_groups: bool,
    /// `challengeTimeoutInMinutes` (5..43200, beta only).
    pub challenge_timeout_minutes: u32,
    /// `deleteExistingUserFIDOCredentials`: remove a user's older keys after the new one is registered.
    pub delete_existing_credentials: bool,
    /// `useRandomPIN`.
    pub use_random_pin: bool,
    /// `useCTAP21Features`: setMinPINLength + forceChangePin after registration.
    pub use_ctap21_features: bool,
    /// `cloud` or explicit base URLs (`loginBaseUrl` + `graphBaseUrl`).
    pub cloud: Cloud,
    /// `graphApiVersion`: beta (long challenges) or v1.0 (5-minute challenges).
    pub graph_api_version: ApiVersion,
    /// `maxConcurrentGraphRequests` (1..64, default 32): the ceiling of the adaptive limit.
    pub max_concurrent_graph_requests: usize,
    /// `journalPath`: the SQLite journal (default: next to the config file).
    pub journal_path: PathBuf,
    /// `randomPinLength`: digits of a random PIN (6..12, default 6).
    pub random_pin_length: usize,
    /// `minimumPinLength`: setMinPINLength applied when useCTAP21Features (4..63, default 6).
    pub minimum_pin_length: u32,
    /// `forcePinChange`: forceChangePin applied when useCTAP21Features (default true).
    pub force_pin_change: bool,
    /// `keepPinsInJournal`: keep random PINs in the journal after they are recorded (default false).
    pub keep_pins_in_journal: bool,
    /// `pinRetentionHours`: a PIN an ended enrollment left in the journal (failed, or never
    /// handed over) is purged after this many hours (1..8760, default 24).
    pub pin_retention_hours: u32,
    /// `pinsInKeysRegisteredCsv`: the PIN column of keysRegistered.csv holds random PINs
    /// (`None`: the station's default, see [`Config::pins_in_csv`]).
    pub pins_in_keys_registered_csv: Option<bool>,
    /// Where a random PIN reaches its person: set by the front end, not read from the file.
    pub pin_handover: PinHandover,
    /// `pinDelivery` as written (`None`: the front end's default, see [`Config::pin_delivery`]).
    pub pin_delivery: Option<PinDelivery>,
    /// `letter`: how PIN letters look and where the kiosk prints them.
    pub letter: crate::letters::LetterSettings,
    /// Where headless `enroll` writes PIN letters (`--pin-letters DIR`; default the folder
    /// `letters` beside the journal). Not read from the file.
    pub letters_dir: PathBuf,
    /// `operatorName`: who operates the station, for the audit log (default: the OS user).
    pub operator_name: Option<String>,
    /// `operatorSignIn`: `app-only` (default) or `delegated`.
    pub operator_sign_in: OperatorSignIn,
    /// `operatorPasscodeHash`: argon2 PHC string of the app-only passcode (else the file
    /// written by `set-passcode` next to the config is used).
    pub operator_passcode_hash: Option<String>,
    /// `idleLockMinutes`: lock the kiosk after this many idle minutes (0 in the file = never,
    /// `None` here; default 5; at most 1440). In delegated mode the lock signs the operator out.
    pub idle_lock_minutes: Option<u32>,
    /// `allowTestKeys`: accept the built-in software key outside the demo (training against
    /// `fake-tenant`; default false: its attestation key is published).
    pub allow_test_keys: bool,
    /// `keyDisplayName`: the registered key's name in Entra ID, a template with `{model}`,
    /// `{serial}`, `{date}` and `{upn}` (default the proof of concept's `Serial: {serial} {date}`).
    pub key_display_name: crate::engine::key_name::KeyNameTemplate,
    /// `proxy`: the HTTP(S) proxy to Microsoft (`http://proxy.corp:3128`); without it the
    /// `HTTPS_PROXY` / `NO_PROXY` environment variables apply.
    pub proxy: Option<url::Url>,
    /// `journalUrl` (or [`JOURNAL_URL_ENV`], which wins): the shared journal on PostgreSQL;
    /// `None`: the SQLite journal at `journal_path`.
    pub journal_url: Option<crate::store::postgres::JournalUrl>,
    /// `journalCaFile`: the CA certificate(s) the journal server's certificate is verified
    /// against, instead of the system's roots (relative to the config file).
    pub journal_ca_file: Option<PathBuf>,
    /// `journalKeyFile`: the file holding the key PINs are sealed under in a shared journal
    /// (`PASSKEY_KIOSK_JOURNAL_KEY` wins; relative to the config file).
    pub journal_key_file: Option<PathBuf>,
    /// `stationName`: this station on claims, enrollments and audit entries (default: the
    /// host name).
    pub station_name: String,
    /// `language`: the kiosk's language, and each person's until they switch (default `en`).
    pub language: crate::i18n::Language,
    /// Keys present in the file that this version does not know (warned about, not fatal).
    pub unknown_keys: Vec<UnknownKey>,
}

/// Whether `name` may name a station: 1 to [`MAX_STATION_NAME`] characters, no control
/// characters.
pub fn is_station_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= MAX_STATION_NAME
        && !name.chars().any(char::is_control)
}

/// The station's name when `stationName` is not given: the host name (`station` without one).
pub fn default_station_name() -> String {
    let host = gethostname::gethostname()
        .to_string_lossy()
        .trim()
        .to_string();
    if host.is_empty() {
        "station".to_string()
    } else {
        host
    }
}

/// A key in the file that this version does not read, with the known key it is probably a
/// misspelling of. Printed as the warning the operator sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// The key as written.
    pub key: String,
    /// The closest known key, when one is close (case, a letter or two).
    pub did_you_mean: Option<&'static str>,
}

impl fmt::Display for UnknownKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.did_you_mean {
            Some(known) => write!(
                f,
                "unknown key \"{}\" is ignored: did you mean \"{known}\"?",
                self.key
            ),
            None => write!(f, "unknown key \"{}\" is ignored (misspelt?)", self.key),
        }
    }
}

/// A configuration problem, phrased so that it says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not JSON, or not a JSON object.
    #[error("{path} is not a valid JSON object: {detail}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Parser message (line and column).
        detail: String,
    },
    /// A key has a value that is not allowed.
    #[error("{path}: key \"{key}\": found {found}, expected {expected}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The key.
        key: &'static str,
        /// What was there (never a secret).
        found: String,
        /// What is allowed.
        expected: String,
    },
    /// An environment variable that overrides a key has a value that is not allowed.
    #[error("environment variable {var}: {detail}")]
    Environment {
        /// The variable.
        var: &'static str,
        /// What is wrong and what to put there (never a secret).
        detail: String,
    },
    /// A required key is absent.
    #[error("{path}: key \"{key}\" is missing: {expected}")]
    Missing {
        /// The file.
        path: PathBuf,
        /// The key.
        key: &'static str,
        /// What to put there.
        expected: String,
    },
}

impl Config {
    /// Reads and validates `path`; the secret may come from [`SECRET_ENV`].
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let env_secret = std::env::var(SECRET_ENV).ok().map(Secret::new);
        Config::parse(path, &text, env_secret)?
            .with_journal_url_override(std::env::var(JOURNAL_URL_ENV).ok().as_deref())
    }

    /// The configuration with `url` (the value of [`JOURNAL_URL_ENV`]) as its journal, when
    /// given and not blank.
    pub fn with_journal_url_override(self, url: Option<&str>) -> Result<Config, ConfigError> {
        let Some(url) = url.filter(|u| !u.trim().is_empty()) else {
            return Ok(self);
        };
        let parsed = crate::store::postgres::JournalUrl::parse(url).map_err(|e| {
            ConfigError::Environment {
                var: JOURNAL_URL_ENV,
                detail: e.to_string(),
            }
        })?;
        Ok(Config {
            journal_url: Some(parsed),
            ..self
        })
    }

    /// Where the shared journal's TLS certificate is verified from: `journalCaFile`, else
    /// the system's roots.
    pub fn journal_roots(&self) -> crate::store::postgres::Roots {
        match &self.journal_ca_file {
            Some(path) => crate::store::postgres::Roots::CaFile(path.clone()),
            None => crate::store::postgres::Roots::System,
        }
    }

    /// Validates the text of a config file (`path` is used in messages and for relative paths).
    pub fn parse(
        path: &Path,
        text: &str,
        env_secret: Option<Secret>,
    ) -> Result<Config, ConfigError> {
        let syntax = |detail: String| ConfigError::Syntax {
            path: path.to_path_buf(),
            detail,
        };
        let map: BTreeMap<String, Value> = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m.into_iter().collect(),
            Ok(other) => return Err(syntax(format!("the top level is {}", kind(&other)))),
            Err(e) => return Err(syntax(e.to_string())),
        };
        let r = Reader {
            path,
            map: &map,
            read: RefCell::default(),
        };

        let tenant = r.required_text(
            "tenantName",
            "the tenant domain (contoso.onmicrosoft.com) or its GUID",
        )?;
        let client_id = r.required_text(
            "client_id",
            "the application (client) id of the app registration",
        )?;
        let operator_sign_in = match r.text("operatorSignIn")?.as_deref() {
            None | Some("app-only") => OperatorSignIn::AppOnly,
            Some("delegated") => OperatorSignIn::Delegated,
            Some(other) => {
                return Err(r.invalid(
                    "operatorSignIn",
                    format!("\"{other}\""),
                    "\"app-only\" (operator name + local passcode) or \"delegated\" (Entra ID device-code sign-in)",
                ))
            }
        };
        // A delegated sign-in must land in this organisation's tenant: the multi-tenant
        // authorities would let an account of any tenant (or a personal account) sign in.
        if operator_sign_in == OperatorSignIn::Delegated
            && ["common", "organizations", "consumers"]
                .contains(&tenant.to_ascii_lowercase().as_str())
        {
            return Err(r.invalid(
                "tenantName",
                format!("\"{tenant}\""),
                "with \"operatorSignIn\": \"delegated\", the organisation's own tenant: its domain \
                 (contoso.onmicrosoft.com) or its tenant id (GUID); \"common\", \"organizations\" \
                 and \"consumers\" would let accounts of other tenants (or personal Microsoft \
                 accounts) sign in as operators",
            ));
        }
        let credential = match operator_sign_in {
            OperatorSignIn::AppOnly => r.credential(env_secret)?,
            OperatorSignIn::Delegated => r.no_app_credential()?,
        };
        let operator_passcode_hash = r.text("operatorPasscodeHash")?;
        if let Some(h) = &operator_passcode_hash {
            if let Err(why) = crate::station::passcode::check_hash(h) {
                return Err(r.invalid(
                    "operatorPasscodeHash",
                    format!("a hash that is refused ({why})"),
                    "the argon2id hash written by `passkey-kiosk set-passcode` ($argon2id$v=19$m=65536,t=3,p=1$...)",
                ));
            }
        }
        let idle_lock_minutes = match r.integer(
            "idleLockMinutes",
            0,
            24 * 60,
            "minutes from 0 (never lock) to 1440",
        )? {
            None => Some(DEFAULT_IDLE_LOCK_MINUTES),
            Some(0) => None,
            Some(m) => Some(m as u32),
        };
        let group = match (r.text("usersInScopeGroup")?, r.text("usersInScopeGroupId")?) {
            (_, Some(id)) => GroupRef::Id(id),
            (Some(name), None) => GroupRef::Name(name),
            (None, None) => return Err(ConfigError::Missing {
                path: path.to_path_buf(),
                key: "usersInScopeGroup",
                expected:
                    "the display name of the group whose members get keys (or usersInScopeGroupId)"
                        .into(),
            }),
        };
        let graph_api_version = match r.text("graphApiVersion")?.as_deref() {
            None | Some("beta") => ApiVersion::Beta,
            Some("v1.0") => ApiVersion::V1,
            Some(other) => {
                return Err(r.invalid(
                    "graphApiVersion",
                    format!("\"{other}\""),
                    "\"beta\" or \"v1.0\"",
                ))
            }
        };
        let challenge_timeout_minutes = r
            .integer(
                "challengeTimeoutInMinutes",
                5,
                43_200,
                "a whole number of minutes from 5 to 43200",
            )?
            .unwrap_or(60) as u32;

        let mut config = Config {
            path: path.to_path_buf(),
            tenant,
            client_id,
            credential,
            group,
            include_nested_groups: r.boolean("includeNestedGroups")?.unwrap_or(false),
            challenge_timeout_minutes,
            delete_existing_credentials: r
                .boolean("deleteExistingUserFIDOCredentials")?
                .unwrap_or(false),
            use_random_pin: r.boolean("useRandomPIN")?.unwrap_or(false),
            use_ctap21_features: r.boolean("useCTAP21Features")?.unwrap_or(false),
            cloud: r.cloud()?,
            graph_api_version,
            max_concurrent_graph_requests: r
                .integer(
                    "maxConcurrentGraphRequests",
                    1,
                    64,
                    "a whole number from 1 to 64",
                )?
                .unwrap_or(graph::client::DEFAULT_CONCURRENCY_CEILING as i64)
                as usize,
            journal_path: r.path_relative("journalPath")?.unwrap_or_else(|| {
                path.parent()
                    .unwrap_or(Path::new("."))
                    .join(crate::store::DEFAULT_FILE_NAME)
            }),
            random_pin_length: r
                .integer(
                    "randomPinLength",
                    6,
                    12,
                    "a whole number of digits from 6 to 12",
                )?
                .unwrap_or(6) as usize,
            minimum_pin_length: r
                .integer("minimumPinLength", 4, 63, "a whole number from 4 to 63")?
                .unwrap_or(6) as u32,
            force_pin_change: r.boolean("forcePinChange")?.unwrap_or(true),
            keep_pins_in_journal: r.boolean("keepPinsInJournal")?.unwrap_or(false),
            pin_retention_hours: r
                .integer(
                    "pinRetentionHours",
                    1,
                    8760,
                    "a whole number of hours from 1 to 8760",
                )?
                .map_or(DEFAULT_PIN_RETENTION_HOURS, |h| h as u32),
            pins_in_keys_registered_csv: r.boolean("pinsInKeysRegisteredCsv")?,
            pin_handover: PinHandover::default(),
            pin_delivery: None,
            letter: r.letter()?,
            letters_dir: PathBuf::new(),
            operator_name: r.text("operatorName")?,
            operator_sign_in,
            operator_passcode_hash,
            idle_lock_minutes,
            allow_test_keys: r.boolean("allowTestKeys")?.unwrap_or(false),
            key_display_name: r.key_display_name()?,
            proxy: r.proxy()?,
            journal_url: r.journal_url()?,
            journal_ca_file: r.path_relative("journalCaFile")?,
            journal_key_file: r.path_relative("journalKeyFile")?,
            station_name: r.station_name()?,
            language: r.language()?,
            unknown_keys: Vec::new(),
        };
        config.pin_delivery = r.pin_delivery(config.pins_in_keys_registered_csv)?;
        config.letters_dir = config
            .journal_path
            .parent()
            .unwrap_or(Path::new("."))
            .join("letters");
        // Known means read above: the list cannot drift from the readers.
        config.unknown_keys = r.unread();
        Ok(config)
    }

    /// The same configuration for the kiosk, which hands random PINs over on screen.
    pub fn for_kiosk(self) -> Config {
        Config {
            pin_handover: PinHandover::OnScreen,
            ..self
        }
    }

    /// Whether keysRegistered.csv gets random PINs: `pinsInKeysRegisteredCsv`, by default
    /// yes for headless `enroll` (the proof of concept's format) and no in the kiosk, where
    /// the person receives the PIN on screen (the column stays, empty).
    /// With PIN letters the letter alone holds the PIN.
    pub fn pins_in_csv(&self) -> bool {
        match self.pin_delivery() {
            PinDelivery::Letter => false,
            delivery => self
                .pins_in_keys_registered_csv
                .unwrap_or(delivery == PinDelivery::Csv),
        }
    }

    /// How a random PIN reaches its person: `pinDelivery`, by default on screen in the kiosk
    /// and through keysRegistered.csv headless (the proof of concept's way).
    pub fn pin_delivery(&self) -> PinDelivery {
        self.pin_delivery.unwrap_or(match self.pin_handover {
            PinHandover::OnScreen => PinDelivery::Screen,
            PinHandover::Csv => PinDelivery::Csv,
        })
    }

    /// The directory holding the config file (relative paths in it are resolved from here).
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }
}

/// Reads the keys of one config file, noting every key it is asked for: whatever is left
/// unasked is unknown to this version.
struct Reader<'a> {
    path: &'a Path,
    map: &'a BTreeMap<String, Value>,
    read: RefCell<BTreeSet<&'static str>>,
}

impl<'a> Reader<'a> {
    /// The value of `key`, noting that this version knows the key.
    fn value(&self, key: &'static str) -> Option<&'a Value> {
        self.read.borrow_mut().insert(key);
        self.map.get(key)
    }

    /// Keys present in the file that nothing asked for; keys starting with `_` are comments
    /// (configs.example.json documents itself that way).
    fn unread(&self) -> Vec<UnknownKey> {
        let read = self.read.borrow();
        let closest = |key: &str| {
            let key = key.to_ascii_lowercase();
            // A letter per six, so short words ("colour") are not taken for another key.
            let near = (key.len() / 6).max(1);
            read.iter()
                .map(|k| (strsim::levenshtein(&key, &k.to_ascii_lowercase()), *k))
                .filter(|(distance, _)| *distance <= near)
                .min()
                .map(|(_, k)| k)
        };
        self.map
            .keys()
            .filter(|k| !k.starts_with('_') && !read.contains(k.as_str()))
            .map(|k| UnknownKey {
                key: k.clone(),
                did_you_mean: closest(k),
            })
            .collect()
    }

    fn invalid(&self, key: &'static str, found: String, expected: &str) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            key,
            found,
            expected: expected.to_string(),
        }
    }

    fn proxy(&self) -> Result<Option<url::Url>, ConfigError> {
        let Some(text) = self.text("proxy")? else {
            return Ok(None);
        };
        match url::Url::parse(text.trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(Some(u)),
            _ => Err(self.invalid(
                "proxy",
                format!("\"{text}\""),
                "the proxy's URL, e.g. \"http://proxy.corp.example:3128\"",
            )),
        }
    }

    fn key_display_name(&self) -> Result<crate::engine::key_name::KeyNameTemplate, ConfigError> {
        match self.text("keyDisplayName")? {
            None => Ok(crate::engine::key_name::KeyNameTemplate::default()),
            Some(t) => crate::engine::key_name::KeyNameTemplate::parse(&t).map_err(|why| {
                self.invalid(
                    "keyDisplayName",
                    format!("\"{t}\" ({why})"),
                    "a template such as \"Serial: {serial} {date}\"",
                )
            }),
        }
    }

    /// `pinDelivery`; `letter` keeps the PIN out of keysRegistered.csv, so an explicit
    /// `"pinsInKeysRegisteredCsv": true` beside it is a contradiction to resolve.
    fn pin_delivery(&self, pins_in_csv: Option<bool>) -> Result<Option<PinDelivery>, ConfigError> {
        let delivery =
            match self.text("pinDelivery")?.as_deref() {
                None => return Ok(None),
                Some("screen") => PinDelivery::Screen,
                Some("letter") => PinDelivery::Letter,
                Some("csv") => PinDelivery::Csv,
                Some(other) => return Err(self.invalid(
                    "pinDelivery",
                    format!("\"{other}\""),
                    "\"screen\" (shown at the station), \"letter\" (a PDF letter per person) or \
                     \"csv\" (the PIN column of keysRegistered.csv)",
                )),
            };
        if delivery == PinDelivery::Letter && pins_in_csv == Some(true) {
            return Err(self.invalid(
                "pinsInKeysRegisteredCsv",
                "true beside \"pinDelivery\": \"letter\"".into(),
                "false or no pinsInKeysRegisteredCsv: with letters the PIN is only in the letter",
            ));
        }
        Ok(Some(delivery))
    }

    /// The `letter` object: `paper`, `sender`, `logo` (a readable PNG, relative to the config
    /// file) and `printCommand` (a non-empty list of strings).
    fn letter(&self) -> Result<crate::letters::LetterSettings, ConfigError> {
        use crate::letters::{LetterSettings, Paper};
        const FIELDS: &str = "\"paper\", \"sender\", \"logo\", \"printCommand\"";
        let mut settings = LetterSettings::default();
        let obj = match self.value("letter") {
            None | Some(Value::Null) => return Ok(settings),
            Some(Value::Object(obj)) => obj,
            Some(other) => {
                return Err(self.invalid(
                    "letter",
                    describe(other),
                    &format!("an object with {FIELDS}"),
                ))
            }
        };
        if let Some(unknown) = obj.keys().find(|k| {
            !k.starts_with('_')
                && !["paper", "sender", "logo", "printCommand"].contains(&k.as_str())
        }) {
            return Err(self.invalid(
                "letter",
                format!("the field \"{unknown}\""),
                &format!("only {FIELDS}"),
            ));
        }
        let text = |key: &'static str, field: &str| match obj.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(other) => Err(self.invalid(key, describe(other), "a string")),
        };
        settings.paper = match text("letter.paper", "paper")? {
            None => Paper::A4,
            Some(p) if p.eq_ignore_ascii_case("a4") => Paper::A4,
            Some(p) if p.eq_ignore_ascii_case("letter") => Paper::Letter,
            Some(p) => {
                return Err(self.invalid(
                    "letter.paper",
                    format!("\"{p}\""),
                    "\"A4\" or \"Letter\"",
                ))
            }
        };
        settings.sender = text("letter.sender", "sender")?;
        if let Some(logo) = text("letter.logo", "logo")? {
            let path = self.path.parent().unwrap_or(Path::new(".")).join(&logo);
            if let Err(e) = crate::letters::read_logo(&path) {
                let why = match e {
                    crate::letters::LetterError::Logo { reason, .. } => reason,
                    other => other.to_string(),
                };
                return Err(self.invalid(
                    "letter.logo",
                    format!("\"{logo}\", which {why}"),
                    "the path of a PNG image the station's user can read (relative to the config \
                     file), or no logo",
                ));
            }
            settings.logo = Some(path);
        }
        let expected =
            "a list of the program and its arguments, e.g. [\"lp\", \"-d\", \"PRINTER\"] \
                        (the letter goes to its standard input)";
        match obj.get("printCommand") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                let words: Option<Vec<String>> = items
                    .iter()
                    .map(|v| match v {
                        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
                        _ => None,
                    })
                    .collect();
                match words {
                    Some(words) if !words.is_empty() => settings.print_command = words,
                    Some(_) => {
                        return Err(self.invalid(
                            "letter.printCommand",
                            "an empty list".into(),
                            expected,
                        ))
                    }
                    None => {
                        return Err(self.invalid(
                            "letter.printCommand",
                            "a list with an empty or non-string entry".into(),
                            expected,
                        ))
                    }
                }
            }
            Some(other) => {
                return Err(self.invalid("letter.printCommand", describe(other), expected))
            }
        }
        Ok(settings)
    }

    fn text(&self, key: &'static str) -> Result<Option<String>, ConfigError> {
        match self.value(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(other) => Err(self.invalid(key, describe(other), "a string")),
        }
    }

    fn path_relative(&self, key: &'static str) -> Result<Option<PathBuf>, ConfigError> {
        Ok(self
            .text(key)?
            .map(|p| self.path.parent().unwrap_or(Path::new(".")).join(p)))
    }

    fn required_text(&self, key: &'static str, expected: &str) -> Result<String, ConfigError> {
        self.text(key)?.ok_or_else(|| ConfigError::Missing {
            path: self.path.to_path_buf(),
            key,
            expected: expected.to_string(),
        })
    }

    fn boolean(&self, key: &'static str) -> Result<Option<bool>, ConfigError> {
        match self.value(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            // The proof of concept's users sometimes quote booleans; accept the unambiguous forms.
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(other) => Err(self.invalid(key, describe(other), "true or false")),
        }
    }

    fn integer(
        &self,
        key: &'static str,
        min: i64,
        max: i64,
        expected: &str,
    ) -> Result<Option<i64>, ConfigError> {
        let value = match self.value(key) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
            Some(_) => None,
        };
        match value {
            Some(v) if (min..=max).contains(&v) => Ok(Some(v)),
            _ => Err(self.invalid(
                key,
                self.value(key).map(describe).unwrap_or_default(),
                expected,
            )),
        }
    }

    /// `journalUrl`, checked; the value is never repeated (it may hold a password).
    fn journal_url(&self) -> Result<Option<crate::store::postgres::JournalUrl>, ConfigError> {
        let Some(url) = self.text("journalUrl")? else {
            return Ok(None);
        };
        crate::store::postgres::JournalUrl::parse(&url)
            .map(Some)
            .map_err(|e| {
                self.invalid(
                    "journalUrl",
                    format!("a URL that is refused ({e})"),
                    "postgresql://USER@HOST:PORT/DB for the shared journal on PostgreSQL (the \
                     password in the URL or in PGPASSWORD), or no journalUrl for this station's \
                     own SQLite journal",
                )
            })
    }

    /// `language`: one of the catalogues' codes, else English.
    fn language(&self) -> Result<crate::i18n::Language, ConfigError> {
        let Some(code) = self.text("language")? else {
            return Ok(crate::i18n::Language::default());
        };
        crate::i18n::Language::from_code(&code).ok_or_else(|| {
            self.invalid(
                "language",
                format!("\"{code}\""),
                &format!(
                    "one of the kiosk's languages: {} (default \"en\")",
                    crate::i18n::Language::supported()
                ),
            )
        })
    }

    /// `stationName`, else the host name.
    fn station_name(&self) -> Result<String, ConfigError> {
        let name = match self.text("stationName")? {
            Some(name) => name,
            None => default_station_name(),
        };
        if !is_station_name(&name) {
            return Err(self.invalid(
                "stationName",
                format!("{name:?}"),
                "a name of 1 to 64 characters without control characters, telling this station \
                 apart from the others on claims and audit entries (default: the host name)",
            ));
        }
        Ok(name)
    }

    fn credential(&self, env_secret: Option<Secret>) -> Result<Credential, ConfigError> {
        // Both are looked at, whichever is used: a secret beside a certificate is known.
        let secret = self.value("client_secret");
        if let Some(cert) = self.value("clientCertificate").filter(|v| !v.is_null()) {
            let expected = "an object {\"certificate\": \"cert.pem\", \"privateKey\": \"key.pem\"} (paths relative to the config file)";
            let Value::Object(obj) = cert else {
                return Err(self.invalid("clientCertificate", describe(cert), expected));
            };
            let base = self.path.parent().unwrap_or(Path::new("."));
            let field = |name: &str| match obj.get(name) {
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(base.join(s.trim())),
                _ => {
                    Err(self.invalid("clientCertificate", format!("no \"{name}\" path"), expected))
                }
            };
            return Ok(Credential::Certificate {
                certificate: field("certificate")?,
                private_key: field("privateKey")?,
            });
        }
        let from_file = match secret {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(Secret::new(s.clone())),
            // Never echo what was there: it may be the secret in a wrong shape.
            Some(_) => {
                return Err(self.invalid(
                    "client_secret",
                    "a value that is not a string".into(),
                    "the client secret VALUE as a string",
                ))
            }
        };
        env_secret
            .or(from_file)
            .map(Credential::Secret)
            .ok_or_else(|| ConfigError::Missing {
                path: self.path.to_path_buf(),
                key: "client_secret",
                expected: format!(
                    "the client secret value, or set {SECRET_ENV}, or use clientCertificate"
                ),
            })
    }

    /// Delegated mode keeps no app secret on the station: a secret or certificate in the file is
    /// refused rather than silently unused. (The environment secret is ignored.)
    fn no_app_credential(&self) -> Result<Credential, ConfigError> {
        for key in ["client_secret", "clientCertificate"] {
            let present = match self.value(key) {
                None | Some(Value::Null) => false,
                Some(Value::String(s)) => !s.is_empty(),
                Some(_) => true,
            };
            if present {
                return Err(self.invalid(
                    key,
                    "an app credential".into(),
                    "no app credential with \"operatorSignIn\": \"delegated\" (Graph is called with the \
                     operator's own rights): remove it, or use \"operatorSignIn\": \"app-only\"",
                ));
            }
        }
        Ok(Credential::Delegated)
    }

    fn cloud(&self) -> Result<Cloud, ConfigError> {
        // Known even when explicit URLs make it unused.
        let named = self.text("cloud")?;
        let login = self.text("loginBaseUrl")?;
        let graph = self.text("graphBaseUrl")?;
        let missing = |key, other| ConfigError::Missing {
            path: self.path.to_path_buf(),
            key,
            expected: format!("set together with {other}"),
        };
        let cloud = match (login, graph) {
            (Some(login_base), Some(graph_base)) => Cloud::Custom {
                login_base,
                graph_base,
            },
            (Some(_), None) => return Err(missing("graphBaseUrl", "loginBaseUrl")),
            (None, Some(_)) => return Err(missing("loginBaseUrl", "graphBaseUrl")),
            (None, None) => {
                return match named.as_deref() {
                    None => Ok(Cloud::Global),
                    Some(name) => Cloud::from_name(name).ok_or_else(|| {
                        self.invalid(
                            "cloud",
                            format!("\"{name}\""),
                            "one of \"global\", \"usgov\", \"usgovdod\", \"china\"",
                        )
                    }),
                }
            }
        };
        // One rule for every URL the station calls: https, or http only to loopback.
        cloud.validate().map_err(|e| {
            self.invalid(
                "loginBaseUrl/graphBaseUrl",
                format!("{}, {}", cloud.login_base(), cloud.graph_base()),
                &e.to_string(),
            )
        })?;
        Ok(cloud)
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => kind(other).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("/etc/kiosk/configs.json"), text, None)
    }

    const SEED: &str = r#"{"tenantName":"exampletenant.com","client_id":"11111111-2222-3333-4444-555555555555",
        "client_secret":"s3cr3t~value","usersInScopeGroup":"FIDO2","challengeTimeoutInMinutes":60,
        "deleteExistingUserFIDOCredentials":true,"useRandomPIN":false,"useCTAP21Features":false}"#;

    #[test]
    fn seed_file_is_read_unchanged() {
        let c = parse(SEED).unwrap();
        assert_eq!(c.tenant, "exampletenant.com");
        assert_eq!(c.group, GroupRef::Name("FIDO2".into()));
        assert_eq!(c.challenge_timeout_minutes, 60);
        assert!(c.delete_existing_credentials && !c.use_random_pin && !c.use_ctap21_features);
        assert_eq!(c.cloud, Cloud::Global);
        assert_eq!(c.graph_api_version, ApiVersion::Beta);
        assert_eq!(c.max_concurrent_graph_requests, 32);
        assert!(c.unknown_keys.is_empty());
        assert_eq!(
            c.journal_path,
            PathBuf::from("/etc/kiosk/passkey-kiosk.journal.sqlite")
        );
        assert_eq!(
            c.credential,
            Credential::Secret(Secret::new("s3cr3t~value".into()))
        );
    }

    #[test]
    fn secret_never_printed() {
        let c = parse(SEED).unwrap();
        assert!(!format!("{c:?}").contains("s3cr3t"));
        let bad = parse(&SEED.replace("\"s3cr3t~value\"", "[\"s3cr3t~value\"]"))
            .unwrap_err()
            .to_string();
        assert!(!bad.contains("s3cr3t"), "{bad}");
        assert!(bad.contains("client_secret"), "{bad}");
    }

    #[test]
    fn environment_secret_wins_and_file_may_omit_it() {
        let text = SEED.replace("\"client_secret\":\"s3cr3t~value\",", "");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains(SECRET_ENV), "{err}");
        let c = Config::parse(
            Path::new("c.json"),
            &text,
            Some(Secret::new("from-env".into())),
        )
        .unwrap();
        assert_eq!(
            c.credential,
            Credential::Secret(Secret::new("from-env".into()))
        );
    }

    #[test]
    fn errors_name_key_value_and_allowed_range() {
        let err = parse(&SEED.replace("60", "3")).unwrap_err().to_string();
        assert!(
            err.contains("challengeTimeoutInMinutes")
                && err.contains("found 3")
                && err.contains("5 to 43200"),
            "{err}"
        );
        let err = parse(&SEED.replace("\"useRandomPIN\":false", "\"useRandomPIN\":\"maybe\""))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("useRandomPIN")
                && err.contains("\"maybe\"")
                && err.contains("true or false"),
            "{err}"
        );
        let err = parse(&SEED.replace("\"tenantName\":\"exampletenant.com\",", ""))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("tenantName") && err.contains("missing"),
            "{err}"
        );
        let err = parse("[1]").unwrap_err().to_string();
        assert!(err.contains("not a valid JSON object"), "{err}");
    }

    #[test]
    fn optional_keys_and_unknown_keys() {
        let text = SEED.replace(
            "\"useCTAP21Features\":false",
            "\"useCTAP21Features\":true,\"cloud\":\"usgov\",\"graphApiVersion\":\"v1.0\",\"maxConcurrentGraphRequests\":16,\"includeNestedGroups\":true,\"colour\":\"blue\",\"_comment\":\"x\"",
        );
        let c = parse(&text).unwrap();
        assert_eq!(c.cloud, Cloud::UsGov);
        assert_eq!(c.graph_api_version, ApiVersion::V1);
        assert_eq!(c.max_concurrent_graph_requests, 16);
        assert!(c.include_nested_groups && c.use_ctap21_features);
        let unknown = &c.unknown_keys;
        assert_eq!(
            unknown,
            &vec![UnknownKey {
                key: "colour".into(),
                did_you_mean: None
            }]
        );
        assert_eq!(
            unknown[0].to_string(),
            "unknown key \"colour\" is ignored (misspelt?)"
        );
    }

    #[test]
    fn a_misspelt_key_is_unknown_and_keys_read_only_in_some_cases_are_not() {
        let text = SEED.replace(
            "\"useRandomPIN\":false",
            "\"useRandomPin\":false,\"cloud\":\"usgov\",\"loginBaseUrl\":\"https://login.example\",\
             \"graphBaseUrl\":\"https://graph.example\",\"clientCertificate\":{\"certificate\":\"c.pem\",\
             \"privateKey\":\"k.pem\"}",
        );
        let c = parse(&text).unwrap();
        // Explicit URLs win over `cloud`, a certificate over the secret: both still known.
        assert!(matches!(c.cloud, Cloud::Custom { .. }), "{:?}", c.cloud);
        assert!(matches!(c.credential, Credential::Certificate { .. }));
        let unknown = &c.unknown_keys;
        assert_eq!(
            unknown,
            &vec![UnknownKey {
                key: "useRandomPin".into(),
                did_you_mean: Some("useRandomPIN")
            }]
        );
        assert_eq!(
            unknown[0].to_string(),
            "unknown key \"useRandomPin\" is ignored: did you mean \"useRandomPIN\"?"
        );
    }

    #[test]
    fn every_key_the_example_sets_or_documents_is_known() {
        let example = include_str!("../configs.example.json");
        let Ok(Value::Object(mut map)) = serde_json::from_str::<Value>(example) else {
            panic!("configs.example.json is not a JSON object");
        };
        // `_key` documents `key`; each one left out of the example is put in as null (unset).
        let documented: Vec<String> = map
            .keys()
            .filter_map(|k| k.strip_prefix('_'))
            .filter(|k| *k != "comment" && !k.ends_with('_'))
            .map(str::to_owned)
            .collect();
        assert!(
            documented.iter().any(|k| k == "journalPath"),
            "{documented:?}"
        );
        for key in &documented {
            map.entry(key.clone()).or_insert(Value::Null);
        }
        let text = Value::Object(map).to_string();
        let secret = Some(Secret::new("from-the-environment".into()));
        let c = Config::parse(Path::new("/etc/kiosk/configs.json"), &text, secret).unwrap();
        assert!(c.unknown_keys.is_empty(), "{:?}", c.unknown_keys);
    }

    #[test]
    fn pin_keys_have_defaults_by_station_and_ranges() {
        let c = parse(SEED).unwrap();
        assert_eq!(c.pin_retention_hours, DEFAULT_PIN_RETENTION_HOURS);
        assert!(c.pins_in_csv(), "headless: the proof of concept's CSV");
        assert!(
            !c.clone().for_kiosk().pins_in_csv(),
            "kiosk: on screen only"
        );
        let text = SEED.replace(
            "\"useCTAP21Features\":false",
            "\"useCTAP21Features\":false,\"pinRetentionHours\":2,\"pinsInKeysRegisteredCsv\":true",
        );
        let c = parse(&text).unwrap();
        assert_eq!(c.pin_retention_hours, 2);
        assert!(c.unknown_keys.is_empty(), "{:?}", c.unknown_keys);
        assert!(c.for_kiosk().pins_in_csv(), "the key overrides the default");
        let text = SEED.replace(
            "\"useCTAP21Features\":false",
            "\"useCTAP21Features\":false,\"pinsInKeysRegisteredCsv\":false",
        );
        assert!(!parse(&text).unwrap().pins_in_csv());
        for bad in ["0", "8761", "\"soon\""] {
            let err = parse(&SEED.replace(
                "\"useCTAP21Features\":false",
                &format!("\"useCTAP21Features\":false,\"pinRetentionHours\":{bad}"),
            ))
            .unwrap_err()
            .to_string();
            assert!(
                err.contains("pinRetentionHours") && err.contains("1 to 8760"),
                "{err}"
            );
        }
    }

    #[test]
    fn enrollment_keys_have_defaults_and_ranges() {
        let c = parse(SEED).unwrap();
        assert_eq!(c.random_pin_length, 6);
        assert_eq!(c.minimum_pin_length, 6);
        assert!(c.force_pin_change && !c.keep_pins_in_journal);
        assert!(!c.allow_test_keys);
        assert_eq!(c.operator_name, None);
        let text = SEED.replace(
            "\"useCTAP21Features\":false",
            "\"useCTAP21Features\":false,\"randomPinLength\":8,\"minimumPinLength\":8,\"forcePinChange\":false,\"keepPinsInJournal\":true,\"operatorName\":\"Desk 3\"",
        );
        let c = parse(&text).unwrap();
        assert_eq!((c.random_pin_length, c.minimum_pin_length), (8, 8));
        assert!(!c.force_pin_change && c.keep_pins_in_journal);
        assert_eq!(c.operator_name.as_deref(), Some("Desk 3"));
        let err = parse(&SEED.replace(
            "\"useRandomPIN\":false",
            "\"useRandomPIN\":false,\"randomPinLength\":4",
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("randomPinLength") && err.contains("6 to 12"),
            "{err}"
        );
    }

    #[test]
    fn allow_test_keys_is_a_boolean_off_by_default() {
        let with = |v: &str| {
            parse(&SEED.replace(
                "\"useCTAP21Features\":false",
                &format!("\"useCTAP21Features\":false,\"allowTestKeys\":{v}"),
            ))
        };
        assert!(with("true").unwrap().allow_test_keys);
        assert!(!with("false").unwrap().allow_test_keys);
        assert!(with("true").unwrap().unknown_keys.is_empty());
        let err = with("1").unwrap_err().to_string();
        assert!(
            err.contains("allowTestKeys") && err.contains("true or false"),
            "{err}"
        );
    }

    #[test]
    fn plain_http_only_to_loopback() {
        let with = |login: &str, graph: &str| {
            parse(&SEED.replace(
                "\"useCTAP21Features\":false",
                &format!("\"useCTAP21Features\":false,\"loginBaseUrl\":\"{login}\",\"graphBaseUrl\":\"{graph}\""),
            ))
        };
        assert!(with("http://127.0.0.1:8080", "http://localhost:8080/").is_ok());
        let err = with("http://evil.example", "https://graph.microsoft.com")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("loginBaseUrl") && err.contains("loopback") || err.contains("127.0.0.1"),
            "{err}"
        );
        assert!(with("http://127.0.0.1.evil.example", "https://g").is_err());
        assert!(with("ftp://x", "https://g").is_err());
    }

    #[test]
    fn journal_keys_are_checked_and_the_environment_url_wins() {
        let with = |extra: &str| {
            parse(&SEED.replace(
                "\"useCTAP21Features\":false",
                &format!("\"useCTAP21Features\":false,{extra}"),
            ))
        };
        // None set: the SQLite journal, system roots, the host name as the station.
        let c = parse(SEED).unwrap();
        assert!(c.journal_url.is_none() && c.journal_key_file.is_none());
        assert_eq!(c.journal_roots(), crate::store::postgres::Roots::System);
        let host = gethostname::gethostname()
            .to_string_lossy()
            .trim()
            .to_string();
        assert!(!c.station_name.is_empty());
        if !host.is_empty() {
            assert_eq!(c.station_name, host);
        }

        let c = with(
            "\"journalUrl\":\"postgresql://station:pw@db.example.org/kiosk\",\
             \"journalCaFile\":\"pki/db-ca.pem\",\"journalKeyFile\":\"journal.key\",\
             \"stationName\":\"Desk 3, building B\"",
        )
        .unwrap();
        let url = c.journal_url.as_ref().unwrap();
        assert!(url.uses_tls());
        assert_eq!(
            url.to_string(),
            "postgresql://station@db.example.org:5432/kiosk"
        );
        assert_eq!(
            c.journal_roots(),
            crate::store::postgres::Roots::CaFile(PathBuf::from("/etc/kiosk/pki/db-ca.pem"))
        );
        assert_eq!(
            c.journal_key_file.as_deref(),
            Some(Path::new("/etc/kiosk/journal.key"))
        );
        assert_eq!(c.station_name, "Desk 3, building B");
        assert!(c.unknown_keys.is_empty(), "{:?}", c.unknown_keys);

        // The environment's URL wins; a blank one leaves the file's.
        let c = c
            .with_journal_url_override(Some("postgres://other@localhost:6000/journal"))
            .unwrap();
        let url = c.journal_url.as_ref().unwrap();
        assert_eq!(url.to_string(), "postgresql://other@localhost:6000/journal");
        assert!(!url.uses_tls());
        let c = c.with_journal_url_override(Some("  ")).unwrap();
        assert_eq!(c.journal_url.as_ref().unwrap().user(), "other");
        let e = c
            .with_journal_url_override(Some(
                "postgresql://u:hunter2@db.example.org/k?sslmode=disable",
            ))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(JOURNAL_URL_ENV) && e.contains("remove sslmode=disable"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");

        // A refused URL in the file: the key, the reason, what to write; never the password.
        let e = with("\"journalUrl\":\"postgresql://u:hunter2@db.example.org\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"journalUrl\"") && e.contains("names no database"),
            "{e}"
        );
        assert!(e.contains("or no journalUrl"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");

        for bad in [
            "\"stationName\":\"a\\u0007b\"",
            &format!("\"stationName\":\"{}\"", "x".repeat(65)),
        ] {
            let e = with(bad).unwrap_err().to_string();
            assert!(
                e.contains("stationName") && e.contains("1 to 64 characters"),
                "{e}"
            );
        }
    }

    #[test]
    fn kiosk_keys_are_typed_with_defaults() {
        let c = parse(SEED).unwrap();
        assert_eq!(c.operator_sign_in, OperatorSignIn::AppOnly);
        assert_eq!(c.operator_passcode_hash, None);
        assert_eq!(c.idle_lock_minutes, Some(DEFAULT_IDLE_LOCK_MINUTES));
        let hash = crate::station::passcode::hash_passcode("correct horse").unwrap();
        let c = parse(&SEED.replace(
            "\"useCTAP21Features\":false",
            &format!("\"useCTAP21Features\":false,\"operatorSignIn\":\"app-only\",\"operatorPasscodeHash\":\"{hash}\",\"idleLockMinutes\":0"),
        ))
        .unwrap();
        assert_eq!(c.operator_passcode_hash.as_deref(), Some(hash.as_str()));
        assert_eq!(c.idle_lock_minutes, None);
        assert!(c.unknown_keys.is_empty(), "{:?}", c.unknown_keys);
        let with = |extra: &str| {
            parse(&SEED.replace(
                "\"useCTAP21Features\":false",
                &format!("\"useCTAP21Features\":false,{extra}"),
            ))
            .unwrap_err()
            .to_string()
        };
        let err = with("\"idleLockMinutes\":2000");
        assert!(
            err.contains("idleLockMinutes") && err.contains("found 2000") && err.contains("1440"),
            "{err}"
        );
        let err = with("\"operatorSignIn\":\"sso\"");
        assert!(
            err.contains("operatorSignIn") && err.contains("\"sso\"") && err.contains("delegated"),
            "{err}"
        );
        let err = with("\"operatorPasscodeHash\":\"hunter2\"");
        assert!(
            err.contains("operatorPasscodeHash") && !err.contains("hunter2"),
            "{err}"
        );
        // argon2's own defaults (19 MiB, 2 passes) are weaker than the station accepts.
        let weak = {
            use argon2::password_hash::{PasswordHasher, SaltString};
            let salt = SaltString::encode_b64(b"kiosk-test-salt!").unwrap();
            argon2::Argon2::default()
                .hash_password(b"4711 open", &salt)
                .unwrap()
                .to_string()
        };
        let err = with(&format!("\"operatorPasscodeHash\":\"{weak}\""));
        assert!(
            err.contains("operatorPasscodeHash")
                && err.contains("too weak")
                && err.contains("passkey-kiosk set-passcode"),
            "{err}"
        );
    }

    #[test]
    fn delegated_mode_needs_no_app_secret_and_refuses_one() {
        let without = SEED.replace("\"client_secret\":\"s3cr3t~value\",", "");
        let delegated = |text: &str, env: Option<Secret>| {
            Config::parse(
                Path::new("/etc/kiosk/configs.json"),
                &text.replace(
                    "\"useCTAP21Features\":false",
                    "\"useCTAP21Features\":false,\"operatorSignIn\":\"delegated\"",
                ),
                env,
            )
        };
        let c = delegated(&without, Some(Secret::new("from-env".into()))).unwrap();
        assert_eq!(c.operator_sign_in, OperatorSignIn::Delegated);
        assert_eq!(c.credential, Credential::Delegated);
        let err = delegated(SEED, None).unwrap_err().to_string();
        assert!(
            err.contains("client_secret") && err.contains("delegated") && !err.contains("s3cr3t"),
            "{err}"
        );
        let cert = without.replace(
            "\"usersInScopeGroup\"",
            "\"clientCertificate\":{\"certificate\":\"a.pem\",\"privateKey\":\"a.key\"},\"usersInScopeGroup\"",
        );
        let err = delegated(&cert, None).unwrap_err().to_string();
        assert!(err.contains("clientCertificate"), "{err}");
        // App-only still requires one.
        assert!(parse(&without).is_err());
    }

    #[test]
    fn delegated_mode_refuses_multi_tenant_authorities() {
        let delegated = |tenant: &str| {
            parse(
                &SEED
                    .replace("\"client_secret\":\"s3cr3t~value\",", "")
                    .replace("exampletenant.com", tenant)
                    .replace(
                        "\"useCTAP21Features\":false",
                        "\"useCTAP21Features\":false,\"operatorSignIn\":\"delegated\"",
                    ),
            )
        };
        for tenant in ["common", "organizations", "consumers", "Common"] {
            let err = delegated(tenant).unwrap_err().to_string();
            assert!(
                err.contains("tenantName")
                    && err.contains(&format!("found \"{tenant}\""))
                    && err.contains("delegated")
                    && err.contains("GUID"),
                "{err}"
            );
        }
        for tenant in [
            "contoso.onmicrosoft.com",
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
        ] {
            assert_eq!(delegated(tenant).unwrap().tenant, tenant);
        }
    }

    #[test]
    fn certificate_paths_are_relative_to_the_config() {
        let text = SEED.replace(
            "\"client_secret\":\"s3cr3t~value\",",
            "\"clientCertificate\":{\"certificate\":\"app.pem\",\"privateKey\":\"app.key\"},",
        );
        let c = parse(&text).unwrap();
        assert_eq!(
            c.credential,
            Credential::Certificate {
                certificate: PathBuf::from("/etc/kiosk/app.pem"),
                private_key: PathBuf::from("/etc/kiosk/app.key")
            }
        );
    }

    #[test]
    fn language_defaults_to_english_and_unknown_codes_name_the_supported_ones() {
        use crate::i18n::Language;
        let with = |extra: &str| {
            parse(&SEED.replace(
                "\"useCTAP21Features\":false",
                &format!("\"useCTAP21Features\":false,{extra}"),
            ))
        };
        assert_eq!(parse(SEED).unwrap().language, Language::English);
        assert_eq!(
            with("\"language\":\"de\"").unwrap().language,
            Language::German
        );
        assert_eq!(
            with("\"language\":\"EN\"").unwrap().language,
            Language::English
        );
        let err = with("\"language\":\"fr\"").unwrap_err().to_string();
        assert!(
            err.contains("key \"language\": found \"fr\"")
                && err.contains("\"en\" (English), \"de\" (Deutsch)"),
            "{err}"
        );
        assert!(with("\"language\":7").is_err());
    }

    #[test]
    fn pin_delivery_defaults_per_front_end_and_letters_keep_pins_out_of_the_csv() {
        let headless = parse(SEED).unwrap();
        assert_eq!(headless.pin_delivery(), PinDelivery::Csv);
        assert!(headless.pins_in_csv());
        assert_eq!(
            headless.letters_dir,
            PathBuf::from("/etc/kiosk/letters"),
            "beside the journal"
        );
        assert_eq!(headless.letter, crate::letters::LetterSettings::default());
        let kiosk = parse(SEED).unwrap().for_kiosk();
        assert_eq!(kiosk.pin_delivery(), PinDelivery::Screen);
        assert!(!kiosk.pins_in_csv());

        let with = |keys: &str| {
            parse(&SEED.replace("\"useRandomPIN\"", &format!("{keys},\"useRandomPIN\"")))
        };
        let letter = with("\"pinDelivery\":\"letter\"").unwrap();
        assert_eq!(letter.pin_delivery(), PinDelivery::Letter);
        assert!(!letter.pins_in_csv());
        assert_eq!(letter.for_kiosk().pin_delivery(), PinDelivery::Letter);
        let screen = with("\"pinDelivery\":\"screen\"").unwrap();
        assert!(
            !screen.pins_in_csv(),
            "headless with screen: the terminal, not the CSV"
        );

        let refused = [
            (
                "\"pinDelivery\":\"paper\"",
                ["pinDelivery", "\"paper\"", "\"letter\""],
            ),
            (
                "\"pinDelivery\":\"letter\",\"pinsInKeysRegisteredCsv\":true",
                ["pinsInKeysRegisteredCsv", "only in the letter", "false"],
            ),
        ];
        for (keys, expected) in refused {
            let err = with(keys).unwrap_err().to_string();
            for e in expected {
                assert!(err.contains(e), "{keys}: {e:?} not in {err}");
            }
        }
    }

    #[test]
    fn the_letter_object_is_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("configs.json");
        std::fs::write(dir.path().join("logo.png"), b"\x89PNG\r\n\x1a\nrest").unwrap();
        std::fs::write(dir.path().join("logo.gif"), b"GIF89a").unwrap();
        let with = |letter: &str| {
            Config::parse(
                &path,
                &SEED.replace(
                    "\"useRandomPIN\"",
                    &format!("\"letter\":{letter},\"useRandomPIN\""),
                ),
                None,
            )
        };
        let c = with(
            r#"{"paper":"Letter","sender":"Contoso IT","logo":"logo.png","printCommand":["lp","-d","Office"]}"#,
        )
        .unwrap();
        assert_eq!(c.letter.paper, crate::letters::Paper::Letter);
        assert_eq!(c.letter.sender.as_deref(), Some("Contoso IT"));
        assert_eq!(c.letter.logo, Some(dir.path().join("logo.png")));
        assert_eq!(c.letter.print_command, ["lp", "-d", "Office"]);
        assert!(c.unknown_keys.is_empty());
        let c = with(r#"{"sender":""}"#).unwrap();
        assert_eq!(c.letter.sender, None, "an empty sender is omitted");
        assert_eq!(c.letter.print_command, ["lp"]);

        let cases = [
            (
                r#"{"paper":"A5"}"#,
                ["letter.paper", "\"A5\"", "\"Letter\""],
            ),
            (
                r#"{"logo":"missing.png"}"#,
                ["letter.logo", "cannot be read", "PNG"],
            ),
            (
                r#"{"logo":"logo.gif"}"#,
                ["letter.logo", "is not a PNG", "or no logo"],
            ),
            (
                r#"{"printCommand":[]}"#,
                ["letter.printCommand", "an empty list", "\"lp\""],
            ),
            (
                r#"{"printCommand":"lp -d x"}"#,
                ["letter.printCommand", "\"lp -d x\"", "a list"],
            ),
            (
                r#"{"printComand":["lp"]}"#,
                ["letter", "\"printComand\"", "\"printCommand\""],
            ),
            (r#""A4""#, ["letter", "\"A4\"", "an object"]),
        ];
        for (letter, expected) in cases {
            let err = with(letter).unwrap_err().to_string();
            for e in expected {
                assert!(err.contains(e), "{letter}: {e:?} not in {err}");
            }
        }
    }
}
