//! Answers sent through `api_base` (serenity's proxy mode), where serenity's rate limiter is
//! off: channel messages and the edits and follow-ups of interaction responses are sent from
//! here, so that a 429 is waited out for the time Discord asks (`retry_after`, and `global`
//! for every route), which serenity's error would not tell.
//!
//! serenity 0.12.5 can reach another host than `discord.com` only with its limiter off, and
//! its error for a refused call keeps neither the 429's body nor its headers. In production
//! (no `api_base`) the limiter is on, reads them itself, and this module is not used.

use std::sync::Mutex;
use std::time::Duration;

use serenity::all::{
    ChannelId, CreateInteractionResponseFollowup, CreateMessage, EditInteractionResponse, Http,
};
use serenity::http::{ErrorResponse, HttpError};
use tokio::time::Instant;

use super::handler::RATE_LIMITED_TRIES;

/// The longest wait one 429 is granted: a longer `retry_after` (a misconfigured proxy, a
/// hostile one) is cut to this, and the next try tells again.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// The wait when a 429 says nothing readable of how long.
const UNKNOWN_WAIT: Duration = Duration::from_secs(1);

/// Until when a global 429 stops every call of this process (one bot, one token).
static GLOBAL_UNTIL: Mutex<Option<Instant>> = Mutex::new(None);

/// Posts `message` in `channel` through `proxy`, waiting out each 429 for its `retry_after`.
pub(super) async fn send_message(
    http: &Http,
    proxy: &str,
    channel: ChannelId,
    message: &CreateMessage,
) -> Result<(), serenity::Error> {
    let path = format!("channels/{channel}/messages");
    call(http, proxy, reqwest::Method::POST, &path, Some(message)).await
}

/// Edits an interaction's original response (its placeholder) through `proxy`.
pub(super) async fn edit_original(
    http: &Http,
    proxy: &str,
    application: u64,
    token: &str,
    edit: &EditInteractionResponse,
) -> Result<(), serenity::Error> {
    let path = original(application, token);
    call(http, proxy, reqwest::Method::PATCH, &path, Some(edit)).await
}

/// Deletes an interaction's original response through `proxy`.
pub(super) async fn delete_original(
    http: &Http,
    proxy: &str,
    application: u64,
    token: &str,
) -> Result<(), serenity::Error> {
    call(
        http,
        proxy,
        reqwest::Method::DELETE,
        &original(application, token),
        None::<&()>,
    )
    .await
}

/// Sends an interaction's follow-up through `proxy`.
pub(super) async fn follow_up(
    http: &Http,
    proxy: &str,
    application: u64,
    token: &str,
    followup: &CreateInteractionResponseFollowup,
) -> Result<(), serenity::Error> {
    let path = format!("webhooks/{application}/{token}");
    call(http, proxy, reqwest::Method::POST, &path, Some(followup)).await
}

/// The path of an interaction's original response.
fn original(application: u64, token: &str) -> String {
    format!("webhooks/{application}/{token}/messages/@original")
}

/// One call to Discord's API at `path` (after `/api/v10/`) through `proxy`, sent again after
/// each 429 once its wait is over, at most [`RATE_LIMITED_TRIES`] times.
async fn call(
    http: &Http,
    proxy: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<&impl serde::Serialize>,
) -> Result<(), serenity::Error> {
    // One of serenity's builders, as serenity would send it.
    let body = body
        .map(serde_json::to_vec)
        .transpose()
        .map_err(serenity::Error::Json)?;
    let url = format!("{}/api/v10/{path}", proxy.trim_end_matches('/'));
    let client = client();
    let mut tries = 1;
    loop {
        wait_for_global().await;
        let mut request = client
            .request(method.clone(), &url)
            .header(reqwest::header::AUTHORIZATION, http.token())
            .header(reqwest::header::USER_AGENT, serenity::constants::USER_AGENT);
        if let Some(body) = &body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = request
            .send()
            .await
            .map_err(|e| serenity::Error::Http(HttpError::Request(e)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        if status.as_u16() != 429 || tries >= RATE_LIMITED_TRIES {
            let error = ErrorResponse::from_response(response, method).await;
            return Err(serenity::Error::Http(HttpError::UnsuccessfulRequest(error)));
        }
        let header = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok());
        let body = response.bytes().await.unwrap_or_default();
        let limit = RateLimit::read(&body, header);
        tracing::debug!(
            tries,
            wait_ms = limit.wait.as_millis() as u64,
            global = limit.global,
            "rate limited by Discord: waiting as asked"
        );
        if limit.global {
            let until = Instant::now() + limit.wait;
            let mut global = GLOBAL_UNTIL.lock().unwrap_or_else(|e| e.into_inner());
            *global = Some(global.map_or(until, |g| g.max(until)));
        }
        tokio::time::sleep(limit.wait).await;
        tries += 1;
    }
}

/// One HTTP client for every call: its connections are reused.
fn client() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(reqwest::Client::new).clone()
}

/// Waits while a global 429 holds.
async fn wait_for_global() {
    let until = *GLOBAL_UNTIL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(until) = until {
        tokio::time::sleep_until(until).await;
    }
}

/// What a 429 asks.
#[derive(Debug, Clone, Copy, PartialEq)]
struct RateLimit {
    wait: Duration,
    global: bool,
}

impl RateLimit {
    /// From the body (`retry_after` in seconds, fractional; `global`), else the `Retry-After`
    /// header (whole seconds), bounded by [`MAX_WAIT`].
    fn read(body: &[u8], header: Option<f64>) -> Self {
        let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let field = |name: &str| json.as_ref().and_then(|j| j.get(name));
        let seconds = field("retry_after")
            .and_then(serde_json::Value::as_f64)
            .or(header)
            .filter(|s| s.is_finite() && *s >= 0.0);
        let wait = seconds.map_or(UNKNOWN_WAIT, |s| {
            Duration::from_secs_f64(s.min(MAX_WAIT.as_secs_f64()))
        });
        let global = field("global")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        Self { wait, global }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_429_is_read_from_its_body_then_its_header_and_bounded() {
        let read = |body: &str, header| RateLimit::read(body.as_bytes(), header);
        assert_eq!(
            read(r#"{"retry_after": 0.35, "global": false}"#, Some(1.0)),
            RateLimit {
                wait: Duration::from_millis(350),
                global: false
            }
        );
        assert!(read(r#"{"retry_after": 2, "global": true}"#, None).global);
        assert_eq!(read("not json", Some(3.0)).wait, Duration::from_secs(3));
        assert_eq!(read("", None).wait, UNKNOWN_WAIT);
        assert_eq!(read(r#"{"retry_after": 1e9}"#, None).wait, MAX_WAIT);
        assert_eq!(read(r#"{"retry_after": -1}"#, None).wait, UNKNOWN_WAIT);
    }
}
