//! The FIDO2 policy with passkey profiles, end to end through `enroll`, the fake tenant (which
//! serves the profiles and enforces the person's at registration) and the software key: the
//! station refuses, before anything is written to it, a key none of the person's profiles
//! takes (as Graph would, shown by the same run without the pre-flight); takes a key the
//! profile of the person's group allows; and after a registration flags, audited with
//! Graph's request-id, an answer that names another model or an unattested passkey.

mod kit;

use ctap::authenticator::Authenticator;
use graph::fake::{FakePolicy, FakeProfile, FakeTarget, Faults};
use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::store::Journal;

/// The software key's AAGUID ("PasskeyKioskSoft").
const SOFT: &str = "50617373-6b65-794b-696f-736b536f6674";
const YUBIKEY_5: &str = "cb69481e-8ff7-4039-93ec-0a2729a154a8";
const DEFAULT_ID: &str = "00000000-0000-0000-0000-000000000001";
const STAFF_ID: &str = "6f1c2b3a-0000-4000-8000-0000000000aa";

fn station() -> Station {
    let st = Station::new(plain_tenant(1), r#","useRandomPIN":true"#);
    st.prefetch();
    st
}

/// The migrated default profile for everyone (YubiKey 5 only), and "Kiosk staff" for the
/// members of the scope group.
fn profiles(st: &Station, staff: FakeProfile) -> FakePolicy {
    FakePolicy {
        profiles: vec![
            FakeProfile {
                id: DEFAULT_ID.into(),
                name: "Default passkey profile".into(),
                passkey_types: "deviceBound,synced".into(),
                attestation_enforced: false,
                restrictions: Some(("allow".into(), vec![YUBIKEY_5.into()])),
            },
            FakeProfile {
                id: STAFF_ID.into(),
                name: "Kiosk staff".into(),
                ..staff
            },
        ],
        targets: vec![
            FakeTarget {
                group: "all_users".into(),
                profiles: vec![DEFAULT_ID.into()],
            },
            FakeTarget {
                group: st.tenant.group_id(),
                profiles: vec![STAFF_ID.into()],
            },
        ],
        default_profile: Some(DEFAULT_ID.into()),
        ..FakePolicy::default()
    }
}

fn staff(attestation_enforced: bool, restrictions: Option<(String, Vec<String>)>) -> FakeProfile {
    FakeProfile {
        id: String::new(),
        name: String::new(),
        passkey_types: "deviceBound".into(),
        attestation_enforced,
        restrictions,
    }
}

/// `enroll` of the queue, a fresh key with this serial plugged in when asked for.
fn enroll_with_key(st: &Station, serial: u32) -> (std::process::ExitStatus, String) {
    st.enroll(&[], &[], |line| {
        if line.contains("insert a new key for") {
            st.insert_key(serial);
        }
    })
}

fn checked_member_groups(st: &Station) -> bool {
    st.tenant
        .graph_requests()
        .iter()
        .any(|r| r.method == "POST" && r.path.ends_with("/checkMemberGroups"))
}

#[test]
fn a_key_none_of_the_persons_profiles_takes_is_refused_first_as_graph_refuses_it() {
    let st = station();
    let upn = st.queue()[0].upn.clone();
    let blocked = staff(false, Some(("block".into(), vec![SOFT.into()])));
    st.tenant.set_fido2_policy(profiles(&st, blocked.clone()));

    let key = st.insert_key(56_000_001);
    let (_, out) = st.enroll_until(&[], &[], |line| !line.contains("refused"));
    assert!(
        out.contains("check: Key restrictions: ok: passkey profiles \"Default passkey profile\", \"Kiosk staff\""),
        "{out}"
    );
    // Both profiles the person has are named, each with its reason.
    assert!(
        out.contains("serial 56000001")
            && out.contains(&format!("passkey profile \"Default passkey profile\" key restrictions allow only listed models, and AAGUID {SOFT} is not listed"))
            && out.contains(&format!("passkey profile \"Kiosk staff\" key restrictions block this model (AAGUID {SOFT})")),
        "{out}"
    );
    assert!(
        checked_member_groups(&st),
        "the person's groups were not read"
    );
    // Nothing was written to the key, nothing registered.
    let mut ch = ctap::hid::server::in_process(key.clone()).unwrap();
    let info = Authenticator::new(&mut ch).get_info().unwrap().clone();
    assert_eq!(info.option("clientPin"), Some(false));
    assert!(key.resident_credentials().is_empty());
    assert!(st.tenant.registrations(&upn).is_empty());

    // The same tenant when the station may not read the policy: the key is written to and
    // Graph (the fake, enforcing the person's profiles) refuses the registration.
    st.tenant.set_fido2_policy(FakePolicy {
        readable: false,
        ..profiles(&st, blocked)
    });
    // A fresh key in place of the refused one before the run starts (a swap while the run
    // uses the slot would pull the key from under it).
    st.insert_key(56_000_002);
    let (status, out) = st.enroll(&["--retry-failed"], &[], |_| {});
    assert!(!status.success(), "{out}");
    assert!(
        out.contains(
            "not allowed by the user's passkey profiles (Default passkey profile, Kiosk staff)"
        ),
        "{out}"
    );
    assert!(st.tenant.registrations(&upn).is_empty());
}

#[test]
fn a_key_the_profile_of_the_persons_group_takes_is_enrolled_attested() {
    let st = station();
    let upn = st.queue()[0].upn.clone();
    // The default profile would refuse the software key; "Kiosk staff" (the scope group's)
    // takes any device-bound key, attested.
    st.tenant.set_fido2_policy(profiles(&st, staff(true, None)));
    let (status, out) = enroll_with_key(&st, 56_100_001);
    assert!(status.success(), "{out}");
    assert!(out.contains("summary: 1 enrolled"), "{out}");
    assert!(
        !out.contains("registration-mismatch") && !out.contains("but Graph"),
        "{out}"
    );
    assert!(
        checked_member_groups(&st),
        "the person's groups were not read"
    );
    let registered = st.tenant.registrations(&upn);
    assert_eq!(registered.len(), 1);
    assert_eq!(
        (
            registered[0].aaguid.as_str(),
            registered[0].attestation_level.as_str()
        ),
        (SOFT, "attested")
    );
}

#[test]
fn a_registration_answer_that_differs_from_the_key_is_an_audited_error() {
    let st = station();
    let upn = st.queue()[0].upn.clone();
    st.tenant.set_fido2_policy(profiles(&st, staff(true, None)));
    st.tenant.set_faults(Faults {
        misreported_registration: true,
        ..Faults::default()
    });
    let (status, out) = enroll_with_key(&st, 56_200_001);
    // The passkey is registered (it is on the key), but the run fails and says why.
    assert!(!status.success(), "{out}");
    assert_eq!(st.tenant.registrations(&upn).len(), 1);
    let line = out
        .lines()
        .find(|l| l.contains(&format!("the passkey of {upn} was registered")))
        .unwrap_or_else(|| panic!("no mismatch reported: {out}"));
    assert!(
        line.contains(&format!(
            "Graph registered AAGUID {YUBIKEY_5} (YubiKey 5 Series), the key reported {SOFT}"
        )) && line.contains("attestation is enforced for this person and Graph registered the passkey as notAttested")
            && line.contains("(request-id "),
        "{line}"
    );
    // Audited with Graph's request-id, and noted on the enrollment.
    let journal = Journal::open(&st.journal).unwrap();
    let entry = journal
        .audit_log()
        .unwrap()
        .into_iter()
        .find(|e| e.action == "verify-registration")
        .expect("no audit entry");
    assert_eq!(entry.subject.as_deref(), Some(upn.as_str()));
    assert!(
        entry
            .result
            .starts_with("mismatch: Graph registered AAGUID"),
        "{entry:?}"
    );
    assert!(
        !entry.request_ids.is_empty() && line.contains(entry.request_ids.as_str()),
        "{entry:?} / {line}"
    );
}

#[test]
fn a_key_that_cannot_be_attested_is_refused_where_the_profile_enforces_attestation() {
    let st = station();
    let upn = st.queue()[0].upn.clone();
    let policy = FakePolicy {
        profiles: vec![FakeProfile {
            id: STAFF_ID.into(),
            name: "Attested keys".into(),
            ..staff(true, None)
        }],
        ..FakePolicy::default()
    };
    st.tenant.set_fido2_policy(policy.clone());
    // A key that names no model (nil AAGUID): nothing to look its attestation up by.
    let nameless = || {
        ctap::soft::SoftAuthenticator::new(ctap::soft::SoftConfig {
            aaguid: [0; 16],
            serial: 56_300_001,
            ..ctap::soft::SoftConfig::default()
        })
        .unwrap()
    };
    let key = nameless();
    st.slot.insert(Some(key.clone()));
    let (_, out) = st.enroll_until(&[], &[], |line| !line.contains("refused"));
    assert!(
        out.contains("passkey profile \"Attested keys\" enforces attestation, and the key reports no AAGUID (it cannot be attested)"),
        "{out}"
    );
    // Everyone's profile: no group to read.
    assert!(!checked_member_groups(&st));
    assert!(key.resident_credentials().is_empty());

    // Without the pre-flight, Graph refuses it.
    st.tenant.set_fido2_policy(FakePolicy {
        readable: false,
        ..policy
    });
    st.slot.insert(Some(nameless()));
    let (status, out) = st.enroll(&["--retry-failed"], &[], |_| {});
    assert!(!status.success(), "{out}");
    assert!(
        out.contains("not allowed by the user's passkey profiles (Attested keys)"),
        "{out}"
    );
    assert!(st.tenant.registrations(&upn).is_empty());
}

#[test]
fn when_the_persons_groups_cannot_be_read_a_key_some_profile_takes_is_not_refused() {
    let st = station();
    let upn = st.queue()[0].upn.clone();
    st.tenant
        .set_fido2_policy(profiles(&st, staff(false, None)));
    st.tenant.set_faults(Faults {
        fail_member_groups_with: Some(403),
        ..Faults::default()
    });
    let (status, out) = enroll_with_key(&st, 56_400_001);
    // The station could not tell the person's profiles, so only a key no profile takes would
    // be refused; Graph, which knows them, takes it under "Kiosk staff".
    assert!(status.success(), "{out}");
    assert!(checked_member_groups(&st));
    assert_eq!(st.tenant.registrations(&upn).len(), 1);
}
