//! Where everything goes on the page. The sheet is folded in three: the PIN panel is the
//! lowest third, below a dashed "fold here" line, so folded up it hides the PIN.
//!
//! PDF coordinates start at the bottom left; this module measures from the top, in mm.

use printpdf::{
    Color, FontId, Greyscale, Line, LineDashPattern, LinePoint, Mm, Op, ParsedFont, PdfDocument,
    PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, RawImage, Rect, TextItem, XObjectTransform,
};
use zeroize::Zeroizing;

use super::{LetterError, LetterFields, LetterSettings, Wording};

/// Left and right margin.
const MARGIN: f32 = 22.0;
/// The logo's box, top left.
const LOGO_MAX: (f32, f32) = (50.0, 18.0);
/// Body text.
const BODY_PT: f32 = 10.5;
/// Body line height, mm.
const LINE: f32 = 5.0;
/// Where the value column of the fields starts, from the margin.
const VALUE_COLUMN: f32 = 32.0;
const PT_PER_MM: f32 = 72.0 / 25.4;

/// One font with its metrics, for measuring lines.
struct Face {
    id: FontId,
    parsed: ParsedFont,
}

impl Face {
    fn load(doc: &mut PdfDocument, bytes: &[u8]) -> Result<Self, LetterError> {
        let parsed = ParsedFont::from_bytes(bytes, 0, &mut Vec::new()).ok_or(LetterError::Font)?;
        Ok(Face {
            id: doc.add_font(&parsed),
            parsed,
        })
    }

    /// Width of `text` at `size` points, in mm.
    fn width(&self, text: &str, size: f32) -> f32 {
        let em = f32::from(self.parsed.units_per_em.max(1));
        let units: f32 = text
            .chars()
            .map(|c| {
                self.parsed
                    .lookup_glyph_index(c as u32)
                    .and_then(|g| self.parsed.get_glyph_width(g))
                    .map_or(em / 2.0, f32::from)
            })
            .sum();
        units / em * size / PT_PER_MM
    }

    /// `text` broken into lines no wider than `max` mm.
    fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if !line.is_empty() && self.width(&candidate, size) > max {
                lines.push(std::mem::replace(&mut line, word.to_owned()));
            } else {
                line = candidate;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }
}

/// The page being laid out.
struct Page {
    width: f32,
    height: f32,
    ops: Vec<Op>,
}

impl Page {
    fn grey(&mut self, level: f32) {
        self.ops.push(Op::SetFillColor {
            col: Color::Greyscale(Greyscale::new(level, None)),
        });
    }

    /// One line of text with its baseline `top` mm below the top of the sheet.
    fn text(&mut self, face: &Face, size: f32, x: f32, top: f32, text: &str) {
        self.ops.extend([
            Op::StartTextSection,
            Op::SetFont {
                font: PdfFontHandle::External(face.id.clone()),
                size: Pt(size),
            },
            Op::SetTextCursor {
                pos: Point::new(Mm(x), Mm(self.height - top)),
            },
            Op::ShowText {
                items: vec![TextItem::Text(text.to_owned())],
            },
            Op::EndTextSection,
        ]);
    }

    /// A paragraph from `top`; returns where the next line goes.
    fn paragraph(&mut self, face: &Face, x: f32, top: f32, width: f32, text: &str) -> f32 {
        let mut y = top;
        for line in face.wrap(text, BODY_PT, width) {
            self.text(face, BODY_PT, x, y, &line);
            y += LINE;
        }
        y
    }

    fn line(&mut self, from: (f32, f32), to: (f32, f32), thickness: f32, dash: &[f32]) {
        let point = |(x, top): (f32, f32)| LinePoint {
            p: Point::new(Mm(x), Mm(self.height - top)),
            bezier: false,
        };
        let points = vec![point(from), point(to)];
        self.ops.extend([
            Op::SetOutlineThickness { pt: Pt(thickness) },
            Op::SetLineDashPattern {
                dash: LineDashPattern::new(0.0, dash),
            },
            Op::DrawLine {
                line: Line {
                    points,
                    is_closed: false,
                },
            },
            Op::SetLineDashPattern {
                dash: LineDashPattern::solid(),
            },
        ]);
    }

    /// An outlined box from `top` down `height` mm.
    fn frame(&mut self, x: f32, top: f32, width: f32, height: f32) {
        let rect = Rect::from_xywh(
            Mm(x).into(),
            Mm(self.height - top - height).into(),
            Mm(width).into(),
            Mm(height).into(),
        );
        self.ops.extend([
            Op::SetOutlineThickness { pt: Pt(1.2) },
            Op::DrawLine {
                line: rect.to_line(),
            },
        ]);
    }
}

/// Lays the letter out and serialises it.
pub(super) fn render(
    fields: &LetterFields<'_>,
    settings: &LetterSettings,
    logo: Option<&[u8]>,
    words: &Wording,
) -> Result<Zeroizing<Vec<u8>>, LetterError> {
    let mut doc = PdfDocument::new(&words.plain("letter-title"));
    let body = Face::load(&mut doc, epaint_default_fonts::UBUNTU_LIGHT)?;
    // Hack tells 0 from O and 1 from l: the PIN is copied by hand.
    let mono = Face::load(&mut doc, epaint_default_fonts::HACK_REGULAR)?;
    let (width, height) = settings.paper.size_mm();
    let mut page = Page {
        width,
        height,
        ops: Vec::new(),
    };
    let text_width = width - 2.0 * MARGIN;

    // Header: logo left, sender right.
    if let Some(bytes) = logo {
        place_logo(&mut doc, &mut page, bytes, settings)?;
    }
    page.grey(0.35);
    if let Some(sender) = &settings.sender {
        let w = body.width(sender, BODY_PT);
        page.text(
            &body,
            BODY_PT,
            (width - MARGIN - w).max(MARGIN),
            20.0,
            sender,
        );
    }
    let date = words.date(fields.date);
    let w = body.width(&date, BODY_PT);
    page.text(&body, BODY_PT, width - MARGIN - w, 26.0, &date);

    page.grey(0.0);
    page.text(&body, 20.0, MARGIN, 48.0, &words.plain("letter-title"));
    let greeting = words.text("letter-greeting", &[("name", fields.display_name.into())]);
    page.text(&body, BODY_PT, MARGIN, 60.0, &greeting);
    let mut y = page.paragraph(
        &body,
        MARGIN,
        60.0 + LINE + 1.0,
        text_width,
        &words.plain("letter-intro"),
    );

    // The person and the key.
    y += 3.0;
    let serial = fields
        .serial
        .filter(|s| !s.is_empty())
        .map_or_else(|| words.plain("letter-serial-none"), str::to_owned);
    let rows = [
        ("letter-name", fields.display_name.to_owned()),
        ("letter-account", fields.upn.to_owned()),
        ("letter-serial", serial),
        ("letter-date", date),
    ];
    for (label, value) in rows {
        page.grey(0.35);
        page.text(&body, BODY_PT, MARGIN, y, &words.plain(label));
        page.grey(0.0);
        page.text(&body, BODY_PT, MARGIN + VALUE_COLUMN, y, &value);
        y += LINE + 1.0;
    }

    // How to change the PIN.
    y += 5.0;
    page.text(
        &body,
        13.0,
        MARGIN,
        y,
        &words.plain("letter-change-heading"),
    );
    y += LINE + 2.0;
    for n in 1..=4 {
        page.text(&body, BODY_PT, MARGIN, y, &format!("{n}."));
        y = page.paragraph(
            &body,
            MARGIN + 6.0,
            y,
            text_width - 6.0,
            &words.plain(&format!("letter-change-{n}")),
        ) + 1.0;
    }
    y += 2.0;
    let help = match &settings.sender {
        Some(sender) => words.text("letter-help", &[("sender", sender.as_str().into())]),
        None => words.plain("letter-help-none"),
    };
    page.paragraph(&body, MARGIN, y, text_width, &help);

    // The fold: the lowest third of the sheet folds up over the rest.
    let fold = height * 2.0 / 3.0;
    page.grey(0.35);
    page.line((8.0, fold), (width - 8.0, fold), 0.6, &[4.0, 3.0]);
    page.text(&body, 8.5, MARGIN, fold - 1.8, &words.plain("letter-fold"));

    // The PIN panel, well inside the lowest third.
    let panel_top = fold + 14.0;
    let panel_height = 52.0;
    page.frame(MARGIN, panel_top, text_width, panel_height);
    page.grey(0.0);
    page.text(
        &body,
        12.0,
        MARGIN + 8.0,
        panel_top + 11.0,
        &words.plain("letter-pin-heading"),
    );
    page.text(&mono, 30.0, MARGIN + 8.0, panel_top + 30.0, fields.pin);
    page.grey(0.35);
    page.paragraph(
        &body,
        MARGIN + 8.0,
        panel_top + 42.0,
        text_width - 16.0,
        &words.plain("letter-pin-note"),
    );

    let pdf = doc
        .with_pages(vec![PdfPage::new(
            Mm(page.width),
            Mm(page.height),
            page.ops,
        )])
        .save(&PdfSaveOptions::default(), &mut Vec::new());
    Ok(Zeroizing::new(pdf))
}

/// The logo at the top left, scaled to fit its box.
fn place_logo(
    doc: &mut PdfDocument,
    page: &mut Page,
    bytes: &[u8],
    settings: &LetterSettings,
) -> Result<(), LetterError> {
    let image =
        RawImage::decode_from_bytes(bytes, &mut Vec::new()).map_err(|e| LetterError::Logo {
            path: settings.logo.clone().unwrap_or_default(),
            reason: format!("is not a readable PNG ({e})"),
        })?;
    let (w_px, h_px) = (image.width.max(1) as f32, image.height.max(1) as f32);
    // The image is drawn at `dpi` pixels per inch: pick the one that fits the box.
    let dpi = (w_px * 25.4 / LOGO_MAX.0).max(h_px * 25.4 / LOGO_MAX.1);
    let drawn_height = h_px * 25.4 / dpi;
    let id = doc.add_image(&image);
    page.ops.push(Op::UseXobject {
        id,
        transform: XObjectTransform {
            translate_x: Some(Mm(MARGIN).into()),
            translate_y: Some(Mm(page.height - 12.0 - drawn_height).into()),
            dpi: Some(dpi),
            ..Default::default()
        },
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_wraps_within_the_width_and_keeps_every_word() {
        let mut doc = PdfDocument::new("t");
        let face = Face::load(&mut doc, epaint_default_fonts::UBUNTU_LIGHT).unwrap();
        let words = Wording::load("de").unwrap();
        let text = words.plain("letter-intro");
        let lines = face.wrap(&text, BODY_PT, 120.0);
        assert!(lines.len() > 1, "{lines:?}");
        for line in &lines {
            assert!(face.width(line, BODY_PT) <= 120.0, "{line}");
        }
        assert_eq!(
            lines.join(" "),
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }

    #[test]
    fn the_font_has_the_letters_of_european_names() {
        let mut doc = PdfDocument::new("t");
        let face = Face::load(&mut doc, epaint_default_fonts::UBUNTU_LIGHT).unwrap();
        for c in "äöüßÄÖÜéèçñøåąćęłńóśźżĄĆĘŁŃÓŚŹŻšžčř".chars() {
            assert!(
                face.parsed.lookup_glyph_index(c as u32).is_some(),
                "no glyph for {c}"
            );
        }
    }
}
