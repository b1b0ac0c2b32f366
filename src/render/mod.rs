//! Rendering of the engine's Markdown for each platform (temporary stand-in until the real
//! renderers land).

/// The reply as plain text with the menu as a numbered list.
pub fn plain(markdown: &str, menu: &[String]) -> String {
    let mut out = markdown.to_string();
    if !menu.is_empty() {
        out.push_str("\n\n");
        for (i, label) in menu.iter().enumerate() {
            out.push_str(&format!("{}. {label}\n", i + 1));
        }
    }
    out.trim_end().to_string()
}
