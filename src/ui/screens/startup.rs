//! Start-up checks, each with its remedy, before anything else.

use egui::{RichText, Ui};

use crate::engine::api::{CheckKind, Command};
use crate::i18n::Texts;

use super::super::state::State;
use super::super::{theme, widgets};

/// Renders the checks (or a spinner until they arrive).
pub fn show(ui: &mut Ui, state: &mut State, _out: &mut Vec<Command>) {
    let t = state.texts();
    widgets::title(ui, &t.text("startup-title"));
    let Some(checks) = &state.checks else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(t.text("startup-running"));
        });
        return;
    };
    egui::ScrollArea::vertical()
        .max_height(ui.available_height() - 2.0 * theme::TOUCH)
        .show(ui, |ui| {
            for check in checks {
                ui.horizontal(|ui| {
                    if check.ok {
                        widgets::chip_fixed(ui, &t.text("startup-ok"), theme::OK, 96.0);
                    } else {
                        widgets::chip_fixed(ui, &t.text("startup-failed"), theme::BAD, 96.0);
                    }
                    ui.vertical(|ui| {
                        ui.label(RichText::new(check_name(&t, check.kind)).strong());
                        if !check.detail.is_empty() {
                            let color = if check.ok { theme::MUTED } else { theme::BAD };
                            ui.label(RichText::new(&check.detail).color(color));
                        }
                    });
                });
                ui.add_space(6.0);
            }
        });
    if checks.iter().any(|c| !c.ok) {
        ui.label(RichText::new(t.text("startup-fix")).strong());
        // No Exit here: leaving full screen needs a signed-in operator (continue, sign in).
        if widgets::button(ui, &t.text("startup-continue")).clicked() {
            state.checks_done = true;
        }
    }
}

/// What a check looked at, in the station's language (English: [`CheckKind::name`]): the
/// message `check-` and the kind's name (`check-Journal`).
fn check_name(t: &Texts, kind: CheckKind) -> String {
    t.text(&format!("check-{kind:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{Catalog, Language};

    #[test]
    fn check_names_are_the_engines_in_english_and_translated_in_german() {
        use CheckKind::*;
        let catalog = Catalog::shared();
        let en = Texts::new(catalog.clone(), Language::English);
        let de = Texts::new(catalog, Language::German);
        for kind in [
            Configuration,
            StationSettings,
            EngineStarted,
            SignIn,
            GraphReachable,
            UsersGroup,
            Fido2Policy,
            Fido2Enabled,
            SelfServiceSetup,
            KeyRestrictions,
            Journal,
            SecretFileModes,
            KeyAccess,
            CardReaders,
            DiskSpace,
            Clock,
        ] {
            assert_eq!(check_name(&en, kind), kind.name());
            assert_ne!(check_name(&de, kind), kind.name(), "{kind:?}");
        }
    }
}
