//! Never a second passkey: after a POST whose outcome is unclear, Graph's list may lag
//! behind the write (the fake's `list_lag`). The station must keep looking the method up,
//! never take the lag for a refusal and create (or register) another passkey.

mod kit;

use std::time::Duration;

use ctap::soft::SoftAuthenticator;
use graph::fake::Faults;
use kit::keys::pin_opens;
use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::store::{EnrollmentState, QueuedUser};

/// A station of one person (config `extra`) with software key `serial` plugged in.
fn station_with_key(extra: &str, serial: u32) -> (Station, QueuedUser, SoftAuthenticator) {
    let st = Station::new(plain_tenant(1), extra);
    st.prefetch();
    let user = st.queue()[0].clone();
    let key = st.insert_key(serial);
    (st, user, key)
}

/// The answer to the POST is lost and the list does not show the method for a while: the
/// job ends "outcome unknown" (not a refused challenge that would make a new passkey), and
/// the retry looks the method up instead of making and posting another credential.
#[test]
fn a_lost_answer_and_a_lagging_list_give_one_passkey() {
    let (st, user, key) = station_with_key(
        r#","useRandomPIN":true,"useCTAP21Features":true"#,
        78_000_001,
    );
    st.tenant.set_faults(Faults {
        drop_post_response_once_for: Some(user.upn.clone()),
        list_lag: Some(Duration::from_secs(8)),
        ..Faults::default()
    });
    let (status, out) = st.enroll(&["--user", &user.upn], &[], |_| {});
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(out.contains("registration outcome unknown"), "{out}");
    assert_eq!(st.tenant.registrations(&user.user_id).len(), 1, "{out}");
    assert_eq!(st.states(&user.user_id), [EnrollmentState::Registering]);

    let (status, out) = st.enroll(&["--user", &user.upn, "--retry-failed"], &[], |_| {});
    assert!(status.success(), "{out}");
    let regs = st.tenant.registrations(&user.user_id);
    assert_eq!(regs.len(), 1, "registered exactly once: {regs:?}\n{out}");
    let rows = st.csv_rows();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][1], regs[0].id);
    assert!(pin_opens(&key, &rows[0][3]));
    assert_eq!(
        st.states(&user.user_id),
        [EnrollmentState::Recorded],
        "no second enrollment"
    );
}

/// A crash right after the POST; at restart (well within the 2 s lag; the look-up after a
/// refusal waits 3 s) the list does not show the method yet and the
/// re-POST of the stored attestation is refused (its challenge is used): recovery looks
/// the method up again and records it instead of giving up.
#[test]
fn recovery_looks_up_again_after_a_refused_re_post() {
    let (st, user, key) = station_with_key(r#","useRandomPIN":true"#, 78_000_002);
    st.tenant.set_faults(Faults {
        list_lag: Some(Duration::from_millis(2000)),
        ..Faults::default()
    });
    st.enroll_crashing(&user.upn, "post_sent");
    assert_eq!(st.states(&user.user_id), [EnrollmentState::Registering]);

    let (status, out) = st.enroll(&["--user", &user.upn], &[], |_| {});
    assert!(status.success(), "{out}");
    assert!(out.contains("recovered: "), "{out}");
    let regs = st.tenant.registrations(&user.user_id);
    assert_eq!(regs.len(), 1, "{regs:?}");
    assert_eq!(
        st.states(&user.user_id),
        [EnrollmentState::Recorded],
        "{out}"
    );
    let rows = st.csv_rows();
    assert_eq!((rows.len(), rows[0][1].as_str()), (1, regs[0].id.as_str()));
    assert!(pin_opens(&key, &rows[0][3]));
}

/// The answer to the POST is lost and the look-up after it is refused (403): the
/// enrollment stays `registering` (not `failed`, which would let a retry make a second
/// passkey); once the list can be read, the next run finds and records the method.
#[test]
fn a_failed_look_up_after_a_lost_answer_leaves_the_enrollment_registering() {
    let (st, user, key) = station_with_key(r#","useRandomPIN":true"#, 78_000_003);
    st.tenant.set_faults(Faults {
        drop_post_response_once_for: Some(user.upn.clone()),
        fail_lists_with: Some(403),
        ..Faults::default()
    });
    let (status, out) = st.enroll(&["--user", &user.upn], &[], |_| {});
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(out.contains("look-up that followed failed"), "{out}");
    assert_eq!(st.states(&user.user_id), [EnrollmentState::Registering]);

    st.tenant.set_faults(Faults::default());
    let (status, out) = st.enroll(&["--user", &user.upn, "--retry-failed"], &[], |_| {});
    assert!(status.success(), "{out}");
    assert!(
        out.contains("the interrupted registration had reached Graph"),
        "{out}"
    );
    assert_eq!(st.tenant.registrations(&user.user_id).len(), 1);
    assert_eq!(st.states(&user.user_id), [EnrollmentState::Recorded]);
    assert!(pin_opens(&key, &st.csv_rows()[0][3]));
}
