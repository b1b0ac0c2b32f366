//! Normalisation of messages and phrases into words, and the stop words.

use std::borrow::Cow;

use crate::engine::hash::FastSet;

/// Words that say nothing about the topic: never title-word keywords, never evidence alone.
const STOP_WORDS: &[&str] = &[
    "a",
    "au",
    "aux",
    "avec",
    "c",
    "ca",
    "ce",
    "ces",
    "cette",
    "comment",
    "dans",
    "de",
    "des",
    "du",
    "d",
    "elle",
    "elles",
    "en",
    "est",
    "et",
    "faire",
    "il",
    "ils",
    "j",
    "je",
    "l",
    "la",
    "le",
    "les",
    "leur",
    "leurs",
    "m",
    "ma",
    "mais",
    "me",
    "mes",
    "moi",
    "mon",
    "n",
    "ne",
    "nos",
    "notre",
    "nous",
    "on",
    "ou",
    "par",
    "pas",
    "peut",
    "pour",
    "pourquoi",
    "qu",
    "quand",
    "que",
    "quel",
    "quelle",
    "quelles",
    "quels",
    "qui",
    "quoi",
    "s",
    "sa",
    "se",
    "ses",
    "si",
    "son",
    "sont",
    "sur",
    "t",
    "ta",
    "te",
    "tes",
    "toi",
    "ton",
    "tu",
    "un",
    "une",
    "vos",
    "votre",
    "vous",
    "y",
    "est-ce",
    "dois",
    "doit",
    "faut",
    "veux",
    "voudrais",
    "suis",
    "sais",
    "savoir",
    "bien",
    "tout",
    "tous",
    "toutes",
    "plus",
    "tres",
    "fait",
    "ai",
    "as",
    "avez",
    "etes",
    "es",
    "sommes",
    "etait",
    "ete",
    "ont",
    "avons",
    "sera",
    "serait",
    // What people say of themselves ("je serai absent", "j'aurais besoin de…").
    "serai",
    "serais",
    "serons",
    "serez",
    "seront",
    "etais",
    "etaient",
    "avais",
    "avait",
    "aurai",
    "aurais",
    "aura",
    "aurait",
    // `stp` and `svp` written out (`s'il te plaît`): politeness, in any message.
    "plait",
    // Question words: every question has them, no answer is about them.
    "lequel",
    "laquelle",
    "lesquels",
    "lesquelles",
    // English, for English knowledge bases.
    "the",
    "an",
    "is",
    "are",
    "am",
    "i",
    "i'm",
    "im",
    "my",
    "me",
    "of",
    "to",
    "in",
    "on",
    "at",
    "it",
    "its",
    "not",
    "do",
    "does",
    "how",
    "what",
    "can",
    "you",
    "your",
    "we",
    "and",
    "or",
    "for",
    "with",
    "be",
    "this",
    "that",
    "there",
    "get",
    "which",
    "where",
    "when",
    "why",
    "who",
];

/// A message is matched on its first this many chars: a question is a few lines, and a
/// chat event can carry 60,000 letters.
pub const MAX_MESSAGE_CHARS: usize = 2_000;
/// A word is matched on its first this many chars: no word of a knowledge base is longer,
/// and typo matching costs grow with the length.
pub const MAX_WORD_CHARS: usize = 40;

/// The first [`MAX_MESSAGE_CHARS`] of a message.
pub(super) fn bounded(text: &str) -> &str {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

/// First parts of a hyphenated word that are words of their own, whose hyphen stays a
/// space: `au-dessus`, `là-bas`, `ci-joint`, `en-tête`.
const NOT_PREFIXES: &[&str] = &[
    "a", "au", "c", "ca", "ce", "ci", "d", "de", "du", "en", "et", "il", "j", "je", "l", "la",
    "le", "m", "me", "n", "ne", "on", "ou", "s", "se", "te", "tu", "un", "y",
];

/// `text` with the hyphen of a two-part word whose first part is one letter (`e-mail`,
/// `t-shirt`), or whose two parts are two letters each (`Wi-Fi`), taken out: `email`,
/// `tshirt`, `wifi`, as people type them. Split at the hyphen (as every other dash), `wi` and
/// `fi` are too short to be words of a title or a text, and `wifi` found nothing. Words with
/// more parts (`a-t-il`, `c-à-d`), a longer part after two letters (`mi-janvier`,
/// `ex-collègue`, whose second part is a word people search) or a longer first part (`vas-y`,
/// `est-ce`, `chauves-souris`) keep their hyphen.
pub(super) fn joined(text: &str) -> Cow<'_, str> {
    if !text.contains('-') {
        return Cow::Borrowed(text);
    }
    let chars: Vec<char> = text.chars().collect();
    let letters = |range: &mut dyn Iterator<Item = usize>| {
        range.take_while(|&i| chars[i].is_alphabetic()).count()
    };
    let mut out = String::with_capacity(text.len());
    for (at, &c) in chars.iter().enumerate() {
        if c == '-' {
            // Three letters are enough to know the first part is too long.
            let before = letters(&mut (0..at).rev().take(3));
            let after = letters(&mut (at + 1..chars.len()));
            let bounded = |i: Option<&char>| i.is_none_or(|c| !c.is_alphabetic() && *c != '-');
            // Folded as a word is (`là` is `la`); it holds no hyphen, so this does not recurse.
            let word_of_its_own = || {
                let first = normalize(&chars[at - before..at].iter().collect::<String>());
                NOT_PREFIXES.contains(&first.as_str())
            };
            if ((before == 1 && after >= 2) || (before == 2 && after == 2))
                && bounded(at.checked_sub(before + 1).map(|i| &chars[i]))
                && bounded(chars.get(at + 1 + after))
                && !word_of_its_own()
            {
                continue;
            }
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// Lower case, accents and other marks removed (Unicode NFKD), `œ`/`æ` expanded,
/// typographic apostrophes, quotes and dashes folded, punctuation ignored, whitespace
/// collapsed; a short first part joined to its word (`Wi-Fi` → `wifi`, see [`joined`]).
pub fn normalize(text: &str) -> String {
    let text = joined(text);
    /// Appends `c` folded; consecutive separators become one space, none at either end.
    fn fold(c: char, out: &mut String, space: &mut bool) {
        let mut push = |c: char| {
            if *space && !out.is_empty() {
                out.push(' ');
            }
            *space = false;
            out.push(c);
        };
        match c {
            'a'..='z' | '0'..='9' => push(c),
            'A'..='Z' => push(c.to_ascii_lowercase()),
            c if unicode_normalization::char::is_combining_mark(c) => {}
            'œ' | 'Œ' => "oe".chars().for_each(push),
            'æ' | 'Æ' => "ae".chars().for_each(push),
            'ß' => "ss".chars().for_each(push),
            '\'' | '’' | '‘' | '`' | '´' | 'ʼ' => push('\''),
            c if c.is_alphanumeric() => c.to_lowercase().for_each(push),
            // Everything else (punctuation, quotes, dashes, symbols, spaces) separates words.
            _ => *space = true,
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_ascii() {
            // NFKD leaves ASCII as it is.
            fold(c, &mut out, &mut space);
        } else {
            // Decomposing char by char differs from NFKD of the whole text only in the order
            // of consecutive combining marks, which are all dropped.
            unicode_normalization::char::decompose_compatible(c, |d| fold(d, &mut out, &mut space));
        }
    }
    out
}

/// `text` with a letter typed three times or more in a row written once (`merciii`,
/// `OKKK`, `bonjouuur`): how a chat stretches a word. No French word holds a letter three
/// times in a row; digits (`2000`) and other characters are left alone.
pub fn unstretched(text: &str) -> Cow<'_, str> {
    let same = |a: u8, b: u8| a.is_ascii_alphabetic() && a.eq_ignore_ascii_case(&b);
    let stretched = text
        .as_bytes()
        .windows(3)
        .any(|w| same(w[0], w[1]) && same(w[1], w[2]));
    if !stretched {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let mut run = vec![c];
        while let Some(&next) = chars.peek()
            && c.is_ascii_alphabetic()
            && c.eq_ignore_ascii_case(&next)
        {
            run.push(next);
            chars.next();
        }
        match run.len() {
            1 | 2 => out.extend(run),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Words of a normalised text; elisions are split off (`l'ecole` → `l`, `ecole`), and
/// French ordinals are written one way (`6eme`, `6ème`, `6e` → `6e`): school levels are
/// written all three ways.
pub fn words(normalised: &str) -> Vec<String> {
    word_iter(normalised).map(Cow::into_owned).collect()
}

/// [`words`], borrowing what needs no rewriting.
pub(super) fn word_iter(normalised: &str) -> impl Iterator<Item = Cow<'_, str>> {
    normalised
        .split([' ', '\''])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let digits = w.bytes().take_while(u8::is_ascii_digit).count();
            match &w[digits..] {
                "e" | "eme" | "em" | "ieme" | "er" | "ere" if digits > 0 => {
                    Cow::Owned(format!("{}e", &w[..digits]))
                }
                _ => Cow::Borrowed(w),
            }
        })
}

/// Words that turn a phrase around (`pas certifiable`, `sans compte`): stop words alone, but
/// inside an author's phrase what tells it from the same phrase without them.
const NEGATIONS: &[&str] = &["pas", "non", "aucun", "aucune", "jamais", "sans"];

/// Whether `word` negates what follows it (see [`NEGATIONS`]).
pub(super) fn is_negation(word: &str) -> bool {
    NEGATIONS.contains(&word)
}

/// A word that can carry meaning: not a stop word, and not a bare number (room numbers,
/// dates) that no keyword explains.
pub fn is_meaningful(word: &str) -> bool {
    !is_stop_word(word) && word.chars().any(char::is_alphabetic)
}

fn is_stop_word(word: &str) -> bool {
    static SET: std::sync::OnceLock<FastSet<&'static str>> = std::sync::OnceLock::new();
    SET.get_or_init(|| STOP_WORDS.iter().copied().collect())
        .contains(word)
}
