//! The bot's Matrix session: log in once (access token or password), keep the session and
//! the SDK's SQLite stores in `state_dir/matrix/` so a restart is the same device with the
//! same keys, and make that device trusted (cross-signing, recovery key).

use std::path::{Path, PathBuf};
use std::time::Duration;

use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::RequestConfig;
use matrix_sdk::encryption::recovery::RecoveryState;
use matrix_sdk::encryption::{BackupDownloadStrategy, EncryptionSettings};
use matrix_sdk::ruma::api::client::uiaa::{
    AuthData, MatrixUserIdentifier, Password, UserIdentifier,
};
use matrix_sdk::ruma::api::error::ErrorKind;
use matrix_sdk::ruma::{OwnedDeviceId, OwnedUserId};
use matrix_sdk::{Client, SessionMeta, SessionTokens};
use matrix_sdk_base::crypto::CollectStrategy;
use serde::{Deserialize, Serialize};
use tracing::{debug, error, info, warn};

use super::MatrixError;
use crate::config::{KeyRecipients, MatrixLogin, MatrixSettings};

/// Under `state_dir`: everything the Matrix adapter keeps.
const DIR: &str = "matrix";
/// The session (user, device, access token): secret, hence mode 0600.
const SESSION_FILE: &str = "session.json";
/// The SDK's SQLite stores: room state and the device's encryption keys.
const STORE_DIR: &str = "store";

/// The SDK waits this long at most between its own retries of rate-limited (429) and server
/// error (5xx) requests, each honouring `retry_after_ms` when the server gives it: a
/// homeserver back from a restart is seen again within seconds.
const MAX_SDK_RETRY_DELAY: Duration = Duration::from_secs(5);

/// What `session.json` holds.
#[derive(Serialize, Deserialize)]
struct SavedSession {
    homeserver: String,
    session: MatrixSession,
}

/// A logged-in client.
#[derive(Debug)]
pub struct Connected {
    pub client: Client,
    /// `true` when an existing session was restored (a restart), `false` after a fresh login.
    pub restored: bool,
    /// Where the session is saved, for error messages.
    pub session_file: PathBuf,
}

/// Logs in, or restores the saved session. Transient failures (homeserver unreachable) come
/// back as [`MatrixError::Unreachable`] for the caller to retry; the others are fatal.
pub async fn connect(
    settings: &MatrixSettings,
    state_dir: &Path,
) -> Result<Connected, MatrixError> {
    let dir = state_dir.join(DIR);
    create_private_dir(&dir)?;
    let session_file = dir.join(SESSION_FILE);
    let saved = read_session(&session_file)?;
    let store = dir.join(STORE_DIR);

    let (client, restored) = match (&settings.login, saved) {
        // A token changed in the config is a new login; the same one restores.
        (MatrixLogin::AccessToken(token), saved) => {
            let previous_device = saved.as_ref().map(|s| s.session.meta.device_id.clone());
            let saved = saved.filter(|s| s.session.tokens.access_token == token.expose());
            match saved {
                Some(saved) => (
                    restore(settings, &store, saved.session, &session_file).await?,
                    true,
                ),
                None => {
                    let meta = whoami(settings, token.expose(), &session_file).await?;
                    if previous_device.is_some_and(|device| device != meta.device_id) {
                        // The store holds another device's keys: keep it aside, start afresh.
                        set_aside(&store)?;
                    }
                    let session = MatrixSession {
                        meta,
                        tokens: SessionTokens {
                            access_token: token.expose().to_owned(),
                            refresh_token: None,
                        },
                    };
                    let client = restore(settings, &store, session, &session_file).await?;
                    save_session(&session_file, &settings.homeserver, &client)?;
                    (client, false)
                }
            }
        }
        (MatrixLogin::Password(_), Some(saved)) => (
            restore(settings, &store, saved.session, &session_file).await?,
            true,
        ),
        (MatrixLogin::Password(password), None) => {
            // A fresh login makes a new device: the old store belongs to another one.
            set_aside(&store)?;
            let client = build(settings, &store).await?;
            client
                .matrix_auth()
                .login_username(&settings.user, password.expose())
                .initial_device_display_name(&settings.device_name)
                .send()
                .await
                .map_err(|err| login_error(err, &session_file))?;
            save_session(&session_file, &settings.homeserver, &client)?;
            info!("matrix: logged in with the password; the session is saved for restarts");
            (client, false)
        }
    };
    Ok(Connected {
        client,
        restored,
        session_file,
    })
}

async fn build(settings: &MatrixSettings, store: &Path) -> Result<Client, MatrixError> {
    let recipients = match settings.key_recipients {
        KeyRecipients::All => CollectStrategy::AllDevices,
        // Element's "exclude insecure devices": only devices their owner cross-signed get the
        // keys of the bot's messages.
        KeyRecipients::Verified => CollectStrategy::IdentityBasedStrategy,
    };
    Client::builder()
        .with_room_key_recipient_strategy(recipients)
        .homeserver_url(&settings.homeserver)
        .sqlite_store(store, None)
        .request_config(RequestConfig::new().max_retry_time(MAX_SDK_RETRY_DELAY))
        .with_encryption_settings(EncryptionSettings {
            // Element's "exclude insecure devices" mode shares room keys only with devices
            // their owner signed: the bot must cross-sign its own device to read encrypted
            // rooms of such users.
            auto_enable_cross_signing: true,
            backup_download_strategy: BackupDownloadStrategy::AfterDecryptionFailure,
            auto_enable_backups: false,
        })
        .build()
        .await
        .map_err(|source| MatrixError::Store {
            path: store.to_owned(),
            source: Box::new(source),
        })
}

async fn restore(
    settings: &MatrixSettings,
    store: &Path,
    session: MatrixSession,
    session_file: &Path,
) -> Result<Client, MatrixError> {
    let client = build(settings, store).await?;
    client
        .restore_session(session)
        .await
        .map_err(|err| login_error(err, session_file))?;
    // The saved token may have been revoked while the bot was down: say so now, clearly.
    client
        .whoami()
        .await
        .map_err(|err| login_error(err.into(), session_file))?;
    Ok(client)
}

/// Asks the homeserver whose token this is, before any store is opened: the store belongs to
/// one device, and only the homeserver knows which device a token is for.
async fn whoami(
    settings: &MatrixSettings,
    token: &str,
    session_file: &Path,
) -> Result<SessionMeta, MatrixError> {
    #[derive(Deserialize)]
    struct WhoAmI {
        user_id: OwnedUserId,
        device_id: Option<OwnedDeviceId>,
    }
    let probe = Client::builder()
        .homeserver_url(&settings.homeserver)
        .build()
        .await
        .map_err(|source| MatrixError::Homeserver {
            url: settings.homeserver.clone(),
            source: Box::new(source),
        })?;
    let url = format!(
        "{}/_matrix/client/v3/account/whoami",
        settings.homeserver.trim_end_matches('/')
    );
    let response = probe
        .http_client()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|err| MatrixError::Unreachable(err.to_string()))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|err| MatrixError::Unreachable(err.to_string()))?;
    if status.as_u16() == 401 {
        return Err(MatrixError::Unauthorized {
            session_file: session_file.to_owned(),
        });
    }
    if status.is_server_error() {
        return Err(MatrixError::Unreachable(format!("whoami: HTTP {status}")));
    }
    let who: WhoAmI = serde_json::from_slice(&body).map_err(|_| MatrixError::Login {
        reason: format!("unexpected answer to whoami (HTTP {status})"),
    })?;
    let device_id = who.device_id.ok_or_else(|| MatrixError::Login {
        reason:
            "the access token is not tied to a device; make one by logging in (see docs/matrix.md)"
                .into(),
    })?;
    Ok(SessionMeta {
        user_id: who.user_id,
        device_id,
    })
}

/// A login or restore failure: revoked credentials are fatal and say what to do; a
/// homeserver that cannot be reached is worth retrying.
pub fn login_error(err: matrix_sdk::Error, session_file: &Path) -> MatrixError {
    match err.client_api_error_kind() {
        Some(ErrorKind::UnknownToken(_)) => MatrixError::Unauthorized {
            session_file: session_file.to_owned(),
        },
        Some(ErrorKind::Forbidden) => MatrixError::Login {
            reason: "the homeserver refused the user or password".into(),
        },
        Some(ErrorKind::UserDeactivated) => MatrixError::Login {
            reason: "the bot's account is deactivated".into(),
        },
        _ if is_transient(&err) => MatrixError::Unreachable(err.to_string()),
        _ => MatrixError::Login {
            reason: err.to_string(),
        },
    }
}

/// Network failures and server errors: the homeserver may be restarting.
pub fn is_transient(err: &matrix_sdk::Error) -> bool {
    match err {
        matrix_sdk::Error::Http(http) => match &**http {
            matrix_sdk::HttpError::Reqwest(_) => true,
            other => other.as_client_api_error().is_some_and(|api| {
                api.status_code.is_server_error() || api.status_code.as_u16() == 429
            }),
        },
        _ => false,
    }
}

fn read_session(path: &Path) -> Result<Option<SavedSession>, MatrixError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(MatrixError::StateDir {
                path: path.to_owned(),
                source,
            });
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|_| MatrixError::CorruptSession {
            path: path.to_owned(),
        })
}

fn save_session(path: &Path, homeserver: &str, client: &Client) -> Result<(), MatrixError> {
    let Some(session) = client.matrix_auth().session() else {
        return Err(MatrixError::Login {
            reason: "no session after logging in".into(),
        });
    };
    write_session(
        path,
        &SavedSession {
            homeserver: homeserver.to_owned(),
            session,
        },
    )
}

fn write_session(path: &Path, saved: &SavedSession) -> Result<(), MatrixError> {
    let text = serde_json::to_string_pretty(saved).map_err(|_| MatrixError::CorruptSession {
        path: path.to_owned(),
    })?;
    let io = |source| MatrixError::StateDir {
        path: path.to_owned(),
        source,
    };
    // Written beside, then renamed: a crash never leaves half a session.
    let partial = path.with_extension("json.partial");
    write_private(&partial, text.as_bytes()).map_err(io)?;
    std::fs::rename(&partial, path).map_err(io)
}

/// Moves the store of a previous device out of the way, keeping it for the admin.
fn set_aside(store: &Path) -> Result<(), MatrixError> {
    if !store.exists() {
        return Ok(());
    }
    let aside = store.with_file_name(format!("{STORE_DIR}.previous-{}", crate::service::now_ms()));
    warn!(
        aside = %aside.display(),
        "matrix: a new device is starting; the previous device's store is kept aside"
    );
    std::fs::rename(store, &aside).map_err(|source| MatrixError::StateDir {
        path: store.to_owned(),
        source,
    })
}

fn create_private_dir(dir: &Path) -> Result<(), MatrixError> {
    crate::store::create_private_dir(dir).map_err(|source| MatrixError::StateDir {
        path: dir.to_owned(),
        source,
    })
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, crate::store::PRIVATE_FILE_MODE);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Whether the bot's device is trusted by its owner, as strict clients require before they
/// share room keys with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceTrust {
    /// Signed with the account's self-signing key.
    CrossSigned,
    /// Cannot be signed from here: the reason says what the admin can do.
    Unverified(Unverified),
}

/// Why the bot's device stays unverified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unverified {
    /// The account has a cross-signing identity whose private keys are not here (a
    /// reinstall, a new device) and no `recovery_key` is configured to fetch them.
    NoRecoveryKey,
    /// The configured `recovery_key` does not open the account's key storage.
    WrongRecoveryKey,
    /// Cross-signing could not be set up (the homeserver wants a password, or refused).
    NoCrossSigning,
    /// The keys are here but signing the device did not go through.
    SigningFailed,
}

impl Unverified {
    /// For `/healthz` and the log: what is wrong and what to do, in one line.
    pub fn reason(self) -> &'static str {
        match self {
            Self::NoRecoveryKey => {
                "the bot's device is not verified: the account's cross-signing keys are not \
                 here; set `recovery_key`, or verify the device from another session of the account"
            }
            Self::WrongRecoveryKey => {
                "the bot's device is not verified: the configured `recovery_key` does not open \
                 the account's key storage; fix it, or verify the device from another session"
            }
            Self::NoCrossSigning => {
                "the bot's device is not verified: cross-signing could not be set up; log in \
                 with a password once, or verify the device from another session"
            }
            Self::SigningFailed => {
                "the bot's device is not verified: signing it failed; restart the bot, or \
                 verify the device from another session"
            }
        }
    }
}

/// After the first sync (account data known): makes sure the bot's device is cross-signed,
/// restoring the account's keys with the recovery key when they are not here. Failures are
/// reported, not fatal: the bot still answers; only strict clients' encrypted rooms stay
/// closed to it.
pub async fn verify_device(client: &Client, settings: &MatrixSettings) -> DeviceTrust {
    let encryption = client.encryption();
    // Cross-signing bootstrap and recovery set-up run in the SDK's background task after
    // login or restore.
    encryption.wait_for_e2ee_initialization_tasks().await;
    let recovery_key = settings.recovery_key.as_ref().map(|k| k.expose());

    let complete = encryption
        .cross_signing_status()
        .await
        .is_some_and(|status| status.is_complete());
    if !complete {
        let identity_exists = match client.user_id() {
            Some(me) => encryption
                .request_user_identity(me)
                .await
                .ok()
                .flatten()
                .is_some(),
            None => false,
        };
        match (identity_exists, recovery_key) {
            (true, Some(key)) => match encryption.recovery().recover(key).await {
                Ok(()) => info!("matrix: cross-signing keys restored with the recovery key"),
                Err(err) => {
                    error!(error = %err, "matrix: {}", Unverified::WrongRecoveryKey.reason());
                    return DeviceTrust::Unverified(Unverified::WrongRecoveryKey);
                }
            },
            (true, None) => {
                warn!("matrix: {}", Unverified::NoRecoveryKey.reason());
                return DeviceTrust::Unverified(Unverified::NoRecoveryKey);
            }
            (false, _) => {
                if !bootstrap_cross_signing(client, settings).await {
                    return DeviceTrust::Unverified(Unverified::NoCrossSigning);
                }
            }
        }
    }
    if sign_own_device(client).await {
        DeviceTrust::CrossSigned
    } else {
        warn!("matrix: {}", Unverified::SigningFailed.reason());
        DeviceTrust::Unverified(Unverified::SigningFailed)
    }
}

/// Whether the bot's device is signed by its owner now, as the server knows it: an admin may
/// have verified it from another session since the start.
pub async fn is_cross_signed(client: &Client) -> bool {
    let encryption = client.encryption();
    if let Some(me) = client.user_id()
        && let Err(err) = encryption.request_user_identity(me).await
    {
        debug!(error = %err, "matrix: own keys query failed");
    }
    matches!(encryption.get_own_device().await, Ok(Some(device)) if device.is_cross_signed_by_owner())
}

/// With a `recovery_key`: makes sure the account has key storage and backup under it, so the
/// same value restores the bot's identity and keys after a reinstall.
pub async fn enable_recovery(client: &Client, settings: &MatrixSettings) {
    let Some(key) = settings.recovery_key.as_ref().map(|k| k.expose()) else {
        debug!("matrix: no recovery key configured");
        return;
    };
    let recovery = client.encryption().recovery();
    if recovery.state() == RecoveryState::Disabled {
        // The configured key becomes the passphrase of the account's new key storage.
        match recovery.enable().with_passphrase(key).await {
            Ok(_) => info!("matrix: key storage enabled with the configured recovery key"),
            Err(err) => error!(error = %err, "matrix: cannot enable key storage and backup"),
        }
    }
}

/// Signs the bot's device with its self-signing key, if it has that key and the device is not
/// signed yet; `true` once it is signed. Restoring the keys signs the device only if the
/// device was already known locally, which right after a first login it may not be: ask the
/// server, then sign.
async fn sign_own_device(client: &Client) -> bool {
    let encryption = client.encryption();
    let has_key = encryption
        .cross_signing_status()
        .await
        .is_some_and(|status| status.has_self_signing);
    let Some(me) = client.user_id() else {
        return false;
    };
    if !has_key {
        return false;
    }
    let mut backoff =
        super::backoff::Backoff::new(Duration::from_millis(200), Duration::from_secs(2));
    while backoff.attempts() < 6 {
        // A keys query for ourselves brings our own device into the store.
        if let Err(err) = encryption.request_user_identity(me).await {
            debug!(error = %err, "matrix: own keys query failed");
        }
        match encryption.get_own_device().await {
            Ok(Some(device)) if device.is_cross_signed_by_owner() => {
                info!("matrix: the bot's device is verified (cross-signed)");
                return true;
            }
            Ok(Some(device)) => match device.verify().await {
                Ok(()) => {}
                Err(err) => debug!(error = %err, "matrix: cannot sign the bot's device yet"),
            },
            Ok(None) => debug!("matrix: own device not known yet"),
            Err(err) => debug!(error = %err, "matrix: cannot read own device"),
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
    false
}

/// Creates the account's cross-signing identity (a first start); `true` when done.
async fn bootstrap_cross_signing(client: &Client, settings: &MatrixSettings) -> bool {
    let encryption = client.encryption();
    let Err(err) = encryption.bootstrap_cross_signing_if_needed(None).await else {
        info!("matrix: cross-signing set up");
        return true;
    };
    let (Some(uiaa), MatrixLogin::Password(password)) = (err.as_uiaa_response(), &settings.login)
    else {
        error!(
            error = %err,
            "matrix: cannot set up cross-signing (the homeserver asks for a password); \
             see docs/matrix.md"
        );
        return false;
    };
    let mut auth = Password::new(
        UserIdentifier::Matrix(MatrixUserIdentifier::new(settings.user.clone())),
        password.expose().to_owned(),
    );
    auth.session = uiaa.session.clone();
    match encryption
        .bootstrap_cross_signing(Some(AuthData::Password(auth)))
        .await
    {
        Ok(()) => {
            info!("matrix: cross-signing set up");
            true
        }
        Err(err) => {
            error!(error = %err, "matrix: cannot set up cross-signing");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use matrix_sdk::ruma::{owned_device_id, owned_user_id};

    #[test]
    fn the_session_file_round_trips_privately_and_a_corrupt_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SESSION_FILE);
        assert!(read_session(&path).unwrap().is_none());

        let saved = SavedSession {
            homeserver: "https://matrix.example.org".into(),
            session: MatrixSession {
                meta: SessionMeta {
                    user_id: owned_user_id!("@guichet:example.org"),
                    device_id: owned_device_id!("GUICHETDEV"),
                },
                tokens: SessionTokens {
                    access_token: "secret".into(),
                    refresh_token: None,
                },
            },
        };
        write_session(&path, &saved).unwrap();
        let read = read_session(&path).unwrap().unwrap();
        assert_eq!(read.session.meta.device_id, "GUICHETDEV");
        assert_eq!(read.session.tokens.access_token, "secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the session holds a token");
        }

        std::fs::write(&path, "{ not json").unwrap();
        let err = read_session(&path).err().unwrap();
        assert!(matches!(err, MatrixError::CorruptSession { .. }));
        assert!(err.to_string().contains(SESSION_FILE), "{err}");
    }

    #[test]
    fn a_previous_device_store_is_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join(STORE_DIR);
        set_aside(&store).unwrap();
        std::fs::create_dir_all(&store).unwrap();
        std::fs::write(store.join("matrix-sdk-crypto.sqlite3"), "keys").unwrap();
        set_aside(&store).unwrap();
        assert!(!store.exists());
        let kept: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(kept.len(), 1);
        assert!(kept[0].starts_with("store.previous-"), "{kept:?}");
    }
}
