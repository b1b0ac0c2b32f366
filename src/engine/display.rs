//! Turning a message of the knowledge base into what the user sees: one `---` alternative,
//! variables and conditions evaluated top to bottom, directives applied, choices offered
//! (docs/chatmd.md §F6).

use crate::kb::body::{AssignValue, Directive, Node};
use crate::kb::{Choice, KnowledgeBase, Message, Target};

use super::conversation::{ChoiceTarget, Conversation, MessageRef, OfferedChoice, PendingNext};
use super::eval;
use super::rng::Rng;
use super::{BotMessage, ShownChoice};

/// ChatMD shows the skip button at the third display of a quiz question (docs/chatmd.md §F7).
const NEXT_DISPLAYS_BEFORE_SKIP: u32 = 3;

/// What displaying a message asks the engine to do next.
#[derive(Debug, Default)]
pub struct Effects {
    /// `!SelectNext`: titles to draw the follow-up from.
    pub select_next: Option<Vec<String>>,
}

/// Makes text typed by a user (a variable holding it, such as `@INPUT`) show literally once
/// substituted into the bot's Markdown (issue 14, item 9): a typed `[Cliquez ici](https://…)`
/// must not become a disguised link in the bot's own message, nor `# …` a heading.
///
/// Every ASCII punctuation character is backslash-escaped (CommonMark guarantees `\` before
/// any of them stands for the character itself, so the escaping holds whatever Markdown
/// extension the renderers turn on), except the HTML-significant ones, which become entities
/// ([`escape_html`]) that the Markdown parser decodes back into text. Line breaks become
/// spaces: a new line could otherwise start a block (a list, a quote, a box `:::`) or end
/// the author's paragraph.
pub fn escape_user_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    for c in text.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '<' | '>' | '&' | '"' | '\'' => push_html_escaped(&mut out, c),
            c if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for HTML (element content and attribute values).
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_html_escaped(&mut out, c);
    }
    out
}

fn push_html_escaped(out: &mut String, c: char) {
    match c {
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#39;"),
        _ => out.push(c),
    }
}

#[derive(Debug)]
pub struct Displayer<'a> {
    pub kb: &'a KnowledgeBase,
    pub conversation: &'a mut Conversation,
    pub rng: &'a mut Rng,
    pub default_choice: &'a str,
    pub skip_label: &'a str,
}

impl Displayer<'_> {
    fn substitute(&mut self, text: &str) -> String {
        let rng = &mut *self.rng;
        crate::kb::parse::substitute_fixed_variables(
            text,
            &self.kb.settings.variables,
            false,
            &mut |n| rng.below(n),
        )
    }

    fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        |name: &str| self.conversation.variables.get(name).cloned()
    }

    /// A condition's value; an evaluation error makes it false (as in ChatMD) and is logged
    /// for the author, without the user's data.
    fn holds(&self, condition: &crate::kb::body::Condition) -> bool {
        match eval::evaluate(&condition.expr, &self.lookup()) {
            Ok(value) => value.truthy(),
            Err(err) => {
                tracing::warn!(
                    condition = %condition.source,
                    line = condition.location.line,
                    error = %err,
                    "a condition could not be evaluated; its block is hidden"
                );
                false
            }
        }
    }

    /// Displays `message`. `source` says which it is (for quiz retries); `first_welcome`
    /// shows the welcome's show-once parts; `become_options` makes its choices ChatMD's
    /// "last options" (false when the welcome is re-shown through an empty target).
    pub fn display(
        &mut self,
        message: &Message,
        source: MessageRef,
        show_once: bool,
        become_options: bool,
    ) -> (BotMessage, Effects) {
        let mut effects = Effects::default();
        // Choices first, as ChatMD builds the option list before evaluating the text.
        let mut choices: Vec<&Choice> = message.choices.iter().collect();
        let select = message.variants.iter().flatten().find_map(|n| match n {
            Node::Directive(Directive::Select(n), _) => Some(*n),
            _ => None,
        });
        match select {
            Some(n) if n <= choices.len() => {
                self.rng.shuffle(&mut choices);
                choices.truncate(n);
            }
            _ => {
                if choices.iter().any(|c| c.shuffled) {
                    let positions: Vec<usize> = (0..choices.len())
                        .filter(|&i| choices[i].shuffled)
                        .collect();
                    let mut moved: Vec<&Choice> = positions.iter().map(|&i| choices[i]).collect();
                    self.rng.shuffle(&mut moved);
                    for (slot, choice) in positions.iter().zip(moved) {
                        choices[*slot] = choice;
                    }
                }
            }
        }
        let offered: Vec<OfferedChoice> = choices
            .iter()
            .map(|c| offered(c, self.default_choice))
            .collect();
        if become_options {
            self.conversation.last_options = offered.clone();
        }

        let variant_index = self.rng.below(message.variants.len());
        let mut markdown = String::new();
        let mut pending_next = None;
        if let Some(nodes) = message.variants.get(variant_index) {
            self.render_nodes(
                nodes,
                show_once,
                &mut markdown,
                &mut pending_next,
                &mut effects,
            );
        }

        // Choices are shown when their conditions hold at the end of the message.
        let mut shown = Vec::new();
        let mut shown_choices = Vec::new();
        for (choice, offer) in choices.iter().zip(offered) {
            let visible = choice.conditions.iter().all(|c| self.holds(c));
            if visible {
                let label = self.substitute(&offer.label);
                shown_choices.push(ShownChoice {
                    label: label.clone(),
                    id: choice_id(&offer),
                });
                shown.push(OfferedChoice { label, ..offer });
            }
        }
        // Internal links become buttons too: a chat cannot click inside text.
        for link in &message.links {
            let target = if self.kb.response_index(&link.target).is_some() {
                link.target.clone()
            } else {
                link.target.replace('-', " ")
            };
            if self.kb.response_index(&target).is_none()
                || shown
                    .iter()
                    .any(|s| s.target == ChoiceTarget::Response(target.clone()))
            {
                continue;
            }
            let label = link_label(&link.label, &target);
            let offer = OfferedChoice {
                raw_label: label.clone(),
                label: label.clone(),
                target: ChoiceTarget::Response(target),
                assignment: None,
                typed: false,
            };
            shown_choices.push(ShownChoice {
                label,
                id: choice_id(&offer),
            });
            shown.push(offer);
        }

        let mut expects_answer = false;
        if let Some(next) = pending_next {
            self.conversation.next_displays += 1;
            expects_answer = true;
            if self.conversation.next_displays >= NEXT_DISPLAYS_BEFORE_SKIP && !next.never_skip {
                let offer = OfferedChoice {
                    raw_label: self.skip_label.to_string(),
                    label: self.skip_label.to_string(),
                    target: ChoiceTarget::Response(next.target.clone()),
                    assignment: None,
                    typed: false,
                };
                shown_choices.push(ShownChoice {
                    label: offer.label.clone(),
                    id: choice_id(&offer),
                });
                shown.push(offer);
            }
            self.conversation.next = Some(PendingNext {
                question: source.clone(),
                ..next
            });
        }
        if let MessageRef::Response(title) = &source
            && !shown.is_empty()
        {
            self.conversation.push_back(title);
        }
        self.conversation.current = match &source {
            MessageRef::Response(title) => Some(title.clone()),
            MessageRef::Welcome => None,
        };
        self.conversation.shown = shown;
        (
            BotMessage {
                markdown: tidy(&markdown),
                choices: shown_choices,
                expects_answer,
                step_label: None,
            },
            effects,
        )
    }

    fn render_nodes(
        &mut self,
        nodes: &[Node],
        show_once: bool,
        out: &mut String,
        next: &mut Option<PendingNext>,
        effects: &mut Effects,
    ) {
        for node in nodes {
            match node {
                Node::Text(text) => {
                    let text = self.substitute(text);
                    out.push_str(&text);
                }
                Node::Break => out.push_str("\n\n"),
                Node::Var(name) => {
                    if let Some(value) = self.conversation.variables.get(name) {
                        if self.conversation.user_variables.contains(name) {
                            out.push_str(&escape_user_text(value));
                        } else {
                            out.push_str(value);
                        }
                    }
                }
                Node::Assign { name, value, .. } => {
                    let from_user = reads_user_text(self.conversation, value);
                    let stored = match value {
                        AssignValue::Text(alternatives) => {
                            let index = self.rng.below(alternatives.len());
                            alternatives.get(index).cloned()
                        }
                        AssignValue::Calc(expr) => match eval::evaluate(expr, &self.lookup()) {
                            Ok(value) => value.to_stored(),
                            Err(err) => {
                                tracing::warn!(variable = %name, error = %err, "calc failed; the variable stays undefined");
                                None
                            }
                        },
                    };
                    match stored {
                        Some(v) => {
                            self.conversation.variables.insert(name.clone(), v);
                            mark_user_text(self.conversation, name, from_user);
                        }
                        None => {
                            self.conversation.variables.remove(name);
                        }
                    }
                }
                Node::Capture { name, target, .. } => {
                    self.conversation.capture = Some((name.clone(), target.clone()));
                }
                Node::Directive(directive, _) => match directive {
                    Directive::Next {
                        target,
                        retry,
                        ignore_keywords,
                        never_skip,
                    } => {
                        *next = Some(PendingNext {
                            target: target.clone(),
                            retry: retry.clone(),
                            ignore_keywords: *ignore_keywords,
                            never_skip: *never_skip,
                            question: MessageRef::Welcome,
                        });
                    }
                    Directive::SelectNext(titles) => effects.select_next = Some(titles.clone()),
                    Directive::Select(_) | Directive::Bot(_) | Directive::WebOnly(_) => {}
                },
                Node::If {
                    condition,
                    children,
                } => {
                    if self.holds(condition) {
                        self.render_nodes(children, show_once, out, next, effects);
                    }
                }
                Node::ShowOnce(children) => {
                    if show_once {
                        self.render_nodes(children, show_once, out, next, effects);
                    }
                }
            }
        }
    }
}

/// A label for an internal link turned into a button: its text, or the title when the text
/// is only an emoji shortcode such as `:sos:`.
fn link_label(label: &str, target: &str) -> String {
    let trimmed = label.trim();
    let only_shortcodes = trimmed
        .split_whitespace()
        .all(|w| w.len() > 2 && w.starts_with(':') && w.ends_with(':'));
    if trimmed.is_empty() || only_shortcodes {
        target.to_string()
    } else {
        trimmed.to_string()
    }
}

pub fn offered(choice: &Choice, default_label: &str) -> OfferedChoice {
    let target = match &choice.target {
        Target::Welcome => ChoiceTarget::Welcome,
        Target::Response(t) => ChoiceTarget::Response(t.clone()),
        Target::Url(u) => ChoiceTarget::Url(u.clone()),
    };
    let assignment = choice.assignment.as_ref().map(|(name, _)| {
        let value = choice
            .raw_label
            .split_once(&format!("@{name}="))
            .map_or(String::new(), |(_, v)| v.trim().to_string());
        (name.clone(), value)
    });
    let label = if choice.label.is_empty() {
        default_label.to_string()
    } else {
        choice.label.clone()
    };
    OfferedChoice {
        raw_label: choice.raw_label.clone(),
        label,
        target,
        assignment,
        typed: true,
    }
}

/// A stable id for a choice: the same label and target give the same id across restarts and
/// reloads (FNV-1a, hex).
pub fn choice_id(choice: &OfferedChoice) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    let target = match &choice.target {
        ChoiceTarget::Welcome => String::new(),
        ChoiceTarget::Response(t) => format!("r:{t}"),
        ChoiceTarget::Url(u) => format!("u:{u}"),
    };
    for byte in choice.raw_label.bytes().chain([0]).chain(target.bytes()) {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("{hash:08x}")
}

/// Collapses the blank runs left by removed lines (conditions, assignments, directives).
fn tidy(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut blank_run = 0;
    for line in markdown.split('\n') {
        if line.trim().is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.trim().to_string()
}

/// Whether an assignment's value is computed from text a user typed: a `calc` reading a
/// variable that holds some (`calc(@INPUT.toUpperCase())`) yields user text too, to be
/// escaped wherever it is shown.
fn reads_user_text(conversation: &Conversation, value: &AssignValue) -> bool {
    match value {
        // Alternatives are the author's own text.
        AssignValue::Text(_) => false,
        AssignValue::Calc(expr) => expr
            .variables()
            .iter()
            .any(|name| conversation.user_variables.contains(*name)),
    }
}

fn mark_user_text(conversation: &mut Conversation, name: &str, from_user: bool) {
    if from_user {
        conversation.user_variables.insert(name.to_string());
    } else {
        conversation.user_variables.remove(name);
    }
}

/// How offered choices are shown: their labels and stable ids.
pub fn shown(offered: &[OfferedChoice]) -> Vec<ShownChoice> {
    offered
        .iter()
        .map(|o| ShownChoice {
            label: o.label.clone(),
            id: choice_id(o),
        })
        .collect()
}

/// Offers `offered` as the choices of the message shown now: what a typed label or number
/// and a click refer to next. Returns them as shown.
pub fn offer(conversation: &mut Conversation, offered: Vec<OfferedChoice>) -> Vec<ShownChoice> {
    let choices = shown(&offered);
    conversation.last_options = offered.clone();
    conversation.shown = offered;
    choices
}

/// Performs a picked choice's assignment (`@var=value`, `calc(…)` allowed).
pub fn perform_assignment(conversation: &mut Conversation, name: &str, value: &str, rng: &mut Rng) {
    let parsed = crate::kb::body::parse_assign_value(value);
    let from_user = parsed
        .as_ref()
        .is_ok_and(|value| reads_user_text(conversation, value));
    match parsed {
        Ok(AssignValue::Text(alternatives)) => {
            let index = rng.below(alternatives.len());
            if let Some(v) = alternatives.get(index) {
                conversation.variables.insert(name.to_string(), v.clone());
                conversation.user_variables.remove(name);
            }
        }
        Ok(AssignValue::Calc(expr)) => {
            let lookup = |n: &str| conversation.variables.get(n).cloned();
            match eval::evaluate(&expr, &lookup) {
                Ok(v) => match v.to_stored() {
                    Some(v) => {
                        conversation.variables.insert(name.to_string(), v);
                        mark_user_text(conversation, name, from_user);
                    }
                    None => {
                        conversation.variables.remove(name);
                    }
                },
                Err(err) => {
                    tracing::warn!(variable = %name, error = %err, "calc in a choice failed")
                }
            }
        }
        Err(err) => {
            tracing::warn!(variable = %name, error = %err, "invalid assignment in a choice")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_is_escaped_for_markdown_and_html() {
        for (typed, escaped) in [
            ("bonjour", "bonjour"),
            ("[a](http://x)", r"\[a\]\(http\:\/\/x\)"),
            ("*_`~|#", r"\*\_\`\~\|\#"),
            ("<b> & \"l'été\"", "&lt;b&gt; &amp; &quot;l&#39;été&quot;"),
            ("un\n- deux\r\n3. trois", r"un \- deux  3\. trois"),
            (r"a\b", r"a\\b"),
        ] {
            assert_eq!(escape_user_text(typed), escaped, "{typed:?}");
        }
    }
}
