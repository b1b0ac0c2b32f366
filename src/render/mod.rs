//! Turns the Markdown of a bot reply into what each platform shows: plain text (terminal and
//! Matrix `body`), Matrix HTML and Discord Markdown.
//!
//! The three renderers share one front end, in this file: a line pre-pass that reproduces the
//! ChatMD extensions a CommonMark parser does not know (docs/chatmd.md §F5.1, §F11, §F13), then
//! pulldown-cmark, whose events are folded into a small owned document tree ([`Block`],
//! [`Inline`]) in which raw HTML has already been reduced to text, line breaks, simple styles,
//! links and media. Each renderer is then a plain walk over that tree.
//!
//! The tree's depth is bounded ([`MAX_BOX_DEPTH`], [`MAX_TREE_DEPTH`]): deeper input is
//! flattened to text, so the renderers' recursion is bounded whatever the input.

mod builder;
mod discord;
mod html;
mod matrix;
mod plain;
mod prepass;
mod text;
mod tree;

pub use discord::{DISCORD_MESSAGE_LIMIT, discord};
pub use matrix::{MatrixMessage, matrix};
pub use plain::plain;

pub(crate) use builder::inline_words;
pub(crate) use prepass::strip_html_comments;
pub(crate) use text::{finish_lines, menu_label, prefix_lines, table_lines, text_is_url, width};
pub(crate) use tree::{Block, Inline, LinkTarget, Media, Style, url_scheme};

use builder::segments_to_blocks;
use prepass::split_admonitions;

use crate::strings::Strings;

// --- Presentation constants shared by the renderers ----------------------------------------

/// What a horizontal rule (`*****`, `---`) becomes in text renderings.
const TEXT_RULE: &str = "──────────";
/// Markers of a task-list item, done or not.
const TASK_DONE: &str = "☑ ";
const TASK_OPEN: &str = "☐ ";

/// Admonitions nest by colon count; deeper opening lines are kept as text.
const MAX_BOX_DEPTH: usize = 8;
/// Markdown containers deeper than this are flattened to their text.
const MAX_TREE_DEPTH: usize = 24;

/// The emoji shown before the title of an admonition of type `kind` (docs/chatmd.md §F11 lists the
/// styled types; any other word gets the default style, hence a neutral pin).
pub fn admonition_emoji(kind: &str) -> &'static str {
    match kind.to_ascii_lowercase().as_str() {
        "info" => "ℹ️",
        "warning" => "⚠️",
        "success" => "✅",
        "danger" => "🚨",
        "note" => "📝",
        "tip" => "💡",
        "bug" => "🐛",
        "spoiler" => "🙈",
        _ => "📌",
    }
}

/// Parses a reply into the document tree shared by the renderers. The words the tree adds
/// (an untitled collapsible box's title, the names of media) are the bot's `strings`.
pub(crate) fn parse(markdown: &str, strings: &Strings) -> Vec<Block> {
    let text = strip_html_comments(&markdown.replace("\r\n", "\n").replace('\r', "\n"));
    segments_to_blocks(split_admonitions(&text), strings)
}

/// Parses a bot message whose numbered lists get `step_label` instead of their numbers, when
/// it is given ([`crate::engine::BotMessage::step_label`]: the message has choices).
pub(crate) fn parse_message(
    markdown: &str,
    step_label: Option<&str>,
    strings: &Strings,
) -> Vec<Block> {
    let mut blocks = parse(markdown, strings);
    if let Some(label) = step_label {
        label_steps(&mut blocks, label);
    }
    blocks
}

/// Turns every numbered list into a bulleted one whose items open with `label` in bold
/// (`{n}`: the item's number; an empty label leaves bare bullets). Typing a number picks a
/// choice, so a message with choices shows no other "3." that could be taken for one
/// (issue 18, item 10). The tree's depth is bounded, and so is this recursion.
fn label_steps(blocks: &mut [Block], label: &str) {
    for block in blocks {
        match block {
            Block::Quote(inner) => label_steps(inner, label),
            Block::Admonition(admonition) => label_steps(&mut admonition.body, label),
            Block::List { start, items } => {
                let first = start.take();
                for (index, item) in items.iter_mut().enumerate() {
                    label_steps(item, label);
                    let Some(first) = first else { continue };
                    let number = first.saturating_add(index as u64).to_string();
                    let text = label.replace("{n}", &number);
                    if text.trim().is_empty() {
                        continue;
                    }
                    let marker = Inline::Styled(Style::Strong, vec![Inline::Text(text)]);
                    match item.first_mut() {
                        Some(Block::Paragraph(inlines)) => {
                            inlines.splice(0..0, [marker, Inline::Text(" ".to_owned())]);
                        }
                        _ => item.insert(0, Block::Paragraph(vec![marker])),
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::html::decode_entities;
    use super::prepass::{Segment, clean_line};
    use super::text::replace_shortcodes;
    use super::tree::MediaKind;
    use super::*;

    fn text(value: &str) -> Inline {
        Inline::Text(value.to_owned())
    }

    #[test]
    fn numbered_lists_become_labelled_steps() {
        // (markdown, label, plain rendering): any start, nested lists, lists in boxes and
        // quotes, an item that opens with no paragraph; bullets and code stay as they are.
        let cases = [
            ("1) a\n2) b", "Étape {n} :", "- Étape 1 : a\n- Étape 2 : b"),
            ("3. c\n4. d", "Étape {n} :", "- Étape 3 : c\n- Étape 4 : d"),
            ("1. a\n   1. x", "#{n}", "- #1 a\n  - #1 x"),
            ("- a\n- b", "Étape {n} :", "- a\n- b"),
            ("1. a\n2. b", "", "- a\n- b"),
            ("> 1. a", "Étape {n} :", "> - Étape 1 : a"),
            (":::info\n1. a\n:::", "Étape {n} :", "│ ℹ️\n│ - Étape 1 : a"),
            ("1. ```\n   x\n   ```", "É{n}", "- É1\n      x"),
            ("```\n1. x\n```", "Étape {n} :", "    1. x"),
        ];
        for (markdown, label, expected) in cases {
            let blocks = parse_message(markdown, Some(label), &Strings::default());
            assert_eq!(plain::render(&blocks, &[]), expected, "{markdown:?}");
        }
        assert_eq!(
            parse_message("1. a", None, &Strings::default()),
            parse("1. a", &Strings::default())
        );
    }

    #[test]
    fn html_comments_are_removed() {
        let cases = [
            ("a<!-- x -->b", "ab"),
            ("a<!-- x\ny -->b<!--z-->c", "abc"),
            ("a<!-- never closed\nmore", "a"),
            ("<!<!-- x -->-- y -->z", "z"),
            ("no comment", "no comment"),
            ("é<!--é-->è", "éè"),
        ];
        for (input, expected) in cases {
            assert_eq!(strip_html_comments(input), expected, "{input:?}");
        }
    }

    #[test]
    fn emoji_shortcodes() {
        let cases = [
            (":one: un", "1️⃣ un"),
            ("[:sos:]", "[🆘]"),
            (":+1: ok", "👍 ok"),
            (":information_source:", "ℹ️"),
            (":not_an_emoji: :smile:", ":not_an_emoji: 😄"),
            ("10:30 et 11:45", "10:30 et 11:45"),
            ("::", "::"),
            (":x", ":x"),
            (":a b: :tada:", ":a b: 🎉"),
        ];
        for (input, expected) in cases {
            assert_eq!(replace_shortcodes(input), expected, "{input:?}");
        }
    }

    #[test]
    fn line_rewrites() {
        let cases = [
            ("[:sos:] (#profs_pixorga)", "[:sos:](#profs_pixorga)"),
            (
                "[:link: doc] (https://a.fr/x)",
                "[:link: doc](https://a.fr/x)",
            ),
            ("[note] (see above)", "[note] (see above)"),
            ("- [ ] (a)", "- [ ] (a)"),
            (
                "![alt](https://a.fr/i.png =100x80)",
                "![alt](https://a.fr/i.png)",
            ),
            (
                "![alt](https://a.fr/i.png =x80 \"t\")",
                "![alt](https://a.fr/i.png \"t\")",
            ),
            ("[a](https://a.fr/(b)c)", "[a](https://a.fr/(b)c)"),
            ("Texte important {.rouge .gras}", "Texte important"),
            ("{ pas une classe }", "{ pas une classe }"),
            ("Ligne normale", "Ligne normale"),
        ];
        for (input, expected) in cases {
            assert_eq!(clean_line(input), expected, "{input:?}");
        }
    }

    fn admonition(kind: &str, collapsible: bool, title: &str, body: Vec<Segment>) -> Segment {
        Segment::Admonition {
            kind: kind.to_owned(),
            collapsible,
            title: title.to_owned(),
            body,
        }
    }

    fn markdown(value: &str) -> Segment {
        Segment::Markdown(value.to_owned())
    }

    #[test]
    fn admonition_detection() {
        let cases: Vec<(&str, Vec<Segment>)> = vec![
            (
                ":::info Titre\n\ntexte\n\n:::",
                vec![admonition(
                    "info",
                    false,
                    "Titre",
                    vec![markdown("\ntexte\n")],
                )],
            ),
            (
                ":::warning collapsible *Important !*\n\nx\n\n:::\n\napres",
                vec![
                    admonition("warning", true, "*Important !*", vec![markdown("\nx\n")]),
                    markdown("\napres"),
                ],
            ),
            (
                ":::info A\n\n::::tip B\n\nin\n\n::::\n\nout\n\n:::",
                vec![admonition(
                    "info",
                    false,
                    "A",
                    vec![
                        admonition("tip", false, "B", vec![markdown("\nin\n")]),
                        markdown("\nout\n"),
                    ],
                )],
            ),
            // The real corpus: an inner box indented by four spaces, with whitespace lines.
            (
                ":::vide collapsible :dart: Quels objectifs ? \n\n    \n\n    :::vide En 6ème\n\n    S'acculturer au\n\n    \n\n    :::\n\n:::",
                vec![admonition(
                    "vide",
                    true,
                    ":dart: Quels objectifs ?",
                    vec![admonition(
                        "vide",
                        false,
                        "En 6ème",
                        vec![markdown("\nS'acculturer au\n\n\n")],
                    )],
                )],
            ),
            (
                ":::info jamais fermé\n\ntexte",
                vec![markdown(":::info jamais fermé\n\ntexte")],
            ),
            (
                "```\n\n:::info\n\n:::\n\n```",
                vec![markdown("```\n:::info\n:::\n```")],
            ),
            ("    :::info\n\n:::", vec![markdown("    :::info\n\n:::")]),
            (":::sos: texte", vec![markdown(":::sos: texte")]),
        ];
        for (input, expected) in cases {
            assert_eq!(split_admonitions(input), expected, "{input:?}");
        }
    }

    #[test]
    fn box_depth_is_bounded() {
        let mut source = String::new();
        for depth in 0..50 {
            source.push_str(&format!("{}info n{depth}\n", ":".repeat(3 + depth)));
        }
        for depth in (0..50).rev() {
            source.push_str(&format!("{}\n", ":".repeat(3 + depth)));
        }
        fn depth(blocks: &[Block]) -> usize {
            blocks
                .iter()
                .map(|block| match block {
                    Block::Admonition(admonition) => 1 + depth(&admonition.body),
                    _ => 0,
                })
                .max()
                .unwrap_or(0)
        }
        assert_eq!(depth(&parse(&source, &Strings::default())), MAX_BOX_DEPTH);
    }

    #[test]
    fn table_rows_separated_by_blank_lines_are_glued() {
        let blocks = parse(
            "Voici :\n\n| a | b |\n\n|---|---|\n\n| 1 | 2 |",
            &Strings::default(),
        );
        assert_eq!(
            blocks,
            vec![
                Block::Paragraph(vec![text("Voici :")]),
                Block::Table {
                    head: vec![vec![text("a")], vec![text("b")]],
                    rows: vec![vec![vec![text("1")], vec![text("2")]]]
                },
            ]
        );
    }

    /// Every named entity a browser knows shows as it does on ChatMD's page, not only the
    /// French ones; an unknown name and a bare `&` stay as written.
    #[test]
    fn html_entities_decode_as_a_browser_does() {
        assert_eq!(
            decode_entities("&rarr; &times; &aacute; &AMP; &eacute;t&eacute; &#233; &#x1F600;"),
            "→ × á & été é 😀"
        );
        assert_eq!(decode_entities("&inconnu; a & b &;"), "&inconnu; a & b &;");
        assert_eq!(
            decode_entities("&NotNestedGreaterGreater;"),
            "\u{2AA2}\u{338}"
        );
    }

    #[test]
    fn raw_html_is_reduced() {
        let cases: Vec<(&str, Vec<Block>)> = vec![
            (
                "<p>Bonjour &amp; <b>bienvenue</b></p>",
                vec![Block::Paragraph(vec![
                    text("Bonjour & "),
                    Inline::Styled(Style::Strong, vec![text("bienvenue")]),
                ])],
            ),
            (
                "<style>p { color: red }</style>\n\ntexte",
                vec![Block::Paragraph(vec![text("texte")])],
            ),
            (
                "a <script>alert(1)</script> b",
                vec![Block::Paragraph(vec![text("a b")])],
            ),
            (
                "<iframe src=\"https://v.fr/x?a=1&amp;b=2\" width=\"700\"></iframe>",
                vec![Block::Paragraph(vec![Inline::Media(Media {
                    kind: MediaKind::Embed,
                    url: "https://v.fr/x?a=1&b=2".to_owned(),
                    alt: String::new(),
                    label: "contenu intégré".to_owned(),
                })])],
            ),
            (
                "<video controls><source src=\"https://v.fr/a.webm\"><source src=\"https://v.fr/a.mp4\"></video>",
                vec![Block::Paragraph(vec![Inline::Media(Media {
                    kind: MediaKind::Video,
                    url: "https://v.fr/a.webm".to_owned(),
                    alt: String::new(),
                    label: "vidéo".to_owned(),
                })])],
            ),
            (
                "x <span onclick=\"evil()\">y</span> 1 < 2",
                vec![Block::Paragraph(vec![text("x y 1 < 2")])],
            ),
            (
                "<div>un</div><div>deux</div>",
                vec![Block::Paragraph(vec![
                    text("un"),
                    Inline::LineBreak,
                    text("deux"),
                ])],
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(parse(input, &Strings::default()), expected, "{input:?}");
        }
    }

    #[test]
    fn media_kind_from_extension() {
        let cases = [
            ("https://a.fr/x.png", MediaKind::Image),
            ("https://a.fr/x.MP4", MediaKind::Video),
            ("https://a.fr/x.mp3?v=2", MediaKind::Audio),
            ("https://a.fr/x", MediaKind::Image),
        ];
        for (url, kind) in cases {
            assert_eq!(MediaKind::from_url(url), kind, "{url}");
        }
    }

    #[test]
    fn link_targets() {
        let cases = [
            ("#profs_pix", LinkTarget::Internal),
            (
                "https://a.fr",
                LinkTarget::External("https://a.fr".to_owned()),
            ),
            (
                "mailto:a@b.fr",
                LinkTarget::External("mailto:a@b.fr".to_owned()),
            ),
            ("javascript:alert(1)", LinkTarget::Unusable),
            ("page.html", LinkTarget::Unusable),
        ];
        for (url, target) in cases {
            assert_eq!(LinkTarget::classify(url), target, "{url}");
        }
    }

    /// The words the renderers add come from the strings (`[strings] details` was once read
    /// and never used).
    #[test]
    fn untitled_boxes_and_media_are_named_by_the_strings() {
        let strings = Strings {
            details: "More".to_owned(),
            image_label: "picture".to_owned(),
            video_label: "film".to_owned(),
            ..Strings::default()
        };
        let markdown =
            ":::info collapsible\n\nx\n\n:::\n\n![](https://a.fr/x.png) ![](https://a.fr/x.mp4)";
        let text = plain(markdown, &[], None, &strings);
        assert!(text.contains("More"), "{text}");
        assert!(
            text.contains("[picture]") && text.contains("[film]"),
            "{text}"
        );
        assert!(
            !text.contains("Détails") && !text.contains("[image]"),
            "{text}"
        );
        let html = matrix(markdown, &[], None, &strings).formatted_body;
        assert!(html.contains("More") && html.contains("picture"), "{html}");
        let discord = discord(markdown, &[], 1, None, &strings).concat();
        assert!(
            discord.contains("More") && discord.contains("film"),
            "{discord}"
        );
    }

    #[test]
    fn admonition_titles() {
        let cases = [
            (":::info\n\nx\n\n:::", vec![]),
            (":::info collapsible\n\nx\n\n:::", vec![text("Détails")]),
            (":::spoiler\n\nx\n\n:::", vec![text("Détails")]),
            (
                ":::note collapsible :dart: But",
                vec![text(":::note collapsible 🎯 But")],
            ),
            (
                ":::note :dart: *But*\n\n:::",
                vec![
                    text("🎯 "),
                    Inline::Styled(Style::Emphasis, vec![text("But")]),
                ],
            ),
        ];
        for (input, title) in cases {
            let blocks = parse(input, &Strings::default());
            match blocks.first() {
                Some(Block::Admonition(admonition)) => {
                    assert_eq!(admonition.title, title, "{input:?}")
                }
                Some(Block::Paragraph(inlines)) => assert_eq!(inlines, &title, "{input:?}"),
                other => panic!("{input:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn deep_markdown_is_flattened() {
        let source = format!("{}fond", "> ".repeat(200));
        fn depth(blocks: &[Block]) -> usize {
            blocks
                .iter()
                .map(|block| {
                    if let Block::Quote(inner) = block {
                        1 + depth(inner)
                    } else {
                        0
                    }
                })
                .max()
                .unwrap_or(0)
        }
        let blocks = parse(&source, &Strings::default());
        assert!(depth(&blocks) < MAX_TREE_DEPTH);
        let mut words = String::new();
        fn collect(blocks: &[Block], out: &mut String) {
            for block in blocks {
                match block {
                    Block::Quote(inner) => collect(inner, out),
                    Block::Paragraph(inlines) => inline_words(inlines, out),
                    _ => {}
                }
            }
        }
        collect(&blocks, &mut words);
        assert_eq!(words, "fond");
    }

    #[test]
    fn tables_align() {
        let head = vec!["Jour".to_owned(), "Heure".to_owned()];
        let rows = vec![
            vec!["lundi".to_owned(), "8h".to_owned()],
            vec!["mardi".to_owned()],
        ];
        assert_eq!(
            table_lines(&head, &rows),
            vec![
                "| Jour  | Heure |",
                "|-------|-------|",
                "| lundi | 8h    |",
                "| mardi |       |"
            ]
        );
    }

    /// A reply built from the real corpus (seed 000), as the engine hands it over: one
    /// paragraph per source line (docs/chatmd.md §F5.1), conditions already resolved.
    const SEED_REPLY: &str = concat!(
        "**Comment créer une campagne de rentrée ?**\n\n",
        "*****\n\n",
        ":::info collapsible Documentation officielle\n\n",
        "[:link: Je consulte la documentation officielle] (https://view.genially.com/5f3e7a5ba8ffb90d11ac034f)\n\n",
        ":::\n\n",
        ":one: Je me connecte sur [Pix orga](https://orga.pix.fr/). [:sos:] (#profs_pixorga)\n\n",
        ":two: Je créé une campagne de rentrée.\n\n",
        "![code parcours](https://forge.apps.education.fr/PIX/creer_campagne_pix_4.png =600x)\n\n",
        "- Vidéo de présentation de la certification en 3ème\n\n",
        "<iframe src=\"https://ladigitale.dev/digiview/inc/video.php?videoId=gHuCeWiaTxM&debut=0&fin=185\" ",
        "allow=\"autoplay; fullscreen\" frameborder=\"0\" width=\"700\" height=\"394\"></iframe>\n\n",
        ":+1: <!-- source: 000 -->",
    );

    fn seed_menu() -> Vec<String> {
        [
            "Retour menu PIX",
            "Retour accueil",
            "Je n'ai plus de question",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    #[test]
    fn seed_reply_plain() {
        let expected = concat!(
            "Comment créer une campagne de rentrée ?\n",
            "\n",
            "──────────\n",
            "\n",
            "│ ℹ️ Documentation officielle\n",
            "│ 🔗 Je consulte la documentation officielle (https://view.genially.com/5f3e7a5ba8ffb90d11ac034f)\n",
            "\n",
            "1️⃣ Je me connecte sur Pix orga (https://orga.pix.fr/). 🆘\n",
            "\n",
            "2️⃣ Je créé une campagne de rentrée.\n",
            "\n",
            "[image: code parcours] https://forge.apps.education.fr/PIX/creer_campagne_pix_4.png\n",
            "\n",
            "- Vidéo de présentation de la certification en 3ème\n",
            "\n",
            "[vidéo] https://ladigitale.dev/digiview/inc/video.php?videoId=gHuCeWiaTxM&debut=0&fin=185\n",
            "\n",
            "👍\n",
            "\n",
            "1. Retour menu PIX\n",
            "2. Retour accueil\n",
            "3. Je n'ai plus de question",
        );
        assert_eq!(
            plain(SEED_REPLY, &seed_menu(), None, &Strings::default()),
            expected
        );
    }

    #[test]
    fn seed_reply_matrix() {
        let expected = concat!(
            "<p><strong>Comment créer une campagne de rentrée ?</strong></p>",
            "<hr>",
            "<blockquote><p>ℹ️ <strong>Documentation officielle</strong></p>",
            "<p><a href=\"https://view.genially.com/5f3e7a5ba8ffb90d11ac034f\">🔗 Je consulte la documentation officielle</a></p>",
            "</blockquote>",
            "<p>1️⃣ Je me connecte sur <a href=\"https://orga.pix.fr/\">Pix orga</a>. 🆘</p>",
            "<p>2️⃣ Je créé une campagne de rentrée.</p>",
            "<p>🖼️ <a href=\"https://forge.apps.education.fr/PIX/creer_campagne_pix_4.png\">code parcours</a></p>",
            "<ul><li>Vidéo de présentation de la certification en 3ème</li></ul>",
            "<p>🎬 <a href=\"https://ladigitale.dev/digiview/inc/video.php?videoId=gHuCeWiaTxM&amp;debut=0&amp;fin=185\">vidéo</a></p>",
            "<p>👍</p>",
            "<ol><li>Retour menu PIX</li><li>Retour accueil</li><li>Je n&#39;ai plus de question</li></ol>",
        );
        let message = matrix(SEED_REPLY, &seed_menu(), None, &Strings::default());
        assert_eq!(message.formatted_body, expected);
        assert_eq!(
            message.body,
            plain(SEED_REPLY, &seed_menu(), None, &Strings::default())
        );
    }

    #[test]
    fn seed_reply_discord() {
        let expected = concat!(
            "**Comment créer une campagne de rentrée ?**\n",
            "\n",
            "──────────\n",
            "\n",
            "> ℹ️ **Documentation officielle**\n",
            "> [🔗 Je consulte la documentation officielle](https://view.genially.com/5f3e7a5ba8ffb90d11ac034f)\n",
            "\n",
            "1️⃣ Je me connecte sur [Pix orga](https://orga.pix.fr/). 🆘\n",
            "\n",
            "2️⃣ Je créé une campagne de rentrée.\n",
            "\n",
            "🖼️ [code parcours](https://forge.apps.education.fr/PIX/creer_campagne_pix_4.png)\n",
            "\n",
            "- Vidéo de présentation de la certification en 3ème\n",
            "\n",
            "🎬 [vidéo](https://ladigitale.dev/digiview/inc/video.php?videoId=gHuCeWiaTxM&debut=0&fin=185)\n",
            "\n",
            "👍\n",
            "\n",
            "26. Retour menu PIX\n",
            "27. Retour accueil\n",
            "28. Je n'ai plus de question",
        );
        assert_eq!(
            discord(SEED_REPLY, &seed_menu(), 26, None, &Strings::default()),
            vec![expected.to_owned()]
        );
    }

    /// Checks that `html` uses only the tags and attributes of Matrix's HTML subset (the
    /// subset this renderer writes, a part of the specification's), balanced.
    fn check_matrix_html(html: &str) -> Result<(), String> {
        const TAGS: [&str; 28] = [
            "font",
            "del",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "blockquote",
            "p",
            "a",
            "ul",
            "ol",
            "sup",
            "sub",
            "li",
            "b",
            "i",
            "u",
            "strong",
            "em",
            "s",
            "code",
            "hr",
            "br",
            "div",
            "pre",
            "span",
        ];
        const TABLE_TAGS: [&str; 7] = ["table", "thead", "tbody", "tr", "th", "td", "caption"];
        const VOID: [&str; 2] = ["br", "hr"];
        let mut open: Vec<String> = Vec::new();
        let mut rest = html;
        while let Some(start) = rest.find(['<', '>']) {
            let after = &rest[start..];
            if after.starts_with('>') {
                return Err(format!("stray '>' in {html:?}"));
            }
            let end = after
                .find('>')
                .ok_or_else(|| format!("unterminated tag in {html:?}"))?;
            let inside = &after[1..end];
            rest = &after[end + 1..];
            if let Some(name) = inside.strip_prefix('/') {
                if open.pop().as_deref() != Some(name) {
                    return Err(format!("unbalanced </{name}> in {html:?}"));
                }
                continue;
            }
            let (name, attributes) = inside.split_once(' ').unwrap_or((inside, ""));
            if !TAGS.contains(&name) && !TABLE_TAGS.contains(&name) {
                return Err(format!("tag <{name}> outside the subset in {html:?}"));
            }
            if !attributes.is_empty() {
                let (attribute, value) = attributes
                    .split_once('=')
                    .ok_or_else(|| format!("bad attribute {attributes:?}"))?;
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .ok_or("unquoted value")?;
                let allowed = match (name, attribute) {
                    ("a", "href") => ["http:", "https:", "ftp:", "mailto:", "magnet:"]
                        .iter()
                        .any(|s| value.starts_with(s)),
                    ("ol", "start") => value.chars().all(|c| c.is_ascii_digit()),
                    ("code", "class") => {
                        value.starts_with("language-")
                            && value
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || "-_+".contains(c))
                    }
                    _ => false,
                };
                if !allowed || value.contains(['"', '<', '>']) {
                    return Err(format!(
                        "attribute {attributes:?} not allowed on <{name}> in {html:?}"
                    ));
                }
            }
            if !VOID.contains(&name) {
                open.push(name.to_owned());
            }
        }
        if open.is_empty() {
            Ok(())
        } else {
            Err(format!("unclosed {open:?} in {html:?}"))
        }
    }

    #[test]
    fn hostile_html_never_reaches_matrix_or_other_outputs() {
        let cases = [
            "<script>alert(1)</script><img src=x onerror=alert(1)><a href=\"javascript:alert(1)\" onclick=\"x\">lien</a>",
            "<!<!-- -->-- caché -->",
            "<!--",
            "a <!** --** b",
            "``` <!-- ```",
            "<div style=\"x\"><p onmouseover=\"y\">texte</p></div><svg><script>z</script></svg>",
            ":::info <b onclick=x>titre</b>\n\n<iframe src=\"javascript:x\"></iframe>\n\n:::",
            "<a href=\"https://a.fr\" onclick=\"x\"><img src=\"https://a.fr/i.png\"></a>",
            "[x](https://a.fr/\"onclick=\"y)",
        ];
        for markdown in cases {
            let message = matrix(markdown, &[markdown.to_owned()], None, &Strings::default());
            assert_eq!(
                check_matrix_html(&message.formatted_body),
                Ok(()),
                "{markdown:?}"
            );
            // Escaped, the attribute is harmless text; unescaped, it must not be there at all.
            let html = matrix(markdown, &[], None, &Strings::default()).formatted_body;
            assert!(
                !html.contains("onclick=\"") && !html.contains("onerror="),
                "{markdown:?} gave {html:?}"
            );
            for output in [
                plain(markdown, &[], None, &Strings::default()),
                discord(markdown, &[], 1, None, &Strings::default()).concat(),
                html,
                message.body,
            ] {
                assert!(!output.contains("<!--"), "{markdown:?} gave {output:?}");
            }
        }
    }

    #[test]
    fn comment_openers_in_menu_labels_are_dropped_too() {
        let menu = vec!["<!--".to_owned(), "a <!<!---->-- b".to_owned()];
        assert_eq!(plain("", &menu, None, &Strings::default()), "1.\n2. a");
        assert_eq!(
            discord("", &menu, 1, None, &Strings::default()),
            vec!["1.\n2. a".to_owned()]
        );
        assert_eq!(
            matrix("", &menu, None, &Strings::default()).formatted_body,
            "<ol><li></li><li>a</li></ol>"
        );
    }

    #[test]
    fn the_checker_rejects_what_matrix_forbids() {
        for html in [
            "<script>x</script>",
            "<p onclick=\"x\">y</p>",
            "<a href=\"javascript:x\">y</a>",
            "<p>",
            "<img src=\"mxc://a/b\">",
            "a > b",
        ] {
            assert!(check_matrix_html(html).is_err(), "{html}");
        }
        assert_eq!(
            check_matrix_html(
                "<p><a href=\"https://a.fr\">a</a><br></p><ol start=\"2\"><li>x</li></ol>"
            ),
            Ok(())
        );
    }

    fn soup() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let fragments = prop::sample::select(vec![
            "<!--",
            "-->",
            "<script>",
            "</script>",
            "<style>",
            "</style>",
            "<b>",
            "</b>",
            "<i>",
            "</u>",
            "<a href=\"javascript:x\">",
            "<a href=\"https://a.fr/x\">",
            "</a>",
            ":::info Titre",
            ":::",
            "::::tip",
            "::::",
            ":::vide collapsible",
            "\n",
            "\n\n",
            "    ",
            "**",
            "*",
            "_",
            "`",
            "```",
            "[",
            "]",
            "(",
            ")",
            " (",
            "![a](https://x.fr/y.png =1x2)",
            "![](z.mp4)",
            "<iframe src=\"https://v.fr/x\">",
            "</iframe>",
            "<img src=x onerror=alert(1)>",
            "| a | b |",
            "|---|---|",
            "> ",
            "- ",
            "1. ",
            "# ",
            "### ",
            ":one:",
            ":sos:",
            "{.x}",
            "<",
            ">",
            "&",
            "&amp;",
            "&#x3c;",
            "&#0;",
            "<!",
            "--",
            "é",
            "🚨",
            "\t",
            "<div onclick=\"x\">",
            "</div>",
            "<br/>",
            "<video><source src=\"https://a.fr/b.mp4\">",
            "https://a_b.fr/*x*",
            "~~",
            "<p>",
            "[:sos:] (#cible)",
            "[lien](https://a.fr)",
            "- [ ] ",
            "*****",
            "\\",
            "<details><summary>",
            "\r\n",
            "mot",
        ]);
        let piece = prop_oneof![
            4 => fragments.prop_map(str::to_owned),
            2 => "[a-z <>!&;:#*_\\[\\]()|`\n-]{0,12}",
            1 => any::<String>(),
            1 => (1usize..900, prop::sample::select(vec!["x", "mot ", "🚨", "é\n", "- a\n\n"])).prop_map(|(n, s)| s.repeat(n)),
        ];
        prop::collection::vec(piece, 0..60).prop_map(|pieces| pieces.concat())
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(300))]

        #[test]
        fn any_input_renders_safely(markdown in soup(), menu in proptest::collection::vec(soup(), 0..3)) {
            let message = matrix(&markdown, &menu, None, &Strings::default());
            proptest::prop_assert_eq!(check_matrix_html(&message.formatted_body), Ok(()));
            let parts = discord(&markdown, &menu, 26, None, &Strings::default());
            for part in &parts {
                proptest::prop_assert!(part.encode_utf16().count() <= DISCORD_MESSAGE_LIMIT);
                proptest::prop_assert!(!part.trim().is_empty());
                proptest::prop_assert!(!part.contains("<!--"));
            }
            let text = plain(&markdown, &menu, None, &Strings::default());
            for output in [&text, &message.body, &message.formatted_body] {
                proptest::prop_assert!(!output.contains("<!--"));
            }
            proptest::prop_assert!(text.lines().all(|line| line == line.trim_end()));
            proptest::prop_assert!(!text.contains("\n\n\n"));
        }
    }
}
