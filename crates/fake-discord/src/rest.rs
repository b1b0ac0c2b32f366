//! The REST API under `/api/v10`: the routes a bot with messages, buttons and slash commands
//! uses, each recorded, with Discord's checks (permissions, rate limits, limits) and error
//! bodies. Anything else is 404 with code 0, recorded, so a test can assert there was no
//! unexpected call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as Extract;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::gateway::dispatch_message;
use crate::permissions::{READ_MESSAGE_HISTORY, SEND_MESSAGES, VIEW_CHANNEL};
use crate::rules::{self, FormError};
use crate::tls::TlsListener;
use crate::{Command, FakeMessage, RestCall, Shared, State, wire};

pub async fn serve(shared: Arc<Shared>, listener: TcpListener) {
    let app = Router::new()
        .fallback(handle)
        .with_state(Served { shared, tls: false });
    let _ = axum::serve(listener, app).await;
}

/// The same routes over HTTPS, as `discord.com` ([`crate::tls`]).
pub async fn serve_tls(shared: Arc<Shared>, listener: TlsListener) {
    let app = Router::new()
        .fallback(handle)
        .with_state(Served { shared, tls: true });
    let _ = axum::serve(listener, app).await;
}

/// The fake, and which listener a request came through.
#[derive(Clone)]
struct Served {
    shared: Arc<Shared>,
    tls: bool,
}

/// A route's answer: status, JSON body (none for 204) and extra headers.
struct Answer {
    status: u16,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
}

fn ok(body: Value) -> Answer {
    Answer {
        status: 200,
        body: Some(body),
        headers: Vec::new(),
    }
}

fn no_content() -> Answer {
    Answer {
        status: 204,
        body: None,
        headers: Vec::new(),
    }
}

fn refuse(status: u16, code: u64, message: &str) -> Answer {
    Answer {
        status,
        body: Some(wire::error(code, message)),
        headers: Vec::new(),
    }
}

/// Whose limit a 429 enforces, as `X-RateLimit-Scope` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// The bot's 50 requests a second over all routes.
    Global,
    /// The bot's own bucket for the route, announced beforehand in `X-RateLimit-*` headers:
    /// a client that reads them need never meet it.
    User,
    /// A resource shared with others (a busy channel): no header warns of it.
    Shared,
}

/// Discord's 429: the body says how long to wait (seconds, fractional) and whether the limit
/// is global; `Retry-After` says it too (whole seconds, rounded up), and `X-RateLimit-Scope`
/// whose limit it is.
fn rate_limited(retry_after: Duration, scope: Scope) -> Answer {
    let global = scope == Scope::Global;
    let seconds = retry_after.as_secs_f64().max(0.001);
    let scope = match scope {
        Scope::Global => "global",
        Scope::User => "user",
        Scope::Shared => "shared",
    };
    let mut headers = vec![
        ("retry-after", format!("{}", seconds.ceil() as u64)),
        ("x-ratelimit-scope", scope.to_owned()),
    ];
    if global {
        headers.push(("x-ratelimit-global", "true".to_owned()));
    }
    Answer {
        status: 429,
        body: Some(json!({
            "message": "You are being rate limited.",
            "retry_after": (seconds * 1000.0).round() / 1000.0,
            "global": global,
        })),
        headers,
    }
}

fn form(error: &FormError) -> Answer {
    Answer {
        status: 400,
        body: Some(error.body()),
        headers: Vec::new(),
    }
}

/// The rate-limit bucket of a route: its method and path with ids replaced, keeping the
/// major parameter (the channel, guild, or webhook and token) as Discord counts per major.
/// `None`: interaction callbacks, which are not rate limited per route.
fn bucket(method: &Method, segments: &[&str]) -> Option<String> {
    if segments.first() == Some(&"interactions") {
        return None;
    }
    let major = match segments {
        ["channels" | "guilds", ..] => 2,
        ["webhooks", ..] => 3,
        _ => 0,
    };
    let template: Vec<&str> = segments
        .iter()
        .enumerate()
        .map(|(i, seg)| {
            if i >= major && seg.chars().all(|c| c.is_ascii_digit()) && !seg.is_empty() {
                ":id"
            } else {
                seg
            }
        })
        .collect();
    Some(format!("{method} /{}", template.join("/")))
}

/// The bucket's name as `X-RateLimit-Bucket` shows it: the same for every major.
fn bucket_hash(method: &Method, segments: &[&str]) -> String {
    let shape: String = segments
        .iter()
        .map(|seg| {
            if seg.chars().all(|c| c.is_ascii_digit()) {
                ":id"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in format!("{method} {shape}").bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Counts a request against the global limit and its route's bucket: `Err` with the 429 when
/// one is exhausted (the request is not performed), else the `X-RateLimit-*` headers to send.
fn take_rate_limit(
    shared: &Shared,
    s: &mut State,
    method: &Method,
    segments: &[&str],
) -> Result<Vec<(&'static str, String)>, Answer> {
    let now = Instant::now();
    let config = &shared.config;
    // Interaction endpoints are not bound to the global limit.
    let interaction = matches!(segments.first(), Some(&"interactions" | &"webhooks"));
    if !interaction {
        if now >= s.global.1 {
            s.global = (0, now + config.global_window);
        }
        if s.global.0 >= config.global_limit {
            return Err(rate_limited(s.global.1 - now, Scope::Global));
        }
        s.global.0 += 1;
    }
    let Some(key) = bucket(method, segments) else {
        return Ok(Vec::new());
    };
    let entry = s
        .buckets
        .entry(key)
        .or_insert((config.route_limit, now + config.route_window));
    if now >= entry.1 {
        *entry = (config.route_limit, now + config.route_window);
    }
    let reset_after = entry.1 - now;
    if entry.0 == 0 {
        return Err(rate_limited(reset_after, Scope::User));
    }
    entry.0 -= 1;
    let reset_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        + reset_after;
    Ok(vec![
        ("x-ratelimit-limit", config.route_limit.to_string()),
        ("x-ratelimit-remaining", entry.0.to_string()),
        (
            "x-ratelimit-reset",
            format!("{:.3}", reset_at.as_secs_f64()),
        ),
        // Rounded up to the millisecond, as a client that waits exactly this long must find
        // the bucket refilled.
        (
            "x-ratelimit-reset-after",
            format!(
                "{:.3}",
                (reset_after.as_secs_f64() * 1000.0).ceil() / 1000.0
            ),
        ),
        ("x-ratelimit-bucket", bucket_hash(method, segments)),
    ])
}

async fn handle(
    Extract(Served { shared, tls }): Extract<Served>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let authorization = header(header::AUTHORIZATION);
    let user_agent = header(header::USER_AGENT);
    let host = header(header::HOST);
    let content_type = header(header::CONTENT_TYPE).unwrap_or_default();
    let json: Option<Value> = if body.is_empty() {
        None
    } else {
        serde_json::from_slice(&body).ok()
    };
    let path = uri.path().to_owned();
    let answer = shared.mutate(|s| {
        if content_type.starts_with("multipart/") {
            s.violations.push(format!(
                "{method} {path}: multipart bodies (files) are not modelled"
            ));
        }
        let authorized = authorization
            .as_deref()
            .and_then(|a| a.strip_prefix("Bot "))
            == Some(shared.config.token.as_str());
        let answer = route(
            &shared,
            s,
            &method,
            &path,
            uri.query(),
            authorized,
            json.as_ref(),
        );
        s.rest_calls.push(RestCall {
            method: method.to_string(),
            path: path.clone(),
            query: uri.query().map(str::to_owned),
            authorization,
            user_agent,
            host,
            tls,
            body: json,
            status: answer.status,
            rate_limit_scope: answer
                .headers
                .iter()
                .find(|(name, _)| *name == "x-ratelimit-scope")
                .map(|(_, scope)| scope.clone()),
            error_code: answer
                .body
                .as_ref()
                .and_then(|b| b.get("code"))
                .and_then(Value::as_u64),
            at: s.now(),
            retry_after: answer
                .body
                .as_ref()
                .and_then(|b| b.get("retry_after"))
                .and_then(Value::as_f64)
                .map(Duration::from_secs_f64),
        });
        answer
    });
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match answer.body {
        Some(body) => (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response(),
        None => status.into_response(),
    };
    for (name, value) in answer.headers {
        if let Ok(value) = header::HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(header::HeaderName::from_static(name), value);
        }
    }
    response
}

fn route(
    shared: &Shared,
    s: &mut State,
    method: &Method,
    path: &str,
    query: Option<&str>,
    authorized: bool,
    body: Option<&Value>,
) -> Answer {
    let Some(rest) = path.strip_prefix("/api/v10/") else {
        return refuse(404, 0, "404: Not Found");
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let empty = Value::Null;
    let body = body.unwrap_or(&empty);
    // `GET /gateway` needs no authentication: a bad token shows on the gateway (4004).
    if method == Method::GET && segments == ["gateway"] {
        return ok(json!({"url": shared.ws_url}));
    }
    // Interaction callbacks and webhooks authenticate by their token, not the bot's.
    let token_routes = matches!(segments.first(), Some(&"interactions" | &"webhooks"));
    if !token_routes && !authorized {
        return refuse(401, 0, "401: Unauthorized");
    }
    let headers = match take_rate_limit(shared, s, method, &segments) {
        Ok(headers) => headers,
        Err(limited) => return limited,
    };
    let mut answer = if method == Method::GET
        && let ["channels", channel, "messages"] = segments.as_slice()
    {
        match channel.parse::<u64>() {
            Ok(channel) if s.channels.contains_key(&channel) => {
                list_messages(shared, s, channel, query)
            }
            _ => refuse(404, 10003, "Unknown Channel"),
        }
    } else {
        authorized_route(shared, s, method, &segments, body)
    };
    answer.headers.extend(headers);
    answer
}

/// What the bot may not do in `channel`: 403 with Discord's code, or `None`.
fn forbidden(s: &State, channel: u64, needed: u64) -> Option<Answer> {
    let has = s.bot_permissions(channel);
    if has & VIEW_CHANNEL == 0 {
        return Some(refuse(403, 50001, "Missing Access"));
    }
    if needed & !has != 0 {
        return Some(refuse(403, 50013, "Missing Permissions"));
    }
    None
}

fn authorized_route(
    shared: &Shared,
    s: &mut State,
    method: &Method,
    segments: &[&str],
    body: &Value,
) -> Answer {
    let id = |i: usize| segments.get(i).and_then(|s| s.parse::<u64>().ok());
    match (method.as_str(), segments) {
        ("GET", ["gateway", "bot"]) => ok(json!({
            "url": shared.ws_url,
            "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
        })),
        ("GET", ["users", "@me"]) => ok(wire::user(&s.bot)),
        ("POST", ["users", "@me", "channels"]) => {
            let recipient = body["recipient_id"]
                .as_str()
                .and_then(|r| r.parse::<u64>().ok())
                .filter(|r| s.users.get(r).is_some_and(|u| !u.bot));
            match recipient {
                Some(user) => {
                    let channel = s.dm_channel(user);
                    let recipient = s.user(user).map(wire::user).unwrap_or(Value::Null);
                    ok(json!({
                        "id": channel.to_string(),
                        "type": 1,
                        "last_message_id": null,
                        "recipients": [recipient],
                    }))
                }
                None => refuse(400, 50007, "Cannot send messages to this user"),
            }
        }
        ("POST", ["channels", _, "typing"]) => match id(1) {
            Some(c) if s.channels.contains_key(&c) => {
                forbidden(s, c, SEND_MESSAGES).unwrap_or_else(no_content)
            }
            _ => refuse(404, 10003, "Unknown Channel"),
        },
        ("POST", ["channels", _, "messages"]) if s.rate_limited_posts > 0 => {
            s.rate_limited_posts -= 1;
            rate_limited(Duration::from_millis(200), Scope::Shared)
        }
        ("POST", ["channels", _, "messages"]) => match id(1) {
            Some(c) if s.channels.contains_key(&c) => {
                let replying = body["message_reference"]["message_id"].is_string();
                if let Some(refused) = forbidden(s, c, SEND_MESSAGES) {
                    refused
                } else if replying && s.bot_permissions(c) & READ_MESSAGE_HISTORY == 0 {
                    refuse(
                        403,
                        160_002,
                        "Cannot reply without permission to read message history",
                    )
                } else {
                    create_message(s, c, body)
                }
            }
            _ => refuse(404, 10003, "Unknown Channel"),
        },
        ("GET", ["channels", _, "messages", _]) => match id(3).and_then(|m| s.message(m)) {
            Some(m) if m.only_for.is_none() => {
                let m = m.id;
                match forbidden(s, id(1).unwrap_or(0), READ_MESSAGE_HISTORY) {
                    Some(refused) => refused,
                    None => checked_message(s, m),
                }
            }
            _ => refuse(404, 10008, "Unknown Message"),
        },
        ("PATCH", ["channels", _, "messages", _])
            if forbidden(s, id(1).unwrap_or(0), 0).is_some() =>
        {
            forbidden(s, id(1).unwrap_or(0), 0).unwrap_or_else(no_content)
        }
        ("PATCH", ["channels", _, "messages", _]) => match id(3).and_then(|m| s.message(m)) {
            Some(m) if m.author_id != s.bot.id => {
                refuse(403, 50005, "Cannot edit a message authored by another user")
            }
            Some(m) if m.only_for.is_none() => {
                let m = m.id;
                edit_message(s, m, body)
            }
            _ => refuse(404, 10008, "Unknown Message"),
        },
        ("POST", ["interactions", _, token, "callback"]) => match id(1) {
            Some(interaction) => callback(shared, s, interaction, token, body),
            None => refuse(404, 10062, "Unknown interaction"),
        },
        (_, ["webhooks", ..]) if s.rate_limited_webhook_calls > 0 => {
            s.rate_limited_webhook_calls -= 1;
            rate_limited(Duration::from_millis(300), Scope::Shared)
        }
        (verb, ["webhooks", _, token, "messages", which]) => {
            let original = match webhook_message(shared, s, token, which) {
                Ok(original) => original,
                Err(refused) => return refused,
            };
            match verb {
                "GET" => checked_message(s, original),
                "PATCH" => edit_message(s, original, body),
                "DELETE" => {
                    s.messages.retain(|m| m.id != original);
                    no_content()
                }
                _ => refuse(405, 0, "405: Method Not Allowed"),
            }
        }
        ("POST", ["webhooks", _, token]) => followup(shared, s, token, body),
        ("PUT", ["applications", _, "commands"]) => put_commands(s, None, body),
        ("PUT", ["applications", _, "guilds", _, "commands"]) => match id(3) {
            Some(g) if s.guilds.contains(&g) => put_commands(s, Some(g), body),
            _ => refuse(403, 50001, "Missing Access"),
        },
        ("GET", ["applications", _, "commands"]) => ok(commands_json(s, None)),
        ("GET", ["applications", _, "guilds", _, "commands"]) => {
            let guild = id(3);
            ok(commands_json(s, guild))
        }
        _ => refuse(404, 0, "404: Not Found"),
    }
}

/// `GET /channels/{id}/messages`, as Discord documents it: at most `limit` messages (1 to 100,
/// 50 by default) after, before or around a message (one of the three at most), newest
/// first; View Channel needed (403), and without Read Message History no message at all (an
/// empty list, not an error). Without the Message Content intent in the portal, guild
/// messages come blank but for the same exemptions as on the gateway.
fn list_messages(shared: &Shared, s: &mut State, channel: u64, query: Option<&str>) -> Answer {
    if let Some(refused) = forbidden(s, channel, 0) {
        return refused;
    }
    let mut limit = 50;
    let mut anchor = None;
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let number = value.parse::<u64>();
        let invalid = |code: &'static str, message: &str| {
            form(&FormError {
                path: name.to_owned(),
                code,
                message: message.to_owned(),
            })
        };
        match (name, number) {
            ("limit", Ok(n)) if (1..=100).contains(&n) => limit = n as usize,
            ("limit", Ok(_)) => {
                return invalid("NUMBER_TYPE_MAX", "int value should be between 1 and 100.");
            }
            ("before" | "after" | "around", Ok(id)) => {
                if anchor.is_some() {
                    return invalid(
                        "BASE_TYPE_BAD_COMBINATION",
                        "before, after and around are mutually exclusive.",
                    );
                }
                anchor = Some((name, id));
            }
            ("limit" | "before" | "after" | "around", Err(_)) => {
                return invalid("NUMBER_TYPE_COERCE", "Value is not a snowflake.");
            }
            _ => {}
        }
    }
    if s.bot_permissions(channel) & READ_MESSAGE_HISTORY == 0 {
        return ok(json!([]));
    }
    let mut ids: Vec<u64> = s
        .messages
        .iter()
        .filter(|m| m.channel_id == channel && m.only_for.is_none())
        .map(|m| m.id)
        .collect();
    ids.sort_unstable();
    let chosen: Vec<u64> = match anchor {
        // The `limit` messages right after the anchor.
        Some(("after", id)) => ids.into_iter().filter(|m| *m > id).take(limit).collect(),
        Some(("around", id)) => {
            let at = ids.partition_point(|m| *m < id);
            let start = at.saturating_sub(limit / 2);
            ids.into_iter().skip(start).take(limit).collect()
        }
        // `before`, or nothing: the latest `limit` messages (before the anchor).
        _ => {
            let before = anchor.map_or(u64::MAX, |(_, id)| id);
            let older: Vec<u64> = ids.into_iter().filter(|m| *m < before).collect();
            let skip = older.len().saturating_sub(limit);
            older.into_iter().skip(skip).collect()
        }
    };
    let content_allowed = shared.config.message_content_allowed;
    let in_guild = s
        .channels
        .get(&channel)
        .is_some_and(|c| c.guild_id.is_some());
    let bot = s.bot.id;
    let mut list = Vec::new();
    for id in chosen.into_iter().rev() {
        let Some(m) = s.message(id) else { continue };
        let mut value = wire::message(s, m, false);
        let exempt = !in_guild || m.author_id == bot || m.mentions.contains(&bot);
        if !content_allowed && !exempt {
            value["content"] = json!("");
            value["embeds"] = json!([]);
            value["attachments"] = json!([]);
            value["components"] = json!([]);
        }
        list.push(value);
    }
    let value = Value::Array(list);
    if let Err(error) =
        serde_json::from_value::<Vec<serenity::model::channel::Message>>(value.clone())
    {
        s.violations.push(format!(
            "serenity cannot read the messages we return: {error}"
        ));
    }
    ok(value)
}

/// The message as a REST answer, checked with serenity's `Message` first.
fn checked_message(s: &mut State, id: u64) -> Answer {
    let Some(m) = s.message(id) else {
        return refuse(404, 10008, "Unknown Message");
    };
    let value = wire::message(s, m, false);
    if let Err(error) = serde_json::from_value::<serenity::model::channel::Message>(value.clone()) {
        s.violations.push(format!(
            "serenity cannot read a message we return: {error}\n{value}"
        ));
    }
    ok(value)
}

fn new_message(s: &mut State, channel: u64, body: &Value) -> FakeMessage {
    let id = s.new_id();
    let content = body["content"].as_str().unwrap_or_default().to_owned();
    let reference = body["message_reference"]["message_id"]
        .as_str()
        .and_then(|m| m.parse().ok());
    FakeMessage {
        id,
        channel_id: channel,
        author_id: s.bot.id,
        mentions: mentions_allowed(s, &content, body.get("allowed_mentions")),
        content,
        components: body
            .get("components")
            .cloned()
            .filter(|c| !c.is_null())
            .unwrap_or_else(|| json!([])),
        only_for: None,
        reference,
        allowed_mentions: body.get("allowed_mentions").cloned(),
        loading: false,
        interaction: None,
        edits: 0,
        timestamp: wire::now(),
    }
}

/// Who a bot message really pings: the `<@id>` in its text, as `allowed_mentions` permits
/// (no `allowed_mentions` at all: everyone mentioned is pinged).
fn mentions_allowed(s: &State, content: &str, allowed: Option<&Value>) -> Vec<u64> {
    let mentioned = wire::parse_mentions(content)
        .into_iter()
        .filter(|id| s.user(*id).is_some());
    match allowed {
        None => mentioned.collect(),
        Some(allowed) => {
            let parse_users = allowed["parse"]
                .as_array()
                .is_some_and(|p| p.iter().any(|v| v == "users"));
            let listed: Vec<u64> = allowed["users"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|u| u.as_str().and_then(|u| u.parse().ok()))
                .collect();
            mentioned
                .filter(|id| parse_users || listed.contains(id))
                .collect()
        }
    }
}

fn create_message(s: &mut State, channel: u64, body: &Value) -> Answer {
    if let Err(error) = rules::check_message(body, true) {
        return form(&error);
    }
    let mut dangling = false;
    if let Some(to) = body["message_reference"]["message_id"].as_str()
        && to
            .parse::<u64>()
            .ok()
            .and_then(|to| s.message(to))
            .is_none_or(|m| m.channel_id != channel)
    {
        if body["message_reference"]["fail_if_not_exists"] != false {
            let error = FormError {
                path: "message_reference".into(),
                code: "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                message: "Unknown message".into(),
            };
            return form(&error);
        }
        dangling = true;
    }
    // `enforce_nonce`: a nonce this author used in this channel in the last few minutes gets
    // that message back, and no new one.
    let nonce = body["nonce"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| body["nonce"].as_u64().map(|n| n.to_string()));
    if body["enforce_nonce"] == true
        && let Some(nonce) = &nonce
        && let Some(&(_, id, _)) = s
            .nonces
            .iter()
            .find(|(n, _, at)| n == nonce && at.elapsed() < NONCE_MEMORY)
        && s.message(id).is_some_and(|m| m.channel_id == channel)
    {
        return checked_message(s, id);
    }
    let mut message = new_message(s, channel, body);
    if dangling {
        // Sent as an ordinary message, as Discord does.
        message.reference = None;
    }
    let id = message.id;
    if let Some(nonce) = nonce {
        s.nonces.push((nonce, id, Instant::now()));
    }
    s.messages.push(message.clone());
    dispatch_message(s, "MESSAGE_CREATE", &message);
    checked_message(s, id)
}

/// How long Discord remembers a message nonce for `enforce_nonce` ("the past few minutes").
const NONCE_MEMORY: Duration = Duration::from_secs(5 * 60);

/// Applies an edit (content, components) and dispatches MESSAGE_UPDATE.
fn edit_message(s: &mut State, id: u64, body: &Value) -> Answer {
    if let Err(error) = rules::check_message(body, false) {
        return form(&error);
    }
    let Some(m) = s.message_mut(id) else {
        return refuse(404, 10008, "Unknown Message");
    };
    let content = body
        .get("content")
        .and_then(Value::as_str)
        .map_or_else(|| m.content.clone(), str::to_owned);
    let components = body
        .get("components")
        .filter(|c| !c.is_null())
        .cloned()
        .unwrap_or_else(|| m.components.clone());
    if content.is_empty() && components.as_array().is_none_or(Vec::is_empty) {
        let error = FormError {
            path: "content".into(),
            code: "BASE_TYPE_REQUIRED",
            message: "Cannot send an empty message".into(),
        };
        return form(&error);
    }
    m.content = content;
    m.components = components;
    if let Some(allowed) = body.get("allowed_mentions") {
        m.allowed_mentions = Some(allowed.clone());
    }
    m.loading = false;
    m.edits += 1;
    let message = m.clone();
    dispatch_message(s, "MESSAGE_UPDATE", &message);
    checked_message(s, id)
}

/// `POST /interactions/{id}/{token}/callback`: once, within the deadline, with the right
/// token, and a response type that fits the interaction.
fn callback(shared: &Shared, s: &mut State, id: u64, token: &str, body: &Value) -> Answer {
    let deadline = shared.config.interaction_deadline;
    let bot = s.bot.id;
    let now = s.now();
    let Some(interaction) = s.interaction_mut(id) else {
        return refuse(404, 10062, "Unknown interaction");
    };
    let answer = if interaction.token != token {
        refuse(401, 50027, "Invalid Webhook Token")
    } else if interaction.response.is_some() {
        refuse(400, 40060, "Interaction has already been acknowledged.")
    } else if now.saturating_duration_since(interaction.created) > deadline {
        refuse(404, 10062, "Unknown interaction")
    } else {
        no_content()
    };
    if answer.status != 204 {
        let code = answer
            .body
            .as_ref()
            .and_then(|b| b["code"].as_u64())
            .unwrap_or(0);
        interaction.refused.push((answer.status, code));
        return answer;
    }
    let kind = interaction.kind;
    let user = interaction.user_id;
    let channel = interaction.channel_id;
    let clicked = interaction.message_id;
    let response = body["type"].as_u64().unwrap_or(0);
    let data = body.get("data").cloned().unwrap_or(Value::Null);
    let ephemeral = data["flags"].as_u64().unwrap_or(0) & 64 != 0;
    let refusal = match response {
        4 => rules::check_message(&data, true).err(),
        7 if kind == 3 => rules::check_message(&data, false).err(),
        5 | 9 => None,
        6 if kind == 3 => None,
        _ => Some(FormError {
            path: "type".into(),
            code: "INTERACTION_RESPONSE_TYPE_INVALID",
            message: format!("Response type {response} is not valid for this interaction"),
        }),
    };
    if let Some(error) = refusal {
        if let Some(interaction) = s.interaction_mut(id) {
            interaction.refused.push((400, 50035));
        }
        return form(&error);
    }
    let mut created = None;
    match response {
        4 | 5 => {
            let mut message = new_message(s, channel, &data);
            message.author_id = bot;
            message.interaction = Some(id);
            message.loading = response == 5;
            message.only_for = ephemeral.then_some(user);
            created = Some(message.id);
            s.messages.push(message.clone());
            dispatch_message(s, "MESSAGE_CREATE", &message);
        }
        7 => {
            if let Some(clicked) = clicked {
                let _ = edit_message(s, clicked, &data);
            }
            // After an update, deferred or not, the clicked message is the original response:
            // `@original` edits it.
            created = clicked;
        }
        6 => created = clicked,
        _ => {}
    }
    if let Some(interaction) = s.interaction_mut(id) {
        interaction.response = u8::try_from(response).ok();
        interaction.responded_after = Some(now.saturating_duration_since(interaction.created));
        interaction.response_message = created;
    }
    no_content()
}

/// The interaction behind a webhook token, or Discord's refusal: a token it never issued is
/// invalid (401, 50027); one older than [`crate::Config::interaction_token_lifetime`] (15
/// minutes on Discord) no longer names a webhook (404, 10015), for edits and follow-ups alike.
fn interaction_by_token(shared: &Shared, s: &State, token: &str) -> Result<u64, Answer> {
    let Some(interaction) = s.interactions.iter().find(|i| i.token == token) else {
        return Err(refuse(401, 50027, "Invalid Webhook Token"));
    };
    let age = s.now().saturating_duration_since(interaction.created);
    if age >= shared.config.interaction_token_lifetime {
        return Err(refuse(404, 10015, "Unknown Webhook"));
    }
    Ok(interaction.id)
}

/// `@original` (the response message: the one a type 4 or 5 response created, or the clicked
/// message after a type 6 or 7 update) or a follow-up's id, for this token.
fn webhook_message(shared: &Shared, s: &State, token: &str, which: &str) -> Result<u64, Answer> {
    let interaction = interaction_by_token(shared, s, token)?;
    let unknown = || refuse(404, 10008, "Unknown Message");
    if which == "@original" {
        return s
            .interactions
            .iter()
            .find(|i| i.id == interaction)
            .and_then(|i| i.response_message)
            .filter(|m| s.message(*m).is_some())
            .ok_or_else(unknown);
    }
    let id: u64 = which.parse().map_err(|_| unknown())?;
    s.message(id)
        .filter(|m| m.interaction == Some(interaction))
        .map(|m| m.id)
        .ok_or_else(unknown)
}

fn followup(shared: &Shared, s: &mut State, token: &str, body: &Value) -> Answer {
    let interaction = match interaction_by_token(shared, s, token) {
        Ok(interaction) => interaction,
        Err(refused) => return refused,
    };
    let Some(record) = s.interactions.iter().find(|i| i.id == interaction).cloned() else {
        return refuse(401, 50027, "Invalid Webhook Token");
    };
    if record.response.is_none() {
        // Follow-ups come after the initial response.
        return refuse(404, 10015, "Unknown Webhook");
    }
    if let Err(error) = rules::check_message(body, true) {
        return form(&error);
    }
    let mut message = new_message(s, record.channel_id, body);
    message.interaction = Some(interaction);
    if body["flags"].as_u64().unwrap_or(0) & 64 != 0 {
        message.only_for = Some(record.user_id);
    }
    let id = message.id;
    s.messages.push(message.clone());
    dispatch_message(s, "MESSAGE_CREATE", &message);
    checked_message(s, id)
}

/// Bulk overwrite: the list replaces what was registered there.
fn put_commands(s: &mut State, guild: Option<u64>, body: &Value) -> Answer {
    let Some(list) = body.as_array() else {
        return refuse(400, 50035, "Invalid Form Body");
    };
    for (i, command) in list.iter().enumerate() {
        if let Err(error) = rules::check_command(command, i) {
            return form(&error);
        }
    }
    let mut names: Vec<&str> = list.iter().filter_map(|c| c["name"].as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return refuse(400, 50035, "Invalid Form Body: duplicate command name");
    }
    s.commands.retain(|c| c.guild_id != guild);
    for command in list {
        let id = s.new_id();
        let version = s.new_id();
        s.commands.push(Command {
            id,
            name: command["name"].as_str().unwrap_or_default().to_owned(),
            description: command["description"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            guild_id: guild,
            version,
        });
    }
    let value = commands_json(s, guild);
    if let Err(error) =
        serde_json::from_value::<Vec<serenity::model::application::Command>>(value.clone())
    {
        s.violations.push(format!(
            "serenity cannot read the commands we return: {error}"
        ));
    }
    ok(value)
}

fn commands_json(s: &State, guild: Option<u64>) -> Value {
    Value::Array(
        s.commands
            .iter()
            .filter(|c| c.guild_id == guild)
            .map(|c| {
                let mut value = json!({
                    "id": c.id.to_string(),
                    "application_id": s.bot.id.to_string(),
                    "version": c.version.to_string(),
                    "default_member_permissions": null,
                    "type": 1,
                    "name": c.name,
                    "description": c.description,
                    "dm_permission": true,
                    "nsfw": false,
                });
                if let Some(g) = c.guild_id {
                    value["guild_id"] = json!(g.to_string());
                }
                value
            })
            .collect(),
    )
}
