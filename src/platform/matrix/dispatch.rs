//! Dispatching: the engine's reply as Matrix events (rendered by `render::matrix`, placed as
//! a plain message, a rich reply or a thread reply) and their delivery, retried without
//! ever sending one twice.

use crate::engine::display::escape_html;
use std::time::Duration;

use matrix_sdk::Room;
use matrix_sdk::ruma::events::Mentions;
use matrix_sdk::ruma::events::relation::Thread;
use matrix_sdk::ruma::events::room::message::{
    AddMentions, ForwardThread, ReplyMetadata, ReplyWithinThread, RoomMessageEventContent,
    RoomMessageEventContentWithoutRelation,
};
use matrix_sdk::ruma::{OwnedEventId, OwnedTransactionId, OwnedUserId, TransactionId};
use tracing::{debug, warn};

use super::backoff::Backoff;
use super::decide::{Answer, Placement};
use crate::config::MessageType;
use crate::engine::Reply;
use crate::render;
use crate::service::Outcome;
use crate::strings::Strings;

/// Text per event, `body` and `formatted_body` together. Synapse refuses events over 64 KiB,
/// and in an encrypted room the text is carried twice, then base64'd: 20 KiB of Markdown
/// passed and 24 KiB failed on Synapse 1.163. Longer replies go out as several events.
const MAX_EVENT_TEXT: usize = 16 * 1024;

/// Network failures while sending are retried this many times before the answer is dropped
/// (rate limits are retried by the SDK itself, as long as the server asks).
const SEND_ATTEMPTS: u32 = 6;

/// The events answering one question, in order; `strings` are the bot's.
pub fn contents(
    outcome: &Outcome,
    answer: &Answer,
    msgtype: MessageType,
    strings: &Strings,
) -> Vec<RoomMessageEventContent> {
    let texts = match outcome {
        Outcome::Reply(reply) => rendered(reply, strings),
        Outcome::Notice(text) => vec![render::MatrixMessage {
            body: text.clone(),
            formatted_body: escape_html(text),
        }],
        Outcome::Silent => Vec::new(),
    };
    texts
        .into_iter()
        .map(|text| place(message(text, msgtype), answer))
        .collect()
}

/// The reply's messages rendered, joined into as few events as fit.
fn rendered(reply: &Reply, strings: &Strings) -> Vec<render::MatrixMessage> {
    let mut events: Vec<render::MatrixMessage> = Vec::new();
    for bot_message in &reply.messages {
        let labels: Vec<String> = bot_message
            .choices
            .iter()
            .map(|c| c.label.clone())
            .collect();
        let next = render::matrix(
            &bot_message.markdown,
            &labels,
            bot_message.step_label.as_deref(),
            strings,
        );
        if next.body.trim().is_empty() {
            continue;
        }
        match events.last_mut() {
            Some(last)
                if last.body.len()
                    + last.formatted_body.len()
                    + next.body.len()
                    + next.formatted_body.len()
                    <= MAX_EVENT_TEXT =>
            {
                last.body.push_str("\n\n");
                last.body.push_str(&next.body);
                last.formatted_body.push_str(&next.formatted_body);
            }
            _ => events.push(next),
        }
    }
    events
}

fn message(
    text: render::MatrixMessage,
    msgtype: MessageType,
) -> RoomMessageEventContentWithoutRelation {
    match msgtype {
        MessageType::Notice => {
            RoomMessageEventContentWithoutRelation::notice_html(text.body, text.formatted_body)
        }
        MessageType::Text => {
            RoomMessageEventContentWithoutRelation::text_html(text.body, text.formatted_body)
        }
    }
}

/// Where the event goes. `m.mentions` is always set, so clients' legacy keyword push rules
/// never fire on the bot's words; in rooms it names the asker.
fn place(
    content: RoomMessageEventContentWithoutRelation,
    answer: &Answer,
) -> RoomMessageEventContent {
    let question = ReplyMetadata::new(&answer.question, &answer.asker, None);
    match &answer.placement {
        Placement::Plain => content.add_mentions(Mentions::new()).into(),
        Placement::Reply => content.make_reply_to(question, ForwardThread::Yes, AddMentions::Yes),
        Placement::Thread { root } => {
            let thread = Thread::plain(root.clone(), answer.question.clone());
            content.make_for_thread(
                ReplyMetadata::new(&answer.question, &answer.asker, Some(&thread)),
                ReplyWithinThread::Yes,
                AddMentions::Yes,
            )
        }
    }
}

/// The request to send an unreadable message again: plain in a direct chat, elsewhere a reply
/// to that message naming its sender.
pub fn unreadable(
    text: &str,
    msgtype: MessageType,
    event_id: &OwnedEventId,
    sender: &OwnedUserId,
    direct: bool,
) -> RoomMessageEventContent {
    let content = message(
        render::MatrixMessage {
            body: text.to_owned(),
            formatted_body: escape_html(text),
        },
        msgtype,
    );
    if direct {
        content.add_mentions(Mentions::new()).into()
    } else {
        content.make_reply_to(
            ReplyMetadata::new(event_id, sender, None),
            ForwardThread::No,
            AddMentions::Yes,
        )
    }
}

/// A notice for the admin room: the first line as a sentence, the rest (an error report
/// with files and lines) preformatted.
pub fn admin_notice(text: &str) -> RoomMessageEventContent {
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let mut html = format!("<p>{}</p>", escape_html(first));
    if !rest.trim().is_empty() {
        html.push_str(&format!(
            "<pre><code>{}</code></pre>",
            escape_html(rest.trim_end())
        ));
    }
    RoomMessageEventContentWithoutRelation::notice_html(text, html)
        .add_mentions(Mentions::new())
        .into()
}

/// Sends one event. One transaction id for every attempt: if a response is lost after the
/// server stored the event, the retry is recognised as the same event, not sent twice.
pub async fn deliver(
    room: &Room,
    content: RoomMessageEventContent,
) -> Result<OwnedEventId, matrix_sdk::Error> {
    deliver_as(room, content, None).await
}

/// [`deliver`] with the transaction id given (an answer in the outbox keeps its ids across a
/// restart, see `outbox.rs`), or a new one.
pub async fn deliver_as(
    room: &Room,
    content: RoomMessageEventContent,
    transaction: Option<OwnedTransactionId>,
) -> Result<OwnedEventId, matrix_sdk::Error> {
    let transaction = transaction.unwrap_or_else(TransactionId::new);
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(10));
    loop {
        match room
            .send(content.clone())
            .with_transaction_id(transaction.clone())
            .await
        {
            Ok(sent) => return Ok(sent.response.event_id),
            Err(err) if is_network_failure(&err) && backoff.attempts() + 1 < SEND_ATTEMPTS => {
                let delay = backoff.next_delay();
                debug!(error = %err, ?delay, "matrix: send failed, retrying");
                tokio::time::sleep(delay).await;
            }
            Err(err) => {
                warn!(error = %err, "matrix: an answer could not be sent");
                return Err(err);
            }
        }
    }
}

/// Errors worth retrying here: the request did not reach the server or no answer came back.
/// Rate limits and server errors are retried inside the SDK, honouring `retry_after_ms`.
fn is_network_failure(err: &matrix_sdk::Error) -> bool {
    matches!(err, matrix_sdk::Error::Http(http) if matches!(**http, matrix_sdk::HttpError::Reqwest(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Answer as EngineAnswer, AnswerPath, BotMessage, ShownChoice};
    use crate::store::ConversationKey;
    use matrix_sdk::ruma::events::room::message::{MessageType as RumaType, Relation};
    use matrix_sdk::ruma::{owned_event_id, owned_user_id};

    fn answer(placement: Placement) -> Answer {
        Answer {
            key: ConversationKey::new("matrix", "!room", "@ana:localhost"),
            input: crate::engine::Input::Start,
            question: owned_event_id!("$question"),
            asker: owned_user_id!("@ana:localhost"),
            placement,
            edit_of: None,
        }
    }

    fn reply(messages: &[(&str, &[&str])]) -> Outcome {
        Outcome::Reply(Reply {
            messages: messages
                .iter()
                .map(|(markdown, labels)| BotMessage {
                    markdown: (*markdown).into(),
                    choices: labels
                        .iter()
                        .map(|label| ShownChoice {
                            label: (*label).into(),
                            id: (*label).into(),
                        })
                        .collect(),
                    ..BotMessage::default()
                })
                .collect(),
            answer: EngineAnswer::Initial,
            path: AnswerPath::Start,
            score: 0.0,
        })
    }

    fn json(content: &RoomMessageEventContent) -> serde_json::Value {
        serde_json::to_value(content).unwrap()
    }

    #[test]
    fn a_menu_is_a_numbered_list_in_a_notice() {
        let events = contents(
            &reply(&[(
                "**Bonjour** ! Qui êtes-vous ?",
                &["Enseignant", "Direction"],
            )]),
            &answer(Placement::Plain),
            MessageType::Notice,
            &Strings::default(),
        );
        assert_eq!(events.len(), 1);
        let event = json(&events[0]);
        assert_eq!(event["msgtype"], "m.notice");
        assert_eq!(event["format"], "org.matrix.custom.html");
        let html = event["formatted_body"].as_str().unwrap();
        assert!(html.contains("<strong>Bonjour</strong>"), "{html}");
        assert!(
            html.ends_with("<ol><li>Enseignant</li><li>Direction</li></ol>"),
            "{html}"
        );
        let body = event["body"].as_str().unwrap();
        assert!(
            body.contains("1. Enseignant") && body.contains("2. Direction"),
            "{body}"
        );
        // Direct chats: no relation, and an explicit empty `m.mentions`.
        assert!(event.get("m.relates_to").is_none());
        assert_eq!(event["m.mentions"], serde_json::json!({}));
    }

    #[test]
    fn rooms_get_a_rich_reply_mentioning_the_asker() {
        let events = contents(
            &reply(&[("Réponse", &[])]),
            &answer(Placement::Reply),
            MessageType::Text,
            &Strings::default(),
        );
        let event = &events[0];
        assert!(matches!(event.msgtype, RumaType::Text(_)));
        match &event.relates_to {
            Some(Relation::Reply(reply)) => {
                assert_eq!(reply.in_reply_to.event_id, owned_event_id!("$question"));
            }
            other => panic!("{other:?}"),
        }
        let mentions = event.mentions.as_ref().unwrap();
        assert!(
            mentions
                .user_ids
                .contains(&owned_user_id!("@ana:localhost"))
        );
    }

    #[test]
    fn threaded_questions_are_answered_in_their_thread() {
        let events = contents(
            &reply(&[("Réponse", &[])]),
            &answer(Placement::Thread {
                root: owned_event_id!("$root"),
            }),
            MessageType::Notice,
            &Strings::default(),
        );
        match &events[0].relates_to {
            Some(Relation::Thread(thread)) => {
                assert_eq!(thread.event_id, owned_event_id!("$root"));
                assert_eq!(
                    thread.in_reply_to.as_ref().unwrap().event_id,
                    owned_event_id!("$question")
                );
                assert!(!thread.is_falling_back);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn messages_are_joined_until_an_event_would_be_too_large() {
        let short = contents(
            &reply(&[("Première partie", &[]), ("Seconde partie", &["Suite"])]),
            &answer(Placement::Plain),
            MessageType::Notice,
            &Strings::default(),
        );
        assert_eq!(short.len(), 1);
        assert!(
            json(&short[0])["body"]
                .as_str()
                .unwrap()
                .starts_with("Première partie\n\nSeconde partie")
        );

        let long = "mot ".repeat(2_500);
        let long = contents(
            &reply(&[(long.as_str(), &[]), (long.as_str(), &[])]),
            &answer(Placement::Plain),
            MessageType::Notice,
            &Strings::default(),
        );
        assert_eq!(long.len(), 2);
    }

    #[test]
    fn an_admin_notice_keeps_the_error_report_preformatted() {
        let event = json(&admin_notice(
            "Refusée. Erreurs :\nindex.md:3: `endif` sans `if`\n",
        ));
        assert_eq!(event["msgtype"], "m.notice");
        assert_eq!(
            event["formatted_body"],
            "<p>Refusée. Erreurs :</p><pre><code>index.md:3: `endif` sans `if`</code></pre>"
        );
        assert!(json(&admin_notice("Une ligne"))["formatted_body"] == "<p>Une ligne</p>");
    }

    #[test]
    fn a_throttle_notice_is_escaped_and_silence_sends_nothing() {
        let events = contents(
            &Outcome::Notice("Doucement <3".into()),
            &answer(Placement::Plain),
            MessageType::Notice,
            &Strings::default(),
        );
        assert_eq!(json(&events[0])["formatted_body"], "Doucement &lt;3");
        assert!(
            contents(
                &Outcome::Silent,
                &answer(Placement::Plain),
                MessageType::Notice,
                &Strings::default()
            )
            .is_empty()
        );
    }
}
