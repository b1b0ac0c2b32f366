//! Determination: does the bot answer this Matrix message, with which engine input, under
//! which conversation key, and where does the answer go? Pure functions over the event's
//! data, so every rule of issue 6 §2 and §4 is a plain unit test; the adapter gathers the
//! facts (room kind, who sent a replied-to message) and does the I/O.

use matrix_sdk::ruma::events::Mentions;
use matrix_sdk::ruma::events::relation::Thread;
use matrix_sdk::ruma::events::room::message::{
    MessageType, OriginalSyncRoomMessageEvent, Relation,
};
use matrix_sdk::ruma::{EventId, OwnedEventId, OwnedUserId, UserId};

use crate::config::RoomPolicy;
use crate::engine::Input;
use crate::store::ConversationKey;

/// The platform name in conversation keys, event claims and the status board.
pub const PLATFORM: &str = "matrix";

/// Whether an invitation from `user_id` is accepted: `allowed` (the config's
/// `allowed_inviters`) names them, or names everyone on their server (`@*:server`).
pub fn accepts_invite(allowed: &[String], user_id: &str) -> bool {
    allowed.iter().any(|allowed| {
        allowed == user_id
            || allowed.strip_prefix("@*:").is_some_and(|server| {
                user_id.starts_with('@')
                    && user_id
                        .rsplit_once(':')
                        .is_some_and(|(_, theirs)| theirs == server)
            })
    })
}

/// What the determination needs from a message event, taken out of ruma's types once.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub event_id: OwnedEventId,
    pub sender: OwnedUserId,
    /// The homeserver's timestamp, in milliseconds since the Unix epoch.
    pub origin_ms: i64,
    pub kind: Kind,
    /// For an edit, the new text.
    pub body: String,
    pub formatted_body: Option<String>,
    /// `m.mentions`; `None` when the sender's client does not send it (legacy clients).
    pub mentions: Option<Mentions>,
    /// The thread the message is in.
    pub thread: Option<Thread>,
    /// The message this one replies to: a rich reply, a reply within a thread, or in a
    /// thread the latest message the client fell back to (what a follow-up in the bot's
    /// thread points at).
    pub in_reply_to: Option<OwnedEventId>,
    /// When this event is an edit (`m.replace`), the event it edits.
    pub replaces: Option<OwnedEventId>,
}

/// The `msgtype`s the bot tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// Another bot's message, by convention never answered.
    Notice,
    /// Emotes, images, files, locations…: nothing the engine can read.
    Other,
}

impl Incoming {
    pub fn from_event(event: &OriginalSyncRoomMessageEvent) -> Self {
        let content = &event.content;
        let (msgtype, mentions, replaces) = match &content.relates_to {
            // An edit carries its new text in `m.new_content`; the outer body is a fallback
            // (`* new text`).
            Some(Relation::Replacement(replacement)) => (
                &replacement.new_content.msgtype,
                replacement.new_content.mentions.clone(),
                Some(replacement.event_id.clone()),
            ),
            _ => (&content.msgtype, content.mentions.clone(), None),
        };
        let (kind, body, formatted_body) = match msgtype {
            MessageType::Text(text) => (
                Kind::Text,
                text.body.clone(),
                text.formatted.as_ref().map(|f| f.body.clone()),
            ),
            MessageType::Notice(notice) => (Kind::Notice, notice.body.clone(), None),
            other => (Kind::Other, other.body().to_owned(), None),
        };
        let (thread, in_reply_to) = match &content.relates_to {
            Some(Relation::Thread(thread)) => (
                Some(thread.clone()),
                thread.in_reply_to.as_ref().map(|r| r.event_id.clone()),
            ),
            Some(Relation::Reply(reply)) => (None, Some(reply.in_reply_to.event_id.clone())),
            _ => (None, None),
        };
        Self {
            event_id: event.event_id.clone(),
            sender: event.sender.clone(),
            origin_ms: i64::from(event.origin_server_ts.get()),
            kind,
            body,
            formatted_body,
            mentions,
            thread,
            in_reply_to,
            replaces,
        }
    }
}

/// What the bot knows of itself when deciding.
#[derive(Debug, Clone)]
pub struct Me {
    pub user_id: OwnedUserId,
    /// Read once at start-up (it is an HTTP call).
    pub display_name: Option<String>,
    /// `!guichet`.
    pub prefix: String,
    pub rooms: RoomPolicy,
    /// Messages older than this (ms since the epoch) are not answered: before the bot's start,
    /// or before the catch-up window after downtime.
    pub cutoff_ms: i64,
}

/// The [`Me::cutoff_ms`] of a start at `started_ms`: after a restart that resumes a saved sync
/// position, what was said during the downtime is answered if at most `catch_up_ms` old; on
/// a first login, the room histories are not questions to this bot.
pub fn cutoff_ms(started_ms: i64, resumed: bool, catch_up_ms: i64) -> i64 {
    if resumed {
        started_ms.saturating_sub(catch_up_ms)
    } else {
        started_ms
    }
}

/// Whether a room is a direct chat with one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomKind {
    /// `is_direct`, or exactly two joined members.
    Direct,
    Group,
}

/// Why a message is not answered (logged at debug, counted nowhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    Own,
    /// `m.notice`: another bot.
    Notice,
    NotText,
    /// From before the start or the catch-up window.
    TooOld,
    /// In a group room, not addressed to the bot.
    NotAddressed,
}

/// Where the answer goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// In a direct chat: a plain message.
    Plain,
    /// In a group room: a rich reply to the question, mentioning the asker.
    Reply,
    /// In the question's thread (named by its root), as a reply within it.
    Thread { root: OwnedEventId },
}

/// An answer to give.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub key: ConversationKey,
    pub input: Input,
    /// The event the answer relates to: the question, or for an edit the original message.
    pub question: OwnedEventId,
    pub asker: OwnedUserId,
    pub placement: Placement,
    /// For an edit: the original event, which must not have been answered already.
    pub edit_of: Option<OwnedEventId>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Skip(Skip),
    Answer(Answer),
}

/// The replied-to event whose sender the decision depends on, if any: only in a group room,
/// for a message that would otherwise not be answered. The adapter fetches that event's
/// sender and passes it to [`decide`]; everything else is decided without a network call.
pub fn reply_target_to_check<'a>(
    message: &'a Incoming,
    room: RoomKind,
    me: &Me,
) -> Option<&'a EventId> {
    if room == RoomKind::Direct || me.rooms == RoomPolicy::Open || prefilter(message, me).is_some()
    {
        return None;
    }
    if addressed_text(message, me).is_some() {
        return None;
    }
    message.in_reply_to.as_deref()
}

/// Decides about one message. `replied_to_sender` is the sender of the event named by
/// [`reply_target_to_check`], when the adapter looked it up.
pub fn decide(
    message: &Incoming,
    room_id: &str,
    room: RoomKind,
    me: &Me,
    replied_to_sender: Option<&UserId>,
) -> Decision {
    if let Some(skip) = prefilter(message, me) {
        return Decision::Skip(skip);
    }
    let text = match addressed_text(message, me) {
        Some(text) => text,
        None if room == RoomKind::Direct || me.rooms == RoomPolicy::Open => {
            strip_reply_fallback(message).trim().to_owned()
        }
        // A reply to one of the bot's messages (a follow-up in its thread) needs no mention.
        None if replied_to_sender.is_some_and(|sender| sender == me.user_id) => {
            strip_reply_fallback(message).trim().to_owned()
        }
        None => return Decision::Skip(Skip::NotAddressed),
    };
    let input = if text.is_empty() {
        // A bare mention or prefix: show the welcome and its menu.
        Input::Start
    } else {
        Input::Message(text)
    };
    let key = match room {
        RoomKind::Direct => ConversationKey::direct(PLATFORM, message.sender.as_str()),
        RoomKind::Group => ConversationKey::new(PLATFORM, room_id, message.sender.as_str()),
    };
    let placement = match (&message.thread, room) {
        (Some(thread), _) => Placement::Thread {
            root: thread.event_id.clone(),
        },
        (None, RoomKind::Direct) => Placement::Plain,
        (None, RoomKind::Group) => Placement::Reply,
    };
    Decision::Answer(Answer {
        key,
        input,
        question: message
            .replaces
            .clone()
            .unwrap_or_else(|| message.event_id.clone()),
        asker: message.sender.clone(),
        placement,
        edit_of: message.replaces.clone(),
    })
}

/// The reasons to skip that hold in every room.
fn prefilter(message: &Incoming, me: &Me) -> Option<Skip> {
    if message.sender == me.user_id {
        return Some(Skip::Own);
    }
    match message.kind {
        Kind::Text => {}
        Kind::Notice => return Some(Skip::Notice),
        Kind::Other => return Some(Skip::NotText),
    }
    if message.origin_ms < me.cutoff_ms {
        return Some(Skip::TooOld);
    }
    None
}

/// The question, when the message is addressed to the bot by a prefix or a mention: the body
/// without the reply fallback, the prefix, or a leading mention. `None` when not addressed.
fn addressed_text(message: &Incoming, me: &Me) -> Option<String> {
    let body = strip_reply_fallback(message).trim();
    if let Some(rest) = strip_word(body, &me.prefix) {
        return Some(rest.to_owned());
    }
    let names = names(me);
    let intentional = message
        .mentions
        .as_ref()
        .is_some_and(|m| m.user_ids.contains(&me.user_id));
    let in_body = names.iter().any(|name| contains_word(body, name))
        || message
            .formatted_body
            .as_deref()
            .is_some_and(|html| links_to(html, &me.user_id));
    if !intentional && !in_body {
        return None;
    }
    // A pill renders as the display name at the start ("guichet: horaires"): drop it so a
    // bare number after a mention still picks a choice.
    let question = names
        .iter()
        .find_map(|name| strip_word(body, name))
        .unwrap_or(body);
    Some(question.to_owned())
}

/// The ways the bot is named in a body: its user id and its display name (not its bare
/// localpart, which can be an ordinary word).
fn names(me: &Me) -> Vec<String> {
    let mut names = vec![me.user_id.as_str().to_owned()];
    if let Some(display_name) = me.display_name.as_deref().map(str::trim)
        && !display_name.is_empty()
    {
        names.push(display_name.to_owned());
    }
    names
}

/// `text` without a leading `word` (case-insensitive) and the `:`/`,` after it; `None` when
/// `text` does not start with `word` followed by a word boundary.
fn strip_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let head = text.get(..word.len())?;
    if !head.eq_ignore_ascii_case(word) && head.to_lowercase() != word.to_lowercase() {
        return None;
    }
    let rest = text.get(word.len()..)?;
    if rest.chars().next().is_some_and(char::is_alphanumeric) {
        return None;
    }
    Some(
        rest.trim_start()
            .trim_start_matches([':', ','])
            .trim_start(),
    )
}

/// Whether `word` occurs in `text` as a whole word, ignoring case.
fn contains_word(text: &str, word: &str) -> bool {
    let text = text.to_lowercase();
    let word = word.to_lowercase();
    if word.is_empty() {
        return false;
    }
    let mut from = 0;
    while let Some(found) = text.get(from..).and_then(|t| t.find(&word)) {
        let start = from + found;
        let end = start + word.len();
        let before = text.get(..start).and_then(|t| t.chars().next_back());
        let after = text.get(end..).and_then(|t| t.chars().next());
        let boundary = |c: Option<char>| !c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if boundary(before) && boundary(after) {
            return true;
        }
        from = end;
    }
    false
}

/// Whether the HTML has a `matrix.to` link (a pill) to `user`.
fn links_to(html: &str, user: &UserId) -> bool {
    let target = format!("matrix.to/#/{}", user.as_str()).to_lowercase();
    let encoded = format!("matrix.to/#/{}", user.as_str().replacen('@', "%40", 1)).to_lowercase();
    let html = html.to_lowercase();
    html.contains(&target) || html.contains(&encoded)
}

/// The body without the quoted fallback older clients put before a reply (`> <@ana:x> …`
/// lines, then a blank line).
fn strip_reply_fallback(message: &Incoming) -> &str {
    let body = message.body.as_str();
    if message.in_reply_to.is_none() || !body.starts_with("> ") {
        return body;
    }
    let mut rest = body;
    while let Some(line_end) = rest.find('\n') {
        let line = rest.get(..line_end).unwrap_or_default();
        if !line.starts_with('>') {
            break;
        }
        rest = rest.get(line_end + 1..).unwrap_or_default();
    }
    if rest.starts_with('>') {
        // Nothing but the quote: nothing was asked.
        return "";
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;
    use matrix_sdk::ruma::{owned_event_id, owned_user_id};

    const START_MS: i64 = 1_700_000_000_000;
    const ROOM: &str = "!room";

    fn me() -> Me {
        Me {
            user_id: owned_user_id!("@guichet:localhost"),
            display_name: Some("Guichet".into()),
            prefix: "!guichet".into(),
            rooms: RoomPolicy::Mention,
            cutoff_ms: START_MS,
        }
    }

    /// A message event as a homeserver sends it, from its `content`.
    fn event(content: serde_json::Value) -> Incoming {
        event_from("@ana:localhost", START_MS + 1, content)
    }

    fn event_from(sender: &str, ts: i64, content: serde_json::Value) -> Incoming {
        let json = serde_json::json!({
            "type": "m.room.message",
            "event_id": "$question",
            "sender": sender,
            "origin_server_ts": ts,
            "content": content,
        });
        let event: OriginalSyncRoomMessageEvent = serde_json::from_value(json).unwrap();
        Incoming::from_event(&event)
    }

    fn text(body: &str) -> serde_json::Value {
        serde_json::json!({ "msgtype": "m.text", "body": body })
    }

    fn answer(decision: Decision) -> Answer {
        match decision {
            Decision::Answer(answer) => answer,
            Decision::Skip(skip) => panic!("skipped: {skip:?}"),
        }
    }

    #[test]
    fn invitations_from_the_allowed_only() {
        let allowed = ["@ana:example.org".to_owned(), "@*:ac-paris.fr".to_owned()];
        assert!(accepts_invite(&allowed, "@ana:example.org"));
        assert!(accepts_invite(&allowed, "@prof:ac-paris.fr"));
        assert!(!accepts_invite(&allowed, "@prof:ac-paris.fr.evil.org"));
        assert!(!accepts_invite(&allowed, "@bob:example.org"));
        assert!(!accepts_invite(&[], "@ana:example.org"), "none by default");
    }

    #[test]
    fn direct_chats_answer_every_text_message() {
        let answer = answer(decide(
            &event(text("horaires")),
            ROOM,
            RoomKind::Direct,
            &me(),
            None,
        ));
        assert_eq!(answer.input, Input::Message("horaires".into()));
        assert_eq!(
            answer.key,
            ConversationKey::direct("matrix", "@ana:localhost")
        );
        assert_eq!(answer.placement, Placement::Plain);
        assert_eq!(answer.question, owned_event_id!("$question"));
        assert_eq!(answer.edit_of, None);
    }

    #[test]
    fn what_is_never_answered() {
        let cases: &[(&str, Incoming, Skip)] = &[
            (
                "own message",
                event_from("@guichet:localhost", START_MS + 1, text("1")),
                Skip::Own,
            ),
            (
                "another bot's notice",
                event(serde_json::json!({ "msgtype": "m.notice", "body": "1" })),
                Skip::Notice,
            ),
            (
                "an image",
                event(
                    serde_json::json!({ "msgtype": "m.image", "body": "a.png", "url": "mxc://x/y" }),
                ),
                Skip::NotText,
            ),
            (
                "from before the start",
                event_from("@ana:localhost", START_MS - 1, text("1")),
                Skip::TooOld,
            ),
        ];
        for (name, message, skip) in cases {
            for room in [RoomKind::Direct, RoomKind::Group] {
                assert_eq!(
                    decide(message, ROOM, room, &me(), None),
                    Decision::Skip(*skip),
                    "{name} in {room:?}"
                );
            }
        }
    }

    /// After a restart, a question asked during the downtime is answered when at most
    /// `catch_up` old and skipped when older; on a first login nothing from before is.
    #[test]
    fn the_catch_up_window_counts_back_from_the_start() {
        const CATCH_UP_MS: i64 = 5_000;
        let restarted = Me {
            cutoff_ms: cutoff_ms(START_MS, true, CATCH_UP_MS),
            ..me()
        };
        let first_login = Me {
            cutoff_ms: cutoff_ms(START_MS, false, CATCH_UP_MS),
            ..me()
        };
        let asked = |ago_ms: i64| event_from("@ana:localhost", START_MS - ago_ms, text("1"));
        let recent = asked(CATCH_UP_MS - 500);
        let old = asked(CATCH_UP_MS + 500);
        assert!(!matches!(
            decide(&recent, ROOM, RoomKind::Direct, &restarted, None),
            Decision::Skip(_)
        ));
        assert_eq!(
            decide(&old, ROOM, RoomKind::Direct, &restarted, None),
            Decision::Skip(Skip::TooOld)
        );
        assert_eq!(
            decide(&recent, ROOM, RoomKind::Direct, &first_login, None),
            Decision::Skip(Skip::TooOld)
        );
    }

    #[test]
    fn group_rooms_answer_only_when_addressed() {
        // (body, m.mentions user ids, formatted body, expected question or None)
        type Case<'a> = (&'a str, &'a [&'a str], Option<&'a str>, Option<&'a str>);
        let cases: &[Case] = &[
            ("bonjour tout le monde", &[], None, None),
            ("le guichetier est parti", &[], None, None),
            ("@room horaires", &[], None, None),
            ("Guichet: 2", &["@guichet:localhost"], None, Some("2")),
            ("guichet, horaires ?", &[], None, Some("horaires ?")),
            (
                "dis-moi guichet les horaires",
                &[],
                None,
                Some("dis-moi guichet les horaires"),
            ),
            ("@guichet:localhost cantine", &[], None, Some("cantine")),
            ("!guichet horaires", &[], None, Some("horaires")),
            ("!GUICHET", &[], None, Some("")),
            ("!guichetier", &[], None, None),
            ("Guichet", &["@guichet:localhost"], None, Some("")),
            (
                "le bot: horaires",
                &[],
                Some("<a href=\"https://matrix.to/#/@guichet:localhost\">le bot</a>: horaires"),
                Some("le bot: horaires"),
            ),
            ("voir avec Bob", &["@bob:localhost"], None, None),
        ];
        for (body, mentions, html, expected) in cases {
            let mut content = serde_json::json!({
                "msgtype": "m.text",
                "body": body,
                "m.mentions": { "user_ids": mentions },
            });
            if let Some(html) = html {
                content["format"] = "org.matrix.custom.html".into();
                content["formatted_body"] = (*html).into();
            }
            let decision = decide(&event(content), ROOM, RoomKind::Group, &me(), None);
            match (expected, decision) {
                (None, Decision::Skip(Skip::NotAddressed)) => {}
                (Some(question), Decision::Answer(answer)) => {
                    let input = if question.is_empty() {
                        Input::Start
                    } else {
                        Input::Message((*question).into())
                    };
                    assert_eq!(answer.input, input, "{body}");
                    assert_eq!(
                        answer.key,
                        ConversationKey::new("matrix", ROOM, "@ana:localhost")
                    );
                    assert_eq!(answer.placement, Placement::Reply, "{body}");
                }
                (expected, decision) => panic!("{body}: expected {expected:?}, got {decision:?}"),
            }
        }
    }

    #[test]
    fn the_open_policy_answers_everything_in_rooms() {
        let me = Me {
            rooms: RoomPolicy::Open,
            ..me()
        };
        let answer = answer(decide(
            &event(text("cantine")),
            ROOM,
            RoomKind::Group,
            &me,
            None,
        ));
        assert_eq!(answer.input, Input::Message("cantine".into()));
    }

    #[test]
    fn a_reply_to_the_bot_needs_no_mention() {
        let message = event(serde_json::json!({
            "msgtype": "m.text",
            "body": "> <@guichet:localhost> Choisissez :\n> 1. Horaires\n\n1",
            "m.relates_to": { "m.in_reply_to": { "event_id": "$answer" } },
        }));
        let me = me();
        assert_eq!(
            reply_target_to_check(&message, RoomKind::Group, &me),
            Some(owned_event_id!("$answer").as_ref())
        );
        // In a direct chat, or once addressed otherwise, no lookup is needed.
        assert_eq!(reply_target_to_check(&message, RoomKind::Direct, &me), None);

        let to_bot = answer(decide(
            &message,
            ROOM,
            RoomKind::Group,
            &me,
            Some(&me.user_id),
        ));
        assert_eq!(to_bot.input, Input::Message("1".into()));
        let bob = owned_user_id!("@bob:localhost");
        assert_eq!(
            decide(&message, ROOM, RoomKind::Group, &me, Some(&bob)),
            Decision::Skip(Skip::NotAddressed)
        );
    }

    #[test]
    fn threaded_questions_get_threaded_answers() {
        let message = event(serde_json::json!({
            "msgtype": "m.text",
            "body": "!guichet cantine",
            "m.relates_to": {
                "rel_type": "m.thread",
                "event_id": "$root",
                "is_falling_back": true,
                "m.in_reply_to": { "event_id": "$latest" },
            },
        }));
        for room in [RoomKind::Group, RoomKind::Direct] {
            let answer = answer(decide(&message, ROOM, room, &me(), None));
            assert_eq!(
                answer.placement,
                Placement::Thread {
                    root: owned_event_id!("$root")
                }
            );
        }
        // A follow-up in the thread, replying to the bot's answer through the fallback.
        let follow_up = event(serde_json::json!({
            "msgtype": "m.text",
            "body": "2",
            "m.relates_to": {
                "rel_type": "m.thread",
                "event_id": "$root",
                "is_falling_back": true,
                "m.in_reply_to": { "event_id": "$bot_answer" },
            },
        }));
        let me = me();
        assert_eq!(
            reply_target_to_check(&follow_up, RoomKind::Group, &me),
            Some(owned_event_id!("$bot_answer").as_ref())
        );
        let answer = answer(decide(
            &follow_up,
            ROOM,
            RoomKind::Group,
            &me,
            Some(&me.user_id),
        ));
        assert_eq!(answer.input, Input::Message("2".into()));
    }

    #[test]
    fn an_edit_answers_its_new_text_about_the_original() {
        let message = event(serde_json::json!({
            "msgtype": "m.text",
            "body": "* !guichet cantine",
            "m.new_content": { "msgtype": "m.text", "body": "!guichet cantine" },
            "m.relates_to": { "rel_type": "m.replace", "event_id": "$original" },
        }));
        let answer = answer(decide(&message, ROOM, RoomKind::Group, &me(), None));
        assert_eq!(answer.input, Input::Message("cantine".into()));
        assert_eq!(answer.edit_of, Some(owned_event_id!("$original")));
        assert_eq!(answer.question, owned_event_id!("$original"));

        // An edit that removes the mention is not addressed.
        let message = event(serde_json::json!({
            "msgtype": "m.text",
            "body": "* cantine",
            "m.new_content": { "msgtype": "m.text", "body": "cantine" },
            "m.relates_to": { "rel_type": "m.replace", "event_id": "$original" },
        }));
        assert_eq!(
            decide(&message, ROOM, RoomKind::Group, &me(), None),
            Decision::Skip(Skip::NotAddressed)
        );
    }

    #[test]
    fn word_matching_respects_boundaries_and_case() {
        assert!(contains_word("Merci GUICHET !", "guichet"));
        assert!(!contains_word("guichetier", "guichet"));
        assert!(!contains_word("le_guichet", "guichet"));
        assert!(contains_word("é guichet é", "guichet"));
        assert_eq!(strip_word("Guichet : 3", "guichet"), Some("3"));
        assert_eq!(strip_word("Guichetier", "guichet"), None);
        assert_eq!(strip_word("é", "guichet"), None);
        // A multi-byte character where the word would end is not a panic.
        assert_eq!(strip_word("guichéé", "guichet"), None);
    }
}
