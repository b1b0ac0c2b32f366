//! guichet mode's chat behaviours, one by one, on small bases: numbers, normalisation,
//! word-aware keywords, role-aware choice, "did you mean", small talk and navigation.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Arc;

use guichet::engine::{Answer, AnswerPath, Conversation, Engine, Input, MatchingMode, Reply, Rng};
use guichet::strings::Strings;

const BASE: &str = "---\ncontenuDynamique: true\n---\n# École\nBonjour, qui êtes-vous ?\n1. [Professeur @role=prof](Menu prof)\n2. [Direction @role=direction](Menu direction)\n## Menu prof\n- enseignant\nVos sujets :\n1. [S’inscrire au stage](Stage)\n2. [Les horaires](Horaires)\n3. [Retour]()\n## Menu direction\n- chef\nVos sujets :\n1. [Les horaires](Horaires)\n## Stage\n- stage\n- formation\nInscription au stage sur le portail.\n## Horaires\n- horaires\n- ouverture\nDe 8 h à 18 h.\n## Notes de service\n- note de service\n`if @role==direction`\nLes notes sont dans l'espace direction.\n`endif`\n## Art\n- art\nAtelier d'art le jeudi.\n";

fn engine() -> Engine {
    let kb = guichet::kb::parse_str("t.md", BASE).kb.unwrap();
    Engine::new(Arc::new(kb), MatchingMode::Guichet, Strings::default())
}

struct Session {
    engine: Engine,
    conversation: Conversation,
    rng: Rng,
}

impl Session {
    fn new() -> Self {
        let engine = engine();
        let mut conversation = Conversation::default();
        let mut rng = Rng::seeded(1);
        engine.reply(&mut conversation, Input::Start, &mut rng);
        Self {
            engine,
            conversation,
            rng,
        }
    }
    fn say(&mut self, text: &str) -> Reply {
        self.engine.reply(
            &mut self.conversation,
            Input::Text(text.into()),
            &mut self.rng,
        )
    }
}

/// What a base in guichet mode answers to a first message, each in a new conversation.
fn first_message_to(base: &str) -> impl Fn(&str) -> Reply {
    answer_after(base, &[])
}

fn title(reply: &Reply) -> &str {
    reply.answer.name()
}

/// What a base in guichet mode answers to a message sent after `history`, each in a new
/// conversation.
fn answer_after<'a>(base: &str, history: &'a [&'a str]) -> impl Fn(&str) -> Reply + 'a {
    let kb = guichet::kb::parse_str("t.md", base).kb.unwrap();
    let engine = Engine::new(Arc::new(kb), MatchingMode::Guichet, Strings::default());
    move |text: &str| {
        let mut conversation = Conversation::default();
        let mut rng = Rng::seeded(1);
        engine.reply(&mut conversation, Input::Start, &mut rng);
        for step in history {
            engine.reply(&mut conversation, Input::Text((*step).into()), &mut rng);
        }
        engine.reply(&mut conversation, Input::Text(text.into()), &mut rng)
    }
}

/// Asserts what `base` answers to each message, each the first of a new conversation.
fn assert_first_answers(base: &str, cases: &[(&str, &str)]) {
    let ask = first_message_to(base);
    for (message, expected) in cases {
        assert_eq!(title(&ask(message)), *expected, "{message}");
    }
}

#[test]
fn bare_numbers_pick_and_out_of_range_shows_the_menu_again() {
    for number in ["1", "1.", "1)", " 1 "] {
        let mut s = Session::new();
        assert_eq!(title(&s.say(number)), "Menu prof", "{number:?}");
        assert_eq!(s.conversation.variables["role"], "prof");
    }
    let mut s = Session::new();
    s.say("1");
    let reply = s.say("7");
    assert_eq!(reply.path, AnswerPath::Number);
    assert!(reply.messages[0].markdown.contains("entre 1 et 3"));
    assert_eq!(reply.messages[0].choices.len(), 3);
    assert_eq!(title(&s.say("2")), "Horaires");
}

#[test]
fn labels_typed_on_a_phone_still_pick() {
    let mut s = Session::new();
    s.say("1");
    // Straight apostrophe, no accent, upper case, extra punctuation.
    assert_eq!(title(&s.say("S'INSCRIRE AU STAGE !")), "Stage");
}

#[test]
fn keywords_match_at_word_starts_only() {
    let mut s = Session::new();
    assert_eq!(title(&s.say("je voudrais partir")), "FALLBACK");
    assert_eq!(title(&s.say("un atelier d'art ?")), "Art");
    assert_eq!(title(&s.say("les horaires d'ouverture")), "Horaires");
}

#[test]
fn a_typo_of_a_distinctive_keyword_answers_and_two_close_readings_ask() {
    let mut s = Session::new();
    // One keyword, one edit away, nothing else close: the answer.
    assert_eq!(title(&s.say("horraires")), "Horaires");
    // Two responses explain the message as well as each other: the user chooses.
    let mut s = Session::new();
    let reply = s.say("formation ouverture");
    let Answer::DidYouMean(titles) = &reply.answer else {
        panic!("expected did you mean, got {:?}", reply.answer);
    };
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(reply.messages[0].markdown.starts_with("Je ne suis pas sûr"));
    // The suggestions are a menu: a number picks one.
    assert_eq!(title(&s.say("1")), titles[0]);
}

#[test]
fn numbers_with_an_article_pick() {
    for typed in [
        "le 1",
        "n°1",
        "choix 1",
        "le numéro 1",
        "#1",
        "1️⃣",
        "la première",
        "le 1er choix",
        "la première option",
    ] {
        let mut s = Session::new();
        assert_eq!(title(&s.say(typed)), "Menu prof", "{typed:?}");
    }
    for typed in [
        "la deuxième",
        "le 2e",
        "option 2",
        "deux",
        "le deux",
        "2 stp",
        "euh 2",
        "la 2 merci",
    ] {
        let mut s = Session::new();
        assert_eq!(title(&s.say(typed)), "Menu direction", "{typed:?}");
    }
    // Alone, an ordinal spelt out is a school year, not a choice.
    for typed in ["seconde", "1er"] {
        let mut s = Session::new();
        assert_ne!(title(&s.say(typed)), "Menu direction", "{typed:?}");
        let mut s = Session::new();
        assert_ne!(title(&s.say(typed)), "Menu prof", "{typed:?}");
    }
}

#[test]
fn chat_french_is_read() {
    let mut s = Session::new();
    s.say("1");
    assert_eq!(title(&s.say("cmt s'inscrire en formation stp")), "Stage");
    assert_eq!(
        title(&s.say("koman on fé pour s'inscrire en formation")),
        "Stage"
    );
    // An apostrophe not typed: the elided word is read apart.
    for (message, expected) in [
        ("cest quand louverture", "Horaires"),
        ("jai une question sur linscription au stage", "Stage"),
    ] {
        assert_eq!(title(&s.say(message)), expected, "{message}");
    }
    // But only a contraction that is no word is cut: `test` is no `t'est`, `dune` no
    // `d'une`.
    let kb = guichet::kb::parse_str("t.md", BASE).kb.unwrap();
    let index = guichet::engine::guichet::GuichetIndex::for_kb(&kb);
    for message in [
        "test horaires",
        "dune horaires",
        "lune horaires",
        "don horaires",
    ] {
        assert_eq!(index.unknown_share(message), 0.5, "{message}");
    }
    for message in ["cest les horaires", "ny a-t-il pas dhoraires"] {
        assert_eq!(index.unknown_share(message), 0.0, "{message}");
    }
}

/// Parents and pupils say it their way: `mon fils` where the base says `votre enfant`, `la
/// maman de Léa` for a parent, `la gamelle` for the canteen, `une dissert`, `l'infirmière` for the infirmary (the shipped
/// school vocabulary, `data/chat-fr.txt`).
#[test]
fn school_words_as_parents_and_pupils_say_them() {
    assert_first_answers(
        "# Collège Jean Moulin\nBonjour ! Que voulez-vous savoir ?\n## Signaler une absence\n- absence\nLes parents préviennent la vie scolaire avant 9 h et apportent un justificatif au retour de leur enfant.\n## Restauration scolaire\n- cantine\nLes menus sont sur l'ENT.\n## Méthode de la dissertation\n- dissertation\nIntroduction, développement en trois parties, conclusion.\n## Infirmerie\n- infirmerie\nOuverte de 8 h à 17 h.\n## Le CDI\n- CDI\nOuvert le midi.\n",
        &[
            ("mon fils sera absent", "Signaler une absence"),
            (
                "bonjour, je suis la maman de Léa, elle sera absente",
                "Signaler une absence",
            ),
            ("la gamelle", "Restauration scolaire"),
            ("comment faire une dissert ?", "Méthode de la dissertation"),
            ("l'infirmière est là quand ?", "Infirmerie"),
            ("la bibliothèque", "Le CDI"),
        ],
    );
}

/// Staff and pupils name school things their way too: `une heure de colle` for a detention,
/// `les épreuves` for the exams, `le vidéoproj`, `je stresse` (the shipped school
/// vocabulary, `data/chat-fr.txt`). A word of another sense stays its own: `sorties` in
/// `les notes sont sorties` is not a school trip.
#[test]
fn school_words_as_staff_and_pupils_say_them() {
    let base = "# Lycée\nBonjour !\n## Punitions\n- retenue\nPour mettre une retenue d'une heure, remplissez le formulaire.\n## Examens blancs\n- examens blancs\nLe planning est affiché en salle des professeurs.\n## Matériel\n- vidéoprojecteur\nIl se réserve à l'accueil.\n## Gérer le stress\n- stress\nRespire lentement.\n## Sorties scolaires\n- sortie\nPour organiser une sortie, déposez le formulaire un mois avant.\n";
    assert_first_answers(
        base,
        &[
            ("comment mettre une heure de colle", "Punitions"),
            ("le planning des épreuves", "Examens blancs"),
            ("réserver le vidéoproj", "Matériel"),
            ("je stresse", "Gérer le stress"),
            ("organiser une excursion", "Sorties scolaires"),
        ],
    );
    assert_eq!(
        title(&first_message_to(base)("les notes du bac sont sorties ?")),
        "FALLBACK"
    );
}

/// A term the author set in bold names the page even with content search off (ChatMD's
/// default), where the other words of a text never answer alone; a bold `Attention` flags a
/// remark and names nothing.
#[test]
fn a_term_in_bold_names_its_page_with_content_search_off() {
    let ask = first_message_to(
        "# Méthodo\nQue veux-tu faire ?\n## La dissertation\n- dissertation\nAnalyse le sujet, trouve une **problématique**, puis construis un plan.\n## Introduction\n- intro\nL'introduction pose la problématique et annonce le plan.\n## Conclusion\n- conclure\nLa conclusion répond à la problématique. **Attention :** pas de nouvelle idée.\n",
    );
    assert_eq!(
        title(&ask("c'est quoi une problématique ?")),
        "La dissertation"
    );
    assert_eq!(title(&ask("attention")), "FALLBACK");
}

/// A teacher explains the context before the question: most words of a long message are
/// the person's own, and the one the base names (`réimporter`, `finalise`) is the answer.
/// A long message that names nothing of the base still falls back.
#[test]
fn a_long_message_that_names_its_answer_gets_it() {
    assert_first_answers(
        "# Aide Pix\nBienvenue.\n## Réimporter la base élèves\n- réimporter\n- nouveaux élèves\nRefaites l'import SIECLE à chaque arrivée.\n## Finaliser une session\n- finaliser\nClôturez la session dans Pix Certif une fois les élèves partis.\n## Créer une campagne\n- campagne\nOnglet Campagnes, bouton Créer.\n",
        &[
            (
                "Bonjour, plusieurs élèves de 3e arrivés en cours d'année n'apparaissent pas dans Pix Orga alors que la base a été importée en septembre, faut-il réimporter ?",
                "Réimporter la base élèves",
            ),
            (
                "la session de mardi s'est mal passée, deux élèves ont eu des problèmes de connexion et un autre a été exclu, comment je finalise maintenant ?",
                "Finaliser une session",
            ),
            (
                "je voulais savoir si la réunion parents profs de jeudi est maintenue car plusieurs collègues sont absents",
                "FALLBACK",
            ),
        ],
    );
}

/// `Wi-Fi` and `e-mail` are typed `wifi` and `email`: read joined, they find each other
/// both ways, where `wi` and `fi` were too short to be words of a title or a text.
#[test]
fn a_hyphenated_word_is_found_as_people_type_it() {
    assert_first_answers(
        "# Aide numérique\nBonjour !\n## Où trouver les identifiants Wi-Fi ?\nLe code est affiché en salle des profs.\n## Réinitialiser son mot de passe\n- mot de passe\nDans l'ENT, menu Comptes.\n## Messagerie\n- email\nLa messagerie est dans l'ENT.\n",
        &[
            ("code wifi", "Où trouver les identifiants Wi-Fi ?"),
            ("le wi-fi", "Où trouver les identifiants Wi-Fi ?"),
            ("mon e-mail", "Messagerie"),
            // A word of its own before the hyphen keeps it apart.
            ("au-dessus", "FALLBACK"),
        ],
    );
}

/// Two words the base writes as one (`vidéoprojecteur`, the keyword `noncertifiable`) are
/// read as it when a message types them apart.
#[test]
fn two_words_the_base_writes_as_one_are_read_as_it() {
    assert_first_answers(
        "# Aide\nBonjour !\n## Comment projeter mon écran sur le vidéoprojecteur ?\nBranchez le câble HDMI.\n## Les vidéos du cours\n- vidéo\nElles sont sur l'ENT.\n## Cas particuliers\n- noncertifiable\nProposez une campagne SOS.\n## Être certifiable\n- certifiable\nIl faut un profil complet.\n",
        &[
            (
                "le vidéo projecteur",
                "Comment projeter mon écran sur le vidéoprojecteur ?",
            ),
            ("un élève non certifiable", "Cas particuliers"),
        ],
    );
}

/// Authors title a page with a noun ("Suppression d'un compte") and people ask with the verb
/// ("comment supprimer ?"), or the other way round; the stemmer gives the two different
/// stems.
#[test]
fn a_verb_finds_the_page_titled_by_its_noun() {
    assert_first_answers(
        "# Aide ENT\nBienvenue.\n## Suppression d'un compte\nÉcrivez au secrétariat.\n## Modification de l'emploi du temps\n- edt\nLa vie scolaire publie les changements.\n## Connexion à l'ENT\n- identifiants\nSi rien n'arrive, utilisez les identifiants de la rentrée.\n## Afficher les absences\n- absences\nOnglet Vie scolaire.\n## Les personnes à contacter\n- contacts\nLe secrétariat.\n",
        &[
            ("comment supprimer ?", "Suppression d'un compte"),
            ("je n'arrive pas à me connecter", "Connexion à l'ENT"),
            ("qui peut modifier ?", "Modification de l'emploi du temps"),
            ("où est l'affichage ?", "Afficher les absences"),
            // A noun made from a noun is no act: `personnage` does not find "personnes".
            ("un personnage", "FALLBACK"),
        ],
    );
}

/// A page whose whole text is for one profile, asked before any profile is chosen: the
/// reply names the page and asks for the profile, and choosing one shows the page (or, for a
/// profile the page says nothing to, that profile's menu).
#[test]
fn a_role_only_answer_asks_for_the_role_first_and_is_never_empty() {
    let mut s = Session::new();
    let reply = s.say("note de service");
    assert_eq!(reply.path, AnswerPath::Role);
    assert_eq!(title(&reply), "Notes de service");
    assert_eq!(
        reply.messages[0].markdown,
        "Pour vous répondre sur « Notes de service », dites-moi d'abord qui vous êtes :"
    );
    assert_eq!(reply.messages[0].choices.len(), 2);
    let chosen = s.say("2");
    assert_eq!(title(&chosen), "Notes de service");
    assert!(chosen.messages[0].markdown.contains("espace direction"));
    let mut s = Session::new();
    s.say("note de service");
    assert_eq!(title(&s.say("Professeur")), "Menu prof");
    // Something else typed instead of a profile is a question of its own.
    let mut s = Session::new();
    s.say("note de service");
    assert_eq!(title(&s.say("les horaires")), "Horaires");

    let mut s = Session::new();
    s.say("note de service");
    // As a teacher, the answer stays hidden: never an empty message.
    s.say("1");
    let reply = s.say("note de service");
    assert!(
        reply
            .messages
            .iter()
            .any(|m| !m.markdown.is_empty() || !m.choices.is_empty())
    );
    assert_ne!(title(&reply), "Notes de service");
    // Management reads it.
    let mut s = Session::new();
    s.say("2");
    assert_eq!(title(&s.say("note de service")), "Notes de service");
}

/// A button outlives its menu (Discord keeps it clickable): the click names the choice by its
/// stable id, and the engine finds it where it is now, or says the menu is out of date.
#[test]
fn a_click_by_choice_id_follows_the_choice_not_the_position() {
    let mut s = Session::new();
    let welcome = s
        .engine
        .reply(&mut Conversation::default(), Input::Start, &mut s.rng);
    let direction = welcome.messages[0].choices[1].id.clone();
    for at in [1, 0, 7] {
        let mut s = Session::new();
        let reply = s.engine.reply(
            &mut s.conversation,
            Input::Choice {
                id: direction.clone(),
                at,
            },
            &mut s.rng,
        );
        assert_eq!(title(&reply), "Menu direction", "seen at {at}");
    }
    let stale = s.engine.reply(
        &mut s.conversation,
        Input::Choice {
            id: "plus-offert".into(),
            at: 0,
        },
        &mut s.rng,
    );
    assert_eq!(stale.answer, Answer::Initial);
    assert!(
        stale.messages[0]
            .markdown
            .starts_with(&Strings::default().stale_menu),
        "{}",
        stale.messages[0].markdown
    );
}

#[test]
fn small_talk_and_navigation() {
    let mut s = Session::new();
    let reply = s.say("Bonjour !");
    assert_eq!(reply.answer, Answer::Initial);
    assert!(reply.messages[0].markdown.contains("qui êtes-vous"));
    s.say("1");
    let reply = s.say("merci beaucoup");
    assert_eq!(reply.answer, Answer::Builtin("thanks".into()));
    assert_eq!(
        reply.messages[0].choices.len(),
        3,
        "thanks shows the last menu again"
    );
    s.say("2");
    // `retour` goes back to the previous menu, `0` to the welcome.
    assert_eq!(title(&s.say("retour")), "Menu prof");
    assert_eq!(title(&s.say("0")), "INITIAL");
    assert_eq!(s.say("au revoir").answer, Answer::Builtin("goodbye".into()));
    assert_eq!(s.say("a+").answer, Answer::Builtin("goodbye".into()));
    assert_eq!(s.say("👍").answer, Answer::Builtin("ok".into()));
    assert_eq!(s.say("d accord").answer, Answer::Builtin("ok".into()));
    // Stretched as in a chat.
    assert_eq!(s.say("merciiii").answer, Answer::Builtin("thanks".into()));
    assert_eq!(s.say("OKKK").answer, Answer::Builtin("ok".into()));
    assert_eq!(s.say("🙏🏼").answer, Answer::Builtin("thanks".into()));
    assert_eq!(s.say("À+ !").answer, Answer::Builtin("goodbye".into()));
    assert_eq!(s.say("ok cool").answer, Answer::Builtin("ok".into()));
    // Thanks for something, or among acknowledgements, are still thanks.
    for thanks in [
        "merci beaucoup pour votre aide",
        "merci pour tes explications",
        "merci, c'est gentil",
        "top merci",
        "super, merci !",
    ] {
        assert_eq!(
            s.say(thanks).answer,
            Answer::Builtin("thanks".into()),
            "{thanks}"
        );
    }
}

/// Saying who one is picks the welcome's profile, as its button would, in a base whose
/// keywords say nothing of it; a question that also says who asks is answered for that
/// profile.
#[test]
fn a_stated_profile_picks_the_welcomes_profile_choice() {
    for (message, menu, role) in [
        ("je suis professeure de maths", "Menu prof", "prof"),
        (
            "Bonjour, je suis à la direction",
            "Menu direction",
            "direction",
        ),
        ("en tant que prof", "Menu prof", "prof"),
    ] {
        let mut s = Session::new();
        assert_eq!(title(&s.say(message)), menu, "{message}");
        assert_eq!(s.conversation.variables["role"], role, "{message}");
    }
    // With a question after it: the profile is set, and the question answered for it.
    let mut s = Session::new();
    assert_eq!(
        title(&s.say("je suis prof et je voudrais m'inscrire au stage de formation")),
        "Stage"
    );
    assert_eq!(s.conversation.variables["role"], "prof");
    let mut s = Session::new();
    let notes = s.say("bonjour, je suis à la direction, où sont les notes de service ?");
    assert_eq!(title(&notes), "Notes de service");
    assert!(
        notes.messages[0].markdown.contains("espace direction"),
        "{}",
        notes.messages[0].markdown
    );
}

/// A verb form of être or avoir says nothing of the topic: "je serai en formation" is about
/// the training, not a message half made of a word the base does not know.
#[test]
fn forms_of_etre_and_avoir_are_not_unknown_words() {
    let mut s = Session::new();
    for message in ["je serai en formation", "j'aurais besoin des horaires"] {
        let expected = if message.contains("formation") {
            "Stage"
        } else {
            "Horaires"
        };
        assert_eq!(title(&s.say(message)), expected, "{message}");
    }
}

/// A yes/no question names what its yes leads to: a response with no keyword, reached by
/// `Voir les jours fériés ?` then `Oui`, is found by the question's words.
#[test]
fn a_yes_no_question_names_what_yes_leads_to() {
    let ask = first_message_to(
        "# Bot\nBienvenue.\n1. [Horaires](Horaires)\n## Horaires\n- horaires\nDe 8 h à 18 h.\nVoir aussi les jours fériés ?\n1. [Oui](R7)\n2. [Non](Fin)\n## Cantine\n- cantine\nLe menu est affiché.\nVoir les tarifs ?\n1. [Oui](R8)\n2. [Non](Fin)\n## R7\nL'établissement ferme le 1er mai et le 14 juillet.\n## R8\n3,50 € le repas.\n## Fin\nBonne journée.\n",
    );
    assert_eq!(title(&ask("on travaille les jours fériés ?")), "R7");
    assert_eq!(title(&ask("quels sont les tarifs")), "R8");
    // A single `Oui` in the base is still an answer, not a name: its question names R7, and
    // a `oui` out of context is not a request for R7.
    let ask = first_message_to(
        "# Bot\nBienvenue.\n1. [Horaires](Horaires)\n## Horaires\n- horaires\nDe 8 h à 18 h.\nVoir aussi les jours fériés ?\n1. [Oui](R7)\n## R7\nL'établissement ferme le 1er mai et le 14 juillet.\n",
    );
    assert_eq!(title(&ask("on travaille les jours fériés ?")), "R7");
    assert_ne!(title(&ask("oui")), "R7");
}

/// Two responses with the same title are one for the person: a choice leads to the first.
/// Finding both is no reason to ask.
#[test]
fn a_title_written_twice_is_one_candidate() {
    let ask = first_message_to(
        "# Bot\nBienvenue.\n## Exemples\n- exemples\nQuelques exemples.\n## Horaires\n- horaires\nDe 8 h à 18 h.\n## Exemples\n- exemples\nQuelques exemples.\n",
    );
    assert_eq!(title(&ask("des exemples")), "Exemples");
}

/// A term the author set in bold is what the page is about: of two pages that use a word,
/// the one that sets it in bold answers.
#[test]
fn a_term_in_bold_names_its_page() {
    let ask = first_message_to(
        "---\nrechercheContenu: true\n---\n# Bot\nBienvenue.\n## Chasse\nLes chauves-souris chassent la nuit grâce à leur sonar, en vol au-dessus des haies.\n## Sons\nElles émettent des sons de type **sonar** pour sonder leur environnement direct et voir tous les obstacles dans l'obscurité ; d'autres cris, longs et bas en fréquence, servent au gîte entre la mère et son petit, ou en vol sur un territoire de chasse disputé.\n## Horaires\n- horaires\nDe 8 h à 18 h.\n",
    );
    assert_eq!(title(&ask("sonar")), "Sons");
}

/// Pages that only mention a message's words in their text are a guess, not a question
/// worth asking: a message that names none of them falls back rather than offering them.
#[test]
fn words_found_only_in_texts_offer_no_list() {
    let ask = first_message_to(
        "---\nrechercheContenu: true\n---\n# Bot\nBienvenue.\n## Détecteurs\n- détecteur\nLes détecteurs restent posés une nuit entière près des haies et des lisières.\n## Analyse\n- logiciel\nLe logiciel trie les enregistrements de la nuit, faits le long des haies ou des lisières.\n## Horaires\n- horaires\nDe 8 h à 18 h.\n",
    );
    assert_eq!(title(&ask("les haies et les lisières ?")), "FALLBACK");
    // Named by the message, a page is still answered or offered.
    assert_eq!(title(&ask("quel détecteur ?")), "Détecteurs");
}

/// A negation in an author's phrase is what tells it from the same phrase without it: the
/// page for a pupil who is *not* eligible wins over the page about being eligible.
#[test]
fn a_negation_in_a_keyword_counts() {
    let ask = first_message_to(
        "# Bot\nBienvenue.\n## Être certifiable\n- certifiable\n- etre certifiable\n- niveau 1\nUn élève est **certifiable** quand il a cinq compétences au niveau 1.\n## Élève non certifiable\n- non certifiable\n- pas certifiable\n- n'est pas certifiable\nIl peut encore progresser.\n",
    );
    for message in ["eleve pas certifiable", "il est pas certifiable"] {
        assert_eq!(title(&ask(message)), "Élève non certifiable", "{message}");
    }
    assert_eq!(title(&ask("être certifiable ?")), "Être certifiable");
}

#[test]
fn off_topic_messages_fall_back() {
    let mut s = Session::new();
    for message in [
        "menu de la cantine demain",
        "y a grève jeudi ?",
        "le parking est plein",
    ] {
        assert_eq!(title(&s.say(message)), "FALLBACK", "{message}");
    }
}

#[test]
fn five_custom_default_messages_never_hang_nor_repeat_the_last_four() {
    let base = "---\nmessageParDéfaut: [\"a\", \"b\", \"c\", \"d\", \"e\"]\n---\n# T\nBonjour\n## Horaires\n- horaires\nDe 8 h à 18 h.\n";
    let kb = guichet::kb::parse_str("t.md", base).kb.unwrap();
    for mode in [MatchingMode::Chatmd, MatchingMode::Guichet] {
        let engine = Engine::new(Arc::new(kb.clone()), mode, Strings::default());
        let mut conversation = Conversation::default();
        let mut rng = Rng::seeded(3);
        let mut said: Vec<String> = Vec::new();
        for _ in 0..30 {
            let reply = engine.reply(
                &mut conversation,
                Input::Text("quelle météo demain".into()),
                &mut rng,
            );
            assert_eq!(reply.answer.name(), "FALLBACK");
            let text = reply.messages[0].markdown.clone();
            assert!(
                !said.iter().rev().take(4).any(|t| *t == text),
                "{text} repeated within 4: {said:?}"
            );
            said.push(text);
        }
    }
}

#[test]
fn a_menu_from_before_a_reload_that_removed_its_target_leads_to_the_welcome() {
    let mut s = Session::new();
    s.say("1");
    // The base is edited: `Stage` disappears; the conversation still shows the old menu.
    let edited = BASE.replace(
        "## Stage\n- stage\n- formation\nInscription au stage sur le portail.\n",
        "",
    );
    let kb = guichet::kb::parse_str("t.md", &edited).kb.unwrap();
    let engine = Engine::new(Arc::new(kb), MatchingMode::Guichet, Strings::default());
    let reply = engine.reply(&mut s.conversation, Input::Pick(0), &mut s.rng);
    assert_eq!(reply.answer, Answer::Initial);
    assert!(reply.messages[0].markdown.contains("qui êtes-vous"));
}

/// Two responses found the same way: the one whose name the message holds most of answers
/// (`partage`: sharing a map, in a base where every title says "carte"; `IGN`: the page titled
/// with it).
#[test]
fn the_response_a_message_names_most_answers() {
    let base = "# Aide\nBienvenue !\n## Comment partager une carte\n- partager\nCopiez le lien de partage.\n## Comment partager une bibliothèque de symboles\n- partager\nExportez la bibliothèque.\n## Comment imprimer une carte\n- imprimer\nMenu Imprimer.\n## Comment créer une carte\n- créer\n- raconter\nBouton Nouvelle carte.\n## Comment supprimer une carte\n- supprimer\nMenu Supprimer.\n## Qui est l'IGN ?\n- IGN\nL'institut qui publie les cartes.\n## Ma carte\n- IGN\n- outil\nUn outil en ligne de l'IGN.\n## Raconter une histoire\n- raconter\nUne carte narrative se publie sur un blogue.\n";
    let say = first_message_to(base);
    assert_eq!(title(&say("partage")), "Comment partager une carte");
    assert_eq!(title(&say("qu’est-ce que l’IGN")), "Qui est l'IGN ?");
}

/// Bases split over several web pages link a page's file where the chat needs its title: the
/// person who picks it gets that page, not the welcome message.
#[test]
fn a_choice_that_links_a_page_file_opens_the_page_it_names() {
    let base = "# Aide\nBienvenue !\n1. [Géocoder à la parcelle ?](Comment_géocoder_à_la_parcelle.md)\n2. [Ailleurs](Page_inconnue.md)\n## adresse/Comment géocoder à la parcelle\n- parcelle\nDonnez les codes parcelles.\n## Autre\n- autre\nAutre chose.\n";
    for mode in [MatchingMode::Guichet, MatchingMode::Chatmd] {
        let kb = guichet::kb::parse_str("t.md", base).kb.unwrap();
        let engine = Engine::new(Arc::new(kb), mode, Strings::default());
        let mut conversation = Conversation::default();
        let mut rng = Rng::seeded(1);
        engine.reply(&mut conversation, Input::Start, &mut rng);
        let reply = engine.reply(&mut conversation, Input::Pick(0), &mut rng);
        let expected = match mode {
            MatchingMode::Guichet => {
                Answer::Response("adresse/Comment géocoder à la parcelle".into())
            }
            // ChatMD mode keeps ChatMD's behaviour.
            _ => Answer::Initial,
        };
        assert_eq!(reply.answer, expected, "{mode:?}");
        // A file no title names still leads to the welcome message.
        engine.reply(&mut conversation, Input::Start, &mut rng);
        let reply = engine.reply(&mut conversation, Input::Pick(1), &mut rng);
        assert_eq!(reply.answer, Answer::Initial, "{mode:?}");
    }
}

/// Issue 18, item 10: typing "3" picks choice 3, so a message with choices shows its
/// numbered steps as labelled steps, in every renderer; without choices they keep numbers.
#[test]
fn numbered_steps_beside_choices_do_not_look_like_choices() {
    const STEPS: &str = "---\ncontenuDynamique: true\n---\n# Aide\nBonjour.\n1. [Créer](Créer une campagne)\n2. [Sans menu](Sans menu)\n## Créer une campagne\n- créer une campagne\nSuivez ces étapes :\n1) **Nom** du parcours ;\n2) objectif ;\n3) validez.\n\n1. [Partager le code](Sans menu)\n2. [Retour]()\n## Sans menu\n- sans menu\nDeux étapes :\n1. ouvrir ;\n2. fermer.\n";
    let kb = Arc::new(guichet::kb::parse_str("t.md", STEPS).kb.unwrap());
    let answer = |strings: Strings, text: &str| {
        let engine = Engine::new(kb.clone(), MatchingMode::Guichet, strings);
        let mut conversation = Conversation::default();
        let mut rng = Rng::seeded(1);
        engine.reply(&mut conversation, Input::Start, &mut rng);
        let reply = engine.reply(&mut conversation, Input::Text(text.into()), &mut rng);
        reply.messages.into_iter().next().unwrap()
    };
    let message = answer(Strings::default(), "créer une campagne");
    assert_eq!(message.choices.len(), 2);
    let labels: Vec<String> = message.choices.iter().map(|c| c.label.clone()).collect();
    let step = message.step_label.as_deref();

    let plain = guichet::render::plain(&message.markdown, &labels, step, &Strings::default());
    assert!(plain.contains("- Étape 1 : Nom du parcours ;"), "{plain}");
    assert!(plain.contains("- Étape 3 : validez."), "{plain}");
    assert!(plain.ends_with("1. Partager le code\n2. Retour"), "{plain}");
    for line in plain.lines().filter(|line| line.contains("Étape")) {
        assert!(!line.starts_with(|c: char| c.is_ascii_digit()), "{line}");
    }

    let matrix = guichet::render::matrix(&message.markdown, &labels, step, &Strings::default());
    assert_eq!(matrix.body, plain);
    let html = &matrix.formatted_body;
    assert!(
        html.contains("<ul><li><strong>Étape 1 :</strong> <strong>Nom</strong> du parcours ;</li>"),
        "{html}"
    );
    assert_eq!(
        html.matches("<ol>").count(),
        1,
        "only the menu is numbered: {html}"
    );

    // On Discord the choices are buttons (no menu text), and the steps are labelled anyway.
    let discord =
        guichet::render::discord(&message.markdown, &[], 26, step, &Strings::default()).join("\n");
    assert!(discord.contains("- **Étape 2 :** objectif ;"), "{discord}");
    assert!(
        !discord.lines().any(|line| line.starts_with("2.")),
        "{discord}"
    );

    // The label comes from the strings, so it can be replaced (an empty one: bare bullets).
    let bullets = Strings {
        step_label: String::new(),
        ..Strings::default()
    };
    let message = answer(bullets, "créer une campagne");
    let plain = guichet::render::plain(
        &message.markdown,
        &[],
        message.step_label.as_deref(),
        &Strings::default(),
    );
    assert!(plain.contains("- objectif ;"), "{plain}");

    // A message without choices keeps its numbers: nothing can be mistaken for a choice.
    let message = answer(Strings::default(), "sans menu");
    assert!(message.choices.is_empty());
    assert_eq!(message.step_label, None);
    let plain = guichet::render::plain(&message.markdown, &[], None, &Strings::default());
    assert!(plain.contains("1. ouvrir ;\n2. fermer."), "{plain}");
}

#[test]
fn small_talk_goes_to_the_base_own_pages_and_ignores_the_bot_name() {
    let base = "# Chirobot\nBienvenue !\n1. [Les sons](Sons)\n## Sons\n- ultrason\nTexte.\n## aurevoir\nÀ bientôt, bonne écoute !\n";
    let say = first_message_to(base);
    for goodbye in [
        "au revoir",
        "allez, au revoir !",
        "bye",
        "a+",
        // A goodbye among other small talk closes, whatever comes first.
        "ok merci, au revoir",
        "merci, bonne journée",
    ] {
        assert_eq!(title(&say(goodbye)), "aurevoir", "{goodbye:?}");
    }
    assert_eq!(say("bonjour Chirobot").answer, Answer::Initial);
    assert_eq!(say("salut, tu peux m'aider ?").answer, Answer::Initial);
    assert_eq!(say("salut tout le monde").answer, Answer::Initial);

    // A thanks page is often titled after the act, not the word people type.
    let base = "# Vie scolaire\nBienvenue !\n## absences\n- absence\nTexte.\n## Remerciements\nAvec plaisir !\n";
    let say = first_message_to(base);
    for thanks in [
        "merci",
        "merci bcp",
        "thx",
        "merci beaucoup pour ton aide, c'était super",
    ] {
        assert_eq!(title(&say(thanks)), "Remerciements", "{thanks:?}");
    }
}

#[test]
fn help_and_profile_are_commands_on_every_platform() {
    for mode in [MatchingMode::Guichet, MatchingMode::Chatmd] {
        let kb = guichet::kb::parse_str("t.md", BASE).kb.unwrap();
        let engine = Engine::new(Arc::new(kb), mode, Strings::default());
        let mut conversation = Conversation::default();
        let mut rng = Rng::seeded(1);
        let mut say =
            |text: &str| engine.reply(&mut conversation, Input::Message(text.into()), &mut rng);
        say("1");
        let help = say("!guichet aide");
        assert_eq!(help.answer, Answer::Builtin("help".into()), "{mode:?}");
        assert!(help.messages[0].markdown.contains("!guichet role"));
        // The profile choices alone, as a menu a number picks from.
        let profiles = say("!GUICHET role");
        let labels: Vec<&str> = profiles.messages[0]
            .choices
            .iter()
            .map(|c| c.label.as_str())
            .collect();
        assert_eq!(labels, ["Professeur", "Direction"], "{mode:?}");
        assert!(
            profiles.messages[0]
                .markdown
                .contains("Choisissez votre profil")
        );
        assert_eq!(title(&say("2")), "Menu direction", "{mode:?}");
        assert_eq!(say("!guichet menu").answer, Answer::Initial);
    }
    // In guichet mode the bare words work too, when the base has no answer for them.
    let mut s = Session::new();
    assert_eq!(s.say("aide").answer, Answer::Builtin("help".into()));
    assert_eq!(
        s.say("changer de profil").answer,
        Answer::Builtin("profile".into())
    );
}

#[test]
fn without_content_search_a_text_that_explains_the_question_answers_and_a_word_in_passing_does_not()
{
    // Content search is off (ChatMD's default): the author named each page by its keywords.
    let ask = first_message_to(
        "# Aide\nBonjour.\n## Apparence\n- thème\n- style\nPour un avatar en forme de cercle, \
         ajoutez avatarCercle dans l'en-tête.\n## Imprimer\n- imprimante\nLes imprimantes \
         marchent avec la carte de cantine.\n## Horaires\n- horaires\nDe 8 h à 18 h.\n",
    );
    // Nothing names the page, but its text explains the whole question.
    assert_eq!(title(&ask("un avatar en forme de cercle")), "Apparence");
    // One word a page mentions in passing says nothing of what the page is about.
    assert!(matches!(ask("cantine").answer, Answer::Fallback { .. }));
}

#[test]
fn a_follow_up_is_about_the_page_just_shown() {
    let base = "---\nrechercheContenu: true\n---\n# Matériel\nBonjour.\n## Détecteurs\n- détecteur\n\
                Un détecteur d'ultrasons, au tarif de 500 euros.\n## Logiciels\n- logiciel\n\
                Un logiciel d'analyse, au tarif de 50 euros.\n";
    let kb = guichet::kb::parse_str("t.md", base).kb.unwrap();
    let engine = Engine::new(Arc::new(kb), MatchingMode::Guichet, Strings::default());
    let after = |first: &str, then: &str| {
        let mut conversation = Conversation::default();
        let mut rng = Rng::seeded(1);
        engine.reply(&mut conversation, Input::Start, &mut rng);
        engine.reply(&mut conversation, Input::Text(first.into()), &mut rng);
        let reply = engine.reply(&mut conversation, Input::Text(then.into()), &mut rng);
        reply.answer.name().to_string()
    };
    assert_eq!(after("détecteur", "et le tarif ?"), "Détecteurs");
    assert_eq!(after("logiciel", "et le tarif ?"), "Logiciels");
}

/// A question about the bot itself gets the base's own page about itself when one is titled
/// or keyed by such a question, else the welcome; the topic word alone (`robot` in a
/// robotics base) is not that question. `ça va ?` gets a short reply of guichet's own.
#[test]
fn a_question_about_the_bot_gets_the_bases_own_page() {
    let ask = first_message_to(
        "# Bot\nBienvenue.\n## Qui es-tu ?\n- es-tu\nJe suis un robot conversationnel.\n## Horaires\n- horaires\nDe 8 h à 18 h.\n",
    );
    assert_eq!(title(&ask("t'es un robot ?")), "Qui es-tu ?");
    assert_eq!(title(&ask("tu es qui")), "Qui es-tu ?");
    // Typed without its apostrophe, or with a space for it.
    assert_eq!(title(&ask("t es un robot ?")), "Qui es-tu ?");
    assert_eq!(title(&ask("tes qui ?")), "Qui es-tu ?");
    let ask = first_message_to(
        "# Bot\nBienvenue.\n## Le robot Thymio\n- robot\n- thymio\nUn petit robot.\n## Horaires\n- horaires\nDe 8 h à 18 h.\n",
    );
    assert_eq!(title(&ask("un robot pour la classe")), "Le robot Thymio");
    // Without a page of its own, the welcome, where a base introduces its bot.
    assert_eq!(ask("t'es une IA ?").answer, Answer::Initial);
    assert_eq!(ask("tu sers à quoi ?").answer, Answer::Initial);
    let reply = ask("ça va ?");
    assert_eq!(reply.answer, Answer::Builtin("how_are_you".into()));
    assert_eq!(
        reply.messages[0].markdown,
        Strings::default().how_are_you_reply
    );
    // Another of its phrases (`la forme`) names no page through its words alone (`forme`, a
    // page on formatting).
    let ask = first_message_to(
        "# Bot\nBienvenue.\n## Mise en forme\n- forme\nGras, italique.\n## Horaires\n- horaires\nDe 8 h à 18 h.\n",
    );
    assert_eq!(ask("ça va ?").answer, Answer::Builtin("how_are_you".into()));
    // A greeting with it is a greeting; a complaint is no small talk.
    assert_eq!(ask("salut, ça va ?").answer, Answer::Initial);
    assert_ne!(
        ask("ça va pas").answer,
        Answer::Builtin("how_are_you".into())
    );
}

/// A word or two of one shown choice's label picks it when nothing answers for sure (here
/// other pages are titled by the same word); a word of two labels, or one the base answers on
/// its own, does not.
#[test]
fn a_word_of_one_shown_label_picks_it() {
    let ask = first_message_to(concat!(
        "# Bot\nBienvenue.\n",
        "1. [Je suis enseignant·e @role=prof](Menu prof)\n",
        "2. [Je fais partie de la direction @role=direction](Menu direction)\n",
        "3. [Tout sur Pix](Menu pix)\n",
        "## Menu prof\n- je suis enseignant\nPour les profs.\n",
        "## Menu direction\n- je suis principal\nPour la direction.\n",
        "## Menu pix\nLes sujets.\n",
        "## Pix\n- pix\nPix évalue les compétences numériques.\n",
        "## Le rôle de l'enseignant\n- rôle\nL'enseignant accompagne les élèves.\n",
        "## Formation des enseignants\n- formation\nChaque enseignant se forme.\n",
        "## Lettre de la direction\n- lettre\nLa direction écrit aux familles.\n",
        "## Réunion de direction\n- réunion\nLa direction se réunit le lundi.\n",
    ));
    assert_eq!(title(&ask("direction")), "Menu direction");
    assert_eq!(title(&ask("enseignant")), "Menu prof");
    assert_eq!(title(&ask("pix")), "Pix");
    let ask = first_message_to(
        "# Bot\nBienvenue.\n1. [Créer une campagne](Créer)\n2. [Suivre une campagne](Suivre)\n## Créer\nOn crée.\n## Suivre\nOn suit.\n",
    );
    assert!(matches!(ask("campagne").answer, Answer::DidYouMean(_)));
}

/// After a question whose choices say yes and no, a yes or a no typed as people do picks
/// the one it means; a message that goes on after it is a question of its own.
#[test]
fn a_yes_or_no_typed_freely_answers_a_yes_no_question() {
    let base = "# Bot\nBienvenue.\n## Sons\n- sons\nLes chauves-souris émettent des ultrasons.\n\nEn savoir plus ?\n1. [Oui](Détails)\n2. [Non](Fin)\n## Détails\nLa fréquence, la durée.\n## Fin\nÀ bientôt.\n";
    let after_question = answer_after(base, &["sons"]);
    for yes in [
        "ouais",
        "oui stp",
        "vas-y",
        "d'accord",
        "ok",
        "oui merci",
        "bien sûr",
        "continue",
        "la suite",
    ] {
        assert_eq!(title(&after_question(yes)), "Détails", "{yes:?}");
    }
    for no in ["nan", "non merci", "pas maintenant"] {
        assert_eq!(title(&after_question(no)), "Fin", "{no:?}");
    }
    assert_ne!(
        title(&after_question("oui et les cris sociaux ?")),
        "Détails"
    );
}

/// A question wrapped as a message to a colleague (a greeting, `quelqu'un sait`, thanks in
/// advance, a signature) gets its answer: the wrapping is not words the base never uses.
#[test]
fn courtesy_around_a_question_is_not_off_topic() {
    let ask = first_message_to(concat!(
        "# Bot\nBienvenue.\n",
        "## Partager une carte\n- partager une carte\nBouton Partager, puis copier le lien.\n",
        "## Imprimer une carte\n- imprimer\nMenu Fichier, Imprimer.\n",
    ));
    for message in [
        "Bonjour à tous, comment partager une carte ? Bonne journée",
        "Bonsoir, comment partager une carte ? Cordialement, M. Dupont, CPE",
        "partager une carte svp merci d'avance",
    ] {
        assert_eq!(title(&ask(message)), "Partager une carte", "{message:?}");
    }
    // Openers are wrapping too: the base never says `quelqu'un`, `sait` or `voulais`, and the
    // message is still on its topic.
    let kb = guichet::kb::parse_str(
        "t.md",
        "# Bot\nBienvenue.\n## Partager une carte\n- partager une carte\nBouton Partager.\n",
    )
    .kb
    .unwrap();
    let index = guichet::engine::guichet::GuichetIndex::for_kb(&kb);
    for message in [
        "quelqu'un sait comment partager une carte ?",
        "non, je voulais dire : partager une carte",
        "bonjour, partager une carte ? cordialement, Jean",
    ] {
        assert_eq!(index.unknown_share(message), 0.0, "{message:?}");
    }
    // Courtesy alone, or with one word of small talk, is still small talk.
    assert_eq!(
        ask("merci beaucoup, c'était très clair").answer,
        Answer::Builtin("thanks".into())
    );
}

/// The bot addressed by its name (a word of the base's title no response uses) is not what
/// the message is about: `batou, c'est quoi le sonar ?` is `c'est quoi le sonar ?`.
#[test]
fn the_bots_name_in_a_question_is_not_its_topic() {
    let ask = first_message_to(concat!(
        "---\nrechercheContenu: true\n---\n",
        "# Batou : le guide des sons\nBienvenue.\n",
        "## Sons types\nLes chauves-souris émettent des sons de type **sonar**.\n",
        "## Détecteurs\n- détecteur\nUn détecteur d'ultrasons.\n",
    ));
    assert_eq!(title(&ask("c'est quoi le sonar ?")), "Sons types");
    assert_eq!(title(&ask("batou, c'est quoi le sonar ?")), "Sons types");
    assert_eq!(title(&ask("@Batou un détecteur ?")), "Détecteurs");
    // Called by its name alone, it greets.
    assert_eq!(ask("batou ?").answer, Answer::Initial);
    assert_eq!(ask("@Batou").answer, Answer::Initial);
    // A command stays a command, even when the title holds it.
    let ask =
        first_message_to("# Aide test\nBienvenue.\n## Horaires\n- horaires\nDe 8 h à 18 h.\n");
    assert_eq!(ask("aide").answer, Answer::Builtin("help".into()));
    // A name that starts like a word of the base is read past too, not found as that word.
    let ask = first_message_to(concat!(
        "---\nrechercheContenu: true\n---\n",
        "# Sonarbot : le guide des sons\nBienvenue.\n",
        "## Sons types\nLes chauves-souris émettent des sons de type **sonar**.\n",
    ));
    assert_eq!(title(&ask("sonarbot, c'est quoi le sonar ?")), "Sons types");
}

/// A page of one audience's menu with a paragraph written for another (`if @role==aed`) is
/// for both: the author wrote for them there. A page of the other menu stays out of reach.
#[test]
fn a_paragraph_written_for_an_audience_opens_its_page_to_it() {
    let base = concat!(
        "---\ncontenuDynamique: true\n---\n# Lycée\nVous êtes :\n",
        "1. [Enseignant @role=prof](Menu prof)\n2. [AED @role=aed](Menu aed)\n",
        "## Menu prof\n1. [L'appel](Appel)\n2. [Les conseils](Conseils)\n",
        "## Menu aed\n1. [Les retards](Retards)\n",
        "## Appel\n- faire l'appel\nL'appel se fait sur Pronote.\n",
        "`if @role==aed`\nLes AED relancent les appels non faits.\n`endif`\n",
        "## Conseils\n- conseil de classe\nLes appréciations sont à saisir avant le conseil.\n",
        "## Retards\n- retard\nBillet d'entrée à la vie scolaire.\n",
    );
    let as_aed = answer_after(base, &["2"]);
    assert_eq!(title(&as_aed("faire l'appel")), "Appel");
    assert_ne!(title(&as_aed("conseil de classe")), "Conseils");
}

/// A menu found by a word of the message gives way to a page it offers that explains more
/// of it: the person asked that page's question.
#[test]
fn a_menu_gives_way_to_its_page_that_explains_more_of_the_message() {
    assert_first_answers(
        concat!(
            "# MéthoBot\nChoisis un thème :\n1. [S'organiser](organisation)\n2. [Rédiger](rediger)\n",
            "## organisation\n1. [Faire un planning](planning)\n2. [Ne pas procrastiner](procrastination)\n",
            "## planning\n### Organiser sa semaine\nNote tous tes devoirs dans un agenda.\n",
            "1. [Retour](organisation)\n",
            "## procrastination\n### Arrêter de remettre à plus tard\nCommence par cinq minutes.\n",
            "## rediger\n1. [Faire un plan](plan)\n## plan\n### Construire un plan\nDeux ou trois parties.\n",
        ),
        &[
            ("comment m'organiser pour mes devoirs", "planning"),
            ("comment s'organiser", "organisation"),
        ],
    );
}

/// A word of the base said of something the base never mentions (`les horaires de la
/// mairie`, `le mot de passe de ma boîte gmail`) is no question for it; said of what the base
/// knows (`du collège`, `du premier trimestre`, `de l'ENT`), it is.
#[test]
fn a_base_word_said_of_something_else_is_off_topic() {
    assert_first_answers(
        "# Collège Jean Moulin\nBonjour ! Posez votre question.\n## Horaires du collège\n- horaires\n- ouverture\nLe collège est ouvert de 7 h 45 à 17 h 30, le mercredi jusqu'à 12 h 30.\n## Mot de passe\n- mot de passe\n- identifiant\nPour un mot de passe ENT perdu, utilisez le lien « mot de passe oublié ».\n## Bulletins\n- bulletin\nLes bulletins du trimestre sont sur Pronote une semaine après le conseil de classe.\n## Cantine\n- cantine\nLe menu de la semaine est affiché dans le hall.\n",
        &[
            (
                "quels sont les horaires d'ouverture de la mairie ?",
                "FALLBACK",
            ),
            ("le mot de passe de ma boîte gmail", "FALLBACK"),
            (
                "quels sont les horaires d'ouverture du collège ?",
                "Horaires du collège",
            ),
            ("le bulletin du premier trimestre", "Bulletins"),
            ("j'ai perdu le mot de passe de l'ENT", "Mot de passe"),
        ],
    );
}
