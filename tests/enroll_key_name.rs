//! `keyDisplayName`: the registered key's name in Entra ID follows the configured template, and
//! a template that does not fit Graph for this key and person stops the enrollment before
//! anything is written to the key.

mod kit;

use kit::keys::soft_key;
use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::store::Journal;

const RULES: &str = r#","useRandomPIN":true"#;

#[test]
fn the_key_is_named_by_the_template() {
    let st = Station::new(
        plain_tenant(1),
        &format!(r#"{RULES},"keyDisplayName":"Badge {{serial}}""#),
    );
    st.prefetch();
    let person = Journal::open(&st.journal).unwrap().queue().unwrap()[0].clone();
    st.slot.insert(Some(soft_key(74_000_001)));
    let (status, out) = st.enroll(&["--user", &person.upn], &[], |_| {});
    assert!(status.success(), "{out}");
    let methods = st.tenant.registrations(&person.user_id);
    assert_eq!(methods.len(), 1);
    assert_eq!(methods[0].display_name, "Badge 74000001");
}

#[test]
fn a_name_too_long_for_graph_stops_before_the_key_is_touched() {
    let st = Station::new(
        plain_tenant(1),
        &format!(r#"{RULES},"keyDisplayName":"{{upn}} {{model}} {{date}}""#),
    );
    st.prefetch();
    let person = Journal::open(&st.journal).unwrap().queue().unwrap()[0].clone();
    let key = soft_key(74_000_002);
    st.slot.insert(Some(key.clone()));
    let (status, out) = st.enroll(&["--user", &person.upn], &[], |_| {});
    assert!(!status.success(), "{out}");
    assert!(out.contains("shorten keyDisplayName"), "{out}");
    assert!(out.contains(&person.upn), "the name shown: {out}");
    // Nothing was written to the key or registered: it still has no PIN.
    let mut ch = ctap::hid::server::in_process(key.clone()).unwrap();
    let info = ctap::authenticator::Authenticator::new(&mut ch)
        .get_info()
        .unwrap()
        .clone();
    assert_eq!(info.option("clientPin"), Some(false));
    assert!(key.resident_credentials().is_empty());
    assert!(st.tenant.registrations(&person.user_id).is_empty());
    let journal = Journal::open(&st.journal).unwrap();
    assert!(journal
        .enrollments()
        .unwrap()
        .iter()
        .all(|e| e.pin.is_none()));
}

#[test]
fn a_bad_template_is_refused_at_start_with_what_to_write() {
    let st = Station::new(plain_tenant(1), r#","keyDisplayName":"Key {name}""#);
    let (status, out) = st.enroll(&[], &[], |_| {});
    assert!(!status.success(), "{out}");
    assert!(out.contains("keyDisplayName"), "{out}");
    assert!(out.contains("unknown placeholder {name}"), "{out}");
}
