//! French action nouns and the verbs they come from, where the stemmer gives the two
//! different stems: `affichage` and `afficher`, `suppression` and `supprimer`, `connexion`
//! and `connecter`, `modification` and `modifier`. A base titles a page with the noun
//! ("Suppression d'un compte") and people ask with the verb ("comment supprimer mon
//! compte ?"), or the other way round.

/// Endings of an action noun and of its verb's infinitive. The stemmer already joins most
/// `-ation` and `-ement` nouns to their verbs (`estimation`, `estimer`; `changement`,
/// `changer`), except after a short root (`creation`, `creer`); these are the families it
/// splits.
const FAMILIES: &[(&str, &str)] = &[
    ("ification", "ifier"),
    ("pression", "primer"),
    ("mission", "mettre"),
    ("exion", "ecter"),
    ("cription", "crire"),
    ("duction", "duire"),
    ("ation", "er"),
    ("age", "er"),
];

/// The shortest root before `-age` read as a verb's (`affich`, `compt`): shorter ones are
/// too often nouns of their own (`mess` of `message`, `pass` of `passage`, `part` of
/// `partage`, whose verb `partager` the stemmer already joins).
const MIN_AGE_ROOT: usize = 5;

/// Nouns in `-age` made from a noun, not a verb: `personnage` is not an act of `personne`.
const NOT_ACTIONS: &[&str] = &["personnage", "avantage"];

/// The other member of `word`'s family (the verb of a noun, the noun of a verb given in the
/// infinitive or as `-ez`), when its ending is one of [`FAMILIES`]; the caller keeps those
/// the base uses. Only the infinitive and `-ez` are read as verbs: people ask "comment
/// afficher", and a noun ending in `-e` (`personne`) would take an `-age` it does not have.
pub(super) fn relatives(word: &str) -> Vec<String> {
    let word = word.strip_suffix('s').unwrap_or(word);
    let mut found = Vec::new();
    if NOT_ACTIONS.contains(&word) {
        return found;
    }
    for (noun, verb) in FAMILIES {
        if let Some(root) = word.strip_suffix(noun)
            && long_enough(root, noun)
        {
            found.push(format!("{root}{verb}"));
        }
        let infinitive = word
            .strip_suffix(verb)
            .or_else(|| as_infinitive(word, verb));
        if let Some(root) = infinitive
            && long_enough(root, noun)
        {
            found.push(format!("{root}{noun}"));
        }
    }
    found
}

/// `-ez` of a verb whose infinitive ends in `verb` (`-er` verbs only: `affichez`).
fn as_infinitive<'a>(word: &'a str, verb: &str) -> Option<&'a str> {
    let root = word.strip_suffix("ez")?;
    let ending = verb.strip_suffix("er")?;
    root.strip_suffix(ending)
}

fn long_enough(root: &str, noun: &str) -> bool {
    let letters = root.chars().count();
    match noun {
        "age" => letters >= MIN_AGE_ROOT,
        "ation" => letters >= 3,
        _ => letters >= 1,
    }
}

#[cfg(test)]
mod tests {
    use super::relatives;

    #[test]
    fn nouns_and_verbs_of_one_family() {
        let cases = [
            ("affichage", "afficher"),
            ("afficher", "affichage"),
            ("affichez", "affichage"),
            ("suppression", "supprimer"),
            ("supprimer", "suppression"),
            ("connexion", "connecter"),
            ("connecter", "connexion"),
            ("modification", "modifier"),
            ("modifier", "modification"),
            ("inscriptions", "inscrire"),
            ("inscrire", "inscription"),
            ("emission", "emettre"),
            ("creation", "creer"),
            ("comptage", "compter"),
        ];
        for (word, relative) in cases {
            assert!(
                relatives(word).iter().any(|r| r == relative),
                "{word}: {:?}",
                relatives(word)
            );
        }
    }

    #[test]
    fn nouns_that_are_no_acts_have_no_verb() {
        for word in [
            "personnage",
            "message",
            "partage",
            "page",
            "nation",
            "personne",
        ] {
            let found = relatives(word);
            assert!(
                !found
                    .iter()
                    .any(|r| r.ends_with("er") || r.ends_with("age")),
                "{word}: {found:?}"
            );
        }
    }
}
