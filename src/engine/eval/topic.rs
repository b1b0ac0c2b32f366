//! ChatMD's text helpers for expressions: `normalizeText` (case kept or not), its stop words and
//! `mainTopic`.

use crate::js::{is_js_whitespace, js_trim, map_accents, normalize_text};

pub(super) fn normalize_text_with(s: &str, keep_case: bool) -> String {
    if keep_case {
        map_accents(js_trim(s))
    } else {
        normalize_text(s)
    }
}

/// Elided words before an apostrophe (`l'école` → `école`).
const ELISIONS: [&str; 12] = [
    "l", "d", "j", "m", "t", "s", "c", "n", "qu", "jusqu", "lorsqu", "puisqu",
];

/// Pronouns glued by a hyphen to a verb (`trouve-moi`, `peux-tu`, `pense-t-il`).
const HYPHENATED_PRONOUNS: [&str; 19] = [
    "moi", "toi", "tu", "nous", "vous", "il", "ils", "elle", "elles", "on", "je", "le", "la",
    "les", "lui", "leur", "y", "en", "t",
];

/// Multi-word fillers removed before single words.
const FILLER_EXPRESSIONS: [&str; 5] = [
    "en savoir plus",
    "est-ce que",
    "s'il te plaît",
    "s'il vous plaît",
    "ce qui m'intéresse",
];

/// French words that are never the topic, in normalized form (lower case, no accents):
/// articles, prepositions, pronouns, auxiliaries, verbs of wanting, looking and asking,
/// intensifiers, and words for "information".
const STOP_WORDS: [&str; 149] = [
    "a",
    "ai",
    "aime",
    "aimer",
    "aimerais",
    "aimerait",
    "adore",
    "as",
    "au",
    "aussi",
    "aux",
    "avec",
    "avez",
    "avoir",
    "avons",
    "beaucoup",
    "bien",
    "c",
    "ca",
    "ce",
    "ceci",
    "cela",
    "ces",
    "cet",
    "cette",
    "chez",
    "cherche",
    "chercher",
    "cherches",
    "connaitre",
    "d",
    "dans",
    "de",
    "des",
    "detail",
    "details",
    "dire",
    "dis",
    "dites",
    "donne",
    "donner",
    "donnes",
    "dont",
    "du",
    "elle",
    "elles",
    "en",
    "es",
    "est",
    "et",
    "etre",
    "explique",
    "expliquer",
    "expliquez",
    "info",
    "information",
    "informations",
    "infos",
    "interessant",
    "interesse",
    "interessee",
    "interessees",
    "interessent",
    "interesser",
    "interesses",
    "j",
    "je",
    "l",
    "la",
    "le",
    "les",
    "leur",
    "leurs",
    "lui",
    "m",
    "ma",
    "me",
    "mes",
    "moi",
    "mon",
    "montre",
    "montrer",
    "n",
    "ne",
    "nos",
    "notre",
    "nous",
    "on",
    "ont",
    "ou",
    "par",
    "parle",
    "parler",
    "parlez",
    "particulierement",
    "pas",
    "passionne",
    "peut",
    "peux",
    "plait",
    "plus",
    "pour",
    "pourrais",
    "pourrait",
    "pourriez",
    "pouvez",
    "principalement",
    "qu",
    "que",
    "quel",
    "quelle",
    "qui",
    "quoi",
    "renseignement",
    "renseignements",
    "s",
    "sa",
    "sais",
    "savoir",
    "se",
    "ses",
    "son",
    "sont",
    "souhaite",
    "souhaiterais",
    "suis",
    "sur",
    "surtout",
    "svp",
    "t",
    "ta",
    "te",
    "tes",
    "toi",
    "ton",
    "tres",
    "trouve",
    "trouver",
    "trouves",
    "tu",
    "un",
    "une",
    "veut",
    "veux",
    "voudrais",
    "voudrait",
    "vous",
    "vraiment",
    "y",
];

/// Splits text into words the way `mainTopic` sees them: punctuation dropped, hyphenated
/// pronouns detached, elided articles and pronouns removed. Words keep case and accents.
fn topic_words(text: &str) -> Vec<String> {
    let cleaned: String = text
        .chars()
        .map(|c| match c {
            '’' | 'ʼ' => '\'',
            ',' | '.' | ';' | ':' | '!' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '"' | '«'
            | '»' | '…' | '/' | '\\' => ' ',
            other => other,
        })
        .collect();
    let mut words = Vec::new();
    for word in cleaned.split(is_js_whitespace).filter(|w| !w.is_empty()) {
        let mut parts = word.split('-');
        let head = parts.next().unwrap_or_default();
        let tail: Vec<&str> = parts.collect();
        let detachable = !head.is_empty()
            && !tail.is_empty()
            && tail
                .iter()
                .all(|part| HYPHENATED_PRONOUNS.contains(&normalize_text(part).as_str()));
        let pieces: Vec<&str> = if detachable {
            std::iter::once(head).chain(tail).collect()
        } else {
            vec![word]
        };
        for piece in pieces {
            let mut piece = piece;
            while let Some((prefix, rest)) = piece.split_once('\'') {
                if rest.is_empty() || !ELISIONS.contains(&normalize_text(prefix).as_str()) {
                    break;
                }
                piece = rest;
            }
            words.push(piece.to_owned());
        }
    }
    words
}

/// ChatMD's `mainTopic`: the words of a request that are not French stop words or filler
/// expressions, joined by spaces ("Je m'intéresse beaucoup à la photographie" →
/// "photographie"). `expressions` are extra phrases to remove ("jeu de données").
///
/// guichet's own word lists, written from ChatMD's test cases; ChatMD's exact lists are not
/// reproduced.
pub fn main_topic(text: &str, expressions: &[String]) -> String {
    let mut words = topic_words(text);
    let phrases = FILLER_EXPRESSIONS
        .iter()
        .map(|e| (*e).to_owned())
        .chain(expressions.iter().cloned());
    for phrase in phrases {
        let phrase: Vec<String> = topic_words(&phrase)
            .iter()
            .map(|w| normalize_text(w))
            .collect();
        if phrase.is_empty() {
            continue;
        }
        let mut kept: Vec<String> = Vec::with_capacity(words.len());
        let mut index = 0;
        while index < words.len() {
            let matches = words
                .get(index..index + phrase.len())
                .is_some_and(|window| {
                    window
                        .iter()
                        .zip(&phrase)
                        .all(|(word, wanted)| normalize_text(word) == *wanted)
                });
            if matches {
                index += phrase.len();
            } else {
                if let Some(word) = words.get(index) {
                    kept.push(word.clone());
                }
                index += 1;
            }
        }
        words = kept;
    }
    words
        .into_iter()
        .filter(|word| !STOP_WORDS.contains(&normalize_text(word).as_str()))
        .collect::<Vec<_>>()
        .join(" ")
}
