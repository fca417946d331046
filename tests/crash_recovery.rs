//! Crash safety: the real `enroll` binary is aborted (as by `kill -9`: no destructors, no
//! flush) right after each journal commit of the workflow, using the test-only
//! `PASSKEY_KIOSK_CRASH_AFTER=<point>`; then restarted. No PIN may be lost, no key registered
//! twice, and the person ends recorded or clearly marked with what to do next.

mod kit;
#[cfg(feature = "pcsc")]
#[path = "../ctap/tests/pcsc_support/mod.rs"]
mod pcsc_support;

use kit::keys::{pin_opens, pin_token_ok};
use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::store::{EnrollmentState, Journal};

/// How the key reaches the station.
#[derive(Clone, Copy, PartialEq)]
enum Over {
    /// CTAPHID (the UDP slot standing in for USB).
    Usb,
    /// A card on a PC/SC reader (a private pcscd with vsmartcard's virtual reader).
    #[cfg(feature = "pcsc")]
    Card,
}

fn crash_and_restart(point: &str) {
    crash_and_restart_over(point, Over::Usb)
}

fn crash_and_restart_over(point: &str, over: Over) {
    let mut st = Station::new(
        plain_tenant(2),
        r#","useRandomPIN":true,"useCTAP21Features":true"#,
    );
    st.prefetch();
    let user = st.queue()[0].clone();
    let mut env: Vec<(&str, String)> = Vec::new();
    #[cfg(feature = "pcsc")]
    let (_one, _daemon, _card);
    let key = match over {
        Over::Usb => st.insert_key(77_000_001),
        #[cfg(feature = "pcsc")]
        Over::Card => {
            _one = pcsc_support::lock();
            let daemon = pcsc_support::Pcscd::start();
            daemon.export_socket();
            st.device = "pcsc:Virtual PCD 00 00".into();
            env.push(("PCSCLITE_CSOCK_NAME", daemon.socket().display().to_string()));
            let key = kit::keys::soft_key(77_000_001);
            _card =
                ctap::nfc::vpcd::VirtualCard::insert(&daemon.card_addr(0), key.clone()).unwrap();
            pcsc_support::wait_for_card("Virtual PCD 00 00", true);
            _daemon = daemon;
            key
        }
    };
    let env_with = |extra: Option<(&'static str, &'static str)>| {
        let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend(extra);
        all
    };

    let (status, out) = st.enroll(
        &["--user", &user.upn],
        &env_with(Some(("PASSKEY_KIOSK_CRASH_AFTER", point_name(point)))),
        |_| {},
    );
    assert!(
        !status.success(),
        "{point}: the crash point was not reached\n{out}"
    );
    assert!(out.contains("aborting now"), "{out}");

    // What the crash left: the PIN is in the journal from the moment it was committed.
    {
        let j = Journal::open(&st.journal).unwrap();
        let e = j.enrollments_of(&user.user_id).unwrap().pop().unwrap();
        assert_ne!(e.state, EnrollmentState::Recorded, "{point}");
        let pin = e.pin.clone().expect("the committed PIN survives the crash");
        if point == "pin_set" {
            assert!(pin_token_ok(&key, &pin), "the journal's PIN opens the key");
        }
    }

    // Restart with the same key still in.
    let (status, out) = st.enroll(
        &["--user", &user.upn, "--retry-failed"],
        &env_with(None),
        |_| {},
    );
    assert!(status.success(), "{point}\n{out}");
    assert!(out.contains("recovered: "), "{point}: {out}");
    if matches!(point, "pin_committed" | "pin_set") {
        // Nothing on Graph yet: marked with the next step, then redone with the same key.
        assert!(out.contains("re-insert key serial 77000001"), "{out}");
        // The command line names its command to finish it.
        assert!(
            out.contains(&format!("enroll --retry-failed --user {}", user.upn)),
            "{out}"
        );
        assert!(out.contains("✓ "), "{out}");
    } else {
        // The stored attestation (or the method Graph already had) is used; no new passkey.
        assert!(out.contains("already enrolled"), "{point}: {out}");
    }

    let regs = st.tenant.registrations(&user.user_id);
    assert_eq!(regs.len(), 1, "{point}: registered exactly once: {regs:?}");
    let rows = st.csv_rows();
    assert_eq!(rows.len(), 1, "{point}: one CSV row: {rows:?}");
    assert_eq!(
        (rows[0][0].as_str(), rows[0][1].as_str()),
        (user.upn.as_str(), regs[0].id.as_str())
    );
    assert_eq!(rows[0][2], "77000001");
    assert!(
        pin_opens(&key, &rows[0][3]),
        "{point}: the recorded PIN opens the key"
    );

    let j = Journal::open(&st.journal).unwrap();
    let mine = j.enrollments_of(&user.user_id).unwrap();
    assert!(
        mine.iter().any(|e| e.state == EnrollmentState::Recorded),
        "{point}"
    );
    assert!(j.unfinished_enrollments().unwrap().is_empty());
}

/// The crash points, as `'static` names for the environment.
fn point_name(point: &str) -> &'static str {
    POINTS
        .iter()
        .find(|p| **p == point)
        .copied()
        .unwrap_or_else(|| panic!("unknown crash point {point}"))
}

const POINTS: [&str; 8] = [
    "pin_committed",
    "pin_set",
    "credential_created",
    "registering",
    "post_sent",
    "registered",
    "hardened",
    "csv_written",
];

/// The same crashes with the key as a card on a reader: recovery does not depend on the
/// transport.
#[cfg(feature = "pcsc")]
mod over_pcsc {
    #[test]
    fn pin_set() {
        super::crash_and_restart_over("pin_set", super::Over::Card);
    }

    #[test]
    fn credential_created() {
        super::crash_and_restart_over("credential_created", super::Over::Card);
    }

    #[test]
    fn post_sent() {
        super::crash_and_restart_over("post_sent", super::Over::Card);
    }
}

macro_rules! crash_tests {
    ($($name:ident),*) => {$(
        #[test]
        fn $name() {
            crash_and_restart(stringify!($name));
        }
    )*};
}

crash_tests!(
    pin_committed,
    pin_set,
    credential_created,
    registering,
    post_sent,
    registered,
    hardened,
    csv_written
);

/// After a crash right after the POST was sent, Graph is unreachable at restart: the
/// enrollment is left `registering` (never a second passkey for the person), reported, and
/// settled on the next start once Graph answers.
#[test]
fn graph_unreachable_after_the_post_leaves_it_for_later() {
    use graph::fake::{Faults, RetryAfterStyle};
    use std::time::Duration;

    let st = Station::new(plain_tenant(1), r#","useRandomPIN":true"#);
    st.prefetch();
    let user = st.queue()[0].clone();
    let key = st.insert_key(77_100_001);
    let (status, _) = st.enroll(&[], &[("PASSKEY_KIOSK_CRASH_AFTER", "post_sent")], |_| {});
    assert!(!status.success());

    // Every Graph request is throttled now.
    st.tenant.set_faults(Faults {
        throttle_every_nth: Some(1),
        retry_after: RetryAfterStyle::Decimal,
        retry_after_value: Duration::from_millis(20),
        ..Faults::default()
    });
    let (status, out) = st.enroll(&["--retry-failed"], &[], |_| {});
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(
        out.contains("could not check whether the registration reached Graph"),
        "{out}"
    );
    assert!(out.contains("an earlier enrollment of"), "{out}");
    let j = Journal::open(&st.journal).unwrap();
    let states: Vec<_> = j
        .enrollments_of(&user.user_id)
        .unwrap()
        .iter()
        .map(|e| e.state)
        .collect();
    assert_eq!(states, [EnrollmentState::Registering], "no second attempt");

    st.tenant.set_faults(Faults::default());
    let (status, out) = st.enroll(&[], &[], |_| {});
    assert!(status.success(), "{out}");
    assert!(
        out.contains("the interrupted registration had reached Graph"),
        "{out}"
    );
    assert_eq!(st.tenant.registrations(&user.user_id).len(), 1);
    let rows = st.csv_rows();
    assert_eq!(rows.len(), 1);
    assert!(pin_opens(&key, &rows[0][3]));
}
