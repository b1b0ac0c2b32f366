//! Discord's rules for the slash commands, whose names and descriptions are `[strings]`:
//! `guichet config check` applies them to the configuration, with or without the Discord
//! adapter built in, and the adapter checks them before it registers the commands.

/// Whether `name` may name a Discord slash command. Discord's rule:
/// `^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$`, in lower case wherever a letter has a
/// lower-case form (so `aujourd'hui` and `rôle`, not `Aide` nor `mon menu`).
pub fn name_ok(name: &str) -> bool {
    (1..=32).contains(&name.chars().count())
        && name.chars().all(|c| {
            let allowed = matches!(c, '-' | '_' | '\'')
                || devanagari_or_thai(c)
                || c.is_numeric()
                // \p{L}: Alphabetic less the combining marks it also holds (vowel signs).
                || (c.is_alphabetic() && !unicode_normalization::char::is_combining_mark(c));
            allowed && c.to_lowercase().eq(std::iter::once(c))
        })
}

/// `\p{sc=Deva}` and `\p{sc=Thai}` (Unicode's Scripts.txt): their vowel signs are marks.
fn devanagari_or_thai(c: char) -> bool {
    matches!(u32::from(c),
        0x0900..=0x0950 | 0x0955..=0x0963 | 0x0966..=0x097F | 0xA8E0..=0xA8FF
        | 0x11B00..=0x11B09 | 0x0E01..=0x0E3A | 0x0E40..=0x0E5B)
}

/// Longest slash command description Discord accepts.
pub const MAX_DESCRIPTION: usize = 100;

/// Why a `[strings]` text cannot be used on Discord as it is used there. Texts sent as
/// messages (help, not_your_menu, …) are split like answers are; a command's name and
/// description cannot be.
pub fn check_string(key: &str, value: &str) -> std::result::Result<(), String> {
    match key {
        "command_help" | "command_menu" | "command_role" if !name_ok(value) => Err(format!(
            "{value:?} cannot name a Discord slash command: 1 to 32 lower-case letters, \
                 digits, -, _ or ', without spaces"
        )),
        "command_help_description" | "command_menu_description" | "command_role_description"
            if value.chars().count() > MAX_DESCRIPTION =>
        {
            Err(format!(
                "a Discord command description has at most {MAX_DESCRIPTION} \
                 characters; this one has {}",
                value.chars().count()
            ))
        }
        _ => Ok(()),
    }
}
