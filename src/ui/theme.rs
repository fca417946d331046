//! Look and feel: light, high contrast, large type and touch-sized targets, readable standing.

use egui::{Color32, FontFamily, FontId, Stroke, TextStyle, Vec2};

/// Body text size (points).
pub const BODY: f32 = 22.0;
/// Screen titles.
pub const HEADING: f32 = 34.0;
/// The random PIN on the done page.
pub const PIN_DIGITS: f32 = 80.0;
/// Minimum height of anything touchable.
pub const TOUCH: f32 = 56.0;

/// Near-black text on white: well above WCAG AAA contrast.
pub const TEXT: Color32 = Color32::from_rgb(0x10, 0x10, 0x10);
/// Secondary text (still > 7:1 on white).
pub const MUTED: Color32 = Color32::from_rgb(0x40, 0x40, 0x40);
/// Primary actions.
pub const ACCENT: Color32 = Color32::from_rgb(0x00, 0x4a, 0xad);
/// Success.
pub const OK: Color32 = Color32::from_rgb(0x0a, 0x6b, 0x2a);
/// Errors and refusals.
pub const BAD: Color32 = Color32::from_rgb(0xb0, 0x00, 0x20);
/// Warnings (challenge about to expire).
pub const WARN: Color32 = Color32::from_rgb(0x8a, 0x4b, 0x00);
/// The DEMO banner.
pub const DEMO_BG: Color32 = Color32::from_rgb(0xff, 0xd6, 0x00);
/// Light fill that sets a block apart (done page PIN, step bar).
pub const SURFACE: Color32 = Color32::from_rgb(0xf2, 0xf4, 0xf7);

/// Applies the kiosk style to every theme and selects the light one.
pub fn apply(ctx: &egui::Context) {
    ctx.set_theme(egui::Theme::Light);
    ctx.all_styles_mut(|style| {
        style.text_styles = [
            (
                TextStyle::Heading,
                FontId::new(HEADING, FontFamily::Proportional),
            ),
            (TextStyle::Body, FontId::new(BODY, FontFamily::Proportional)),
            (
                TextStyle::Button,
                FontId::new(BODY, FontFamily::Proportional),
            ),
            (
                TextStyle::Small,
                FontId::new(17.0, FontFamily::Proportional),
            ),
            (
                TextStyle::Monospace,
                FontId::new(BODY, FontFamily::Monospace),
            ),
        ]
        .into();
        style.spacing.item_spacing = Vec2::new(14.0, 12.0);
        style.spacing.button_padding = Vec2::new(22.0, 12.0);
        style.spacing.interact_size = Vec2::new(TOUCH, TOUCH);
        style.spacing.text_edit_width = 520.0;
        let v = &mut style.visuals;
        *v = egui::Visuals::light();
        v.override_text_color = Some(TEXT);
        // A blinking cursor repaints twice a second for ever: an idle station must not.
        v.text_cursor.blink = false;
        v.panel_fill = Color32::WHITE;
        v.window_fill = Color32::WHITE;
        v.extreme_bg_color = Color32::WHITE;
        // Software renderers (llvmpipe) pay per shaded pixel, so nothing paints white on the
        // white window: text fields are outlined, not filled, and scroll areas have no fade
        // (its gradient runs from the transparent panel to transparent here anyway).
        v.text_edit_bg_color = Some(Color32::TRANSPARENT);
        style.spacing.scroll.fade.strength = 0.0;
        v.window_stroke = Stroke::new(2.0, TEXT);
        v.selection.bg_fill = Color32::from_rgb(0xb8, 0xd4, 0xff);
        v.selection.stroke = Stroke::new(2.0, ACCENT);
        for w in [
            &mut v.widgets.inactive,
            &mut v.widgets.hovered,
            &mut v.widgets.active,
        ] {
            w.bg_stroke = Stroke::new(2.0, MUTED);
            w.fg_stroke = Stroke::new(2.0, TEXT);
            // Square corners: a rounded corner is a fan of thin triangles (and, feathered, a
            // fringe around it), which a software rasteriser pays for per triangle, per frame.
            w.corner_radius = 0.into();
        }
        v.widgets.inactive.weak_bg_fill = Color32::from_rgb(0xe4, 0xe8, 0xee);
        v.widgets.inactive.bg_fill = Color32::from_rgb(0xe4, 0xe8, 0xee);
        v.widgets.hovered.weak_bg_fill = Color32::from_rgb(0xd0, 0xdc, 0xf0);
        v.widgets.hovered.bg_stroke = Stroke::new(3.0, ACCENT);
        v.widgets.active.weak_bg_fill = Color32::from_rgb(0xb8, 0xd4, 0xff);
        // Active is also how egui draws keyboard focus: a thick dark frame shows where Enter
        // goes, on filled primary buttons too (their own fill hides any fill change).
        v.widgets.active.bg_stroke = Stroke::new(4.0, TEXT);
        v.widgets.noninteractive.fg_stroke = Stroke::new(1.0, TEXT);
        v.widgets.noninteractive.bg_stroke = Stroke::new(1.0, MUTED);
    });
}
