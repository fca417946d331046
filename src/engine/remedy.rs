//! What the operator should do about an error, as data: each front end words it for the
//! person in front of it. The kiosk's operator cannot run commands or set environment
//! variables, so [`Remedy::ui`] names the station's own buttons; [`Remedy::cli`] may name
//! commands and flags.

/// The advice of an [`OperatorError`](super::api::OperatorError).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remedy {
    /// Retry: the station settles what an earlier attempt did before trying again.
    Retry,
    /// Microsoft Graph is busy, throttling or unreachable for now: retry a little later.
    RetryLater,
    /// The network failed: check the station's connection, then retry.
    CheckNetwork,
    /// The key was removed or stopped answering: re-insert it and retry.
    ReinsertKey,
    /// The key blocks PIN use until it is unplugged: remove it, re-insert it, retry.
    ReplugKey,
    /// A factory reset is allowed only just after plugging in: re-insert and reset at once.
    ReinsertAndReset,
    /// A card refused a factory reset over NFC (many do): reset it over USB or with its
    /// maker's tool.
    ResetOverUsb,
    /// The key holds passkeys, has no room or its PIN is blocked: reset it or use another.
    ResetKey,
    /// The key already has a PIN: give it, or reset the key.
    PinAlreadySet,
    /// The key demands a PIN change before anything else.
    ChangePin,
    /// The PIN was wrong: check it with the person and retry.
    CheckPin,
    /// The new PIN breaks the key's rules.
    PinRules,
    /// The key's own PIN policy refused every random PIN the station offered.
    KeyRefusesRandomPins,
    /// No PIN was given for a key that has one.
    ProvidePin,
    /// The key did not see a touch in time.
    TouchKey,
    /// This key is refused: use another one.
    UseAnotherKey,
    /// This key model cannot be issued.
    UseAnotherKeyModel,
    /// The key already holds a passkey for this person.
    AlreadyRegistered,
    /// The key failed for an unknown reason: retry, then use another key.
    RetryOrAnotherKey,
    /// The operator cancelled: start again when ready.
    StartAgain,
    /// The journal cannot be written (disk space, permissions).
    CheckJournal,
    /// The person is not in the queue.
    RefreshQueue,
    /// Refreshing the queue failed: check configuration and network, then refresh again.
    RefreshQueueAgain,
    /// The operator's delegated sign-in ended: sign in again, then retry.
    SignInAgain,
    /// An administrator cannot enroll their own account.
    AnotherOperator,
    /// The configuration (tenant, client id, cloud) looks wrong.
    CheckConfiguration,
    /// Something only the tenant's administrator can fix (permissions, credentials, the
    /// directory): the administrator's action, in words that name no command.
    Administrator(&'static str),
    /// The station itself must be restarted.
    RestartStation,
    /// A recorded key still lacks the PIN policy (minimum length, forced change).
    ApplyPinPolicy {
        /// The key, as the operator recognises it.
        key: String,
    },
    /// An interrupted enrollment needs its key again: re-insert it and enroll the person
    /// again (the journal's state lets the station pick up where it stopped).
    FinishEnrollment {
        /// The key, as the operator recognises it ("key serial 123" or "the key").
        key: String,
        /// The person.
        upn: String,
    },
    /// Free-form advice that no other variant carries, already fit for every front end.
    Text(String),
}

impl Remedy {
    /// For the kiosk's operator: what to do at the station, with its own buttons.
    pub fn ui(&self) -> String {
        match self {
            Self::Retry => "Press Retry: the station checks what was already registered before trying again".into(),
            Self::RetryLater => "Wait a minute, then press Retry".into(),
            Self::CheckNetwork => "Check the station's network cable or Wi-Fi, then press Retry".into(),
            Self::ReinsertKey => "The key was removed or stopped answering: re-insert it and retry; what was done is kept".into(),
            Self::ReplugKey => "Remove the key, insert it again, then press Retry".into(),
            Self::ReinsertAndReset => "Remove the key, insert it again, and use Re-issue a key within 10 seconds".into(),
            Self::ResetKey => "Use Re-issue a key to reset it (this erases its passkeys and PIN), then enroll the person again; or use another key".into(),
            Self::PinAlreadySet => "The key already has a PIN: enter it when asked, or use Re-issue a key to reset it".into(),
            Self::ChangePin => "The key demands a PIN change first: use Re-issue a key to reset it, or use another key".into(),
            Self::CheckPin => "Check the PIN with the person and retry".into(),
            Self::PinRules => "Choose a PIN that meets the key's rules".into(),
            Self::KeyRefusesRandomPins => "This key's own PIN rules refused every PIN the station generated: use another key; if keys of this model keep refusing, tell the administrator".into(),
            Self::ProvidePin => "Enter the key's PIN when the station asks for it".into(),
            Self::ResetOverUsb => "This card refuses a factory reset on the reader: reset it plugged into USB (if it has a port) or with its maker's tool, then bring it back".into(),
            Self::TouchKey => "Press Retry and touch the key when it blinks".into(),
            Self::UseAnotherKey => "Remove it and use another key".into(),
            Self::UseAnotherKeyModel => "Use another key model".into(),
            Self::AlreadyRegistered => "This key already holds a passkey for this person: use another key".into(),
            Self::RetryOrAnotherKey => "Press Retry; if it happens again, use another key".into(),
            Self::StartAgain => "Start again when ready".into(),
            Self::CheckJournal => "Tell the administrator: the station's journal cannot be written (disk space, permissions)".into(),
            Self::RefreshQueue => "Refresh the queue from the group, then choose the person again".into(),
            Self::RefreshQueueAgain => "Refresh the queue again; if it fails again, tell the administrator (network, configuration)".into(),
            Self::SignInAgain => "Sign in again, then press Retry".into(),
            Self::AnotherOperator => "Another operator must enroll this person: an administrator cannot issue a key to their own account".into(),
            Self::CheckConfiguration => "Tell the administrator: the station's configuration (tenant, client id, cloud) needs checking".into(),
            Self::Administrator(action) => format!("Ask the tenant's administrator: {action}"),
            Self::RestartStation => "Restart the station".into(),
            Self::ApplyPinPolicy { key } => format!(
                "Hand {key} to an administrator to apply the PIN policy before it is given out"
            ),
            Self::FinishEnrollment { key, upn } => {
                format!("Re-insert {key} and enroll {upn} again from the queue")
            }
            Self::Text(text) => text.clone(),
        }
    }

    /// For the headless commands: may name commands, flags and environment variables.
    pub fn cli(&self) -> String {
        match self {
            Self::Retry => "retry: the station looks the method up before posting again".into(),
            Self::RetryLater => "Microsoft Graph is busy or unreachable: wait a minute and retry".into(),
            Self::CheckNetwork => "check the network connection and retry".into(),
            Self::ReinsertKey => "the key was removed or stopped answering: re-insert it and retry; what was done is in the journal".into(),
            Self::ReplugKey => "remove and re-insert the key, then retry".into(),
            Self::ReinsertAndReset => "re-insert the key and run `passkey-kiosk key reset` within 10 seconds".into(),
            Self::ResetKey => "reset the key first (`passkey-kiosk key reset`: a factory reset erases its passkeys and PIN), \
                               then enroll the person again; or give them another key".into(),
            Self::PinAlreadySet => "the key already has a PIN: provide it (PASSKEY_KIOSK_PIN), or reset the key (`passkey-kiosk key reset`)".into(),
            Self::ChangePin => "the key demands a PIN change first: change its PIN (`passkey-kiosk key change-pin`), then retry".into(),
            Self::CheckPin => "check the PIN with the person and retry".into(),
            Self::PinRules => "choose a PIN that meets the key's rules".into(),
            Self::KeyRefusesRandomPins => "the key's own PIN policy refused every generated PIN: use another key model, or set \"useRandomPIN\": false so the person chooses a PIN the key accepts".into(),
            Self::ProvidePin => "provide the key's PIN (PASSKEY_KIOSK_PIN / PASSKEY_KIOSK_NEW_PIN in the command line)".into(),
            Self::ResetOverUsb => "the card refuses a factory reset over NFC: plug it into USB and run `passkey-kiosk key reset --device hid`, or use its maker's tool".into(),
            Self::TouchKey => "retry and touch the key when it blinks".into(),
            Self::UseAnotherKey => "remove it and insert another key".into(),
            Self::UseAnotherKeyModel => "use another key model".into(),
            Self::AlreadyRegistered => "this key already holds a passkey for this person: use another key".into(),
            Self::RetryOrAnotherKey => "retry; if it repeats, use another key".into(),
            Self::StartAgain => "start again when ready".into(),
            Self::CheckJournal => "check the journal file (disk space, permissions)".into(),
            Self::RefreshQueue => "run `passkey-kiosk prefetch` (or give the CSV with --in) first".into(),
            Self::RefreshQueueAgain => "check the configuration and the network, then run `passkey-kiosk prefetch` again".into(),
            Self::SignInAgain => "the operator was signed out (delegated mode): sign in again, then retry".into(),
            Self::AnotherOperator => "another operator must enroll this person: an administrator cannot issue a key to their own account".into(),
            Self::CheckConfiguration => "check the configuration (tenant, clientId, cloud) and retry".into(),
            Self::Administrator(action) => (*action).to_owned(),
            Self::RestartStation => "restart the command".into(),
            Self::ApplyPinPolicy { key } => {
                format!("apply it with `passkey-kiosk key min-pin-length` on {key}")
            }
            Self::FinishEnrollment { key, upn } => {
                format!("re-insert {key} and run `passkey-kiosk enroll --retry-failed --user {upn}`")
            }
            Self::Text(text) => text.clone(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Fails to compile when a variant is added: add it to [`every_remedy`] too.
    fn listed_below(remedy: &Remedy) {
        use Remedy::*;
        match remedy {
            Retry
            | RetryLater
            | CheckNetwork
            | ReinsertKey
            | ReplugKey
            | ReinsertAndReset
            | ResetOverUsb
            | ResetKey
            | PinAlreadySet
            | ChangePin
            | CheckPin
            | PinRules
            | KeyRefusesRandomPins
            | ProvidePin
            | TouchKey
            | UseAnotherKey
            | UseAnotherKeyModel
            | AlreadyRegistered
            | RetryOrAnotherKey
            | StartAgain
            | CheckJournal
            | RefreshQueue
            | RefreshQueueAgain
            | SignInAgain
            | AnotherOperator
            | CheckConfiguration
            | Administrator(_)
            | RestartStation
            | ApplyPinPolicy { .. }
            | FinishEnrollment { .. }
            | Text(_) => {}
        }
    }

    /// Every advice the engine can give (payloads: what the crates produce).
    pub(crate) fn every_remedy() -> Vec<Remedy> {
        let mut all = vec![
            Remedy::Retry,
            Remedy::RetryLater,
            Remedy::CheckNetwork,
            Remedy::ReinsertKey,
            Remedy::ReplugKey,
            Remedy::ReinsertAndReset,
            Remedy::ResetOverUsb,
            Remedy::ResetKey,
            Remedy::PinAlreadySet,
            Remedy::ChangePin,
            Remedy::CheckPin,
            Remedy::PinRules,
            Remedy::KeyRefusesRandomPins,
            Remedy::ProvidePin,
            Remedy::TouchKey,
            Remedy::UseAnotherKey,
            Remedy::UseAnotherKeyModel,
            Remedy::AlreadyRegistered,
            Remedy::RetryOrAnotherKey,
            Remedy::StartAgain,
            Remedy::CheckJournal,
            Remedy::RefreshQueue,
            Remedy::RefreshQueueAgain,
            Remedy::SignInAgain,
            Remedy::AnotherOperator,
            Remedy::CheckConfiguration,
            Remedy::RestartStation,
            Remedy::ApplyPinPolicy {
                key: "key serial 12345678".into(),
            },
            Remedy::FinishEnrollment {
                key: "key serial 12345678".into(),
                upn: "ana@contoso.com".into(),
            },
        ];
        // Every Graph and sign-in remedy the graph crate words, through the one mapping.
        for status in [400, 401, 403, 404, 405, 409, 418, 503] {
            all.push(
                crate::engine::errors::graph_error(&graph::Error::Graph(Box::new(
                    graph::error::GraphError {
                        status,
                        code: "x".into(),
                        message: String::new(),
                        request_id: None,
                        client_request_id: None,
                        date: None,
                    },
                )))
                .remedy,
            );
        }
        all
    }

    #[test]
    fn the_kiosk_never_names_commands_flags_or_environment_variables() {
        for remedy in every_remedy() {
            listed_below(&remedy);
            let words = remedy.ui();
            assert!(
                !words.contains("passkey-kiosk")
                    && !words.contains("--")
                    && !words.contains('`')
                    && !words.contains("PASSKEY_KIOSK")
                    && !words.contains("prefetch"),
                "{remedy:?}: {words}"
            );
        }
    }

    #[test]
    fn the_command_line_names_its_commands() {
        assert!(Remedy::RefreshQueue
            .cli()
            .contains("passkey-kiosk prefetch"));
        assert!(Remedy::ResetKey.cli().contains("passkey-kiosk key reset"));
        assert!(Remedy::ProvidePin.cli().contains("PASSKEY_KIOSK_PIN"));
        assert!(Remedy::RefreshQueue.ui().contains("Refresh the queue"));
        assert!(Remedy::ResetKey.ui().contains("Re-issue a key"));
        let finish = Remedy::FinishEnrollment {
            key: "key serial 1".into(),
            upn: "ana@x".into(),
        };
        assert!(finish.cli().contains("enroll --retry-failed --user ana@x"));
        assert!(finish.ui().contains("enroll ana@x again from the queue"));
    }
}
