//! Raw HTML in a reply: a small tokenizer and the entities, reduced to text, breaks, styles,
//! links and media.

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum HtmlToken {
    /// Text with entities decoded.
    Text(String),
    Start {
        name: String,
        attributes: Vec<(String, String)>,
        self_closing: bool,
    },
    End(String),
}

/// Splits raw HTML into text and tags. Comments, doctypes and processing instructions are
/// dropped; a `<` that starts no well-formed tag is text.
pub(crate) fn tokenize_html(html: &str) -> Vec<HtmlToken> {
    let mut tokens = Vec::new();
    let mut text_start = 0;
    let mut position = 0;
    // No tag can start after the last `>`: stopping there keeps unterminated tags linear.
    let last_tag_end = html.rfind('>').unwrap_or(0);
    while let Some(found) = html
        .get(position..last_tag_end)
        .and_then(|rest| rest.find('<'))
    {
        let start = position + found;
        match parse_markup(html, start) {
            Some((token, end)) => {
                if let Some(text) = html.get(text_start..start).filter(|text| !text.is_empty()) {
                    tokens.push(HtmlToken::Text(decode_entities(text)));
                }
                tokens.extend(token);
                position = end;
                text_start = end;
            }
            None => position = start + 1,
        }
    }
    if let Some(text) = html.get(text_start..).filter(|text| !text.is_empty()) {
        tokens.push(HtmlToken::Text(decode_entities(text)));
    }
    tokens
}

/// The tag (if any is worth keeping) starting at `start`, and the index just after it.
fn parse_markup(html: &str, start: usize) -> Option<(Option<HtmlToken>, usize)> {
    let rest = html.get(start..)?;
    if rest.starts_with("<!--") {
        let end = rest
            .get(4..)?
            .find("-->")
            .map_or(html.len(), |end| start + 4 + end + 3);
        return Some((None, end));
    }
    if rest.starts_with("<!") || rest.starts_with("<?") {
        return rest.find('>').map(|end| (None, start + end + 1));
    }
    if let Some(after) = rest.strip_prefix("</") {
        let name = tag_name(after)?;
        let close = after.find('>')?;
        return Some((Some(HtmlToken::End(name)), start + 2 + close + 1));
    }
    let after = rest.get(1..)?;
    let name = tag_name(after)?;
    let bytes = html.as_bytes();
    let mut index = start + 1 + name.len();
    let mut attributes = Vec::new();
    let skip_spaces = |index: &mut usize| {
        while bytes.get(*index).is_some_and(u8::is_ascii_whitespace) {
            *index += 1;
        }
    };
    loop {
        skip_spaces(&mut index);
        match bytes.get(index)? {
            b'>' => {
                return Some((
                    Some(HtmlToken::Start {
                        name,
                        attributes,
                        self_closing: false,
                    }),
                    index + 1,
                ));
            }
            b'/' if bytes.get(index + 1) == Some(&b'>') => {
                return Some((
                    Some(HtmlToken::Start {
                        name,
                        attributes,
                        self_closing: true,
                    }),
                    index + 2,
                ));
            }
            b'/' | b'=' | b'"' | b'\'' => index += 1,
            _ => {
                let name_start = index;
                while bytes
                    .get(index)
                    .is_some_and(|b| !b.is_ascii_whitespace() && !matches!(b, b'=' | b'>' | b'/'))
                {
                    index += 1;
                }
                let attribute_name = html.get(name_start..index)?.to_ascii_lowercase();
                skip_spaces(&mut index);
                let mut value = String::new();
                if bytes.get(index) == Some(&b'=') {
                    index += 1;
                    skip_spaces(&mut index);
                    match bytes.get(index) {
                        Some(&quote @ (b'"' | b'\'')) => {
                            let value_start = index + 1;
                            let length = html.get(value_start..)?.find(char::from(quote))?;
                            value = decode_entities(html.get(value_start..value_start + length)?);
                            index = value_start + length + 1;
                        }
                        _ => {
                            let value_start = index;
                            while bytes
                                .get(index)
                                .is_some_and(|b| !b.is_ascii_whitespace() && *b != b'>')
                            {
                                index += 1;
                            }
                            value = decode_entities(html.get(value_start..index)?);
                        }
                    }
                }
                attributes.push((attribute_name, value));
            }
        }
    }
}

/// The lower-cased tag name at the start of `text`, if it is one.
fn tag_name(text: &str) -> Option<String> {
    let first = text.chars().next()?;
    if !first.is_ascii_alphabetic() {
        return None;
    }
    let length = text.len()
        - text
            .trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '-')
            .len();
    let next = text.get(length..)?.chars().next();
    if next.is_some_and(|c| !(c.is_ascii_whitespace() || c == '>' || c == '/')) {
        return None;
    }
    Some(text.get(..length)?.to_ascii_lowercase())
}

/// Decodes numeric character references and named entities.
pub(crate) fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or_default());
        let after = rest.get(amp + 1..).unwrap_or_default();
        // Entity names are short: looking further would make `&&&…` quadratic.
        let semicolon = after.bytes().take(33).position(|b| b == b';');
        let decoded = semicolon.and_then(|end| {
            let name = after.get(..end)?;
            match name.strip_prefix('#') {
                Some(number) => {
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.parse::<u32>().ok()?,
                    };
                    let character = char::from_u32(code)
                        .filter(|&c| c != '\0')
                        .unwrap_or('\u{FFFD}');
                    out.push(character);
                }
                None => out.push_str(named_entity(name)?),
            }
            Some(end)
        });
        match decoded {
            Some(end) => {
                rest = after.get(end + 1..).unwrap_or_default();
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A named character reference of HTML (all 2,125 of the standard's, `&rarr;` as well as
/// `&eacute;`), as the browser showing ChatMD's page decodes it.
fn named_entity(name: &str) -> Option<&'static str> {
    let table = &html_escape::NAMED_ENTITIES;
    table
        .binary_search_by(|(entity, _)| (*entity).cmp(name.as_bytes()))
        .ok()
        .map(|found| table[found].1)
}

pub(super) fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_space = false;
    for c in text.chars() {
        if c.is_ascii_whitespace() {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
    out
}
