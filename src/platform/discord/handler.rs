//! Dispatching: serenity's events in, REST calls out. What to answer is decided in
//! [`super::decide`] and how it looks in [`super::layout`]; this module turns serenity's types
//! into theirs, runs the turn, and sends.
//!
//! A click or a slash command is answered through its interaction (deferred, then its
//! original response edited, then follow-ups if the answer is longer), which needs no
//! permission in the channel; a message (DM, mention, reply)
//! is answered with a message, which needs Send Messages (and Read Message History to quote
//! the question). Turns of one channel take turns ([`super::order`]).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serenity::all::{
    ActionRowComponent, ButtonStyle, ChannelId, CommandInteraction, ComponentInteraction,
    Context as Serenity, CreateActionRow, CreateAllowedMentions, CreateButton, CreateCommand,
    CreateInteractionResponse, CreateInteractionResponseFollowup, CreateInteractionResponseMessage,
    CreateMessage, EditInteractionResponse, EditMessage, EventHandler, GetMessages, GuildId, Http,
    Interaction, Message, MessageId, MessageReference, MessageType, Nonce, Ready, ResumedEvent,
    ShardStageUpdateEvent, UserId,
};
use serenity::async_trait;
use serenity::gateway::ConnectionStage;

use crate::engine::{BotMessage, Engine, Input};
use crate::service::now_ms;
use crate::service::{Context, Outcome};
use crate::store::{ConversationKey, StateStore, StoreError};
use crate::strings::Strings;

use super::PLATFORM;
use super::catch_up::{self, Mark, Marks};
use super::decide::{self, Click, Command, IncomingMessage, Turn};
use super::direct;
use super::interaction::{self, QueuedAnswer};
use super::layout::{self, Outgoing};
use super::order::{Lanes, Ticket};

/// Nobody is pinged by the bot's messages, whatever the knowledge base or a user's typed
/// text shown back contains (`@everyone`, `<@id>`, a reply's author).
pub fn no_mentions() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
        .everyone(false)
        .all_users(false)
        .all_roles(false)
        .replied_user(false)
}

/// How long after its turn an answer left unsent by a stop is still sent at the next start.
const RESEND_WINDOW: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// An answer to a message as the outbox keeps it until it is sent: where it goes and what
/// the engine said (laid out again when sent after a restart).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Queued {
    channel: u64,
    in_guild: bool,
    user: u64,
    /// The question to quote, in a guild channel.
    quote: Option<u64>,
    /// The message nonces' stem: the question's id.
    nonce: String,
    messages: Vec<BotMessage>,
}

impl Queued {
    fn to_json(&self) -> String {
        // Plain numbers, strings and the engine's own serialisable messages.
        serde_json::to_string(self).unwrap_or_default()
    }

    fn from_json(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

/// Why a turn produced no answer to send.
#[derive(Debug, thiserror::Error)]
enum TurnError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the turn's task failed")]
    Task(#[from] tokio::task::JoinError),
}

pub struct Handler {
    ctx: Context,
    guild_ids: Vec<u64>,
    /// From READY: our own user id, to spot mentions and our own messages.
    bot_id: AtomicU64,
    /// Slash commands are registered once per process, not on every READY (a re-IDENTIFY
    /// after a lost connection brings a new one).
    commands_registered: tokio::sync::Mutex<bool>,
    /// One turn at a time per channel, in the order the questions came.
    lanes: Lanes,
    /// Channels where the bot was refused a post, warned about once each.
    refused_channels: Mutex<HashSet<u64>>,
    /// The answers left from before a restart were sent again (at the first READY).
    resent: AtomicBool,
    /// Where to catch up at READY ([`catch_up`]), as saved in the state store.
    marks: Mutex<Marks>,
    /// How old a message read back may be and still be answered (`discord.catch_up`): older,
    /// an answer would surprise more than help.
    catch_up_window: std::time::Duration,
    saving_marks: tokio::sync::Mutex<()>,
}

impl Handler {
    pub fn new(
        ctx: Context,
        guild_ids: Vec<u64>,
        marks: Marks,
        catch_up_window: std::time::Duration,
    ) -> Self {
        Self {
            ctx,
            guild_ids,
            bot_id: AtomicU64::new(0),
            commands_registered: tokio::sync::Mutex::new(false),
            lanes: Lanes::default(),
            refused_channels: Mutex::new(HashSet::new()),
            resent: AtomicBool::new(false),
            marks: Mutex::new(marks),
            catch_up_window,
            saving_marks: tokio::sync::Mutex::new(()),
        }
    }

    /// The engine now serving (a reload swaps it): its strings are the bot's words, read
    /// through it rather than copied for each message.
    fn engine(&self) -> Arc<Engine> {
        self.ctx.bot.engine()
    }

    /// Runs the turn of a message off the async threads (SQLite): its state, its claim and
    /// its reply, queued as `to` says, commit together (the outbox, see
    /// [`crate::store::StateStore`]). `None` when the message was answered before.
    async fn run_turn(&self, turn: Turn, to: Queued) -> Result<Option<Outcome>, TurnError> {
        let ctx = self.ctx.clone();
        tokio::task::spawn_blocking(move || {
            let outcome = ctx.handle_event(&turn.key, turn.input, &turn.event_id, |reply| {
                Queued {
                    messages: reply.messages.clone(),
                    ..to
                }
                .to_json()
            })?;
            if outcome.is_none() {
                tracing::debug!(event = %turn.event_id, "already answered");
            }
            Ok(outcome)
        })
        .await?
    }

    /// [`Self::run_turn`] for an acknowledged interaction: its answer, laid out, is queued
    /// with the interaction's token (`to`) in the turn's transaction. Returns the outcome and,
    /// when a reply was queued, the queued answer to send.
    async fn queue_interaction_turn(
        &self,
        turn: Turn,
        to: QueuedAnswer,
    ) -> Result<Option<(Outcome, Option<QueuedAnswer>)>, TurnError> {
        let ctx = self.ctx.clone();
        let engine = self.engine();
        tokio::task::spawn_blocking(move || {
            let mut queued = None;
            let outcome = ctx.handle_event(&turn.key, turn.input, &turn.event_id, |reply| {
                let answer =
                    to.with_parts(layout::reply(&reply.messages, &turn.key, engine.strings()));
                let json = answer.to_json();
                queued = Some(answer);
                json
            })?;
            if outcome.is_none() {
                tracing::debug!(event = %turn.event_id, "already answered");
            }
            Ok(outcome.map(|outcome| {
                let queued = queued.filter(|_| matches!(outcome, Outcome::Reply(_)));
                (outcome, queued)
            }))
        })
        .await?
    }

    /// Runs `call` on the state store off the async threads (SQLite). A failure is logged
    /// as "cannot `doing`" and gives `None`: the bookkeeping calls below have nothing better
    /// to do with it.
    async fn with_store<T: Send + 'static>(
        &self,
        doing: &'static str,
        call: impl FnOnce(&dyn StateStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Option<T> {
        let ctx = self.ctx.clone();
        match tokio::task::spawn_blocking(move || call(ctx.bot.store().as_ref())).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(error)) => {
                tracing::warn!(%error, "cannot {doing}");
                None
            }
            Err(error) => {
                tracing::warn!(%error, "cannot {doing}");
                None
            }
        }
    }

    /// A queued part of an interaction's answer went out: the outbox says so, so a restart
    /// does not send it again.
    async fn update_pending(&self, event_id: String, answer: &QueuedAnswer) {
        let json = answer.to_json();
        self.with_store("record a follow-up as sent", move |store| {
            store.update_pending_reply(PLATFORM, &event_id, &json)
        })
        .await;
    }

    /// Sends an interaction's answer through its token: the first part edits the original
    /// response (the deferred placeholder; repeatable), the others are follow-ups, each
    /// recorded as sent right after it goes out (not repeatable: no nonce). `queued`: the
    /// answer's event id in the outbox, marked sent at the end; `None` for an answer that was
    /// not queued (an apology, a notice). An answer Discord refuses for good (the token
    /// expired) is dropped, and said once in the log; any other failure leaves it queued, for
    /// the next start.
    async fn deliver(
        &self,
        http: &Http,
        queued: Option<&str>,
        mut answer: QueuedAnswer,
    ) -> Delivered {
        if http
            .application_id()
            .is_some_and(|id| id.get() != answer.application)
        {
            // The token was issued to another application: the bot token changed since.
            tracing::warn!("the answer to a click or command belongs to another bot: dropped");
            self.answered(queued).await;
            return Delivered::Dropped;
        }
        match self.send_parts(http, queued, &mut answer).await {
            Ok(()) => {
                self.answered(queued).await;
                Delivered::Sent
            }
            Err(error) if interaction::gone_for_good(discord_code(&error)) => {
                tracing::warn!(
                    %error,
                    "Discord no longer accepts the answer to a click or command (its token \
                     lasts 15 minutes): dropped"
                );
                self.answered(queued).await;
                Delivered::Dropped
            }
            Err(error) if queued.is_some() => {
                tracing::warn!(
                    %error,
                    "cannot send the answer to a click or command: sent again at the next start"
                );
                Delivered::Failed
            }
            Err(error) => {
                tracing::warn!(%error, "cannot send the answer to a click or command");
                Delivered::Failed
            }
        }
    }

    /// A queued answer is done with (sent, or dropped): it leaves the outbox.
    async fn answered(&self, queued: Option<&str>) {
        if let Some(event_id) = queued {
            self.mark_sent(event_id.to_owned()).await;
        }
    }

    async fn send_parts(
        &self,
        http: &Http,
        queued: Option<&str>,
        answer: &mut QueuedAnswer,
    ) -> Result<(), serenity::Error> {
        let token = answer.token.clone();
        let application = answer.application;
        let Some(first) = answer.parts.first() else {
            // Nothing to say: the placeholder must not keep "thinking".
            return match &http.proxy {
                Some(proxy) => direct::delete_original(http, proxy, application, &token).await,
                None => retrying(|| http.delete_original_interaction_response(&token)).await,
            };
        };
        let mut edit = EditInteractionResponse::new()
            .components(rows(first))
            .allowed_mentions(no_mentions());
        if !first.content.is_empty() {
            edit = edit.content(first.content.clone());
        }
        let edit = &edit;
        match &http.proxy {
            Some(proxy) => direct::edit_original(http, proxy, application, &token, edit).await?,
            None => {
                retrying(|| http.edit_original_interaction_response(&token, edit, Vec::new()))
                    .await?;
            }
        }
        for index in answer.followups_left() {
            let part = &answer.parts[index];
            let mut followup = CreateInteractionResponseFollowup::new()
                .components(rows(part))
                .allowed_mentions(no_mentions());
            if answer.private {
                followup = followup.ephemeral(true);
            }
            if !part.content.is_empty() {
                followup = followup.content(part.content.clone());
            }
            let followup = &followup;
            match &http.proxy {
                Some(proxy) => {
                    direct::follow_up(http, proxy, application, &token, followup).await?;
                }
                None => {
                    retrying(|| http.create_followup_message(&token, followup, Vec::new())).await?;
                }
            }
            answer.followups_sent = index;
            if let Some(event_id) = queued {
                self.update_pending(event_id.to_owned(), answer).await;
            }
        }
        Ok(())
    }

    /// Sends what an acknowledged interaction's turn came to: the queued answer, or an
    /// answer that was not queued (a notice, nothing, an apology for a failed turn).
    async fn answer_interaction(
        &self,
        http: &Http,
        key: &ConversationKey,
        event_id: &str,
        to: QueuedAnswer,
        turn: Result<Option<(Outcome, Option<QueuedAnswer>)>, TurnError>,
    ) {
        let (queued, answer) = match turn {
            // Claimed before, by a turn that queued its own answer.
            Ok(None) => return,
            Ok(Some((_, Some(queued)))) => (Some(event_id), queued),
            Ok(Some((outcome, None))) => {
                (None, to.with_parts(self.outgoing(key, Ok(Some(outcome)))))
            }
            Err(error) => (
                None,
                to.with_parts(text(&self.failed(&error), self.engine().strings())),
            ),
        };
        self.deliver(http, queued, answer).await;
    }

    /// The reply of `event_id` went out (or can never go): it leaves the outbox.
    async fn mark_sent(&self, event_id: String) {
        self.with_store("mark an answer sent", move |store| {
            store.mark_sent(PLATFORM, &event_id)
        })
        .await;
    }

    /// Sends again, once connected, the answers committed before a stop and not marked sent
    /// (the process stopped between the two); each message with the nonce of its first try,
    /// so Discord drops one that had gone out after all. Older than [`RESEND_WINDOW`], an
    /// answer is dropped instead: Discord forgets nonces after a few minutes, and an answer
    /// that late would be a duplicate as likely as a rescue.
    async fn resend_pending(&self, http: &Http) {
        let Some(pending) = self
            .with_store("read the answers left to send", |store| {
                store.pending_replies(PLATFORM)
            })
            .await
        else {
            return;
        };
        let window = i64::try_from(RESEND_WINDOW.as_millis()).unwrap_or(i64::MAX);
        let interaction_window =
            i64::try_from(interaction::resend_window(self.catch_up_window).as_millis())
                .unwrap_or(i64::MAX);
        let now = now_ms();
        let (mut sent, mut dropped) = (0, 0);
        for pending in pending {
            if interaction::is_interaction(&pending.event_id) {
                // Through the token again, within its life: the original response is edited
                // again (whether or not the first edit went out), the follow-ups not sent yet
                // follow.
                let age = now.saturating_sub(pending.created_at);
                match QueuedAnswer::from_json(&pending.reply) {
                    Some(answer) if age <= interaction_window => {
                        tracing::debug!(event = %pending.event_id, "interaction answer sent again");
                        match self.deliver(http, Some(&pending.event_id), answer).await {
                            Delivered::Sent => sent += 1,
                            Delivered::Dropped => dropped += 1,
                            Delivered::Failed => {}
                        }
                    }
                    _ => {
                        dropped += 1;
                        self.mark_sent(pending.event_id).await;
                    }
                }
                continue;
            }
            match Queued::from_json(&pending.reply) {
                Some(queued) if now.saturating_sub(pending.created_at) <= window => {
                    let key = decide::key(queued.channel, queued.in_guild, queued.user);
                    let outgoing = layout::reply(&queued.messages, &key, self.engine().strings());
                    let channel = ChannelId::new(queued.channel.max(1));
                    let reference = queued.quote.map(|id| (channel, MessageId::new(id.max(1))));
                    match post(http, channel, outgoing, reference, Some(&queued.nonce)).await {
                        Err(error) if !missing_permission(&error) => {
                            tracing::warn!(%error, "cannot send an answer left from before");
                            continue;
                        }
                        _ => sent += 1,
                    }
                }
                _ => dropped += 1,
            }
            self.mark_sent(pending.event_id).await;
        }
        if sent + dropped > 0 {
            tracing::info!(sent, dropped, "answers left from before the restart");
        }
    }

    async fn claim(&self, event_id: String) -> Result<bool, TurnError> {
        let ctx = self.ctx.clone();
        let claimed = tokio::task::spawn_blocking(move || {
            ctx.bot.store().claim_event(PLATFORM, &event_id, now_ms())
        })
        .await??;
        Ok(claimed)
    }

    async fn handle(&self, key: ConversationKey, input: Input) -> Result<Outcome, TurnError> {
        let ctx = self.ctx.clone();
        let outcome = tokio::task::spawn_blocking(move || ctx.handle(&key, input)).await??;
        Ok(outcome)
    }

    /// The one place that decides what a user sees when guichet fails: a short apology; the
    /// cause goes to the log.
    fn failed(&self, error: &dyn std::fmt::Display) -> String {
        tracing::warn!(%error, "cannot answer");
        self.engine().strings().failed.clone()
    }

    /// What to post for a turn's outcome.
    fn outgoing(
        &self,
        key: &ConversationKey,
        outcome: Result<Option<Outcome>, TurnError>,
    ) -> Vec<Outgoing> {
        match outcome {
            Ok(Some(Outcome::Reply(reply))) => {
                layout::reply(&reply.messages, key, self.engine().strings())
            }
            Ok(Some(Outcome::Notice(notice))) => text(&notice, self.engine().strings()),
            Ok(Some(Outcome::Silent) | None) => Vec::new(),
            Err(error) => text(&self.failed(&error), self.engine().strings()),
        }
    }

    async fn on_message(&self, http: &Http, msg: Message) {
        let bot_id = self.bot_id.load(Ordering::Acquire);
        if bot_id == 0 {
            // Before READY we cannot tell mentions of us or our own messages.
            return;
        }
        let in_guild = msg.guild_id.is_some();
        let Some(turn) = turn_of(&msg, in_guild, bot_id) else {
            return;
        };
        tracing::debug!(user = %turn.key.user, "message for the bot");
        let _lane = self.lanes.ticket(msg.channel_id.get()).enter().await;
        self.answer(http, &msg, in_guild, turn).await;
    }

    /// Handles a message addressed to the bot, in its channel's lane: from the gateway or read
    /// back at READY ([`Self::catch_up`]). The channel's catch-up mark is saved before the
    /// turn when the channel is new, and moved past the message after it.
    async fn answer(&self, http: &Http, msg: &Message, in_guild: bool, turn: Turn) {
        let channel = msg.channel_id.get();
        let id = msg.id.get();
        let arrived = self.marks_lock().arrived(channel, in_guild, id, now_ms());
        if arrived {
            self.save_marks().await;
        }
        self.turn_and_send(http, msg, in_guild, turn).await;
        let handled = self.marks_lock().handled(channel, in_guild, id, now_ms());
        if handled {
            self.save_marks().await;
        }
    }

    async fn turn_and_send(&self, http: &Http, msg: &Message, in_guild: bool, turn: Turn) {
        let key = turn.key.clone();
        let event_id = turn.event_id.clone();
        // In a channel the answer replies to the question, so it is clear whom it is for.
        let reference = in_guild.then_some((msg.channel_id, msg.id));
        let to = Queued {
            channel: msg.channel_id.get(),
            in_guild,
            user: msg.author.id.get(),
            quote: reference.map(|(_, id)| id.get()),
            nonce: msg.id.get().to_string(),
            messages: Vec::new(),
        };
        let nonce = to.nonce.clone();
        let outcome = self.run_turn(turn, to).await;
        let queued = matches!(outcome, Ok(Some(Outcome::Reply(_))));
        let outgoing = self.outgoing(&key, outcome);
        match post(http, msg.channel_id, outgoing, reference, Some(&nonce)).await {
            Ok(()) => {}
            Err(error) if missing_permission(&error) => {
                self.cannot_post(http, msg.channel_id, msg.author.id).await;
            }
            Err(error) => {
                // Still queued: sent again at the next start.
                tracing::warn!(%error, "cannot send the answer");
                return;
            }
        }
        if queued {
            self.mark_sent(event_id).await;
        }
    }

    fn marks_lock(&self) -> std::sync::MutexGuard<'_, Marks> {
        match self.marks.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Writes the catch-up marks to the state store; one write at a time, each with the
    /// marks as they are when it starts, so an older copy never lands after a newer one.
    async fn save_marks(&self) {
        let _saving = self.saving_marks.lock().await;
        let json = self.marks_lock().to_json();
        self.with_store("save where to catch up", move |store| {
            store.set_meta(catch_up::META_KEY, &json)
        })
        .await;
    }

    /// Places in the queues of the channels to catch up in, taken at READY before any
    /// `await`: what was missed there is handled before questions that arrive now.
    fn catch_up_tickets(&self) -> Vec<(u64, Mark, Ticket<'_>)> {
        let channels = self.marks_lock().to_read(now_ms());
        channels
            .into_iter()
            .map(|(channel, mark)| (channel, mark, self.lanes.ticket(channel)))
            .collect()
    }

    /// Reads back, in each channel the bot talks in, the messages after its mark, and handles
    /// those addressed to the bot that are younger than `discord.catch_up`: what Discord sent to a
    /// process that died before claiming it, or while none was connected (a new session is
    /// not sent what the old one missed). Handled twice, a message is answered once (claims).
    async fn catch_up(&self, http: &Http, tickets: Vec<(u64, Mark, Ticket<'_>)>) {
        let bot_id = self.bot_id.load(Ordering::Acquire);
        let cutoff = crate::store::forget_cutoff(now_ms(), self.catch_up_window);
        let (mut handled, mut too_old) = (0, 0);
        for (channel, mark, ticket) in tickets {
            if self.ctx.is_shutting_down() {
                // What is left stays behind its mark, for the next start.
                break;
            }
            let _lane = ticket.enter().await;
            let (read, newest) = read_after(http, channel, mark.after, cutoff).await;
            for msg in read {
                let Some(turn) = turn_of(&msg, mark.guild, bot_id) else {
                    continue;
                };
                if sent_ms(&msg) < cutoff {
                    too_old += 1;
                    continue;
                }
                tracing::debug!(user = %turn.key.user, "message missed while away");
                self.answer(http, &msg, mark.guild, turn).await;
                handled += 1;
            }
            let moved = self
                .marks_lock()
                .handled(channel, mark.guild, newest, now_ms());
            if moved {
                self.save_marks().await;
            }
        }
        if handled + too_old > 0 {
            // `handled`: answered now, or found answered already (claimed before a stop).
            tracing::info!(handled, too_old, "messages read back after a reconnection");
        }
    }

    /// The bot may not post where it was asked: the admin learns it from the log (once per
    /// channel), the person who asked from a private message, if they accept them.
    async fn cannot_post(&self, http: &Http, channel: ChannelId, author: UserId) {
        let first = match self.refused_channels.lock() {
            Ok(mut refused) => refused.insert(channel.get()),
            Err(poisoned) => poisoned.into_inner().insert(channel.get()),
        };
        if first {
            tracing::warn!(
                %channel,
                "Discord refused the bot a message in this channel: give it View Channel, \
                 Send Messages and Read Message History there (docs/discord.md)"
            );
        } else {
            tracing::debug!(%channel, "cannot post in this channel");
        }
        let engine = self.engine();
        let strings = engine.strings();
        let notice = text(&strings.cannot_post_text(), strings);
        let sent = match author.create_dm_channel(http).await {
            Ok(dm) => post(http, dm.id, notice, None, None).await,
            Err(error) => Err(error),
        };
        if let Err(error) = sent {
            tracing::debug!(%error, "cannot tell the user privately either");
        }
    }

    async fn on_click(&self, http: &Http, click: ComponentInteraction) {
        let engine = self.engine();
        let strings = engine.strings();
        let button = match decide::click(&click.data.custom_id, click.user.id.get()) {
            Click::Owner(button) => button,
            Click::NotYours => {
                respond_privately(
                    http,
                    Interacted::Click(&click),
                    &strings.not_your_menu,
                    strings,
                )
                .await;
                return;
            }
            Click::Unknown => {
                // A button of an older guichet: what it meant is lost, and how to go on is
                // what `/aide` says.
                self.answer_command(http, Interacted::Click(&click), Command::Help)
                    .await;
                return;
            }
        };
        // In line before the first `await`, answered after the acknowledgement.
        let ticket = self.lanes.ticket(click.channel_id.get());
        // The acknowledgement comes first, well within Discord's 3 s: deferred, so that the
        // original response is a new placeholder message, which the answer then fills by an
        // edit that can be repeated after a restart (an update would make the clicked menu
        // the original response, and the answer would erase it). A replayed click fails here
        // (already acknowledged) and is then dropped by the claim.
        let defer = CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new());
        let acknowledged = match click.create_response(http, defer).await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, "cannot acknowledge a click");
                false
            }
        };
        // The clicked menu is disabled meanwhile: cosmetic, and an edit that may wait for the
        // channel's rate limit, so the answer does not wait for it.
        let menu = async {
            if acknowledged {
                disable_menu(http, &click).await;
            }
        };
        let answer = self.answer_click(http, &click, &button, ticket, acknowledged);
        tokio::join!(menu, answer);
    }

    /// The turn of a click by its owner, in its channel's lane, and its answer: through the
    /// interaction when it was acknowledged, else posted.
    async fn answer_click(
        &self,
        http: &Http,
        click: &ComponentInteraction,
        button: &super::custom_id::MenuButton,
        ticket: Ticket<'_>,
        acknowledged: bool,
    ) {
        let _lane = ticket.enter().await;
        let event_id = interaction::event_id(click.id.get());
        if !acknowledged {
            // No interaction to answer through: the answer is posted, if the channel allows
            // it, and not queued (nothing could send it again without duplicating it).
            let outgoing = match self.claim(event_id).await {
                Ok(true) => self.clicked(button).await,
                Ok(false) => return,
                Err(error) => text(&self.failed(&error), self.engine().strings()),
            };
            if let Err(error) = post(http, click.channel_id, outgoing, None, None).await {
                tracing::warn!(%error, "cannot send the answer to a click");
            }
            return;
        }
        let turn = Turn {
            key: button.key(),
            input: decide::pick(button),
            event_id,
        };
        self.interaction_turn(http, turn, Interacted::Click(click).answer())
            .await;
    }

    /// The turn of an acknowledged interaction (a click, a command) and its answer, laid out
    /// as any reply, queued with the interaction's token and sent through it.
    async fn interaction_turn(&self, http: &Http, turn: Turn, to: QueuedAnswer) {
        let key = turn.key.clone();
        let event_id = turn.event_id.clone();
        let outcome = self.queue_interaction_turn(turn, to.clone()).await;
        self.answer_interaction(http, &key, &event_id, to, outcome)
            .await;
    }

    /// The answer to a click by its owner, after the claim, when the click could not be
    /// acknowledged.
    async fn clicked(&self, button: &super::custom_id::MenuButton) -> Vec<Outgoing> {
        let key = button.key();
        // The engine finds the choice in the conversation within the turn: no read of the
        // state here that another turn could make stale.
        let outcome = self.handle(key.clone(), decide::pick(button)).await;
        self.outgoing(&key, outcome.map(Some))
    }

    async fn on_command(&self, http: &Http, command: CommandInteraction) {
        let which = decide::command(&command.data.name, self.engine().strings());
        self.answer_command(http, Interacted::Command(&command), which)
            .await;
    }

    /// Answers `which` through the interaction: the command is the engine's, as typed on
    /// Matrix (`!guichet role`), and the adapter only passes it on and sends the reply.
    async fn answer_command(&self, http: &Http, interacted: Interacted<'_>, which: Command) {
        // Defer first: the engine and the store answer in milliseconds, but the 3 s deadline
        // must hold on a slow disk, or behind earlier turns of the channel, too. The deferred
        // placeholder is the original response the answer edits; a private answer's
        // placeholder is private, and so is the answer that fills it. A replayed command
        // fails here and is dropped by the claim.
        let ticket = self.lanes.ticket(interacted.channel().get());
        let mut placeholder = CreateInteractionResponseMessage::new();
        if which.is_private() {
            placeholder = placeholder.ephemeral(true);
        }
        let deferred = interacted
            .respond(http, CreateInteractionResponse::Defer(placeholder))
            .await;
        let _lane = ticket.enter().await;
        let event_id = interaction::event_id(interacted.id());
        if let Err(error) = deferred {
            // Nothing to answer through; a replay (claimed already) is no news.
            if !matches!(self.claim(event_id).await, Ok(false)) {
                tracing::warn!(%error, "cannot acknowledge an interaction");
            }
            return;
        }
        let turn = Turn {
            key: interacted.key(),
            input: which.input(),
            event_id,
        };
        let to = interacted.answer().private(which.is_private());
        self.interaction_turn(http, turn, to).await;
    }

    async fn register_commands(&self, http: &Http) {
        let mut registered = self.commands_registered.lock().await;
        if *registered {
            return;
        }
        let engine = self.engine();
        let strings = engine.strings();
        let commands: Vec<CreateCommand> = Command::ALL
            .into_iter()
            .map(|c| CreateCommand::new(c.name(strings)).description(c.description(strings)))
            .collect();
        let result = if self.guild_ids.is_empty() {
            serenity::all::Command::set_global_commands(http, commands)
                .await
                .map(drop)
        } else {
            let mut result = Ok(());
            for guild in &self.guild_ids {
                if let Err(error) = GuildId::new(*guild)
                    .set_commands(http, commands.clone())
                    .await
                {
                    result = Err(error);
                }
            }
            result
        };
        match result {
            Ok(()) => {
                *registered = true;
                tracing::info!(guilds = self.guild_ids.len(), "slash commands registered");
            }
            // Tried again at the next READY.
            Err(error) => tracing::warn!(%error, "cannot register the slash commands"),
        }
    }
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Serenity, ready: Ready) {
        self.bot_id.store(ready.user.id.get(), Ordering::Release);
        // Every READY is a new session, which Discord does not send what the last one (or
        // the last process) missed: read it back, ahead of what arrives from now on.
        let tickets = self.catch_up_tickets();
        self.ctx.status.set_connected(PLATFORM, true);
        tracing::info!(guilds = ready.guilds.len(), "connected to Discord");
        self.register_commands(&ctx.http).await;
        if !self.resent.swap(true, Ordering::AcqRel) {
            self.resend_pending(&ctx.http).await;
        }
        self.catch_up(&ctx.http, tickets).await;
    }

    async fn resume(&self, _ctx: Serenity, _event: ResumedEvent) {
        self.ctx.status.set_connected(PLATFORM, true);
        tracing::info!("Discord session resumed");
    }

    async fn shard_stage_update(&self, _ctx: Serenity, event: ShardStageUpdateEvent) {
        let connected = matches!(event.new, ConnectionStage::Connected);
        self.ctx.status.set_connected(PLATFORM, connected);
        if !connected {
            tracing::debug!(stage = %event.new, "Discord connection");
        }
    }

    #[tracing::instrument(skip_all, fields(platform = PLATFORM, channel = %msg.channel_id))]
    async fn message(&self, ctx: Serenity, msg: Message) {
        if self.ctx.is_shutting_down() {
            return;
        }
        self.on_message(&ctx.http, msg).await;
    }

    #[tracing::instrument(skip_all, fields(platform = PLATFORM))]
    async fn interaction_create(&self, ctx: Serenity, interaction: Interaction) {
        if self.ctx.is_shutting_down() {
            return;
        }
        match interaction {
            Interaction::Component(click) => self.on_click(&ctx.http, click).await,
            Interaction::Command(command) => self.on_command(&ctx.http, command).await,
            _ => {}
        }
    }
}

/// What a message means for the bot (`None`: not for it), `in_guild` said by the caller:
/// messages read over REST carry no `guild_id`.
fn turn_of(msg: &Message, in_guild: bool, bot_id: u64) -> Option<Turn> {
    let mentions: Vec<u64> = msg.mentions.iter().map(|u| u.id.get()).collect();
    let incoming = IncomingMessage {
        id: msg.id.get(),
        channel_id: msg.channel_id.get(),
        in_guild,
        author_id: msg.author.id.get(),
        author_is_bot: msg.author.bot || msg.webhook_id.is_some(),
        is_chat: matches!(msg.kind, MessageType::Regular | MessageType::InlineReply),
        content: &msg.content,
        mentions: &mentions,
        replied_to: msg.referenced_message.as_ref().map(|m| m.author.id.get()),
    };
    decide::message(&incoming, bot_id)
}

/// The messages of `channel` after message `after` and not older than `cutoff_ms`, oldest
/// first, and the newest id read (`after` if none). A channel the bot may no longer see, or
/// read (no Read Message History: Discord then lists nothing), gives nothing.
///
/// One request (`?after=`) when fewer than a page came since; more, and the channel is read
/// back from its newest message (`?before=`, page after page, each newest first) down to the
/// mark or the cutoff, so that a busy channel's recent questions are the ones read, within
/// [`catch_up::MAX_PAGES`].
async fn read_after(http: &Http, channel: u64, after: u64, cutoff_ms: i64) -> (Vec<Message>, u64) {
    let channel_id = ChannelId::new(channel.max(1));
    let get = |builder: GetMessages| async move {
        match retrying(|| channel_id.messages(http, builder)).await {
            Ok(page) => Some(page),
            Err(error) => {
                tracing::debug!(%error, %channel, "cannot read back a channel");
                None
            }
        }
    };
    let first = GetMessages::new()
        .after(MessageId::new(after.max(1)))
        .limit(catch_up::PAGE);
    let Some(mut read) = get(first).await else {
        return (Vec::new(), after);
    };
    if read.len() >= usize::from(catch_up::PAGE) {
        read.clear();
        let mut before: Option<MessageId> = None;
        for page_number in 0..catch_up::MAX_PAGES {
            let mut builder = GetMessages::new().limit(catch_up::PAGE);
            if let Some(before) = before {
                builder = builder.before(before);
            }
            let Some(page) = get(builder).await else {
                break;
            };
            let last_page = page.len() < usize::from(catch_up::PAGE);
            before = page.iter().map(|m| m.id).min();
            let reached = page
                .iter()
                .any(|m| m.id.get() <= after || sent_ms(m) < cutoff_ms);
            read.extend(page.into_iter().filter(|m| m.id.get() > after));
            if last_page || reached {
                break;
            }
            if page_number + 1 == catch_up::MAX_PAGES {
                tracing::warn!(
                    %channel,
                    "too many messages since the bot last read this channel: the oldest are \
                     not read back"
                );
            }
        }
    }
    read.sort_by_key(|m| m.id);
    read.dedup_by_key(|m| m.id);
    let newest = read.iter().map(|m| m.id.get()).fold(after, u64::max);
    (read, newest)
}

/// A plain text answer.
fn text(content: &str, strings: &Strings) -> Vec<Outgoing> {
    crate::render::discord(content, &[], 1, None, strings)
        .into_iter()
        .map(|content| Outgoing {
            content,
            rows: Vec::new(),
        })
        .collect()
}

fn rows(outgoing: &Outgoing) -> Vec<CreateActionRow> {
    outgoing
        .rows
        .iter()
        .map(|row| {
            CreateActionRow::Buttons(
                row.iter()
                    .map(|b| {
                        CreateButton::new(b.custom_id.clone())
                            .label(b.label.clone())
                            .style(ButtonStyle::Primary)
                    })
                    .collect(),
            )
        })
        .collect()
}

/// The clicked message's buttons, all disabled, the clicked one in green.
fn disabled(components: &[serenity::all::ActionRow], clicked: &str) -> Vec<CreateActionRow> {
    components
        .iter()
        .map(|row| {
            CreateActionRow::Buttons(
                row.components
                    .iter()
                    .filter_map(|component| match component {
                        ActionRowComponent::Button(button) => {
                            let is_clicked = matches!(&button.data,
                                serenity::all::ButtonKind::NonLink { custom_id, .. } if custom_id == clicked);
                            let mut create = CreateButton::from(button.clone()).disabled(true);
                            if is_clicked {
                                create = create.style(ButtonStyle::Success);
                            }
                            Some(create)
                        }
                        _ => None,
                    })
                    .collect(),
            )
        })
        .collect()
}

/// Posts messages in order; the first one replies to `reference`.
/// Posts `outgoing` in `channel`, the first message quoting `reference`. With `nonce`,
/// message `i` carries the nonce `{nonce}.{i}`, enforced: Discord creates no second message
/// for a nonce it saw from us in the last few minutes (an answer sent again after a restart).
async fn post(
    http: &Http,
    channel: ChannelId,
    outgoing: Vec<Outgoing>,
    reference: Option<(ChannelId, MessageId)>,
    nonce: Option<&str>,
) -> Result<(), serenity::Error> {
    for (i, message) in outgoing.iter().enumerate() {
        let mut create = CreateMessage::new()
            .components(rows(message))
            .allowed_mentions(no_mentions());
        if let Some(nonce) = nonce {
            create = create
                .nonce(Nonce::String(format!("{nonce}.{i}")))
                .enforce_nonce(true);
        }
        if !message.content.is_empty() {
            create = create.content(message.content.clone());
        }
        let quoting = reference.filter(|_| i == 0);
        let quoted = quoting.map(|reference| {
            // The question may be deleted meanwhile: answer anyway, unquoted.
            create
                .clone()
                .reference_message(MessageReference::from(reference).fail_if_not_exists(false))
        });
        let sent = send_one(http, channel, quoted.as_ref().unwrap_or(&create)).await;
        match sent {
            // Quoting needs Read Message History; the answer matters more than the quote.
            Err(error) if quoting.is_some() && discord_code(&error) == Some(160_002) => {
                send_one(http, channel, &create).await?;
            }
            sent => {
                sent?;
            }
        }
    }
    Ok(())
}

/// Sends one message, waiting out 429s: serenity's rate limiter does when it is on; through
/// `api_base` (its proxy mode, limiter off) [`direct`] does, for the time each 429 asks.
async fn send_one(
    http: &Http,
    channel: ChannelId,
    message: &CreateMessage,
) -> Result<(), serenity::Error> {
    match &http.proxy {
        Some(proxy) => direct::send_message(http, proxy, channel, message).await,
        None => retrying(|| channel.send_message(http, message.clone()))
            .await
            .map(drop),
    }
}

/// When a message was sent, in Unix milliseconds.
fn sent_ms(message: &Message) -> i64 {
    message.timestamp.unix_timestamp().saturating_mul(1000)
}

/// Discord's JSON error code of a refused call.
fn discord_code(error: &serenity::Error) -> Option<isize> {
    match error {
        serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(response)) => {
            Some(response.error.code)
        }
        _ => None,
    }
}

/// Whether Discord refused a post for the bot's permissions in the channel: Missing Access
/// (no View Channel) or Missing Permissions (no Send Messages).
fn missing_permission(error: &serenity::Error) -> bool {
    matches!(discord_code(error), Some(50_001 | 50_013))
}

/// At most this many tries of one call refused with 429 (rate limited): about 40 s of
/// waiting in all, well beyond the few seconds a bucket for messages lasts on Discord.
pub(super) const RATE_LIMITED_TRIES: u32 = 14;
/// The wait before the first try again, doubled each time up to [`RATE_LIMITED_MAX_WAIT`].
/// Discord's 429 says how long to wait (`retry_after`, and `global`), but serenity's error
/// keeps neither that body nor the headers. serenity's own rate limiter (on in production and
/// in `tests/discord.rs`) reads them, waits and tries again before we see anything, so this
/// is the fallback: for a 429 without `Retry-After`, and, through `api_base` (serenity 0.12.5
/// can send to another host only with its limiter off), for the calls other than answers
/// (channel messages, interaction edits and follow-ups), which [`direct`] sends itself and
/// waits out as each 429 asks.
const RATE_LIMITED_WAIT: std::time::Duration = std::time::Duration::from_millis(250);
const RATE_LIMITED_MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(4);

/// Runs a Discord call, trying again when it was refused as rate limited (a refused call
/// was not performed, so trying again sends nothing twice): an answer is never lost to a
/// 429.
async fn retrying<T, F, Fut>(mut call: F) -> Result<T, serenity::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, serenity::Error>>,
{
    let mut wait = RATE_LIMITED_WAIT;
    let mut tries = 1;
    loop {
        match call().await {
            Err(error) if tries < RATE_LIMITED_TRIES && rate_limited(&error) => {
                tracing::debug!(tries, "rate limited by Discord: trying again");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RATE_LIMITED_MAX_WAIT);
                tries += 1;
            }
            other => return other,
        }
    }
}

/// Whether Discord refused a call as rate limited.
fn rate_limited(error: &serenity::Error) -> bool {
    matches!(
        error,
        serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(response))
            if response.status_code.as_u16() == 429
    )
}

/// What became of an interaction's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivered {
    Sent,
    /// Refused for good (the token expired): out of the outbox.
    Dropped,
    /// Not sent, left in the outbox for the next start.
    Failed,
}

/// Disables the clicked menu's buttons, the chosen one in green, so it is clear what was
/// picked and it is not picked twice. Cosmetic, and an edit of the bot's own message that can
/// be repeated: a refusal (a message Discord does not let the bot edit) is only logged.
async fn disable_menu(http: &Http, click: &ComponentInteraction) {
    let edit =
        EditMessage::new().components(disabled(&click.message.components, &click.data.custom_id));
    let edited = retrying(|| {
        click
            .channel_id
            .edit_message(http, click.message.id, edit.clone())
    })
    .await;
    if let Err(error) = edited {
        tracing::debug!(%error, "cannot disable a clicked menu");
    }
}

/// The interaction being answered: a click or a slash command.
#[derive(Clone, Copy)]
enum Interacted<'a> {
    Click(&'a ComponentInteraction),
    Command(&'a CommandInteraction),
}

impl Interacted<'_> {
    fn id(self) -> u64 {
        match self {
            Interacted::Click(click) => click.id.get(),
            Interacted::Command(command) => command.id.get(),
        }
    }

    fn channel(self) -> ChannelId {
        match self {
            Interacted::Click(click) => click.channel_id,
            Interacted::Command(command) => command.channel_id,
        }
    }

    /// The conversation of the person who interacted, where they did.
    fn key(self) -> ConversationKey {
        let (channel, guild, user) = match self {
            Interacted::Click(click) => (click.channel_id, click.guild_id, &click.user),
            Interacted::Command(command) => (command.channel_id, command.guild_id, &command.user),
        };
        decide::key(channel.get(), guild.is_some(), user.id.get())
    }

    /// An answer through this interaction's token, nothing in it yet.
    fn answer(self) -> QueuedAnswer {
        match self {
            Interacted::Click(click) => {
                QueuedAnswer::new(click.application_id.get(), click.token.clone())
            }
            Interacted::Command(command) => {
                QueuedAnswer::new(command.application_id.get(), command.token.clone())
            }
        }
    }

    async fn respond(
        self,
        http: &Http,
        response: CreateInteractionResponse,
    ) -> Result<(), serenity::Error> {
        match self {
            Interacted::Click(click) => click.create_response(http, response).await,
            Interacted::Command(command) => command.create_response(http, response).await,
        }
    }

    async fn follow_up(
        self,
        http: &Http,
        followup: CreateInteractionResponseFollowup,
    ) -> Result<(), serenity::Error> {
        match self {
            Interacted::Click(click) => click.create_followup(http, followup).await.map(drop),
            Interacted::Command(command) => command.create_followup(http, followup).await.map(drop),
        }
    }
}

/// A text only the user sees, as the interaction's response; a text over Discord's limit
/// goes on in private follow-ups.
async fn respond_privately(
    http: &Http,
    interacted: Interacted<'_>,
    content: &str,
    strings: &Strings,
) {
    let parts = text(content, strings);
    let mut parts = parts.into_iter().map(|part| part.content);
    let first = parts.next().unwrap_or_default();
    let message = CreateInteractionResponseMessage::new()
        .content(first)
        .ephemeral(true)
        .allowed_mentions(no_mentions());
    if let Err(error) = interacted
        .respond(http, CreateInteractionResponse::Message(message))
        .await
    {
        tracing::warn!(%error, "cannot answer an interaction");
        return;
    }
    for part in parts {
        let followup = CreateInteractionResponseFollowup::new()
            .content(part)
            .ephemeral(true)
            .allowed_mentions(no_mentions());
        let followup = &followup;
        if let Err(error) = retrying(|| interacted.follow_up(http, followup.clone())).await {
            tracing::warn!(%error, "cannot send the rest of a private answer");
            return;
        }
    }
}
