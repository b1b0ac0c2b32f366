//! Echo safety (issue 14, item 9): text a person typed, shown back through `@INPUT` or any
//! variable holding it, reads literally in every rendering, never as the bot's own Markdown.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Arc;

use guichet::engine::{Answer, Conversation, Engine, Input, MatchingMode, Rng};
use guichet::render;
use guichet::strings::Strings;

/// A free-text question whose answer echoes what was typed, as is and through a `calc`, next
/// to the author's own Markdown (which must keep rendering).
const BASE: &str = "---
contenuDynamique: true
---
# Accueil
Bonjour !
1. [Laisser un message](Question)

## Question
- question
Votre message ?
!Next: Réponse / ignoreKeywords

## Réponse
- réponse
`@copie = calc(@INPUT.toUpperCase())`
**Merci**, vous avez écrit : `@INPUT`

En capitales : `@copie`
";

const LINK: &str = "[Cliquez ici](https://evil.example)";

/// The Markdown of the answer to `typed`, in both matching modes.
fn echo(typed: &str) -> Vec<String> {
    let kb = guichet::kb::parse_str("echo.md", BASE)
        .kb
        .expect("the test base loads");
    let kb = Arc::new(kb);
    [MatchingMode::Guichet, MatchingMode::Chatmd]
        .into_iter()
        .map(|mode| {
            let engine = Engine::new(kb.clone(), mode, Strings::default());
            let mut conversation = Conversation::default();
            let mut rng = Rng::seeded(3);
            engine.reply(&mut conversation, Input::Start, &mut rng);
            engine.reply(&mut conversation, Input::Pick(0), &mut rng);
            let reply = engine.reply(&mut conversation, Input::Text(typed.into()), &mut rng);
            assert_eq!(reply.answer, Answer::Response("Réponse".into()), "{mode:?}");
            reply.messages[0].markdown.clone()
        })
        .collect()
}

#[test]
fn a_typed_link_is_plain_text_in_the_terminal() {
    for markdown in echo(&format!("voir {LINK} !")) {
        let text = render::plain(&markdown, &[], None, &Strings::default());
        assert!(
            text.contains(&format!("vous avez écrit : voir {LINK} !")),
            "{text}"
        );
        assert!(
            text.contains("[CLIQUEZ ICI](HTTPS://EVIL.EXAMPLE)"),
            "{text}"
        );
        // The author's bold still renders (no asterisks left).
        assert!(text.contains("Merci,"), "{text}");
    }
}

#[test]
fn a_typed_link_is_no_link_on_matrix() {
    for markdown in echo(LINK) {
        let message = render::matrix(&markdown, &[], None, &Strings::default());
        let html = &message.formatted_body;
        assert!(!html.contains("<a"), "{html}");
        assert!(!html.to_lowercase().contains("href"), "{html}");
        assert!(html.contains(LINK), "{html}");
        assert!(html.contains("<strong>Merci</strong>"), "{html}");
        assert!(message.body.contains(LINK), "{}", message.body);
    }
}

#[test]
fn a_typed_link_is_no_masked_link_on_discord() {
    for markdown in echo(LINK) {
        let text = render::discord(&markdown, &[], 1, None, &Strings::default()).join("\n");
        // Discord shows `\[` as `[`: the person sees what they typed, not a link named
        // "Cliquez ici".
        assert!(
            text.contains(r"\[Cliquez ici\](https://evil.example)"),
            "{text}"
        );
        assert!(!text.contains(" [Cliquez ici]"), "{text}");
        assert!(text.contains(r"\[CLIQUEZ ICI\]"), "{text}");
        assert!(text.contains("**Merci**"), "{text}");
    }
}

#[test]
fn typed_markup_and_html_show_literally_everywhere() {
    let typed =
        "**gras** <b>gras</b> `code` ~~barré~~\n# Titre\n> citation\n:::info\n- liste &amp; co";
    for markdown in echo(typed) {
        let text = render::plain(&markdown, &[], None, &Strings::default());
        assert!(
            text.contains(
                "**gras** <b>gras</b> `code` ~~barré~~ # Titre > citation :::info - liste &amp; co"
            ),
            "{text}"
        );
        let html = render::matrix(&markdown, &[], None, &Strings::default()).formatted_body;
        for tag in [
            "<b>",
            "<code>",
            "<del>",
            "<h1>",
            "<blockquote>",
            "<li>",
            "<details",
        ] {
            assert!(!html.contains(tag), "{tag} in {html}");
        }
        assert!(html.contains("&lt;b&gt;gras&lt;/b&gt;"), "{html}");
        assert!(html.contains("&amp;amp; co"), "{html}");
        let discord = render::discord(&markdown, &[], 1, None, &Strings::default()).join("\n");
        assert!(discord.contains(r"\*\*gras\*\*"), "{discord}");
        assert!(!discord.contains("\n# Titre"), "{discord}");
    }
}
