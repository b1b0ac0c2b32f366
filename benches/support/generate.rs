//! Generated ChatMD knowledge bases and queries, deterministic from a seed, for benchmarks and
//! equivalence tests: French-like titles, 3–8 keywords (multi-word and negative ones among
//! them), 1–3 paragraphs, choices linking responses; queries that are exact keywords, typos,
//! paraphrases and off-topic messages.

#![allow(dead_code)] // each bench or test uses part of it

use guichet::engine::Rng;

const NOUNS: &[&str] = &[
    "campagne",
    "certification",
    "inscription",
    "compte",
    "mot de passe",
    "emploi du temps",
    "réunion",
    "bulletin",
    "absence",
    "cantine",
    "sortie",
    "stage",
    "parcours",
    "profil",
    "compétence",
    "session",
    "surveillance",
    "convocation",
    "résultat",
    "attestation",
    "manuel",
    "tablette",
    "imprimante",
    "messagerie",
    "réservation",
    "salle",
    "conseil",
    "orientation",
    "examen",
    "devoir",
    "carnet",
    "agenda",
    "badge",
    "casier",
    "voyage",
    "formation",
    "projet",
    "club",
    "bourse",
    "transport",
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
    "de troisième",
    "de sixième",
    "académique",
    "provisoire",
];
const FILLER: &[&str] = &[
    "Pour cela, ouvrez l'espace dédié depuis l'ENT puis suivez les étapes indiquées.",
    "Pensez à vérifier les dates avec la direction avant de commencer.",
    "En cas de difficulté, le référent numérique peut vous accompagner.",
    "Les informations sont mises à jour chaque trimestre par le secrétariat.",
    "Un courriel de confirmation est envoyé une fois la démarche terminée.",
    "Cette opération ne prend que quelques minutes si les documents sont prêts.",
];
const OFF_TOPIC: &[&str] = &[
    "quel temps fera-t-il demain",
    "recette de la tarte aux pommes",
    "résultat du match de foot",
    "où garer ma voiture ce soir",
    "la grève des transports de jeudi",
    "horaires de la piscine municipale",
];
const PARAPHRASE_PREFIX: &[&str] = &[
    "comment faire pour",
    "je voudrais",
    "j'ai besoin d'aide pour",
    "est-ce que je peux",
    "bonjour, comment",
];

fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[rng.below(items.len())]
}

/// One generated response, kept for building queries.
#[derive(Debug, Clone)]
pub struct GeneratedResponse {
    pub title: String,
    pub keywords: Vec<String>,
}

/// A generated base and what it contains.
#[derive(Debug, Clone)]
pub struct GeneratedBase {
    pub text: String,
    pub responses: Vec<GeneratedResponse>,
}

/// A ChatMD base of `n` responses.
pub fn base(n: usize, seed: u64, content_search: bool) -> GeneratedBase {
    let mut rng = Rng::seeded(seed);
    let mut text = format!(
        "---\nrechercheContenu: {content_search}\ncontenuDynamique: true\n---\n# Aide générée\nBonjour ! Posez votre question.\n1. [Commencer](Sujet 0)\n"
    );
    let mut responses = Vec::with_capacity(n);
    for i in 0..n {
        let verb = pick(&mut rng, VERBS);
        let noun = pick(&mut rng, NOUNS);
        let qualifier = pick(&mut rng, QUALIFIERS);
        let title = if i == 0 {
            "Sujet 0".to_string()
        } else {
            format!("{} {noun} {qualifier} {i}", capitalise(verb))
        };
        let mut keywords = vec![
            format!("{verb} {noun}"),
            noun.to_string(),
            format!("{noun} {qualifier}"),
        ];
        for _ in 0..rng.below(4) {
            keywords.push(format!(
                "{} {}",
                pick(&mut rng, VERBS),
                pick(&mut rng, NOUNS)
            ));
        }
        if rng.below(3) == 0 {
            keywords.push(format!("! pas de {}", pick(&mut rng, NOUNS)));
        }
        text.push_str(&format!("## {title}\n"));
        for k in &keywords {
            text.push_str(&format!("- {k}\n"));
        }
        text.push('\n');
        for _ in 0..1 + rng.below(3) {
            text.push_str(&format!(
                "Pour {verb} le {noun} {qualifier} : {} {}\n",
                pick(&mut rng, FILLER),
                pick(&mut rng, FILLER)
            ));
        }
        let related = rng.below(n);
        text.push_str(&format!(
            "1. [Voir aussi](#{})\n2. [Retour]()\n",
            link_target(related, &responses)
        ));
        text.push('\n');
        responses.push(GeneratedResponse { title, keywords });
    }
    GeneratedBase { text, responses }
}

/// Choices written as anchors (`#Title-with-hyphens`) to a response already generated (the
/// first one otherwise), as many real bases write them.
fn link_target(index: usize, done: &[GeneratedResponse]) -> String {
    done.get(index)
        .map_or("Sujet 0", |r| r.title.as_str())
        .replace(' ', "-")
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

/// A typo: one letter dropped, doubled or swapped.
fn typo(word: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    if chars.len() < 4 {
        return word.to_string();
    }
    let i = 1 + rng.below(chars.len() - 2);
    match rng.below(3) {
        0 => {
            chars.remove(i);
        }
        1 => chars.insert(i, chars[i]),
        _ => chars.swap(i, i + 1),
    }
    chars.into_iter().collect()
}

/// `count` realistic queries against a generated base.
pub fn queries(base: &GeneratedBase, count: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::seeded(seed ^ 0x5eed);
    (0..count)
        .map(|_| {
            let response = &base.responses[rng.below(base.responses.len())];
            let keyword =
                response.keywords[rng.below(response.keywords.len())].trim_start_matches("! ");
            match rng.below(4) {
                0 => keyword.to_string(),
                1 => typo(keyword, &mut rng),
                2 => format!("{} {keyword} ?", pick(&mut rng, PARAPHRASE_PREFIX)),
                _ => pick(&mut rng, OFF_TOPIC).to_string(),
            }
        })
        .collect()
}
