//! Generated ChatMD knowledge bases and queries, deterministic from a seed, for benchmarks and
//! equivalence tests. Not part of the daemon: benches and tests include it with `#[path]`.
//!
//! The bases look like an academy-wide staff help bot: French titles in the shapes authors
//! write ("Réinitialiser le mot de passe des élèves", "Pronote : exporter les bulletins",
//! "Que faire si … ?", identifiers such as `profs_bulletinpronote`), 3–8 keywords per
//! response (single words, multi-word phrases, tool names, a negative `! …` one in about a
//! third of them), 1–3 paragraphs of procedure text with links, emphasis, emoji shortcodes
//! and lists, and choices linking to other responses. The vocabulary grows with the base:
//! every few responses introduce a new tool or platform name, so a 10,000-response base is
//! not 50 responses repeated.
//!
//! Queries mix what people type: exact keywords, keywords with typos, paraphrases built from
//! a response's words, titles, greetings, and off-topic messages.
//!
//! [`Options::edge_cases`] adds what the equivalence test needs to reach every branch of the
//! matcher: empty and very short keywords, emoji (two UTF-16 units), digits, duplicate
//! titles, responses without keywords, synonyms, quizzes (`!Next`, with and without
//! `ignoreKeywords`) and `!SelectNext`.

#![allow(dead_code)] // each bench or test uses part of it

use std::collections::HashSet;

use guichet::engine::Rng;

/// A noun phrase with its article, and the bare form keywords use.
const NOUNS: &[(&str, &str)] = &[
    ("le mot de passe", "mot de passe"),
    ("l'emploi du temps", "emploi du temps"),
    ("le bulletin", "bulletin"),
    ("les bulletins trimestriels", "bulletins trimestriels"),
    ("l'absence", "absence"),
    ("les absences", "absences"),
    ("la cantine", "cantine"),
    ("la sortie scolaire", "sortie scolaire"),
    ("le stage d'observation", "stage d'observation"),
    ("le parcours", "parcours"),
    ("le profil", "profil"),
    ("la compétence", "compétence"),
    ("la session", "session"),
    ("la surveillance", "surveillance"),
    ("la convocation", "convocation"),
    ("le résultat", "résultat"),
    ("l'attestation", "attestation"),
    ("le manuel numérique", "manuel numérique"),
    ("la tablette", "tablette"),
    ("l'imprimante", "imprimante"),
    ("la messagerie", "messagerie"),
    ("la réservation de salle", "réservation de salle"),
    ("le conseil de classe", "conseil de classe"),
    ("l'orientation", "orientation"),
    ("l'examen blanc", "examen blanc"),
    ("le devoir", "devoir"),
    ("le cahier de textes", "cahier de textes"),
    ("l'agenda", "agenda"),
    ("le badge", "badge"),
    ("le casier", "casier"),
    ("le voyage scolaire", "voyage scolaire"),
    ("la formation", "formation"),
    ("le projet pédagogique", "projet pédagogique"),
    ("la bourse", "bourse"),
    ("le transport scolaire", "transport scolaire"),
    ("la campagne", "campagne"),
    ("la certification", "certification"),
    ("l'inscription", "inscription"),
    ("le compte", "compte"),
    ("l'identifiant", "identifiant"),
    ("la fiche de renseignements", "fiche de renseignements"),
    ("le livret scolaire", "livret scolaire"),
    ("le brevet", "brevet"),
    ("la note de vie scolaire", "note de vie scolaire"),
    ("la retenue", "retenue"),
    ("l'appel", "appel"),
    ("le remplacement", "remplacement"),
    (
        "la réunion parents-professeurs",
        "réunion parents-professeurs",
    ),
    ("le service", "service"),
    ("la heure supplémentaire", "heure supplémentaire"),
    ("le congé", "congé"),
    ("l'ordre de mission", "ordre de mission"),
    ("la facture", "facture"),
    ("le devis", "devis"),
    ("la commande", "commande"),
    ("le matériel informatique", "matériel informatique"),
    ("le vidéoprojecteur", "vidéoprojecteur"),
    ("le réseau wifi", "réseau wifi"),
    ("la clé usb", "clé usb"),
    ("le code d'accès", "code d'accès"),
    ("la double authentification", "double authentification"),
    ("le classeur partagé", "classeur partagé"),
    ("le questionnaire", "questionnaire"),
    ("l'évaluation", "évaluation"),
    ("le relevé de notes", "relevé de notes"),
    ("la moyenne", "moyenne"),
    ("l'appréciation", "appréciation"),
    ("le dossier médical", "dossier médical"),
    (
        "le projet d'accueil individualisé",
        "projet d'accueil individualisé",
    ),
    ("l'aménagement d'épreuve", "aménagement d'épreuve"),
    ("la demande de dérogation", "demande de dérogation"),
    ("le changement d'option", "changement d'option"),
    ("la liste de classe", "liste de classe"),
    ("le trombinoscope", "trombinoscope"),
    ("la salle informatique", "salle informatique"),
    ("le prêt de manuels", "prêt de manuels"),
    ("le CDI", "cdi"),
    ("la vie scolaire", "vie scolaire"),
    ("le secrétariat", "secrétariat"),
    ("l'intendance", "intendance"),
];
const VERBS: &[&str] = &[
    "créer",
    "modifier",
    "supprimer",
    "consulter",
    "réinitialiser",
    "inscrire",
    "valider",
    "exporter",
    "importer",
    "partager",
    "imprimer",
    "réserver",
    "annuler",
    "signaler",
    "télécharger",
    "activer",
    "désactiver",
    "renouveler",
    "récupérer",
    "saisir",
    "corriger",
    "envoyer",
    "déclarer",
    "justifier",
    "planifier",
    "archiver",
    "retrouver",
    "débloquer",
    "configurer",
    "joindre",
    "remplir",
    "vérifier",
    "transmettre",
    "demander",
    "paramétrer",
    "fusionner",
];
const QUALIFIERS: &[&str] = &[
    "en ligne",
    "de rentrée",
    "des élèves",
    "des parents",
    "du personnel",
    "de fin d'année",
    "numérique",
    "du collège",
    "du lycée",
    "de troisième",
    "de sixième",
    "académique",
    "provisoire",
    "du premier trimestre",
    "des enseignants",
    "de l'établissement",
    "en retard",
    "perdu",
    "oublié",
    "bloqué",
    "annuel",
    "des stagiaires",
    "du second degré",
    "de la classe",
];
const ROLES: &[&str] = &[
    "le professeur principal",
    "la direction",
    "le secrétariat",
    "le référent numérique",
    "la vie scolaire",
    "le CPE",
    "l'administrateur de l'ENT",
    "le gestionnaire",
    "l'infirmière",
    "le chef d'établissement",
];
const MENUS: &[&str] = &[
    "Paramètres",
    "Mes services",
    "Vie scolaire",
    "Administration",
    "Ressources",
    "Communication",
    "Outils",
    "Mon compte",
    "Exports",
    "Tableau de bord",
];
const SHORT_KEYWORDS: &[&str] = &["ent", "pix", "lsu", "cpe", "cdi", "pap", "edt", "wifi"];
const SYLLABLES: &[&str] = &[
    "pro", "no", "te", "sco", "net", "edu", "con", "lyc", "ma", "gis", "ter", "lu", "va", "ri",
    "sa", "mo", "dé", "ca", "li", "bre", "ta", "ni", "vo", "ra", "phi", "lo", "gé", "mi", "ba",
    "cla", "tor", "vi", "sion", "bu", "ré", "for",
];
const GREETINGS: &[&str] = &[
    "bonjour",
    "merci",
    "merci beaucoup !",
    "ok",
    "salut",
    "aide",
    "au revoir",
    "bonjour, j'ai une question",
];
const PARAPHRASE_PREFIX: &[&str] = &[
    "comment faire pour",
    "je voudrais",
    "j'ai besoin d'aide pour",
    "est-ce que je peux",
    "bonjour, comment",
    "où est-ce qu'on peut",
    "je n'arrive pas à",
    "qui peut m'aider à",
    "c'est possible de",
];
const PARAPHRASE_SUFFIX: &[&str] = &[
    "?",
    " svp ?",
    ", merci",
    "",
    " rapidement ?",
    " avant vendredi ?",
];
const OFF_TOPIC_SUBJECTS: &[&str] = &[
    "le temps qu'il fera demain",
    "la recette de la tarte aux pommes",
    "le résultat du match de foot",
    "une place de parking pour ce soir",
    "la grève des transports de jeudi",
    "les horaires de la piscine municipale",
    "un bon restaurant près de la gare",
    "le prix de l'essence",
    "la programmation du cinéma",
    "les soldes d'hiver",
    "le marché de Noël",
    "mon abonnement de téléphone",
];
const OFF_TOPIC_PREFIX: &[&str] = &[
    "tu connais",
    "dis-moi",
    "qu'est-ce que tu penses de",
    "parle-moi de",
    "",
];

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    pub responses: usize,
    pub seed: u64,
    /// `rechercheContenu` in the YAML header.
    pub content_search: bool,
    /// Rare constructs that exercise every branch of the matcher (see the module note).
    pub edge_cases: bool,
}

impl Options {
    pub fn new(responses: usize, seed: u64, content_search: bool) -> Self {
        Self {
            responses,
            seed,
            content_search,
            edge_cases: false,
        }
    }
}

/// One generated response, kept for building queries.
#[derive(Debug, Clone)]
pub struct GeneratedResponse {
    pub title: String,
    /// As written in the file, `! ` included for negative ones.
    pub keywords: Vec<String>,
    /// Words of the title and content a paraphrase can borrow.
    pub words: Vec<String>,
}

/// A generated base and what it contains.
#[derive(Debug, Clone)]
pub struct GeneratedBase {
    pub text: String,
    pub responses: Vec<GeneratedResponse>,
    /// Tool and platform names, a source of shared vocabulary for queries.
    pub tools: Vec<String>,
}

/// A ChatMD base of `n` responses.
pub fn base(n: usize, seed: u64, content_search: bool) -> GeneratedBase {
    generate(&Options::new(n, seed, content_search))
}

/// A base of about `bytes` bytes (within a response or so).
pub fn base_of_size(bytes: usize, seed: u64, content_search: bool) -> GeneratedBase {
    let sample = base(200, seed, content_search);
    let per_response = sample.text.len() / 200;
    base(
        bytes.div_ceil(per_response.max(1)).max(1),
        seed,
        content_search,
    )
}

fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.below(items.len())]
}

fn chance(rng: &mut Rng, percent: usize) -> bool {
    rng.below(100) < percent
}

/// A pronounceable tool name ("Scolanet", "Édumaro"), capitalised.
fn tool_name(rng: &mut Rng) -> String {
    let syllables = 2 + rng.below(3);
    let word: String = (0..syllables).map(|_| *pick(rng, SYLLABLES)).collect();
    capitalise(&word)
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

/// What a response is about; titles, keywords and text are drawn from it.
struct Topic<'a> {
    verb: &'a str,
    noun: (&'a str, &'a str),
    qualifier: &'a str,
    tool: String,
}

fn title_for(topic: &Topic<'_>, rng: &mut Rng) -> String {
    let Topic {
        verb,
        noun: (with_article, bare),
        qualifier,
        tool,
    } = topic;
    match rng.below(10) {
        0..=2 => format!("{} {with_article} {qualifier}", capitalise(verb)),
        3 | 4 => format!("{} : {verb} {with_article}", capitalise(bare)),
        5 => format!("Que faire si {with_article} est {qualifier} ?"),
        6 => format!("{tool} — {bare} {qualifier}"),
        7 => format!("Comment {verb} {with_article} dans {tool} ?"),
        8 => format!(
            "profs_{}{}",
            bare.replace([' ', '\'', '-'], ""),
            tool.to_lowercase()
        ),
        _ => format!("{} {with_article}", capitalise(verb)),
    }
}

fn keywords_for(topic: &Topic<'_>, rng: &mut Rng, options: &Options) -> Vec<String> {
    let (_, bare) = topic.noun;
    let mut pool = vec![
        format!("{} {bare}", topic.verb),
        bare.to_string(),
        format!("{bare} {}", topic.qualifier),
        topic.tool.to_lowercase(),
        format!("{} {}", topic.verb, topic.tool.to_lowercase()),
        format!("{bare} {}", topic.tool),
        format!("{} {}", pick(rng, VERBS), bare),
        format!("{} {}", topic.verb, pick(rng, NOUNS).1),
    ];
    if chance(rng, 20) {
        pool.push(pick(rng, SHORT_KEYWORDS).to_string());
    }
    rng.shuffle(&mut pool);
    let count = 3 + rng.below(5);
    let mut keywords: Vec<String> = pool.into_iter().take(count).collect();
    if chance(rng, 33) {
        let negative = match rng.below(3) {
            0 => format!("! pas de {}", pick(rng, NOUNS).1),
            1 => format!("! sans {}", pick(rng, NOUNS).1),
            _ => format!("! {}", pick(rng, OFF_TOPIC_SUBJECTS)),
        };
        let at = rng.below(keywords.len() + 1);
        keywords.insert(at, negative);
    }
    if chance(rng, 10) {
        // Authors type capitals and accents; matching lower-cases and maps them.
        if let Some(first) = keywords.first_mut() {
            *first = first.to_uppercase();
        }
    }
    if options.edge_cases {
        match rng.below(40) {
            0 => keywords.push(String::new()), // a catch-all (FORMAT: empty bullet)
            1 => keywords.push("😀 wifi".into()),
            2 => keywords.push("2024".into()),
            3 => keywords.push("ab".into()),
            4 => keywords.push(format!("{bare}  {}", topic.qualifier)), // two spaces
            5 => keywords.push("c'est quoi ?".into()),
            6 => keywords.push(format!("!\t{bare}")), // marker removed, not negative
            7 => keywords.push("constructor".into()),
            8 => keywords.push("Ÿ œuvre".into()),
            9 => keywords.clear(), // title and title words only
            _ => {}
        }
    }
    keywords
}

/// One sentence of procedure text about `topic`.
fn sentence(topic: &Topic<'_>, rng: &mut Rng) -> String {
    let (with_article, bare) = topic.noun;
    let tool = &topic.tool;
    let role = pick(rng, ROLES);
    let menu = pick(rng, MENUS);
    let other = pick(rng, NOUNS).0;
    let verb = pick(rng, VERBS);
    match rng.below(12) {
        0 => format!(
            "Pour {} {with_article} {}, connectez-vous à {tool} puis ouvrez le menu « {menu} ».",
            topic.verb, topic.qualifier
        ),
        1 => format!(
            "{} doit {verb} {other} avant la fin du mois.",
            capitalise(role)
        ),
        2 => format!(
            "Attention : {with_article} {} n'est visible qu'après validation par {role}.",
            topic.qualifier
        ),
        3 => format!(
            "En cas de difficulté, contactez {role} ou consultez [la documentation](https://{}.example.fr/aide/{}).",
            tool.to_lowercase(),
            bare.replace([' ', '\''], "-")
        ),
        4 => format!("Vous trouverez {with_article} dans l'onglet *{menu}* de {tool}."),
        5 => format!(
            "**Important** : pensez à {verb} {other} {} avant toute demande.",
            pick(rng, QUALIFIERS)
        ),
        6 => format!(
            ":warning: Les modifications de {with_article} sont enregistrées automatiquement dans {tool}."
        ),
        7 => format!(
            "Un courriel de confirmation est envoyé à {role} une fois {with_article} {}.",
            pick(rng, &["validé", "transmis", "enregistré", "traité"])
        ),
        8 => format!(
            "Cette opération prend quelques minutes ; {with_article} reste consultable pendant ce temps."
        ),
        9 => format!(
            "Si {other} est {}, {verb} d'abord {with_article} depuis {tool}.",
            pick(rng, QUALIFIERS)
        ),
        10 => format!(
            "Les informations sur {with_article} sont mises à jour chaque trimestre par {role}."
        ),
        _ => format!(
            "Depuis la rentrée, {tool} remplace l'ancien outil pour {with_article} {}.",
            topic.qualifier
        ),
    }
}

fn paragraph(topic: &Topic<'_>, rng: &mut Rng) -> String {
    match rng.below(6) {
        // A numbered procedure would be read as choices: steps use bullets.
        0 => (1..=2 + rng.below(3))
            .map(|step| format!("- Étape {step} : {}", sentence(topic, rng)))
            .collect::<Vec<_>>()
            .join("\n"),
        1 => format!(":::info Bon à savoir\n{}\n:::", sentence(topic, rng)),
        _ => (0..1 + rng.below(3))
            .map(|_| sentence(topic, rng))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Generates a base from `options`.
pub fn generate(options: &Options) -> GeneratedBase {
    let n = options.responses.max(1);
    let mut rng = Rng::seeded(options.seed);
    // A new tool name every eight responses or so: the vocabulary grows with the base.
    let tools: Vec<String> = (0..(n / 8).max(12)).map(|_| tool_name(&mut rng)).collect();

    let mut topics = Vec::with_capacity(n);
    let mut titles: Vec<String> = Vec::with_capacity(n);
    let mut seen = HashSet::new();
    for i in 0..n {
        let topic = Topic {
            verb: VERBS[rng.below(VERBS.len())],
            noun: *pick(&mut rng, NOUNS),
            qualifier: QUALIFIERS[rng.below(QUALIFIERS.len())],
            tool: pick(&mut rng, &tools).clone(),
        };
        let mut title = title_for(&topic, &mut rng);
        if options.edge_cases && i > 0 && chance(&mut rng, 3) {
            // A duplicate title: choices lead to the first, matching scores both.
            title = titles[rng.below(i)].clone();
        } else {
            // Large bases repeat a topic now and then; authors then add a precision.
            let mut attempt = 2;
            while !seen.insert(title.clone()) {
                title = format!("{title} ({attempt})");
                attempt += 1;
            }
        }
        titles.push(title);
        topics.push(topic);
    }

    let mut text = String::with_capacity(n * 700);
    text.push_str("---\n");
    text.push_str(&format!("rechercheContenu: {}\n", options.content_search));
    text.push_str("contenuDynamique: true\n");
    if options.edge_cases {
        text.push_str(
            "synonymes:\n  - \"mdp, mot de passe, password\"\n  - \"edt, emploi du temps\"\n",
        );
    }
    text.push_str("---\n# Assistance numérique de l'académie\n");
    text.push_str("Bonjour ! Posez votre question ou choisissez un thème.\n");
    for (k, title) in titles.iter().take(4).enumerate() {
        text.push_str(&format!("{}. [{title}]({title})\n", k + 1));
    }
    text.push('\n');

    let mut responses = Vec::with_capacity(n);
    for (i, topic) in topics.iter().enumerate() {
        let title = &titles[i];
        let keywords = keywords_for(topic, &mut rng, options);
        text.push_str(&format!("## {title}\n"));
        for keyword in &keywords {
            text.push_str(&format!("- {keyword}\n"));
        }
        let mut paragraphs: Vec<String> = (0..1 + rng.below(3))
            .map(|_| paragraph(topic, &mut rng))
            .collect();
        if options.edge_cases {
            match rng.below(12) {
                0 if i + 1 < n => {
                    // A quiz question: the next message is only compared with the answer.
                    let answer = &titles[i + 1];
                    let retry = if chance(&mut rng, 50) {
                        " / ignoreKeywords"
                    } else {
                        " / Essayez encore"
                    };
                    paragraphs.push(format!(
                        "Quelle est la bonne démarche ?\n!Next: {answer}{retry}"
                    ));
                }
                1 => {
                    let a = &titles[rng.below(n)];
                    let b = &titles[rng.below(n)];
                    paragraphs.push(format!("!SelectNext: {a} / {b}"));
                }
                2 => paragraphs.push("Voir 😀 les tablettes 2024 et l'œuvre".into()),
                _ => {}
            }
        }
        let mut words: Vec<String> = title
            .split([' ', '\'', ':', '?'])
            .filter(|w| w.chars().count() > 3)
            .map(str::to_string)
            .collect();
        words.extend(
            paragraphs
                .iter()
                .flat_map(|p| p.split([' ', '\'', ',', '.']))
                .filter(|w| w.chars().count() > 5 && w.chars().all(char::is_alphabetic))
                .take(12)
                .map(str::to_string),
        );
        // A blank line closes the keyword zone: bullets in the text stay text.
        text.push('\n');
        text.push_str(&paragraphs.join("\n\n"));
        text.push('\n');
        let mut choices: Vec<String> = (0..rng.below(4))
            .map(|_| {
                let target = &titles[rng.below(n)];
                // Some authors write targets as anchors, hyphens for spaces; that only
                // round-trips for titles without hyphens or brackets.
                let anchorable = !target.contains(['-', '(', ')', '—']);
                if anchorable && chance(&mut rng, 30) {
                    format!("[Voir aussi](#{})", target.replace(' ', "-"))
                } else {
                    format!("[{target}]({target})")
                }
            })
            .collect();
        if chance(&mut rng, 50) {
            choices.push("[Retour au menu]()".into());
        }
        for (k, choice) in choices.iter().enumerate() {
            text.push_str(&format!("{}. {choice}\n", k + 1));
        }
        text.push('\n');
        responses.push(GeneratedResponse {
            title: title.clone(),
            keywords,
            words,
        });
    }
    GeneratedBase {
        text,
        responses,
        tools,
    }
}

/// A typo: a letter dropped, doubled, swapped with the next, replaced, or an accent dropped.
fn typo(word: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    if chars.len() < 4 {
        return word.to_string();
    }
    let i = 1 + rng.below(chars.len() - 2);
    match rng.below(5) {
        0 => {
            chars.remove(i);
        }
        1 => chars.insert(i, chars[i]),
        2 => chars.swap(i, i + 1),
        3 => chars[i] = *pick(rng, &['e', 'a', 'i', 's', 'r', 'n']),
        _ => {
            for c in &mut chars {
                *c = match *c {
                    'é' | 'è' | 'ê' => 'e',
                    'à' => 'a',
                    other => other,
                };
            }
        }
    }
    chars.into_iter().collect()
}

/// `count` realistic queries against a generated base.
pub fn queries(base: &GeneratedBase, count: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::seeded(seed ^ 0x5eed_5eed);
    (0..count).map(|_| query(base, &mut rng)).collect()
}

fn query(base: &GeneratedBase, rng: &mut Rng) -> String {
    let response = pick(rng, &base.responses);
    let positive: Vec<&String> = response
        .keywords
        .iter()
        .filter(|k| !k.starts_with("! ") && !k.is_empty())
        .collect();
    let keyword = if positive.is_empty() {
        response.title.clone()
    } else {
        pick(rng, &positive).to_string()
    };
    let word = if response.words.is_empty() {
        keyword.clone()
    } else {
        pick(rng, &response.words).clone()
    };
    match rng.below(100) {
        0..=21 => keyword,
        22..=25 => keyword.to_uppercase(),
        26..=41 => typo(&keyword, rng),
        42..=49 => typo(&word, rng),
        50..=66 => format!(
            "{} {keyword}{}",
            pick(rng, PARAPHRASE_PREFIX),
            pick(rng, PARAPHRASE_SUFFIX)
        ),
        67..=72 => format!(
            "{} {} {}",
            pick(rng, PARAPHRASE_PREFIX),
            word.to_lowercase(),
            pick(rng, &base.tools).to_lowercase()
        ),
        73..=76 => response.title.clone(),
        77..=79 => {
            // Two topics in one message, sometimes with a negative keyword's phrase.
            let other = pick(rng, &base.responses);
            match other.keywords.first() {
                Some(k) => format!("{keyword} et {}", k.trim_start_matches("! ")),
                None => format!("{keyword} et {}", other.title),
            }
        }
        80..=84 => pick(rng, GREETINGS).to_string(),
        _ => format!(
            "{} {}",
            pick(rng, OFF_TOPIC_PREFIX),
            pick(rng, OFF_TOPIC_SUBJECTS)
        )
        .trim()
        .to_string(),
    }
}
