//! Matrix rendering of a reply: `formatted_body` in the HTML subset of the client-server API
//! (`m.room.message`, format `org.matrix.custom.html`), `body` in plain text.
//!
//! Every tag written here is from that subset and every text is escaped, so nothing the
//! knowledge base or a user wrote reaches the client as markup: raw HTML was already reduced
//! to text, styles, links and media by the shared front end.

use crate::engine::display::escape_html;
use crate::strings::Strings;

use super::{Block, Inline, LinkTarget, Media, Style, menu_label, plain, text_is_url, url_scheme};

/// A reply ready for an `m.room.message` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixMessage {
    /// Plain-text rendering, for clients that do not show HTML and for notifications.
    pub body: String,
    /// HTML in Matrix's subset.
    pub formatted_body: String,
}

/// The reply for Matrix, with the menu (if any) as a numbered list at the end.
/// `step_label` is the message's [`crate::engine::BotMessage::step_label`]; `strings`, the
/// bot's, name what the text does not (media, untitled boxes).
pub fn matrix(
    markdown: &str,
    menu: &[String],
    step_label: Option<&str>,
    strings: &Strings,
) -> MatrixMessage {
    let blocks = super::parse_message(markdown, step_label, strings);
    let mut html = String::new();
    write_blocks(&blocks, &mut html);
    if !menu.is_empty() {
        html.push_str("<ol>");
        for label in menu {
            html.push_str("<li>");
            html.push_str(&escape_html(&menu_label(label)));
            html.push_str("</li>");
        }
        html.push_str("</ol>");
    }
    MatrixMessage {
        body: plain::render(&blocks, menu),
        formatted_body: html,
    }
}

/// Link schemes the specification allows in `href`.
fn href_allowed(url: &str) -> bool {
    matches!(
        url_scheme(url).as_deref(),
        Some("http" | "https" | "ftp" | "mailto" | "magnet")
    )
}

fn write_blocks(blocks: &[Block], out: &mut String) {
    for block in blocks {
        write_block(block, out);
    }
}

fn write_block(block: &Block, out: &mut String) {
    match block {
        Block::Paragraph(inlines) => {
            out.push_str("<p>");
            write_inlines(inlines, false, out);
            out.push_str("</p>");
        }
        Block::Heading(level, inlines) => {
            let level = (*level).clamp(1, 6);
            out.push_str(&format!("<h{level}>"));
            write_inlines(inlines, false, out);
            out.push_str(&format!("</h{level}>"));
        }
        Block::Quote(blocks) => {
            out.push_str("<blockquote>");
            write_blocks(blocks, out);
            out.push_str("</blockquote>");
        }
        Block::List { start, items } => {
            match start {
                Some(1) => out.push_str("<ol>"),
                Some(start) => out.push_str(&format!("<ol start=\"{start}\">")),
                None => out.push_str("<ul>"),
            }
            for item in items {
                out.push_str("<li>");
                // A one-paragraph item is written inline, as a tight list.
                match item.as_slice() {
                    [Block::Paragraph(inlines)] => write_inlines(inlines, false, out),
                    blocks => write_blocks(blocks, out),
                }
                out.push_str("</li>");
            }
            out.push_str(if start.is_some() { "</ol>" } else { "</ul>" });
        }
        Block::Code { language, text } => {
            let language: String = language
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+'))
                .take(32)
                .collect();
            if language.is_empty() {
                out.push_str("<pre><code>");
            } else {
                out.push_str(&format!("<pre><code class=\"language-{language}\">"));
            }
            out.push_str(&escape_html(text));
            out.push_str("</code></pre>");
        }
        Block::Rule => out.push_str("<hr>"),
        Block::Table { head, rows } => {
            out.push_str("<table>");
            if !head.is_empty() {
                out.push_str("<thead><tr>");
                for cell in head {
                    out.push_str("<th>");
                    write_inlines(cell, false, out);
                    out.push_str("</th>");
                }
                out.push_str("</tr></thead>");
            }
            out.push_str("<tbody>");
            for row in rows {
                out.push_str("<tr>");
                for cell in row {
                    out.push_str("<td>");
                    write_inlines(cell, false, out);
                    out.push_str("</td>");
                }
                out.push_str("</tr>");
            }
            out.push_str("</tbody></table>");
        }
        Block::Admonition(admonition) => {
            // Collapsible boxes are shown open: `<details>` folds them in some clients only.
            out.push_str("<blockquote><p>");
            out.push_str(admonition.emoji());
            if !admonition.title.is_empty() {
                out.push_str(" <strong>");
                write_inlines(&admonition.title, false, out);
                out.push_str("</strong>");
            }
            out.push_str("</p>");
            write_blocks(&admonition.body, out);
            out.push_str("</blockquote>");
        }
    }
}

fn write_inlines(inlines: &[Inline], in_link: bool, out: &mut String) {
    for inline in inlines {
        match inline {
            Inline::Text(text) => out.push_str(&escape_html(text)),
            Inline::Code(code) => {
                out.push_str("<code>");
                out.push_str(&escape_html(code));
                out.push_str("</code>");
            }
            Inline::Styled(style, content) => {
                let tag = match style {
                    Style::Strong => "strong",
                    Style::Emphasis => "em",
                    Style::Strikethrough => "del",
                    Style::Underline => "u",
                    Style::Superscript => "sup",
                    Style::Subscript => "sub",
                };
                out.push_str(&format!("<{tag}>"));
                write_inlines(content, in_link, out);
                out.push_str(&format!("</{tag}>"));
            }
            Inline::Link { target, content } => match target {
                LinkTarget::External(url) if !in_link => {
                    let empty = content.is_empty();
                    if href_allowed(url) {
                        out.push_str(&format!("<a href=\"{}\">", escape_html(url)));
                        if empty {
                            out.push_str(&escape_html(url))
                        } else {
                            write_inlines(content, true, out)
                        }
                        out.push_str("</a>");
                    } else {
                        // `tel:` and the like: no link allowed, so the address is spelled out.
                        let mut text = String::new();
                        super::inline_words(content, &mut text);
                        write_inlines(content, true, out);
                        if empty || !text_is_url(&text, url) {
                            out.push_str(&escape_html(&if empty {
                                url.clone()
                            } else {
                                format!(" ({url})")
                            }));
                        }
                    }
                }
                _ => write_inlines(content, true, out),
            },
            Inline::Media(media) => write_media(media, in_link, out),
            Inline::LineBreak => out.push_str("<br>"),
        }
    }
}

/// External media cannot be embedded (`img` takes only `mxc://`): an emoji and a link.
fn write_media(media: &Media, in_link: bool, out: &mut String) {
    out.push_str(media.kind.emoji());
    out.push(' ');
    match media.link().filter(|_| !in_link) {
        Some(url) => out.push_str(&format!(
            "<a href=\"{}\">{}</a>",
            escape_html(url),
            escape_html(media.name())
        )),
        None => out.push_str(&escape_html(media.name())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructs() {
        let cases = [
            (
                "**Gras** et *italique* ~~barré~~",
                "<p><strong>Gras</strong> et <em>italique</em> <del>barré</del></p>",
            ),
            ("Un\n\nDeux", "<p>Un</p><p>Deux</p>"),
            ("- a\n\n- b", "<ul><li>a</li><li>b</li></ul>"),
            ("3. c\n4. d", "<ol start=\"3\"><li>c</li><li>d</li></ol>"),
            ("### Titre", "<h3>Titre</h3>"),
            ("*****", "<hr>"),
            ("> cité", "<blockquote><p>cité</p></blockquote>"),
            (
                "[Pix](https://pix.fr/?a=1&b=2)",
                "<p><a href=\"https://pix.fr/?a=1&amp;b=2\">Pix</a></p>",
            ),
            ("[:sos:] (#profs_pixorga)", "<p>🆘</p>"),
            ("[x](javascript:alert(1))", "<p>x</p>"),
            (
                "[Appeler](tel:0102030405)",
                "<p>Appeler (tel:0102030405)</p>",
            ),
            (
                "![alt](https://a.fr/i.png =10x10)",
                "<p>🖼️ <a href=\"https://a.fr/i.png\">alt</a></p>",
            ),
            ("![](data:image/png;base64,AAAA)", "<p>🖼️ image</p>"),
            (
                "<iframe src=\"https://v.fr/x\" onload=\"evil()\"></iframe>",
                "<p>🔗 <a href=\"https://v.fr/x\">contenu intégré</a></p>",
            ),
            ("<script>alert(1)</script>", ""),
            (
                "<b onclick=\"evil()\">gras</b>",
                "<p><strong>gras</strong></p>",
            ),
            ("<b>jamais fermé", "<p><strong>jamais fermé</strong></p>"),
            (
                "<font color=\"red\">rouge</font> <img src=x onerror=alert(1)>",
                "<p>rouge 🖼️ image</p>",
            ),
            ("a &lt;script&gt; b", "<p>a &lt;script&gt; b</p>"),
            ("`<b>`", "<p><code>&lt;b&gt;</code></p>"),
            (
                "```rust\n\nfn a() {}\n\n```",
                "<pre><code class=\"language-rust\">fn a() {}</code></pre>",
            ),
            (
                "```x\" onclick=\"y\n\nz\n\n```",
                "<pre><code class=\"language-x\">z</code></pre>",
            ),
            (
                "| a |\n\n|---|\n\n| 1 |",
                "<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>",
            ),
            ("Texte <!-- caché -->", "<p>Texte</p>"),
            ("L'élève \"test\"", "<p>L&#39;élève &quot;test&quot;</p>"),
        ];
        for (markdown, expected) in cases {
            assert_eq!(
                matrix(markdown, &[], None, &Strings::default()).formatted_body,
                expected,
                "{markdown:?}"
            );
        }
    }

    #[test]
    fn admonitions() {
        let cases = [
            (
                ":::info Titre\n\nTexte\n\n:::",
                "<blockquote><p>ℹ️ <strong>Titre</strong></p><p>Texte</p></blockquote>",
            ),
            (
                ":::warning\n\nAttention\n\n:::",
                "<blockquote><p>⚠️</p><p>Attention</p></blockquote>",
            ),
            (
                ":::spoiler\n\nRéponse\n\n:::",
                "<blockquote><p>🙈 <strong>Détails</strong></p><p>Réponse</p></blockquote>",
            ),
            (
                ":::note collapsible *Important !*\n\nx\n\n:::",
                "<blockquote><p>📝 <strong><em>Important !</em></strong></p><p>x</p></blockquote>",
            ),
            (
                ":::info A\n\n::::bug B\n\nin\n\n::::\n\n:::",
                "<blockquote><p>ℹ️ <strong>A</strong></p><blockquote><p>🐛 <strong>B</strong></p><p>in</p></blockquote></blockquote>",
            ),
        ];
        for (markdown, expected) in cases {
            assert_eq!(
                matrix(markdown, &[], None, &Strings::default()).formatted_body,
                expected,
                "{markdown:?}"
            );
        }
    }

    #[test]
    fn menu_and_body() {
        let menu = vec!["Oui".to_owned(), "<b>Non</b> & :x:".to_owned()];
        let message = matrix("**Question** ?", &menu, None, &Strings::default());
        assert_eq!(
            message.formatted_body,
            "<p><strong>Question</strong> ?</p><ol><li>Oui</li><li>&lt;b&gt;Non&lt;/b&gt; &amp; ❌</li></ol>"
        );
        assert_eq!(message.body, "Question ?\n\n1. Oui\n2. <b>Non</b> & ❌");
    }
}
