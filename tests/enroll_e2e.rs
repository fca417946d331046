//! `enroll` end to end: 20 people, a fresh software key each (plugged in when the binary asks),
//! the fake tenant injecting faults (429, 503, a dropped POST answer, 3-second tokens, and
//! challenges that expire before their key arrives, announced or not).

mod kit;

use std::collections::HashSet;
use std::time::Duration;

use graph::fake::{FakeConfig, Faults, RetryAfterStyle};
use kit::keys::{pin_opens, soft_key};
use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::config::Config;
use passkey_kiosk::engine::options;
use passkey_kiosk::store::{EnrollmentState, Journal};

const USERS: usize = 20;

#[test]
fn twenty_people_with_faults() {
    let st = Station::new(
        FakeConfig {
            existing_methods_every_nth: Some(7),
            // Tokens expire every few seconds during the run.
            token_lifetime: Duration::from_secs(3),
            ..plain_tenant(USERS)
        },
        r#","useRandomPIN":true,"useCTAP21Features":true,"deleteExistingUserFIDOCredentials":true"#,
    );
    st.prefetch();

    let config = Config::load(&st.config).unwrap();
    let client = passkey_kiosk::tenant::connect(&config).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut journal = Journal::open(&st.journal).unwrap();
    let queue = journal.queue().unwrap();
    assert_eq!(queue.len(), USERS);

    // Person 10's options are about to expire (an old prefetch): the station must fetch
    // fresh ones before the key. Person 15's challenge dies early although Graph announced
    // an hour: the POST is refused and the station must recover with new options.
    let announced = &queue[9];
    st.tenant.set_faults(Faults {
        challenge_timeout_override: Some(Duration::from_secs(1)),
        ..Faults::default()
    });
    let mut stale = rt
        .block_on(options::refresh(&client, announced, 60))
        .unwrap();
    let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(30);
    stale.challenge.expires_at = Some(soon.unix_timestamp());
    let silent = rt
        .block_on(options::refresh(&client, &queue[14], 60))
        .unwrap();
    journal.upsert_queue(&[stale.clone(), silent]).unwrap();

    st.tenant.set_faults(Faults {
        throttle_every_nth: Some(9),
        throttle_503_every_nth: Some(13),
        retry_after: RetryAfterStyle::Decimal,
        retry_after_value: Duration::from_millis(200),
        drop_post_response_once_for: Some(queue[2].upn.clone()),
        ..Faults::default()
    });

    let mut keys = Vec::new();
    let (status, out) = st.enroll(&["--yes"], &[], |line| {
        if line.contains("insert a new key for") {
            let key = soft_key(50_000_000 + keys.len() as u32);
            keys.push(key.clone());
            st.slot.insert(Some(key));
        }
    });
    assert!(status.success(), "{out}");
    assert_eq!(out.matches("  ✓ ").count(), USERS, "{out}");
    assert!(
        out.contains("summary: 20 enrolled, 0 already enrolled, 0 failed"),
        "{out}"
    );
    assert!(st.tenant.throttled_count() > 0 && st.tenant.faulted_count() > 0);

    // Graph: exactly one method per person, ours (older ones deleted after it).
    let rows = st.csv_rows();
    assert_eq!(rows.len(), USERS, "{rows:?}");
    for q in &queue {
        let regs = st.tenant.registrations(&q.user_id);
        assert_eq!(regs.len(), 1, "{}: {regs:?}", q.upn);
        assert!(regs[0].display_name.starts_with("Serial: 5000"), "{regs:?}");
        let row = rows.iter().find(|r| r[0] == q.upn).unwrap();
        assert_eq!(row[1], regs[0].id);
    }
    let upns: HashSet<_> = rows.iter().map(|r| r[0].clone()).collect();
    let methods: HashSet<_> = rows.iter().map(|r| r[1].clone()).collect();
    assert_eq!((upns.len(), methods.len()), (USERS, USERS), "no duplicates");

    // Each random PIN opens its key; a wrong one does not.
    assert!(!pin_opens(&keys[0], "000000"));
    for row in &rows {
        let key = keys
            .iter()
            .find(|k| k.config().serial.to_string() == row[2])
            .unwrap();
        assert_eq!(row[3].len(), 6);
        assert!(pin_opens(key, &row[3]), "{row:?}");
    }

    // The journal: everything recorded, PINs purged once written to the CSV.
    let journal = Journal::open(&st.journal).unwrap();
    let all = journal.enrollments().unwrap();
    assert_eq!(all.len(), USERS);
    assert!(all
        .iter()
        .all(|e| e.state == EnrollmentState::Recorded && e.pin.is_none()));
    // Person 10 got a fresh challenge before the key was used.
    let e10 = all.iter().find(|e| e.user_id == stale.user_id).unwrap();
    let cd = String::from_utf8(e10.client_data_json.clone().unwrap()).unwrap();
    assert!(!cd.contains(&stale.challenge.options.challenge), "{cd}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&st.out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // A second run changes nothing: everyone is skipped.
    let (status, out) = st.enroll(&["--yes"], &[], |_| {});
    assert!(status.success(), "{out}");
    assert!(out.contains("0 enrolled, 20 already enrolled"), "{out}");
    assert_eq!(st.csv_rows().len(), USERS);
}

/// Without CTAP 2.1 hardening the key is free once the passkey exists: the next person's key
/// starts while the registration (with faults) finishes in the background.
#[test]
fn registrations_in_the_background() {
    let st = Station::new(
        plain_tenant(8),
        r#","useRandomPIN":true,"useCTAP21Features":false"#,
    );
    st.prefetch();
    let queue = st.queue();
    st.tenant.set_faults(Faults {
        latency: Duration::from_millis(100),
        throttle_every_nth: Some(5),
        retry_after: RetryAfterStyle::Decimal,
        retry_after_value: Duration::from_millis(100),
        drop_post_response_once_for: Some(queue[3].upn.clone()),
        ..Faults::default()
    });
    let mut keys = Vec::new();
    let (status, out) = st.enroll(&[], &[], |line| {
        if line.contains("insert a new key for") {
            let key = soft_key(51_000_000 + keys.len() as u32);
            keys.push(key.clone());
            st.slot.insert(Some(key));
        }
    });
    assert!(status.success(), "{out}");
    assert_eq!(
        out.matches("registering in Entra ID in the background")
            .count(),
        8,
        "{out}"
    );
    assert!(
        out.contains("summary: 8 enrolled, 0 already enrolled, 0 failed"),
        "{out}"
    );
    let rows = st.csv_rows();
    assert_eq!(rows.len(), 8);
    for q in &queue {
        assert_eq!(st.tenant.registrations(&q.user_id).len(), 1, "{}", q.upn);
    }
    for row in &rows {
        let key = keys
            .iter()
            .find(|k| k.config().serial.to_string() == row[2])
            .unwrap();
        assert!(pin_opens(key, &row[3]), "{row:?}");
    }
}
