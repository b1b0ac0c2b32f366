//! The document tree the renderers walk: blocks, inlines, links and media.

use super::admonition_emoji;
use crate::strings::Strings;

/// A block of the rendered reply.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    Paragraph(Vec<Inline>),
    Heading(u8, Vec<Inline>),
    Quote(Vec<Block>),
    List {
        start: Option<u64>,
        items: Vec<Vec<Block>>,
    },
    Code {
        language: String,
        text: String,
    },
    Rule,
    Table {
        head: Vec<Vec<Inline>>,
        rows: Vec<Vec<Vec<Inline>>>,
    },
    Admonition(Admonition),
}

/// A ChatMD box (`:::type [collapsible] [title]`, docs/chatmd.md §F11).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Admonition {
    pub kind: String,
    pub title: Vec<Inline>,
    pub body: Vec<Block>,
}

impl Admonition {
    pub(crate) fn emoji(&self) -> &'static str {
        admonition_emoji(&self.kind)
    }
}

/// Inline content. Text is final (entities decoded, emoji shortcodes replaced) and unescaped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Inline {
    Text(String),
    Code(String),
    Styled(Style, Vec<Inline>),
    Link {
        target: LinkTarget,
        content: Vec<Inline>,
    },
    Media(Media),
    LineBreak,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Strong,
    Emphasis,
    Strikethrough,
    Underline,
    Superscript,
    Subscript,
}

/// Where a link leads, as far as a chat message is concerned.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LinkTarget {
    /// `#title`: in ChatMD a jump to a response; in a chat, only its text is shown.
    Internal,
    /// An address a chat client can open (`http`, `https`, `mailto`, `tel`).
    External(String),
    /// A relative or unsafe address (`javascript:`…): only the link text is shown.
    Unusable,
}

impl LinkTarget {
    pub(super) fn classify(url: &str) -> Self {
        let url = url.trim();
        if url.starts_with('#') {
            return Self::Internal;
        }
        match url_scheme(url).as_deref() {
            Some("http" | "https" | "mailto" | "tel") => Self::External(url.to_owned()),
            _ => Self::Unusable,
        }
    }
}

/// The lower-cased scheme of `url`, if it has one.
pub(crate) fn url_scheme(url: &str) -> Option<String> {
    let (scheme, _) = url.split_once(':')?;
    let valid = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| scheme.to_ascii_lowercase())
}

/// An image, video, sound or embedded page: chats cannot embed external media, so each
/// renderer shows it as a link.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Media {
    pub kind: MediaKind,
    pub url: String,
    pub alt: String,
    /// What its kind is called, from the strings: `image`, `vidéo`…
    pub label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MediaKind {
    Image,
    Video,
    Audio,
    Embed,
}

impl MediaKind {
    /// ChatMD authors put videos and sounds in image syntax (`![…](film.mp4)`): the file
    /// extension tells what the reader will get.
    pub(super) fn from_url(url: &str) -> Self {
        let path = url.split(['?', '#']).next().unwrap_or_default();
        let extension = path
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase());
        match extension.as_deref() {
            Some("mp4" | "webm" | "ogv" | "mov" | "m4v" | "mkv") => Self::Video,
            Some("mp3" | "ogg" | "oga" | "wav" | "m4a" | "flac" | "opus") => Self::Audio,
            _ => Self::Image,
        }
    }

    /// Most pages embedded in ChatMD replies are video players (Digiview, YouTube…).
    pub(super) fn from_embed_url(url: &str) -> Self {
        let url = url.to_ascii_lowercase();
        let video_hosts = [
            "video",
            "youtube",
            "youtu.be",
            "vimeo",
            "dailymotion",
            "peertube",
            "digiview",
        ];
        if video_hosts.iter().any(|host| url.contains(host)) {
            Self::Video
        } else {
            Self::Embed
        }
    }

    pub(crate) fn label(self, strings: &Strings) -> &str {
        match self {
            Self::Image => &strings.image_label,
            Self::Video => &strings.video_label,
            Self::Audio => &strings.audio_label,
            Self::Embed => &strings.embed_label,
        }
    }

    pub(crate) fn emoji(self) -> &'static str {
        match self {
            Self::Image => "🖼️",
            Self::Video => "🎬",
            Self::Audio => "🔊",
            Self::Embed => "🔗",
        }
    }
}

impl Media {
    /// The address to link to, if a chat client can open it.
    pub(crate) fn link(&self) -> Option<&str> {
        matches!(url_scheme(&self.url).as_deref(), Some("http" | "https"))
            .then_some(self.url.as_str())
    }

    /// The words naming the media: its alternative text, or its kind.
    pub(crate) fn name(&self) -> &str {
        if self.alt.trim().is_empty() {
            &self.label
        } else {
            self.alt.trim()
        }
    }
}
