//! Checks of single values that need no other key: Matrix ids and loopback URLs.

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
