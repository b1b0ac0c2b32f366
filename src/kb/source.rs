//! Reading the main file and its includes, and assembling them into one text as ChatMD does
//! (docs/chatmd.md §F2), with every line mapped back to its file.
//!
//! Authors are trusted with their own folder, not with the machine: what they publish is shown
//! to every chat user, so every file read here stays inside the content folder (the main
//! file's folder, symlinks resolved), is a regular file, and is read with a size cap. The
//! limits below are stated in the README ("Limits").

use std::path::{Path, PathBuf};

use super::yaml::{self, Settings, SynonymSource};
use super::{Diagnostic, FileId, Line, LoadError, Location, SourceFile};

const MIB: u64 = 1024 * 1024;

/// Largest file read for a knowledge base (main file, include, synonyms file). Bases of
/// 5 MB are a documented performance target (docs/performance.md); 8 MiB leaves room for them
/// while a 3 GB file or `/dev/zero` is refused after reading 8 MiB at most.
pub const MAX_FILE_BYTES: u64 = 8 * MIB;

/// Largest assembled base: the main file, every include (repeats counted) and the synonyms
/// file. A base weighs about 15 times its text once loaded, so this keeps a reload under
/// about half a gigabyte; one file listed thousands of times is stopped here.
pub const MAX_TOTAL_BYTES: u64 = 32 * MIB;

/// Most `include:` entries followed, repeats counted. Real bases split into a few dozen files.
pub const MAX_INCLUDES: usize = 256;

/// Why a file of the knowledge base was not read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("`{0}` is an absolute path; name files relative to the main file's folder")]
    Absolute(String),
    #[error("{} is outside the content folder {}", .path.display(), .root.display())]
    Outside { path: PathBuf, root: PathBuf },
    #[error("{} is not a regular file", .0.display())]
    NotRegular(PathBuf),
    #[error("{} is larger than {} MiB", .0.display(), MAX_FILE_BYTES / MIB)]
    TooLarge(PathBuf),
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl FileError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        FileError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A file that simply is not there (ChatMD tolerates a missing synonyms file).
    fn is_not_found(&self) -> bool {
        matches!(self, FileError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// The assembled source: what the parser walks.
#[derive(Debug, Clone)]
pub struct Assembled {
    pub files: Vec<SourceFile>,
    /// Lines of main + includes, joined as ChatMD joins them, with their origin.
    pub lines: Vec<Line>,
    pub settings: Settings,
    /// Synonym groups, read from the header or from the file it names.
    pub synonyms: Vec<Vec<String>>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Line endings as ChatMD sees them: CRLF and lone CR become LF (docs/chatmd.md §F2.2).
fn normalise_newlines(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// Reads a regular file of at most [`MAX_FILE_BYTES`], never more than that from the disk
/// (see [`crate::bounded_read`]).
pub fn read_text(path: &Path) -> Result<String, FileError> {
    use crate::bounded_read::{BoundedReadError, read_regular};
    match read_regular(path, MAX_FILE_BYTES) {
        Ok((bytes, _)) => Ok(normalise_newlines(&String::from_utf8_lossy(&bytes))),
        Err(BoundedReadError::Io(e)) => Err(FileError::io(path, e)),
        Err(BoundedReadError::NotRegular { .. }) => Err(FileError::NotRegular(path.to_path_buf())),
        Err(BoundedReadError::TooLarge) => Err(FileError::TooLarge(path.to_path_buf())),
    }
}

/// The folder every file of a knowledge base must stay in: the main file's folder, with
/// symlinks resolved.
pub fn content_root(main: &Path) -> Result<PathBuf, FileError> {
    let dir = match main.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    dir.canonicalize().map_err(|e| FileError::io(dir, e))
}

/// Resolves an `include:` entry or a synonyms file name to a file inside `root`
/// ([`include_path`] rules), symlinks followed and checked: `..`, absolute paths and symlinks
/// may not lead outside the content folder.
pub fn resolve_inside(root: &Path, main: &Path, entry: &str) -> Result<PathBuf, FileError> {
    let entry = entry.trim();
    if !entry.contains("://") && (Path::new(entry).is_absolute() || entry.starts_with(['/', '\\']))
    {
        return Err(FileError::Absolute(entry.to_string()));
    }
    let path = include_path(main, entry);
    let canonical = path.canonicalize().map_err(|e| FileError::io(&path, e))?;
    if !canonical.starts_with(root) {
        return Err(FileError::Outside {
            path: canonical,
            root: root.to_path_buf(),
        });
    }
    Ok(canonical)
}

/// Where an `include:` entry lives on disk: relative to the main file, and a URL resolves
/// to the file with the same last path element next to the main file (no network).
pub fn include_path(main: &Path, entry: &str) -> PathBuf {
    let dir = main.parent().unwrap_or_else(|| Path::new("."));
    let entry = entry.trim();
    if entry.contains("://") {
        let without_query = entry.split(['?', '#']).next().unwrap_or(entry);
        let last = without_query
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(without_query);
        dir.join(last)
    } else {
        dir.join(entry)
    }
}

/// Builds the assembled lines while remembering where each came from.
struct Builder {
    lines: Vec<Line>,
}

impl Builder {
    /// Appends text the way string concatenation would: its first piece continues the
    /// current last line.
    fn push_text(&mut self, text: &str, file: FileId) {
        for (i, piece) in text.split('\n').enumerate() {
            let location = Location {
                file,
                line: u32::try_from(i + 1).unwrap_or(u32::MAX),
            };
            if i == 0
                && let Some(last) = self.lines.last_mut()
            {
                last.text.push_str(piece);
                continue;
            }
            self.lines.push(Line {
                text: piece.to_string(),
                location,
            });
        }
    }
    /// Appends a separator made only of newlines; the new lines belong to `file`'s end.
    fn push_newlines(&mut self, count: usize, at: Location) {
        for _ in 0..count {
            self.lines.push(Line {
                text: String::new(),
                location: at,
            });
        }
    }
}

fn source_file(path: PathBuf, text: &str) -> SourceFile {
    SourceFile {
        path,
        lines: text.split('\n').map(str::to_string).collect(),
    }
}

/// Assembles a knowledge base held in memory, without includes.
pub fn from_text(path: PathBuf, text: &str) -> Assembled {
    let text = normalise_newlines(text);
    let mut diagnostics = Vec::new();
    let header = yaml::extract_header(&text);
    let settings = yaml::parse_settings(header.as_ref(), 0, &mut diagnostics);
    let mut builder = Builder { lines: Vec::new() };
    builder.push_text(&text, 0);
    let synonyms = match &settings.synonyms {
        SynonymSource::Groups(g) => g.clone(),
        SynonymSource::File(..) => Vec::new(),
    };
    Assembled {
        files: vec![source_file(path, &text)],
        lines: builder.lines,
        settings,
        synonyms,
        diagnostics,
    }
}

/// Reads the main file and its includes (docs/chatmd.md §F2.1): main + blank line + each include
/// joined by a newline. Included files are plain continuations (their headers are not
/// interpreted). A missing include, an include of the main file itself, and any file refused
/// by the limits of this module are errors at the line of the `include:` entry.
pub fn assemble(main: &Path) -> Result<Assembled, LoadError> {
    let main_text = read_text(main)?;
    let root = content_root(main)?;
    let mut total = main_text.len() as u64;
    let mut assembled = from_text(main.to_path_buf(), &main_text);
    let main_canonical = main.canonicalize().ok();
    let includes = assembled.settings.includes.clone();
    let mut builder = Builder {
        lines: std::mem::take(&mut assembled.lines),
    };
    let main_end = builder.lines.last().map(|l| l.location).unwrap_or_default();
    let mut first = true;
    for (index, (entry, location)) in includes.iter().enumerate() {
        if index == MAX_INCLUDES {
            assembled.diagnostics.push(Diagnostic::error(
                Some(*location),
                format!(
                    "more than {MAX_INCLUDES} includes (repeats counted); `{entry}` and the rest are not read"
                ),
            ));
            break;
        }
        let mut refuse = |message: String| {
            assembled
                .diagnostics
                .push(Diagnostic::error(Some(*location), message));
        };
        let path = match resolve_inside(&root, main, entry) {
            Ok(path) => path,
            Err(err) => {
                refuse(format!("cannot include `{entry}`: {err}"));
                continue;
            }
        };
        if Some(&path) == main_canonical.as_ref() {
            refuse(format!("include cycle: `{entry}` is the main file itself"));
            continue;
        }
        let text = match read_text(&path) {
            Ok(text) => text,
            Err(err) => {
                refuse(format!("cannot include `{entry}`: {err}"));
                continue;
            }
        };
        total += text.len() as u64;
        if total > MAX_TOTAL_BYTES {
            refuse(format!(
                "cannot include `{entry}`: the knowledge base would exceed {} MiB; it and the rest are not read",
                MAX_TOTAL_BYTES / MIB
            ));
            break;
        }
        if first {
            builder.push_newlines(2, main_end);
        } else {
            let at = builder.lines.last().map(|l| l.location).unwrap_or_default();
            builder.push_newlines(1, at);
        }
        first = false;
        // A file included twice is read twice, as ChatMD does; it gets one id per inclusion
        // so lines stay unambiguous.
        let id = assembled.files.len();
        assembled.files.push(source_file(path, &text));
        // `push_newlines` opened a fresh empty line: the file's first line fills it.
        if let Some(last) = builder.lines.last_mut() {
            last.location = Location { file: id, line: 1 };
        }
        builder.push_text(&text, id);
    }
    assembled.lines = builder.lines;
    if let SynonymSource::File(url, location) = &assembled.settings.synonyms {
        let read = resolve_inside(&root, main, url).and_then(|path| read_text(&path));
        match read {
            Ok(text) if total + text.len() as u64 > MAX_TOTAL_BYTES => {
                assembled.diagnostics.push(Diagnostic::error(
                    Some(*location),
                    format!(
                        "synonyms file `{url}` not read: the knowledge base would exceed {} MiB",
                        MAX_TOTAL_BYTES / MIB
                    ),
                ));
            }
            Ok(text) => {
                assembled.synonyms = text
                    .lines()
                    .map(yaml::split_synonym_group)
                    .filter(|g| !g.is_empty())
                    .collect();
            }
            // ChatMD carries on without synonyms when the file is missing.
            Err(err) if err.is_not_found() => assembled.diagnostics.push(Diagnostic::warning(
                Some(*location),
                format!(
                    "synonyms file `{url}` not found next to the main file ({err}); no synonyms"
                ),
            )),
            Err(err) => assembled.diagnostics.push(Diagnostic::error(
                Some(*location),
                format!("cannot read the synonyms file `{url}`: {err}"),
            )),
        }
    }
    Ok(assembled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_includes_resolve_next_to_the_main_file() {
        let main = Path::new("/kb/index.md");
        assert_eq!(
            include_path(main, "https://forge.example/bot/raw/main/Aide.md?x=1"),
            PathBuf::from("/kb/Aide.md")
        );
        assert_eq!(
            include_path(main, "topics/a.md"),
            PathBuf::from("/kb/topics/a.md")
        );
    }

    #[test]
    fn crlf_becomes_lf() {
        let a = from_text("x.md".into(), "# T\r\nhello\r\n");
        let texts: Vec<&str> = a.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, vec!["# T", "hello", ""]);
    }

    #[test]
    fn includes_are_appended_with_their_lines() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("index.md");
        std::fs::write(&main, "---\ninclude: [\"a.md\", \"b.md\"]\n---\n# T\nhi\n").unwrap();
        std::fs::write(dir.path().join("a.md"), "## A\n- x\ntext A").unwrap();
        std::fs::write(dir.path().join("b.md"), "## B\ntext B\n").unwrap();
        let a = assemble(&main).unwrap();
        assert!(a.diagnostics.is_empty(), "{:?}", a.diagnostics);
        let find = |t: &str| a.lines.iter().find(|l| l.text == t).unwrap().location;
        assert_eq!(find("## A"), Location { file: 1, line: 1 });
        assert_eq!(find("text A"), Location { file: 1, line: 3 });
        assert_eq!(find("## B"), Location { file: 2, line: 1 });
        assert_eq!(find("hi"), Location { file: 0, line: 5 });
    }

    #[test]
    fn missing_include_and_self_include_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("index.md");
        std::fs::write(
            &main,
            "---\ninclude:\n  - nope.md\n  - index.md\n---\n# T\n",
        )
        .unwrap();
        let a = assemble(&main).unwrap();
        let messages: Vec<String> = a.diagnostics.iter().map(|d| d.message.clone()).collect();
        assert_eq!(a.diagnostics.len(), 2, "{messages:?}");
        assert!(messages[0].contains("nope.md"));
        assert_eq!(a.diagnostics[0].location.unwrap().line, 3);
        assert!(messages[1].contains("cycle"));
    }
}
