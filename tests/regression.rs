//! One test per bug fixed after it reached a user or CI, named after the bug, through the
//! public API; the commit that fixed it is in the comment. A test here fails on the code
//! before its fix.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Arc;
use std::time::Duration;

use guichet::engine::guichet::GuichetIndex;
use guichet::engine::{Engine, Input, MatchingMode};
use guichet::service::{Bot, Context, Outcome, Throttle};
use guichet::store::{ConversationKey, SqliteStore, StateStore};
use guichet::strings::Strings;

/// 87c8aeb. After a restart, Matrix reads recent history again and Discord reads missed
/// messages back; each of those events counted against its sender's rate limit before its
/// claim was seen, so a person's new question could be taken for the twenty-first message of
/// the minute and silently dropped (once in 50 kills of the Matrix crash test).
#[test]
fn history_read_again_after_a_restart_throttled_a_new_question() {
    let dir = tempfile::tempdir().unwrap();
    let kb = guichet::kb::parse_str(
        "t.md",
        "# T\nBonjour.\n## Horaires\n- horaires\nDe 8 h à 17 h.\n",
    )
    .kb
    .unwrap();
    let engine = Engine::new(Arc::new(kb), MatchingMode::Guichet, Strings::default());
    let store: Arc<dyn StateStore> =
        Arc::new(SqliteStore::open(dir.path().join("state.sqlite")).unwrap());
    let bot = Bot::new(engine, store, Duration::from_secs(3600));
    let mut context = Context::local(Arc::new(bot), "Doucement !".into());
    context.throttle = Some(Arc::new(Throttle::new(5, Duration::from_secs(60))));
    let key = ConversationKey::direct("matrix", "@ana:example.org");
    let ask = |event: &str| {
        context
            .handle_event(&key, Input::Text("horaires".into()), event, |_| {
                String::new()
            })
            .unwrap()
    };
    let asked: Vec<String> = (0..4).map(|i| format!("$before{i}")).collect();
    for event in &asked {
        assert!(matches!(ask(event), Some(Outcome::Reply(_))));
    }
    // Three restarts, each reading the same history again.
    for _ in 0..3 {
        for event in &asked {
            assert_eq!(ask(event), None, "answered twice");
        }
    }
    assert!(
        matches!(ask("$new"), Some(Outcome::Reply(_))),
        "the new question was throttled"
    );
}

/// 128ac02. A message word that only a typo tied to a word of some page's text (`blague`
/// against `blogue`) counted as a word the base knows, so off-topic messages passed the
/// unknown-words gate and got answers or "did you mean".
#[test]
fn a_typo_of_a_word_found_only_in_a_text_made_an_off_topic_message_look_known() {
    let kb = guichet::kb::parse_str(
        "t.md",
        "---\nrechercheContenu: true\n---\n# Cartes\nBonjour.\n## Partager\n- partager\n\
         Le lien se publie sur un blogue.\n",
    )
    .kb
    .unwrap();
    let index = GuichetIndex::for_kb(&kb);
    assert_eq!(index.unknown_share("raconte une blague"), 1.0);
    assert_eq!(
        index.unknown_share("un blogue"),
        0.0,
        "a word of the text is known"
    );
}

/// 06957c9. An edit made right after the daemon said it was serving, before the task that
/// watches the content first ran (a busy runtime starts it late), was never seen: the watch
/// was armed on that task's first poll (a daemon test failed once in a full local test run).
/// It is now armed when `Reloader::watch` is called.
#[test]
fn an_edit_before_the_watch_task_first_ran_was_never_served() {
    use guichet::daemon::reload::Reloader;
    use guichet::service::Status;
    let base = "# T\nBonjour.\n## Horaires\n- horaires\nDe 8 h à 17 h.\n";
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("content");
    std::fs::create_dir(&content).unwrap();
    std::fs::write(content.join("index.md"), base).unwrap();
    let (kb, _) = guichet::kb::load(&content).unwrap();
    let engine = Engine::new(Arc::new(kb), MatchingMode::Guichet, Strings::default());
    let bot = Arc::new(Bot::new(
        engine,
        Arc::new(guichet::store::MemoryStore::new()),
        Duration::from_secs(60),
    ));
    let status = Arc::new(Status::new());
    let reloader = Reloader::new(
        content.clone(),
        MatchingMode::Guichet,
        Strings::default(),
        bot,
        status.clone(),
    );
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let reloaded = runtime.block_on(async move {
        let watch = reloader.watch(shutdown);
        std::fs::write(
            content.join("index.md"),
            format!("{base}\n<!-- edited -->\n"),
        )
        .unwrap();
        let task = tokio::spawn(watch);
        let served = async {
            while !status
                .metrics(0, 0)
                .contains("reloads_total{result=\"ok\"} 1")
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        let reloaded = tokio::time::timeout(Duration::from_secs(15), served)
            .await
            .is_ok();
        let _ = stop.send(true);
        let _ = task.await;
        reloaded
    });
    assert!(
        reloaded,
        "the edit made before the watch task ran was never served"
    );
}
