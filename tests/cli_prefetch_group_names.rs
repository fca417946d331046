//! `prefetch` through the binary for scope groups whose display names broke other tools:
//! quotes (OData doubles `'` inside its string literal), characters that mean something in a
//! URL (`&`, `+`, `#`), non-ASCII letters, and several groups sharing one name (refused with
//! every id named, then resolved by `usersInScopeGroupId`). The fake tenant parses `$filter`
//! strictly, so a quote that is not doubled or a character that is not percent-encoded ends in
//! a 400 or in no match, never in the right group by luck.

mod kit;

use graph::fake::{self, ExtraGroup, FakeConfig, FakeTenantHandle};
use kit::bin::{prefetch, streams};
use kit::config::write_config;
use passkey_kiosk::report::users_to_register;
use serde_json::json;

const NAMES: [&str; 4] = [
    "O'Brien \"Ops\"",
    "Équipe Zürich",
    "Финансы",
    "R&D + Ops #1 (50%)",
];

/// A tenant whose scope group is `name` with 3 users, beside a group of 2 users whose name is
/// a prefix of it, and `same_name` more groups of 1 user named exactly `name`.
fn tenant(name: &str, same_name: usize) -> FakeTenantHandle {
    let prefix: String = name.chars().take(name.chars().count() / 2).collect();
    let mut extra_groups = vec![ExtraGroup {
        display_name: prefix,
        users: 2,
        nested_in_scope: false,
    }];
    extra_groups.extend((0..same_name).map(|_| ExtraGroup {
        display_name: name.to_owned(),
        users: 1,
        nested_in_scope: false,
    }));
    fake::spawn_in_thread(FakeConfig {
        users: 3,
        group_name: name.to_owned(),
        extra_groups,
        mixed_members: false,
        existing_methods_every_nth: None,
        ..FakeConfig::default()
    })
    .unwrap()
}

/// The UPNs of the scope group's users, sorted.
fn scope_upns(t: &FakeTenantHandle) -> Vec<String> {
    let mut upns: Vec<String> = t.users().into_iter().take(3).map(|u| u.upn).collect();
    upns.sort();
    upns
}

/// The UPNs usersToRegister.csv lists, sorted.
fn csv_upns(dir: &std::path::Path) -> Vec<String> {
    let raw = std::fs::read_to_string(dir.join("usersToRegister.csv")).unwrap();
    let (rows, errors) = users_to_register::read(raw.as_bytes()).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let mut upns: Vec<String> = rows.into_iter().map(|r| r.upn).collect();
    upns.sort();
    upns
}

#[test]
fn a_group_name_with_quotes_url_characters_or_non_ascii_letters_is_found_exactly() {
    for name in NAMES {
        let t = tenant(name, 0);
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), &t, json!({"usersInScopeGroup": name}));
        let out = prefetch(&config, &[]);
        let (stdout, stderr) = streams(&out);
        assert_eq!(out.status.code(), Some(0), "{name}: {stdout}{stderr}");
        assert!(
            stdout.contains(&format!("Group {name:?} ({})", t.group_id())),
            "{name}: {stdout}"
        );
        // The scope group's people, not those of the group named like its first half.
        assert_eq!(csv_upns(dir.path()), scope_upns(&t), "{name}");
    }
}

#[test]
fn several_groups_sharing_a_quoted_or_non_ascii_name_are_refused_naming_every_id() {
    for name in NAMES {
        let t = tenant(name, 2);
        let ids = t.group_ids_named(name);
        assert_eq!(ids.len(), 3, "{name}");
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), &t, json!({"usersInScopeGroup": name}));
        let out = prefetch(&config, &[]);
        let (stdout, stderr) = streams(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {stdout}{stderr}");
        assert!(
            stderr.contains(&format!("3 groups are named {name:?}")),
            "{name}: {stderr}"
        );
        for id in &ids {
            assert!(stderr.contains(id.as_str()), "{name}: {id} in {stderr}");
        }
        assert!(stderr.contains("by object id"), "{name}: {stderr}");
        assert!(
            !dir.path().join("usersToRegister.csv").exists(),
            "nothing is written for an ambiguous group"
        );

        // Configured by object id, the same tenant gives the scope group's people.
        let config = write_config(
            dir.path(),
            &t,
            json!({"usersInScopeGroup": null, "usersInScopeGroupId": t.group_id()}),
        );
        let out = prefetch(&config, &[]);
        assert_eq!(out.status.code(), Some(0), "{name}: {:?}", streams(&out));
        assert_eq!(csv_upns(dir.path()), scope_upns(&t), "{name}");
    }
}
