//! The Discord adapter end to end, against the protocol fake in `crates/fake-discord`: the
//! real serenity client, over HTTP and websocket on 127.0.0.1, with Discord's rules enforced
//! and every dispatch checked with serenity's own types. One scenario per test; waits are
//! bounded (the fake's `wait_for` re-checks on every change, no polling, no sleeps).

#![cfg(feature = "discord")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use fake_discord::{Config, FakeDiscord, FakeMessage, intents};
use guichet::config::{DiscordSettings, Secret};
use guichet::engine::{Engine, MatchingMode};
use guichet::platform::discord::{self, DiscordError, StartOptions};
use guichet::service::{Bot, DEFAULT_IDLE_RESET};
use guichet::service::{Context, Status};
use guichet::store::{
    ConversationKey, MemoryStore, PendingReply, Result as StoreResult, StateStore,
    StoredConversation,
};
use guichet::strings::Strings;
use tokio::sync::watch;
use tokio::task::JoinHandle;

const TOKEN: &str = "fake-token";

/// A choice label over Discord's 80-character limit for buttons.
const LONG_LABEL: &str =
    "Les horaires d'ouverture du secrétariat, de la vie scolaire et du CDI pendant les vacances";

/// How the adapter shows [`LONG_LABEL`]: cut to 80 characters, with an ellipsis.
fn long_label_cut() -> String {
    let cut: String = LONG_LABEL.chars().take(79).collect();
    format!("{}…", cut.trim_end())
}

/// A small knowledge base with every shape the adapter must handle: a welcome with profile
/// choices, an ordinary menu, an answer over 2,000 characters, and 27 choices.
fn knowledge_base() -> String {
    let paragraph = "Cette réponse est longue. ".repeat(36);
    let subjects: String = (1..=27)
        .map(|i| format!("{i}. [Sujet {i}](Sujet {i})\n"))
        .collect();
    let subject_answers: String = (1..=27)
        .map(|i| format!("## Sujet {i}\n- sujet numero {i}\nRéponse au sujet {i}.\n"))
        .collect();
    format!(
        "---\ncontenuDynamique: true\n---\n# Guichet de test\nBonjour ! Qui êtes-vous ?\n\
         1. [Enseignant @role=prof](Menu)\n2. [Direction @role=direction](Menu)\n\
         3. [Tous les sujets](Tous les sujets)\n\n\
         ## Menu\n- menu profil\nQue voulez-vous savoir ?\n1. [Horaires](Horaires)\n\
         2. [Réponse longue](Longue)\n3. [{LONG_LABEL}](Horaires)\n\n\
         ## Horaires\n- horaires\n- heures d'ouverture\nDe 8 h à 17 h.\n\n\
         ## Longue\n- longue\n{paragraph}\n\n{paragraph}\n\n{paragraph}\n\n\
         1. [Horaires](Horaires)\n\n\
         ## Tous les sujets\n- tous les sujets\nVoici tous les sujets :\n{subjects}\n\
         {subject_answers}"
    )
}

fn context_with(
    store: Arc<dyn StateStore>,
    shutdown: watch::Receiver<bool>,
    strings: Strings,
) -> Context {
    let checked = guichet::kb::parse_str("test.md", &knowledge_base());
    let kb = checked.kb.expect("the test knowledge base parses");
    let engine = Engine::new(Arc::new(kb), MatchingMode::Guichet, strings);
    Context {
        bot: Arc::new(Bot::new(engine, store, DEFAULT_IDLE_RESET)),
        status: Arc::new(Status::new()),
        throttle: None,
        shutdown,
        throttle_notice: Strings::default().throttled,
        stats: None,
    }
}

/// The fake, a guild with a channel, two users, and the adapter running against them.
struct Scene {
    fake: FakeDiscord,
    guild: u64,
    channel: u64,
    ana: u64,
    bob: u64,
    store: Arc<dyn StateStore>,
    adapter: Adapter,
}

struct Adapter {
    shutdown: watch::Sender<bool>,
    task: JoinHandle<Result<(), DiscordError>>,
    status: Arc<Status>,
}

/// The configuration production has: no `api_base`, so serenity keeps `https://discord.com`
/// and its rate limiter; [`spawn_adapter`] makes that name lead to the fake.
fn settings(guild: u64, message_content: bool) -> DiscordSettings {
    DiscordSettings {
        token: Secret::new(TOKEN),
        guild_ids: vec![guild],
        message_content,
        catch_up: guichet::config::DEFAULT_CATCH_UP,
        api_base: None,
    }
}

fn spawn_adapter(
    fake: &FakeDiscord,
    settings: DiscordSettings,
    store: Arc<dyn StateStore>,
) -> Adapter {
    spawn_adapter_with(fake, settings, store, Strings::default())
}

/// The adapter as the daemon starts it, with an HTTP client for which `discord.com` is the
/// fake (over HTTPS, its certificate trusted).
fn spawn_adapter_with(
    fake: &FakeDiscord,
    settings: DiscordSettings,
    store: Arc<dyn StateStore>,
    strings: Strings,
) -> Adapter {
    let (shutdown, rx) = watch::channel(false);
    let ctx = context_with(store, rx, strings);
    let status = ctx.status.clone();
    let options = StartOptions {
        http_client: Some(fake.discord_client().expect("an HTTPS client for the fake")),
    };
    let task = tokio::spawn(discord::run_with(settings, ctx, options));
    Adapter {
        shutdown,
        task,
        status,
    }
}

impl Adapter {
    /// Shuts the adapter down and checks it returned `Ok` promptly.
    async fn stop(self) {
        self.shutdown.send(true).unwrap();
        let result = tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the adapter stops on shutdown")
            .unwrap();
        result.unwrap();
    }
}

fn fake_config() -> Config {
    Config {
        token: TOKEN.to_owned(),
        heartbeat_interval: Duration::from_millis(500),
        ..Config::default()
    }
}

async fn scene() -> Scene {
    scene_with(fake_config()).await
}

async fn scene_with(config: Config) -> Scene {
    let fake = FakeDiscord::start(config).await.unwrap();
    let guild = fake.add_guild();
    let channel = fake.add_channel(guild);
    let ana = fake.add_user("ana");
    let bob = fake.add_user("bob");
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let adapter = spawn_adapter(&fake, settings(guild, false), store.clone());
    fake.wait_ready().await;
    Scene {
        fake,
        guild,
        channel,
        ana,
        bob,
        store,
        adapter,
    }
}

impl Scene {
    fn mention(&self) -> String {
        format!("<@{}>", self.fake.bot_id())
    }

    /// Ana mentions the bot with `text` and gets the `n`-th bot message in the channel.
    async fn ask(&self, text: &str, n: usize) -> FakeMessage {
        self.fake.say(
            self.ana,
            self.channel,
            &format!("{} {text}", self.mention()),
        );
        let messages = self.fake.wait_bot_messages(self.channel, n).await;
        messages.last().cloned().unwrap()
    }

    /// Everything went to the fake, and nothing the fake does not know was called.
    fn assert_clean(&self) {
        assert!(
            self.fake.violations().is_empty(),
            "{:#?}",
            self.fake.violations()
        );
        assert!(
            self.fake.unknown_routes().is_empty(),
            "{:#?}",
            self.fake.unknown_routes()
        );
        // A 429 is Discord's ordinary "wait", answered by sending again.
        for call in self.fake.rest_calls() {
            assert!(
                call.status < 400 || call.status == 429,
                "refused: {call:#?}"
            );
        }
        assert_discord_urls(&self.fake);
    }

    async fn finish(self) {
        self.assert_clean();
        self.adapter.stop().await;
    }
}

/// Every REST call came as serenity sends to Discord itself, `https://discord.com/api/v10/…`,
/// not through its proxy mode (`api_base`), which turns its rate limiter off.
fn assert_discord_urls(fake: &FakeDiscord) {
    for call in fake.rest_calls() {
        assert!(
            call.tls && call.host.as_deref() == Some("discord.com"),
            "not to https://discord.com: {call:#?}"
        );
    }
}

fn labels(message: &FakeMessage) -> Vec<String> {
    message.buttons().into_iter().map(|b| b.label).collect()
}

/// Whether a dispatch is the MESSAGE_CREATE of message `id`.
fn creates(dispatch: &serde_json::Value, id: u64) -> bool {
    dispatch["t"] == "MESSAGE_CREATE" && dispatch["d"]["id"].as_str() == Some(&id.to_string())
}

/// The private messages `user` sees once the engine's help has filled its placeholder.
async fn wait_private_help(fake: &FakeDiscord, user: u64) -> Vec<FakeMessage> {
    fake.wait_for("the help, filled in", |f| {
        let shown = f.ephemeral_messages(user);
        shown
            .iter()
            .any(|m| !m.loading && m.content.contains("/menu"))
            .then_some(shown)
    })
    .await
}

/// Nobody may be pinged by the bot: `allowed_mentions` with nothing allowed.
fn assert_no_pings(message: &FakeMessage) {
    let allowed = message
        .allowed_mentions
        .as_ref()
        .expect("allowed_mentions sent");
    assert_eq!(allowed["parse"], serde_json::json!([]), "{allowed}");
    assert_eq!(allowed["replied_user"], false, "{allowed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_gets_the_welcome_with_buttons_and_everything_went_to_the_fake() {
    let scene = scene().await;
    let fake = &scene.fake;

    // serenity asked the fake for the gateway, authenticated, and connected there.
    let calls = fake.rest_calls();
    let gateway = calls.iter().find(|c| c.path == "/api/v10/gateway").unwrap();
    assert_eq!(gateway.status, 200);
    assert_eq!(gateway.authorization.as_deref(), Some("Bot fake-token"));
    assert!(
        gateway
            .user_agent
            .as_deref()
            .unwrap()
            .starts_with("DiscordBot (")
    );
    assert_eq!(fake.connections()[0].uri, "/?v=10");
    let identify = fake
        .frames()
        .into_iter()
        .find(|(_, f)| f["op"] == 2)
        .unwrap()
        .1;
    assert_eq!(
        identify["d"]["intents"],
        intents::GUILDS | intents::GUILD_MESSAGES | intents::DIRECT_MESSAGES
    );
    assert_eq!(identify["d"]["compress"], true);
    let mut commands = fake.commands();
    commands.sort();
    assert_eq!(
        commands,
        [
            ("aide".to_owned(), Some(scene.guild)),
            ("menu".to_owned(), Some(scene.guild)),
            ("role".to_owned(), Some(scene.guild)),
        ]
    );
    assert!(scene.adapter.status.healthy());

    let question = fake.say(scene.ana, scene.channel, &scene.mention());
    let welcome = &fake.wait_bot_messages(scene.channel, 1).await[0];
    assert!(
        welcome.content.contains("Qui êtes-vous ?"),
        "{}",
        welcome.content
    );
    assert_eq!(welcome.reference, Some(question));
    assert_eq!(
        labels(welcome),
        ["Enseignant", "Direction", "Tous les sujets"]
    );
    assert_eq!(welcome.row_sizes(), [3]);
    assert_no_pings(welcome);
    for button in welcome.buttons() {
        assert!(button.custom_id.len() <= 100);
        assert!(button.custom_id.starts_with("g1:"), "{}", button.custom_id);
    }
    scene.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_gets_the_answer_as_a_new_message_and_disables_the_clicked_menu() {
    let scene = scene().await;
    let fake = &scene.fake;
    let welcome = scene.ask("", 1).await;

    let click = fake
        .click_label(scene.ana, welcome.id, "Enseignant")
        .unwrap();
    let interaction = fake.wait_response(click).await;
    assert_eq!(
        interaction.response,
        Some(5),
        "deferred: a placeholder that the answer then fills"
    );
    assert!(interaction.responded_after.unwrap() < Duration::from_secs(3));
    assert!(interaction.refused.is_empty(), "{:?}", interaction.refused);

    let answer = fake.wait_bot_messages(scene.channel, 2).await[1].clone();
    assert!(
        answer.content.contains("Que voulez-vous savoir"),
        "{}",
        answer.content
    );
    assert_eq!(
        labels(&answer),
        [
            "Horaires".to_owned(),
            "Réponse longue".to_owned(),
            long_label_cut()
        ]
    );
    assert!(LONG_LABEL.chars().count() > 80);
    assert_eq!(long_label_cut().chars().count(), 80);
    assert_no_pings(&answer);
    assert_eq!(
        Some(answer.id),
        interaction.response_message,
        "the answer is the original response, edited"
    );
    assert_eq!(answer.interaction, Some(click));

    // Disabled alongside the answer, which does not wait for it.
    let clicked = fake
        .wait_for("the clicked menu disabled", |f| {
            f.message(welcome.id)
                .filter(|m| m.buttons().iter().all(|b| b.disabled))
        })
        .await;
    let styles: Vec<u64> = clicked.buttons().iter().map(|b| b.style).collect();
    assert_eq!(styles, [3, 1, 1], "the chosen button is marked");
    assert!(
        fake.click_label(scene.ana, welcome.id, "Direction")
            .is_err(),
        "a disabled menu cannot be clicked again"
    );

    // The next menu's buttons work the same way.
    let click = fake.click_label(scene.ana, answer.id, "Horaires").unwrap();
    fake.wait_response(click).await;
    let hours = fake.wait_bot_messages(scene.channel, 3).await[2].clone();
    assert!(
        hours.content.contains("De 8 h à 17 h."),
        "{}",
        hours.content
    );
    scene.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typed_number_or_label_picks_like_a_click() {
    let scene = scene().await;
    let fake = &scene.fake;
    scene.ask("", 1).await;
    let menu = scene.ask("1", 2).await;
    assert!(
        menu.content.contains("Que voulez-vous savoir"),
        "{}",
        menu.content
    );
    // A reply to the bot (with its ping, so the text is delivered) continues the conversation.
    fake.reply(scene.ana, scene.channel, menu.id, "horaires", true);
    let hours = fake.wait_bot_messages(scene.channel, 3).await[2].clone();
    assert!(
        hours.content.contains("De 8 h à 17 h."),
        "{}",
        hours.content
    );
    scene.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_is_answered_once_and_the_bots_own_messages_are_ignored() {
    let scene = scene().await;
    let fake = &scene.fake;
    let dm = fake.dm_channel(scene.ana);
    fake.say(scene.ana, dm, "bonjour");
    let welcome = fake.wait_bot_messages(dm, 1).await[0].clone();
    assert!(welcome.content.contains("Qui êtes-vous ?"));
    assert_eq!(welcome.reference, None, "no reply quote in a DM");
    // The bot's own message came back as MESSAGE_CREATE; answering it would loop. The next
    // question is a barrier: its answer comes after any answer to the echo would have.
    fake.say(scene.ana, dm, "2");
    let messages = fake.wait_bot_messages(dm, 2).await;
    assert!(messages[1].content.contains("Que voulez-vous savoir"));
    assert_eq!(fake.bot_messages(dm).len(), 2);
    // Buttons in a DM carry an empty scope and work.
    let click = fake
        .click_label(scene.ana, messages[1].id, "Horaires")
        .unwrap();
    fake.wait_response(click).await;
    let hours = fake.wait_bot_messages(dm, 3).await[2].clone();
    assert!(hours.content.contains("De 8 h à 17 h."));
    scene.finish().await;
}

/// Issue 16: against a Discord that answers 429 (rate limited), answers were lost and never
/// sent again. A 429 means the message was not made: the bot sends it again after a wait,
/// so every question gets its answer exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_refused_as_rate_limited_are_sent_again_once() {
    let scene = scene().await;
    let fake = &scene.fake;
    let dm = fake.dm_channel(scene.ana);
    fake.rate_limit_next_posts(3);
    fake.say(scene.ana, dm, "bonjour");
    let welcome = fake.wait_bot_messages(dm, 1).await[0].clone();
    assert!(
        welcome.content.contains("Qui êtes-vous ?"),
        "{}",
        welcome.content
    );
    let refused = fake
        .rest_calls()
        .iter()
        .filter(|c| c.method == "POST" && c.status == 429)
        .count();
    assert_eq!(refused, 3, "the fake refused three posts");
    // The next question is a barrier: a second copy of the welcome would come before it.
    fake.say(scene.ana, dm, "2");
    let messages = fake.wait_bot_messages(dm, 2).await;
    assert!(messages[1].content.contains("Que voulez-vous savoir"));
    assert_eq!(fake.bot_messages(dm).len(), 2, "each answer once");
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
    for call in fake.rest_calls() {
        assert!(
            call.status < 400 || call.status == 429,
            "refused: {call:#?}"
        );
    }
    scene.adapter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_click_gets_an_ephemeral_refusal() {
    let scene = scene().await;
    let fake = &scene.fake;
    let welcome = scene.ask("", 1).await;
    let click = fake
        .click_label(scene.bob, welcome.id, "Direction")
        .unwrap();
    let interaction = fake.wait_response(click).await;
    assert_eq!(interaction.response, Some(4));
    let refusal = fake.ephemeral_messages(scene.bob);
    assert_eq!(refusal.len(), 1);
    assert!(
        refusal[0].content.contains("quelqu'un d'autre"),
        "{}",
        refusal[0].content
    );
    // Ana's menu is untouched and still hers.
    let menu = fake.message(welcome.id).unwrap();
    assert!(menu.buttons().iter().all(|b| !b.disabled));
    assert_eq!(fake.visible_messages(scene.channel).len(), 2);
    let click = fake
        .click_label(scene.ana, welcome.id, "Direction")
        .unwrap();
    assert_eq!(fake.wait_response(click).await.response, Some(5));
    fake.wait_bot_messages(scene.channel, 2).await;
    scene.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_answer_is_split_with_the_buttons_on_the_last_part() {
    let scene = scene().await;
    let fake = &scene.fake;
    fake.say(
        scene.ana,
        scene.channel,
        &format!("{} longue", scene.mention()),
    );
    // Wait for the last part: the one that carries the buttons.
    let parts = fake
        .wait_for("the last part with its buttons", |f| {
            let all = f.bot_messages(scene.channel);
            all.iter().any(|m| !m.buttons().is_empty()).then_some(all)
        })
        .await;
    assert!(parts.len() >= 2, "{parts:#?}");
    for part in &parts {
        assert!(part.content.chars().count() <= 2000);
        assert!(part.content.contains("Cette réponse est longue."));
    }
    let (last, first) = parts.split_last().unwrap();
    assert!(first.iter().all(|p| p.buttons().is_empty()));
    assert_eq!(labels(last), ["Horaires"]);
    assert!(parts[0].reference.is_some(), "the first part replies");
    scene.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_seven_choices_are_25_buttons_and_numbered_text() {
    let scene = scene().await;
    let menu = scene.ask("tous les sujets", 1).await;
    assert_eq!(menu.row_sizes(), [5, 5, 5, 5, 5]);
    assert_eq!(menu.buttons()[24].label, "Sujet 25");
    assert!(menu.content.contains("26. Sujet 26"), "{}", menu.content);
    assert!(menu.content.contains("27. Sujet 27"), "{}", menu.content);
    // The numbers listed as text can be typed.
    let answer = scene.ask("27", 2).await;
    assert!(
        answer.content.contains("Réponse au sujet 27."),
        "{}",
        answer.content
    );
    scene.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_drop_resumes_without_a_duplicate_answer() {
    let scene = scene().await;
    let fake = &scene.fake;
    scene.ask("", 1).await;

    // The connection drops; a question asked meanwhile is replayed on RESUME.
    fake.close_gateway(4000);
    let question = fake.say(
        scene.ana,
        scene.channel,
        &format!("{} horaires", scene.mention()),
    );
    let answers = fake.wait_bot_messages(scene.channel, 2).await;
    assert_eq!(answers[1].reference, Some(question));
    let connections = fake.connections();
    assert!(connections.len() >= 2);
    assert!(connections[1].resumed && !connections[1].identified);
    assert_eq!(fake.ready_count(), 1, "resumed, not identified again");

    // Discord delivers at least once: the next resume replays dispatches the bot already
    // handled, the question included. It must not be answered again.
    fake.set_replay_overlap(8);
    fake.request_reconnect();
    fake.wait_for("a second resume", |f| {
        (f.connections().iter().filter(|c| c.resumed).count() >= 2).then_some(())
    })
    .await;
    let replayed = fake
        .replayed()
        .iter()
        .filter(|d| creates(d, question))
        .count();
    assert_eq!(replayed, 2, "replayed by both resumes");
    // Barrier: a new question's answer comes after any duplicate would have.
    let barrier = scene.ask("tous les sujets", 3).await;
    assert!(
        barrier.content.contains("Voici tous les sujets"),
        "{}",
        barrier.content
    );
    let answers_to_question = fake
        .bot_messages(scene.channel)
        .iter()
        .filter(|m| m.reference == Some(question))
        .count();
    assert_eq!(answers_to_question, 1);
    assert_eq!(fake.bot_messages(scene.channel).len(), 3);
    scene.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_commands_help_menu_and_role() {
    let scene = scene().await;
    let fake = &scene.fake;

    // /aide: the engine's help, as `!guichet aide` on Matrix, in a deferred placeholder only
    // Ana sees, which the answer fills.
    let help = fake.run_command(scene.ana, scene.channel, "aide").unwrap();
    assert_eq!(fake.wait_response(help).await.response, Some(5));
    let shown = wait_private_help(fake, scene.ana).await;
    assert_eq!(shown.len(), 1, "{shown:#?}");
    assert!(fake.bot_messages(scene.channel).is_empty());

    // /menu: deferred, then the placeholder becomes the welcome with its buttons.
    let menu = fake.run_command(scene.ana, scene.channel, "menu").unwrap();
    assert_eq!(fake.wait_response(menu).await.response, Some(5));
    let welcome = fake.wait_bot_messages(scene.channel, 1).await[0].clone();
    assert!(welcome.content.contains("Qui êtes-vous ?"));
    assert_eq!(
        labels(&welcome),
        ["Enseignant", "Direction", "Tous les sujets"]
    );
    assert_no_pings(&welcome);

    // /role: the engine's profile menu (`!guichet role`), the profile choices alone; picking
    // one sets the role in Ana's conversation, through the engine.
    let role = fake.run_command(scene.ana, scene.channel, "role").unwrap();
    fake.wait_response(role).await;
    let profiles = fake.wait_bot_messages(scene.channel, 2).await[1].clone();
    assert!(
        profiles.content.contains("Choisissez votre profil"),
        "{}",
        profiles.content
    );
    assert_eq!(labels(&profiles), ["Enseignant", "Direction"]);
    let click = fake
        .click_label(scene.ana, profiles.id, "Direction")
        .unwrap();
    fake.wait_response(click).await;
    let menu = fake.wait_bot_messages(scene.channel, 3).await[2].clone();
    assert!(
        menu.content.contains("Que voulez-vous savoir"),
        "{}",
        menu.content
    );
    let key = ConversationKey::new("discord", scene.channel.to_string(), scene.ana.to_string());
    let stored = scene.store.load(&key).unwrap().expect("Ana's conversation");
    let state: serde_json::Value = serde_json::from_str(&stored.data).unwrap();
    let role = state["variables"]["role"]
        .as_str()
        .or_else(|| state["conversation"]["variables"]["role"].as_str());
    assert_eq!(role, Some("direction"), "{state}");

    assert!(fake.run_command(scene.ana, scene.channel, "help").is_err());
    scene.finish().await;
}

/// A button in a format guichet no longer reads (left by an older version): its click gets
/// the engine's help, privately, as `/aide` does; the old menu is left as it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_on_a_button_of_an_older_format_gets_the_help_privately() {
    let scene = scene().await;
    let fake = &scene.fake;
    let old = format!("g0:{}:{}:1:beef", scene.channel, scene.ana);
    let menu = fake.add_bot_menu(scene.channel, "Ancien menu", "Horaires", &old);
    let click = fake.click(scene.ana, menu, &old).unwrap();
    assert_eq!(fake.wait_response(click).await.response, Some(5));
    let shown = wait_private_help(fake, scene.ana).await;
    assert_eq!(shown.len(), 1, "{shown:#?}");
    assert_eq!(fake.bot_messages(scene.channel).len(), 1, "nothing public");
    assert!(
        fake.message(menu)
            .unwrap()
            .buttons()
            .iter()
            .all(|b| !b.disabled)
    );
    scene.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_registered_once_even_when_the_session_is_lost() {
    let scene = scene().await;
    let fake = &scene.fake;
    let puts = || {
        fake.rest_calls()
            .iter()
            .filter(|c| c.method == "PUT" && c.path.ends_with("/commands"))
            .count()
    };
    assert_eq!(puts(), 1);
    // 4009 (session timed out) is not resumable: serenity identifies again and gets READY.
    fake.close_gateway(4009);
    fake.wait_for("a second READY", |f| (f.ready_count() >= 2).then_some(()))
        .await;
    // The bot answers on the new session; by then the READY handler has run.
    scene.ask("", 1).await;
    assert_eq!(puts(), 1);
    scene.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_menu_gets_the_welcome_and_a_click_survives_a_restart() {
    let mut scene = scene().await;
    let fake = &scene.fake;
    let welcome = scene.ask("", 1).await;
    // Ana moves on by typing; the welcome's buttons are still there.
    let subjects = scene.ask("tous les sujets", 2).await;

    // After a restart (same store), a click on the current menu still works: the custom_id
    // carries the conversation.
    scene.adapter.stop().await;
    // The adapter closed normally (1000), which ends the session on Discord: no resume.
    fake.wait_for("the session ended", |f| {
        (f.resumable_sessions() == 0).then_some(())
    })
    .await;
    scene.adapter = spawn_adapter(fake, settings(scene.guild, false), scene.store.clone());
    fake.wait_for("READY again", |f| (f.ready_count() >= 2).then_some(()))
        .await;
    let click = fake.click_label(scene.ana, subjects.id, "Sujet 3").unwrap();
    assert_eq!(fake.wait_response(click).await.response, Some(5));
    let answer = fake.wait_bot_messages(scene.channel, 3).await[2].clone();
    assert!(
        answer.content.contains("Réponse au sujet 3."),
        "{}",
        answer.content
    );

    // The old welcome's choice is no longer offered: the welcome again, said so.
    let click = fake
        .click_label(scene.ana, welcome.id, "Enseignant")
        .unwrap();
    fake.wait_response(click).await;
    let again = fake.wait_bot_messages(scene.channel, 4).await[3].clone();
    assert!(
        again.content.starts_with("Ce menu n'est plus à jour"),
        "{}",
        again.content
    );
    assert!(again.content.contains("Qui êtes-vous ?"));
    assert_eq!(
        labels(&again),
        ["Enseignant", "Direction", "Tous les sujets"]
    );
    // Registered once per process: the restarted adapter registered again, once.
    scene.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_and_unaddressed_messages_get_no_answer() {
    let scene = scene().await;
    let fake = &scene.fake;
    let other_bot = fake.add_bot_user("autre-bot");
    fake.say(
        other_bot,
        scene.channel,
        &format!("{} horaires", scene.mention()),
    );
    // Without MESSAGE_CONTENT a message that does not mention the bot arrives blank.
    let unaddressed = fake.say(scene.ana, scene.channel, "horaires");
    let delivered = fake
        .dispatches()
        .into_iter()
        .find(|d| creates(d, unaddressed))
        .unwrap();
    assert_eq!(delivered["d"]["content"], "");
    // Barrier: an addressed question is answered, and it is the only answer.
    scene.ask("horaires", 1).await;
    assert_eq!(fake.bot_messages(scene.channel).len(), 1);
    scene.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_message_content_intent_refused_by_the_portal_stops_the_adapter() {
    let fake = FakeDiscord::start(fake_config()).await.unwrap();
    let guild = fake.add_guild();
    let adapter = spawn_adapter(&fake, settings(guild, true), Arc::new(MemoryStore::new()));
    let result = tokio::time::timeout(Duration::from_secs(10), adapter.task)
        .await
        .expect("the adapter gives up")
        .unwrap();
    assert!(
        matches!(result, Err(DiscordError::DisallowedIntents)),
        "{result:?}"
    );
    assert_eq!(fake.connections()[0].closed_with, Some(4014));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_message_content_intent_a_reply_without_ping_is_answered() {
    let config = Config {
        message_content_allowed: true,
        ..fake_config()
    };
    let fake = FakeDiscord::start(config).await.unwrap();
    let guild = fake.add_guild();
    let channel = fake.add_channel(guild);
    let ana = fake.add_user("ana");
    let adapter = spawn_adapter(&fake, settings(guild, true), Arc::new(MemoryStore::new()));
    fake.wait_ready().await;
    let identify = fake
        .frames()
        .into_iter()
        .find(|(_, f)| f["op"] == 2)
        .unwrap()
        .1;
    assert_ne!(
        identify["d"]["intents"].as_u64().unwrap() & intents::MESSAGE_CONTENT,
        0
    );
    fake.say(ana, channel, &format!("<@{}>", fake.bot_id()));
    let welcome = fake.wait_bot_messages(channel, 1).await[0].clone();
    fake.reply(ana, channel, welcome.id, "horaires", false);
    let hours = fake.wait_bot_messages(channel, 2).await[1].clone();
    assert!(
        hours.content.contains("De 8 h à 17 h."),
        "{}",
        hours.content
    );
    adapter.stop().await;
}

/// Issue 16: `GET /gateway` needs no token on Discord; a bad token shows when the gateway
/// closes with 4004, and the adapter stops with an error that names the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_closes_the_gateway_with_4004_and_stops_the_adapter() {
    let fake = FakeDiscord::start(fake_config()).await.unwrap();
    let guild = fake.add_guild();
    let mut settings = settings(guild, false);
    settings.token = Secret::new("not-the-token");
    let adapter = spawn_adapter(&fake, settings, Arc::new(MemoryStore::new()));
    let result = tokio::time::timeout(Duration::from_secs(10), adapter.task)
        .await
        .expect("the adapter gives up")
        .unwrap();
    assert!(
        matches!(result, Err(DiscordError::InvalidToken)),
        "{result:?}"
    );
    assert!(
        result.unwrap_err().to_string().contains("discord.token"),
        "the error says what to fix"
    );
    let gateway = fake
        .rest_calls()
        .into_iter()
        .find(|c| c.path == "/api/v10/gateway")
        .unwrap();
    assert_eq!(gateway.status, 200, "no authentication on GET /gateway");
    assert_eq!(fake.connections()[0].closed_with, Some(4004));
    assert_eq!(fake.ready_count(), 0);
}

/// `guichet serve` as an admin runs it, its stderr kept for the failure message.
struct Served {
    child: std::process::Child,
    log: std::path::PathBuf,
    admin: u16,
}

impl Served {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn health(&self) -> String {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.admin)).unwrap();
        write!(stream, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("guichet serve's log:\n{}", self.log());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guichet_serve_with_a_discord_section_answers_on_the_fake() {
    let fake = FakeDiscord::start(fake_config()).await.unwrap();
    let guild = fake.add_guild();
    let channel = fake.add_channel(guild);
    let ana = fake.add_user("ana");

    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let admin = serve_folder(&fake, guild, dir.path());
    let log = path("serve.log");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_guichet"))
        .args(["serve", "--config"])
        .arg(path("config.toml"))
        .env("RUST_LOG", "info")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut served = Served { child, log, admin };

    fake.wait_ready().await;
    fake.say(ana, channel, &format!("<@{}> horaires", fake.bot_id()));
    let answer = fake.wait_bot_messages(channel, 1).await[0].clone();
    assert!(
        answer.content.contains("De 8 h à 17 h."),
        "{}",
        answer.content
    );
    assert!(
        served.health().contains(r#""discord":"connected""#),
        "{}",
        served.health()
    );
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
    assert!(fake.unknown_routes().is_empty());
    assert!(!served.log().contains(TOKEN), "the token is never logged");

    // A graceful stop: SIGTERM, the adapter closes, exit code 0.
    let pid = served.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "serve did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}\n{}", served.log());
    assert!(!served.log().contains(" WARN "), "{}", served.log());
}

/// Discord's error code and the offending field's path, from a refused call.
fn refusal(error: serenity::Error) -> (isize, Option<String>) {
    match error {
        serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(response)) => (
            response.error.code,
            response.error.errors.first().map(|e| e.path.clone()),
        ),
        other => panic!("not a refusal by the server: {other:?}"),
    }
}

/// The fake is only worth its passing tests if it refuses what Discord refuses: here it is
/// driven with serenity's own client, without the adapter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fake_refuses_what_discord_refuses() {
    use serenity::all::{
        ApplicationId, ChannelId, CreateActionRow, CreateButton, CreateInteractionResponse,
        CreateInteractionResponseFollowup, CreateMessage, EditInteractionResponse, HttpBuilder,
        InteractionId,
    };
    use serenity::builder::Builder;

    let deadline = Duration::from_millis(300);
    let config = Config {
        interaction_deadline: deadline,
        // Many posts in one channel at once: rate limits are checked elsewhere.
        route_limit: 100,
        ..fake_config()
    };
    let fake = FakeDiscord::start(config).await.unwrap();
    let guild = fake.add_guild();
    let channel = ChannelId::new(fake.add_channel(guild));
    let ana = fake.add_user("ana");
    let http = HttpBuilder::new(TOKEN)
        .proxy(fake.http_base())
        .ratelimiter_disabled(true)
        .application_id(ApplicationId::new(fake.bot_id()))
        .build();
    let button = |label: &str, id: &str| CreateButton::new(id).label(label);
    let send = |rows: Vec<CreateActionRow>| {
        channel.send_message(&http, CreateMessage::new().content("x").components(rows))
    };

    let six: Vec<CreateButton> = (0..6).map(|i| button("b", &i.to_string())).collect();
    let error = send(vec![CreateActionRow::Buttons(six)]).await.unwrap_err();
    assert_eq!(
        refusal(error),
        (50035, Some("components.0.components".to_owned()))
    );
    let rows: Vec<CreateActionRow> = (0..6)
        .map(|i| CreateActionRow::Buttons(vec![button("b", &i.to_string())]))
        .collect();
    assert_eq!(
        refusal(send(rows).await.unwrap_err()),
        (50035, Some("components".to_owned()))
    );
    let long_label = vec![CreateActionRow::Buttons(vec![button(&"é".repeat(81), "1")])];
    assert_eq!(
        refusal(send(long_label).await.unwrap_err()),
        (50035, Some("components.0.components.0.label".to_owned()))
    );
    let long_id = vec![CreateActionRow::Buttons(vec![button(
        "b",
        &"i".repeat(101),
    )])];
    assert_eq!(
        refusal(send(long_id).await.unwrap_err()),
        (
            50035,
            Some("components.0.components.0.custom_id".to_owned())
        )
    );
    let twice = vec![CreateActionRow::Buttons(vec![
        button("a", "1"),
        button("b", "1"),
    ])];
    assert_eq!(refusal(send(twice).await.unwrap_err()).0, 50035);
    let empty = channel.send_message(&http, CreateMessage::new()).await;
    assert_eq!(refusal(empty.unwrap_err()).0, 50035);

    // One acknowledgement per interaction, within the deadline.
    let ok = vec![CreateActionRow::Buttons(vec![button("b", "ok")])];
    let menu = send(ok).await.unwrap();
    let http = &http;
    let respond = |interaction: u64| {
        let token = fake.interaction(interaction).unwrap().token;
        async move {
            CreateInteractionResponse::Acknowledge
                .execute(http, (InteractionId::new(interaction), &token))
                .await
        }
    };
    let first = fake.click(ana, menu.id.get(), "ok").unwrap();
    respond(first).await.unwrap();
    assert_eq!(refusal(respond(first).await.unwrap_err()).0, 40060);
    let late = fake.click(ana, menu.id.get(), "ok").unwrap();
    // Past the deadline on the fake's clock.
    fake.advance_clock(deadline + Duration::from_millis(50));
    assert_eq!(refusal(respond(late).await.unwrap_err()).0, 10062);

    // After an update (the acknowledgement above), `@original` is the clicked message. A
    // token Discord never issued is refused; an interaction's token works 15 minutes, then
    // names no webhook, for edits and follow-ups alike.
    let token = fake.interaction(first).unwrap().token;
    let edit = EditInteractionResponse::new().content("edited");
    let edit_with = |token: String| {
        let edit = edit.clone();
        async move {
            http.edit_original_interaction_response(&token, &edit, Vec::new())
                .await
        }
    };
    let edited = edit_with(token.clone()).await.unwrap();
    assert_eq!(edited.id, menu.id);
    assert_eq!(fake.message(menu.id.get()).unwrap().content, "edited");
    let unknown = edit_with("itoken-never-issued".to_owned()).await;
    assert_eq!(refusal(unknown.unwrap_err()).0, 50027);
    fake.advance_clock(Duration::from_secs(15 * 60));
    assert_eq!(
        refusal(edit_with(token.clone()).await.unwrap_err()).0,
        10015
    );
    let followup = CreateInteractionResponseFollowup::new().content("late");
    let followed = http
        .create_followup_message(&token, &followup, Vec::new())
        .await;
    assert_eq!(refusal(followed.unwrap_err()).0, 10015);
    assert!(
        fake.click(ana, menu.id.get(), "nope").is_err(),
        "no such button"
    );
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
}

/// Issue 16: with a bad token, `guichet serve` stops with an error that names the token and
/// a failure exit code (it used to be seen only on a `GET /gateway` Discord does not check).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guichet_serve_with_a_bad_token_exits_with_a_clear_error() {
    let fake = FakeDiscord::start(fake_config()).await.unwrap();
    let guild = fake.add_guild();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    std::fs::create_dir(path("content")).unwrap();
    std::fs::write(path("content/index.md"), knowledge_base()).unwrap();
    let config = format!(
        "content = {:?}\nstate_dir = {:?}\n[admin]\nlisten = \"127.0.0.1:0\"\n\
         [discord]\ntoken = \"not-the-token\"\nguild_ids = [\"{guild}\"]\napi_base = {:?}\n",
        path("content"),
        path("state"),
        fake.http_base(),
    );
    let config_path = path("config.toml");
    std::fs::write(&config_path, config).unwrap();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_guichet"))
            .args(["serve", "--config"])
            .arg(config_path)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // A configuration error (sysexits' EX_CONFIG): the systemd unit does not restart on it.
    assert_eq!(output.status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("Discord refused the bot token"), "{stderr}");
    assert_eq!(fake.connections()[0].closed_with, Some(4004));
}

/// What every adapter in this test process logs at `warn` and above, as an admin reads it
/// (one subscriber for the whole process: tests look for lines of their own channels).
fn warn_log() -> Arc<std::sync::Mutex<Vec<u8>>> {
    static LOG: std::sync::OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || LogWriter(writer.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        log
    })
    .clone()
}

struct LogWriter(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Issue 16: a click, and a slash command, are answered through the interaction, which
/// needs no permission in the channel; a mention where the bot may not post is told
/// privately; without Read Message History the answer comes unquoted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn where_the_bot_cannot_post_clicks_and_commands_are_still_answered() {
    use fake_discord::permissions::{READ_MESSAGE_HISTORY, SEND_MESSAGES, VIEW_CHANNEL};
    let log = warn_log();
    let scene = scene().await;
    let fake = &scene.fake;
    let read_only = fake.add_channel(scene.guild);
    fake.set_bot_permissions(read_only, VIEW_CHANNEL | READ_MESSAGE_HISTORY);

    // /menu: the deferred response becomes the welcome.
    let menu = fake.run_command(scene.ana, read_only, "menu").unwrap();
    fake.wait_response(menu).await;
    let welcome = fake.wait_bot_messages(read_only, 1).await[0].clone();
    assert_eq!(
        labels(&welcome),
        ["Enseignant", "Direction", "Tous les sujets"]
    );
    // A click: the answer fills the deferred response.
    let click = fake
        .click_label(scene.ana, welcome.id, "Enseignant")
        .unwrap();
    assert_eq!(fake.wait_response(click).await.response, Some(5));
    let answer = fake.wait_bot_messages(read_only, 2).await[1].clone();
    assert!(
        answer.content.contains("Que voulez-vous savoir"),
        "{}",
        answer.content
    );
    assert_eq!(answer.interaction, Some(click), "the click's own response");

    // A mention there: nothing can be posted; Ana hears why in a DM, each time she asks.
    for n in 1..=2 {
        fake.say(
            scene.ana,
            read_only,
            &format!("{} horaires", scene.mention()),
        );
        let dm = fake.dm_channel(scene.ana);
        let notices = fake.wait_bot_messages(dm, n).await;
        assert!(
            notices[n - 1]
                .content
                .contains("pas le droit d'écrire dans ce salon"),
            "{}",
            notices[n - 1].content
        );
        assert!(notices[n - 1].content.contains("/menu"));
    }
    assert_eq!(fake.bot_messages(read_only).len(), 2);
    // The admin is told once for the channel, with what to grant; nobody's words or id.
    let log = String::from_utf8(log.lock().unwrap().clone()).unwrap();
    let told: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("refused the bot a message") && l.contains(&read_only.to_string()))
        .collect();
    assert_eq!(told.len(), 1, "{log}");
    assert!(told[0].contains("Send Messages"), "{}", told[0]);
    assert!(!told[0].contains("horaires") && !told[0].contains(&scene.ana.to_string()));

    // Without Read Message History, the answer to a mention is not a reply.
    let no_history = fake.add_channel(scene.guild);
    fake.set_bot_permissions(no_history, VIEW_CHANNEL | SEND_MESSAGES);
    fake.say(
        scene.ana,
        no_history,
        &format!("{} horaires", scene.mention()),
    );
    let hours = fake.wait_bot_messages(no_history, 1).await[0].clone();
    assert!(
        hours.content.contains("De 8 h à 17 h."),
        "{}",
        hours.content
    );
    assert_eq!(hours.reference, None);

    // Only the mentions in the read-only channel were refused (each once), and the quote.
    let refused: Vec<(String, Option<u64>)> = fake
        .rest_calls()
        .into_iter()
        .filter(|c| c.status >= 400 && c.status != 429)
        .map(|c| (c.path, c.error_code))
        .collect();
    let posts = format!("/api/v10/channels/{read_only}/messages");
    let quote = format!("/api/v10/channels/{no_history}/messages");
    assert_eq!(
        refused,
        [
            (posts.clone(), Some(50013)),
            (posts, Some(50013)),
            (quote, Some(160_002))
        ]
    );
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
    scene.adapter.stop().await;
}

/// Issue 16: eight questions asked quickly in each of two channels and two DMs, with serenity's
/// rate limiter on (as in production) and Discord answering 429 (global limit, a shared
/// resource): every answer once, none lost, in the order of the questions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_questions_is_answered_once_each_in_order_under_rate_limits() {
    // Three posts a second per channel and five a second in all: a burst of 32 answers in
    // four conversations meets both limits several times over.
    let scene = scene_with(Config {
        route_limit: 2,
        global_limit: 6,
        ..fake_config()
    })
    .await;
    let fake = &scene.fake;
    let other = fake.add_channel(scene.guild);
    let dm = fake.dm_channel(scene.bob);
    let dm_ana = fake.dm_channel(scene.ana);
    // A busy shared resource refuses these three whatever the headers said.
    fake.rate_limit_next_posts(3);
    let mut in_channel = Vec::new();
    for i in 1..=8 {
        in_channel.push(fake.say(
            scene.ana,
            scene.channel,
            &format!("{} sujet numero {i}", scene.mention()),
        ));
        fake.say(
            scene.bob,
            other,
            &format!("{} sujet numero {i}", scene.mention()),
        );
        fake.say(scene.bob, dm, &format!("sujet numero {i}"));
        fake.say(scene.ana, dm_ana, &format!("sujet numero {i}"));
    }
    let expected: Vec<String> = (1..=8).map(|i| format!("Réponse au sujet {i}.")).collect();
    let contents = |messages: &[FakeMessage]| -> Vec<String> {
        messages
            .iter()
            .map(|m| {
                m.content
                    .lines()
                    .find(|l| l.starts_with("Réponse au sujet"))
                    .unwrap_or(&m.content)
                    .to_owned()
            })
            .collect()
    };
    let answers = fake.wait_bot_messages(scene.channel, 8).await;
    assert_eq!(contents(&answers), expected, "in the channel");
    for (name, channel) in [("other channel", other), ("DM", dm), ("Ana's DM", dm_ana)] {
        let answers = fake.wait_bot_messages(channel, 8).await;
        assert_eq!(contents(&answers), expected, "in the {name}");
    }
    let references: Vec<Option<u64>> = answers.iter().map(|m| m.reference).collect();
    let questions: Vec<Option<u64>> = in_channel.into_iter().map(Some).collect();
    assert_eq!(references, questions);

    let scopes: Vec<String> = fake
        .rest_calls()
        .into_iter()
        .filter(|c| c.status == 429)
        .map(|c| c.rate_limit_scope.unwrap_or_default())
        .collect();
    assert!(
        scopes.iter().filter(|s| *s == "shared").count() >= 3,
        "{scopes:?}"
    );
    assert!(
        scopes.iter().any(|s| s == "global"),
        "the burst met the global limit: {scopes:?}"
    );
    // Barrier: a new question's answer comes after any duplicate would have.
    fake.say(scene.bob, dm, "horaires");
    let all = fake.wait_bot_messages(dm, 9).await;
    assert!(
        all[8].content.contains("De 8 h à 17 h."),
        "{}",
        all[8].content
    );
    for channel in [scene.channel, other, dm_ana] {
        assert_eq!(fake.bot_messages(channel).len(), 8, "none twice");
    }
    scene.finish().await;
}

/// Issue 16: the tests run serenity's rate limiter, as production does. It reads each
/// route's `X-RateLimit-*` headers and waits for the bucket to refill, so ten quick answers
/// in one channel, two allowed a second, never meet Discord's 429 for that route. With the
/// limiter off (serenity's proxy mode, which `api_base` uses) the same burst overruns the
/// bucket and lives on guichet's own retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limiter_waits_for_a_routes_bucket_instead_of_meeting_429() {
    let scene = scene_with(Config {
        route_limit: 2,
        ..fake_config()
    })
    .await;
    let fake = &scene.fake;
    for i in 1..=10 {
        fake.say(
            scene.ana,
            scene.channel,
            &format!("{} sujet numero {i}", scene.mention()),
        );
    }
    let answers = fake.wait_bot_messages(scene.channel, 10).await;
    assert!(answers[9].content.contains("Réponse au sujet 10."));
    let limited: Vec<_> = fake
        .rest_calls()
        .into_iter()
        .filter(|c| c.status == 429)
        .map(|c| (c.path, c.rate_limit_scope))
        .collect();
    assert!(limited.is_empty(), "{limited:?}");
    scene.finish().await;
}

/// The adapter through `api_base`: serenity's proxy mode, its rate limiter off, as an
/// independent Discord (or `guichet serve` in a test) is reached.
fn spawn_proxied_adapter(fake: &FakeDiscord, guild: u64) -> Adapter {
    let (shutdown, rx) = watch::channel(false);
    let ctx = context_with(Arc::new(MemoryStore::new()), rx, Strings::default());
    let status = ctx.status.clone();
    let settings = DiscordSettings {
        api_base: Some(fake.http_base().to_owned()),
        ..settings(guild, false)
    };
    let task = tokio::spawn(discord::run_with(settings, ctx, StartOptions::default()));
    Adapter {
        shutdown,
        task,
        status,
    }
}

/// After each 429 among `calls`, the next call to the same path came no sooner than the
/// `retry_after` it gave; and there was at least one 429, or nothing was tested.
fn assert_429s_waited_out(calls: &[fake_discord::RestCall]) {
    assert!(calls.iter().all(|c| !c.tls), "not through api_base");
    assert!(
        calls.iter().any(|c| c.status == 429),
        "the route's limit was never met: nothing tested"
    );
    for (i, limited) in calls.iter().enumerate() {
        let Some(wait) = limited.retry_after else {
            continue;
        };
        if let Some(next) = calls[i + 1..].iter().find(|c| c.path == limited.path) {
            // The fake rounds `retry_after` to the millisecond.
            let waited = next.at.duration_since(limited.at);
            assert!(
                waited + Duration::from_millis(2) >= wait,
                "{} sent again after {waited:?}, asked to wait {wait:?}",
                limited.path
            );
        }
    }
}

/// Issue 16: through `api_base` a 429 is waited out for the `retry_after` it gives: every
/// answer arrives, in order, and no message goes to a route before its wait is over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_api_base_a_429_is_waited_out_for_its_retry_after() {
    let fake = FakeDiscord::start(Config {
        route_limit: 2,
        ..fake_config()
    })
    .await
    .unwrap();
    let guild = fake.add_guild();
    let channel = fake.add_channel(guild);
    let ana = fake.add_user("ana");
    let adapter = spawn_proxied_adapter(&fake, guild);
    fake.wait_ready().await;
    let mention = format!("<@{}>", fake.bot_id());
    for i in 1..=10 {
        fake.say(ana, channel, &format!("{mention} sujet numero {i}"));
    }
    let answers = fake.wait_bot_messages(channel, 10).await;
    for (i, answer) in answers.iter().enumerate() {
        assert!(
            answer
                .content
                .contains(&format!("Réponse au sujet {}.", i + 1)),
            "answer {i}: {}",
            answer.content
        );
    }
    let posts: Vec<_> = fake
        .rest_calls()
        .into_iter()
        .filter(|c| c.method == "POST" && c.path.ends_with("/messages"))
        .collect();
    assert_429s_waited_out(&posts);
    adapter.stop().await;
}

/// Issue 16: the same for a click's answer, which edits the interaction's placeholder and
/// goes on in a follow-up, both through the interaction's webhook.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_api_base_a_clicks_answer_waits_out_its_429s_too() {
    let fake = FakeDiscord::start(fake_config()).await.unwrap();
    let guild = fake.add_guild();
    let channel = fake.add_channel(guild);
    let ana = fake.add_user("ana");
    let adapter = spawn_proxied_adapter(&fake, guild);
    fake.wait_ready().await;
    fake.say(ana, channel, &format!("<@{}> menu profil", fake.bot_id()));
    let menu = fake.wait_bot_messages(channel, 1).await[0].clone();
    // The next three calls through the webhook are refused.
    fake.rate_limit_next_webhook_calls(3);
    let click = fake.click_label(ana, menu.id, "Réponse longue").unwrap();
    let interaction = fake.wait_response(click).await;
    let parts = fake
        .wait_for("the answer, placeholder filled and followed up", |f| {
            let parts: Vec<FakeMessage> = f
                .bot_messages(channel)
                .into_iter()
                .filter(|m| m.interaction == Some(interaction.id))
                .collect();
            (parts.len() >= 2 && parts.iter().all(|m| !m.loading)).then_some(parts)
        })
        .await;
    assert!(parts.iter().any(|m| !m.buttons().is_empty()), "{parts:?}");
    let webhook: Vec<_> = fake
        .rest_calls()
        .into_iter()
        .filter(|c| c.path.starts_with("/api/v10/webhooks/"))
        .collect();
    assert_429s_waited_out(&webhook);
    adapter.stop().await;
}

/// Issue 16: Discord may ask for a heartbeat (op 1), say the session can be resumed (op 9
/// `d: true`, close 4008) or must start anew (op 9 `d: false`, close 4007): the bot answers,
/// resumes or identifies again, and keeps answering with its commands registered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_that_asks_for_a_heartbeat_a_resume_or_a_new_session() {
    let scene = scene_with(Config {
        // Long enough that a heartbeat seen now answers the request, not the timer.
        heartbeat_interval: Duration::from_secs(60),
        ..fake_config()
    })
    .await;
    let fake = &scene.fake;
    let heartbeats = || fake.frames().iter().filter(|(_, f)| f["op"] == 1).count();
    let before = heartbeats();
    fake.request_heartbeat();
    fake.wait_for("a heartbeat on request", |_| {
        (heartbeats() > before).then_some(())
    })
    .await;

    fake.invalidate_session(true);
    fake.wait_for("a resume", |f| {
        f.connections().iter().any(|c| c.resumed).then_some(())
    })
    .await;
    assert_eq!(fake.ready_count(), 1);

    fake.invalidate_session(false);
    fake.wait_for("a new session", |f| (f.ready_count() >= 2).then_some(()))
        .await;
    scene.ask("horaires", 1).await;

    fake.close_gateway(4007);
    fake.wait_for("another session", |f| (f.ready_count() >= 3).then_some(()))
        .await;
    scene.ask("horaires", 2).await;

    // 4008 (rate limited) keeps the session: the bot resumes it.
    let resumed = |f: &FakeDiscord| f.connections().iter().filter(|c| c.resumed).count();
    let before = resumed(fake);
    fake.close_gateway(4008);
    fake.wait_for("a resume after 4008", |f| {
        (resumed(f) > before).then_some(())
    })
    .await;
    scene.ask("horaires", 3).await;
    assert_eq!(fake.ready_count(), 3, "resumed, not identified again");
    let puts = fake
        .rest_calls()
        .iter()
        .filter(|c| c.method == "PUT" && c.path.ends_with("/commands"))
        .count();
    assert_eq!(puts, 1, "commands registered once");
    scene.finish().await;
}

/// One raw HTTP/1.1 request to the fake: the status line and headers, lower-cased, and the
/// body. (serenity's client keeps neither the rate-limit headers nor a 429's body.)
fn raw_request(base: &str, method: &str, path: &str, token: Option<&str>) -> (String, String) {
    use std::io::{Read, Write};
    let address = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bot {t}\r\n"));
    let body = if method == "POST" {
        r#"{"content":"x"}"#
    } else {
        ""
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.to_lowercase(), body.to_owned())
}

/// The fake limits like Discord: per-route buckets with their headers, 429 with Discord's
/// body, a global limit, and `GET /gateway` open to anyone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fake_rate_limits_like_discord() {
    let config = Config {
        route_limit: 2,
        route_window: Duration::from_secs(60),
        global_limit: 4,
        global_window: Duration::from_secs(60),
        ..fake_config()
    };
    let fake = FakeDiscord::start(config).await.unwrap();
    let guild = fake.add_guild();
    let (one, two) = (fake.add_channel(guild), fake.add_channel(guild));
    let base = fake.http_base().to_owned();
    let post = move |channel: u64| {
        raw_request(
            &base,
            "POST",
            &format!("/api/v10/channels/{channel}/messages"),
            Some(TOKEN),
        )
    };
    let (head, _) = tokio::task::spawn_blocking({
        let post = post.clone();
        move || post(one)
    })
    .await
    .unwrap();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("x-ratelimit-limit: 2"), "{head}");
    assert!(head.contains("x-ratelimit-remaining: 1"), "{head}");
    assert!(head.contains("x-ratelimit-reset-after: "), "{head}");
    assert!(head.contains("x-ratelimit-bucket: "), "{head}");
    let results = tokio::task::spawn_blocking(move || [post(one), post(one), post(two), post(two)])
        .await
        .unwrap();
    let [(ok, _), (limited, body), (other, _), (global, global_body)] = results;
    assert!(ok.starts_with("http/1.1 200"), "{ok}");
    // The channel's bucket is empty; another channel has its own.
    assert!(limited.starts_with("http/1.1 429"), "{limited}");
    assert!(limited.contains("retry-after: "), "{limited}");
    assert!(limited.contains("x-ratelimit-scope: user"), "{limited}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["global"], false);
    assert!(body["retry_after"].as_f64().unwrap() > 0.0, "{body}");
    assert!(other.starts_with("http/1.1 200"), "{other}");
    // The fifth call in the window: over the global limit of four.
    assert!(global.starts_with("http/1.1 429"), "{global}");
    assert!(global.contains("x-ratelimit-global: true"), "{global}");
    let body: serde_json::Value = serde_json::from_str(&global_body).unwrap();
    assert_eq!(body["global"], true);
    // No token needed for the gateway's address; one needed elsewhere.
    let base = fake.http_base().to_owned();
    let (gateway, unauthorized) = tokio::task::spawn_blocking(move || {
        (
            raw_request(&base, "GET", "/api/v10/gateway", None).0,
            raw_request(&base, "GET", "/api/v10/users/@me", None).0,
        )
    })
    .await
    .unwrap();
    assert!(gateway.starts_with("http/1.1 200"), "{gateway}");
    assert!(unauthorized.starts_with("http/1.1 401"), "{unauthorized}");
}

/// Issue 16: a help text longer than a Discord message was refused by serenity, and the
/// person saw "the application did not respond". It is now sent in parts, all private.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_long_help_text_is_sent_in_private_parts() {
    let fake = FakeDiscord::start(fake_config()).await.unwrap();
    let guild = fake.add_guild();
    let channel = fake.add_channel(guild);
    let ana = fake.add_user("ana");
    let paragraph = "Voici comment me poser une question, en détail. ".repeat(20);
    let strings = Strings {
        help: format!("{paragraph}\n\n{paragraph}\n\n{paragraph}\n\nFin de l'aide."),
        ..Strings::default()
    };
    assert!(strings.help.chars().count() > 2000);
    let adapter = spawn_adapter_with(
        &fake,
        settings(guild, false),
        Arc::new(MemoryStore::new()),
        strings,
    );
    fake.wait_ready().await;
    let help = fake.run_command(ana, channel, "aide").unwrap();
    let interaction = fake.wait_response(help).await;
    assert_eq!(interaction.response, Some(5), "deferred, privately");
    assert!(interaction.refused.is_empty(), "{:?}", interaction.refused);
    let parts = fake
        .wait_for("the end of the help", |f| {
            let parts = f.ephemeral_messages(ana);
            parts
                .iter()
                .any(|m| m.content.contains("Fin de l'aide."))
                .then_some(parts)
        })
        .await;
    assert!(parts.len() >= 2, "{parts:#?}");
    assert!(parts.iter().all(|p| p.content.chars().count() <= 2000));
    assert!(fake.bot_messages(channel).is_empty(), "nothing public");
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
    adapter.stop().await;
}

/// A state store that stops or forgets at chosen writes, to play a process that dies there;
/// everything else goes to the inner store.
struct HookedStore {
    inner: Arc<dyn StateStore>,
    /// Whether an answer sent is marked so: false plays a crash right after a send and before
    /// its mark.
    marks_sent: bool,
    /// Run after a turn is committed, with its event id.
    after_commit: Box<dyn Fn(&str) + Send + Sync>,
    /// Run after an answer's progress (a follow-up sent) is recorded.
    after_progress: Box<dyn Fn() + Send + Sync>,
}

impl HookedStore {
    fn new(inner: Arc<dyn StateStore>) -> Self {
        Self {
            inner,
            marks_sent: true,
            after_commit: Box::new(|_| {}),
            after_progress: Box::new(|| {}),
        }
    }
}

impl StateStore for HookedStore {
    fn load(&self, key: &ConversationKey) -> StoreResult<Option<StoredConversation>> {
        self.inner.load(key)
    }
    fn save(&self, key: &ConversationKey, c: &StoredConversation) -> StoreResult<()> {
        self.inner.save(key, c)
    }
    fn commit_turn(
        &self,
        key: &ConversationKey,
        c: &StoredConversation,
        event_id: &str,
        reply: &str,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let committed = self.inner.commit_turn(key, c, event_id, reply, now_ms);
        (self.after_commit)(event_id);
        committed
    }
    fn mark_sent(&self, platform: &str, event_id: &str) -> StoreResult<()> {
        if self.marks_sent {
            self.inner.mark_sent(platform, event_id)
        } else {
            Ok(())
        }
    }
    fn update_pending_reply(&self, platform: &str, event_id: &str, reply: &str) -> StoreResult<()> {
        let recorded = self.inner.update_pending_reply(platform, event_id, reply);
        (self.after_progress)();
        recorded
    }
    fn pending_replies(&self, platform: &str) -> StoreResult<Vec<PendingReply>> {
        self.inner.pending_replies(platform)
    }
    fn delete(&self, key: &ConversationKey) -> StoreResult<bool> {
        self.inner.delete(key)
    }
    fn forget_unused_since(&self, cutoff_ms: i64) -> StoreResult<usize> {
        self.inner.forget_unused_since(cutoff_ms)
    }
    fn conversation_count(&self) -> StoreResult<usize> {
        self.inner.conversation_count()
    }
    fn claim_event(&self, platform: &str, event_id: &str, now_ms: i64) -> StoreResult<bool> {
        self.inner.claim_event(platform, event_id, now_ms)
    }
    fn event_claimed(&self, platform: &str, event_id: &str) -> StoreResult<bool> {
        self.inner.event_claimed(platform, event_id)
    }
    fn forget_events_before(&self, cutoff_ms: i64) -> StoreResult<usize> {
        self.inner.forget_events_before(cutoff_ms)
    }
    fn get_meta(&self, key: &str) -> StoreResult<Option<String>> {
        self.inner.get_meta(key)
    }
    fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        self.inner.set_meta(key, value)
    }
    fn flush(&self) -> StoreResult<()> {
        self.inner.flush()
    }
}

/// Waits (10 s at most) until no answer is left queued: the mark follows the send, so give
/// it its moment (a bounded wait, not a timing claim).
async fn wait_queue_emptied(store: &Arc<dyn StateStore>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !store.pending_replies("discord").unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the queue never emptied"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Opens the gate a stopped adapter's turn waits at: its runtime then ends, the turn dropped
/// unsent.
async fn release(gate: Gate, stopped: Adapter) {
    gate.open();
    tokio::time::timeout(Duration::from_secs(10), stopped.task)
        .await
        .expect("the stopped adapter ends once its turn is released")
        .unwrap()
        .unwrap();
}

/// Where a [`HookedStore`] holds the adapter's write until the test opens it. The adapter's
/// process is as good as killed there: shut down meanwhile, its runtime drops the waiting
/// task, which sends nothing more.
#[derive(Clone, Default)]
struct Gate(Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>);

impl Gate {
    fn wait(&self) {
        let (open, opened) = &*self.0;
        let _open = opened.wait_while(open.lock().unwrap(), |open| !*open);
    }

    fn open(&self) {
        *self.0.0.lock().unwrap() = true;
        self.0.1.notify_all();
    }
}

/// Issue 14, exactly once: an answer is committed with its turn before it is sent. Stopped
/// after the send and before the mark, the bot sends it again at its next start with the same
/// nonce, and Discord keeps one message; stopped before the send, the answer goes out at the
/// next start. Either way the person sees each answer once, and nothing stays queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_interrupted_by_a_stop_is_sent_once_at_the_next_start() {
    let fake = FakeDiscord::start(fake_config()).await.unwrap();
    let guild = fake.add_guild();
    let channel = fake.add_channel(guild);
    let ana = fake.add_user("ana");
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let crashing: Arc<dyn StateStore> = Arc::new(HookedStore {
        marks_sent: false,
        ..HookedStore::new(store.clone())
    });
    let adapter = spawn_adapter(&fake, settings(guild, false), crashing);
    fake.wait_ready().await;
    let mention = format!("<@{}>", fake.bot_id());
    fake.say(ana, channel, &format!("{mention} bonjour"));
    let welcome = fake.wait_bot_messages(channel, 1).await[0].clone();
    assert!(welcome.content.contains("Qui êtes-vous ?"));
    adapter.stop().await;
    let pending = store.pending_replies("discord").unwrap();
    assert_eq!(pending.len(), 1, "sent but not marked: still queued");

    // A second answer committed and never sent (stopped before the send): the same kind of
    // entry, for another question, with a nonce Discord has not seen.
    let mut unsent: serde_json::Value = serde_json::from_str(&pending[0].reply).unwrap();
    unsent["nonce"] = serde_json::json!("4242");
    let key = ConversationKey::new("discord", channel.to_string(), ana.to_string());
    let state = store.load(&key).unwrap().unwrap();
    assert!(
        store
            .commit_turn(
                &key,
                &state,
                "message:4242",
                &unsent.to_string(),
                guichet::service::now_ms()
            )
            .unwrap()
    );

    let adapter = spawn_adapter(&fake, settings(guild, false), store.clone());
    fake.wait_for("READY again", |f| (f.ready_count() >= 2).then_some(()))
        .await;
    fake.wait_bot_messages(channel, 2).await;
    wait_queue_emptied(&store).await;
    let messages = fake.bot_messages(channel);
    assert_eq!(
        messages.len(),
        2,
        "the first answer once (its nonce again), the unsent one once: {:#?}",
        messages.iter().map(|m| &m.content).collect::<Vec<_>>()
    );
    assert_eq!(messages[1].content, welcome.content);
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
    adapter.stop().await;
}

/// A click acknowledged and committed by an adapter that then stops dead (its store held at a
/// [`Gate`] after the commit): its placeholder is left "thinking", its answer queued. Returns the
/// fake's record of the click, the adapter (shut down, its turn still blocked) and the gate
/// that releases it. The menu clicked is `menu`'s, `label` the button.
async fn click_then_stop_after_the_commit(
    fake: &FakeDiscord,
    guild: u64,
    store: &Arc<dyn StateStore>,
    (user, channel, question, label): (u64, u64, &str, &str),
) -> (fake_discord::FakeInteraction, Adapter, Gate) {
    click_then_stop(fake, guild, store, (user, channel, question, label), false).await
}

/// [`click_then_stop_after_the_commit`], or, with `after_follow_up`, stopped once the
/// answer's first follow-up went out and was recorded.
async fn click_then_stop(
    fake: &FakeDiscord,
    guild: u64,
    store: &Arc<dyn StateStore>,
    (user, channel, question, label): (u64, u64, &str, &str),
    after_follow_up: bool,
) -> (fake_discord::FakeInteraction, Adapter, Gate) {
    let gate = Gate::default();
    let (at_commit, at_progress) = (gate.clone(), gate.clone());
    let stopping = HookedStore {
        after_commit: Box::new(move |event_id| {
            if event_id.starts_with("interaction:") && !after_follow_up {
                at_commit.wait();
            }
        }),
        after_progress: Box::new(move || {
            if after_follow_up {
                at_progress.wait();
            }
        }),
        ..HookedStore::new(store.clone())
    };
    let adapter = spawn_adapter(fake, settings(guild, false), Arc::new(stopping));
    fake.wait_ready().await;
    let mention = format!("<@{}>", fake.bot_id());
    fake.say(user, channel, &format!("{mention} {question}"));
    let menu = fake.wait_bot_messages(channel, 1).await[0].clone();
    let click = fake.click_label(user, menu.id, label).unwrap();
    let interaction = fake.wait_response(click).await;
    assert_eq!(interaction.response, Some(5), "deferred");
    let event = format!("interaction:{click}");
    fake.wait_for("the click's answer queued", |_| {
        store
            .pending_replies("discord")
            .unwrap()
            .iter()
            .any(|p| {
                p.event_id == event
                    && (!after_follow_up || p.reply.contains("\"followups_sent\":1"))
            })
            .then_some(())
    })
    .await;
    // The process dies here: nothing more will come from it.
    adapter.shutdown.send(true).unwrap();
    fake.wait_for("the stopped adapter's session ended", |f| {
        (f.resumable_sessions() == 0).then_some(())
    })
    .await;
    let placeholder = interaction.response_message.unwrap();
    assert_eq!(
        fake.message(placeholder).unwrap().loading,
        !after_follow_up,
        "the answer was sent, or not"
    );
    (interaction, adapter, gate)
}

/// The REST calls made with an interaction's token: (method, what, status, Discord code),
/// `what` being `@original` or `follow-up`.
fn token_calls(fake: &FakeDiscord, token: &str) -> Vec<(String, String, u16, Option<u64>)> {
    fake.rest_calls()
        .into_iter()
        .filter(|c| c.path.contains(&format!("/{token}")) && c.path.contains("/webhooks/"))
        .map(|c| {
            let what = if c.path.ends_with("/messages/@original") {
                "@original"
            } else {
                "follow-up"
            };
            (c.method, what.to_owned(), c.status, c.error_code)
        })
        .collect()
}

/// Issue 14, exactly once for clicks: a click acknowledged and committed, whose process died
/// before the answer went out, is answered at the next start, once, by an edit of its
/// original response (the deferred placeholder), within the token's 15 minutes. The answer
/// here is two messages long: the first fills the placeholder, the second is a follow-up,
/// sent once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_interrupted_after_its_commit_is_answered_once_at_the_next_start() {
    let fake = FakeDiscord::start(fake_config()).await.unwrap();
    let guild = fake.add_guild();
    let channel = fake.add_channel(guild);
    let ana = fake.add_user("ana");
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let (interaction, stopped, gate) = click_then_stop_after_the_commit(
        &fake,
        guild,
        &store,
        (ana, channel, "menu profil", "Réponse longue"),
    )
    .await;
    assert!(
        token_calls(&fake, &interaction.token).is_empty(),
        "nothing sent through the token before the stop"
    );

    let adapter = spawn_adapter(&fake, settings(guild, false), store.clone());
    fake.wait_for("READY again", |f| (f.ready_count() >= 2).then_some(()))
        .await;
    let answer = fake
        .wait_for("the answer with its buttons", |f| {
            let parts: Vec<FakeMessage> = f
                .bot_messages(channel)
                .into_iter()
                .filter(|m| m.interaction == Some(interaction.id))
                .collect();
            (parts.iter().all(|m| !m.loading) && parts.iter().any(|m| !m.buttons().is_empty()))
                .then_some(parts)
        })
        .await;
    wait_queue_emptied(&store).await;
    release(gate, stopped).await;

    assert_eq!(
        answer[0].id,
        interaction.response_message.unwrap(),
        "the first part fills the placeholder"
    );
    let sentences: usize = answer
        .iter()
        .map(|m| m.content.matches("Cette réponse est longue.").count())
        .sum();
    assert_eq!(sentences, 3 * 36, "every paragraph once: {answer:#?}");
    assert_eq!(answer.len(), 2, "{answer:#?}");
    assert_eq!(labels(&answer[1]), ["Horaires"]);
    let calls = token_calls(&fake, &interaction.token);
    let expected = [("PATCH", "@original", 200), ("POST", "follow-up", 200)];
    assert_eq!(
        calls
            .iter()
            .map(|(m, w, s, _)| (m.as_str(), w.as_str(), *s))
            .collect::<Vec<_>>(),
        expected,
        "edited once, each follow-up once"
    );
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
    adapter.stop().await;
}

/// Issue 14: follow-ups take no idempotency key, so each is recorded as sent as soon as it
/// is out. A process that dies after the first follow-up of a two-message answer, before the
/// answer is marked sent, leaves it queued: the next start edits the original response again
/// (harmless) and does not repeat the follow-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_recorded_as_sent_is_not_sent_again_after_a_stop() {
    let fake = FakeDiscord::start(fake_config()).await.unwrap();
    let guild = fake.add_guild();
    let channel = fake.add_channel(guild);
    let ana = fake.add_user("ana");
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let (interaction, stopped, gate) = click_then_stop(
        &fake,
        guild,
        &store,
        (ana, channel, "menu profil", "Réponse longue"),
        true,
    )
    .await;
    let adapter = spawn_adapter(&fake, settings(guild, false), store.clone());
    fake.wait_for("READY again", |f| (f.ready_count() >= 2).then_some(()))
        .await;
    wait_queue_emptied(&store).await;
    release(gate, stopped).await;
    let calls = token_calls(&fake, &interaction.token);
    assert_eq!(
        calls
            .iter()
            .map(|(m, w, s, _)| (m.as_str(), w.as_str(), *s))
            .collect::<Vec<_>>(),
        [
            ("PATCH", "@original", 200),
            ("POST", "follow-up", 200),
            ("PATCH", "@original", 200)
        ],
        "the original edited again, the follow-up not repeated"
    );
    let answer: Vec<FakeMessage> = fake
        .bot_messages(channel)
        .into_iter()
        .filter(|m| m.interaction == Some(interaction.id))
        .collect();
    assert_eq!(answer.len(), 2, "{answer:#?}");
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
    adapter.stop().await;
}

/// Issue 14: an interaction's token works 15 minutes. A queued answer whose token Discord no
/// longer accepts (Unknown Webhook) is tried once, said once in the log (without the token),
/// and dropped: the next start does not try again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_whose_token_expired_is_dropped_after_one_try() {
    let log = warn_log();
    let fake = FakeDiscord::start(fake_config()).await.unwrap();
    let guild = fake.add_guild();
    let channel = fake.add_channel(guild);
    let ana = fake.add_user("ana");
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let (interaction, stopped, gate) = click_then_stop_after_the_commit(
        &fake,
        guild,
        &store,
        (ana, channel, "menu profil", "Horaires"),
    )
    .await;
    // Sixteen minutes later on Discord's clock (the queued answer is seconds old on ours,
    // well within `catch_up`: only Discord can say the token is gone).
    fake.advance_clock(Duration::from_secs(16 * 60));

    let adapter = spawn_adapter(&fake, settings(guild, false), store.clone());
    fake.wait_for("READY again", |f| (f.ready_count() >= 2).then_some(()))
        .await;
    let refused = fake
        .wait_for("the try with the expired token", |f| {
            let calls = token_calls(f, &interaction.token);
            (!calls.is_empty()).then_some(calls)
        })
        .await;
    assert_eq!(
        refused,
        [("PATCH".to_owned(), "@original".to_owned(), 404, Some(10015))]
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !store.pending_replies("discord").unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the expired answer stayed queued"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    adapter.stop().await;
    let adapter = spawn_adapter(&fake, settings(guild, false), store.clone());
    fake.wait_for("READY a third time", |f| {
        (f.ready_count() >= 3).then_some(())
    })
    .await;
    // A question after the start is answered after what the start had to send.
    let mention = format!("<@{}>", fake.bot_id());
    let barrier = fake.say(ana, channel, &format!("{mention} horaires"));
    fake.wait_for("the answer after the start", |f| {
        f.bot_messages(channel)
            .iter()
            .any(|m| m.reference == Some(barrier))
            .then_some(())
    })
    .await;
    assert_eq!(
        token_calls(&fake, &interaction.token).len(),
        1,
        "not tried again"
    );
    assert!(
        fake.message(interaction.response_message.unwrap())
            .unwrap()
            .loading,
        "Discord shows the click as failed; nothing else can be done"
    );
    adapter.stop().await;
    release(gate, stopped).await;
    let log = String::from_utf8(log.lock().unwrap().clone()).unwrap();
    let told: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("no longer accepts the answer"))
        .collect();
    assert_eq!(told.len(), 1, "{log}");
    assert!(told[0].contains("Unknown Webhook"), "{}", told[0]);
    assert!(
        !log.contains(&interaction.token),
        "a token is a secret: {log}"
    );
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
}

/// Issue 14: `GET /channels/{id}/messages` in the fake is as strict as Discord documents it:
/// `limit` 1 to 100, one of `before`/`after`/`around` at most, newest first, View Channel
/// needed (403) and, without Read Message History, no message at all (an empty list).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fake_lists_channel_messages_as_discord_documents() {
    use serenity::all::{ChannelId, GetMessages, MessageId};

    let fake = FakeDiscord::start(Config {
        // Many reads at once: rate limits are checked elsewhere.
        route_limit: 100,
        ..fake_config()
    })
    .await
    .unwrap();
    let guild = fake.add_guild();
    let channel = fake.add_channel(guild);
    let ana = fake.add_user("ana");
    let ids: Vec<u64> = (1..=5)
        .map(|i| fake.say(ana, channel, &format!("message {i}")))
        .collect();
    let http = serenity::all::HttpBuilder::new(TOKEN)
        .client(fake.discord_client().unwrap())
        .build();
    let list = |builder: GetMessages| {
        let http = &http;
        async move { ChannelId::new(channel).messages(http, builder).await }
    };
    let got = |messages: Vec<serenity::all::Message>| -> Vec<u64> {
        messages.iter().map(|m| m.id.get()).collect()
    };
    // The two messages right after the second, newest first.
    let after = list(GetMessages::new().after(MessageId::new(ids[1])).limit(2))
        .await
        .unwrap();
    assert_eq!(got(after), [ids[3], ids[2]]);
    let before = list(GetMessages::new().before(MessageId::new(ids[3])).limit(2))
        .await
        .unwrap();
    assert_eq!(got(before), [ids[2], ids[1]]);
    let latest = list(GetMessages::new()).await.unwrap();
    assert_eq!(got(latest), ids.iter().rev().copied().collect::<Vec<_>>());
    // Without the Message Content intent, a guild message that does not mention the bot
    // comes blank over REST too.
    let blank = list(GetMessages::new().limit(1)).await.unwrap();
    assert_eq!(blank[0].content, "");

    let http_client = &http;
    let over = http_client
        .get_messages(ChannelId::new(channel), None, Some(101))
        .await
        .unwrap_err();
    assert_eq!(refusal(over), (50035, Some("limit".to_owned())));
    let base = fake.http_base().to_owned();
    let path = format!(
        "/api/v10/channels/{channel}/messages?after={}&before={}",
        ids[0], ids[4]
    );
    let (both, _) =
        tokio::task::spawn_blocking(move || raw_request(&base, "GET", &path, Some(TOKEN)))
            .await
            .unwrap();
    assert!(both.starts_with("http/1.1 400"), "{both}");

    fake.set_bot_permissions(
        channel,
        fake_discord::permissions::VIEW_CHANNEL | fake_discord::permissions::SEND_MESSAGES,
    );
    let unreadable = list(GetMessages::new()).await.unwrap();
    assert!(
        unreadable.is_empty(),
        "no history without Read Message History"
    );
    fake.set_bot_permissions(channel, 0);
    let hidden = list(GetMessages::new()).await.unwrap_err();
    assert_eq!(refusal(hidden).0, 50001);
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
}

/// Issue 14: Discord sends a message once, to the gateway session that is open; a process
/// that starts again identifies anew and is not sent what it missed. Questions asked while the
/// bot was away, in a DM and in a channel where it talks, are read back at READY and answered
/// once each, before a question asked after the start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn questions_asked_while_the_bot_was_away_are_answered_at_the_next_start() {
    let scene = scene().await;
    scene.ask("horaires", 1).await;
    let dm = scene.fake.dm_channel(scene.bob);
    scene.fake.say(scene.bob, dm, "horaires");
    scene.fake.wait_bot_messages(dm, 1).await;
    let Scene {
        fake,
        guild,
        channel,
        ana,
        bob,
        store,
        adapter,
    } = scene;
    adapter.stop().await;

    let mention = format!("<@{}>", fake.bot_id());
    // A busy channel: more than a page of other talk since the bot's last answer there.
    for i in 0..120 {
        fake.say(
            bob,
            channel,
            &format!("une conversation entre collègues, {i}"),
        );
    }
    let away: Vec<u64> = (3..=4)
        .map(|i| fake.say(ana, channel, &format!("{mention} sujet numero {i}")))
        .collect();
    fake.say(bob, dm, "sujet numero 5");
    fake.say(bob, channel, "une conversation entre collègues");

    let adapter = spawn_adapter(&fake, settings(guild, false), store.clone());
    let answers = fake.wait_bot_messages(channel, 3).await;
    assert!(answers[1].content.contains("Réponse au sujet 3."));
    assert!(answers[2].content.contains("Réponse au sujet 4."));
    let quoted: Vec<Option<u64>> = answers[1..].iter().map(|m| m.reference).collect();
    assert_eq!(quoted, away.iter().copied().map(Some).collect::<Vec<_>>());
    let dm_answers = fake.wait_bot_messages(dm, 2).await;
    assert!(dm_answers[1].content.contains("Réponse au sujet 5."));
    // None of it came over the gateway: the new session was not sent it.
    assert_eq!(fake.ready_count(), 2);
    assert!(fake.connections().iter().all(|c| !c.resumed));
    let reads: Vec<(String, String)> = fake
        .rest_calls()
        .into_iter()
        .filter(|c| c.method == "GET" && c.path.ends_with("/messages"))
        .map(|c| (c.path, c.query.unwrap_or_default()))
        .collect();
    assert!(
        reads.iter().all(|(_, query)| query.contains("limit=100")),
        "{reads:#?}"
    );
    // The DM: one page after its mark. The channel: a full page after its mark, so it is
    // read back from its newest message, two pages, down to the mark.
    let of = |channel: u64| -> Vec<&str> {
        reads
            .iter()
            .filter(|(path, _)| path.contains(&channel.to_string()))
            .map(|(_, query)| query.as_str())
            .collect()
    };
    assert_eq!(of(dm).len(), 1, "{reads:#?}");
    assert!(of(dm)[0].contains("after="), "{reads:#?}");
    let in_channel = of(channel);
    assert_eq!(in_channel.len(), 3, "{reads:#?}");
    assert!(in_channel[0].contains("after="), "{reads:#?}");
    assert!(!in_channel[1].contains("after="), "{reads:#?}");
    assert!(in_channel[2].contains("before="), "{reads:#?}");

    // Barrier: a question asked now is answered after those, and nothing twice.
    fake.say(ana, channel, &format!("{mention} horaires"));
    let all = fake.wait_bot_messages(channel, 4).await;
    assert!(all[3].content.contains("De 8 h à 17 h."));
    assert_eq!(fake.bot_messages(channel).len(), 4);
    assert_eq!(fake.bot_messages(dm).len(), 2);
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
    adapter.stop().await;
}

/// `guichet serve` for the fake, as a child process that can be killed with SIGKILL and
/// started again on the same state folder.
struct CrashingBot {
    config: std::path::PathBuf,
    log: std::path::PathBuf,
    child: Option<std::process::Child>,
}

/// A folder for `guichet serve` against the fake: the test base in `content/`, the token in
/// an owner-only file (as the README asks: a secret others can read is warned about) and
/// `config.toml`. A child process
/// cannot be handed an HTTP client: `api_base`, serenity's proxy mode, its rate limiter off.
/// Returns the admin endpoint's port.
fn serve_folder(fake: &FakeDiscord, guild: u64, dir: &std::path::Path) -> u16 {
    use std::os::unix::fs::PermissionsExt;
    let path = |name: &str| dir.join(name);
    std::fs::create_dir(path("content")).unwrap();
    std::fs::write(path("content/index.md"), knowledge_base()).unwrap();
    std::fs::write(path("discord_token"), format!("{TOKEN}\n")).unwrap();
    std::fs::set_permissions(
        path("discord_token"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let admin = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!(
        "content = {:?}\nstate_dir = {:?}\n[admin]\nlisten = \"127.0.0.1:{admin}\"\n\
         [discord]\ntoken_file = {:?}\nguild_ids = [\"{guild}\"]\napi_base = {:?}\n",
        path("content"),
        path("state"),
        path("discord_token"),
        fake.http_base(),
    );
    std::fs::write(path("config.toml"), config).unwrap();
    admin
}

impl CrashingBot {
    fn new(fake: &FakeDiscord, guild: u64, dir: &std::path::Path) -> Self {
        let path = |name: &str| dir.join(name);
        serve_folder(fake, guild, dir);
        Self {
            config: path("config.toml"),
            log: path("serve.log"),
            child: None,
        }
    }

    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_guichet"))
            .args(["serve", "--config"])
            .arg(&self.config)
            .env("RUST_LOG", "info,guichet=debug")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// SIGKILL: no shutdown, no flush, whatever the process was doing.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for CrashingBot {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(80).collect();
            eprintln!(
                "guichet serve's log (last lines, newest first):\n{}",
                tail.join("\n")
            );
        }
        self.kill();
    }
}

/// Issue 14, "same on the fake Discord": `guichet serve` is killed with SIGKILL 50 times, at
/// varied points of a turn (before the question arrives, before or after its claim and
/// commit, before or after the send, before the answer is marked sent, while starting and
/// catching up), and started again each time on the same state. Each run asks a question and
/// kills after a seeded random wait (0 to 40 ms into a connected process's turn; one run in
/// five 0 to 300 ms into a start). Every question, in a server channel and in
/// a DM, is answered exactly once (counted in the fake: answers quoting the question in the
/// channel, answers naming the subject in the DM), and the DM conversation keeps the role
/// chosen before the first kill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_any_point_every_question_is_answered_exactly_once() {
    const RUNS: usize = 50;
    let fake = FakeDiscord::start(Config {
        // Generous: after the last start, everything left is read back and answered.
        wait_timeout: Duration::from_secs(90),
        ..fake_config()
    })
    .await
    .unwrap();
    let guild = fake.add_guild();
    let channel = fake.add_channel(guild);
    let ana = fake.add_user("ana");
    let bob = fake.add_user("bob");
    let dm = fake.dm_channel(bob);
    let mention = format!("<@{}>", fake.bot_id());
    let dir = tempfile::tempdir().unwrap();
    let mut bot = CrashingBot::new(&fake, guild, dir.path());
    bot.start();
    fake.wait_ready().await;

    // Bob picks a role in the DM; Ana talks in the channel: both conversations exist.
    fake.say(bob, dm, "bonjour");
    fake.wait_bot_messages(dm, 1).await;
    fake.say(bob, dm, "1");
    let menu = fake.wait_bot_messages(dm, 2).await;
    assert!(
        menu[1].content.contains("Que voulez-vous savoir"),
        "{}",
        menu[1].content
    );
    fake.say(ana, channel, &format!("{mention} horaires"));
    fake.wait_bot_messages(channel, 1).await;

    let answers_to = |fake: &FakeDiscord, question: u64| {
        fake.bot_messages(channel)
            .iter()
            .filter(|m| m.reference == Some(question))
            .count()
    };
    let dm_answers = |fake: &FakeDiscord, subject: usize| {
        let line = format!("Réponse au sujet {subject}.");
        fake.bot_messages(dm)
            .iter()
            .filter(|m| m.content.lines().any(|l| l == line))
            .count()
    };
    let mut rng = guichet::engine::Rng::seeded(14);
    let mut in_channel = Vec::new();
    let mut in_dm = Vec::new();
    // READY dispatches before the process now running was started.
    let mut readies = 0;
    let mut killed_before_the_answer = 0;
    for run in 0..RUNS {
        // One run in five kills a process still starting (connecting, sending what the last
        // one left, reading back); the others a connected one, a few milliseconds into the
        // turn (before the question arrives, around its claim and commit, around the send,
        // before the mark), or after it.
        let while_starting = run % 5 == 4;
        if !while_starting {
            fake.wait_for("the restarted bot connected", |f| {
                (f.ready_count() > readies).then_some(())
            })
            .await;
        }
        let answered: Box<dyn Fn(&FakeDiscord) -> bool> = if run % 2 == 0 {
            let subject = run / 2 % 27 + 1;
            let question = fake.say(ana, channel, &format!("{mention} sujet numero {subject}"));
            in_channel.push((question, subject));
            Box::new(move |f| answers_to(f, question) > 0)
        } else {
            // Subjects 1 to 25, each asked once in the DM: an answer names its question.
            let subject = run / 2 + 1;
            in_dm.push(subject);
            fake.say(bob, dm, &format!("sujet numero {subject}"));
            Box::new(move |f| dm_answers(f, subject) > 0)
        };
        let wait = if while_starting { 300 } else { 40 };
        tokio::time::sleep(Duration::from_millis(rng.below(wait) as u64)).await;
        bot.kill();
        if !answered(&fake) {
            killed_before_the_answer += 1;
        }
        readies = fake.ready_count();
        bot.start();
    }
    fake.wait_for("an answer to every question", |f| {
        (in_channel.iter().all(|(q, _)| answers_to(f, *q) > 0)
            && in_dm.iter().all(|s| dm_answers(f, *s) > 0))
        .then_some(())
    })
    .await;
    // Barriers: a question asked now is answered after anything a restart left to send.
    let barrier = fake.say(ana, channel, &format!("{mention} horaires"));
    fake.wait_for("the channel's barrier", |f| {
        (answers_to(f, barrier) > 0).then_some(())
    })
    .await;
    fake.say(bob, dm, "sujet numero 27");
    fake.wait_for("the DM's barrier", |f| {
        (dm_answers(f, 27) > 0).then_some(())
    })
    .await;

    let not_once: Vec<String> = in_channel
        .iter()
        .map(|(q, subject)| (format!("channel, sujet {subject}"), answers_to(&fake, *q)))
        .chain(
            in_dm
                .iter()
                .map(|s| (format!("DM, sujet {s}"), dm_answers(&fake, *s))),
        )
        .filter(|(_, n)| *n != 1)
        .map(|(what, n)| format!("{what}: {n} answers"))
        .collect();
    assert!(not_once.is_empty(), "not answered once: {not_once:#?}");
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());

    // No conversation state lost: Bob's role, chosen before the first kill, is still there.
    bot.kill();
    // Where the kills landed, from the daemon's log: questions read back at a start (received
    // and not claimed, or asked while no process ran) and answers sent again (committed, not
    // marked sent). The first must have happened for the test to mean anything; how often
    // each happens depends on the machine's speed.
    let log = std::fs::read_to_string(&bot.log).unwrap_or_default();
    let count = |what: &str| log.lines().filter(|l| l.contains(what)).count();
    let read_back = count("message missed while away");
    let resent = count("answers left from before the restart");
    eprintln!(
        "{RUNS} kills, {killed_before_the_answer} before the answer was out: {read_back} \
         questions read back, {resent} starts sent answers again"
    );
    assert!(read_back > 0, "no kill left a question to read back");
    assert!(
        killed_before_the_answer < RUNS,
        "no kill came after an answer"
    );
    let store = guichet::store::SqliteStore::open(dir.path().join("state/state.sqlite")).unwrap();
    let key = ConversationKey::new("discord", "", bob.to_string());
    let stored = store.load(&key).unwrap().expect("Bob's conversation");
    let state: serde_json::Value = serde_json::from_str(&stored.data).unwrap();
    let role = state["variables"]["role"]
        .as_str()
        .or_else(|| state["conversation"]["variables"]["role"].as_str());
    assert_eq!(role, Some("prof"), "{state}");
    // What the catch-up keeps: the two channels and message ids, no user, no text.
    let marks = store
        .get_meta("discord.catch_up")
        .unwrap()
        .expect("catch-up marks");
    assert!(marks.contains(&channel.to_string()) && marks.contains(&dm.to_string()));
    for private in [ana.to_string(), bob.to_string(), "sujet".to_owned()] {
        assert!(!marks.contains(&private), "{marks}");
    }
}

/// Issue 14, exactly once for clicks: `guichet serve` is killed with SIGKILL 50 times, each
/// time a few milliseconds after a click (three runs in four after its acknowledgement:
/// around the commit, the edit of the original response and the mark; the others at any
/// point from the click on), and started again on the same state. Each click is on a fresh
/// menu; an answer is the click's own message (its original response) naming the subject
/// picked. Every click is answered at most once, and every click acknowledged and committed
/// before the kill is answered, through its original response (by the next start when the
/// kill came first). A click acknowledged and not committed cannot be answered: nothing of it
/// outlived the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_any_point_every_click_is_answered_at_most_once() {
    const RUNS: usize = 50;
    let fake = FakeDiscord::start(Config {
        wait_timeout: Duration::from_secs(90),
        ..fake_config()
    })
    .await
    .unwrap();
    let guild = fake.add_guild();
    let bob = fake.add_user("bob");
    let dm = fake.dm_channel(bob);
    let dir = tempfile::tempdir().unwrap();
    let mut bot = CrashingBot::new(&fake, guild, dir.path());
    bot.start();
    fake.wait_ready().await;

    // The bot's messages naming `subject`'s answer.
    let answers = |fake: &FakeDiscord, subject: usize| -> Vec<FakeMessage> {
        let line = format!("Réponse au sujet {subject}.");
        fake.bot_messages(dm)
            .into_iter()
            .filter(|m| m.content.lines().any(|l| l == line))
            .collect()
    };
    // A new menu of all subjects, the conversation's current one.
    let fresh_menu = async |fake: &FakeDiscord| {
        let before = fake.bot_messages(dm).len();
        fake.say(bob, dm, "tous les sujets");
        fake.wait_for("a fresh menu", |f| {
            f.bot_messages(dm)
                .into_iter()
                .skip(before)
                .find(|m| m.content.contains("Voici tous les sujets") && !m.buttons().is_empty())
        })
        .await
    };
    let mut rng = guichet::engine::Rng::seeded(1414);
    let mut clicks = Vec::new();
    let mut readies = 0;
    for run in 0..RUNS {
        fake.wait_for("the restarted bot connected", |f| {
            (f.ready_count() > readies).then_some(())
        })
        .await;
        let menu = fresh_menu(&fake).await;
        // Subjects 1 to 25 have buttons; each is picked by two runs, in different rounds.
        let subject = run % 25 + 1;
        let click = fake
            .click_label(bob, menu.id, &format!("Sujet {subject}"))
            .unwrap();
        clicks.push((click, subject));
        if run % 4 == 3 {
            tokio::time::sleep(Duration::from_millis(rng.below(30) as u64)).await;
        } else {
            fake.wait_response(click).await;
            tokio::time::sleep(Duration::from_millis(rng.below(12) as u64)).await;
        }
        bot.kill();
        readies = fake.ready_count();
        bot.start();
    }
    // Barrier: a question after the last start is answered once what the start had to send
    // again went out (the DM's catch-up, after the resend, goes first).
    fake.wait_for("the last start connected", |f| {
        (f.ready_count() > readies).then_some(())
    })
    .await;
    fresh_menu(&fake).await;
    bot.kill();

    let store = guichet::store::SqliteStore::open(dir.path().join("state/state.sqlite")).unwrap();
    let mut wrong = Vec::new();
    let (mut acknowledged_and_committed, mut lost_before_the_commit) = (0, 0);
    let mut answered_clicks = 0;
    for (click, subject) in &clicks {
        let interaction = fake.interaction(*click).unwrap();
        let acknowledged = interaction.response.is_some();
        // A claim that fails was there: the turn committed.
        let committed = !store
            .claim_event(
                "discord",
                &format!("interaction:{click}"),
                guichet::service::now_ms(),
            )
            .unwrap();
        // Its answers: messages of the click (its original response, follow-ups) naming its
        // subject, or, had the acknowledgement failed, posts naming it.
        let answered: Vec<FakeMessage> = answers(&fake, *subject)
            .into_iter()
            .filter(|m| m.interaction == Some(*click) || (!acknowledged && m.interaction.is_none()))
            .collect();
        if acknowledged && committed {
            acknowledged_and_committed += 1;
        } else if acknowledged {
            lost_before_the_commit += 1;
        }
        if answered.len() > 1 || (acknowledged && committed && answered.len() != 1) {
            wrong.push(format!(
                "click {click} (sujet {subject}): {} answers (acknowledged {acknowledged}, \
                 committed {committed})",
                answered.len()
            ));
        }
        if let ([answer], true) = (answered.as_slice(), acknowledged) {
            assert_eq!(
                Some(answer.id),
                interaction.response_message,
                "sujet {subject}: answered through the original response"
            );
        }
        answered_clicks += answered.len();
    }
    // No answer beyond those of the clicks: nothing sent twice outside a click's own messages.
    let all_answers: usize = (1..=25).map(|subject| answers(&fake, subject).len()).sum();
    assert_eq!(
        all_answers, answered_clicks,
        "answers that belong to no click"
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
    // (The barrier's own answer, to a message, may be left unmarked by the last kill.)
    let left: Vec<String> = store
        .pending_replies("discord")
        .unwrap()
        .into_iter()
        .map(|p| p.event_id)
        .filter(|id| id.starts_with("interaction:"))
        .collect();
    assert!(left.is_empty(), "no click's answer left to send: {left:?}");
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
    // Where the kills landed: clicks whose answer a start sent again (committed, not marked
    // sent). That must have happened for the test to mean anything.
    let log = std::fs::read_to_string(&bot.log).unwrap_or_default();
    let resent = log
        .lines()
        .filter(|l| l.contains("interaction answer sent again"))
        .count();
    eprintln!(
        "{RUNS} kills: {acknowledged_and_committed} clicks acknowledged and committed, \
         {lost_before_the_commit} acknowledged and lost before the commit, {resent} answers \
         sent again at a start"
    );
    assert!(resent > 0, "no kill left a committed click unanswered");
    assert!(
        !log.contains("itoken-"),
        "interaction tokens are secrets, never logged"
    );
}
