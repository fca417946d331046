//! `x-ms-throttle-priority`: bulk prefetch asks Graph for Low, the enrollment a person waits on
//! for High, as the fake tenant saw the requests.

mod kit;

use kit::keys::soft_key;
use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::store::Journal;

#[test]
fn prefetch_is_low_and_the_enrollment_is_high() {
    let st = Station::new(plain_tenant(3), r#","useRandomPIN":true"#);
    st.prefetch();
    let after_prefetch = st.tenant.graph_requests();
    let options: Vec<_> = after_prefetch
        .iter()
        .filter(|r| r.path.contains("/creationOptions"))
        .collect();
    assert_eq!(options.len(), 3, "{after_prefetch:?}");
    assert!(
        after_prefetch
            .iter()
            .all(|r| r.priority.as_deref() == Some("Low")),
        "every prefetch request is Low: {after_prefetch:?}"
    );

    let person = Journal::open(&st.journal).unwrap().queue().unwrap()[0].clone();
    st.slot.insert(Some(soft_key(75_000_001)));
    let (status, out) = st.enroll(&["--user", &person.upn], &[], |_| {});
    assert!(status.success(), "{out}");
    let enrollment = &st.tenant.graph_requests()[after_prefetch.len()..];
    let post = enrollment
        .iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/fido2Methods"))
        .unwrap_or_else(|| panic!("no registration: {enrollment:?}"));
    assert_eq!(post.priority.as_deref(), Some("High"), "{post:?}");
    assert!(
        enrollment
            .iter()
            .all(|r| r.priority.as_deref() == Some("High")),
        "{enrollment:?}"
    );
}
