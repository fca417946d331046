//! The engine's remedies ([`Remedy`]) in the operator's words and language, from the
//! catalogues (`remedy.ftl`). The English words are [`Remedy::ui`]'s, which the journal keeps;
//! the engine's free-form words (an administrator's action, [`Remedy::Text`]) stay as they are.

use crate::engine::remedy::Remedy;
use crate::i18n::Texts;

/// What to do about an error, in the language of `t`.
pub fn words(t: &Texts, remedy: &Remedy) -> String {
    let id = match remedy {
        Remedy::Retry => "remedy-retry",
        Remedy::RetryLater => "remedy-retry-later",
        Remedy::CheckNetwork => "remedy-check-network",
        Remedy::ReinsertKey => "remedy-reinsert-key",
        Remedy::ReplugKey => "remedy-replug-key",
        Remedy::ReinsertAndReset => "remedy-reinsert-and-reset",
        Remedy::ResetOverUsb => "remedy-reset-over-usb",
        Remedy::ResetKey => "remedy-reset-key",
        Remedy::PinAlreadySet => "remedy-pin-already-set",
        Remedy::ChangePin => "remedy-change-pin",
        Remedy::CheckPin => "remedy-check-pin",
        Remedy::PinRules => "remedy-pin-rules",
        Remedy::KeyRefusesRandomPins => "remedy-key-refuses-random-pins",
        Remedy::ProvidePin => "remedy-provide-pin",
        Remedy::TouchKey => "remedy-touch-key",
        Remedy::UseAnotherKey => "remedy-use-another-key",
        Remedy::UseAnotherKeyModel => "remedy-use-another-key-model",
        Remedy::AlreadyRegistered => "remedy-already-registered",
        Remedy::RetryOrAnotherKey => "remedy-retry-or-another-key",
        Remedy::StartAgain => "remedy-start-again",
        Remedy::CheckJournal => "remedy-check-journal",
        Remedy::RefreshQueue => "remedy-refresh-queue",
        Remedy::RefreshQueueAgain => "remedy-refresh-queue-again",
        Remedy::SignInAgain => "remedy-sign-in-again",
        Remedy::AnotherOperator => "remedy-another-operator",
        Remedy::CheckConfiguration => "remedy-check-configuration",
        Remedy::RestartStation => "remedy-restart-station",
        Remedy::Administrator(action) => {
            return t.text_with("remedy-administrator", &[("action", (*action).into())]);
        }
        Remedy::ApplyPinPolicy { key } => {
            return t.text_with("remedy-apply-pin-policy", &[("key", key.as_str().into())]);
        }
        Remedy::FinishEnrollment { key, upn } => {
            return t.text_with(
                "remedy-finish-enrollment",
                &[("key", key.as_str().into()), ("upn", upn.as_str().into())],
            );
        }
        Remedy::Text(text) => return text.clone(),
    };
    t.text(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::remedy::tests::every_remedy;
    use crate::i18n::{Catalog, Language};

    #[test]
    fn english_says_what_the_engine_says_and_german_says_it_in_german() {
        let catalog = Catalog::shared();
        let en = Texts::new(catalog.clone(), Language::English);
        let de = Texts::new(catalog, Language::German);
        let free = Remedy::Text("free words".into());
        for remedy in every_remedy().into_iter().chain([free]) {
            assert_eq!(words(&en, &remedy), remedy.ui(), "{remedy:?}");
            let german = words(&de, &remedy);
            let free = matches!(remedy, Remedy::Text(_));
            assert_eq!(german == remedy.ui(), free, "{remedy:?}: {german}");
        }
        assert_eq!(
            words(&de, &Remedy::RetryLater),
            "Warten Sie eine Minute und tippen Sie dann auf „Erneut versuchen“"
        );
    }
}
