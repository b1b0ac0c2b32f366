//! The gateway: a websocket per connection, Discord's opcodes, sessions with sequence numbers
//! and replay on RESUME, and the dispatches the fake produces (messages, interactions), each
//! checked with serenity's `GatewayEvent` before it is sent.

use std::io::Write;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::{
    Connection, FakeInteraction, FakeMessage, Live, Outbound, Session, Shared, State, wire,
};

/// Gateway intent bits the fake applies.
pub mod intents {
    pub const GUILDS: u64 = 1 << 0;
    pub const GUILD_MESSAGES: u64 = 1 << 9;
    pub const DIRECT_MESSAGES: u64 = 1 << 12;
    /// Privileged: without it, guild messages arrive blank (DMs, mentions of the bot and the
    /// bot's own messages excepted).
    pub const MESSAGE_CONTENT: u64 = 1 << 15;
}

pub async fn serve(shared: Arc<Shared>, listener: TcpListener) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(connection(shared.clone(), stream));
    }
}

/// Per-socket state.
struct Socket {
    number: usize,
    identified: bool,
    tx: mpsc::UnboundedSender<Outbound>,
}

async fn connection(shared: Arc<Shared>, stream: TcpStream) {
    let uri = Arc::new(Mutex::new(String::new()));
    let seen = uri.clone();
    // The signature is tungstenite's handshake callback.
    #[allow(clippy::result_large_err)]
    let callback = move |request: &Request, response: Response| {
        if let Ok(mut uri) = seen.lock() {
            *uri = request.uri().to_string();
        }
        Ok(response)
    };
    let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let uri = uri.lock().map(|u| u.clone()).unwrap_or_default();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let number = shared.mutate(|s| {
        s.connections.push(Connection {
            uri,
            identified: false,
            resumed: false,
            closed_with: None,
        });
        s.connections.len() - 1
    });
    let mut socket = Socket {
        number,
        identified: false,
        tx,
    };
    let (mut sink, mut stream) = ws.split();
    let hello = json!({"op": 10, "s": null, "t": null, "d": {
        "heartbeat_interval": shared.config.heartbeat_interval.as_millis() as u64,
    }});
    if sink.send(Frame::Text(hello.to_string())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(Frame::Text(text))) => received(&shared, &mut socket, &text),
                Some(Ok(Frame::Binary(_))) => {
                    // Discord closes on a binary payload when ETF was not negotiated.
                    let _ = socket.tx.send(Outbound::Close(4002, "Error while decoding payload.".into()));
                }
                Some(Ok(Frame::Close(frame))) => {
                    // A normal close (1000, 1001) ends the session on Discord: no resume.
                    let code = frame.map(|f| u16::from(f.code));
                    if matches!(code, Some(1000 | 1001)) {
                        shared.mutate(|s| {
                            if s.live.as_ref().is_some_and(|l| l.connection == number) {
                                forget_current_session(s);
                            }
                        });
                    }
                    // Flushes tungstenite's queued close reply, as Discord answers a close.
                    let _ = sink.close().await;
                    break;
                }
                None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            out = rx.recv() => match out {
                Some(Outbound::Text(text)) => {
                    if sink.send(Frame::Text(text)).await.is_err() {
                        break;
                    }
                }
                Some(Outbound::Binary(bytes)) => {
                    if sink.send(Frame::Binary(bytes)).await.is_err() {
                        break;
                    }
                }
                Some(Outbound::Close(code, reason)) => {
                    shared.mutate(|s| s.connections[number].closed_with = Some(code));
                    let frame = CloseFrame { code: CloseCode::from(code), reason: reason.into() };
                    let _ = sink.send(Frame::Close(Some(frame))).await;
                    break;
                }
                Some(Outbound::Drop) | None => break,
            },
        }
    }
    shared.mutate(|s| {
        if s.live.as_ref().is_some_and(|l| l.connection == number) {
            s.live = None;
        }
    });
}

/// One payload from the bot.
fn received(shared: &Shared, socket: &mut Socket, text: &str) {
    let Ok(payload) = serde_json::from_str::<Value>(text) else {
        let _ = socket.tx.send(Outbound::Close(
            4002,
            "Error while decoding payload.".into(),
        ));
        return;
    };
    shared.mutate(|s| {
        s.frames.push((socket.number, payload.clone()));
        match payload["op"].as_u64() {
            Some(1) => {
                if s.heartbeat_acks {
                    let _ = socket
                        .tx
                        .send(Outbound::Text(r#"{"op":11,"d":null}"#.into()));
                }
            }
            Some(2) => identify(shared, s, socket, &payload["d"]),
            Some(6) => resume(shared, s, socket, &payload["d"]),
            // Presence, voice state, guild members, soundboard: accepted, recorded.
            Some(3 | 4 | 8 | 31) => {}
            _ => {
                let _ = socket
                    .tx
                    .send(Outbound::Close(4001, "Unknown opcode.".into()));
            }
        }
    });
}

fn token_ok(shared: &Shared, d: &Value) -> bool {
    let token = d["token"].as_str().unwrap_or_default();
    token.strip_prefix("Bot ").unwrap_or(token) == shared.config.token
}

fn identify(shared: &Shared, s: &mut State, socket: &mut Socket, d: &Value) {
    let close = |code: u16, reason: &str| {
        let _ = socket.tx.send(Outbound::Close(code, reason.into()));
    };
    if socket.identified {
        return close(4005, "Already authenticated.");
    }
    if !token_ok(shared, d) {
        return close(4004, "Authentication failed.");
    }
    let Some(intents) = d["intents"].as_u64() else {
        return close(4013, "Invalid intent(s).");
    };
    if intents & intents::MESSAGE_CONTENT != 0 && !shared.config.message_content_allowed {
        return close(4014, "Disallowed intent(s).");
    }
    socket.identified = true;
    s.connections[socket.number].identified = true;
    let session = format!("{:032x}", s.new_id() ^ nanos());
    s.sessions.push(Session {
        id: session.clone(),
        intents,
        seq: 0,
        sent: Vec::new(),
    });
    s.current_session = Some(session.clone());
    s.live = Some(Live {
        connection: socket.number,
        session: session.clone(),
        tx: socket.tx.clone(),
    });
    let ready = json!({
        "v": 10,
        "user": {
            "id": s.bot.id.to_string(),
            "username": s.bot.name,
            "discriminator": "0",
            "global_name": null,
            "avatar": null,
            "bot": true,
            "verified": true,
            "mfa_enabled": false,
            "flags": 0,
        },
        "guilds": s.guilds.iter().map(|g| json!({"id": g.to_string(), "unavailable": true})).collect::<Vec<_>>(),
        "session_id": session,
        "resume_gateway_url": shared.ws_url,
        "shard": [0, 1],
        "application": {"id": s.bot.id.to_string(), "flags": 0},
    });
    // Discord may compress any payload when asked to: READY, the largest, exercises the
    // client's inflate path.
    let compress = d["compress"].as_bool() == Some(true);
    dispatch_with(s, "READY", ready, compress);
}

fn resume(shared: &Shared, s: &mut State, socket: &mut Socket, d: &Value) {
    if !token_ok(shared, d) {
        let _ = socket
            .tx
            .send(Outbound::Close(4004, "Authentication failed.".into()));
        return;
    }
    let id = d["session_id"].as_str().unwrap_or_default().to_owned();
    let seq = d["seq"].as_u64().unwrap_or(0);
    let Some(session) = s.sessions.iter().find(|x| x.id == id) else {
        // Not resumable: the client must identify again.
        let _ = socket
            .tx
            .send(Outbound::Text(r#"{"op":9,"d":false}"#.into()));
        return;
    };
    let from = seq.saturating_sub(std::mem::take(&mut s.replay_overlap));
    // Session events themselves are never replayed.
    let missed: Vec<Value> = session
        .sent
        .iter()
        .filter(|(n, frame)| *n > from && frame["t"] != "READY" && frame["t"] != "RESUMED")
        .map(|(_, frame)| frame.clone())
        .collect();
    socket.identified = true;
    s.connections[socket.number].resumed = true;
    s.current_session = Some(id.clone());
    s.live = Some(Live {
        connection: socket.number,
        session: id,
        tx: socket.tx.clone(),
    });
    for frame in missed {
        let _ = socket.tx.send(Outbound::Text(frame.to_string()));
        s.replayed.push(frame);
    }
    dispatch(s, "RESUMED", json!({}));
}

/// Ends the current session: a later RESUME of it gets op 9 `d: false`.
pub fn forget_current_session(s: &mut State) {
    if let Some(current) = s.current_session.take() {
        s.sessions.retain(|x| x.id != current);
    }
}

fn nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Sends a dispatch to the current session (buffered for replay; sent if a socket is live).
pub fn dispatch(s: &mut State, event: &str, d: Value) {
    dispatch_with(s, event, d, false);
}

fn dispatch_with(s: &mut State, event: &str, d: Value, compress: bool) {
    let Some(current) = s.current_session.clone() else {
        return;
    };
    let Some(session) = s.sessions.iter_mut().find(|x| x.id == current) else {
        return;
    };
    session.seq += 1;
    let frame = json!({"op": 0, "s": session.seq, "t": event, "d": d});
    session.sent.push((session.seq, frame.clone()));
    let text = frame.to_string();
    // serenity drops an event it cannot read with only a log line: catch it here instead.
    if let Err(error) = serde_json::from_str::<serenity::model::event::GatewayEvent>(&text) {
        s.violations.push(format!(
            "serenity cannot read the {event} dispatch: {error}\n{text}"
        ));
    }
    s.dispatches.push(frame);
    if let Some(live) = s.live.as_ref().filter(|l| l.session == current) {
        let out = if compress {
            let mut encoder =
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            match encoder
                .write_all(text.as_bytes())
                .and_then(|()| encoder.finish())
            {
                Ok(bytes) => Outbound::Binary(bytes),
                Err(_) => Outbound::Text(text),
            }
        } else {
            Outbound::Text(text)
        };
        let _ = live.tx.send(out);
    }
}

fn session_intents(s: &State) -> u64 {
    s.current_session
        .as_ref()
        .and_then(|id| s.sessions.iter().find(|x| &x.id == id))
        .map_or(0, |x| x.intents)
}

/// MESSAGE_CREATE or MESSAGE_UPDATE for `m`, as the bot's intents allow: guild messages need
/// GUILD_MESSAGES, DMs DIRECT_MESSAGES; without MESSAGE_CONTENT a guild message that does not
/// mention the bot (and is not its own) comes with its content and components blanked.
/// Ephemeral messages are never dispatched.
pub fn dispatch_message(s: &mut State, event: &str, m: &FakeMessage) {
    if m.only_for.is_some() {
        return;
    }
    let intents = session_intents(s);
    let in_guild = s
        .channels
        .get(&m.channel_id)
        .is_some_and(|c| c.guild_id.is_some());
    let needed = if in_guild {
        intents::GUILD_MESSAGES
    } else {
        intents::DIRECT_MESSAGES
    };
    if intents & needed == 0 {
        return;
    }
    // A channel the bot cannot view sends it nothing.
    if in_guild && s.bot_permissions(m.channel_id) & crate::permissions::VIEW_CHANNEL == 0 {
        return;
    }
    let mut payload = wire::message(s, m, true);
    let exempt = !in_guild || m.author_id == s.bot.id || m.mentions.contains(&s.bot.id);
    if intents & intents::MESSAGE_CONTENT == 0 && !exempt {
        payload["content"] = json!("");
        payload["embeds"] = json!([]);
        payload["attachments"] = json!([]);
        payload["components"] = json!([]);
    }
    dispatch(s, event, payload);
}

/// Creates an interaction and dispatches INTERACTION_CREATE (kind 2: command, 3: component).
/// Returns its id.
pub fn dispatch_interaction(
    s: &mut State,
    kind: u8,
    user: u64,
    channel: u64,
    message: Option<u64>,
    data: Value,
) -> u64 {
    let id = s.new_id();
    let token = format!("itoken-{id}-{:x}", nanos());
    s.interactions.push(FakeInteraction {
        id,
        token: token.clone(),
        kind,
        user_id: user,
        channel_id: channel,
        message_id: message,
        created: s.now(),
        response: None,
        responded_after: None,
        response_message: None,
        refused: Vec::new(),
    });
    let guild = s.channels.get(&channel).and_then(|c| c.guild_id);
    let mut payload = json!({
        "id": id.to_string(),
        "application_id": s.bot.id.to_string(),
        "type": kind,
        "token": token,
        "version": 1,
        "channel_id": channel.to_string(),
        "channel": {"id": channel.to_string(), "type": if guild.is_some() { 0 } else { 1 }},
        "data": data,
        "locale": "fr",
        "entitlements": [],
        "attachment_size_limit": 10_485_760,
        "app_permissions": s.bot_permissions(channel).to_string(),
        // Installed to the guild, or to the user for a DM.
        "authorizing_integration_owners": match guild {
            Some(guild) => json!({"0": guild.to_string()}),
            None => json!({"1": user.to_string()}),
        },
        "context": if guild.is_some() { 0 } else { 1 },
    });
    match guild {
        Some(guild) => {
            payload["guild_id"] = json!(guild.to_string());
            payload["guild_locale"] = json!("fr");
            payload["member"] = wire::member(s, user);
        }
        None => {
            payload["user"] = wire::user(s.user(user).unwrap_or(&s.bot));
        }
    }
    if let Some(message) = message.and_then(|m| s.message(m)) {
        payload["message"] = wire::message(s, message, false);
    }
    dispatch(s, "INTERACTION_CREATE", payload);
    id
}
