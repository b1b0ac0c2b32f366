//! Discord's JSON shapes, as serenity 0.12.5 reads them: snowflakes as strings, RFC 3339
//! timestamps, and the fields serenity requires even where Discord's docs call them optional.

use serde_json::{Value, json};

use crate::{FakeMessage, State, User};

pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "2025-01-01T00:00:00Z".to_owned())
}

pub fn user(user: &User) -> Value {
    json!({
        "id": user.id.to_string(),
        "username": user.name,
        "discriminator": "0",
        "global_name": user.name,
        "avatar": null,
        "bot": user.bot,
    })
}

fn user_of(state: &State, id: u64) -> Value {
    state.user(id).map_or_else(
        || {
            user(&User {
                id,
                name: format!("user{id}"),
                bot: false,
            })
        },
        user,
    )
}

/// A guild member wrapper for `user`, as in interactions (with permissions).
pub fn member(state: &State, id: u64) -> Value {
    json!({
        "user": user_of(state, id),
        "roles": [],
        "joined_at": now(),
        "deaf": false,
        "mute": false,
        "flags": 0,
        "permissions": "2248473465835073",
    })
}

/// A message. `gateway`: as dispatched (with `guild_id` and `member` in guilds); REST answers
/// carry neither, like Discord's.
pub fn message(state: &State, m: &FakeMessage, gateway: bool) -> Value {
    let mut flags = 0;
    if m.only_for.is_some() {
        flags |= 64;
    }
    if m.loading {
        flags |= 128;
    }
    let mut value = json!({
        "id": m.id.to_string(),
        "channel_id": m.channel_id.to_string(),
        "author": user_of(state, m.author_id),
        "content": m.content,
        "timestamp": m.timestamp,
        "edited_timestamp": if m.edits > 0 { Value::String(now()) } else { Value::Null },
        "tts": false,
        "mention_everyone": false,
        "mentions": m.mentions.iter().map(|id| user_of(state, *id)).collect::<Vec<_>>(),
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": false,
        "type": message_type(state, m),
        "flags": flags,
        "components": m.components,
    });
    if m.interaction.is_some() || m.author_id == state.bot.id {
        value["application_id"] = json!(state.bot.id.to_string());
    }
    if let Some(to) = m.reference {
        value["message_reference"] = json!({
            "type": 0,
            "message_id": to.to_string(),
            "channel_id": m.channel_id.to_string(),
        });
        value["referenced_message"] = state
            .message(to)
            .map_or(Value::Null, |r| message(state, r, false));
    }
    if let Some(interaction) = m.interaction
        && let Some(i) = state.interactions.iter().find(|i| i.id == interaction)
    {
        value["interaction_metadata"] = json!({
            "id": i.id.to_string(),
            "type": i.kind,
            "user": user_of(state, i.user_id),
            "authorizing_integration_owners": {},
        });
        // A follow-up of a click names the message whose button was clicked.
        if let Some(clicked) = i.message_id {
            value["interaction_metadata"]["interacted_message_id"] = json!(clicked.to_string());
        }
    }
    let guild = state.channels.get(&m.channel_id).and_then(|c| c.guild_id);
    if gateway && let Some(guild) = guild {
        value["guild_id"] = json!(guild.to_string());
        value["member"] = json!({
            "roles": [],
            "joined_at": now(),
            "deaf": false,
            "mute": false,
            "flags": 0,
        });
    }
    value
}

/// 19 for a reply, 20 for a slash command's answer, 0 otherwise.
fn message_type(state: &State, m: &FakeMessage) -> u8 {
    let command = m
        .interaction
        .and_then(|id| state.interactions.iter().find(|i| i.id == id))
        .is_some_and(|i| i.kind == 2);
    if m.reference.is_some() {
        19
    } else if command {
        20
    } else {
        0
    }
}

/// The user ids in `<@id>` and `<@!id>` mentions.
pub fn parse_mentions(content: &str) -> Vec<u64> {
    let mut found = Vec::new();
    let mut rest = content;
    while let Some(start) = rest.find("<@") {
        rest = &rest[start + 2..];
        let digits_from = usize::from(rest.starts_with('!'));
        let tail = &rest[digits_from..];
        let end = tail.find('>').unwrap_or(0);
        if end > 0
            && let Ok(id) = tail[..end].parse::<u64>()
            && !found.contains(&id)
        {
            found.push(id);
        }
    }
    found
}

/// A Discord error body.
pub fn error(code: u64, message: &str) -> Value {
    json!({"code": code, "message": message})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions() {
        assert_eq!(parse_mentions("<@12> et <@!34> <@&56> <@12>"), [12, 34]);
        assert!(parse_mentions("<@> <@x> <@").is_empty());
    }
}
