//! Everything guichet itself says to users, in one place: French by default, replaceable.
//!
//! The knowledge base's own texts (fallback, `messageParDéfaut`) always take precedence; these
//! are what guichet says when the base says nothing.

use serde::{Deserialize, Serialize};

/// The bot's own words. Every field can be overridden from the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Strings {
    /// Said when nothing in the knowledge base answers (one is drawn, never one of the last
    /// few used).
    pub fallback: Vec<String>,
    /// Said when the profanity filter (`gestionGrosMots: true`) flags a message.
    pub bad_words: Vec<String>,
    /// Said before a quiz question is asked again after a wrong answer (`!Next` without a
    /// custom message).
    pub next_retry: String,
    /// The button that skips a quiz question after repeated wrong answers.
    pub next_skip: String,
    /// The label of a choice written with an empty label (ChatMD's default).
    pub default_choice: String,
    /// Title of a collapsible box written without one.
    pub details: String,
}

impl Default for Strings {
    fn default() -> Self {
        Self {
            fallback: vec![
                "Je n'ai pas trouvé de réponse à cela. Pouvez-vous le dire autrement ?".into(),
                "Je ne suis pas sûr de comprendre. Essayez avec d'autres mots, ou tapez « menu ».".into(),
                "Cette question sort de ce que je sais. Reformulez-la, ou revenez au menu en tapant « menu ».".into(),
                "Désolé, je n'ai rien sur ce sujet. Un mot-clé plus précis m'aiderait.".into(),
                "Je n'ai pas compris votre demande. Tapez « menu » pour voir ce que je sais faire.".into(),
                "Hmm, cela ne me dit rien. Pouvez-vous préciser votre question ?".into(),
            ],
            bad_words: vec![
                "Restons courtois, s'il vous plaît.".into(),
                "Je préfère les échanges polis. Quelle est votre question ?".into(),
                "Merci de garder un langage correct : je suis là pour vous aider.".into(),
                "Ce vocabulaire n'est pas nécessaire. Reformulez votre question, je vous écoute.".into(),
            ],
            next_retry: "Ce n'est pas la réponse attendue. Essayez encore !".into(),
            next_skip: "Passer à la suite".into(),
            default_choice: crate::kb::parse::DEFAULT_CHOICE_LABEL.into(),
            details: "Détails".into(),
        }
    }
}
