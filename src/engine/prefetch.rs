//! Step 1 of the proof of concept as a library call: resolve the scope group, list its user
//! members, and fetch each user's WebAuthn creation options (and, when older keys are to be
//! replaced, record their existing FIDO2 method ids) concurrently through the Graph client's
//! shared limit. The CLI (`passkey-kiosk prefetch`) prints and saves the result; the kiosk can
//! call the same function for its queue.
//!
//! Existing methods are only RECORDED here, never deleted: deletion belongs after the user's new
//! key is registered, so nobody is ever left without a key (the proof of concept deleted first).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use graph::{GraphClient, Group, IssuedOptions, SkipReason, SkippedMember, User};

use super::options;
use crate::config::{Config, GroupRef};
use crate::report::users_to_register::{self, UserRow};
use crate::store::{now_unix, Journal, QueuedUser, StoreError};

/// Why a prefetch, or saving its report, failed as a whole (one user's failure is a
/// [`Failure`] in the report instead). Each message says what was being done; the cause is
/// the source, so `{:#}` through anyhow reads `signing in to Entra ID: <Graph's error>`.
/// A group that is not found, or whose name matches several groups, is
/// [`PrefetchError::Group`] holding Graph's `GroupNotFound` / `AmbiguousGroup`.
#[derive(Debug, thiserror::Error)]
pub enum PrefetchError {
    /// Signing in to Entra ID failed.
    #[error("signing in to Entra ID")]
    SignIn(#[source] graph::Error),
    /// The scope group could not be resolved (not found, ambiguous, or Graph failed).
    #[error("finding the users-in-scope group")]
    Group(#[source] graph::Error),
    /// Listing the group's members failed (on any page: a report is never short).
    #[error("listing the members of group {group_id}")]
    Members {
        /// The group's object id.
        group_id: String,
        /// Graph's error (boxed: with the group id beside it, inline it would make every
        /// `Result` carrying this error large).
        #[source]
        source: Box<graph::Error>,
    },
    /// A fetch task panicked or was cancelled.
    #[error("a prefetch task stopped unexpectedly")]
    Task(#[source] tokio::task::JoinError),
    /// The journal could not be read or written.
    #[error("{doing}")]
    Journal {
        /// What was being done.
        doing: &'static str,
        /// The journal's error.
        #[source]
        source: StoreError,
    },
    /// `usersToRegister.csv` could not be written (the previous file is left as it was).
    #[error("writing {}", path.display())]
    CsvWrite {
        /// The CSV's path.
        path: PathBuf,
        /// The I/O (or CSV encoding) error.
        #[source]
        source: std::io::Error,
    },
}

impl PrefetchError {
    /// The Graph error behind it (sign-in, group, members), for its request-id and remedy.
    pub fn graph_error(&self) -> Option<&graph::Error> {
        match self {
            PrefetchError::SignIn(e) | PrefetchError::Group(e) => Some(e),
            PrefetchError::Members { source, .. } => Some(source.as_ref()),
            PrefetchError::Task(_)
            | PrefetchError::Journal { .. }
            | PrefetchError::CsvWrite { .. } => None,
        }
    }

    /// Graph's request-id of the failed answer, if Graph answered.
    pub fn request_id(&self) -> Option<&str> {
        self.graph_error().and_then(graph::Error::request_id)
    }
}

/// What to prefetch (the relevant part of `configs.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefetchRequest {
    /// Scope group, by name or id.
    pub group: GroupRef,
    /// `transitiveMembers` instead of `members`.
    pub include_nested_groups: bool,
    /// `challengeTimeoutInMinutes` asked of Graph.
    pub challenge_timeout_minutes: u32,
    /// List and record each user's existing FIDO2 method ids (deleteExistingUserFIDOCredentials).
    pub record_existing_methods: bool,
}

impl PrefetchRequest {
    /// The request a config describes.
    pub fn from_config(config: &Config) -> Self {
        PrefetchRequest {
            group: config.group.clone(),
            include_nested_groups: config.include_nested_groups,
            challenge_timeout_minutes: config.challenge_timeout_minutes,
            record_existing_methods: config.delete_existing_credentials,
        }
    }
}

/// A user whose creation options were fetched.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The member as Graph listed it.
    pub user: User,
    /// Graph's creation options, converted, with their expiry.
    pub options: IssuedOptions,
    /// Method ids the user had before (empty unless `record_existing_methods`).
    pub existing_method_ids: Vec<String>,
    /// When the options arrived (Unix seconds).
    pub fetched_at: i64,
}

/// A user for whom prefetch failed; the others are unaffected.
#[derive(Debug)]
pub struct Failure {
    /// The member as Graph listed it.
    pub user: User,
    /// What was being done.
    pub step: &'static str,
    /// Why (its text carries Graph's request-id when there was an answer).
    pub error: graph::Error,
}

impl Failure {
    /// Graph's request-id of the failed answer, if any.
    pub fn request_id(&self) -> Option<&str> {
        self.error.request_id()
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", upn(&self.user), self.step, self.error)
    }
}

/// One member user's result.
#[derive(Debug)]
pub enum UserOutcome {
    /// Options fetched.
    Fetched(Box<Fetched>),
    /// Something failed for this user.
    Failed(Box<Failure>),
}

/// Everything a prefetch found, users in member order.
#[derive(Debug)]
pub struct PrefetchReport {
    /// The scope group.
    pub group: Group,
    /// Whether nested groups were flattened.
    pub transitive: bool,
    /// Members that are not users, and guests.
    pub skipped: Vec<SkippedMember>,
    /// One outcome per member user, in member order.
    pub outcomes: Vec<UserOutcome>,
}

/// Progress notifications, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Members listed: this many users will be fetched.
    Members {
        /// Member users.
        users: usize,
        /// Non-users and guests skipped.
        skipped: usize,
    },
    /// One user finished.
    UserDone {
        /// Options fetched (false: a failure).
        ok: bool,
    },
}

/// The UPN of a member, or its object id when Graph gave none.
pub fn upn(user: &User) -> &str {
    user.user_principal_name.as_deref().unwrap_or(&user.id)
}

/// How a skipped member is described to the operator.
pub fn describe_skipped(m: &SkippedMember) -> String {
    let name = m.display_name.as_deref().unwrap_or(&m.id);
    match &m.reason {
        SkipReason::Guest => format!("guest {name} ({})", m.id),
        SkipReason::NotAUser(Some(t)) => {
            format!(
                "{} {name} ({})",
                t.trim_start_matches("#microsoft.graph."),
                m.id
            )
        }
        SkipReason::NotAUser(None) => format!("object of unknown type {name} ({})", m.id),
    }
}

/// The scope group as the audit log names it: `group "Name"` or `group <id>`.
pub fn group_label(group: &GroupRef) -> String {
    match group {
        GroupRef::Name(name) => format!("group {name:?}"),
        GroupRef::Id(id) => format!("group {id}"),
    }
}

/// How the audit log names the people a save removed from the queue (UPNs are not secrets):
/// `2 removed (left the group: a@contoso.com, b@contoso.com)`, or `0 removed`. A mass removal
/// names the first [`REMOVED_NAMED`] and counts the rest, so one entry stays readable.
pub fn removed_text(removed: &[(String, String)]) -> String {
    if removed.is_empty() {
        return "0 removed".to_owned();
    }
    let upns: Vec<&str> = removed
        .iter()
        .take(REMOVED_NAMED)
        .map(|(_, upn)| upn.as_str())
        .collect();
    let more = match removed.len().saturating_sub(REMOVED_NAMED) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    format!(
        "{} removed (left the group: {}{more})",
        removed.len(),
        upns.join(", ")
    )
}

/// How many removed people an audit entry names.
const REMOVED_NAMED: usize = 50;

/// The scope group: by id, or by display name (exactly one must match).
pub async fn resolve_group(client: &GraphClient, group: &GroupRef) -> graph::Result<Group> {
    match group {
        GroupRef::Id(id) => client.group_by_id(id).await,
        GroupRef::Name(name) => client.find_group_by_name(name).await,
    }
}

/// Signs in, resolves the group, lists members and fetches every user's options concurrently
/// (bounded by the client's shared limit). Per-user failures are in the report; sign-in, group
/// and member-listing failures are errors.
pub async fn prefetch(
    client: &GraphClient,
    request: &PrefetchRequest,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<PrefetchReport, PrefetchError> {
    // Bulk work: Graph may slow it first when the tenant nears its limits.
    let client = &client.with_priority(graph::ThrottlePriority::Low);
    client.sign_in().await.map_err(PrefetchError::SignIn)?;
    let group = resolve_group(client, &request.group)
        .await
        .map_err(PrefetchError::Group)?;
    let members = client
        .members(&group.id, request.include_nested_groups)
        .await
        .map_err(|source| PrefetchError::Members {
            group_id: group.id.clone(),
            source: Box::new(source),
        })?;
    progress(Progress::Members {
        users: members.users.len(),
        skipped: members.skipped.len(),
    });

    let mut tasks = tokio::task::JoinSet::new();
    for (index, user) in members.users.into_iter().enumerate() {
        let client = client.clone();
        let request = request.clone();
        tasks.spawn(async move { (index, fetch_one(&client, &request, user).await) });
    }
    let mut slots: Vec<Option<UserOutcome>> = Vec::new();
    slots.resize_with(tasks.len(), || None);
    while let Some(joined) = tasks.join_next().await {
        let (index, outcome) = joined.map_err(PrefetchError::Task)?;
        progress(Progress::UserDone {
            ok: matches!(outcome, UserOutcome::Fetched(_)),
        });
        if let Some(slot) = slots.get_mut(index) {
            *slot = Some(outcome);
        }
    }
    Ok(PrefetchReport {
        group,
        transitive: request.include_nested_groups,
        skipped: members.skipped,
        outcomes: slots.into_iter().flatten().collect(),
    })
}

async fn fetch_one(client: &GraphClient, request: &PrefetchRequest, user: User) -> UserOutcome {
    let mut existing_method_ids = Vec::new();
    if request.record_existing_methods {
        match client.list_fido2_methods(&user.id).await {
            Ok(methods) => existing_method_ids = methods.into_iter().map(|m| m.id).collect(),
            Err(error) => {
                return UserOutcome::Failed(Box::new(Failure {
                    user,
                    step: "listing existing FIDO2 methods",
                    error,
                }))
            }
        }
    }
    match client
        .creation_options(&user.id, request.challenge_timeout_minutes)
        .await
    {
        Ok(options) => UserOutcome::Fetched(Box::new(Fetched {
            user,
            options,
            existing_method_ids,
            fetched_at: now_unix(),
        })),
        Err(error) => UserOutcome::Failed(Box::new(Failure {
            user,
            step: "fetching creation options",
            error,
        })),
    }
}

impl PrefetchReport {
    /// Users whose options were fetched, in member order.
    pub fn fetched(&self) -> impl Iterator<Item = &Fetched> {
        self.outcomes.iter().filter_map(|o| match o {
            UserOutcome::Fetched(f) => Some(f.as_ref()),
            UserOutcome::Failed(_) => None,
        })
    }

    /// Users for whom something failed, in member order.
    pub fn failures(&self) -> impl Iterator<Item = &Failure> {
        self.outcomes.iter().filter_map(|o| match o {
            UserOutcome::Failed(f) => Some(f.as_ref()),
            UserOutcome::Fetched(_) => None,
        })
    }

    /// Graph request-ids of the failures (for the audit log).
    pub fn failure_request_ids(&self) -> Vec<&str> {
        self.failures().filter_map(Failure::request_id).collect()
    }

    /// The audit log's result text: `ok: N users`, or which users failed and why.
    pub fn audit_text(&self) -> String {
        let failures = self.failures().count();
        if failures == 0 {
            format!("ok: {} users", self.outcomes.len())
        } else {
            format!(
                "{failures} of {} users failed: {}",
                self.outcomes.len(),
                self.failures()
                    .map(|f| f.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        }
    }

    /// `usersToRegister.csv` rows, from what Graph sent (as the proof of concept wrote them).
    pub fn csv_rows(&self) -> Vec<UserRow> {
        self.fetched()
            .map(|f| {
                let user = &f.options.options.user;
                options::csv_row(
                    &or_else(user.name.as_deref().unwrap_or(""), upn(&f.user)),
                    &or_else(
                        user.display_name.as_deref().unwrap_or(""),
                        f.user.display_name.as_deref().unwrap_or(""),
                    ),
                    &options::challenge(&f.options),
                )
            })
            .collect()
    }

    /// Journal queue entries holding Graph's whole creation options (built as every queue
    /// entry is, by [`options::queued_from_options`]), with the member's UPN and name as
    /// Graph listed them and what prefetch recorded.
    pub fn queued_users(&self) -> Vec<QueuedUser> {
        self.fetched()
            .map(|f| {
                let mut q = options::queued_from_options(&f.user.id, &f.options);
                q.upn = upn(&f.user).to_owned();
                q.display_name = or_else(
                    f.user.display_name.as_deref().unwrap_or(""),
                    f.options.options.user.display_name.as_deref().unwrap_or(""),
                );
                q.existing_method_ids.clone_from(&f.existing_method_ids);
                q.fetched_at = f.fetched_at;
                q
            })
            .collect()
    }

    /// Everyone the group still lists, as [`Journal::replace_queue_members`] matches queue
    /// rows: object ids and lowercase UPNs of the member users, whether their options were
    /// fetched or not (a failed fetch does not make anyone a leaver), and of the skipped
    /// members (a queued person now listed as a guest did not leave the group). A report only
    /// exists when the whole member list was read: a listing that failed on any page is an
    /// error of [`prefetch`], never a short report.
    pub fn member_keys(&self) -> HashSet<String> {
        let users = self.outcomes.iter().map(|o| match o {
            UserOutcome::Fetched(f) => &f.user,
            UserOutcome::Failed(f) => &f.user,
        });
        let mut keys = HashSet::new();
        for u in users {
            keys.insert(u.id.clone());
            if let Some(upn) = &u.user_principal_name {
                keys.insert(upn.to_lowercase());
            }
        }
        keys.extend(self.skipped.iter().map(|m| m.id.clone()));
        keys
    }

    /// Saves the result: the journal's queue first ([`PrefetchReport::save_queue`], with
    /// whoever the journal shows enrolled or being enrolled left as they are), then
    /// `usersToRegister.csv`, replaced atomically.
    pub fn save(
        &self,
        csv_path: &Path,
        journal: &mut Journal,
    ) -> Result<QueueChanges, PrefetchError> {
        let protected = super::queue_refresh::protected(journal, []).map_err(|source| {
            PrefetchError::Journal {
                doing: "reading the journal's enrollments",
                source,
            }
        })?;
        let changes = self.save_queue(journal, &protected)?;
        write_csv_atomically(csv_path, &self.csv_rows())?;
        Ok(changes)
    }

    /// Reconciles the journal's queue with the group in one transaction: upserts everyone
    /// fetched, except people in `protected` who are already queued (being enrolled, with an
    /// enrollment left open, or enrolled: their options and method ids are what their
    /// enrollment used), and removes everyone queued whom the group no longer lists, except
    /// people in `protected` (their rows stay with their records). Fails with
    /// [`PrefetchError::Journal`].
    pub fn save_queue(
        &self,
        journal: &mut Journal,
        protected: &HashSet<String>,
    ) -> Result<QueueChanges, PrefetchError> {
        let queued = self.queued_users();
        let saving = |source: StoreError| PrefetchError::Journal {
            doing: "saving the creation options in the journal queue",
            source,
        };
        // Only the ids are needed: the read model's rows, not the whole stored options.
        let known: HashSet<String> = journal
            .queue_entries()
            .map_err(saving)?
            .into_iter()
            .map(|q| q.user_id)
            .collect();
        let (kept, fresh): (Vec<_>, Vec<_>) = queued
            .into_iter()
            .partition(|q| known.contains(&q.user_id) && protected.contains(&q.user_id));
        let mut keep = self.member_keys();
        keep.extend(protected.iter().cloned());
        let removed = journal
            .replace_queue_members(&fresh, &keep)
            .map_err(saving)?;
        Ok(QueueChanges {
            updated: fresh.len(),
            added: fresh.iter().filter(|q| !known.contains(&q.user_id)).count(),
            kept: kept.len(),
            removed,
        })
    }
}

/// What saving a report did to the journal's queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueChanges {
    /// People whose options were written (new ones included).
    pub updated: usize,
    /// Of those, people not queued before.
    pub added: usize,
    /// Members left as they were (enrolled or being enrolled).
    pub kept: usize,
    /// People removed because the group no longer lists them, as (user id, UPN).
    pub removed: Vec<(String, String)>,
}

fn or_else(first: &str, fallback: &str) -> String {
    if first.is_empty() { fallback } else { first }.to_owned()
}

/// Writes next to the target and renames, so a crash never leaves a half-written CSV.
fn write_csv_atomically(path: &Path, rows: &[UserRow]) -> Result<(), PrefetchError> {
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".partial");
    let tmp = path.with_file_name(tmp_name);
    let write = || -> std::io::Result<()> {
        let file = std::fs::File::create(&tmp)?;
        let mut out = std::io::BufWriter::new(&file);
        // csv's error becomes an io::Error showing the same text.
        users_to_register::write(&mut out, rows)?;
        drop(out);
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    };
    write().map_err(|source| PrefetchError::CsvWrite {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod removed_text_tests {
    #[test]
    fn names_at_most_fifty() {
        let removed: Vec<(String, String)> = (0..52)
            .map(|i| (format!("id-{i}"), format!("u{i}@contoso.com")))
            .collect();
        let text = super::removed_text(&removed);
        assert!(text.starts_with("52 removed (left the group: u0@contoso.com, "));
        assert!(text.ends_with("u49@contoso.com and 2 more)"), "{text}");
        assert_eq!(
            super::removed_text(&removed[..1]),
            "1 removed (left the group: u0@contoso.com)"
        );
    }
}

#[cfg(test)]
mod error_tests {
    use graph::fake::{self, FakeConfig, FakeTenantHandle};
    use graph::{Credentials, GraphClient};

    use super::{prefetch, PrefetchError, PrefetchRequest};
    use crate::config::GroupRef;
    use crate::store::Journal;

    fn tenant(users: usize) -> FakeTenantHandle {
        fake::spawn_in_thread(FakeConfig {
            users,
            ..FakeConfig::default()
        })
        .unwrap()
    }

    fn client(tenant: &FakeTenantHandle) -> GraphClient {
        GraphClient::new(tenant.graph_config(Credentials::secret(tenant.client_secret()))).unwrap()
    }

    fn request(group: GroupRef) -> PrefetchRequest {
        PrefetchRequest {
            group,
            include_nested_groups: false,
            challenge_timeout_minutes: 60,
            record_existing_methods: false,
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_missing_group_is_a_group_error_reading_as_before() {
        let tenant = tenant(2);
        let request = request(GroupRef::Name("No Such Group".into()));
        let err = runtime()
            .block_on(prefetch(&client(&tenant), &request, &mut |_| {}))
            .unwrap_err();
        assert!(
            matches!(
                &err,
                PrefetchError::Group(graph::Error::GroupNotFound { .. })
            ),
            "{err:?}"
        );
        assert!(err.graph_error().is_some());
        let text = format!("{:#}", anyhow::Error::new(err));
        assert!(
            text.starts_with("finding the users-in-scope group: no group named \"No Such Group\""),
            "{text}"
        );
    }

    #[test]
    fn an_unwritable_csv_is_a_csv_error_after_the_queue_was_saved() {
        let tenant = tenant(3);
        let request = request(GroupRef::Id(tenant.group_id()));
        let report = runtime()
            .block_on(prefetch(&client(&tenant), &request, &mut |_| {}))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(&dir.path().join("journal.sqlite")).unwrap();
        let csv = dir.path().join("missing-dir").join("usersToRegister.csv");

        let err = report.save(&csv, &mut journal).unwrap_err();
        match &err {
            PrefetchError::CsvWrite { path, .. } => assert_eq!(path, &csv),
            other => panic!("expected a CSV write error, got {other:?}"),
        }
        assert_eq!(err.request_id(), None);
        let text = format!("{:#}", anyhow::Error::new(err));
        assert!(
            text.starts_with(&format!("writing {}: ", csv.display())),
            "{text}"
        );
        assert_eq!(journal.queue_entries().unwrap().len(), 3);
    }
}
