//! The daily report as a one-page A4 PDF: the headline figures in three columns, the top agents,
//! and two bar charts of the day's hours, drawn with rectangles and lines. Text is set in the
//! standard Helvetica fonts (every PDF reader has them; nothing is embedded) in WinAnsiEncoding,
//! so text extraction (`pdftotext`, search, screen readers) reads it back as written.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::layout::{self, AgentRow, HourBars, Section, AGENT_COLUMNS};
use crate::analytics::rollup::DayRollup;
use crate::reports::format_day;

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 40.0;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;

const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

type Rgb = (f32, f32, f32);
const INK: Rgb = (0.10, 0.12, 0.16);
const MUTED: Rgb = (0.40, 0.43, 0.48);
const RULE: Rgb = (0.80, 0.82, 0.85);
const CREATED: Rgb = (0.20, 0.40, 0.75);
const CLOSED: Rgb = (0.62, 0.67, 0.74);
const CUSTOMER: Rgb = (0.20, 0.40, 0.75);
const AGENT: Rgb = (0.25, 0.62, 0.45);
const ADMIN: Rgb = (0.90, 0.55, 0.15);

/// Advance widths of Helvetica's printable ASCII characters (32 to 126), in thousandths of the
/// font size, from its Adobe font metrics; used to right-align figures and fit agent ids.
const HELVETICA_WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // space to /
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0 to ?
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @ to O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P to _
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // ` to o
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // p to ~
];

/// The daily report of a built day, as a PDF.
pub fn render(report: &DayRollup) -> Vec<u8> {
    let mut page = Page { content: Content::new() };
    let title = layout::title(report);
    page.text(BOLD, 18.0, MARGIN, 790.0, INK, &title);
    let subtitle = format!(
        "UTC day {day}, 00:00 to 24:00. Figures as of {as_of} UTC; resolution and CSAT settle 8 days after the day.",
        day = format_day(report.day),
        as_of = minute(report.built_at),
    );
    page.text(REGULAR, 9.0, MARGIN, 774.0, MUTED, &subtitle);
    page.rule(MARGIN, 764.0, PAGE_WIDTH - MARGIN);

    page.sections(&layout::sections(report), 746.0);
    page.agents(&layout::top_agents(report), 600.0);
    let hours = layout::hourly(report);
    page.chart(
        "Sessions per hour (UTC)",
        450.0,
        &[("created", CREATED), ("closed", CLOSED)],
        Bars::Grouped,
        &hours.iter().map(|h| vec![h.sessions_created as f32, h.sessions_closed as f32]).collect::<Vec<_>>(),
    );
    page.chart(
        "Messages per hour (UTC), by sender",
        270.0,
        &[("customers", CUSTOMER), ("agents", AGENT), ("admins", ADMIN)],
        Bars::Stacked,
        &hours.iter().map(message_values).collect::<Vec<_>>(),
    );
    page.text(
        REGULAR,
        7.5,
        MARGIN,
        MARGIN,
        MUTED,
        "Computed from the session event log (definitions: docs/METRICS.md). Building the day again replaces this report.",
    );
    document(&title, &page.content.finish())
}

fn message_values(hour: &HourBars) -> Vec<f32> {
    [hour.messages.customer, hour.messages.agent, hour.messages.admin].map(|n| n.max(0) as f32).to_vec()
}

/// `2026-01-06 00:10`.
fn minute(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!("{} {:02}:{:02}", format_day(at.date()), at.hour(), at.minute())
}

/// The file around one page's content stream.
fn document(title: &str, content: &[u8]) -> Vec<u8> {
    let catalog = Ref::new(1);
    let pages = Ref::new(2);
    let page_id = Ref::new(3);
    let regular = Ref::new(4);
    let bold = Ref::new(5);
    let content_id = Ref::new(6);
    let info = Ref::new(7);
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(pages);
    pdf.pages(pages).kids([page_id]).count(1);
    let mut page = pdf.page(page_id);
    page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT));
    page.parent(pages);
    page.contents(content_id);
    page.resources().fonts().pair(REGULAR, regular).pair(BOLD, bold);
    page.finish();
    let encoding = Name(b"WinAnsiEncoding");
    pdf.type1_font(regular).base_font(Name(b"Helvetica")).encoding_predefined(encoding);
    pdf.type1_font(bold).base_font(Name(b"Helvetica-Bold")).encoding_predefined(encoding);
    pdf.document_info(info).title(TextStr(title)).creator(TextStr("Switchboard"));
    pdf.stream(content_id, content);
    pdf.finish()
}

/// Text as WinAnsiEncoding bytes: ASCII and Latin-1 as they are, the dashes and the middle dot
/// at their WinAnsi codes, anything else as `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{2014}' => 0x97,
            '\u{2013}' => 0x96,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            _ => b'?',
        })
        .collect()
}

/// Width of `text` in Helvetica at `size` points (close enough for Helvetica-Bold headings).
fn width(text: &str, size: f32) -> f32 {
    let units: u32 = text
        .chars()
        .map(|c| match c {
            ' '..='~' => u32::from(HELVETICA_WIDTHS[usize::from(c as u8 - b' ')]),
            '\u{2014}' => 1000,
            _ => 556,
        })
        .sum();
    units as f32 * size / 1000.0
}

/// `text`, shortened with `...` to fit `max` points at `size`.
fn fit(text: &str, size: f32, max: f32) -> String {
    if width(text, size) <= max {
        return text.to_owned();
    }
    let mut kept: String = text.to_owned();
    while !kept.is_empty() && width(&format!("{kept}..."), size) > max {
        kept.pop();
    }
    format!("{kept}...")
}

/// The smallest of 1, 2 or 5 times a power of ten that is at least `value` (and at least 1):
/// the top of a chart's scale.
fn scale_top(value: f32) -> f32 {
    let mut step = 1.0_f32;
    loop {
        for factor in [1.0, 2.0, 5.0] {
            if step * factor >= value {
                return step * factor;
            }
        }
        step *= 10.0;
    }
}

/// How a chart draws several series per hour.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bars {
    /// Side by side.
    Grouped,
    /// On top of each other (the bar is the hour's total).
    Stacked,
}

struct Page {
    content: Content,
}

impl Page {
    fn text(&mut self, font: Name, size: f32, x: f32, y: f32, color: Rgb, text: &str) {
        self.content.set_fill_rgb(color.0, color.1, color.2);
        self.content.begin_text();
        self.content.set_font(font, size);
        self.content.next_line(x, y);
        self.content.show(Str(&win_ansi(text)));
        self.content.end_text();
    }

    fn text_right(&mut self, font: Name, size: f32, right: f32, y: f32, color: Rgb, text: &str) {
        self.text(font, size, right - width(text, size), y, color, text);
    }

    fn rule(&mut self, x1: f32, y: f32, x2: f32) {
        self.content.set_stroke_rgb(RULE.0, RULE.1, RULE.2);
        self.content.set_line_width(0.6);
        self.content.move_to(x1, y);
        self.content.line_to(x2, y);
        self.content.stroke();
    }

    fn bar(&mut self, x: f32, y: f32, width: f32, height: f32, color: Rgb) {
        self.content.set_fill_rgb(color.0, color.1, color.2);
        self.content.rect(x, y, width, height);
        self.content.fill_nonzero();
    }

    /// Three columns of labelled figures under their headings.
    fn sections(&mut self, sections: &[Section], top: f32) {
        let gap = 18.0;
        let column = (CONTENT_WIDTH - 2.0 * gap) / 3.0;
        for (index, section) in sections.iter().enumerate() {
            let left = MARGIN + index as f32 * (column + gap);
            self.text(BOLD, 11.0, left, top, INK, section.title);
            self.rule(left, top - 5.0, left + column);
            for (row, (label, value)) in section.rows.iter().enumerate() {
                let y = top - 18.0 - row as f32 * 13.0;
                self.text(REGULAR, 9.0, left, y, MUTED, label);
                self.text_right(REGULAR, 9.0, left + column, y, INK, value);
            }
        }
    }

    /// The top agents table (or a line saying there were none).
    fn agents(&mut self, agents: &[AgentRow], top: f32) {
        self.text(BOLD, 11.0, MARGIN, top, INK, "Top agents by sessions handled");
        // The agent's id, then the right edges of the figures' columns.
        let edges = [60.0, 60.0, 85.0, 105.0, 75.0]
            .iter()
            .scan(MARGIN + (CONTENT_WIDTH - 385.0), |edge, width| {
                *edge += width;
                Some(*edge)
            })
            .collect::<Vec<f32>>();
        let id_width = CONTENT_WIDTH - 385.0 - 8.0;
        let header = top - 16.0;
        self.text(BOLD, 8.0, MARGIN, header, MUTED, AGENT_COLUMNS[0]);
        for (heading, right) in AGENT_COLUMNS.iter().skip(1).zip(&edges) {
            self.text_right(BOLD, 8.0, *right, header, MUTED, heading);
        }
        self.rule(MARGIN, header - 4.0, PAGE_WIDTH - MARGIN);
        if agents.is_empty() {
            self.text(REGULAR, 9.0, MARGIN, header - 16.0, MUTED, "No agent handled a session this day.");
        }
        for (row, agent) in agents.iter().enumerate() {
            let y = header - 16.0 - row as f32 * 13.0;
            self.text(REGULAR, 9.0, MARGIN, y, INK, &fit(&agent.agent_id, 9.0, id_width));
            let figures = [
                &agent.handled,
                &agent.closed,
                &agent.first_responses,
                &agent.first_response_median,
                &agent.handle_median,
            ];
            for (figure, right) in figures.into_iter().zip(&edges) {
                self.text_right(REGULAR, 9.0, *right, y, INK, figure);
            }
        }
    }

    /// A bar chart of the 24 hours: `values[hour][series]`, a legend, the scale and hour labels.
    fn chart(&mut self, title: &str, top: f32, legend: &[(&str, Rgb)], bars: Bars, values: &[Vec<f32>]) {
        self.text(BOLD, 11.0, MARGIN, top, INK, title);
        let mut x = PAGE_WIDTH - MARGIN;
        for (name, color) in legend.iter().rev() {
            x -= width(name, 8.0);
            self.text(REGULAR, 8.0, x, top, MUTED, name);
            x -= 11.0;
            self.bar(x, top, 7.0, 7.0, *color);
            x -= 12.0;
        }
        let (bottom, height) = (top - 140.0, 120.0);
        let axis = 28.0;
        let left = MARGIN + axis;
        let slot = (CONTENT_WIDTH - axis) / values.len().max(1) as f32;
        let largest = values
            .iter()
            .map(|series| match bars {
                Bars::Grouped => series.iter().copied().fold(0.0, f32::max),
                Bars::Stacked => series.iter().sum(),
            })
            .fold(0.0, f32::max);
        let scale = scale_top(largest);
        for fraction in [0.0, 0.5, 1.0] {
            let y = bottom + height * fraction;
            self.rule(left, y, PAGE_WIDTH - MARGIN);
            self.text_right(REGULAR, 7.0, left - 4.0, y - 2.5, MUTED, &format!("{}", scale * fraction));
        }
        for (hour, series) in values.iter().enumerate() {
            let x = left + slot * hour as f32;
            match bars {
                Bars::Grouped => {
                    let bar = (slot - 4.0) / series.len().max(1) as f32;
                    for (index, (value, (_, color))) in series.iter().zip(legend).enumerate() {
                        let h = height * value / scale;
                        if h > 0.0 {
                            self.bar(x + 2.0 + bar * index as f32, bottom, bar, h, *color);
                        }
                    }
                }
                Bars::Stacked => {
                    let mut y = bottom;
                    for (value, (_, color)) in series.iter().zip(legend) {
                        let h = height * value / scale;
                        if h > 0.0 {
                            self.bar(x + 2.0, y, slot - 4.0, h, *color);
                            y += h;
                        }
                    }
                }
            }
            let label = format!("{hour:02}");
            self.text(REGULAR, 7.0, x + (slot - width(&label, 7.0)) / 2.0, bottom - 10.0, MUTED, &label);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::layout::tests::known_day;
    use super::*;

    #[test]
    fn a_report_is_a_pdf_set_in_the_standard_helvetica() {
        let bytes = render(&known_day());

        assert!(bytes.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains(" Tj"), "no text is shown");
        assert!(text.contains("/BaseFont /Helvetica"), "the standard font is not named");
        assert!(!text.contains("/FontFile"), "a font is embedded");
    }

    #[test]
    fn text_becomes_win_ansi_with_the_em_dash_at_its_code() {
        assert_eq!(win_ansi("a \u{2014} \u{e9}\u{4e2d}"), [b'a', b' ', 0x97, b' ', 0xe9, b'?']);
    }

    #[test]
    fn long_agent_ids_are_shortened_to_fit_their_column() {
        let id = "agent-with-a-very-long-identifier-that-goes-on-and-on";

        let shown = fit(id, 9.0, 100.0);

        assert!(shown.ends_with("...") && shown.len() < id.len(), "{shown}");
        assert!(width(&shown, 9.0) <= 100.0);
        assert_eq!(fit("agent-bob", 9.0, 100.0), "agent-bob");
    }

    #[test]
    fn a_charts_scale_ends_at_one_two_or_five_times_a_power_of_ten() {
        let tops: Vec<f32> = [0.0, 1.0, 3.0, 7.0, 12.0, 150.0].map(scale_top).to_vec();

        assert_eq!(tops, [1.0, 1.0, 5.0, 10.0, 20.0, 200.0]);
    }
}
