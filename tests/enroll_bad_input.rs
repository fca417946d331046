//! Bad input does not stop a run: a truncated and a malformed CSV row, an unknown user, a key
//! that cannot hold passkeys, a key pulled out while it waits for a touch. Each is named in a
//! clear message, the others are enrolled, and nothing done is lost (the unplugged key's PIN
//! is in the journal and a retry finishes that person with the same key).

mod kit;

use std::sync::{Arc, Mutex};

use ctap::handler::{CtapHandler, PresenceContext};
use ctap::soft::{SoftAuthenticator, TouchPolicy};
use kit::keys::{pin_opens, soft_key};
use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::store::{EnrollmentState, Journal};

/// A key whose getInfo says it cannot store discoverable credentials (rk: false).
struct NoResidentKeys(SoftAuthenticator);

impl CtapHandler for NoResidentKeys {
    fn handle_cbor(&mut self, request: &[u8], presence: &dyn PresenceContext) -> Vec<u8> {
        let mut reply = self.0.process(request, presence);
        if request.first() == Some(&0x04) {
            // options map entry "rk": true (0x62 'r' 'k' 0xF5) -> false (0xF4).
            if let Some(i) = reply.windows(4).position(|w| w == [0x62, b'r', b'k', 0xF5]) {
                reply[i + 3] = 0xF4;
            }
        }
        reply
    }
    fn handle_vendor(&mut self, cmd: u8, data: &[u8]) -> Option<Vec<u8>> {
        self.0.handle_vendor(cmd, data)
    }
}

#[test]
fn bad_rows_bad_keys_and_an_unplugged_key() {
    let st = Station::new(plain_tenant(3), r#","useRandomPIN":true"#);
    let users = st.tenant.users();
    let row = |upn: &str| {
        format!("{upn},Some One,AAAA,Y2hhbGxlbmdl,2999-01-01T00:00:00Z,login.microsoft.com")
    };
    let csv = st.dir.path().join("usersToRegister.csv");
    std::fs::write(
        &csv,
        format!(
            "#User.Name,User.DisplayName,User.ID,Challenge,ChallengeExpiryTime,RP.ID\n{}\nbroken@contoso.example,Broken,AAAA\n{}\n{}\n{}\n{}\n",
            row(&users[0].upn),
            "bad@contoso.example,Bad,AAAA,not base64!,2999-01-01T00:00:00Z,login.microsoft.com",
            row("nobody@contoso.example"),
            row(&users[1].upn),
            row(&users[2].upn),
        ),
    )
    .unwrap();

    // The no-rk key is served at the station's address in place of the slot while it is in.
    let no_rk = soft_key(66_000_001);
    let refused_server = Arc::new(Mutex::new(None));
    let mut keys: Vec<SoftAuthenticator> = Vec::new();
    let mut stage = 0;
    let (status, out) = st.enroll(&["--in", csv.to_str().unwrap()], &[], |line| {
        match stage {
            // Person 1: first a key that cannot hold passkeys, then a good one.
            0 if line.contains("insert a new key for") => {
                st.unplug();
                let server =
                    ctap::hid::server::serve_udp(st.addr, NoResidentKeys(no_rk.clone())).unwrap();
                *refused_server.lock().unwrap() = Some(server);
                stage = 1;
            }
            1 if line.contains("refused") => {
                refused_server.lock().unwrap().take();
                let k = soft_key(66_000_002);
                keys.push(k.clone());
                st.slot.insert(Some(k));
                st.replug();
                stage = 2;
            }
            // Person 2: the key is pulled out while it waits for a touch.
            2 if line.contains("insert a new key for") => {
                let k = soft_key(66_000_003);
                k.touch().set(TouchPolicy::Never);
                keys.push(k.clone());
                st.slot.insert(Some(k));
                stage = 3;
            }
            3 if line.contains("touch the key") => {
                st.unplug();
                stage = 4;
            }
            // Person 3: a new key in a working port.
            4 if line.contains("insert a new key for") => {
                let k = soft_key(66_000_004);
                keys.push(k.clone());
                st.slot.insert(Some(k));
                st.replug();
                stage = 5;
            }
            _ => {}
        }
    });
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(out.contains("line 3: expected 6 columns"), "{out}");
    assert!(
        out.contains("line 4: Challenge is not base64url text"),
        "{out}"
    );
    assert!(
        out.contains("nobody@contoso.example: no such user in the tenant (request-id "),
        "{out}"
    );
    assert!(
        out.contains("serial 66000001") && out.contains("no resident-key support"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "✗ {}: the key did not answer in time",
            users[1].upn
        )),
        "{out}"
    );
    assert!(
        out.contains("summary: 2 enrolled, 0 already enrolled, 4 failed"),
        "{out}"
    );
    assert_eq!(st.tenant.registrations(&users[0].upn).len(), 1);
    assert_eq!(st.tenant.registrations(&users[1].upn).len(), 0);
    assert_eq!(st.tenant.registrations(&users[2].upn).len(), 1);
    assert!(no_rk.resident_credentials().is_empty() && no_rk.pin_retries() == 8);

    // Nothing done is lost: the unplugged key's PIN is in the journal; re-inserted, the
    // same key finishes that person (its PIN opened by the journal's copy).
    let j = Journal::open(&st.journal).unwrap();
    let failed = j.enrollments_of(&users[1].upn).unwrap().pop().unwrap();
    assert_eq!(failed.state, EnrollmentState::Failed);
    assert!(failed.pin.is_some());
    keys[1].touch().set(TouchPolicy::Immediate);
    st.slot.insert(Some(keys[1].clone()));
    let (status, out) = st.enroll(
        &[
            "--in",
            csv.to_str().unwrap(),
            "--user",
            &users[1].upn,
            "--retry-failed",
        ],
        &[],
        |_| {},
    );
    assert!(out.contains(&format!("✓ {}", users[1].upn)), "{out}");
    assert_eq!(status.code(), Some(1), "the bad rows still count: {out}");
    assert_eq!(st.tenant.registrations(&users[1].upn).len(), 1);
    let rows = st.csv_rows();
    assert_eq!(rows.len(), 3, "{rows:?}");
    let b = rows.iter().find(|r| r[0] == users[1].upn).unwrap();
    assert!(pin_opens(&keys[1], &b[3]));
}
