//! A fake Discord for end-to-end tests of a serenity 0.12 bot: the REST API and the gateway on
//! 127.0.0.1, speaking the real protocol, enforcing Discord's rules, and playing the users.
//!
//! * **Gateway** ([`gateway`]): HELLO, IDENTIFY → READY (zlib-compressed when the client asks
//!   for compression), heartbeats and acks, heartbeat requests (op 1), RESUME with replay of
//!   missed dispatches, RECONNECT, INVALID_SESSION both ways, close codes (4004 for a bad
//!   token; after 4007, 4009 or the client's own normal close the session cannot be resumed);
//!   intents decide which messages are dispatched and whether their text is blanked
//!   (MESSAGE_CONTENT and its exemptions).
//! * **REST** ([`rest`]): the routes a bot with messages, buttons and slash commands calls,
//!   with Discord's limits ([`rules`]: 2,000 characters, 5×5 buttons, 80-character labels,
//!   100-character `custom_id`), the 3-second interaction deadline and one acknowledgement per
//!   interaction, `@original` (the message a deferred response created, or the clicked one
//!   after an update), interaction tokens that expire after 15 minutes (Unknown Webhook,
//!   10015; [`FakeDiscord::advance_clock`] makes them), answered in Discord's error shapes; a channel's history as Discord lists
//!   it (`GET /channels/{id}/messages`: `limit` 1 to 100, newest first, nothing without Read
//!   Message History).
//! * **Permissions** ([`permissions`]): per channel, the bot's View Channel, Send Messages and
//!   Read Message History decide what it is sent and what it may post (403 otherwise);
//!   interaction responses and follow-ups need none, as on Discord.
//! * **Rate limits**: per-route buckets (keyed by the route and its major parameter) with
//!   Discord's `X-RateLimit-*` headers, a global limit, and 429 with its JSON body.
//! * **Users**: [`FakeDiscord::say`], [`FakeDiscord::click`] (only a button that exists and is
//!   enabled on a message the user can see), [`FakeDiscord::run_command`] (only a registered
//!   command).
//! * **Checks**: every dispatch sent and every message returned over REST is deserialised with
//!   serenity's own types first; a payload serenity cannot read is a [violation](FakeDiscord::violations),
//!   and [`FakeDiscord::wait_for`] fails at once on one, instead of timing out.
//!
//! Point serenity at it in one of two ways:
//!
//! * **As `discord.com`** (what guichet's tests do): hand [`FakeDiscord::discord_client`] to
//!   serenity's `HttpBuilder::client`. serenity keeps its own `https://discord.com/api/v10`
//!   URLs and its rate limiter; the client resolves `discord.com` to the fake's HTTPS
//!   listener and trusts the certificate the fake made at start (module `tls`).
//! * **As a proxy**: `HttpBuilder::new(token).proxy(fake.http_base()).ratelimiter_disabled(true)`,
//!   plain HTTP. serenity 0.12.5 ignores the proxy while its rate limiter is on (its limiter
//!   builds requests for discord.com), so a bot run this way meets every 429 itself. This is
//!   what `[discord] api_base` does, for a `guichet serve` child process.
//!
//! Either way serenity falls back to Discord's real gateway when `GET /gateway` fails, so
//! tests should assert [`FakeDiscord::rest_calls`] saw it.
//!
//! Not modelled: GUILD_CREATE and the cache, threads, attachments (multipart bodies are a
//! violation), sharding, session expiry.

#![cfg(feature = "server")]

mod gateway;
mod rest;
pub mod rules;
mod tls;
mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use gateway::intents;

/// The channel permission bits the fake checks for the bot.
pub mod permissions {
    /// Without it the channel does not exist for the bot: no events, 403 (50001) on REST.
    pub const VIEW_CHANNEL: u64 = 1 << 10;
    /// Needed to post a message (403, 50013), not to answer an interaction.
    pub const SEND_MESSAGES: u64 = 1 << 11;
    /// Needed to reply to a message (`message_reference`: 160002) or read one.
    pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
    pub const ALL: u64 = VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY;
}

/// How the fake behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// The bot token it accepts (without the `Bot ` prefix).
    pub token: String,
    /// HELLO's heartbeat interval. Discord's is about 41 s; tests want it short.
    pub heartbeat_interval: Duration,
    /// The developer portal's "Message Content Intent" switch: asking for the intent while it
    /// is off gets close code 4014.
    pub message_content_allowed: bool,
    /// An interaction not acknowledged within this is unknown (404, code 10062).
    pub interaction_deadline: Duration,
    /// How long an interaction's token works for editing its response and following it up
    /// (Discord: 15 minutes); after it, Unknown Webhook (404, code 10015). Tests that need
    /// it to pass use [`FakeDiscord::advance_clock`] rather than wait.
    pub interaction_token_lifetime: Duration,
    /// How long [`FakeDiscord::wait_for`] waits before failing the test.
    pub wait_timeout: Duration,
    /// Requests per route bucket (a route and its channel, guild or webhook) per
    /// [`Config::route_window`]. Discord does not promise numbers (its headers tell); 5 is
    /// what it grants for messages in a channel.
    pub route_limit: u32,
    pub route_window: Duration,
    /// Requests per [`Config::global_window`] over all routes but interactions' (Discord: 50
    /// per second).
    pub global_limit: u32,
    pub global_window: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            token: "fake-token".to_owned(),
            heartbeat_interval: Duration::from_millis(41_250),
            message_content_allowed: false,
            interaction_deadline: Duration::from_secs(3),
            interaction_token_lifetime: Duration::from_secs(15 * 60),
            wait_timeout: Duration::from_secs(20),
            route_limit: 5,
            route_window: Duration::from_secs(1),
            global_limit: 50,
            global_window: Duration::from_secs(1),
        }
    }
}

/// A REST call the bot made.
#[derive(Debug, Clone)]
pub struct RestCall {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub authorization: Option<String>,
    pub user_agent: Option<String>,
    /// The `Host` header: `discord.com` through [`FakeDiscord::discord_client`].
    pub host: Option<String>,
    /// Whether it came over HTTPS ([`FakeDiscord::discord_client`]) rather than plain HTTP
    /// ([`FakeDiscord::http_base`], serenity's proxy mode).
    pub tls: bool,
    pub body: Option<Value>,
    pub status: u16,
    /// A 429's `X-RateLimit-Scope`: `user` (the route's bucket, announced in the headers of
    /// earlier answers), `global`, or `shared` (from [`FakeDiscord::rate_limit_next_posts`]).
    pub rate_limit_scope: Option<String>,
    /// Discord's JSON error code, when the call was refused.
    pub error_code: Option<u64>,
    /// When it came, on the fake's clock: a client that honours a 429 sends again on that
    /// route no sooner than its `retry_after`.
    pub at: Instant,
    /// A 429's `retry_after`, as its body said it.
    pub retry_after: Option<Duration>,
}

/// One websocket connection the bot opened.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The upgrade request's path and query (serenity: `/?v=10`).
    pub uri: String,
    pub identified: bool,
    pub resumed: bool,
    /// The close code, when the fake closed it.
    pub closed_with: Option<u16>,
}

/// A button on a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    pub custom_id: String,
    pub style: u64,
    pub disabled: bool,
}

/// A message as the fake stores it.
#[derive(Debug, Clone)]
pub struct FakeMessage {
    pub id: u64,
    pub channel_id: u64,
    pub author_id: u64,
    pub content: String,
    /// The `components` array as last set.
    pub components: Value,
    /// Ephemeral: only this user sees it.
    pub only_for: Option<u64>,
    /// The message this one replies to.
    pub reference: Option<u64>,
    /// Users mentioned (`<@id>` in the text, plus the replied-to author when pinged).
    pub mentions: Vec<u64>,
    /// The `allowed_mentions` the bot sent with it.
    pub allowed_mentions: Option<Value>,
    /// A deferred interaction response still "thinking".
    pub loading: bool,
    /// The interaction this message answers, if any.
    pub interaction: Option<u64>,
    pub edits: usize,
    /// When it was posted (RFC 3339), its `timestamp`.
    pub timestamp: String,
}

impl FakeMessage {
    /// Every button, row by row.
    pub fn buttons(&self) -> Vec<Button> {
        let mut buttons = Vec::new();
        for row in self.components.as_array().into_iter().flatten() {
            for component in row["components"].as_array().into_iter().flatten() {
                if component["type"] == 2 {
                    buttons.push(Button {
                        label: component["label"].as_str().unwrap_or_default().to_owned(),
                        custom_id: component["custom_id"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        style: component["style"].as_u64().unwrap_or_default(),
                        disabled: component["disabled"].as_bool().unwrap_or(false),
                    });
                }
            }
        }
        buttons
    }

    /// Buttons per row.
    pub fn row_sizes(&self) -> Vec<usize> {
        self.components
            .as_array()
            .into_iter()
            .flatten()
            .map(|row| row["components"].as_array().map_or(0, Vec::len))
            .collect()
    }
}

/// An interaction the fake created, and what the bot did with it.
#[derive(Debug, Clone)]
pub struct FakeInteraction {
    pub id: u64,
    pub token: String,
    /// 2: application command, 3: message component.
    pub kind: u8,
    pub user_id: u64,
    pub channel_id: u64,
    /// The message whose button was clicked.
    pub message_id: Option<u64>,
    /// On the fake's clock ([`FakeDiscord::advance_clock`]).
    pub created: Instant,
    /// The callback type the bot answered with (4 message, 5 deferred, 6 deferred update,
    /// 7 update, 9 modal).
    pub response: Option<u8>,
    pub responded_after: Option<Duration>,
    /// The original response: the message a type 4 or 5 response created, or the clicked
    /// message after a type 6 or 7 update.
    pub response_message: Option<u64>,
    /// Refused callbacks: (HTTP status, Discord code).
    pub refused: Vec<(u16, u64)>,
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub id: u64,
    pub name: String,
    pub bot: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Channel {
    pub id: u64,
    pub guild_id: Option<u64>,
    /// The user of a DM channel with the bot.
    pub dm_user: Option<u64>,
    /// The bot's [`permissions`] here (DMs: all).
    pub bot_permissions: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub id: u64,
    pub name: String,
    pub description: String,
    pub guild_id: Option<u64>,
    pub version: u64,
}

/// A gateway session: its sequence numbers and every dispatch, for replay on RESUME.
#[derive(Debug)]
pub(crate) struct Session {
    pub id: String,
    pub intents: u64,
    pub seq: u64,
    pub sent: Vec<(u64, Value)>,
}

/// What the state sends down a live socket.
#[derive(Debug)]
pub(crate) enum Outbound {
    Text(String),
    Binary(Vec<u8>),
    Close(u16, String),
    /// Drop the TCP connection without a close frame.
    Drop,
}

#[derive(Debug)]
pub(crate) struct Live {
    pub connection: usize,
    pub session: String,
    pub tx: mpsc::UnboundedSender<Outbound>,
}

#[derive(Debug)]
pub(crate) struct State {
    pub next_id: u64,
    pub bot: User,
    pub users: HashMap<u64, User>,
    pub channels: HashMap<u64, Channel>,
    pub guilds: Vec<u64>,
    pub messages: Vec<FakeMessage>,
    pub interactions: Vec<FakeInteraction>,
    pub commands: Vec<Command>,
    pub sessions: Vec<Session>,
    /// The session dispatches go to: the last one identified or resumed.
    pub current_session: Option<String>,
    pub live: Option<Live>,
    pub connections: Vec<Connection>,
    pub frames: Vec<(usize, Value)>,
    pub dispatches: Vec<Value>,
    /// Dispatches sent again on RESUME.
    pub replayed: Vec<Value>,
    pub rest_calls: Vec<RestCall>,
    pub violations: Vec<String>,
    pub heartbeat_acks: bool,
    /// The next RESUME also replays this many dispatches the bot already had (Discord
    /// delivers at least once).
    pub replay_overlap: u64,
    /// The next this many message posts get Discord's 429 (rate limited) and are not made.
    pub rate_limited_posts: u64,
    /// The same for the next calls to an interaction's webhook (edits and follow-ups).
    pub rate_limited_webhook_calls: u64,
    /// Per-route buckets: remaining requests and when the window ends.
    pub buckets: HashMap<String, (u32, Instant)>,
    /// Requests in the current global window, and when it ends.
    pub global: (u32, Instant),
    /// Message nonces seen: (nonce, message id, when), for `enforce_nonce`.
    pub nonces: Vec<(String, u64, Instant)>,
    /// How far [`FakeDiscord::advance_clock`] moved the interactions' clock.
    pub clock_advance: Duration,
}

impl State {
    /// Now on the clock interactions are timed by: the real one, plus what the test advanced.
    pub fn now(&self) -> Instant {
        Instant::now() + self.clock_advance
    }

    pub fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn user(&self, id: u64) -> Option<&User> {
        if id == self.bot.id {
            Some(&self.bot)
        } else {
            self.users.get(&id)
        }
    }

    pub fn message_mut(&mut self, id: u64) -> Option<&mut FakeMessage> {
        self.messages.iter_mut().find(|m| m.id == id)
    }

    pub fn message(&self, id: u64) -> Option<&FakeMessage> {
        self.messages.iter().find(|m| m.id == id)
    }

    pub fn interaction_mut(&mut self, id: u64) -> Option<&mut FakeInteraction> {
        self.interactions.iter_mut().find(|i| i.id == id)
    }

    /// The bot's permissions in `channel` (none where the channel is unknown).
    pub fn bot_permissions(&self, channel: u64) -> u64 {
        self.channels.get(&channel).map_or(0, |c| c.bot_permissions)
    }

    /// The DM channel between `user` and the bot, opened if needed.
    pub fn dm_channel(&mut self, user: u64) -> u64 {
        if let Some(c) = self.channels.values().find(|c| c.dm_user == Some(user)) {
            return c.id;
        }
        let id = self.new_id();
        self.channels.insert(
            id,
            Channel {
                id,
                guild_id: None,
                dm_user: Some(user),
                bot_permissions: permissions::ALL,
            },
        );
        id
    }
}

pub(crate) struct Shared {
    pub config: Config,
    pub state: Mutex<State>,
    pub version: watch::Sender<u64>,
    pub ws_url: String,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Changes the state and wakes every [`FakeDiscord::wait_for`].
    pub fn mutate<T>(&self, change: impl FnOnce(&mut State) -> T) -> T {
        let result = change(&mut self.lock());
        self.version.send_modify(|v| *v += 1);
        result
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("ws_url", &self.ws_url)
            .finish_non_exhaustive()
    }
}

/// The running fake. Dropping it stops its listeners.
#[derive(Debug)]
pub struct FakeDiscord {
    shared: Arc<Shared>,
    http_base: String,
    /// Where `discord.com` leads for [`Self::discord_client`].
    https_addr: std::net::SocketAddr,
    identity: Arc<tls::Identity>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        // Close the live socket too, so the bot sees Discord go away.
        if let Some(live) = self.shared.lock().live.take() {
            let _ = live.tx.send(Outbound::Drop);
        }
    }
}

/// The bot's user id and name.
pub const BOT_NAME: &str = "guichet";

impl FakeDiscord {
    /// Starts the REST and gateway listeners on 127.0.0.1 (ports chosen by the system).
    pub async fn start(config: Config) -> std::io::Result<Self> {
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let https = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let https_addr = https.local_addr()?;
        let identity = tls::Identity::new()?;
        let (https, accepting) = tls::TlsListener::new(https, &identity)?;
        let ws = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let http_base = format!("http://{}", http.local_addr()?);
        // No query string: serenity appends `?v=10` itself.
        let ws_url = format!("ws://{}", ws.local_addr()?);
        let first_id = 1_300_000_000_000_000_000;
        let bot = User {
            id: first_id + 1,
            name: BOT_NAME.to_owned(),
            bot: true,
        };
        let state = State {
            next_id: first_id + 1,
            bot,
            users: HashMap::new(),
            channels: HashMap::new(),
            guilds: Vec::new(),
            messages: Vec::new(),
            interactions: Vec::new(),
            commands: Vec::new(),
            sessions: Vec::new(),
            current_session: None,
            live: None,
            connections: Vec::new(),
            frames: Vec::new(),
            dispatches: Vec::new(),
            replayed: Vec::new(),
            rest_calls: Vec::new(),
            violations: Vec::new(),
            heartbeat_acks: true,
            replay_overlap: 0,
            rate_limited_posts: 0,
            rate_limited_webhook_calls: 0,
            buckets: HashMap::new(),
            global: (0, Instant::now()),
            nonces: Vec::new(),
            clock_advance: Duration::ZERO,
        };
        let shared = Arc::new(Shared {
            config,
            state: Mutex::new(state),
            version: watch::channel(0).0,
            ws_url,
        });
        let tasks = vec![
            tokio::spawn(rest::serve(shared.clone(), http)),
            tokio::spawn(rest::serve_tls(shared.clone(), https)),
            tokio::spawn(gateway::serve(shared.clone(), ws)),
            accepting,
        ];
        Ok(Self {
            shared,
            http_base,
            https_addr,
            identity: Arc::new(identity),
            tasks,
        })
    }

    /// An HTTP client for which `https://discord.com` is this fake (its name resolves here,
    /// its certificate is trusted): given to serenity's `HttpBuilder::client`, the bot keeps
    /// Discord's own URLs and its rate limiter, which the proxy mode of [`Self::http_base`]
    /// turns off.
    pub fn discord_client(&self) -> reqwest::Result<reqwest::Client> {
        tls::client(self.https_addr, &self.identity)
    }

    /// `http://127.0.0.1:PORT`: serenity's proxy, i.e. where `https://discord.com` goes.
    pub fn http_base(&self) -> &str {
        &self.http_base
    }

    /// `ws://127.0.0.1:PORT`, what `GET /gateway` returns.
    pub fn ws_url(&self) -> &str {
        &self.shared.ws_url
    }

    pub fn bot_id(&self) -> u64 {
        self.shared.lock().bot.id
    }

    pub fn application_id(&self) -> u64 {
        self.bot_id()
    }

    // --- Setting the scene ---------------------------------------------------------------

    pub fn add_user(&self, name: &str) -> u64 {
        self.shared.mutate(|s| {
            let id = s.new_id();
            s.users.insert(
                id,
                User {
                    id,
                    name: name.to_owned(),
                    bot: false,
                },
            );
            id
        })
    }

    /// Another bot (or a webhook-like author) that can post in channels.
    pub fn add_bot_user(&self, name: &str) -> u64 {
        self.shared.mutate(|s| {
            let id = s.new_id();
            s.users.insert(
                id,
                User {
                    id,
                    name: name.to_owned(),
                    bot: true,
                },
            );
            id
        })
    }

    /// A guild the bot is in (listed in READY).
    pub fn add_guild(&self) -> u64 {
        self.shared.mutate(|s| {
            let id = s.new_id();
            s.guilds.push(id);
            id
        })
    }

    pub fn add_channel(&self, guild_id: u64) -> u64 {
        self.shared.mutate(|s| {
            let id = s.new_id();
            s.channels.insert(
                id,
                Channel {
                    id,
                    guild_id: Some(guild_id),
                    dm_user: None,
                    bot_permissions: permissions::ALL,
                },
            );
            id
        })
    }

    /// What the bot may do in a guild channel ([`permissions`] bits), as the server's roles
    /// and the channel's overwrites would decide.
    pub fn set_bot_permissions(&self, channel: u64, bits: u64) {
        self.shared.mutate(|s| {
            if let Some(c) = s.channels.get_mut(&channel) {
                c.bot_permissions = bits;
            }
        });
    }

    /// The DM channel between `user` and the bot.
    pub fn dm_channel(&self, user: u64) -> u64 {
        self.shared.mutate(|s| s.dm_channel(user))
    }

    /// A message the bot posted in `channel` before the scene began, with one button: what
    /// an older version of the bot may have left there, `custom_id` in its own format.
    /// Returns the message id.
    pub fn add_bot_menu(&self, channel: u64, content: &str, label: &str, custom_id: &str) -> u64 {
        self.shared.mutate(|s| {
            let id = s.new_id();
            let message = FakeMessage {
                id,
                channel_id: channel,
                author_id: s.bot.id,
                content: content.to_owned(),
                components: serde_json::json!([{
                    "type": 1,
                    "components": [{
                        "type": 2, "style": 1, "label": label, "custom_id": custom_id,
                    }],
                }]),
                only_for: None,
                reference: None,
                mentions: Vec::new(),
                allowed_mentions: None,
                loading: false,
                interaction: None,
                edits: 0,
                timestamp: wire::now(),
            };
            s.messages.push(message);
            id
        })
    }

    // --- Playing the users ----------------------------------------------------------------

    /// `user` posts `content` in `channel`; `<@id>` mentions are resolved. Returns the
    /// message id. The bot gets it as its intents allow.
    pub fn say(&self, user: u64, channel: u64, content: &str) -> u64 {
        self.post(user, channel, content, None)
    }

    /// `user` replies to `message`; `ping` is Discord's "mention the author" switch.
    pub fn reply(&self, user: u64, channel: u64, message: u64, content: &str, ping: bool) -> u64 {
        self.post(user, channel, content, Some((message, ping)))
    }

    fn post(&self, user: u64, channel: u64, content: &str, reply: Option<(u64, bool)>) -> u64 {
        self.shared.mutate(|s| {
            let id = s.new_id();
            let mut mentions = wire::parse_mentions(content)
                .into_iter()
                .filter(|id| s.user(*id).is_some())
                .collect::<Vec<_>>();
            if let Some((to, true)) = reply
                && let Some(author) = s.message(to).map(|m| m.author_id)
                && !mentions.contains(&author)
            {
                mentions.push(author);
            }
            let message = FakeMessage {
                id,
                channel_id: channel,
                author_id: user,
                content: content.to_owned(),
                components: Value::Array(Vec::new()),
                only_for: None,
                reference: reply.map(|(to, _)| to),
                mentions,
                allowed_mentions: None,
                loading: false,
                interaction: None,
                edits: 0,
                timestamp: wire::now(),
            };
            s.messages.push(message.clone());
            gateway::dispatch_message(s, "MESSAGE_CREATE", &message);
            id
        })
    }

    /// `user` clicks the button `custom_id` on `message`. Refused (as Discord's client would
    /// not let it happen) unless the message is visible to the user and carries that button,
    /// enabled. Returns the interaction id.
    pub fn click(&self, user: u64, message: u64, custom_id: &str) -> Result<u64, String> {
        self.shared.mutate(|s| {
            let m = s
                .message(message)
                .ok_or_else(|| format!("no message {message}"))?;
            if m.only_for.is_some_and(|viewer| viewer != user) {
                return Err(format!("message {message} is ephemeral for someone else"));
            }
            if m.loading {
                return Err(format!("message {message} is still a placeholder"));
            }
            let button = m
                .buttons()
                .into_iter()
                .find(|b| b.custom_id == custom_id)
                .ok_or_else(|| format!("no button {custom_id:?} on message {message}"))?;
            if button.disabled {
                return Err(format!("button {custom_id:?} is disabled"));
            }
            let channel = m.channel_id;
            Ok(gateway::dispatch_interaction(
                s,
                3,
                user,
                channel,
                Some(message),
                serde_json::json!({"custom_id": custom_id, "component_type": 2}),
            ))
        })
    }

    /// Clicks the button labelled `label` on `message`.
    pub fn click_label(&self, user: u64, message: u64, label: &str) -> Result<u64, String> {
        let custom_id = self
            .message(message)
            .and_then(|m| m.buttons().into_iter().find(|b| b.label == label))
            .map(|b| b.custom_id)
            .ok_or_else(|| format!("no button labelled {label:?} on message {message}"))?;
        self.click(user, message, &custom_id)
    }

    /// `user` runs the slash command `/name` in `channel`. Refused unless the bot registered
    /// it globally or in the channel's guild.
    pub fn run_command(&self, user: u64, channel: u64, name: &str) -> Result<u64, String> {
        self.shared.mutate(|s| {
            let guild = s.channels.get(&channel).and_then(|c| c.guild_id);
            let command = s
                .commands
                .iter()
                .find(|c| c.name == name && (c.guild_id.is_none() || c.guild_id == guild))
                .ok_or_else(|| format!("/{name} is not registered here"))?;
            let data = serde_json::json!({
                "id": command.id.to_string(),
                "name": command.name,
                "type": 1,
                "guild_id": command.guild_id.map(|g| g.to_string()),
            });
            Ok(gateway::dispatch_interaction(
                s, 2, user, channel, None, data,
            ))
        })
    }

    // --- Playing Discord's infrastructure --------------------------------------------------

    /// Moves the clock interactions are timed by forward by `by`: their 3-second deadline and
    /// their tokens' lifetime pass as if that long had gone by, without a test waiting for it.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.mutate(|s| s.clock_advance += by);
    }

    /// Closes the live gateway socket with `code` (4000: unknown error, resumable). As on
    /// Discord, 4007 (invalid sequence) and 4009 (session timed out) end the session: a
    /// resume is then refused with op 9.
    pub fn close_gateway(&self, code: u16) {
        self.shared.mutate(|s| {
            if matches!(code, 4007 | 4009) {
                gateway::forget_current_session(s);
            }
            if let Some(live) = s.live.take() {
                let _ = live
                    .tx
                    .send(Outbound::Close(code, "closed by the fake".to_owned()));
            }
        });
    }

    /// Drops the live gateway connection without a close frame (a network failure).
    pub fn drop_gateway(&self) {
        self.shared.mutate(|s| {
            if let Some(live) = s.live.take() {
                let _ = live.tx.send(Outbound::Drop);
            }
        });
    }

    /// Sends op 1: Discord asks for a heartbeat now, which the bot must send at once.
    pub fn request_heartbeat(&self) {
        self.shared.mutate(|s| {
            if let Some(live) = &s.live {
                let _ = live
                    .tx
                    .send(Outbound::Text(r#"{"op":1,"d":null}"#.to_owned()));
            }
        });
    }

    /// Sends op 9 INVALID_SESSION. `resumable` (`d: true`): the bot may resume; `false`: the
    /// session is gone and the bot must identify again (a resume is refused).
    pub fn invalidate_session(&self, resumable: bool) {
        self.shared.mutate(|s| {
            if !resumable {
                gateway::forget_current_session(s);
            }
            if let Some(live) = &s.live {
                let _ = live
                    .tx
                    .send(Outbound::Text(format!(r#"{{"op":9,"d":{resumable}}}"#)));
            }
        });
    }

    /// Sends op 7 RECONNECT: the bot should reconnect and resume.
    pub fn request_reconnect(&self) {
        self.shared.mutate(|s| {
            if let Some(live) = &s.live {
                let _ = live
                    .tx
                    .send(Outbound::Text(r#"{"op":7,"d":null}"#.to_owned()));
            }
        });
    }

    /// Whether heartbeats are acknowledged (off: a zombie connection).
    pub fn set_heartbeat_acks(&self, on: bool) {
        self.shared.mutate(|s| s.heartbeat_acks = on);
    }

    /// The next RESUME replays `n` dispatches the bot already received, as Discord may.
    pub fn set_replay_overlap(&self, n: u64) {
        self.shared.mutate(|s| s.replay_overlap = n);
    }

    /// The next `n` message posts are refused with 429 and a `Retry-After`, scope `shared`,
    /// as Discord does when a resource shared with others is busy (no header foretells it):
    /// the message is not made, the client must send it again.
    pub fn rate_limit_next_posts(&self, n: u64) {
        self.shared.mutate(|s| s.rate_limited_posts = n);
    }

    /// The same for the next `n` calls to an interaction's webhook (edits of the original
    /// response, follow-ups).
    pub fn rate_limit_next_webhook_calls(&self, n: u64) {
        self.shared.mutate(|s| s.rate_limited_webhook_calls = n);
    }

    // --- Observing ----------------------------------------------------------------------

    pub fn rest_calls(&self) -> Vec<RestCall> {
        self.shared.lock().rest_calls.clone()
    }

    /// Calls to routes the fake does not know (404 with code 0).
    pub fn unknown_routes(&self) -> Vec<RestCall> {
        self.rest_calls()
            .into_iter()
            .filter(|c| c.status == 404 && c.error_code == Some(0))
            .collect()
    }

    /// What the bot sent on the gateway: (connection index, payload).
    pub fn frames(&self) -> Vec<(usize, Value)> {
        self.shared.lock().frames.clone()
    }

    /// Every dispatch the fake produced, once each (sent, or buffered while the bot was
    /// away); replays are in [`Self::replayed`].
    pub fn dispatches(&self) -> Vec<Value> {
        self.shared.lock().dispatches.clone()
    }

    /// The dispatches sent again on a RESUME, in order.
    pub fn replayed(&self) -> Vec<Value> {
        self.shared.lock().replayed.clone()
    }

    pub fn connections(&self) -> Vec<Connection> {
        self.shared.lock().connections.clone()
    }

    /// Payloads serenity could not read, and protocol misuse by the bot.
    pub fn violations(&self) -> Vec<String> {
        self.shared.lock().violations.clone()
    }

    pub fn message(&self, id: u64) -> Option<FakeMessage> {
        self.shared.lock().message(id).cloned()
    }

    /// What everyone sees in `channel`, oldest first: ephemeral messages excluded.
    pub fn visible_messages(&self, channel: u64) -> Vec<FakeMessage> {
        self.shared
            .lock()
            .messages
            .iter()
            .filter(|m| m.channel_id == channel && m.only_for.is_none())
            .cloned()
            .collect()
    }

    /// The bot's messages in `channel` that everyone sees, oldest first.
    pub fn bot_messages(&self, channel: u64) -> Vec<FakeMessage> {
        let bot = self.bot_id();
        self.visible_messages(channel)
            .into_iter()
            .filter(|m| m.author_id == bot)
            .collect()
    }

    /// Messages only `user` sees (ephemeral interaction responses).
    pub fn ephemeral_messages(&self, user: u64) -> Vec<FakeMessage> {
        self.shared
            .lock()
            .messages
            .iter()
            .filter(|m| m.only_for == Some(user))
            .cloned()
            .collect()
    }

    pub fn interaction(&self, id: u64) -> Option<FakeInteraction> {
        self.shared
            .lock()
            .interactions
            .iter()
            .find(|i| i.id == id)
            .cloned()
    }

    /// Registered slash commands: (name, guild).
    pub fn commands(&self) -> Vec<(String, Option<u64>)> {
        self.shared
            .lock()
            .commands
            .iter()
            .map(|c| (c.name.clone(), c.guild_id))
            .collect()
    }

    /// How many sessions could still be resumed.
    pub fn resumable_sessions(&self) -> usize {
        self.shared.lock().sessions.len()
    }

    /// How many READY dispatches were sent (one per IDENTIFY).
    pub fn ready_count(&self) -> usize {
        self.dispatches()
            .iter()
            .filter(|d| d["t"] == "READY")
            .count()
    }

    /// Waits until `check` returns `Some`, re-checking after every change in the fake (no
    /// polling). Panics after [`Config::wait_timeout`], or at once on a violation.
    pub async fn wait_for<T>(&self, what: &str, mut check: impl FnMut(&Self) -> Option<T>) -> T {
        let mut changes = self.shared.version.subscribe();
        let deadline = tokio::time::Instant::now() + self.shared.config.wait_timeout;
        loop {
            changes.borrow_and_update();
            let violations = self.violations();
            assert!(
                violations.is_empty(),
                "while waiting for {what}: {violations:#?}"
            );
            if let Some(found) = check(self) {
                return found;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => panic!(
                    "timed out waiting for {what}; last REST calls: {:#?}",
                    self.rest_calls()
                        .iter()
                        .rev()
                        .take(5)
                        .map(|c| format!("{} {} -> {}", c.method, c.path, c.status))
                        .collect::<Vec<_>>()
                ),
            }
        }
    }

    /// Waits for the bot's `n`-th visible message in `channel` (1-based) and returns the
    /// first `n`.
    pub async fn wait_bot_messages(&self, channel: u64, n: usize) -> Vec<FakeMessage> {
        self.wait_for(&format!("{n} bot message(s) in {channel}"), |fake| {
            let messages = fake.bot_messages(channel);
            (messages.len() >= n && messages.iter().all(|m| !m.loading))
                .then(|| messages.into_iter().take(n).collect())
        })
        .await
    }

    /// Waits until the bot is identified and has registered its slash commands.
    pub async fn wait_ready(&self) {
        self.wait_for("READY and slash commands", |fake| {
            (fake.ready_count() > 0 && !fake.commands().is_empty()).then_some(())
        })
        .await;
    }

    /// Waits until the interaction got its response (or a refusal), and returns it.
    pub async fn wait_response(&self, interaction: u64) -> FakeInteraction {
        self.wait_for(
            &format!("a response to interaction {interaction}"),
            |fake| {
                fake.interaction(interaction)
                    .filter(|i| i.response.is_some() || !i.refused.is_empty())
            },
        )
        .await
    }
}
