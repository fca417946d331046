//! The FIDO2 policy's two shapes and `checkMemberGroups`, read by the client from the fake
//! tenant (`cargo test -p graph --features fake`): what the station's pre-flight works from.
#![cfg(feature = "fake")]

mod support;

use graph::fake::{ExtraGroup, FakeConfig, FakePolicy, FakeProfile, FakeTarget, FakeTenant};
use graph::{Credentials, GraphClient};
use support::fast_policy;

const SOFT: &str = "50617373-6b65-794b-696f-736b536f6674";

async fn tenant() -> (FakeTenant, GraphClient) {
    let fake = FakeTenant::start(FakeConfig {
        users: 3,
        mixed_members: false,
        existing_methods_every_nth: None,
        extra_groups: vec![ExtraGroup {
            display_name: "Passkey admins".into(),
            users: 2,
            nested_in_scope: false,
        }],
        ..FakeConfig::default()
    })
    .await
    .expect("fake tenant");
    let mut cfg = fake.graph_config(Credentials::secret(fake.client_secret()));
    cfg.retry = fast_policy(4, 4);
    let client = GraphClient::new(cfg).expect("client");
    (fake, client)
}

#[tokio::test]
async fn profiles_are_read_and_a_persons_groups_choose_theirs() {
    let (fake, c) = tenant().await;
    // Without profiles: the tenant-wide shape, nothing depends on groups.
    let p = c.fido2_policy().await.expect("policy");
    assert!(!p.has_profiles() && p.target_groups().is_empty());

    let admins = fake.group_ids_named("Passkey admins").remove(0);
    fake.set_fido2_policy(FakePolicy {
        profiles: vec![
            FakeProfile {
                id: "00000000-0000-0000-0000-000000000001".into(),
                name: "Default passkey profile".into(),
                passkey_types: "deviceBound,synced".into(),
                attestation_enforced: false,
                restrictions: Some(("block".into(), vec![SOFT.into()])),
            },
            FakeProfile {
                id: "0a0a0a0a-0000-4000-8000-000000000002".into(),
                name: "Admins".into(),
                passkey_types: "deviceBound".into(),
                attestation_enforced: true,
                restrictions: None,
            },
        ],
        targets: vec![
            FakeTarget {
                group: "all_users".into(),
                profiles: Vec::new(),
            },
            FakeTarget {
                group: admins.clone(),
                profiles: vec!["0a0a0a0a-0000-4000-8000-000000000002".into()],
            },
        ],
        default_profile: Some("00000000-0000-0000-0000-000000000001".into()),
        ..FakePolicy::default()
    });
    let p = c.fido2_policy().await.expect("policy");
    assert!(p.has_profiles());
    assert_eq!(
        p.default_passkey_profile.as_deref(),
        Some("00000000-0000-0000-0000-000000000001")
    );
    assert_eq!(
        p.passkey_profiles[1].attestation_enforcement,
        "registrationOnly"
    );
    assert_eq!(p.target_groups(), vec![admins.to_lowercase()]);

    // 27 ids: asked 20 at a time (the fake refuses more, as Graph does).
    let mut ids: Vec<String> = (0..25)
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect();
    ids.push(fake.group_id());
    ids.push(admins.clone());
    let users = fake.users();
    let member = &users[0];
    let admin = users.last().expect("an admin");
    let member_groups = c
        .member_groups_among(&member.id, &ids)
        .await
        .expect("groups");
    assert_eq!(member_groups, vec![fake.group_id()]);
    let admin_groups = c
        .member_groups_among(&admin.id, &ids)
        .await
        .expect("groups");
    assert_eq!(admin_groups, vec![admins.clone()]);

    // The member has only the default profile (which blocks the key); the admin has "Admins".
    let only_default = p.check_key(SOFT, Some(&member_groups));
    assert!(only_default
        .refusal
        .is_some_and(|r| r.contains("\"Default passkey profile\" key restrictions block")));
    let v = p.check_key(SOFT, Some(&admin_groups));
    assert_eq!(
        (v.refusal, v.attestation_required, v.profile.as_deref()),
        (None, true, Some("Admins"))
    );
}
