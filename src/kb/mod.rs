//! The knowledge base: ChatMD files read into a typed model, exactly as ChatMD 8.12 reads them.
//!
//! Reading happens in stages, each in its own module: [`source`] loads the main file and its
//! includes and assembles them into one text with a line map back to every file; [`yaml`]
//! interprets the header; [`parse`] walks the lines like ChatMD's parser to find the title,
//! the welcome message and the responses; [`body`] turns a message's lines into a tree of
//! text, variables, conditions and directives; [`expr`] parses conditions and `calc(…)`.
//! [`check`] adds the author-facing warnings of `guichet check`.
//!
//! Everything keeps its source file and line, and nothing in here panics on input: problems
//! become [`Diagnostic`]s.

pub mod body;
pub mod check;
pub mod diagnostic;
pub mod expr;
pub mod parse;
pub mod source;
pub mod yaml;

use std::path::{Path, PathBuf};

pub use body::{AssignValue, Directive, Node};
pub use diagnostic::{Diagnostic, Severity};
pub use yaml::Settings;

/// Index of a file in [`KnowledgeBase::files`].
pub type FileId = usize;

/// Where something was written: a file of the knowledge base and a 1-based line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Location {
    pub file: FileId,
    pub line: u32,
}

/// One file that contributed to the knowledge base, kept so diagnostics can quote it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    /// The file's lines after line-ending normalisation.
    pub lines: Vec<String>,
}

/// A whole chatbot: settings, title, welcome message and responses in document order.
#[derive(Debug, Clone)]
pub struct KnowledgeBase {
    pub settings: Settings,
    /// The chatbot's name (Markdown allowed); `Chatbot` when the files have no `# ` title.
    pub title: String,
    /// The message shown first and when a choice with an empty target is picked.
    pub welcome: Message,
    /// Responses in document order (after includes). Ties in matching go to the earlier one.
    pub responses: Vec<Response>,
    pub files: Vec<SourceFile>,
    /// Synonym groups (`synonymes:`), from the header or the file it names.
    pub synonyms: Vec<Vec<String>>,
    /// False when no `# ` title was found: the files are a fragment meant to be included.
    pub has_title: bool,
}

/// The body shared by the welcome message and responses.
#[derive(Debug, Clone, Default)]
pub struct Message {
    /// Source lines as ChatMD keeps them (blank lines dropped, option lines removed). Content
    /// search and the `---` alternatives work on these.
    pub lines: Vec<Line>,
    /// Random alternatives (`---`); one is drawn at each display. Always at least one.
    pub variants: Vec<Vec<Node>>,
    /// Choice buttons, always shown after the text, in source order.
    pub choices: Vec<Choice>,
    /// `[label](#title)` links in the text: clicking one behaves like a choice.
    pub links: Vec<Link>,
}

/// A content line and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub location: Location,
}

/// A `## ` section: what the bot answers when it is chosen.
#[derive(Debug, Clone)]
pub struct Response {
    /// The identifier targets refer to; also used as a keyword by matching.
    pub title: String,
    pub location: Location,
    pub keywords: Vec<Keyword>,
    pub message: Message,
}

/// A keyword as written under a title (`- text`); `! text` is a negative keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyword {
    /// The text as written, with its `- ` removed and trimmed (`! ` prefix kept), which is
    /// what ChatMD's matcher receives.
    pub text: String,
    pub location: Location,
}

impl Keyword {
    /// A keyword starting with `! ` lowers the score of its response when present.
    pub fn is_negative(&self) -> bool {
        self.text.starts_with("! ")
    }
}

/// Where a choice leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Empty target: back to the welcome message (without its show-once parts).
    Welcome,
    /// A response title, compared exactly (first response with that title wins).
    Response(String),
    /// `link:https://…`: a button that opens a URL.
    Url(String),
}

/// A choice button parsed from `1. [label](target)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// The label as written between the brackets (`suite` when empty). Typed-label matching
    /// compares against this, assignment text included, as ChatMD does.
    pub raw_label: String,
    /// What the button shows: the label without its `@var=value` assignment.
    pub label: String,
    /// `@var=value` carried by the button, performed when it is picked.
    pub assignment: Option<(String, AssignValue)>,
    pub target: Target,
    /// The target text after `#`-anchor conversion, exactly as ChatMD compares it.
    pub target_text: String,
    /// Written `1)`: shuffled among the other `)` choices at display.
    pub shuffled: bool,
    /// The conditions in force where the choice was written, all of which must hold for it
    /// to be shown.
    pub conditions: Vec<body::Condition>,
    pub location: Location,
}

/// An internal link `[label](#title)` found in a content line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub label: String,
    /// Title after `#`, hyphens kept for links (docs/chatmd.md §F5.1).
    pub target: String,
    pub location: Location,
    /// Written with a space between `]` and `(`: still a link for ChatMD's renderer.
    pub spaced: bool,
}

impl KnowledgeBase {
    /// The first response with exactly this title (option targets resolve this way).
    pub fn response_index(&self, title: &str) -> Option<usize> {
        self.responses.iter().position(|r| r.title == title)
    }

    /// [`KnowledgeBase::response_index`] of every title at once, for walks over all the
    /// choices of a base.
    pub fn index_by_title(&self) -> std::collections::HashMap<&str, usize> {
        let mut index = std::collections::HashMap::new();
        for (i, response) in self.responses.iter().enumerate() {
            index.entry(response.title.as_str()).or_insert(i);
        }
        index
    }

    /// Frees the text of the source files, keeping their paths. Serving never quotes the
    /// sources (`guichet check` renders diagnostics from its own copy), and for a large base
    /// their lines weigh about 1.5 × the files' size (docs/performance.md).
    pub fn release_source_text(&mut self) {
        for file in &mut self.files {
            file.lines = Vec::new();
        }
    }

    /// Path of a file, for messages.
    pub fn file_path(&self, file: FileId) -> &Path {
        self.files
            .get(file)
            .map(|f| f.path.as_path())
            .unwrap_or_else(|| Path::new("?"))
    }

    /// Every variable assigned anywhere: dynamic assignments, button assignments, captures.
    pub fn assigned_variables(&self) -> std::collections::BTreeSet<String> {
        let mut names = std::collections::BTreeSet::new();
        for message in
            std::iter::once(&self.welcome).chain(self.responses.iter().map(|r| &r.message))
        {
            for choice in &message.choices {
                if let Some((name, _)) = &choice.assignment {
                    names.insert(name.clone());
                }
            }
            for variant in &message.variants {
                body::walk(variant, &mut |node| match node {
                    Node::Assign { name, .. } | Node::Capture { name, .. } => {
                        names.insert(name.clone());
                    }
                    _ => {}
                });
            }
        }
        names
    }
}

/// Errors that stop a knowledge base from loading at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}", diagnostic::render_all(.files, .diagnostics))]
    Invalid {
        files: Vec<SourceFile>,
        diagnostics: Vec<Diagnostic>,
    },
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} holds no ChatMD file (.md)", .0.display())]
    EmptyFolder(PathBuf),
    /// The main file itself was refused (not a regular file, too large, unreadable).
    #[error(transparent)]
    File(#[from] source::FileError),
}

/// The result of reading a knowledge base: the model (when the files could be read at all)
/// and everything worth telling the author.
#[derive(Debug)]
pub struct Checked {
    pub kb: Option<KnowledgeBase>,
    pub files: Vec<SourceFile>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
    pub fn warning_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count()
    }
}

/// The main file of a knowledge base given a file or a folder: a folder's main file is
/// `index.md`, else `main.md`, else its only `.md` file with a `# ` title.
pub fn main_file(path: &Path) -> Result<PathBuf, LoadError> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    for name in ["index.md", "main.md"] {
        let candidate = path.join(name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    let entries = std::fs::read_dir(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut md: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    md.sort();
    let titled: Vec<&PathBuf> = md
        .iter()
        .filter(|p| {
            // Bounded and regular files only: a FIFO named `x.md` must not hang the search.
            source::read_text(p)
                .map(|t| t.starts_with("# ") || t.contains("\n# "))
                .unwrap_or(false)
        })
        .collect();
    match (titled.first(), md.first()) {
        (Some(p), _) => Ok((*p).clone()),
        (None, Some(p)) => Ok(p.clone()),
        (None, None) => Err(LoadError::EmptyFolder(path.to_path_buf())),
    }
}

/// Reads a knowledge base (a main file or a folder) and reports every problem found,
/// including `guichet check`'s warnings.
pub fn check_path(path: &Path) -> Result<Checked, LoadError> {
    let main = main_file(path)?;
    let assembled = source::assemble(&main)?;
    Ok(check::check(assembled))
}

/// Loads a knowledge base for serving: any error refuses it (warnings are returned).
pub fn load(path: &Path) -> Result<(KnowledgeBase, Vec<Diagnostic>), LoadError> {
    let checked = check_path(path)?;
    match checked.kb {
        Some(kb) if checked.error_count() == 0 => Ok((kb, checked.diagnostics)),
        _ => Err(LoadError::Invalid {
            files: checked.files,
            diagnostics: checked
                .diagnostics
                .into_iter()
                .filter(|d| d.severity == Severity::Error)
                .collect(),
        }),
    }
}

/// Parses a knowledge base held in memory (tests, benchmarks, generated bases). Includes
/// are not followed.
pub fn parse_str(name: &str, text: &str) -> Checked {
    check::check(source::from_text(PathBuf::from(name), text))
}
