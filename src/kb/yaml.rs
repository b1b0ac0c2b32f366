//! The YAML header of the main file: ChatMD's settings, with French and English aliases.
//!
//! We use `yaml-rust2`: pure Rust, YAML 1.2 like ChatMD's js-yaml 4 (so `yes`/`no` stay
//! strings in both), actively maintained (the maintained successor of `yaml-rust`), and
//! its scan errors carry line and column. `serde_yaml` is archived and its forks are
//! either unmaintained or have had soundness advisories.

use std::collections::BTreeMap;

use yaml_rust2::parser::Parser;
use yaml_rust2::{Event, Yaml, YamlLoader};

use super::{Diagnostic, FileId, Location};

/// Largest YAML header read. ChatMD headers are a few dozen lines; a bigger one is refused
/// before the YAML parser runs, which bounds what parsing it can cost.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The header text between the first two `---` of the main file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub text: String,
}

/// Finds the header as ChatMD does (docs/chatmd.md §F3.1): only when the file starts exactly with
/// `---` and holds a second `---` anywhere (a value containing `---` truncates it).
pub fn extract_header(main_text: &str) -> Option<Header> {
    let rest = main_text.strip_prefix("---")?;
    let end = rest.find("---")?;
    Some(Header {
        text: rest[..end].to_string(),
    })
}

/// Most response title prefixes (`titresRéponses`). Every line of the base is tried against
/// each of them; ChatMD bases use one to three.
pub const MAX_RESPONSE_PREFIXES: usize = 16;

/// `synonymes:`: inline groups, or the URL of a text file with one group per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SynonymSource {
    Groups(Vec<Vec<String>>),
    File(String, Location),
}

/// Settings from the header that matter in a chat. Defaults are ChatMD's.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Line prefixes that start a response (`titresRéponses`), trailing space included.
    pub response_prefixes: Vec<String>,
    /// `rechercheContenu`: add content similarity to scores.
    pub content_search: bool,
    /// `gestionGrosMots: true`: the French profanity filter.
    pub bad_words: bool,
    /// `messageParDéfaut` / `defaultMessage`: replaces the built-in fallback sentences.
    pub default_messages: Option<Vec<String>>,
    /// `fallback`: a response title shown when nothing matches.
    pub fallback: Option<String>,
    /// `contenuDynamique`: dynamic variables, conditional blocks and options.
    pub dynamic_content: bool,
    /// Fixed variables `@{name}`: alternatives per name.
    pub variables: BTreeMap<String, Vec<String>>,
    /// `include:` entries as written, with the header line they are on.
    pub includes: Vec<(String, Location)>,
    pub synonyms: SynonymSource,
    /// `clavier: false`: the bot is meant to be driven by buttons only.
    pub keyboard: bool,
    /// `obfuscate: true` makes `fallback` never resolve in ChatMD (docs/chatmd.md §F18.26).
    pub obfuscate: bool,
    /// `retourArrière`: an old button restores the state of its time.
    pub rewind: bool,
    /// Personas declared under `bots`, for `!Bot:`.
    pub bots: Vec<String>,
    /// Keys that only change ChatMD's web page, as written (listed by `check`).
    pub web_only_keys: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            response_prefixes: vec!["## ".to_string()],
            content_search: false,
            bad_words: false,
            default_messages: None,
            fallback: None,
            dynamic_content: false,
            variables: BTreeMap::new(),
            includes: Vec::new(),
            synonyms: SynonymSource::Groups(Vec::new()),
            keyboard: true,
            obfuscate: false,
            rewind: false,
            bots: Vec::new(),
            web_only_keys: Vec::new(),
        }
    }
}

/// Keys (with aliases, preferred spelling first) that matter for a chat daemon.
const RESPONSE_TITLES: &[&str] = &["titresRéponses", "responsesTitles"];
const CONTENT_SEARCH: &[&str] = &["rechercheContenu", "searchInContent"];
const BAD_WORDS: &[&str] = &["gestionGrosMots", "detectBadWords"];
const DYNAMIC: &[&str] = &[
    "contenuDynamique",
    "dynamicContent",
    "variablesDynamiques",
    "dynamicVariables",
];
const SYNONYMS: &[&str] = &["synonymes", "synonyms"];
const KEYBOARD: &[&str] = &["clavier", "keyboard", "userInput"];
const REWIND: &[&str] = &["retourArrière", "rewind"];
const CHAT_KEYS: &[&str] = &[
    "titresRéponses",
    "responsesTitles",
    "rechercheContenu",
    "searchInContent",
    "gestionGrosMots",
    "detectBadWords",
    "messageParDéfaut",
    "defaultMessage",
    "fallback",
    "contenuDynamique",
    "dynamicContent",
    "variablesDynamiques",
    "dynamicVariables",
    "variables",
    "include",
    "synonymes",
    "synonyms",
    "clavier",
    "keyboard",
    "userInput",
    "obfuscate",
    "bots",
    "retourArrière",
    "rewind",
];
/// Keys ChatMD knows that only change its web page (or need a language model).
const WEB_ONLY_KEYS: &[&str] = &[
    "plugins",
    "addOns",
    "maths",
    "useLLM",
    "utiliserLLM",
    "avatar",
    "avatarCercle",
    "avatarCircle",
    "favicon",
    "footer",
    "theme",
    "style",
    "darkmode",
    "typewriter",
    "typeWriter",
    "effetDactylo",
    "text2speech",
    "scorm",
    "preload",
    "geolocation",
];

/// Interprets the header. Problems are pushed to `diagnostics`; the defaults stay in force for
/// anything that cannot be read, as in ChatMD.
pub fn parse_settings(
    header: Option<&Header>,
    file: FileId,
    diagnostics: &mut Vec<Diagnostic>,
) -> Settings {
    let mut settings = Settings::default();
    let Some(header) = header else {
        return settings;
    };
    if header.text.len() > MAX_HEADER_BYTES {
        diagnostics.push(Diagnostic::error(
            Some(Location { file, line: 1 }),
            format!(
                "the YAML header is larger than {} KiB; nothing in it is used",
                MAX_HEADER_BYTES / 1024
            ),
        ));
        return settings;
    }
    if let Some((line, column)) = first_alias(&header.text) {
        diagnostics.push(
            Diagnostic::error(
                Some(Location { file, line }),
                "YAML aliases (`*name`) are not allowed in the header; write the value again",
            )
            .with_column(column),
        );
        return settings;
    }
    let docs = match YamlLoader::load_from_str(&header.text) {
        Ok(docs) => docs,
        Err(err) => {
            let marker = err.marker();
            // The header text starts right after the first `---`, on line 1 of the file.
            let location = Location {
                file,
                line: u32::try_from(marker.line()).unwrap_or(1).max(1),
            };
            diagnostics.push(
                Diagnostic::error(
                    Some(location),
                    format!("invalid YAML header: {}", err.info()),
                )
                .with_column(u32::try_from(marker.col() + 1).unwrap_or(1)),
            );
            return settings;
        }
    };
    let map = match docs.into_iter().next() {
        Some(Yaml::Hash(map)) => map,
        Some(Yaml::Null) | None => return settings,
        Some(_) => {
            diagnostics.push(Diagnostic::error(
                Some(Location { file, line: 1 }),
                "the YAML header must be a map of `key: value` lines",
            ));
            return settings;
        }
    };
    let line_of = |key: &str| -> Location {
        Location {
            file,
            line: key_line(&header.text, key),
        }
    };
    fn lookup<'m>(
        map: &'m yaml_rust2::yaml::Hash,
        names: &[&'static str],
    ) -> Option<(&'static str, &'m Yaml)> {
        names.iter().find_map(|name| {
            map.get(&Yaml::String((*name).to_string()))
                .map(|value| (*name, value))
        })
    }
    let get = |names: &[&'static str]| lookup(&map, names);

    for (key, _) in map.iter() {
        let Some(key) = key.as_str() else { continue };
        if WEB_ONLY_KEYS.contains(&key) {
            settings.web_only_keys.push(key.to_string());
        }
    }

    if let Some((key, value)) = get(RESPONSE_TITLES) {
        let prefixes: Vec<String> = match value {
            Yaml::String(s) => vec![s.clone()],
            Yaml::Array(items) => items.iter().filter_map(scalar_string).collect(),
            Yaml::Hash(h) => h.values().filter_map(scalar_string).collect(),
            _ => Vec::new(),
        };
        let mut prefixes: Vec<String> = prefixes.into_iter().filter(|p| !p.is_empty()).collect();
        if prefixes.len() > MAX_RESPONSE_PREFIXES {
            diagnostics.push(Diagnostic::error(
                Some(line_of(key)),
                format!("`{key}` lists more than {MAX_RESPONSE_PREFIXES} prefixes"),
            ));
            prefixes.truncate(MAX_RESPONSE_PREFIXES);
        }
        if prefixes.is_empty() {
            diagnostics.push(Diagnostic::warning(
                Some(line_of(key)),
                format!(
                    "`{key}` should be a prefix such as \"## \" or a list of them; using \"## \""
                ),
            ));
        } else {
            settings.response_prefixes = prefixes;
        }
    }
    if let Some((_, value)) = get(CONTENT_SEARCH) {
        settings.content_search = truthy(value);
    }
    if let Some((key, value)) = get(BAD_WORDS) {
        // ChatMD only enables the filter for the boolean `true` itself.
        settings.bad_words = matches!(value, Yaml::Boolean(true));
        if !matches!(value, Yaml::Boolean(_)) {
            diagnostics.push(Diagnostic::warning(
                Some(line_of(key)),
                format!("`{key}` only takes effect with the value `true`"),
            ));
        }
    }
    if let Some((key, value)) = get(&["messageParDéfaut"]).or_else(|| get(&["defaultMessage"])) {
        match value {
            Yaml::Array(items) => {
                settings.default_messages = Some(items.iter().filter_map(scalar_string).collect())
            }
            Yaml::Hash(h) => {
                settings.default_messages = Some(h.values().filter_map(scalar_string).collect())
            }
            Yaml::String(s) => {
                // ChatMD would split a plain string into single characters (docs/chatmd.md
                // §F18.21); one message is what the author meant.
                diagnostics.push(Diagnostic::warning(
                    Some(line_of(key)),
                    format!(
                        "`{key}` is a single string: ChatMD shows it one character at a time; write it as a list `[\"…\"]`"
                    ),
                ));
                settings.default_messages = Some(vec![s.clone()]);
            }
            _ => diagnostics.push(Diagnostic::warning(
                Some(line_of(key)),
                format!("`{key}` should be a list of sentences; ignored"),
            )),
        }
        if settings
            .default_messages
            .as_ref()
            .is_some_and(|m| m.is_empty())
        {
            settings.default_messages = None;
        }
    }
    if let Some((key, value)) = get(&["fallback"]) {
        match scalar_string(value) {
            Some(title) => settings.fallback = Some(title),
            None => diagnostics.push(Diagnostic::warning(
                Some(line_of(key)),
                "`fallback` should be the title of a response; ignored",
            )),
        }
    }
    if let Some((_, value)) = get(DYNAMIC) {
        settings.dynamic_content = truthy(value);
    }
    if let Some((key, value)) = get(&["variables"]) {
        match value {
            Yaml::Hash(h) => {
                for (name, value) in h {
                    let Some(name) = scalar_string(name) else {
                        continue;
                    };
                    let alternatives: Vec<String> = match value {
                        Yaml::Array(items) => items.iter().filter_map(scalar_string).collect(),
                        other => match scalar_string(other) {
                            Some(s) => s.split("///").map(str::to_string).collect(),
                            None => Vec::new(),
                        },
                    };
                    settings.variables.insert(name, alternatives);
                }
            }
            Yaml::Null => {}
            _ => diagnostics.push(Diagnostic::warning(
                Some(line_of(key)),
                "`variables` should be a map `name: value`; ignored (a list of maps does not work in ChatMD either)",
            )),
        }
    }
    if let Some((key, value)) = get(&["include"]) {
        let entries: Vec<String> = match value {
            Yaml::Array(items) => items.iter().filter_map(scalar_string).collect(),
            other => scalar_string(other).into_iter().collect(),
        };
        // Entries are written in order: each is searched after the line of the previous one
        // (so a file listed twice gets both its lines, and a long list costs linear time).
        // Past the include limit only the fact that there are more matters (the reader
        // reports it), so the rest is not kept.
        let header_lines: Vec<&str> = header.text.split('\n').collect();
        let mut previous = None;
        for entry in entries.into_iter().take(super::source::MAX_INCLUDES + 1) {
            let line = match entry_line(&header_lines, previous, &entry) {
                Some(index) => {
                    previous = Some(index);
                    u32::try_from(index + 1).unwrap_or(u32::MAX)
                }
                None => key_line(&header.text, key),
            };
            settings.includes.push((entry, Location { file, line }));
        }
    }
    if let Some((key, value)) = get(SYNONYMS) {
        settings.synonyms = match value {
            Yaml::Array(items) => SynonymSource::Groups(
                items
                    .iter()
                    .filter_map(scalar_string)
                    .map(|g| split_synonym_group(&g))
                    .collect(),
            ),
            Yaml::String(url) => SynonymSource::File(url.clone(), line_of(key)),
            _ => SynonymSource::Groups(Vec::new()),
        };
    }
    if let Some((_, value)) = get(KEYBOARD) {
        settings.keyboard = truthy(value);
    }
    if let Some((_, value)) = get(&["obfuscate"]) {
        settings.obfuscate = truthy(value);
    }
    if let Some((_, value)) = get(REWIND) {
        settings.rewind = truthy(value);
    }
    if let Some((_, Yaml::Hash(bots))) = get(&["bots"]) {
        settings.bots = bots.keys().filter_map(scalar_string).collect();
    }
    // Unknown keys are kept and ignored by ChatMD; say so, they are often typos.
    for (key, _) in map.iter() {
        let Some(key) = key.as_str() else { continue };
        if !CHAT_KEYS.contains(&key) && !WEB_ONLY_KEYS.contains(&key) {
            let known: Vec<&str> = CHAT_KEYS.iter().chain(WEB_ONLY_KEYS).copied().collect();
            let hint = super::diagnostic::did_you_mean(key, known.iter().copied())
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            diagnostics.push(Diagnostic::warning(
                Some(line_of(key)),
                format!("unknown YAML key `{key}` has no effect{hint}"),
            ));
        }
    }
    settings
}

/// The line and column of the first alias (`*name`) in a header, if any. The loader copies
/// the anchored value at every alias, so ten aliases of ten aliases of … grow exponentially
/// (a 529-byte header took 4 GB); ChatMD settings have no use for them. The event parser used
/// here does not expand anything. A syntax error ends the search: the loader reports it.
fn first_alias(text: &str) -> Option<(u32, u32)> {
    let mut parser = Parser::new_from_str(text);
    loop {
        match parser.next_token() {
            Ok((Event::Alias(_), marker)) => {
                let line = u32::try_from(marker.line()).unwrap_or(1).max(1);
                let column = u32::try_from(marker.col() + 1).unwrap_or(1);
                return Some((line, column));
            }
            Ok((Event::StreamEnd, _)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// One synonym group `"a, b, c"`: members trimmed, empty ones dropped.
pub fn split_synonym_group(group: &str) -> Vec<String> {
    group
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// JavaScript truthiness, which is how ChatMD reads its boolean options.
fn truthy(value: &Yaml) -> bool {
    match value {
        Yaml::Boolean(b) => *b,
        Yaml::Integer(i) => *i != 0,
        Yaml::Real(r) => r.parse::<f64>().is_ok_and(|f| f != 0.0 && !f.is_nan()),
        Yaml::String(s) => !s.is_empty(),
        Yaml::Array(_) | Yaml::Hash(_) => true,
        Yaml::Null | Yaml::BadValue | Yaml::Alias(_) => false,
    }
}

/// A scalar as the string JavaScript would see.
fn scalar_string(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The 1-based file line of `key:` in the header (the header starts on line 1).
fn key_line(header: &str, key: &str) -> u32 {
    header
        .split('\n')
        .position(|l| {
            let t = l.trim_start().trim_start_matches(['"', '\'']);
            t.starts_with(key)
                && t[key.len()..]
                    .trim_start_matches(['"', '\''])
                    .trim_start()
                    .starts_with(':')
        })
        .map_or(1, |i| u32::try_from(i + 1).unwrap_or(1))
}

/// The 0-based index of the header line where a list entry is written, if it can be found:
/// after the previous entry's line, else on it (a flow list `[a, b]`), else anywhere.
fn entry_line(lines: &[&str], previous: Option<usize>, entry: &str) -> Option<usize> {
    let found = |range: std::ops::Range<usize>| {
        let range = range.start.min(lines.len())..range.end.min(lines.len());
        range
            .clone()
            .zip(&lines[range])
            .find(|(_, line)| line.contains(entry))
            .map(|(index, _)| index)
    };
    let Some(previous) = previous else {
        return found(0..lines.len());
    };
    found(previous + 1..lines.len())
        .or_else(|| found(previous..previous + 1))
        .or_else(|| found(0..previous))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(yaml: &str) -> (Settings, Vec<Diagnostic>) {
        let mut d = Vec::new();
        let text = format!("---\n{yaml}\n---\n# T\n");
        let header = extract_header(&text);
        (parse_settings(header.as_ref(), 0, &mut d), d)
    }

    #[test]
    fn header_needs_to_start_the_file() {
        assert!(extract_header("\n---\na: 1\n---\n").is_none());
        assert!(extract_header("---\na: 1\n").is_none());
        assert_eq!(
            extract_header("---\na: '---'\n---\n").unwrap().text,
            "\na: '"
        );
    }

    #[test]
    fn aliases_and_french_wins() {
        let (s, d) =
            settings("searchInContent: true\ncontenuDynamique: true\ntitresRéponses: \"### \"");
        assert!(s.content_search && s.dynamic_content);
        assert_eq!(s.response_prefixes, vec!["### "]);
        assert!(d.is_empty(), "{d:?}");
        let (s, _) = settings("messageParDéfaut: [\"a\"]\ndefaultMessage: [\"b\"]");
        assert_eq!(s.default_messages, Some(vec!["a".to_string()]));
        let (s, _) = settings("responsesTitles: {a: \"## \", b: \"### \"}");
        assert_eq!(s.response_prefixes, vec!["## ", "### "]);
    }

    #[test]
    fn bad_words_only_with_true() {
        assert!(settings("gestionGrosMots: true").0.bad_words);
        let (s, d) = settings("gestionGrosMots: \"oui\"");
        assert!(!s.bad_words);
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn variables_includes_synonyms() {
        let (s, _) = settings(
            "variables:\n  a: \"x///y\"\n  b: [\"p\", \"q\"]\ninclude:\n  - https://example.org/dir/one.md\n  - two.md\nsynonymes: [\"prof, enseignant\"]",
        );
        assert_eq!(s.variables["a"], vec!["x", "y"]);
        assert_eq!(s.variables["b"], vec!["p", "q"]);
        assert_eq!(s.includes[0].0, "https://example.org/dir/one.md");
        assert_eq!(s.includes[0].1.line, 6);
        assert_eq!(s.includes[1].1.line, 7);
        assert_eq!(
            s.synonyms,
            SynonymSource::Groups(vec![vec!["prof".into(), "enseignant".into()]])
        );
    }

    #[test]
    fn yaml_error_has_line_and_column() {
        let (_, d) = settings("a: [1, 2\nb: 3");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].severity, super::super::Severity::Error);
        assert!(d[0].location.is_some());
    }

    #[test]
    fn web_only_and_unknown_keys() {
        let (s, d) = settings("avatar: x.png\ntheme: sms\nrechercheContenus: true");
        assert_eq!(s.web_only_keys, vec!["avatar", "theme"]);
        assert_eq!(d.len(), 1);
        assert!(
            d[0].message.contains("did you mean `rechercheContenu`"),
            "{}",
            d[0].message
        );
        assert_eq!(d[0].location.unwrap().line, 4);
    }
}
