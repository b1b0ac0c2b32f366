//! The Discord adapter (serenity): answers DMs, mentions and replies, shows menus as buttons,
//! and serves the `/aide`, `/menu` and `/role` slash commands.
//!
//! `decide` says what an event means (answer or not, which conversation, which input) and
//! `layout` how a reply looks as Discord messages, both without I/O; `handler` does the
//! talking. Exactly once: a message's turn, its claim and its answer commit together (the
//! outbox), the answer goes out with an enforced nonce and is then marked sent, and what a
//! stop leaves is sent again at the next READY (docs/discord.md); a dispatch Discord replays
//! after a gateway resume gets no second answer. Clicks and commands are deferred and go
//! through the outbox too, keyed by their interaction ([`interaction`]): the answer fills the
//! original response by an edit that can be repeated, and what a stop leaves is sent again at
//! the next READY within the token's 15 minutes.
//!
//! Buttons carry their conversation and choice (`custom_id`), so they work after a restart.
//! A click goes to the engine as that choice (`Input::Choice`), which picks it where it is
//! offered now, or shows the welcome menu again, introduced as such (`strings.stale_menu`).
//! A slash command goes to the engine as the typed command it stands for (`Input::Command`:
//! `/role` is `!guichet role`), so the adapter builds no answer of its own.

mod catch_up;
mod custom_id;
mod decide;
mod direct;
mod handler;
mod interaction;
mod layout;
mod order;

use serenity::all::{ClientBuilder, GatewayError, GatewayIntents, HttpBuilder};

use crate::config::DiscordSettings;
use crate::service::Context;

/// The platform name in conversation keys, event claims, status and metrics.
pub const PLATFORM: &str = "discord";

#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    #[error("Discord refused the bot token: check `discord.token`")]
    InvalidToken,
    #[error(
        "Discord refused the message-content intent: switch it on in the developer portal \
         (Bot → Privileged Gateway Intents), or set `discord.message_content = false`"
    )]
    DisallowedIntents,
    #[error("cannot register the slash commands: {0} (see [strings] command_…)")]
    CommandName(String),
    /// Only with `api_base` or a client in [`StartOptions`]: serenity would otherwise quietly
    /// connect to Discord's real gateway.
    #[error("no Discord gateway at {base} (GET /api/v10/gateway failed)")]
    NoGateway {
        base: String,
        #[source]
        source: serenity::Error,
    },
    #[error("Discord connection failed")]
    Serenity(#[from] serenity::Error),
    #[error("cannot start the Discord adapter's thread")]
    Runtime(#[source] std::io::Error),
    #[error("the Discord adapter stopped unexpectedly")]
    Stopped,
}

impl DiscordError {
    /// Discord refused the configuration itself: the token, an intent, a command name.
    /// Restarting with the same configuration fails the same way.
    pub fn is_configuration(&self) -> bool {
        matches!(
            self,
            DiscordError::InvalidToken
                | DiscordError::DisallowedIntents
                | DiscordError::CommandName(_)
        )
    }
}

/// What the program that starts the adapter may choose, beyond the configuration: nothing
/// here is read from a config file or the environment.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// The HTTP client serenity makes its REST calls with, still to `https://discord.com` and
    /// with its rate limiter on. `None`: serenity's own (rustls, the web's root
    /// certificates). Tests pass one for which `discord.com` is a fake Discord (its address
    /// and its certificate), so they run the rate limiter production runs.
    pub http_client: Option<reqwest::Client>,
}

/// Serves Discord until `ctx.shutdown` turns true (`Ok`), or Discord refuses the bot for
/// good (bad token, intent not allowed). Lost connections are resumed by serenity.
pub async fn run(settings: DiscordSettings, ctx: Context) -> Result<(), DiscordError> {
    run_with(settings, ctx, StartOptions::default()).await
}

/// [`run`], with [`StartOptions`].
///
/// serenity runs on a single-threaded runtime of its own, on a thread of its own: there the
/// task serenity spawns for each event first runs in the order the gateway delivered the
/// events, which is what keeps answers in one channel in order ([`order`]). The turns' store
/// and engine work runs on that runtime's blocking pool.
pub async fn run_with(
    settings: DiscordSettings,
    ctx: Context,
    options: StartOptions,
) -> Result<(), DiscordError> {
    let (done, result) = tokio::sync::oneshot::channel();
    let span = tracing::Span::current();
    std::thread::Builder::new()
        .name("discord".to_owned())
        .spawn(move || {
            let served = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => {
                    let _entered = span.enter();
                    runtime.block_on(serve(settings, ctx, options))
                }
                Err(error) => Err(DiscordError::Runtime(error)),
            };
            let _ = done.send(served);
        })
        .map_err(DiscordError::Runtime)?;
    result.await.unwrap_or(Err(DiscordError::Stopped))
}

#[tracing::instrument(skip_all, fields(platform = PLATFORM))]
async fn serve(
    settings: DiscordSettings,
    ctx: Context,
    options: StartOptions,
) -> Result<(), DiscordError> {
    let strings = ctx.bot.engine().strings().clone();
    for command in decide::Command::ALL {
        decide::check_command(command.name(&strings), command.description(&strings))
            .map_err(DiscordError::CommandName)?;
    }
    ctx.status.register(PLATFORM);

    // Interactions (buttons, commands) need no intent; GUILDS keeps guild availability
    // events flowing, the two message intents bring mentions, replies and DMs, which Discord
    // delivers with their text even without the privileged MESSAGE_CONTENT.
    let mut intents =
        GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::DIRECT_MESSAGES;
    if settings.message_content {
        intents |= GatewayIntents::MESSAGE_CONTENT;
    }

    let mut http =
        HttpBuilder::new(settings.token.expose()).default_allowed_mentions(handler::no_mentions());
    let injected = options.http_client.is_some();
    if let Some(client) = options.http_client {
        http = http.client(client);
    }
    if let Some(base) = &settings.api_base {
        // serenity honours a proxy only with its rate limiter off; production keeps both
        // the limiter and discord.com.
        http = http.proxy(base.clone()).ratelimiter_disabled(true);
    }
    let http = http.build();
    // Where the gateway is, asked here rather than by serenity's builder when Discord is not
    // discord.com itself: on a hiccup the builder would fall back to Discord's real gateway.
    let base = match (&settings.api_base, injected) {
        (Some(base), _) => Some(base.clone()),
        (None, true) => Some("https://discord.com (through the client given)".to_owned()),
        (None, false) => None,
    };
    let gateway = match base {
        Some(base) => Some(
            http.get_gateway()
                .await
                .map_err(|source| DiscordError::NoGateway { base, source })?,
        ),
        None => None,
    };

    // Where to catch up at READY, as the last run left it.
    let store = ctx.clone();
    let marks =
        match tokio::task::spawn_blocking(move || store.bot.store().get_meta(catch_up::META_KEY))
            .await
        {
            Ok(Ok(Some(text))) => catch_up::Marks::from_json(&text),
            Ok(Ok(None)) => catch_up::Marks::default(),
            Ok(Err(error)) => {
                tracing::warn!(%error, "cannot read where to catch up: starting afresh");
                catch_up::Marks::default()
            }
            Err(error) => {
                tracing::warn!(%error, "cannot read where to catch up: starting afresh");
                catch_up::Marks::default()
            }
        };
    let handler = handler::Handler::new(
        ctx.clone(),
        settings.guild_ids.clone(),
        marks,
        settings.catch_up,
    );
    let mut client = ClientBuilder::new_with_http(http, intents)
        .event_handler(handler)
        .await?;
    if let Some(gateway) = gateway {
        // The builder asked again and, on a hiccup, would have fallen back to discord.com.
        *client.ws_url.lock().await = gateway.url;
    }

    let shards = client.shard_manager.clone();
    let result = tokio::select! {
        result = client.start() => result.map_err(refusal),
        () = shutting_down(ctx.shutdown.clone()) => {
            shards.shutdown_all().await;
            Ok(())
        }
    };
    ctx.status.set_connected(PLATFORM, false);
    if result.is_ok() {
        tracing::info!("Discord adapter stopped");
    }
    result
}

/// Resolves when the daemon shuts down, or is gone (its sender dropped).
async fn shutting_down(mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// The errors that end the adapter, in the admin's terms.
fn refusal(error: serenity::Error) -> DiscordError {
    match error {
        serenity::Error::Gateway(GatewayError::InvalidAuthentication) => DiscordError::InvalidToken,
        serenity::Error::Gateway(GatewayError::DisallowedGatewayIntents) => {
            DiscordError::DisallowedIntents
        }
        other => DiscordError::Serenity(other),
    }
}
