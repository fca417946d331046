//! Fake tenants of the shapes the tests use.

use graph::fake::FakeConfig;

/// A tenant of `users` plain members: all in the scope group directly, no other groups, no
/// methods already registered.
pub fn plain_tenant(users: usize) -> FakeConfig {
    FakeConfig {
        users,
        mixed_members: false,
        extra_groups: Vec::new(),
        existing_methods_every_nth: None,
        ..FakeConfig::default()
    }
}
