//! One user's conversation: what the engine remembers between two messages.
//!
//! Everything refers to responses by title, not by index, so a conversation stays meaningful
//! after the knowledge base is edited and reloaded; a title that disappeared sends the user
//! back to the welcome message.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Where a choice leads, as remembered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChoiceTarget {
    Welcome,
    Response(String),
    Url(String),
}

/// A choice as it was offered to the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferedChoice {
    /// The label as written (assignment text included): what typed-label matching compares.
    pub raw_label: String,
    /// What the user saw.
    pub label: String,
    pub target: ChoiceTarget,
    /// `@var=value` to perform when picked (value as written; `calc(…)` evaluated then).
    pub assignment: Option<(String, String)>,
    /// False for choices ChatMD does not let users type (the quiz skip button, internal
    /// links turned into buttons).
    pub typed: bool,
}

/// Which message a pending quiz question came from, to ask it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessageRef {
    Welcome,
    Response(String),
}

/// A `!Next` question waiting for its answer (docs/chatmd.md §F7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingNext {
    pub target: String,
    pub retry: Option<String>,
    pub ignore_keywords: bool,
    pub never_skip: bool,
    pub question: MessageRef,
}

/// The state the engine keeps per (platform, scope, user).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Conversation {
    /// Dynamic variables (the role lives here, e.g. `type_user`).
    pub variables: BTreeMap<String, String>,
    /// Variables whose value came from what the user typed: escaped wherever shown.
    pub user_variables: BTreeSet<String>,
    /// ChatMD's "last options": typed labels are matched against these (docs/chatmd.md §M3).
    pub last_options: Vec<OfferedChoice>,
    /// The choices of the last message shown: what a pick (button, number) refers to.
    pub shown: Vec<OfferedChoice>,
    pub next: Option<PendingNext>,
    /// How many times the pending question was displayed (the skip button comes at 3).
    pub next_displays: u32,
    /// Legacy capture `` `@var = @INPUT : Title` ``: (variable, title).
    pub capture: Option<(String, String)>,
    /// The welcome message was shown once: its show-once parts are not shown again.
    pub welcome_seen: bool,
    /// Titles of the menus shown, most recent last, for "previous menu".
    pub back: Vec<String>,
    /// The response shown last (`None` for the welcome message).
    pub current: Option<String>,
    /// Indices of the last default messages used, most recent last.
    pub recent_fallbacks: Vec<usize>,
    /// Unix milliseconds of the last message.
    pub updated_at: i64,
}

/// The shape of the stored JSON this guichet writes, in its `version` field. Records written
/// before the field existed have none: they are version 1's shape. A record of a later
/// version (a downgrade) is refused rather than half-read.
pub const STATE_VERSION: u64 = 1;

/// Why a stored conversation cannot be read. It says where the JSON went wrong, never what
/// it held: a record holds what a person typed, and this goes to the logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("not a conversation record ({kind} error at line {line}, column {column})")]
    Malformed {
        /// serde_json's class of error: syntax, data (a wrong type), end of input.
        kind: &'static str,
        line: usize,
        column: usize,
    },
    #[error(
        "written by a newer guichet (state version {found}; this one reads up to {STATE_VERSION})"
    )]
    NewerVersion { found: u64 },
}

impl From<serde_json::Error> for StateError {
    fn from(error: serde_json::Error) -> Self {
        // Not `error.to_string()`: serde's messages quote the offending value.
        let kind = match error.classify() {
            serde_json::error::Category::Io => "read",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Eof => "end of input",
        };
        Self::Malformed {
            kind,
            line: error.line(),
            column: error.column(),
        }
    }
}

/// What [`Conversation::to_json`] writes: the state and the version of its shape.
#[derive(Serialize)]
struct Versioned<'a> {
    version: u64,
    #[serde(flatten)]
    conversation: &'a Conversation,
}

/// The version alone, read before the state: the state's fields ignore it.
#[derive(Deserialize)]
struct VersionOnly {
    #[serde(default)]
    version: Option<u64>,
}

/// How many menus "previous menu" can go back.
const BACK_STACK_LIMIT: usize = 20;

/// ChatMD's predefined variable holding the last typed message (docs/chatmd.md §F10.5).
pub(crate) const INPUT_VARIABLE: &str = "INPUT";

impl Conversation {
    /// The state as JSON, with its [`STATE_VERSION`], for a [`crate::store::StateStore`].
    pub fn to_json(&self) -> String {
        // Serialising plain maps, vectors and strings cannot fail.
        serde_json::to_string(&Versioned {
            version: STATE_VERSION,
            conversation: self,
        })
        .unwrap_or_default()
    }

    /// A stored conversation. What cannot be read is an error, not a fresh state: the caller
    /// decides (the service logs it, counts it, and lets the person start afresh).
    pub fn from_json(data: &str) -> Result<Self, StateError> {
        let VersionOnly { version } = serde_json::from_str(data)?;
        if let Some(found) = version.filter(|v| *v > STATE_VERSION) {
            return Err(StateError::NewerVersion { found });
        }
        Ok(serde_json::from_str(data)?)
    }

    /// Resets the position (not the variables) after `idle_reset` without messages: the user
    /// starts again from the welcome message but keeps their role.
    pub fn reset_position_if_idle(&mut self, now_ms: i64, idle_reset_ms: i64) -> bool {
        if self.updated_at > 0 && now_ms.saturating_sub(self.updated_at) > idle_reset_ms {
            self.reset_position();
            return true;
        }
        false
    }

    /// Back to the start: the welcome's choices, nothing pending.
    pub fn reset_position(&mut self) {
        self.last_options.clear();
        self.shown.clear();
        self.next = None;
        self.next_displays = 0;
        self.capture = None;
        self.back.clear();
    }

    /// Forgets `@INPUT` at the end of a turn, so that what people type is not kept in the
    /// stored state for `forget_after` (issue 14, privacy). Everything that reads it during
    /// the turn (conditions, `calc`, a `!Next … / ignoreKeywords` answer shown, an author's
    /// `@var = calc(@INPUT)` that stores it under a name of their choosing) has run by then.
    ///
    /// The one capture that runs in a later turn is a choice's assignment reading `@INPUT`
    /// (`[@nom=calc(@INPUT) label](Target)`), evaluated when the choice is clicked: while such
    /// a choice is offered, `@INPUT` is kept so the click sees what ChatMD's page would.
    /// Otherwise a response reached by a click sees `@INPUT` undefined, where ChatMD's page
    /// would still show the last typed message: a deliberate divergence, as no golden case
    /// or shipped base reads `@INPUT` after a click.
    pub fn end_turn(&mut self) {
        let needed_later = self
            .shown
            .iter()
            .chain(&self.last_options)
            .filter_map(|choice| choice.assignment.as_ref())
            .any(|(_, value)| value.contains("@INPUT"));
        if !needed_later {
            self.variables.remove(INPUT_VARIABLE);
            self.user_variables.remove(INPUT_VARIABLE);
        }
    }

    pub(crate) fn push_back(&mut self, title: &str) {
        if self.back.last().is_some_and(|t| t == title) {
            return;
        }
        self.back.push(title.to_string());
        if self.back.len() > BACK_STACK_LIMIT {
            self.back.remove(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_garbage() {
        let mut c = Conversation::default();
        c.variables.insert("role".into(), "prof".into());
        c.next = Some(PendingNext {
            target: "Q".into(),
            retry: None,
            ignore_keywords: true,
            never_skip: false,
            question: MessageRef::Response("Quiz".into()),
        });
        assert_eq!(Conversation::from_json(&c.to_json()).unwrap(), c);
        assert!(matches!(
            Conversation::from_json("not json"),
            Err(StateError::Malformed { kind: "syntax", .. })
        ));
    }

    #[test]
    fn records_carry_a_version_and_older_ones_still_read() {
        let mut c = Conversation::default();
        c.variables.insert("role".into(), "prof".into());
        assert!(
            c.to_json().starts_with(r#"{"version":1,"#),
            "{}",
            c.to_json()
        );
        // Written before the version field: version 1's shape.
        let old = r#"{"variables":{"role":"prof"},"updated_at":5}"#;
        let read = Conversation::from_json(old).unwrap();
        assert_eq!(read.variables["role"], "prof");
        assert_eq!(read.updated_at, 5);
        // A downgrade: a newer guichet's record is refused, not half-read.
        let newer = r#"{"version":2,"variables":{"role":"prof"}}"#;
        assert_eq!(
            Conversation::from_json(newer),
            Err(StateError::NewerVersion { found: 2 })
        );
    }

    #[test]
    fn an_unreadable_record_is_described_without_its_content() {
        // A wrong type: serde's own message would quote the value, what a person typed.
        let err = Conversation::from_json(r#"{"updated_at":"mon secret"}"#).unwrap_err();
        assert!(matches!(err, StateError::Malformed { kind: "data", .. }));
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    fn choice(assignment: Option<(&str, &str)>) -> OfferedChoice {
        OfferedChoice {
            raw_label: "Oui".into(),
            label: "Oui".into(),
            target: ChoiceTarget::Response("Suite".into()),
            assignment: assignment.map(|(n, v)| (n.to_string(), v.to_string())),
            typed: true,
        }
    }

    #[test]
    fn input_is_forgotten_at_the_end_of_a_turn_unless_a_choice_reads_it() {
        let typed = |shown: Vec<OfferedChoice>| {
            let mut c = Conversation {
                shown,
                ..Conversation::default()
            };
            c.variables.insert("INPUT".into(), "mon secret".into());
            c.user_variables.insert("INPUT".into());
            c.variables.insert("role".into(), "prof".into());
            c.end_turn();
            c
        };
        let c = typed(vec![choice(None), choice(Some(("role", "direction")))]);
        assert!(!c.to_json().contains("mon secret"), "{}", c.to_json());
        assert!(!c.user_variables.contains("INPUT"));
        assert_eq!(c.variables["role"], "prof");
        // `[Oui @nom=calc(@INPUT)](Suite)` reads it when clicked, in a later turn.
        let c = typed(vec![choice(Some(("nom", "calc(@INPUT)")))]);
        assert_eq!(c.variables["INPUT"], "mon secret");
    }

    #[test]
    fn idle_reset_keeps_the_role() {
        let mut c = Conversation {
            updated_at: 1_000,
            ..Conversation::default()
        };
        c.variables.insert("role".into(), "prof".into());
        c.back.push("Menu".into());
        assert!(!c.reset_position_if_idle(2_000, 5_000));
        assert!(c.reset_position_if_idle(10_000, 5_000));
        assert!(c.back.is_empty());
        assert_eq!(c.variables["role"], "prof");
    }
}
