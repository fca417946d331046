//! Every scripted scene (the screenshots' source) renders at 1280x800: no missing glyph, every
//! input labelled (kittest's accessibility check), and its main action on screen.

mod kit;

use egui_kittest::kittest::Queryable;
use kit::ui::{kiosk, NOW};
use passkey_kiosk::demo::scenes::{scene, SCENES};
use passkey_kiosk::ui::KioskApp;

#[test]
fn every_scene_renders_with_its_action_on_screen() {
    let actions = [
        ("startup", "Continue anyway"),
        ("recovery", "Continue"),
        ("sign-in", "Sign in"),
        ("queue", "Ada Lovelace"),
        ("insert-key", "Cancel"),
        ("key-refused", "Cancel"),
        ("pin", "Set PIN"),
        ("touch", "Cancel"),
        ("error", "Retry"),
        ("reveal", "Reveal PIN"),
        ("done", "Next person"),
        ("history", "Queue"),
        ("reset", "Erase the key"),
        ("lock", "Unlock"),
    ];
    assert_eq!(actions.len(), SCENES.len());
    for (name, action) in actions {
        let state = scene(name, NOW).unwrap();
        let mut h = kiosk(|ctx| {
            let mut app = KioskApp::new(ctx, state, None);
            app.set_now(NOW);
            app
        });
        h.run_steps(3);
        let node = h.get_by_role_and_label(egui::accesskit::Role::Button, action);
        let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1280.0, 800.0));
        assert!(
            screen.contains_rect(node.rect()),
            "{name}: \"{action}\" is off screen at {:?}",
            node.rect()
        );
    }
}

#[test]
fn history_columns_give_names_and_upns_one_line_each() {
    let state = scene("history", NOW).unwrap();
    let mut h = kiosk(|ctx| {
        let mut app = KioskApp::new(ctx, state, None);
        app.set_now(NOW);
        app
    });
    // The first frame counts: the table must not squeeze a column until the next one.
    h.run_steps(1);
    let upns: Vec<_> = h.get_all_by_label_contains("@contoso.example").collect();
    assert!(upns.len() >= 3, "the scene lists three people");
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1280.0, 800.0));
    for node in upns.iter().chain([&h.get_by_label_contains("failed:")]) {
        let rect = node.rect();
        assert!(screen.contains_rect(rect), "{rect:?} is off screen");
    }
    for node in upns {
        // One line of body text is about 30 px high; a squeezed column wraps a UPN into many.
        assert!(
            node.rect().height() < 40.0,
            "a UPN wraps: {:?}",
            node.rect()
        );
    }
}
