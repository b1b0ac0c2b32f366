//! Everything guichet itself says to users, in one place: French by default, replaceable.
//!
//! The knowledge base's own texts (fallback, `messageParDéfaut`) always take precedence; these
//! are what guichet says when the base says nothing.

use serde::{Deserialize, Serialize};

/// The bot's own words. Every field can be overridden from the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
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
    /// What a picture, a video, a sound and embedded content (an `<iframe>`…) are called
    /// when they have no description, and in the plain text `[image: description]`.
    pub image_label: String,
    pub video_label: String,
    pub audio_label: String,
    pub embed_label: String,
    /// Before the candidates when guichet is unsure ("did you mean…?").
    pub did_you_mean: String,
    /// Before the profile choices when the answer says nothing until a profile is chosen;
    /// `{page}` is that answer's name.
    pub role_first: String,
    /// A number outside the menu; `{n}` is the number of choices.
    pub choose_in_range: String,
    /// In a message that has choices, what replaces the number of a step of an ordered list
    /// (`{n}` is that number), so that no step reads like a choice to type.
    pub step_label: String,
    /// The reply to thanks, followed by the last menu.
    pub thanks_reply: String,
    /// The reply to an acknowledgement (`ok`), followed by the last menu.
    pub ok_reply: String,
    /// The reply to a goodbye when the knowledge base has none.
    pub goodbye_reply: String,
    /// The reply to "how are you?" when the knowledge base has no page of its own for it,
    /// followed by the last menu.
    pub how_are_you_reply: String,
    /// Posted to the admin room (if configured) before the errors of a refused reload.
    pub reload_refused: String,
    /// Posted to the Matrix admin room (if configured), once, when the bot's device is not
    /// verified; `{reason}` is what is wrong and what to do, as `/healthz` says it.
    pub device_unverified: String,
    /// Said in a Matrix room, once per person within a few minutes, when their message could
    /// not be decrypted: its key never reached the bot.
    pub unreadable_message: String,
    /// Said once to a user who sends too many messages too fast (per-user throttle).
    pub throttled: String,
    /// Words (normalised: lower case, no accents) that greet: answered with the welcome.
    pub greeting_words: Vec<String>,
    /// Words that thank.
    pub thanks_words: Vec<String>,
    /// Words and phrases that end the conversation.
    pub goodbye_words: Vec<String>,
    /// Acknowledgements (`ok`, `d'accord`…): answered with the last menu.
    pub ok_words: Vec<String>,
    /// Questions about the bot itself (`qui es-tu ?`, `t'es un robot ?`, `tu sers à quoi ?`):
    /// answered with the base's page titled or keyed by one of them, else with the welcome.
    pub identity_words: Vec<String>,
    /// How the person asks how the bot is (`ça va ?`): answered with the base's page titled
    /// or keyed by one of them, else with `how_are_you_reply`.
    pub how_are_you_words: Vec<String>,
    /// A yes as people type it (`ouais`, `vas-y`, `oui merci`): after a question whose choices
    /// say yes and no (`Oui`, `Non`), it picks the yes.
    pub yes_words: Vec<String>,
    /// A no as people type it (`nan`, `non merci`, `pas maintenant`): it picks the choice that
    /// says no.
    pub no_words: Vec<String>,
    /// Messages that go back to the welcome message (besides the number `0`).
    pub menu_words: Vec<String>,
    /// Messages that go back to the previous menu.
    pub back_words: Vec<String>,
    /// How to talk to the bot: the answer to the help command (`/aide` on Discord); `{prefix}`,
    /// `{menu}` and `{role}` stand for the configured command prefix and names.
    pub help: String,
    /// Before the profile choices when the user asks to change profile (`/role`).
    pub choose_role: String,
    /// Said, to the clicker only, when someone clicks a menu shown to another person.
    pub not_your_menu: String,
    /// Before the welcome menu when a clicked menu no longer matches the conversation (the
    /// knowledge base changed, or the conversation was forgotten).
    pub stale_menu: String,
    /// Said when something on guichet's side prevents an answer (the details are logged).
    pub failed: String,
    /// Said privately (Discord: a DM) to someone who asked in a channel where the bot may not
    /// post; `{menu}` stands for the menu command's name.
    pub cannot_post: String,
    /// Slash command names (Discord: lower case, no spaces, at most 32 characters) and
    /// their descriptions (at most 100 characters).
    pub command_help: String,
    pub command_help_description: String,
    pub command_menu: String,
    pub command_menu_description: String,
    pub command_role: String,
    pub command_role_description: String,
    /// Where commands are typed (Matrix, the terminal): this prefix, then a command name
    /// (`command_help`, `command_role`, `command_menu`): `!guichet aide`.
    pub command_prefix: String,
    /// guichet mode, when the knowledge base has no answer of its own: words that ask for
    /// help, and words that ask to change profile.
    pub help_words: Vec<String>,
    pub profile_words: Vec<String>,
}

impl Strings {
    /// The answer to the help command, with the command names and prefix as configured
    /// (`{prefix}`, `{menu}`, `{role}` in [`Strings::help`]).
    pub fn help_text(&self) -> String {
        self.help
            .replace("{prefix}", &self.command_prefix)
            .replace("{menu}", &self.command_menu)
            .replace("{role}", &self.command_role)
    }

    /// [`Strings::cannot_post`] with the menu command's name.
    pub fn cannot_post_text(&self) -> String {
        self.cannot_post.replace("{menu}", &self.command_menu)
    }
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| (*w).to_string()).collect()
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
            image_label: "image".into(),
            video_label: "vidéo".into(),
            audio_label: "audio".into(),
            embed_label: "contenu intégré".into(),
            did_you_mean: "Je ne suis pas sûr d'avoir compris. Vouliez-vous dire :".into(),
            role_first: "Pour vous répondre sur « {page} », dites-moi d'abord qui vous êtes :".into(),
            choose_in_range: "Choisissez un numéro entre 1 et {n} :".into(),
            step_label: "Étape {n} :".into(),
            thanks_reply: "Avec plaisir ! Autre chose ?".into(),
            goodbye_reply: "Au revoir, bonne journée !".into(),
            how_are_you_reply: "Très bien, merci ! Que puis-je pour vous ?".into(),
            ok_reply: "Très bien. Autre chose ?".into(),
            reload_refused: "La modification de la base de connaissances est refusée ; la version précédente reste en service. Erreurs :".into(),
            device_unverified: "L'appareil du bot n'est pas vérifié : les applications réglées pour n'envoyer leurs clés qu'aux appareils vérifiés ne peuvent pas lui écrire dans les salons chiffrés, et les autres affichent un avertissement. Configurez `recovery_key` (la clé de récupération du compte) puis redémarrez le bot, ou vérifiez cet appareil depuis une autre session du compte.\n{reason}".into(),
            unreadable_message: "Je n'ai pas pu lire votre message : il est chiffré et sa clé ne m'est pas parvenue. Pouvez-vous l'envoyer de nouveau ?".into(),
            throttled: "Doucement ! Vous m'envoyez beaucoup de messages : je vous réponds de nouveau dans un instant.".into(),
            greeting_words: words(&["bonjour", "bonsoir", "salut", "slt", "bjr", "coucou", "hello", "hey", "yo"]),
            thanks_words: words(&["merci", "mrc", "thanks", "thx", "merci beaucoup", "merci bien", "remerciement", "remerciements"]),
            goodbye_words: words(&["au revoir", "aurevoir", "bye", "ciao", "a bientot", "a plus", "bonne journee", "bonne soiree", "bonne fin de journee"]),
            ok_words: words(&["ok", "okay", "d'accord", "dac", "super", "parfait", "top", "cool", "compris", "entendu", "ca marche"]),
            identity_words: words(&["qui es tu", "tu es qui", "t'es qui", "qui etes vous", "vous etes qui", "tes qui", "tu es un robot", "t'es un robot", "tes un robot", "es tu un robot", "vous etes un robot", "etes vous un robot", "tu es un bot", "t'es un bot", "tu es une ia", "t'es une ia", "es tu une ia", "c'est quoi ton nom", "quel est ton nom", "comment tu t'appelles", "tu t'appelles comment", "tu sers a quoi", "a quoi tu sers", "tu fais quoi", "que sais tu faire", "qu'est ce que tu sais faire", "que peux tu faire", "tu peux faire quoi"]),
            how_are_you_words: words(&["ca va", "ca va bien", "comment ca va", "tu vas bien", "vous allez bien", "comment vas tu", "comment allez vous", "la forme"]),
            yes_words: words(&["oui", "ouais", "ouai", "ouaip", "ouep", "yes", "ok", "okay", "d'accord", "dac", "vas y", "allez", "go", "bien sur", "carrement", "volontiers", "avec plaisir", "je veux bien", "pourquoi pas", "absolument", "tout a fait", "evidemment", "oui oui", "continue", "continuer", "on continue", "la suite", "suite", "encore"]),
            no_words: words(&["non", "nan", "no", "nope", "non merci", "pas maintenant", "pas besoin", "plus tard", "une autre fois", "ca ira", "c'est bon", "pas la peine", "sans facon"]),
            menu_words: words(&["menu", "accueil", "menu principal", "retour au menu", "retour a l'accueil", "sommaire", "debut", "recommencer"]),
            back_words: words(&["retour", "revenir", "precedent", "menu precedent", "retour en arriere"]),
            help: "Posez-moi votre question avec vos mots : en message privé, ou dans un salon en me mentionnant ou en répondant à l'un de mes messages. Cliquez sur un bouton ou tapez son numéro pour choisir.\n\n**{menu}** affiche le menu principal, **{prefix} {role}** change votre profil (sur Discord : **/{menu}** et **/{role}**).".into(),
            choose_role: "Qui êtes-vous ? Choisissez votre profil :".into(),
            not_your_menu: "Ce menu est celui de quelqu'un d'autre : posez-moi votre propre question (mentionnez-moi, ou tapez /menu).".into(),
            stale_menu: "Ce menu n'est plus à jour. Voici le menu principal :".into(),
            failed: "Désolé, je ne peux pas répondre pour le moment. Réessayez dans un instant.".into(),
            cannot_post: "Je n'ai pas le droit d'écrire dans ce salon. Posez-moi votre question ici, en message privé, ou tapez /{menu} dans le salon.".into(),
            command_help: "aide".into(),
            command_help_description: "Comment me poser une question".into(),
            command_menu: "menu".into(),
            command_menu_description: "Afficher le menu principal".into(),
            command_role: "role".into(),
            command_role_description: "Choisir de nouveau votre profil".into(),
            command_prefix: "!guichet".into(),
            help_words: words(&["aide", "help", "a l'aide", "comment ca marche"]),
            profile_words: words(&["profil", "changer de profil", "changer de role", "role"]),
        }
    }
}
