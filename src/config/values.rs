//! Checks of single values that need no other key: Discord command names and texts (shared
//! with the Discord adapter), Matrix ids and loopback URLs.

/// Whether `name` may name a Discord slash command. Discord's rule:
/// `^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$`, in lower case wherever a letter has a
/// lower-case form (so `aujourd'hui` and `rôle`, not `Aide` nor `mon menu`).
pub fn discord_command_name_ok(name: &str) -> bool {
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
pub const DISCORD_COMMAND_DESCRIPTION: usize = 100;

/// Why a `[strings]` text cannot be used on Discord as it is used there. Texts sent as
/// messages (help, not_your_menu, …) are split like answers are; a command's name and
/// description cannot be.
pub fn discord_text(key: &str, value: &str) -> std::result::Result<(), String> {
    match key {
        "command_help" | "command_menu" | "command_role" if !discord_command_name_ok(value) => {
            Err(format!(
                "{value:?} cannot name a Discord slash command: 1 to 32 lower-case letters, \
                 digits, -, _ or ', without spaces"
            ))
        }
        "command_help_description" | "command_menu_description" | "command_role_description"
            if value.chars().count() > DISCORD_COMMAND_DESCRIPTION =>
        {
            Err(format!(
                "a Discord command description has at most {DISCORD_COMMAND_DESCRIPTION} \
                 characters; this one has {}",
                value.chars().count()
            ))
        }
        _ => Ok(()),
    }
}

/// Whether the host of a URL (past its `http://`) is this machine: where a plain `http://`
/// homeserver is fine, and the only place `discord.api_base` may point.
pub(super) fn is_loopback_url(rest: &str) -> bool {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or(""),
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A room id: `!opaque:server`, or since room version 12 just `!opaque` (the server part is
/// gone; Synapse makes such rooms by default).
pub(super) fn is_room_id(id: &str) -> bool {
    id.strip_prefix('!')
        .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
}

/// `@local:server`-shaped (or `!`, `#`): the sigil, something, a colon, a server.
pub(super) fn is_matrix_id(id: &str, sigil: char) -> bool {
    id.strip_prefix(sigil)
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(local, server)| {
            !local.is_empty() && !server.is_empty() && !id.chars().any(char::is_whitespace)
        })
}
