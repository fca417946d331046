//! The fake tenant's directory and mutable state: users, groups and other directory objects
//! generated from a seed, registered FIDO2 methods, issued challenges and access tokens.
//!
//! Generation is deterministic for a given [`FakeConfig`] so demos and benchmarks are
//! repeatable; everything security-relevant at run time (tokens, challenges) uses the OS RNG.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::Digest as _;

use super::{ExtraGroup, FakeConfig, Faults};

/// A user of the fake tenant, as tests see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeUser {
    /// Object id (GUID string).
    pub id: String,
    /// userPrincipalName.
    pub upn: String,
    /// displayName.
    pub display_name: String,
    /// `userType == "Guest"` (passkey provisioning is not supported for guests).
    pub is_guest: bool,
}

/// A FIDO2 method registered for a user (pre-seeded or created by a POST).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeMethod {
    /// Method id: base64url(credential id) + a digit counting the '=' padding it lost.
    pub id: String,
    /// displayName as posted.
    pub display_name: String,
    /// Raw credential id from the attested credential data.
    pub credential_id: Vec<u8>,
    /// AAGUID as a GUID string.
    pub aaguid: String,
    /// Model name looked up from the AAGUID (`None` for unknown authenticators).
    pub model: Option<String>,
    /// `attested` (packed with x5c) or `notAttested`.
    pub attestation_level: String,
    /// SHA-1 hex thumbprints of the attestation certificates.
    pub attestation_certificates: Vec<String>,
    /// createdDateTime (`2026-08-23T10:07:41Z`).
    pub created_date_time: String,
    /// Attestation statement format that was posted (`packed`, `none`; `seeded` for generated ones).
    pub fmt: String,
    /// clientExtensionResults as posted.
    pub client_extension_results: serde_json::Value,
}

/// Kind-specific data of a directory object.
#[derive(Clone, Debug)]
pub(crate) enum Kind {
    User {
        upn: String,
        given_name: String,
        surname: String,
        guest: bool,
        /// WebAuthn user handle returned in creationOptions (`OF:` + random bytes).
        user_handle: Vec<u8>,
    },
    Group {
        members: Vec<usize>,
    },
    Device,
    ServicePrincipal {
        app_id: String,
    },
    OrgContact {
        mail: String,
    },
}

/// One directory object (user, group, device, service principal, contact).
#[derive(Clone, Debug)]
pub(crate) struct DirObject {
    pub id: String,
    pub display_name: String,
    pub kind: Kind,
}

impl DirObject {
    /// `@odata.type` of this object.
    pub fn odata_type(&self) -> &'static str {
        match self.kind {
            Kind::User { .. } => "#microsoft.graph.user",
            Kind::Group { .. } => "#microsoft.graph.group",
            Kind::Device => "#microsoft.graph.device",
            Kind::ServicePrincipal { .. } => "#microsoft.graph.servicePrincipal",
            Kind::OrgContact { .. } => "#microsoft.graph.orgContact",
        }
    }

    /// The object's default property set (what Graph returns without `$select`).
    pub fn properties(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::Value as V;
        let mut m = serde_json::Map::new();
        m.insert("@odata.type".into(), V::from(self.odata_type()));
        m.insert("id".into(), V::from(self.id.clone()));
        m.insert("displayName".into(), V::from(self.display_name.clone()));
        match &self.kind {
            Kind::User {
                upn,
                given_name,
                surname,
                guest,
                ..
            } => {
                m.insert("userPrincipalName".into(), V::from(upn.clone()));
                m.insert("givenName".into(), V::from(given_name.clone()));
                m.insert("surname".into(), V::from(surname.clone()));
                m.insert("mail".into(), V::from(upn.replace("#EXT#", "")));
                m.insert("accountEnabled".into(), V::from(true));
                m.insert(
                    "userType".into(),
                    V::from(if *guest { "Guest" } else { "Member" }),
                );
                m.insert("jobTitle".into(), V::Null);
                m.insert("businessPhones".into(), V::Array(Vec::new()));
            }
            Kind::Group { .. } => {
                m.insert(
                    "mailNickname".into(),
                    V::from(self.display_name.replace(' ', "")),
                );
                m.insert("securityEnabled".into(), V::from(true));
                m.insert("mailEnabled".into(), V::from(false));
                m.insert("groupTypes".into(), V::Array(Vec::new()));
            }
            Kind::Device => {
                m.insert("accountEnabled".into(), V::from(true));
                m.insert("operatingSystem".into(), V::from("Windows"));
                m.insert("deviceId".into(), V::from(self.id.clone()));
            }
            Kind::ServicePrincipal { app_id } => {
                m.insert("accountEnabled".into(), V::from(true));
                m.insert("appId".into(), V::from(app_id.clone()));
                m.insert("servicePrincipalType".into(), V::from("Application"));
            }
            Kind::OrgContact { mail } => {
                m.insert("mail".into(), V::from(mail.clone()));
            }
        }
        m
    }
}

/// Every property name `$select` may name on a member list (union over the derived types).
pub(crate) const SELECTABLE: &[&str] = &[
    "id",
    "displayName",
    "userPrincipalName",
    "givenName",
    "surname",
    "mail",
    "accountEnabled",
    "userType",
    "jobTitle",
    "businessPhones",
    "mailNickname",
    "securityEnabled",
    "mailEnabled",
    "groupTypes",
    "operatingSystem",
    "deviceId",
    "appId",
    "servicePrincipalType",
];

/// A challenge handed out by creationOptions.
#[derive(Clone, Debug)]
pub(crate) struct Challenge {
    pub user_id: String,
    /// When the server stops accepting it (may be earlier than advertised: fault injection).
    pub expires: Instant,
    pub used: bool,
}

/// An issued access token.
#[derive(Clone, Debug)]
pub(crate) struct TokenInfo {
    pub expires: Instant,
    /// Object id of the signed-in user for delegated (device-code) tokens; `None` app-only.
    pub oid: Option<String>,
}

/// A pending device authorization (device-code flow).
#[derive(Clone, Debug)]
pub(crate) struct DeviceGrant {
    /// What the next polls answer, in order; the last step repeats.
    pub steps: std::collections::VecDeque<super::DevicePoll>,
    pub expires: Instant,
    pub scope: String,
    pub redeemed: bool,
}

/// A certificate trusted for client assertions.
#[derive(Clone, Debug)]
pub(crate) struct TrustedCert {
    pub der: Vec<u8>,
    pub sha1: Vec<u8>,
    pub sha256: Vec<u8>,
}

/// All mutable state, behind one mutex in `Shared`.
#[derive(Debug)]
pub(crate) struct State {
    pub objects: Vec<DirObject>,
    pub by_id: HashMap<String, usize>,
    pub by_upn: HashMap<String, usize>,
    /// Index of the scope group in `objects`.
    pub scope_group: usize,
    /// Registered methods by user object id.
    pub methods: HashMap<String, Vec<FakeMethod>>,
    /// Method id -> when list responses start to show it (the `list_lag` fault).
    pub listed_from: HashMap<String, std::time::Instant>,
    pub challenges: HashMap<String, Challenge>,
    /// Access token -> expiry and caller.
    pub tokens: HashMap<String, TokenInfo>,
    /// device_code -> pending authorization.
    pub devices: HashMap<String, DeviceGrant>,
    /// refresh_token -> (user object id, granted scope).
    pub refresh_tokens: HashMap<String, (String, String)>,
    /// Index of the administrator who signs in with the device-code flow (not a group member).
    pub admin: usize,
    /// Test hook: the `tid` of device-code ID tokens when it should not be this tenant's id
    /// (an operator who signed in to another tenant); see `FakeTenant::set_id_token_tenant`.
    pub id_token_tenant: Option<String>,
    pub certs: Vec<TrustedCert>,
    pub faults: Faults,
    /// Seeded RNG for fault decisions (reproducible runs).
    pub fault_rng: StdRng,
    /// Graph requests seen (drives every-Nth faults).
    pub graph_requests: u64,
    /// The app's token bucket while `faults.rate_limit` is set (the fake issues tokens to one
    /// app, so one bucket), created full on first use.
    pub rate_bucket: Option<super::rate_limit::TokenBucket>,
}

const FIRST: &[&str] = &[
    "Adele",
    "Alex",
    "Allan",
    "Ben",
    "Christie",
    "Debra",
    "Diego",
    "Emily",
    "Grady",
    "Henrietta",
    "Isaiah",
    "Johanna",
    "Joni",
    "Lee",
    "Lidia",
    "Lynne",
    "Megan",
    "Miriam",
    "Nestor",
    "Patti",
    "Pradeep",
    "Sean",
    "Zrinka",
    "Aoife",
    "Björn",
    "Siobhán",
    "Mateo",
    "Yuki",
    "Amara",
    "Omar",
];
const LAST: &[&str] = &[
    "Vance",
    "Wilber",
    "Deyoung",
    "Walker",
    "Cline",
    "Berger",
    "Siciliani",
    "Braun",
    "Archie",
    "Cerveny",
    "Krebs",
    "Lauer",
    "Sherman",
    "Gu",
    "Holloway",
    "Robbins",
    "Bowen",
    "Hunter",
    "Heilbronn",
    "Fernandez",
    "Gupta",
    "Cotter",
    "Pavlovic",
    "O'Brien",
    "Åkesson",
    "Nakamura",
    "Okafor",
    "Haddad",
    "Müller",
    "García",
];

/// A GUID-shaped id from the seeded RNG (version-4 layout).
pub(crate) fn guid(rng: &mut StdRng) -> String {
    let mut b = [0u8; 16];
    rng.fill(&mut b);
    uuid::Builder::from_random_bytes(b).into_uuid().to_string()
}

/// Method id from a credential id: base64url without padding plus the pad count as a digit.
pub(crate) fn method_id(cred_id: &[u8]) -> String {
    let pad = (3 - cred_id.len() % 3) % 3;
    format!("{}{pad}", URL_SAFE_NO_PAD.encode(cred_id))
}

/// Hex SHA-1 thumbprint (what Graph lists in `attestationCertificates`).
pub(crate) fn sha1_hex(der: &[u8]) -> String {
    sha1::Sha1::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Known AAGUIDs -> model names (a few real YubiKey entries from the FIDO MDS).
pub(crate) fn model_for(aaguid: &str) -> Option<String> {
    let m = match aaguid {
        "ee882879-721c-4913-9775-3dfcce97072a" => "YubiKey 5 Series with NFC",
        "cb69481e-8ff7-4039-93ec-0a2729a154a8" => "YubiKey 5 Series",
        "2fc0579f-8113-47ea-b116-555a8db9202a" => "YubiKey 5 Series with NFC",
        "fa2b99dc-9e39-4257-8f92-4a30d23c4118" => "YubiKey 5 Series with NFC",
        "c5ef55ff-ad9a-4b9f-b580-adebafe026d0" => "YubiKey 5Ci",
        "a4e9fc6d-4cbe-4758-b8ba-37598bb5bbaa" => "Security Key NFC by Yubico",
        // ASCII "PasskeyKioskSoft": the ctap crate's software authenticator (demo mode).
        "50617373-6b65-794b-696f-736b536f6674" => "Passkey Kiosk Software Key",
        _ => return None,
    };
    Some(m.to_owned())
}

struct Builder {
    rng: StdRng,
    objects: Vec<DirObject>,
    upn_domain: String,
    next_user: usize,
}

impl Builder {
    fn push(&mut self, display_name: String, kind: Kind) -> usize {
        let id = guid(&mut self.rng);
        self.objects.push(DirObject {
            id,
            display_name,
            kind,
        });
        self.objects.len() - 1
    }

    fn user(&mut self, guest: bool) -> usize {
        let n = self.next_user;
        self.next_user += 1;
        let given = FIRST[self.rng.gen_range(0..FIRST.len())].to_owned();
        let surname = LAST[self.rng.gen_range(0..LAST.len())].to_owned();
        let local: String = format!("{given}.{surname}{n}")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect::<String>()
            .to_lowercase();
        let upn = if guest {
            format!(
                "{local}_fabrikam.example#EXT#@{}",
                self.upn_domain
                    .replace("contoso.example", "contoso.onmicrosoft.com")
            )
        } else {
            format!("{local}@{}", self.upn_domain)
        };
        let mut user_handle = b"OF:".to_vec();
        let mut tail = [0u8; 45];
        self.rng.fill(&mut tail[..]);
        user_handle.extend_from_slice(&tail);
        let display = format!("{given} {surname}");
        self.push(
            display,
            Kind::User {
                upn,
                given_name: given,
                surname,
                guest,
                user_handle,
            },
        )
    }

    fn group(&mut self, name: &str, members: Vec<usize>) -> usize {
        self.push(name.to_owned(), Kind::Group { members })
    }
}

impl State {
    /// Generates the directory for `cfg`.
    pub fn generate(cfg: &FakeConfig) -> State {
        let mut b = Builder {
            rng: StdRng::seed_from_u64(cfg.seed),
            objects: Vec::new(),
            upn_domain: cfg.upn_domain.clone(),
            next_user: 1,
        };
        let mut scope_members: Vec<usize> = (0..cfg.users).map(|_| b.user(false)).collect();
        if cfg.mixed_members {
            // Sprinkle the non-user members between users so a client that pages must filter.
            let guest = b.user(true);
            let device = b.push("KIOSK-07".into(), Kind::Device);
            let app_id = guid(&mut b.rng);
            let sp = b.push("Provisioning App".into(), Kind::ServicePrincipal { app_id });
            let contact = b.push(
                "External Vendor".into(),
                Kind::OrgContact {
                    mail: "vendor@fabrikam.example".into(),
                },
            );
            for (i, idx) in [device, guest, sp, contact].into_iter().enumerate() {
                let at = (i + 1) * scope_members.len() / 5;
                scope_members.insert(at.min(scope_members.len()), idx);
            }
        }
        let mut nested_groups = Vec::new();
        for g in &cfg.extra_groups {
            let members: Vec<usize> = (0..g.users).map(|_| b.user(false)).collect();
            let idx = b.group(&g.display_name, members);
            if g.nested_in_scope {
                nested_groups.push(idx);
            }
        }
        // Nested groups are direct members of the scope group; their users appear only in
        // transitiveMembers.
        let at = scope_members.len() / 2;
        for (k, idx) in nested_groups.into_iter().enumerate() {
            scope_members.insert((at + k).min(scope_members.len()), idx);
        }
        let scope_group = b.group(&cfg.group_name, scope_members);
        // Created last so it doesn't shift the seeded ids of everyone else.
        let admin = b.push(
            "Kiosk Admin".into(),
            Kind::User {
                upn: format!("kiosk.admin@{}", cfg.upn_domain),
                given_name: "Kiosk".into(),
                surname: "Admin".into(),
                guest: false,
                user_handle: b"OF:kiosk-admin-user-handle".to_vec(),
            },
        );

        let mut by_id = HashMap::new();
        let mut by_upn = HashMap::new();
        for (i, o) in b.objects.iter().enumerate() {
            by_id.insert(o.id.to_lowercase(), i);
            if let Kind::User { upn, .. } = &o.kind {
                by_upn.insert(upn.to_lowercase(), i);
            }
        }

        let mut methods: HashMap<String, Vec<FakeMethod>> = HashMap::new();
        if let Some(every) = cfg.existing_methods_every_nth.filter(|n| *n > 0) {
            let created =
                super::http::iso_utc(SystemTime::now() - Duration::from_secs(86_400 * 90));
            let users: Vec<String> = b
                .objects
                .iter()
                .filter(|o| matches!(o.kind, Kind::User { guest: false, .. }))
                .map(|o| o.id.clone())
                .collect();
            for (k, uid) in users
                .iter()
                .enumerate()
                .filter(|(k, _)| k % every == every - 1)
            {
                // 16-, 32- and 48-byte ids give pad digits 2, 1 and 0.
                let len = [16usize, 32, 48][(k / every) % 3];
                let mut cred = vec![0u8; len];
                b.rng.fill(&mut cred[..]);
                let aaguid = "cb69481e-8ff7-4039-93ec-0a2729a154a8".to_owned();
                methods.entry(uid.clone()).or_default().push(FakeMethod {
                    id: method_id(&cred),
                    display_name: "YubiKey 5 (existing)".into(),
                    credential_id: cred,
                    model: model_for(&aaguid),
                    aaguid,
                    attestation_level: "attested".into(),
                    attestation_certificates: vec![sha1_hex(uid.as_bytes())],
                    created_date_time: created.clone(),
                    fmt: "seeded".into(),
                    client_extension_results: serde_json::json!({}),
                });
            }
        }
        State {
            objects: b.objects,
            by_id,
            by_upn,
            scope_group,
            methods,
            listed_from: HashMap::new(),
            challenges: HashMap::new(),
            tokens: HashMap::new(),
            devices: HashMap::new(),
            refresh_tokens: HashMap::new(),
            admin,
            id_token_tenant: None,
            certs: Vec::new(),
            faults: cfg.faults.clone(),
            fault_rng: StdRng::seed_from_u64(cfg.seed ^ 0x5eed_fa17),
            graph_requests: 0,
            rate_bucket: None,
        }
    }

    /// Finds a user by object id or UPN (both case-insensitive); non-users are not found.
    pub fn user_index(&self, key: &str) -> Option<usize> {
        let k = key.to_lowercase();
        let idx = self
            .by_id
            .get(&k)
            .or_else(|| self.by_upn.get(&k))
            .copied()?;
        matches!(self.objects.get(idx)?.kind, Kind::User { .. }).then_some(idx)
    }

    /// Direct members of a group, or the transitive closure (nested groups included as
    /// objects, each member once, in discovery order).
    pub fn members(&self, group: usize, transitive: bool) -> Vec<usize> {
        let Some(DirObject {
            kind: Kind::Group { members },
            ..
        }) = self.objects.get(group)
        else {
            return Vec::new();
        };
        if !transitive {
            return members.clone();
        }
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut stack: Vec<usize> = members.iter().rev().copied().collect();
        while let Some(i) = stack.pop() {
            if !seen.insert(i) {
                continue;
            }
            out.push(i);
            if let Some(DirObject {
                kind: Kind::Group { members },
                ..
            }) = self.objects.get(i)
            {
                stack.extend(members.iter().rev().copied());
            }
        }
        out
    }

    /// Object ids (lower-case) of every group `object` is in, nested groups included.
    pub fn groups_of(&self, object: usize) -> std::collections::HashSet<String> {
        self.objects
            .iter()
            .enumerate()
            .filter(|(_, o)| matches!(o.kind, Kind::Group { .. }))
            .filter(|(i, _)| self.members(*i, true).contains(&object))
            .map(|(_, o)| o.id.to_lowercase())
            .collect()
    }

    /// The user list tests see (the device-code administrator is not in it).
    pub fn fake_users(&self) -> Vec<FakeUser> {
        self.objects
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != self.admin)
            .filter_map(|(_, o)| Self::fake_user(o))
            .collect()
    }

    /// A directory object as a [`FakeUser`], if it is a user.
    pub fn fake_user(o: &DirObject) -> Option<FakeUser> {
        match &o.kind {
            Kind::User { upn, guest, .. } => Some(FakeUser {
                id: o.id.clone(),
                upn: upn.clone(),
                display_name: o.display_name.clone(),
                is_guest: *guest,
            }),
            _ => None,
        }
    }

    /// Drops expired tokens and long-dead challenges so a long demo doesn't grow without bound.
    pub fn gc(&mut self, now: Instant) {
        if self.tokens.len() > 1024 {
            self.tokens.retain(|_, t| t.expires > now);
        }
        if self.devices.len() > 1024 {
            self.devices.retain(|_, d| d.expires > now && !d.redeemed);
        }
        if self.challenges.len() > 4096 {
            self.challenges
                .retain(|_, c| c.expires + Duration::from_secs(3600) > now);
        }
    }
}

/// The defaults of [`ExtraGroup`] used by [`FakeConfig::default`].
pub(crate) fn default_extra_groups() -> Vec<ExtraGroup> {
    vec![ExtraGroup {
        display_name: "FIDO2 - Wave 2".into(),
        users: 3,
        nested_in_scope: true,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_id_pad_digit() {
        assert_eq!(method_id(&[0u8; 16]), format!("{}2", "A".repeat(22)));
        assert_eq!(method_id(&[0u8; 32]), format!("{}1", "A".repeat(43)));
        assert_eq!(method_id(&[0u8; 48]), format!("{}0", "A".repeat(64)));
    }

    #[test]
    fn transitive_includes_nested_users_and_group() {
        let cfg = FakeConfig {
            users: 10,
            ..FakeConfig::default()
        };
        let st = State::generate(&cfg);
        let direct = st.members(st.scope_group, false);
        let trans = st.members(st.scope_group, true);
        assert_eq!(trans.len(), direct.len() + 3);
        assert!(direct.iter().all(|i| trans.contains(i)));
    }
}
