//! The Matrix adapter end to end (issue 6): a real Synapse on loopback, the bot in this
//! process or as `guichet serve`, and people on matrix-sdk clients in Element's strict mode.
//! Synapse is installed from PyPI on first use; if that fails the tests fail with the reason.
//! `GUICHET_SKIP_SYNAPSE=1` skips them.
#![cfg(feature = "matrix")]
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Proving `Send` for a spawned matrix-sdk sync overflows the default limit.
#![recursion_limit = "256"]

mod support;

use std::time::{Duration, Instant};

use matrix_sdk::ruma::events::Mentions;
use matrix_sdk::ruma::events::relation::Thread;
use matrix_sdk::ruma::events::room::member::MembershipState;
use matrix_sdk::ruma::events::room::message::{
    AddMentions, ForwardThread, ReplacementMetadata, ReplyMetadata, ReplyWithinThread,
    RoomMessageEventContentWithoutRelation,
};

use support::*;

/// Welcome with the role menu, pick by number, pick by label, a free question, and the
/// role-conditional text: in a plain direct chat, then in an encrypted one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_chats_plain_and_encrypted() {
    if skip() {
        return;
    }
    let dir = TestDir::new("direct");
    let synapse = Synapse::start(&dir.join("synapse"), RateLimits::RAISED).await;
    let bot_id = synapse.register("guichet", false).await;
    synapse.register("ana", false).await;
    let ana = Human::login(&synapse, "ana", &dir).await;

    // Plain DM, opened before the bot's first start: what was said before is not a question
    // to it.
    let room = ana.create_room(&[&bot_id], true, false).await;
    ana.send(&room, "pomme").await;
    let bot = InProcessBot::start(bot_settings(&synapse, "guichet"), &dir.join("bot"));
    ana.member(&room, &bot_id, MembershipState::Join).await;
    let hello = ana.send(&room, "bonjour").await;
    let welcome = ana.next_message(&room, &bot_id).await;
    assert_eq!(welcome.msgtype(), "m.notice");
    assert!(
        welcome.body().starts_with("Bienvenue ! Qui êtes-vous ?"),
        "{}",
        welcome.body()
    );
    assert!(
        welcome
            .html()
            .ends_with("<ol><li>Enseignant</li><li>Direction</li></ol>"),
        "{}",
        welcome.html()
    );
    assert_eq!(
        welcome.in_reply_to(),
        None,
        "a direct chat gets plain messages"
    );
    assert!(!welcome.encrypted);
    ana.receipt(&room, &bot_id, &hello).await;

    ana.send(&room, "1").await;
    let menu = ana.next_message(&room, &bot_id).await;
    assert!(
        menu.body().starts_with("Bonjour professeur"),
        "role-conditional text: {}",
        menu.body()
    );
    assert!(
        menu.html().contains("<li>Horaires</li><li>Cantine</li>"),
        "{}",
        menu.html()
    );

    ana.send(&room, "Horaires").await;
    let hours = ana.next_message(&room, &bot_id).await;
    assert!(
        hours.html().contains("<strong>8 h à 17 h</strong>"),
        "{}",
        hours.html()
    );

    ana.send(&room, "à quelle heure ouvre la cantine ?").await;
    let canteen = ana.next_message(&room, &bot_id).await;
    assert_eq!(canteen.body(), "La cantine ouvre à 11 h 30.");

    // Encrypted DM, made as Element makes it; Ana's client shares keys only with devices
    // their owner signed, so this passes only if the bot cross-signed its own.
    ana.wait_cross_signed(&bot_id).await;
    let secret = ana.create_room(&[&bot_id], true, true).await;
    ana.member(&secret, &bot_id, MembershipState::Join).await;
    ana.send(&secret, "menu").await;
    let menu = ana.next_message(&secret, &bot_id).await;
    assert!(
        menu.encrypted,
        "the answer in an encrypted room is encrypted"
    );
    assert!(
        menu.body().starts_with("Bonjour professeur"),
        "the position and role are per user, not per DM room: {}",
        menu.body()
    );
    ana.send(&secret, "2").await;
    let canteen = ana.next_message(&secret, &bot_id).await;
    assert!(canteen.encrypted);
    assert_eq!(canteen.body(), "La cantine ouvre à 11 h 30.");

    // The commands Discord has as slash commands, typed: help, then a new profile.
    ana.send(&secret, "!guichet aide").await;
    let help = ana.next_message(&secret, &bot_id).await;
    assert!(help.body().contains("!guichet role"), "{}", help.body());
    ana.send(&secret, "!guichet role").await;
    let profiles = ana.next_message(&secret, &bot_id).await;
    assert!(
        profiles
            .body()
            .starts_with("Qui êtes-vous ? Choisissez votre profil"),
        "{}",
        profiles.body()
    );
    assert!(
        profiles
            .html()
            .ends_with("<ol><li>Enseignant</li><li>Direction</li></ol>"),
        "{}",
        profiles.html()
    );
    ana.send(&secret, "2").await;
    let menu = ana.next_message(&secret, &bot_id).await;
    assert!(
        menu.body().starts_with("Bonjour direction"),
        "the new profile holds: {}",
        menu.body()
    );

    bot.stop().await.unwrap();
}

/// A group room: nothing without being addressed; a mention gets a rich reply mentioning the
/// asker; a threaded question a threaded answer; a reply to the bot needs no mention; edits;
/// and each person keeps their own position.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_room_mentions_threads_edits_and_positions() {
    if skip() {
        return;
    }
    let dir = TestDir::new("group");
    let synapse = Synapse::start(&dir.join("synapse"), RateLimits::RAISED).await;
    let bot_id = synapse.register("guichet", false).await;
    synapse.register("ana", false).await;
    let bob_id = synapse.register("bob", false).await;
    let bot = InProcessBot::start(bot_settings(&synapse, "guichet"), &dir.join("bot"));
    let ana = Human::login(&synapse, "ana", &dir).await;
    let bob = Human::login(&synapse, "bob", &dir).await;

    let room = ana.create_room(&[&bot_id, &bob_id], false, false).await;
    let bob_room = bob.join(&room.room_id().to_owned()).await;
    ana.member(&room, &bob_id, MembershipState::Join).await;
    ana.member(&room, &bot_id, MembershipState::Join).await;

    // Unaddressed, then addressed: the bot answers a room in order, so once the second is
    // answered, an answer to the first would already be here.
    let chatter = ana
        .send(&room, "bonjour tout le monde, la cantine est ouverte ?")
        .await;
    let question = ana.send_mention(&room, &bot_id, "guichet", "bonjour").await;
    let welcome = ana.answer_to(&room, &bot_id, &question).await;
    assert!(
        !ana.has_answer_to(&room, &bot_id, &chatter),
        "answered without a mention"
    );
    assert!(
        welcome.mentions(&ana.user_id),
        "the answer mentions the asker"
    );
    assert!(
        welcome.body().contains("Qui êtes-vous"),
        "{}",
        welcome.body()
    );

    // Ana picks her role with the prefix; Bob opens his own conversation.
    let pick = ana.send(&room, "!guichet 1").await;
    let ana_menu = ana.answer_to(&room, &bot_id, &pick).await;
    assert!(
        ana_menu.body().starts_with("Bonjour professeur"),
        "{}",
        ana_menu.body()
    );
    let hello = bob
        .send_mention(&bob_room, &bot_id, "guichet", "bonjour")
        .await;
    let bob_welcome = bob.answer_to(&bob_room, &bot_id, &hello).await;
    assert!(bob_welcome.mentions(&bob.user_id));
    // "1" is Horaires in Ana's menu, but Enseignant in Bob's welcome: separate positions.
    let pick = ana.send(&room, "!guichet 1").await;
    let hours = ana.answer_to(&room, &bot_id, &pick).await;
    assert!(
        hours.body().starts_with("Le collège est ouvert"),
        "{}",
        hours.body()
    );
    let pick = bob.send(&bob_room, "!guichet 2").await;
    let bob_menu = bob.answer_to(&bob_room, &bot_id, &pick).await;
    assert!(
        bob_menu.body().starts_with("Bonjour direction"),
        "{}",
        bob_menu.body()
    );

    // A rich reply to the bot's answer, without a mention, is answered.
    let to_bot = RoomMessageEventContentWithoutRelation::text_plain("menu principal")
        .add_mentions(Mentions::new())
        .make_reply_to(
            ReplyMetadata::new(&hours.event_id, &bot_id, None),
            ForwardThread::Yes,
            AddMentions::No,
        );
    let reply_question = ana.send_content(&room, to_bot).await;
    let menu = ana.answer_to(&room, &bot_id, &reply_question).await;
    assert!(
        menu.body().starts_with("Bonjour professeur"),
        "{}",
        menu.body()
    );

    // A threaded question gets a threaded answer.
    let root = ana.send(&room, "Question pour la vie scolaire").await;
    let thread = Thread::plain(root.clone(), root.clone());
    let in_thread = RoomMessageEventContentWithoutRelation::text_plain("!guichet cantine")
        .add_mentions(Mentions::new())
        .make_for_thread(
            ReplyMetadata::new(&root, &ana.user_id, Some(&thread)),
            ReplyWithinThread::No,
            AddMentions::No,
        );
    let threaded = ana.send_content(&room, in_thread).await;
    let answer = ana.answer_to(&room, &bot_id, &threaded).await;
    assert_eq!(
        answer.thread_root(),
        Some(root.as_str()),
        "{:?}",
        answer.content
    );
    assert_eq!(answer.body(), "La cantine ouvre à 11 h 30.");
    // A follow-up in the bot's thread, without a mention: Element points the fallback reply
    // at the thread's latest message, the bot's answer.
    let follow_up = RoomMessageEventContentWithoutRelation::text_plain("horaires")
        .add_mentions(Mentions::new())
        .make_for_thread(
            ReplyMetadata::new(
                &answer.event_id,
                &bot_id,
                Some(&Thread::plain(root.clone(), answer.event_id.clone())),
            ),
            ReplyWithinThread::No,
            AddMentions::No,
        );
    let follow_up = ana.send_content(&room, follow_up).await;
    let answer = ana.answer_to(&room, &bot_id, &follow_up).await;
    assert_eq!(answer.thread_root(), Some(root.as_str()));
    assert!(
        answer.body().starts_with("Le collège est ouvert"),
        "{}",
        answer.body()
    );

    // Edits: an unaddressed message edited into a question is answered, as a reply to the
    // original; editing an answered question again is not answered.
    let original = ana.send(&room, "kiwi").await;
    let edit = RoomMessageEventContentWithoutRelation::text_plain("!guichet kiwi")
        .add_mentions(Mentions::new())
        .make_replacement(ReplacementMetadata::new(original.clone(), None));
    ana.send_content(&room, edit).await;
    let kiwi = ana.answer_to(&room, &bot_id, &original).await;
    assert_eq!(kiwi.body(), "Réponse : kiwi.");
    let re_edit = RoomMessageEventContentWithoutRelation::text_plain("!guichet pomme")
        .add_mentions(Mentions::new())
        .make_replacement(ReplacementMetadata::new(original.clone(), None));
    ana.send_content(&room, re_edit).await;
    let next = ana.send(&room, "!guichet poire").await;
    ana.answer_to(&room, &bot_id, &next).await;
    assert!(
        !ana.has_answer_to(&room, &bot_id, &original),
        "an edit of an answered question was answered"
    );

    // The commands in a room: with the prefix, and with a mention.
    let help = ana.send(&room, "!guichet aide").await;
    let help = ana.answer_to(&room, &bot_id, &help).await;
    assert!(help.body().contains("!guichet role"), "{}", help.body());
    let role = ana.send_mention(&room, &bot_id, "guichet", "role").await;
    let profiles = ana.answer_to(&room, &bot_id, &role).await;
    assert!(
        profiles
            .body()
            .contains("Qui êtes-vous ? Choisissez votre profil"),
        "{}",
        profiles.body()
    );

    bot.stop().await.unwrap();
}

/// `guichet serve --config` with a `[matrix]` section answers in an encrypted DM; restarted
/// as a new process on the same `state_dir` it is the same device, repeats nothing, keeps
/// positions and answers once what was asked while it was down. (What is older than
/// `catch_up` is skipped: `the_catch_up_window_counts_back_from_the_start` in
/// `platform/matrix/decide.rs`, with the start time given, not waited for.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_restarts_as_the_same_device_and_catches_up_once() {
    if skip() {
        return;
    }
    let dir = TestDir::new("restart");
    let synapse = Synapse::start(&dir.join("synapse"), RateLimits::RAISED).await;
    let bot_id = synapse.register("guichet", false).await;
    synapse.register("ana", false).await;
    let state = dir.join("state");
    // Every restart is well within `catch_up`.
    let restart_config = format!("{}\ncatch_up = \"1h\"", password_line());
    let serve = ServeProcess::start(&synapse, "guichet", &state, &restart_config);
    let ana = Human::login(&synapse, "ana", &dir).await;

    let devices = ana.wait_cross_signed(&bot_id).await;
    assert_eq!(devices.len(), 1);
    let room = ana.create_room(&[&bot_id], true, true).await;
    ana.member(&room, &bot_id, MembershipState::Join).await;
    ana.send(&room, "bonjour").await;
    let welcome = ana.next_message(&room, &bot_id).await;
    assert!(
        welcome.encrypted && welcome.body().contains("Qui êtes-vous"),
        "{}",
        welcome.body()
    );
    let device = welcome.sender_device.clone().unwrap();
    ana.send(&room, "1").await;
    let menu = ana.next_message(&room, &bot_id).await;
    assert!(menu.body().starts_with("Bonjour professeur"));

    serve.stop();
    // Asked while the bot is down.
    ana.send(&room, "2").await;
    let serve = ServeProcess::start(&synapse, "guichet", &state, &restart_config);

    let canteen = ana.next_message(&room, &bot_id).await;
    assert_eq!(
        canteen.body(),
        "La cantine ouvre à 11 h 30.",
        "`2` in the menu shown before the restart"
    );
    assert_eq!(
        canteen.sender_device.as_deref(),
        Some(device.as_str()),
        "the same device"
    );
    assert!(canteen.encrypted);
    // Nothing repeated: the next message is the next answer.
    ana.send(&room, "kiwi").await;
    let kiwi = ana.next_message(&room, &bot_id).await;
    assert_eq!(kiwi.body(), "Réponse : kiwi.", "an answer repeated");
    let devices_after = ana.wait_cross_signed(&bot_id).await;
    assert_eq!(devices_after, devices, "no new device");
    serve.stop();
}

/// A knowledge-base edit with errors is refused by `guichet serve`, and the refusal, with the
/// errors, is posted to the admin room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_reload_is_posted_to_the_admin_room() {
    if skip() {
        return;
    }
    let dir = TestDir::new("admin-room");
    let synapse = Synapse::start(&dir.join("synapse"), RateLimits::RAISED).await;
    let bot_id = synapse.register("guichet", false).await;
    synapse.register("ana", false).await;
    let ana = Human::login(&synapse, "ana", &dir).await;
    let admins = ana.create_room_with_alias("admins", &[&bot_id]).await;
    let state = dir.join("state");
    let serve = ServeProcess::start(
        &synapse,
        "guichet",
        &state,
        &format!(
            "{}\nadmin_room = \"#admins:{SERVER_NAME}\"",
            password_line()
        ),
    );
    ana.member(&admins, &bot_id, MembershipState::Join).await;

    let index = state.join("content").join("index.md");
    std::fs::write(&index, format!("{CONTENT}\n`endif`\n")).unwrap();
    let notice = ana.next_message(&admins, &bot_id).await;
    assert_eq!(notice.msgtype(), "m.notice");
    assert!(
        notice
            .body()
            .starts_with("La modification de la base de connaissances est refusée"),
        "{}",
        notice.body()
    );
    assert!(
        notice.body().contains("index.md"),
        "names the file: {}",
        notice.body()
    );
    assert!(notice.html().contains("<pre><code>"), "{}", notice.html());
    serve.stop();
}

/// Synapse restarted mid-conversation: the bot answers the next question within 10 s of the
/// homeserver being back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn homeserver_restart_mid_conversation() {
    if skip() {
        return;
    }
    let dir = TestDir::new("hs-restart");
    let mut synapse = Synapse::start(&dir.join("synapse"), RateLimits::RAISED).await;
    let bot_id = synapse.register("guichet", false).await;
    synapse.register("ana", false).await;
    let bot = InProcessBot::start(bot_settings(&synapse, "guichet"), &dir.join("bot"));
    let ana = Human::login(&synapse, "ana", &dir).await;
    let room = ana.create_room(&[&bot_id], true, false).await;
    ana.member(&room, &bot_id, MembershipState::Join).await;
    ana.send(&room, "bonjour").await;
    ana.next_message(&room, &bot_id).await;

    synapse.restart().await;
    let back = Instant::now();
    ana.send(&room, "2").await;
    let menu = ana.next_message(&room, &bot_id).await;
    let took = back.elapsed();
    assert!(
        menu.body().starts_with("Bonjour direction"),
        "{}",
        menu.body()
    );
    // How soon is the back-off's business (its cap is tested in `backoff.rs`), reported
    // here, not asserted: a wall-clock bound in `cargo test` fails on a loaded machine.
    report(&format!("answered {took:?} after Synapse was back"));
    bot.stop().await.unwrap();
}

/// Low rate limits: a burst of questions is all answered, in order, with the bot typing while
/// its answers wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_burst_is_answered_in_order() {
    if skip() {
        return;
    }
    let dir = TestDir::new("ratelimit");
    let limits = RateLimits {
        messages_per_second: 2.0,
        message_burst: 2,
    };
    let synapse = Synapse::start(&dir.join("synapse"), limits).await;
    let bot_id = synapse.register("guichet", false).await;
    synapse.register("ana", true).await;
    let bot = InProcessBot::start(bot_settings(&synapse, "guichet"), &dir.join("bot"));
    let ana = Human::login(&synapse, "ana", &dir).await;
    // Only the bot is limited: Ana's burst goes out at once.
    let token = ana.client.access_token().unwrap();
    let (status, body) = synapse
        .call(
            "POST",
            &format!(
                "/_synapse/admin/v1/users/{}/override_ratelimit",
                ana.user_id
            ),
            &token,
            Some(serde_json::json!({"messages_per_second": 0, "burst_count": 0})),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let room = ana.create_room(&[&bot_id], true, false).await;
    ana.member(&room, &bot_id, MembershipState::Join).await;
    let started = Instant::now();
    for fruit in FRUITS {
        ana.send(&room, fruit).await;
    }
    for fruit in FRUITS {
        let answer = ana.next_message(&room, &bot_id).await;
        assert_eq!(answer.body(), format!("Réponse : {fruit}."), "in order");
    }
    let took = started.elapsed();
    report(&format!(
        "{} answers under 2 msg/s, burst 2: {took:?}",
        FRUITS.len()
    ));
    // The limit was in force: the bot's answers waited, and it showed itself typing.
    assert!(
        ana.saw_typing(&room, &bot_id),
        "the bot typed while its answers waited"
    );
    bot.stop().await.unwrap();
}

/// Invitations: declined from someone not allowed, accepted from someone allowed; and the
/// bot leaves a room where it is alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invites_follow_the_allow_list_and_the_bot_leaves_when_alone() {
    if skip() {
        return;
    }
    let dir = TestDir::new("invites");
    let synapse = Synapse::start(&dir.join("synapse"), RateLimits::RAISED).await;
    let bot_id = synapse.register("guichet", false).await;
    // Ana is an admin, to look into a room after leaving it.
    synapse.register("ana", true).await;
    synapse.register("mallory", false).await;
    let mut settings = bot_settings(&synapse, "guichet");
    settings.allowed_inviters = vec![format!("@ana:{SERVER_NAME}")];
    let bot = InProcessBot::start(settings, &dir.join("bot"));
    let ana = Human::login(&synapse, "ana", &dir).await;
    let mallory = Human::login(&synapse, "mallory", &dir).await;

    let uninvited = mallory.create_room(&[&bot_id], true, false).await;
    mallory
        .member(&uninvited, &bot_id, MembershipState::Leave)
        .await;
    let room = ana.create_room(&[&bot_id], true, false).await;
    ana.member(&room, &bot_id, MembershipState::Join).await;
    assert!(
        mallory
            .client
            .get_room(uninvited.room_id())
            .is_some_and(|r| r.joined_members_count() == 1),
        "the bot declined Mallory's invitation"
    );

    // Ana leaves: the bot, alone, follows.
    room.leave().await.unwrap();
    let token = ana.client.access_token().unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, members) = synapse
            .call(
                "GET",
                &format!("/_synapse/admin/v1/rooms/{}/members", room.room_id()),
                &token,
                None,
            )
            .await;
        assert_eq!(status, 200, "{members}");
        let members = members["members"].as_array().unwrap();
        if !members.iter().any(|m| m == bot_id.as_str()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the bot stayed alone in the room"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bot.stop().await.unwrap();
}

/// A revoked access token stops `guichet serve` with a clear message and a failure exit,
/// instead of retrying.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_stops_serve_with_a_clear_message() {
    if skip() {
        return;
    }
    let dir = TestDir::new("revoked");
    let synapse = Synapse::start(&dir.join("synapse"), RateLimits::RAISED).await;
    let bot_id = synapse.register("guichet", false).await;
    synapse.register("ana", false).await;
    let token = synapse.login_token("guichet").await;
    let serve = ServeProcess::start(
        &synapse,
        "guichet",
        &dir.join("state"),
        &format!("access_token = {token:?}"),
    );
    let ana = Human::login(&synapse, "ana", &dir).await;
    let room = ana.create_room(&[&bot_id], true, false).await;
    ana.member(&room, &bot_id, MembershipState::Join).await;
    ana.send(&room, "bonjour").await;
    ana.next_message(&room, &bot_id).await;

    let (status, _) = synapse
        .call(
            "POST",
            "/_matrix/client/v3/logout",
            &token,
            Some(serde_json::json!({})),
        )
        .await;
    assert_eq!(status, 200);
    // Wakes the bot's long-poll, so its next sync meets the revoked token at once.
    ana.send(&room, "1").await;
    let log = serve.log.clone();
    let code = tokio::task::spawn_blocking(move || serve.exit_code(Duration::from_secs(40)))
        .await
        .unwrap();
    let log = std::fs::read_to_string(log).unwrap();
    assert_eq!(
        code,
        Some(78),
        "guichet serve did not stop as on a configuration error: {log}"
    );
    assert!(
        log.contains("guichet: the matrix adapter failed: the homeserver no longer accepts the bot's access token (revoked or expired)"),
        "{log}"
    );
    assert_eq!(log.matches("sync failed").count(), 0, "retried: {log}");
}

/// Key storage derives its key from the passphrase with PBKDF2 (500 000 rounds): seconds in a
/// debug build, more on a loaded machine.
const SLOW: Duration = Duration::from_secs(120);

/// The bot's device survives a reinstall (store lost): with the recovery key it verifies its
/// new device under the same identity, and strict clients keep talking to it encrypted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reinstalled_bot_recovers_its_identity_with_the_recovery_key() {
    if skip() {
        return;
    }
    let dir = TestDir::new("recovery");
    let synapse = Synapse::start(&dir.join("synapse"), RateLimits::RAISED).await;
    let bot_id = synapse.register("guichet", false).await;
    synapse.register("ana", false).await;
    let mut settings = bot_settings(&synapse, "guichet");
    settings.recovery_key = Some(guichet::config::Secret::new(
        "une phrase de récupération assez longue",
    ));
    let bot = InProcessBot::start(settings.clone(), &dir.join("bot-1"));
    let ana = Human::login(&synapse, "ana", &dir).await;
    let first_devices = ana.wait_cross_signed_within(&bot_id, SLOW).await;
    let master = ana
        .master_key(&bot_id)
        .await
        .expect("the bot has an identity");

    // The key storage exists once the bot enabled recovery: read with the bot's own token.
    let session: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("bot-1/matrix/session.json")).unwrap(),
    )
    .unwrap();
    let bot_token = session["session"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + SLOW;
    loop {
        let (status, _) = synapse
            .call(
                "GET",
                &format!(
                    "/_matrix/client/v3/user/{bot_id}/account_data/m.secret_storage.default_key"
                ),
                &bot_token,
                None,
            )
            .await;
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the bot never enabled key storage"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bot.stop().await.unwrap();

    // Reinstalled: an empty state_dir, so a new device. Healthy only once that device is
    // signed: a strict client that sees it earlier withholds its keys from it.
    let bot = InProcessBot::start(settings, &dir.join("bot-2"));
    let deadline = Instant::now() + SLOW;
    while !bot.status.health_json().contains("\"matrix\"") || !bot.status.healthy() {
        assert!(
            Instant::now() < deadline,
            "never healthy: {}",
            bot.status.health_json()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let health: serde_json::Value = serde_json::from_str(&bot.status.health_json()).unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    let devices = ana.devices_now(&bot_id).await;
    assert_eq!(devices.len(), 2, "{devices:?}");
    assert!(
        devices.iter().all(|(_, signed)| *signed),
        "healthy before the new device was signed: {devices:?}"
    );
    let deadline = Instant::now() + SLOW;
    let second_devices = loop {
        let devices = ana.wait_cross_signed_within(&bot_id, SLOW).await;
        if devices.len() == 2 {
            break devices;
        }
        assert!(
            Instant::now() < deadline,
            "the new device was never verified"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(first_devices.iter().all(|d| second_devices.contains(d)));
    assert_eq!(
        ana.master_key(&bot_id).await.as_deref(),
        Some(master.as_str()),
        "same identity"
    );

    let room = ana.create_room(&[&bot_id], true, true).await;
    ana.member(&room, &bot_id, MembershipState::Join).await;
    ana.send(&room, "kiwi").await;
    let kiwi = ana.next_message(&room, &bot_id).await;
    assert!(kiwi.encrypted);
    assert_eq!(kiwi.body(), "Réponse : kiwi.");
    let device = kiwi.sender_device.unwrap();
    assert!(
        !first_devices.contains(&device),
        "answered by the new device"
    );
    bot.stop().await.unwrap();
}

/// Reinstalled without a recovery key, the bot cannot sign its new device: `/healthz` never
/// says ok but degraded, with what to do, and the admin room gets one notice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reinstall_without_recovery_key_is_degraded_and_the_admins_are_told_once() {
    if skip() {
        return;
    }
    let dir = TestDir::new("unverified");
    let synapse = Synapse::start(&dir.join("synapse"), RateLimits::RAISED).await;
    let bot_id = synapse.register("guichet", false).await;
    synapse.register("ana", false).await;
    let ana = Human::login(&synapse, "ana", &dir).await;
    let admins = ana.create_room_with_alias("admins", &[&bot_id]).await;
    let lines = format!(
        "{}\nadmin_room = \"#admins:{SERVER_NAME}\"\nlate_key_wait = \"2s\"",
        password_line()
    );
    let first = ServeProcess::start(&synapse, "guichet", &dir.join("state-1"), &lines);
    let (_, health) = first.wait_health("200", WAIT, |code, _| code == 200).await;
    assert_eq!(
        health["status"], "ok",
        "a first start signs its device: {health}"
    );
    ana.member(&admins, &bot_id, MembershipState::Join).await;
    first.stop();

    // Reinstalled: a new state_dir, a new device, and the account's keys are not there.
    let state = dir.join("state-2");
    let second = ServeProcess::start(&synapse, "guichet", &state, &lines);
    let (code, health) = second
        .wait_health("anything but starting", WAIT, |_, health| {
            health["status"] != "starting" && health["adapters"]["matrix"].is_string()
        })
        .await;
    assert_eq!(code, 200, "degraded, still serving: {health}");
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["adapters"]["matrix"], "degraded", "{health}");
    let reason = health["reasons"]["matrix"].as_str().unwrap_or_default();
    assert!(reason.contains("recovery_key"), "says what to do: {health}");

    let notice = ana.next_message(&admins, &bot_id).await;
    assert!(
        notice
            .body()
            .starts_with("L'appareil du bot n'est pas vérifié"),
        "{}",
        notice.body()
    );
    assert!(notice.body().contains("recovery_key"), "{}", notice.body());
    // Ana's strict client sends nothing the unsigned device can read: each message is
    // counted, the log warns once per room and reason, and Ana is asked to send again.
    let room = ana.create_room(&[&bot_id], true, true).await;
    ana.member(&room, &bot_id, MembershipState::Join).await;
    for fruit in ["pomme", "poire", "cerise"] {
        ana.send(&room, fruit).await;
    }
    let deadline = Instant::now() + WAIT;
    let counted = loop {
        let counted = second.undecryptable().await;
        if counted.iter().map(|(_, n)| n).sum::<u64>() == 3 {
            break counted;
        }
        assert!(Instant::now() < deadline, "not counted: {counted:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let request = ana.next_message(&room, &bot_id).await;
    assert_eq!(
        request.body(),
        guichet::strings::Strings::default().unreadable_message
    );
    let log = std::fs::read_to_string(&second.log).unwrap();
    let warnings = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("matrix: a message could not be decrypted"))
        .count();
    assert_eq!(
        warnings,
        counted.len(),
        "one warning per reason in this room ({counted:?}): {log}"
    );

    // One notice: the next thing in the admin room is the next event, a refused reload.
    let index = state.join("content").join("index.md");
    std::fs::write(&index, format!("{CONTENT}\n`endif`\n")).unwrap();
    let next = ana.next_message(&admins, &bot_id).await;
    assert!(
        next.body()
            .starts_with("La modification de la base de connaissances est refusée"),
        "a second notice: {}",
        next.body()
    );
    second.stop();
}

/// Undecryptable messages whose key never comes (a client that does not share it): counted
/// in `/metrics` by reason, and the person is asked once to send again; what they send again
/// is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_key_never_comes_gets_one_request_to_send_it_again() {
    if skip() {
        return;
    }
    let dir = TestDir::new("never-key");
    let synapse = Synapse::start(&dir.join("synapse"), RateLimits::RAISED).await;
    let bot_id = synapse.register("guichet", false).await;
    synapse.register("ana", false).await;
    let mut settings = bot_settings(&synapse, "guichet");
    settings.late_key_wait = Duration::from_secs(2);
    let bot = InProcessBot::start(settings, &dir.join("bot"));
    let ana = Human::login(&synapse, "ana", &dir).await;
    ana.wait_cross_signed(&bot_id).await;
    let room = ana.create_room(&[&bot_id], true, true).await;
    ana.member(&room, &bot_id, MembershipState::Join).await;

    // Ana's second client sends twice and never shares the key.
    let withholding = HandmadeDevice::login(&synapse, "ana").await;
    let mut session = HandmadeSession::new();
    for body in ["pomme", "poire"] {
        withholding
            .send_encrypted(
                &synapse,
                room.room_id().as_str(),
                &mut session,
                serde_json::json!({"msgtype": "m.text", "body": body, "m.mentions": {}}),
            )
            .await;
    }
    bot.wait_metric(
        "guichet_messages_undecryptable_total{platform=\"matrix\",reason=\"missing_key\"} 2",
    )
    .await;
    let request = ana.next_message(&room, &bot_id).await;
    assert_eq!(
        request.body(),
        guichet::strings::Strings::default().unreadable_message
    );
    assert!(request.encrypted);

    ana.send(&room, "pomme").await;
    let answer = ana.next_message(&room, &bot_id).await;
    assert_eq!(
        answer.body(),
        "Réponse : pomme.",
        "one request for both messages, then the message sent again is answered"
    );
    bot.stop().await.unwrap();
}

/// A message whose key reaches the bot after the message itself (a slow client) is
/// answered when the key comes, once, and its sender is not also asked to send it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_key_comes_late_is_answered_once() {
    if skip() {
        return;
    }
    let dir = TestDir::new("late-key");
    let synapse = Synapse::start(&dir.join("synapse"), RateLimits::RAISED).await;
    let bot_id = synapse.register("guichet", false).await;
    synapse.register("ana", false).await;
    synapse.register("carol", false).await;
    let mut settings = bot_settings(&synapse, "guichet");
    // Every message in the room is for the bot, so an unreadable one would get a request to
    // send it again after this wait.
    settings.rooms = guichet::config::RoomPolicy::Open;
    settings.late_key_wait = Duration::from_secs(3);
    let bot = InProcessBot::start(settings, &dir.join("bot"));
    let ana = Human::login(&synapse, "ana", &dir).await;
    let mut carol = HandmadeDevice::login(&synapse, "carol").await;
    ana.wait_cross_signed(&bot_id).await;
    let room = ana.create_encrypted_group(&[&bot_id, &carol.user_id]).await;
    let room_id = room.room_id().to_string();
    carol.join(&synapse, &room_id).await;
    ana.member(&room, &bot_id, MembershipState::Join).await;

    let mut session = HandmadeSession::new();
    let question = carol
        .send_encrypted(
            &synapse,
            &room_id,
            &mut session,
            serde_json::json!({"msgtype": "m.text", "body": "kiwi", "m.mentions": {}}),
        )
        .await;
    // The bot has the message and cannot read it; only then does the key leave.
    bot.wait_metric(
        "guichet_messages_undecryptable_total{platform=\"matrix\",reason=\"missing_key\"} 1",
    )
    .await;
    carol.share_key(&synapse, &bot_id, &room_id, &session).await;
    let answer = ana.answer_to(&room, &bot_id, &question).await;
    assert_eq!(answer.body(), "Réponse : kiwi.");
    assert!(answer.mentions(&carol.user_id));

    // Past the wait for the key (the deliberate pause under test): the next thing the bot
    // says answers the next question, neither a request to send again nor a second answer.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let next = ana.send(&room, "poire").await;
    let poire = ana.next_message(&room, &bot_id).await;
    assert_eq!(poire.in_reply_to(), Some(next.as_str()), "{}", poire.body());
    assert_eq!(poire.body(), "Réponse : poire.");
    bot.stop().await.unwrap();
}

/// SIGTERM while the bot answers and backs up keys: `guichet serve` exits 0 and logs no
/// error after its last line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_activity_exits_cleanly() {
    if skip() {
        return;
    }
    let dir = TestDir::new("sigterm");
    let synapse = Synapse::start(&dir.join("synapse"), RateLimits::RAISED).await;
    let bot_id = synapse.register("guichet", false).await;
    synapse.register("ana", false).await;
    let serve = ServeProcess::start(
        &synapse,
        "guichet",
        &dir.join("state"),
        &format!(
            "{}\nrecovery_key = \"une phrase de récupération assez longue\"",
            password_line()
        ),
    );
    let ana = Human::login(&synapse, "ana", &dir).await;
    // Key storage and backup on: from now on, every new room key is uploaded.
    let deadline = Instant::now() + SLOW;
    while !std::fs::read_to_string(&serve.log)
        .unwrap_or_default()
        .contains("matrix: key storage enabled with the configured recovery key")
    {
        assert!(
            Instant::now() < deadline,
            "key storage never enabled: {}",
            tail(&serve.log, 20)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let room = ana.create_room(&[&bot_id], true, true).await;
    ana.member(&room, &bot_id, MembershipState::Join).await;
    ana.send(&room, "kiwi").await;
    ana.next_message(&room, &bot_id).await;
    // New rooms, new keys to back up; questions in flight.
    let other = ana.create_room(&[&bot_id], true, true).await;
    ana.member(&other, &bot_id, MembershipState::Join).await;
    for fruit in FRUITS {
        ana.send(&other, fruit).await;
    }
    let log = serve.log.clone();
    let code = tokio::task::spawn_blocking(move || serve.terminate())
        .await
        .unwrap();
    let log = std::fs::read_to_string(log).unwrap();
    assert_eq!(code, Some(0), "{log}");
    let (_, after) = log
        .split_once("state flushed; bye")
        .unwrap_or_else(|| panic!("no final line: {log}"));
    assert!(
        !after.contains("ERROR"),
        "an error after the final line: {after}"
    );
}

/// `key_recipients = "verified"`: the keys of the bot's answers go only to devices their owner
/// signed. A device of Ana's that she never verified gets a refusal (`m.unverified`), not the
/// key, while her verified client reads the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verified_key_recipients_leave_unverified_devices_out() {
    if skip() {
        return;
    }
    let dir = TestDir::new("recipients");
    let synapse = Synapse::start(&dir.join("synapse"), RateLimits::RAISED).await;
    let bot_id = synapse.register("guichet", false).await;
    synapse.register("ana", false).await;
    let mut settings = bot_settings(&synapse, "guichet");
    settings.key_recipients = guichet::config::KeyRecipients::Verified;
    let bot = InProcessBot::start(settings, &dir.join("bot"));
    let ana = Human::login(&synapse, "ana", &dir).await;
    // A second session of Ana's that she never verified, which could read room keys sent to it.
    let mut unverified = HandmadeDevice::login(&synapse, "ana").await;
    unverified.publish_one_time_keys(&synapse).await;
    ana.wait_cross_signed(&bot_id).await;
    let room = ana.create_room(&[&bot_id], true, true).await;
    ana.member(&room, &bot_id, MembershipState::Join).await;
    ana.send(&room, "kiwi").await;
    let kiwi = ana.next_message(&room, &bot_id).await;
    assert!(kiwi.encrypted);
    assert_eq!(
        kiwi.body(),
        "Réponse : kiwi.",
        "the verified client reads it"
    );

    let received = unverified.to_device_from(&synapse, &bot_id, WAIT).await;
    assert!(
        received
            .iter()
            .any(|(kind, content)| kind == "m.room_key.withheld"
                && content["code"] == "m.unverified"),
        "{received:?}"
    );
    assert!(
        !received.iter().any(|(kind, _)| kind == "m.room.encrypted"),
        "the bot sent its room key to an unverified device: {received:?}"
    );
    bot.stop().await.unwrap();
}

/// A message waiting for its key is kept in the state store: the bot restarted meanwhile
/// still answers it when the key comes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_waiting_for_its_key_survives_a_restart() {
    if skip() {
        return;
    }
    let dir = TestDir::new("late-key-restart");
    let synapse = Synapse::start(&dir.join("synapse"), RateLimits::RAISED).await;
    let bot_id = synapse.register("guichet", false).await;
    synapse.register("ana", false).await;
    synapse.register("carol", false).await;
    let mut settings = bot_settings(&synapse, "guichet");
    settings.rooms = guichet::config::RoomPolicy::Open;
    let bot = InProcessBot::start(settings.clone(), &dir.join("bot"));
    let ana = Human::login(&synapse, "ana", &dir).await;
    let mut carol = HandmadeDevice::login(&synapse, "carol").await;
    ana.wait_cross_signed(&bot_id).await;
    let room = ana.create_encrypted_group(&[&bot_id, &carol.user_id]).await;
    let room_id = room.room_id().to_string();
    carol.join(&synapse, &room_id).await;
    ana.member(&room, &bot_id, MembershipState::Join).await;

    let mut session = HandmadeSession::new();
    let question = carol
        .send_encrypted(
            &synapse,
            &room_id,
            &mut session,
            serde_json::json!({"msgtype": "m.text", "body": "cerise", "m.mentions": {}}),
        )
        .await;
    bot.wait_metric(
        "guichet_messages_undecryptable_total{platform=\"matrix\",reason=\"missing_key\"} 1",
    )
    .await;
    bot.stop().await.unwrap();

    // The key comes while the bot is down.
    carol.share_key(&synapse, &bot_id, &room_id, &session).await;
    let bot = InProcessBot::start(settings, &dir.join("bot"));
    let answer = ana.answer_to(&room, &bot_id, &question).await;
    assert_eq!(answer.body(), "Réponse : cerise.");
    bot.stop().await.unwrap();
}

/// Element's strict mode and a reinstall with the recovery key: a person who writes before
/// the new device is signed sends it no key. Once the device is signed, they are asked to
/// send the message again, and what they send again is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strict_client_writing_before_the_new_device_is_signed_is_asked_to_send_again() {
    if skip() {
        return;
    }
    let dir = TestDir::new("strict-early");
    let synapse = Synapse::start(&dir.join("synapse"), RateLimits::RAISED).await;
    let bot_id = synapse.register("guichet", false).await;
    synapse.register("ana", false).await;
    let mut settings = bot_settings(&synapse, "guichet");
    settings.recovery_key = Some(guichet::config::Secret::new(
        "une phrase de récupération assez longue",
    ));
    settings.late_key_wait = Duration::from_secs(2);
    let bot = InProcessBot::start(settings.clone(), &dir.join("bot-1"));
    let ana = Human::login(&synapse, "ana", &dir).await;
    ana.wait_cross_signed_within(&bot_id, SLOW).await;
    let room = ana.create_room(&[&bot_id], true, true).await;
    ana.member(&room, &bot_id, MembershipState::Join).await;
    ana.send(&room, "kiwi").await;
    assert_eq!(
        ana.next_message(&room, &bot_id).await.body(),
        "Réponse : kiwi."
    );
    // Key storage must exist for the reinstall to find it.
    let deadline = Instant::now() + SLOW;
    while !bot.status.health_json().contains("\"status\":\"ok\"")
        || ana
            .client
            .encryption()
            .request_user_identity(&bot_id)
            .await
            .is_err()
        || !session_has_key_storage(&synapse, &dir.join("bot-1"), &bot_id).await
    {
        assert!(
            Instant::now() < deadline,
            "the bot never enabled key storage"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bot.stop().await.unwrap();

    // Reinstalled: while the new device is not signed yet, Ana writes.
    let bot = InProcessBot::start(settings, &dir.join("bot-2"));
    let deadline = Instant::now() + SLOW;
    loop {
        let devices = ana.devices_now(&bot_id).await;
        if devices.len() == 2 {
            assert!(
                devices.iter().any(|(_, signed)| !signed),
                "the new device was signed before Ana could write: {devices:?}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no new device: {devices:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ana.send(&room, "pomme").await;
    let request = ana
        .expect("a request to send again", SLOW, |seen| match seen {
            Seen::Message(m) if m.room == room.room_id() && m.sender == bot_id => Some(m.clone()),
            _ => None,
        })
        .await;
    assert_eq!(
        request.body(),
        guichet::strings::Strings::default().unreadable_message
    );
    assert!(
        ana.devices_now(&bot_id)
            .await
            .iter()
            .all(|(_, signed)| *signed),
        "asked before the device was signed, when a strict client cannot read it"
    );
    ana.send(&room, "pomme").await;
    let answer = ana.next_message(&room, &bot_id).await;
    assert_eq!(answer.body(), "Réponse : pomme.", "the message sent again");
    bot.stop().await.unwrap();
}

/// Whether the bot (its session saved in `state_dir`) has key storage on its account.
async fn session_has_key_storage(
    synapse: &Synapse,
    state_dir: &std::path::Path,
    bot_id: &matrix_sdk::ruma::UserId,
) -> bool {
    let Ok(text) = std::fs::read_to_string(state_dir.join("matrix/session.json")) else {
        return false;
    };
    let session: serde_json::Value = serde_json::from_str(&text).unwrap();
    let token = session["session"]["access_token"].as_str().unwrap();
    let (status, _) = synapse
        .call(
            "GET",
            &format!("/_matrix/client/v3/user/{bot_id}/account_data/m.secret_storage.default_key"),
            token,
            None,
        )
        .await;
    status == 200
}

/// Issue 14, exactly once: an answer is committed with its turn before it is sent, and sent
/// with a transaction id derived from the question. Stopped after a send and before its mark,
/// the bot sends it again at the next start with the same id, and the homeserver keeps the
/// first event: nothing is repeated. Stopped before a send, the answer goes out at the next
/// start. The queue is empty afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_left_in_the_outbox_by_a_stop_go_out_once_at_the_next_start() {
    if skip() {
        return;
    }
    let dir = TestDir::new("outbox");
    let synapse = Synapse::start(&dir.join("synapse"), RateLimits::RAISED).await;
    let bot_id = synapse.register("guichet", false).await;
    synapse.register("ana", false).await;
    let settings = bot_settings(&synapse, "guichet");
    let bot = InProcessBot::start(settings.clone(), &dir.join("bot"));
    let ana = Human::login(&synapse, "ana", &dir).await;
    ana.wait_cross_signed(&bot_id).await;
    let room = ana.create_room(&[&bot_id], true, true).await;
    ana.member(&room, &bot_id, MembershipState::Join).await;
    let question = ana.send(&room, "pomme").await;
    let answer = ana.next_message(&room, &bot_id).await;
    assert_eq!(answer.body(), "Réponse : pomme.");
    bot.stop().await.unwrap();

    // What a stop leaves behind, written as the store keeps it: the answer to `pomme` sent
    // but not marked (whatever its text, the transaction id is the question's), and an
    // answer committed and never sent.
    let database = rusqlite::Connection::open(dir.join("bot").join("state.sqlite")).unwrap();
    let queued = |events: serde_json::Value| {
        serde_json::json!({"room": room.room_id().as_str(), "events": events}).to_string()
    };
    let now = guichet::service::now_ms();
    for (event, body) in [
        (question.as_str(), "Réponse répétée : ne doit pas arriver."),
        ("$jamais-envoyee", "Réponse restée dans la file."),
    ] {
        database
            .execute(
                "INSERT INTO outbox (platform, event_id, reply, created_at) VALUES ('matrix', ?1, ?2, ?3)",
                rusqlite::params![
                    event,
                    queued(serde_json::json!([{"msgtype": "m.notice", "body": body}])),
                    now
                ],
            )
            .unwrap();
    }
    drop(database);

    let bot = InProcessBot::start(settings, &dir.join("bot"));
    let rescued = ana.next_message(&room, &bot_id).await;
    assert_eq!(
        rescued.body(),
        "Réponse restée dans la file.",
        "the answer sent before is not repeated; the unsent one goes out"
    );
    // A barrier: the next message from the bot answers this, nothing queued comes after.
    ana.send(&room, "kiwi").await;
    let next = ana.next_message(&room, &bot_id).await;
    assert_eq!(next.body(), "Réponse : kiwi.");
    bot.stop().await.unwrap();
    let store = guichet::store::SqliteStore::open(dir.join("bot").join("state.sqlite")).unwrap();
    use guichet::store::StateStore;
    assert!(store.pending_replies("matrix").unwrap().is_empty());
}

/// Issue 14: killed with SIGKILL at any point of a turn — before the question arrives, after
/// its claim, after the commit, after the send, before the mark — the daemon answers every
/// question exactly once after its restart. Each run asks, waits a random moment (seeded) and
/// kills; the questions are counted in the room by the answers that reply to them. An
/// unencrypted room: the end-to-end keys' own crash safety is matrix-sdk's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_any_point_every_question_is_answered_exactly_once() {
    if skip() {
        return;
    }
    const RUNS: usize = 50;
    let dir = TestDir::new("crash");
    let synapse = Synapse::start(&dir.join("synapse"), RateLimits::RAISED).await;
    let bot_id = synapse.register("guichet", false).await;
    synapse.register("ana", false).await;
    let bob_id = synapse.register("bob", false).await;
    let state = dir.join("state");
    // Every restart is well within `catch_up`: no question is too old to be answered.
    let config = format!("{}\ncatch_up = \"1h\"", password_line());
    let ana = Human::login(&synapse, "ana", &dir).await;
    let bob = Human::login(&synapse, "bob", &dir).await;
    let mut serve = ServeProcess::start(&synapse, "guichet", &state, &config);
    // Three members: a group room, where each answer replies to its question.
    let room = ana.create_room(&[&bot_id, &bob_id], false, false).await;
    bob.join(&room.room_id().to_owned()).await;
    ana.member(&room, &bob_id, MembershipState::Join).await;
    ana.member(&room, &bot_id, MembershipState::Join).await;
    let first = ana.send(&room, "!guichet pomme").await;
    ana.answer_to(&room, &bot_id, &first).await;

    let mut rng = guichet::engine::Rng::seeded(14);
    let mut asked = Vec::new();
    for run in 0..RUNS {
        let fruit = FRUITS[run % FRUITS.len()];
        asked.push((ana.send(&room, &format!("!guichet {fruit}")).await, fruit));
        tokio::time::sleep(Duration::from_millis(rng.below(800) as u64)).await;
        serve.kill();
        serve = ServeProcess::start(&synapse, "guichet", &state, &config);
    }
    // Past every resend: a room's questions are answered in order, and what a restart left
    // goes out before anything new, so the answer to this comes after all the others.
    let barrier = ana.send(&room, "!guichet kiwi").await;
    ana.answer_to(&room, &bot_id, &barrier).await;
    let counts: Vec<(usize, &str, String, usize)> = asked
        .iter()
        .enumerate()
        .map(|(run, (question, fruit))| {
            let answers = ana.count_answers_to(&room, &bot_id, question);
            (run, *fruit, question.to_string(), answers)
        })
        .filter(|(_, _, _, answers)| *answers != 1)
        .collect();
    assert!(
        counts.is_empty(),
        "(run, question, answers) not answered once: {counts:?}"
    );
    serve.stop();
}
