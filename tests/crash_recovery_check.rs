//! After a crash, recovery settles the registration without the person at the station: it
//! must still compare what Graph registered with the key, as the job does right after its
//! registration. The real `enroll` binary is aborted at a crash point (test-only
//! `PASSKEY_KIOSK_CRASH_AFTER`); at restart Graph describes the passkey as another,
//! unattested model: the run fails naming the difference, the audit log holds it, and the
//! passkey (which is on the key) stays registered once and recorded.

mod kit;

use graph::fake::Faults;
use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::store::{EnrollmentState, Journal};

const SOFT: &str = "50617373-6b65-794b-696f-736b536f6674";
const OTHER: &str = "cb69481e-8ff7-4039-93ec-0a2729a154a8";

fn recovery_compares_the_method_with_the_key(point: &'static str) {
    let st = Station::new(plain_tenant(1), r#","useRandomPIN":true"#);
    st.prefetch();
    let user = st.queue()[0].clone();
    st.insert_key(77_200_001);
    let (status, out) = st.enroll(&[], &[("PASSKEY_KIOSK_CRASH_AFTER", point)], |_| {});
    assert!(!status.success(), "{point}: not reached\n{out}");
    assert!(out.contains("aborting now"), "{point}: {out}");

    st.tenant.set_faults(Faults {
        misreported_registration: true,
        ..Faults::default()
    });
    let (status, out) = st.enroll(&["--retry-failed"], &[], |_| {});
    assert!(
        !status.success(),
        "{point}: a difference fails the run\n{out}"
    );
    let line = out
        .lines()
        .find(|l| l.contains(&format!("the passkey of {} was registered", user.upn)))
        .unwrap_or_else(|| panic!("{point}: no difference reported\n{out}"));
    assert!(
        line.contains(&format!(
            "Graph registered AAGUID {OTHER} (YubiKey 5 Series), the key reported {SOFT}"
        )),
        "{point}: {line}"
    );
    assert!(
        out.lines().any(|l| l.starts_with("recovered: ")
            && l.contains(&format!("but Graph registered AAGUID {OTHER}"))),
        "{point}: the recovery note names it\n{out}"
    );

    let journal = Journal::open(&st.journal).unwrap();
    let audit = journal.audit_log().unwrap();
    let checks: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "verify-registration")
        .collect();
    assert_eq!(checks.len(), 1, "{point}: {audit:?}");
    assert_eq!(checks[0].subject.as_deref(), Some(user.upn.as_str()));
    assert!(
        checks[0]
            .result
            .starts_with("mismatch: Graph registered AAGUID"),
        "{point}: {:?}",
        checks[0]
    );
    // The passkey is on the key: registered once, recorded, the difference on the record.
    let regs = st.tenant.registrations(&user.user_id);
    assert_eq!(regs.len(), 1, "{point}: {regs:?}");
    assert_eq!(regs[0].aaguid, SOFT, "the fake stored the key's model");
    let e = journal
        .enrollments_of(&user.user_id)
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(e.state, EnrollmentState::Recorded, "{point}");
    assert!(
        e.last_error
            .as_deref()
            .is_some_and(|n| n.contains("Graph registered AAGUID")),
        "{point}: {:?}",
        e.last_error
    );
}

/// The crash left a stored attestation: recovery registers it.
#[test]
fn a_stored_passkey_registered_by_recovery() {
    recovery_compares_the_method_with_the_key("credential_created");
}

/// The POST was sent: recovery finds the method Graph has.
#[test]
fn a_method_found_after_the_post() {
    recovery_compares_the_method_with_the_key("post_sent");
}

/// Registered, but stopped before the job's own check.
#[test]
fn a_method_registered_before_the_crash() {
    recovery_compares_the_method_with_the_key("registered");
}
