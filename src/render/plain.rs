//! Plain-text rendering of a reply, for the terminal and for the `body` of Matrix messages:
//! no markup left, links spelled out, boxes drawn with a left bar.

use crate::strings::Strings;

use super::{
    Block, Inline, LinkTarget, Media, TEXT_RULE, finish_lines, menu_label, prefix_lines,
    table_lines, text_is_url, width,
};

/// Widest underline drawn under a heading.
const MAX_UNDERLINE: usize = 60;

/// The reply as readable plain text, with the menu (if any) as a numbered list at the end.
/// `step_label` is the message's [`crate::engine::BotMessage::step_label`]; `strings`, the
/// bot's, name what the text does not (media, untitled boxes).
pub fn plain(
    markdown: &str,
    menu: &[String],
    step_label: Option<&str>,
    strings: &Strings,
) -> String {
    render(&super::parse_message(markdown, step_label, strings), menu)
}

/// The plain rendering of an already parsed reply (Matrix needs it beside its HTML).
pub(crate) fn render(blocks: &[Block], menu: &[String]) -> String {
    let mut lines = blocks_lines(blocks, true);
    if !menu.is_empty() {
        lines.push(String::new());
        lines.extend(
            menu.iter()
                .enumerate()
                .map(|(index, label)| format!("{}. {}", index + 1, menu_label(label))),
        );
    }
    finish_lines(lines)
}

/// Blocks as lines; `separated` puts a blank line between blocks (not inside list items).
fn blocks_lines(blocks: &[Block], separated: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for block in blocks {
        let block_lines = block_lines(block);
        if block_lines.is_empty() {
            continue;
        }
        if separated && !lines.is_empty() {
            lines.push(String::new());
        }
        lines.extend(block_lines);
    }
    lines
}

fn block_lines(block: &Block) -> Vec<String> {
    match block {
        Block::Paragraph(inlines) => split(&inline_text(inlines)),
        Block::Heading(level, inlines) => {
            let mut lines = split(&inline_text(inlines));
            let underline_width = lines
                .iter()
                .map(|line| width(line))
                .max()
                .unwrap_or(0)
                .min(MAX_UNDERLINE);
            if underline_width > 0 {
                lines.push((if *level <= 2 { "=" } else { "-" }).repeat(underline_width));
            }
            lines
        }
        Block::Quote(blocks) => prefix_lines(blocks_lines(blocks, true), "> ", ">"),
        Block::List { start, items } => list_lines(*start, items, |item| blocks_lines(item, false)),
        Block::Code { text, .. } => text.lines().map(|line| format!("    {line}")).collect(),
        Block::Rule => vec![TEXT_RULE.to_owned()],
        Block::Table { head, rows } => table_text_lines(head, rows),
        Block::Admonition(admonition) => {
            let title = inline_text(&admonition.title).replace('\n', " ");
            let header = if title.is_empty() {
                admonition.emoji().to_owned()
            } else {
                format!("{} {title}", admonition.emoji())
            };
            let mut lines = vec![header];
            lines.extend(blocks_lines(&admonition.body, true));
            prefix_lines(lines, "│ ", "│")
        }
    }
}

/// List items with their marker (`- `, `3. `); following lines aligned under the text.
pub(crate) fn list_lines(
    start: Option<u64>,
    items: &[Vec<Block>],
    render_item: impl Fn(&[Block]) -> Vec<String>,
) -> Vec<String> {
    let mut lines = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let marker = match start {
            Some(first) => format!("{}. ", first.saturating_add(index as u64)),
            None => "- ".to_owned(),
        };
        let indent = " ".repeat(marker.len());
        let item_lines = render_item(item);
        if item_lines.is_empty() {
            lines.push(marker.trim_end().to_owned());
        }
        for (line_index, line) in item_lines.into_iter().enumerate() {
            let prefix = if line_index == 0 {
                marker.as_str()
            } else {
                indent.as_str()
            };
            lines.push(if line.is_empty() {
                String::new()
            } else {
                format!("{prefix}{line}")
            });
        }
    }
    lines
}

fn split(text: &str) -> Vec<String> {
    text.split('\n')
        .map(|line| line.trim_start().to_owned())
        .collect()
}

/// A table as aligned pipe rows of plain-text cells. Discord, which has no tables, shows the
/// same rows in a code block, so both renderers build them here.
pub(crate) fn table_text_lines(head: &[Vec<Inline>], rows: &[Vec<Vec<Inline>>]) -> Vec<String> {
    let head: Vec<String> = head.iter().map(|cell| inline_text(cell)).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| inline_text(cell)).collect())
        .collect();
    table_lines(&head, &rows)
}

/// Inline content as text: links as `text (url)`, media as `[image: alt] url`.
pub(crate) fn inline_text(inlines: &[Inline]) -> String {
    let mut out = String::new();
    write_inlines(inlines, false, &mut out);
    out
}

fn write_inlines(inlines: &[Inline], in_link: bool, out: &mut String) {
    for inline in inlines {
        match inline {
            Inline::Text(text) => out.push_str(text),
            Inline::Code(code) => {
                out.push('`');
                out.push_str(code);
                out.push('`');
            }
            Inline::Styled(_, content) => write_inlines(content, in_link, out),
            Inline::Link { target, content } => {
                let mut text = String::new();
                write_inlines(content, true, &mut text);
                match target {
                    LinkTarget::External(url) if !in_link => {
                        if text.trim().is_empty() || text_is_url(&text, url) {
                            out.push_str(if text.trim().is_empty() { url } else { &text });
                        } else {
                            out.push_str(&format!("{text} ({url})"));
                        }
                    }
                    _ => out.push_str(&text),
                }
            }
            Inline::Media(media) => write_media(media, in_link, out),
            Inline::LineBreak => out.push('\n'),
        }
    }
}

fn write_media(media: &Media, in_link: bool, out: &mut String) {
    let label = if media.alt.trim().is_empty() {
        format!("[{}]", media.label)
    } else {
        format!("[{}: {}]", media.label, media.alt.trim())
    };
    out.push_str(&label);
    if let Some(url) = media.link().filter(|_| !in_link) {
        out.push(' ');
        out.push_str(url);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| (*value).to_owned()).collect()
    }

    #[test]
    fn constructs() {
        let cases = [
            ("**Gras** et *italique*", "Gras et italique"),
            ("Ligne 1\n\nLigne 2", "Ligne 1\n\nLigne 2"),
            ("- a\n\n- b\n\n- c", "- a\n- b\n- c"),
            ("1. un\n\n2. deux", "1. un\n2. deux"),
            ("3. trois\n4. quatre", "3. trois\n4. quatre"),
            ("- a\n  - b\n- c", "- a\n  - b\n- c"),
            ("[Pix](https://pix.fr)", "Pix (https://pix.fr)"),
            (
                "[https://orga.pix.fr](https://orga.pix.fr/)",
                "https://orga.pix.fr",
            ),
            ("<https://pix.fr>", "https://pix.fr"),
            (
                "[collecte de profils](#profs_collecteprofilspix)",
                "collecte de profils",
            ),
            ("[:sos:] (#profs_pixorga)", "🆘"),
            ("[x](javascript:alert(1))", "x"),
            ("### Horaires", "Horaires\n--------"),
            ("# Titre", "Titre\n====="),
            ("*****", TEXT_RULE),
            ("Avant\n\n---\n\nAprès", "Avant\n\n──────────\n\nAprès"),
            (
                "![invitation pix orga](https://a.fr/i.png)",
                "[image: invitation pix orga] https://a.fr/i.png",
            ),
            (
                "![](https://a.fr/i.png =200x100)",
                "[image] https://a.fr/i.png",
            ),
            (
                "![Vidéo PIX 6ème](https://a.fr/PIX_6eme.mp4)",
                "[vidéo: Vidéo PIX 6ème] https://a.fr/PIX_6eme.mp4",
            ),
            (
                "<iframe src=\"https://v.fr/x\"></iframe>",
                "[contenu intégré] https://v.fr/x",
            ),
            (
                "<audio src=\"https://a.fr/s.mp3\" autoplay></audio>",
                "[audio] https://a.fr/s.mp3",
            ),
            (
                "[![logo](https://a.fr/l.png)](https://a.fr)",
                "[image: logo] (https://a.fr)",
            ),
            (":one: Je me connecte", "1️⃣ Je me connecte"),
            ("Texte <!-- caché --> visible", "Texte visible"),
            (
                "<b>gras</b> <u>souligné</u> <span class=\"x\">texte</span>",
                "gras souligné texte",
            ),
            ("Texte {.rouge}", "Texte"),
            ("<b> gras </b>", "gras"),
            ("`code` ici", "`code` ici"),
            (
                "```\n\nligne 1\n\nligne 2\n\n```",
                "    ligne 1\n    ligne 2",
            ),
            ("> cité", "> cité"),
            ("- [x] fait\n- [ ] à faire", "- ☑ fait\n- ☐ à faire"),
            (
                "Entrée &lt;b&gt; de l'utilisateur",
                "Entrée <b> de l'utilisateur",
            ),
            ("a  \nb", "a\nb"),
            (
                "| a | b |\n\n|---|---|\n\n| 1 | 22 |",
                "| a | b  |\n|---|----|\n| 1 | 22 |",
            ),
            ("", ""),
            ("<!-- seulement un commentaire -->", ""),
        ];
        for (markdown, expected) in cases {
            assert_eq!(
                plain(markdown, &[], None, &Strings::default()),
                expected,
                "{markdown:?}"
            );
        }
    }

    #[test]
    fn admonitions() {
        let cases = [
            (":::info Titre\n\nTexte\n\n:::", "│ ℹ️ Titre\n│ Texte"),
            (":::warning\n\nAttention\n\n:::", "│ ⚠️\n│ Attention"),
            (
                ":::vide collapsible\n\nCaché\n\n:::",
                "│ 📌 Détails\n│ Caché",
            ),
            (":::tip Un\n\nA\n\nB\n\n:::", "│ 💡 Un\n│ A\n│\n│ B"),
            (
                ":::info A\n\n::::danger B\n\nin\n\n::::\n\n:::",
                "│ ℹ️ A\n│ │ 🚨 B\n│ │ in",
            ),
            (
                ":::vide collapsible :dart: Quels objectifs ? \n\n    \n\n    :::vide En 6ème\n\n    S'acculturer au\n\n    \n\n    :::\n\n:::",
                "│ 📌 🎯 Quels objectifs ?\n│ │ 📌 En 6ème\n│ │ S'acculturer au",
            ),
        ];
        for (markdown, expected) in cases {
            assert_eq!(
                plain(markdown, &[], None, &Strings::default()),
                expected,
                "{markdown:?}"
            );
        }
    }

    #[test]
    fn menu_is_numbered_from_one() {
        assert_eq!(
            plain(
                "Question ?",
                &labels(&["Oui", ":sos: Aide", " Non "]),
                None,
                &Strings::default()
            ),
            "Question ?\n\n1. Oui\n2. 🆘 Aide\n3. Non"
        );
        assert_eq!(
            plain("", &labels(&["Seul"]), None, &Strings::default()),
            "1. Seul"
        );
    }
}
