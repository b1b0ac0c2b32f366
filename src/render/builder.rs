//! From pre-pass segments and pulldown-cmark events to the document tree, bounded in depth.

use super::html::{HtmlToken, collapse_whitespace, tokenize_html};
use super::prepass::Segment;
use super::text::replace_shortcodes;
use super::tree::{Admonition, Block, Inline, LinkTarget, Media, MediaKind, Style};
use super::{MAX_TREE_DEPTH, TASK_DONE, TASK_OPEN, TEXT_RULE};
use crate::strings::Strings;
use pulldown_cmark::{
    CodeBlockKind, Event, LinkType, Options, Parser, Tag, TagEnd, TextMergeStream,
};

pub(super) fn segments_to_blocks(segments: Vec<Segment>, strings: &Strings) -> Vec<Block> {
    let mut blocks = Vec::new();
    for segment in segments {
        match segment {
            Segment::Markdown(markdown) => blocks.extend(TreeBuilder::build(&markdown, strings)),
            Segment::Admonition {
                kind,
                collapsible,
                title,
                body,
            } => {
                let always_collapsible = kind.eq_ignore_ascii_case("spoiler");
                let title = if title.is_empty() && (collapsible || always_collapsible) {
                    vec![Inline::Text(strings.details.clone())]
                } else {
                    let mut inlines = Vec::new();
                    for block in TreeBuilder::build(&title, strings) {
                        if !inlines.is_empty() {
                            inlines.push(Inline::Text(" ".to_owned()));
                        }
                        block_into_inlines(block, &mut inlines);
                    }
                    tidy_inlines(inlines)
                };
                blocks.push(Block::Admonition(Admonition {
                    kind,
                    title,
                    body: segments_to_blocks(body, strings),
                }));
            }
        }
    }
    blocks
}

/// The inline content of a block, for places that only hold inlines (titles, table cells).
fn block_into_inlines(block: Block, out: &mut Vec<Inline>) {
    let push_blocks = |blocks: Vec<Block>, out: &mut Vec<Inline>| {
        for block in blocks {
            if !out.is_empty() {
                out.push(Inline::LineBreak);
            }
            block_into_inlines(block, out);
        }
    };
    match block {
        Block::Paragraph(inlines) | Block::Heading(_, inlines) => out.extend(inlines),
        Block::Quote(blocks) => push_blocks(blocks, out),
        Block::List { items, .. } => {
            for item in items {
                push_blocks(item, out);
            }
        }
        Block::Code { text, .. } => out.push(Inline::Code(text.replace('\n', " "))),
        Block::Rule => out.push(Inline::Text(TEXT_RULE.to_owned())),
        Block::Table { head, rows } => {
            for row in std::iter::once(head).chain(rows) {
                if !out.is_empty() {
                    out.push(Inline::LineBreak);
                }
                for (index, cell) in row.into_iter().enumerate() {
                    if index > 0 {
                        out.push(Inline::Text(" | ".to_owned()));
                    }
                    out.extend(cell);
                }
            }
        }
        Block::Admonition(admonition) => {
            out.extend(admonition.title);
            push_blocks(admonition.body, out);
        }
    }
}

/// Merges adjacent text, drops empty text, and trims spaces and line breaks at the edges and
/// around line breaks (raw HTML leaves plenty of both).
fn tidy_inlines(inlines: Vec<Inline>) -> Vec<Inline> {
    let mut merged: Vec<Inline> = Vec::with_capacity(inlines.len());
    for inline in inlines {
        match (merged.last_mut(), inline) {
            (Some(Inline::Text(previous)), Inline::Text(text)) => {
                // Text on both sides of a dropped tag: one space, as HTML would show.
                let text = if previous.ends_with(' ') {
                    text.trim_start_matches(' ')
                } else {
                    &text
                };
                previous.push_str(text);
            }
            (_, inline) => merged.push(inline),
        }
    }
    let mut tidy: Vec<Inline> = Vec::with_capacity(merged.len());
    let mut rest = merged.into_iter().peekable();
    while let Some(inline) = rest.next() {
        match inline {
            Inline::Text(text) => {
                let mut text = text.as_str();
                if matches!(tidy.last(), None | Some(Inline::LineBreak)) {
                    text = text.trim_start();
                }
                if matches!(rest.peek(), None | Some(Inline::LineBreak)) {
                    text = text.trim_end();
                }
                if !text.is_empty() {
                    tidy.push(Inline::Text(text.to_owned()));
                }
            }
            Inline::LineBreak => {
                if !matches!(tidy.last(), None | Some(Inline::LineBreak)) {
                    tidy.push(Inline::LineBreak);
                }
            }
            other => tidy.push(other),
        }
    }
    while tidy.last() == Some(&Inline::LineBreak) {
        tidy.pop();
    }
    tidy
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockFrameKind {
    Root,
    Quote,
    Item,
    /// A container the renderers do not show as such: its blocks go to the parent.
    Transparent,
}

#[derive(Debug, Clone, PartialEq)]
enum InlineFrameKind {
    Paragraph,
    Heading(u8),
    HtmlBlock,
    Cell,
    Styled(Style),
    Link(LinkTarget),
    Image(String),
    /// A formatting tag of raw HTML (`<b>`, `<u>`…), closed by its end tag or by the end of
    /// the Markdown element around it.
    RawStyled(Style, String),
    RawLink(LinkTarget),
}

impl InlineFrameKind {
    fn is_raw(&self) -> bool {
        matches!(self, Self::RawStyled(..) | Self::RawLink(_))
    }
}

#[derive(Debug)]
enum Frame {
    Blocks {
        kind: BlockFrameKind,
        blocks: Vec<Block>,
        pending: Vec<Inline>,
    },
    List {
        start: Option<u64>,
        items: Vec<Vec<Block>>,
    },
    Inlines {
        kind: InlineFrameKind,
        inlines: Vec<Inline>,
    },
    Code {
        language: String,
        text: String,
    },
    Table {
        head: Vec<Vec<Inline>>,
        rows: Vec<Vec<Vec<Inline>>>,
    },
    Row {
        head: bool,
        cells: Vec<Vec<Inline>>,
    },
}

impl Frame {
    fn is_raw(&self) -> bool {
        matches!(self, Frame::Inlines { kind, .. } if kind.is_raw())
    }
}

/// What a closed frame hands to its parent.
enum Finished {
    Block(Block),
    Blocks(Vec<Block>),
    Inline(Inline),
    Item(Vec<Block>),
    Cell(Vec<Inline>),
    Row { head: bool, cells: Vec<Vec<Inline>> },
    Nothing,
}

/// Folds pulldown-cmark events into the document tree.
struct TreeBuilder<'s> {
    /// The bot's words, for the names of media.
    strings: &'s Strings,
    frames: Vec<Frame>,
    /// Text of the element being flattened because it is too deep, and how many of its
    /// start tags are still open.
    flattened: String,
    skipped_depth: usize,
    html_block: Option<String>,
    /// Inside `<script>`/`<style>`/`<template>`: their content is not text for the reader.
    hidden_until: Option<String>,
    /// Inside `<video>`/`<audio>`: the kind for `<source>`, and whether one was shown.
    media_element: Option<(MediaKind, bool)>,
}

impl<'s> TreeBuilder<'s> {
    fn build(markdown: &str, strings: &'s Strings) -> Vec<Block> {
        let mut builder = TreeBuilder {
            strings,
            frames: vec![Frame::Blocks {
                kind: BlockFrameKind::Root,
                blocks: Vec::new(),
                pending: Vec::new(),
            }],
            flattened: String::new(),
            skipped_depth: 0,
            html_block: None,
            hidden_until: None,
            media_element: None,
        };
        let options =
            Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
        for event in TextMergeStream::new(Parser::new_ext(markdown, options)) {
            builder.event(event);
        }
        while builder.frames.len() > 1 {
            builder.pop_frame();
        }
        match builder.frames.pop() {
            Some(Frame::Blocks {
                mut blocks,
                pending,
                ..
            }) => {
                push_paragraph(&mut blocks, pending);
                blocks
            }
            _ => Vec::new(),
        }
    }

    fn event(&mut self, event: Event<'_>) {
        if self.skipped_depth > 0 {
            self.flattened_event(event);
            return;
        }
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(end) => self.end(end),
            Event::Text(text) => {
                if let Some(buffer) = self.html_block.as_mut() {
                    buffer.push_str(&text);
                } else if self.hidden_until.is_none() {
                    self.push_inline(Inline::Text(replace_shortcodes(&text)));
                }
            }
            Event::Code(code) if self.hidden_until.is_none() => {
                self.push_inline(Inline::Code(code.to_string()))
            }
            Event::Html(html) | Event::InlineHtml(html) => match self.html_block.as_mut() {
                Some(buffer) => buffer.push_str(&html),
                None => self.raw_html(&html),
            },
            Event::SoftBreak | Event::HardBreak => self.push_inline(Inline::LineBreak),
            Event::Rule => self.push_block(Block::Rule),
            Event::TaskListMarker(done) => self.push_inline(Inline::Text(
                (if done { TASK_DONE } else { TASK_OPEN }).to_owned(),
            )),
            Event::FootnoteReference(name) => self.push_inline(Inline::Text(format!("[^{name}]"))),
            Event::InlineMath(text) | Event::DisplayMath(text) => {
                self.push_inline(Inline::Text(text.to_string()))
            }
            Event::Code(_) => {}
        }
    }

    /// Too deep to keep the structure: keep the words.
    fn flattened_event(&mut self, event: Event<'_>) {
        let buffer = &mut self.flattened;
        match event {
            Event::Start(_) => self.skipped_depth += 1,
            Event::End(_) => {
                self.skipped_depth -= 1;
                if self.skipped_depth == 0 {
                    let text = std::mem::take(&mut self.flattened);
                    self.push_inline(Inline::Text(text));
                }
            }
            Event::Text(text) => buffer.push_str(&replace_shortcodes(&text)),
            Event::Code(text) => buffer.push_str(&text),
            Event::Html(html) | Event::InlineHtml(html) => {
                for token in tokenize_html(&html) {
                    if let HtmlToken::Text(text) = token {
                        buffer.push_str(&text);
                    }
                }
            }
            _ => buffer.push(' '),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        if self.frames.len() >= MAX_TREE_DEPTH {
            self.skipped_depth = 1;
            self.flattened.clear();
            return;
        }
        let inline_kind = match &tag {
            Tag::Emphasis => Some(InlineFrameKind::Styled(Style::Emphasis)),
            Tag::Strong => Some(InlineFrameKind::Styled(Style::Strong)),
            Tag::Strikethrough => Some(InlineFrameKind::Styled(Style::Strikethrough)),
            Tag::Superscript => Some(InlineFrameKind::Styled(Style::Superscript)),
            Tag::Subscript => Some(InlineFrameKind::Styled(Style::Subscript)),
            Tag::Link {
                link_type,
                dest_url,
                ..
            } => {
                let url = if *link_type == LinkType::Email {
                    format!("mailto:{dest_url}")
                } else {
                    dest_url.to_string()
                };
                Some(InlineFrameKind::Link(LinkTarget::classify(&url)))
            }
            Tag::Image { dest_url, .. } => Some(InlineFrameKind::Image(dest_url.to_string())),
            _ => None,
        };
        if let Some(kind) = inline_kind {
            self.frames.push(Frame::Inlines {
                kind,
                inlines: Vec::new(),
            });
            return;
        }
        // A block starts: raw HTML formatting left open before it ends here.
        while self.frames.last().is_some_and(Frame::is_raw) {
            self.pop_frame();
        }
        let frame = match tag {
            Tag::Paragraph => Frame::Inlines {
                kind: InlineFrameKind::Paragraph,
                inlines: Vec::new(),
            },
            Tag::Heading { level, .. } => Frame::Inlines {
                kind: InlineFrameKind::Heading(level as u8),
                inlines: Vec::new(),
            },
            Tag::BlockQuote(_) => Frame::Blocks {
                kind: BlockFrameKind::Quote,
                blocks: Vec::new(),
                pending: Vec::new(),
            },
            Tag::CodeBlock(kind) => {
                let language = match kind {
                    CodeBlockKind::Fenced(info) => info
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                    CodeBlockKind::Indented => String::new(),
                };
                Frame::Code {
                    language,
                    text: String::new(),
                }
            }
            Tag::HtmlBlock => {
                self.html_block = Some(String::new());
                Frame::Inlines {
                    kind: InlineFrameKind::HtmlBlock,
                    inlines: Vec::new(),
                }
            }
            Tag::List(start) => Frame::List {
                start,
                items: Vec::new(),
            },
            Tag::Item => Frame::Blocks {
                kind: BlockFrameKind::Item,
                blocks: Vec::new(),
                pending: Vec::new(),
            },
            Tag::Table(_) => Frame::Table {
                head: Vec::new(),
                rows: Vec::new(),
            },
            Tag::TableHead => Frame::Row {
                head: true,
                cells: Vec::new(),
            },
            Tag::TableRow => Frame::Row {
                head: false,
                cells: Vec::new(),
            },
            Tag::TableCell => Frame::Inlines {
                kind: InlineFrameKind::Cell,
                inlines: Vec::new(),
            },
            _ => Frame::Blocks {
                kind: BlockFrameKind::Transparent,
                blocks: Vec::new(),
                pending: Vec::new(),
            },
        };
        self.frames.push(frame);
    }

    fn end(&mut self, end: TagEnd) {
        let html_block = if end == TagEnd::HtmlBlock {
            self.html_block.take()
        } else {
            None
        };
        if let Some(html) = html_block {
            self.raw_html(&html);
        }
        // Raw HTML formatting still open inside this element ends with it.
        while self.frames.last().is_some_and(Frame::is_raw) {
            self.pop_frame();
        }
        if self.frames.len() > 1 {
            self.pop_frame();
        }
        if matches!(
            end,
            TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::HtmlBlock
                | TagEnd::TableCell
                | TagEnd::Item
        ) {
            self.hidden_until = None;
            self.media_element = None;
        }
    }

    fn pop_frame(&mut self) {
        let Some(frame) = self.frames.pop() else {
            return;
        };
        let finished = match frame {
            Frame::Blocks {
                kind,
                mut blocks,
                pending,
            } => {
                push_paragraph(&mut blocks, pending);
                match kind {
                    BlockFrameKind::Quote => Finished::Block(Block::Quote(blocks)),
                    BlockFrameKind::Item => Finished::Item(blocks),
                    BlockFrameKind::Root | BlockFrameKind::Transparent => Finished::Blocks(blocks),
                }
            }
            Frame::List { start, items } => Finished::Block(Block::List { start, items }),
            Frame::Code { language, text } => Finished::Block(Block::Code {
                language,
                text: text.trim_end_matches('\n').to_owned(),
            }),
            Frame::Table { head, rows } => Finished::Block(Block::Table { head, rows }),
            Frame::Row { head, cells } => Finished::Row { head, cells },
            Frame::Inlines { kind, inlines } => match kind {
                InlineFrameKind::Paragraph | InlineFrameKind::HtmlBlock => {
                    let inlines = tidy_inlines(inlines);
                    if inlines.is_empty() {
                        Finished::Nothing
                    } else {
                        Finished::Block(Block::Paragraph(inlines))
                    }
                }
                InlineFrameKind::Heading(level) => {
                    let inlines = tidy_inlines(inlines);
                    if inlines.is_empty() {
                        Finished::Nothing
                    } else {
                        Finished::Block(Block::Heading(level, inlines))
                    }
                }
                InlineFrameKind::Cell => Finished::Cell(tidy_inlines(inlines)),
                InlineFrameKind::Styled(style) | InlineFrameKind::RawStyled(style, _) => {
                    if inlines.is_empty() {
                        Finished::Nothing
                    } else {
                        Finished::Inline(Inline::Styled(style, inlines))
                    }
                }
                InlineFrameKind::Link(target) | InlineFrameKind::RawLink(target) => {
                    Finished::Inline(Inline::Link {
                        target,
                        content: inlines,
                    })
                }
                InlineFrameKind::Image(url) => {
                    let mut alt = String::new();
                    inline_words(&inlines, &mut alt);
                    let kind = MediaKind::from_url(&url);
                    Finished::Inline(Inline::Media(Media {
                        kind,
                        url,
                        alt,
                        label: kind.label(self.strings).to_owned(),
                    }))
                }
            },
        };
        self.deliver(finished);
    }

    fn deliver(&mut self, finished: Finished) {
        match finished {
            Finished::Block(block) => self.push_block(block),
            Finished::Blocks(blocks) => blocks.into_iter().for_each(|block| self.push_block(block)),
            Finished::Inline(inline) => self.push_inline(inline),
            Finished::Item(blocks) => match self.frames.last_mut() {
                Some(Frame::List { items, .. }) => items.push(blocks),
                _ => blocks.into_iter().for_each(|block| self.push_block(block)),
            },
            Finished::Cell(inlines) => match self.frames.last_mut() {
                Some(Frame::Row { cells, .. }) => cells.push(inlines),
                _ => inlines
                    .into_iter()
                    .for_each(|inline| self.push_inline(inline)),
            },
            Finished::Row { head, cells } => match self.frames.last_mut() {
                Some(Frame::Table {
                    head: table_head,
                    rows,
                }) => {
                    if head {
                        *table_head = cells;
                    } else {
                        rows.push(cells);
                    }
                }
                _ => self.push_block(Block::Table {
                    head: Vec::new(),
                    rows: vec![cells],
                }),
            },
            Finished::Nothing => {}
        }
    }

    fn push_block(&mut self, block: Block) {
        match self.frames.last_mut() {
            Some(Frame::Blocks {
                blocks, pending, ..
            }) => {
                push_paragraph(blocks, std::mem::take(pending));
                blocks.push(block);
            }
            Some(Frame::List { items, .. }) => match items.last_mut() {
                Some(item) => item.push(block),
                None => items.push(vec![block]),
            },
            Some(Frame::Code { text, .. }) => {
                let mut inlines = Vec::new();
                block_into_inlines(block, &mut inlines);
                inline_words(&inlines, text);
            }
            Some(Frame::Inlines { inlines, .. }) => {
                if !inlines.is_empty() {
                    inlines.push(Inline::LineBreak);
                }
                block_into_inlines(block, inlines);
            }
            Some(Frame::Table { .. } | Frame::Row { .. }) => {
                let mut inlines = Vec::new();
                block_into_inlines(block, &mut inlines);
                inlines
                    .into_iter()
                    .for_each(|inline| self.push_inline(inline));
            }
            None => {}
        }
    }

    fn push_inline(&mut self, inline: Inline) {
        match self.frames.last_mut() {
            Some(Frame::Blocks { pending, .. }) => pending.push(inline),
            Some(Frame::Inlines { inlines, .. }) => inlines.push(inline),
            Some(Frame::Code { text, .. }) => inline_words(std::slice::from_ref(&inline), text),
            Some(Frame::List { items, .. }) => {
                if items.is_empty() {
                    items.push(Vec::new());
                }
                if let Some(item) = items.last_mut() {
                    match item.last_mut() {
                        Some(Block::Paragraph(inlines)) => inlines.push(inline),
                        _ => item.push(Block::Paragraph(vec![inline])),
                    }
                }
            }
            Some(Frame::Table { rows, .. }) => match rows.last_mut().and_then(|row| row.last_mut())
            {
                Some(cell) => cell.push(inline),
                None => rows.push(vec![vec![inline]]),
            },
            Some(Frame::Row { cells, .. }) => match cells.last_mut() {
                Some(cell) => cell.push(inline),
                None => cells.push(vec![inline]),
            },
            None => {}
        }
    }

    /// Raw HTML becomes text, line breaks, simple styles, links and media; every other tag is
    /// dropped and its text kept.
    fn raw_html(&mut self, html: &str) {
        for token in tokenize_html(html) {
            self.html_token(token);
        }
    }

    fn html_token(&mut self, token: HtmlToken) {
        if let Some(hidden) = &self.hidden_until {
            if matches!(&token, HtmlToken::End(name) if name == hidden) {
                self.hidden_until = None;
            }
            return;
        }
        match token {
            HtmlToken::Text(text) => {
                let text = collapse_whitespace(&text);
                if !text.is_empty() {
                    self.push_inline(Inline::Text(replace_shortcodes(&text)));
                }
            }
            HtmlToken::Start {
                name,
                attributes,
                self_closing,
            } => self.html_start(&name, &attributes, self_closing),
            HtmlToken::End(name) => self.html_end(&name),
        }
    }

    fn html_start(&mut self, name: &str, attributes: &[(String, String)], self_closing: bool) {
        let attribute = |wanted: &str| {
            attributes
                .iter()
                .find(|(key, _)| key == wanted)
                .map(|(_, value)| value.trim().to_owned())
        };
        let push_media = |builder: &mut Self, kind: MediaKind, url: String, alt: Option<String>| {
            builder.push_inline(Inline::Text(" ".to_owned()));
            let label = kind.label(builder.strings).to_owned();
            builder.push_inline(Inline::Media(Media {
                kind,
                url,
                alt: alt.unwrap_or_default(),
                label,
            }));
            builder.push_inline(Inline::Text(" ".to_owned()));
        };
        let style = match name {
            "b" | "strong" => Some(Style::Strong),
            "i" | "em" => Some(Style::Emphasis),
            "u" | "ins" => Some(Style::Underline),
            "s" | "strike" | "del" => Some(Style::Strikethrough),
            "sup" => Some(Style::Superscript),
            "sub" => Some(Style::Subscript),
            _ => None,
        };
        if let Some(style) = style {
            if !self_closing && self.frames.len() < MAX_TREE_DEPTH {
                self.frames.push(Frame::Inlines {
                    kind: InlineFrameKind::RawStyled(style, name.to_owned()),
                    inlines: Vec::new(),
                });
            }
            return;
        }
        match name {
            "script" | "style" | "template" if !self_closing => {
                self.hidden_until = Some(name.to_owned())
            }
            "br" | "p" | "div" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "li" | "tr" | "ul"
            | "ol" | "table" | "blockquote" | "section" | "article" | "details" | "summary"
            | "hr" | "pre" | "figure" | "figcaption" | "center" => {
                self.push_inline(Inline::LineBreak)
            }
            "td" | "th" => self.push_inline(Inline::Text(" ".to_owned())),
            "img" => {
                if let Some(url) = attribute("src") {
                    let alt = attribute("alt")
                        .filter(|alt| !alt.is_empty())
                        .or_else(|| attribute("title"));
                    push_media(self, MediaKind::Image, url, alt);
                }
            }
            "iframe" | "embed" | "object" => {
                if let Some(url) = attribute("src").or_else(|| attribute("data")) {
                    push_media(
                        self,
                        MediaKind::from_embed_url(&url),
                        url,
                        attribute("title"),
                    );
                }
            }
            "video" | "audio" => {
                let kind = if name == "video" {
                    MediaKind::Video
                } else {
                    MediaKind::Audio
                };
                let url = attribute("src");
                let shown = url.is_some();
                if let Some(url) = url {
                    push_media(self, kind, url, attribute("title"));
                }
                if !self_closing {
                    self.media_element = Some((kind, shown));
                }
            }
            "source" => {
                if let (Some((kind, false)), Some(url)) = (self.media_element, attribute("src")) {
                    self.media_element = Some((kind, true));
                    push_media(self, kind, url, None);
                }
            }
            "a" => {
                if let Some(url) = attribute("href")
                    .filter(|_| !self_closing && self.frames.len() < MAX_TREE_DEPTH)
                {
                    self.frames.push(Frame::Inlines {
                        kind: InlineFrameKind::RawLink(LinkTarget::classify(&url)),
                        inlines: Vec::new(),
                    });
                }
            }
            _ => {}
        }
    }

    fn html_end(&mut self, name: &str) {
        match name {
            "video" | "audio" => self.media_element = None,
            "p" | "div" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "li" | "tr" | "ul" | "ol"
            | "table" | "blockquote" | "section" | "article" | "details" | "summary" | "pre"
            | "figure" | "figcaption" | "center" => self.push_inline(Inline::LineBreak),
            _ => {}
        }
        // Close the matching raw formatting tag if only raw tags were opened after it.
        let matching = self
            .frames
            .iter()
            .rev()
            .take_while(|frame| frame.is_raw())
            .position(|frame| match frame {
                Frame::Inlines {
                    kind: InlineFrameKind::RawStyled(_, tag),
                    ..
                } => tag == name,
                Frame::Inlines {
                    kind: InlineFrameKind::RawLink(_),
                    ..
                } => name == "a",
                _ => false,
            });
        if let Some(above) = matching {
            for _ in 0..=above {
                self.pop_frame();
            }
        }
    }
}

fn push_paragraph(blocks: &mut Vec<Block>, inlines: Vec<Inline>) {
    let inlines = tidy_inlines(inlines);
    if !inlines.is_empty() {
        blocks.push(Block::Paragraph(inlines));
    }
}

/// Appends the words of `inlines` (what a screen reader would say) to `out`.
pub(crate) fn inline_words(inlines: &[Inline], out: &mut String) {
    for inline in inlines {
        match inline {
            Inline::Text(text) | Inline::Code(text) => out.push_str(text),
            Inline::Styled(_, content) | Inline::Link { content, .. } => inline_words(content, out),
            Inline::Media(media) => out.push_str(media.name()),
            Inline::LineBreak => out.push(' '),
        }
    }
}
