//! The FIDO2 policy pre-flight (a key the tenant's restrictions exclude is refused before
//! anything is written to it; without Policy.Read.All the run only warns) and `export`.

mod kit;

use ctap::authenticator::Authenticator;
use graph::fake::FakePolicy;
use kit::station::Station;
use kit::tenant::plain_tenant;

fn station(extra: &str) -> Station {
    let st = Station::new(plain_tenant(2), extra);
    st.prefetch();
    st
}

#[test]
fn restricted_aaguid_is_refused_before_the_key_is_touched() {
    let st = station(r#","useRandomPIN":true"#);
    st.tenant.set_fido2_policy(FakePolicy {
        self_service_allowed: false,
        restrictions: Some((
            "allow".into(),
            vec!["cb69481e-8ff7-4039-93ec-0a2729a154a8".into()],
        )),
        ..FakePolicy::default()
    });
    let key = st.insert_key(55_000_001);
    let (_, out) = st.enroll_until(&[], &[], |line| !line.contains("refused"));
    assert!(
        out.contains("check: Self-service setup allowed: WARNING"),
        "{out}"
    );
    assert!(
        out.contains("check: Key restrictions: ok: allow list of 1 AAGUID(s)"),
        "{out}"
    );
    assert!(
        out.contains("serial 55000001")
            && out.contains("AAGUID 50617373-6b65-794b-696f-736b536f6674 is not listed"),
        "{out}"
    );
    // Nothing was written to the key.
    let mut ch = ctap::hid::server::in_process(key.clone()).unwrap();
    let info = Authenticator::new(&mut ch).get_info().unwrap().clone();
    assert_eq!(info.option("clientPin"), Some(false));
    assert!(key.resident_credentials().is_empty());
}

#[test]
fn without_policy_permission_it_warns_and_enrolls_then_exports() {
    let st = station(r#","useRandomPIN":true,"keepPinsInJournal":true,"operatorName":"Desk 7""#);
    st.tenant.set_fido2_policy(FakePolicy {
        readable: false,
        ..FakePolicy::default()
    });
    let mut n = 0;
    let (status, out) = st.enroll(&[], &[], |line| {
        if line.contains("insert a new key for") {
            n += 1;
            st.insert_key(55_100_000 + n);
        }
    });
    assert!(status.success(), "{out}");
    assert!(
        out.contains("check: FIDO2 method policy: ok: not checked: the app may not read it (grant Policy.Read.All")
            && out.contains("(request-id "),
        "{out}"
    );
    assert!(out.contains("summary: 2 enrolled"), "{out}");

    // keysRegistered.csv again from the journal: PINs included because the config keeps them.
    let export = st.dir.path().join("export.csv");
    let o = st.run("export", &["--out", export.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(&export).unwrap(),
        std::fs::read_to_string(&st.out).unwrap()
    );
    // The export is audited, saying that PINs left the journal in it.
    let log = passkey_kiosk::store::Journal::open(&st.journal)
        .unwrap()
        .audit_log()
        .unwrap();
    let last = log.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.operator.as_str()),
        ("export", "Desk 7")
    );
    assert!(last.result.contains("PINs included (2)"), "{last:?}");
    // An export never overwrites.
    let o = st.run("export", &["--out", export.to_str().unwrap()]);
    assert!(!o.status.success());

    let audit = st.dir.path().join("audit.csv");
    let o = st.run("export", &["--audit", "--out", audit.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&audit).unwrap();
    assert!(
        text.starts_with("at,operator,action,subject,result,requestIds,station\n"),
        "{text}"
    );
    assert_eq!(text.matches(",Desk 7,register,").count(), 2, "{text}");
    assert_eq!(text.matches(",Desk 7,enroll,").count(), 2, "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in [&export, &audit] {
            assert_eq!(
                std::fs::metadata(f).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}
