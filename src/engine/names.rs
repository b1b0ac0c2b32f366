//! How people name a response, read from the structure of the knowledge base: the labels of
//! the choices and links that lead to it, and its first heading or bold line. guichet mode
//! matches messages against these names and shows them in "did you mean…?" lists.
//!
//! Many authors give a response no keyword at all and reach it by a button: the button's
//! label is then the author's own name for it. A title is often an identifier
//! (`profs_xyzpix`, `R12Q7`); the first heading of the text (`**PIX, c'est quoi ?**`) is
//! what a reader sees first.

use super::guichet::normalize;
use super::hash::{FastMap, FastSet};
use crate::kb::{KnowledgeBase, Target};

/// A label that leads to this many different responses or more names none of them: `Oui`,
/// `Non`, `Suite`, `Retour` are navigation, not names.
const GENERIC_LABEL_TARGETS: usize = 2;

/// Labels that answer the question before them (`Oui`, `Suite`, `Retour`), as normalised:
/// navigation, not names, even where they lead to one response only.
const ANSWER_LABELS: &[&str] = &[
    "oui",
    "non",
    "ok",
    "d'accord",
    "suite",
    "la suite",
    "suivant",
    "continuer",
    "retour",
    "menu",
    "yes",
    "no",
    "next",
    "back",
];

/// A name longer than this (in chars) is a sentence, not a name: it is not shown as a
/// suggestion (a title or shorter name is).
const MAX_NAME_CHARS: usize = 90;

/// The names of every response of a base, in response order.
#[derive(Debug, Default)]
pub struct Names {
    /// For each response: its names (choice and link labels, first heading), most telling
    /// first, without duplicates.
    pub names: Vec<Vec<String>>,
    /// For each response: how a "did you mean…?" list shows it.
    pub labels: Vec<String>,
}

impl Names {
    pub fn for_kb(kb: &KnowledgeBase) -> Self {
        // Every label with the responses it leads to: a label leading to several responses is
        // navigation (`Oui`, `Retour`), not a name.
        let mut targets: FastMap<String, Vec<&str>> = FastMap::default();
        let mut labels: Vec<(&str, &str)> = Vec::new();
        let messages = std::iter::once(&kb.welcome).chain(kb.responses.iter().map(|r| &r.message));
        for message in messages {
            for choice in &message.choices {
                if let Target::Response(title) = &choice.target {
                    labels.push((choice.label.as_str(), title.as_str()));
                }
            }
            for link in &message.links {
                labels.push((link.label.as_str(), link.target.as_str()));
            }
        }
        // A target that names no response may name one by its page (see [`Leaves`]).
        let leaves = Leaves::for_kb(kb);
        for (_, title) in &mut labels {
            if kb.response_index(title).is_none()
                && let Some(i) = leaves.resolve(title)
            {
                *title = kb.responses[i].title.as_str();
            }
        }
        for &(label, title) in &labels {
            let list = targets.entry(normalize(label)).or_default();
            // Only whether a label leads to one response or more is read: two are enough.
            if list.len() < GENERIC_LABEL_TARGETS && !list.contains(&title) {
                list.push(title);
            }
        }
        let mut by_title: FastMap<&str, Vec<String>> = FastMap::default();
        // (title, normalised label) pairs already kept: a response linked 10,000 times by the
        // same label keeps one name, in linear time.
        let mut kept: FastSet<(&str, String)> = FastSet::default();
        let navigation = |key: &str| {
            ANSWER_LABELS.contains(&key)
                || targets
                    .get(key)
                    .is_none_or(|t| t.len() >= GENERIC_LABEL_TARGETS)
        };
        for &(label, title) in &labels {
            let key = normalize(label);
            if key.is_empty() || navigation(&key) {
                continue;
            }
            if kept.insert((title, key)) {
                by_title.entry(title).or_default().push(clean(label));
            }
        }
        // A yes/no question names what its yes leads to: `D'autres exemples ?` then
        // `1. [Oui](exemples)`. The question is read as a label is, so one asked before
        // several different answers (`En savoir plus ?`) names none of them.
        let messages = std::iter::once(&kb.welcome).chain(kb.responses.iter().map(|r| &r.message));
        let mut prompts: FastMap<String, Vec<&str>> = FastMap::default();
        let mut asked: Vec<(String, &str)> = Vec::new();
        for message in messages {
            let Some(first) = message.choices.first() else {
                continue;
            };
            let Target::Response(title) = &first.target else {
                continue;
            };
            // Resolved as a label's target is (a page's file for its response).
            let title = match (kb.response_index(title), leaves.resolve(title)) {
                (None, Some(i)) => kb.responses[i].title.as_str(),
                _ => title.as_str(),
            };
            let generic = navigation(&normalize(&first.label));
            let prompt = message
                .lines
                .last()
                .filter(|line| line.location.line < first.location.line)
                .map(|line| clean(line.text.trim_start_matches(['>', '#', '*', '-', ' '])))
                .filter(|p| p.ends_with('?') && p.chars().count() <= MAX_NAME_CHARS);
            if let (true, Some(prompt)) = (generic, prompt) {
                let list = prompts.entry(normalize(&prompt)).or_default();
                if list.len() < GENERIC_LABEL_TARGETS && !list.contains(&title) {
                    list.push(title);
                }
                asked.push((prompt, title));
            }
        }
        for (prompt, title) in asked {
            let key = normalize(&prompt);
            let one = prompts.get(&key).is_some_and(|t| t.len() == 1);
            if one && !key.is_empty() && kept.insert((title, key)) {
                by_title.entry(title).or_default().push(prompt);
            }
        }
        let mut names: Vec<Vec<String>> = Vec::with_capacity(kb.responses.len());
        for response in &kb.responses {
            let mut list = by_title
                .get(response.title.as_str())
                .cloned()
                .unwrap_or_default();
            if let Some(heading) = first_heading(response.message.lines.iter().map(|l| &*l.text))
                && !list.iter().any(|n| normalize(n) == normalize(&heading))
            {
                list.push(heading);
            }
            // `section/Comment géocoder ?` reads as its last part.
            if let Some((_, page)) = response.title.rsplit_once('/') {
                let page = clean(&page.replace('_', " "));
                if !page.is_empty() && !list.iter().any(|n| normalize(n) == normalize(&page)) {
                    list.push(page);
                }
            }
            names.push(list);
        }
        let labels = suggestion_labels(kb, &names);
        Self { names, labels }
    }
}

/// The responses by their page's name: a title's last `/` part, compacted. Bases split over
/// several web pages link a page's file (`Comment_géocoder_à_la_parcelle.md`) where the chat
/// needs a title (`aide/Comment géocoder à la parcelle`).
#[derive(Debug, Default)]
pub(super) struct Leaves(FastMap<String, Vec<usize>>);

impl Leaves {
    pub(super) fn for_kb(kb: &KnowledgeBase) -> Self {
        let mut leaves: FastMap<String, Vec<usize>> = FastMap::default();
        for (i, response) in kb.responses.iter().enumerate() {
            leaves.entry(leaf(&response.title)).or_default().push(i);
        }
        Self(leaves)
    }

    /// The one response whose title ends with the page a dangling target names.
    pub(super) fn resolve(&self, target: &str) -> Option<usize> {
        let target = target
            .strip_suffix(".md")
            .or_else(|| target.strip_suffix(".MD"))
            .unwrap_or(target);
        match self.0.get(&leaf(target))?.as_slice() {
            [only] => Some(*only),
            _ => None,
        }
    }
}

/// The last `/` part of a title or target, normalised without spaces; `_` separates words.
fn leaf(title: &str) -> String {
    let last = title.rsplit('/').next().unwrap_or(title);
    normalize(&last.replace('_', " ")).split(' ').collect()
}

/// How each response is shown in a "did you mean…?" list: the label of a choice leading to
/// it, else its first heading, else its title. Two responses that would read the same are
/// told apart by their titles.
fn suggestion_labels(kb: &KnowledgeBase, names: &[Vec<String>]) -> Vec<String> {
    let mut labels: Vec<String> = kb
        .responses
        .iter()
        .zip(names)
        .map(|(response, names)| {
            names
                .iter()
                .find(|n| !n.is_empty() && n.chars().count() <= MAX_NAME_CHARS)
                .cloned()
                .unwrap_or_else(|| response.title.clone())
        })
        .collect();
    let mut count: FastMap<String, usize> = FastMap::default();
    for label in &labels {
        *count.entry(normalize(label)).or_default() += 1;
    }
    for (label, response) in labels.iter_mut().zip(&kb.responses) {
        if count.get(&normalize(label)).copied().unwrap_or(0) > 1
            && normalize(label) != normalize(&response.title)
        {
            *label = format!("{label} ({})", response.title);
        }
    }
    labels
}

/// A label as a person reads it: Markdown emphasis and surrounding spaces removed.
fn clean(text: &str) -> String {
    let stripped: String = text
        .chars()
        .filter(|c| !matches!(c, '*' | '_' | '`'))
        .collect();
    stripped.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first heading (`### …`) or line in bold (`**…**`) of a response's text, if it comes
/// before any other text: what a reader sees first names the page.
fn first_heading<'a>(lines: impl Iterator<Item = &'a str>) -> Option<String> {
    for line in lines {
        let line = line.trim();
        if line.is_empty() || line.starts_with("<!--") {
            continue;
        }
        let text = if let Some(rest) = line.strip_prefix('#') {
            rest.trim_start_matches('#').trim()
        } else if line.starts_with("**") && line.ends_with("**") && line.len() > 4 {
            &line[2..line.len() - 2]
        } else {
            return None;
        };
        let text = clean(text);
        return (!text.is_empty() && text.chars().count() <= MAX_NAME_CHARS).then_some(text);
    }
    None
}

#[cfg(test)]
#[allow(clippy::expect_used)] // tests fail loudly by design
mod tests {
    use super::*;

    fn names(text: &str) -> Names {
        let kb = crate::kb::parse_str("base.md", text).kb.expect("parses");
        Names::for_kb(&kb)
    }

    #[test]
    fn labels_leading_to_a_response_name_it() {
        let n = names(
            "# Bot\nBienvenue\n1. [PIX, c'est quoi ?](profs_xyzpix)\n2. [Oui](a)\n\n\
             ## profs_xyzpix\nTexte.\n1. [Oui](a)\n2. [Non](b)\n\n## a\nA\n1. [Oui](b)\n\n## b\nB\n",
        );
        assert_eq!(n.names[0], vec!["PIX, c'est quoi ?".to_string()]);
        // `Oui` leads to two responses: navigation, not a name.
        assert!(n.names[1].is_empty());
        assert_eq!(n.labels[0], "PIX, c'est quoi ?");
        assert_eq!(n.labels[1], "a");
    }

    #[test]
    fn the_first_heading_or_bold_line_names_a_response() {
        let n = names(
            "# Bot\nB\n\n## R12Q7\n**Comment créer une session ?**\nTexte.\n\n## x\nTexte\n**Gras**\n",
        );
        assert_eq!(n.labels[0], "Comment créer une session ?");
        assert_eq!(n.labels[1], "x");
    }

    #[test]
    fn the_same_label_is_never_shown_twice() {
        let n = names("# Bot\nB\n\n## a1\n### Aide\nA\n\n## a2\n### Aide\nB\n");
        assert_eq!(
            n.labels,
            vec!["Aide (a1)".to_string(), "Aide (a2)".to_string()]
        );
    }
}
