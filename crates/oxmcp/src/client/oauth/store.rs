//! Where tokens and client registrations are kept between runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Tokens from an authorization server.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tokens {
    /// The access token.
    pub access_token: String,
    /// `Bearer` or `DPoP`.
    pub token_type: String,
    /// The refresh token, if the server issued one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// When the access token expires, in seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The scopes granted, space separated (those asked for when the server did not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets.
        f.debug_struct("Tokens")
            .field("token_type", &self.token_type)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| ".."))
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// Whether the access token has expired, or will within `margin`.
    pub fn expires_within(&self, margin: Duration) -> bool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        self.expires_at
            .is_some_and(|at| at <= now.saturating_add(margin.as_secs()))
    }
}

/// A client registration with one authorization server.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Registration {
    /// The authorization server's issuer identifier.
    pub issuer: String,
    /// The client id.
    pub client_id: String,
    /// The client secret, for confidential clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// How the client authenticates at the token endpoint (`none`,
    /// `client_secret_basic`, `client_secret_post`).
    pub token_endpoint_auth_method: String,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "token_endpoint_auth_method",
                &self.token_endpoint_auth_method,
            )
            .finish_non_exhaustive()
    }
}

/// What is kept for one MCP server.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredAuth {
    /// The tokens, once authorized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Tokens>,
    /// The issuer the tokens came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The client registered dynamically with that issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<Registration>,
}

/// Keeps tokens and registrations, one entry per MCP server (keyed by its URL).
pub trait TokenStore: Send + Sync + 'static {
    /// The entry for `key`, if any.
    ///
    /// # Errors
    /// If the store cannot be read.
    fn load(&self, key: &str) -> Result<Option<StoredAuth>>;

    /// Replaces the entry for `key`.
    ///
    /// # Errors
    /// If the store cannot be written.
    fn save(&self, key: &str, entry: &StoredAuth) -> Result<()>;
}

/// A store in memory: tokens last as long as the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<BTreeMap<String, StoredAuth>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl TokenStore for MemoryStore {
    fn load(&self, key: &str) -> Result<Option<StoredAuth>> {
        Ok(self.entries.lock().expect("store lock").get(key).cloned())
    }

    fn save(&self, key: &str, entry: &StoredAuth) -> Result<()> {
        self.entries
            .lock()
            .expect("store lock")
            .insert(key.to_owned(), entry.clone());
        Ok(())
    }
}

/// A store in one JSON file, readable and writable by its owner only (mode 0600 on
/// Unix), written whole to a temporary file then renamed into place.
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    lock: Mutex<()>,
}

impl FileStore {
    /// A store in the file at `path` (created on the first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileStore {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read_all(&self) -> Result<BTreeMap<String, StoredAuth>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::auth(format!(
                    "the token store {} is not a JSON object of entries",
                    self.path.display()
                ))
                .with_source(e)
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(Error::auth(format!(
                "could not read the token store {}",
                self.path.display()
            ))
            .with_source(e)),
        }
    }
}

impl TokenStore for FileStore {
    fn load(&self, key: &str) -> Result<Option<StoredAuth>> {
        let _guard = self.lock.lock().expect("store lock");
        Ok(self.read_all()?.remove(key))
    }

    fn save(&self, key: &str, entry: &StoredAuth) -> Result<()> {
        let _guard = self.lock.lock().expect("store lock");
        let mut all = self.read_all()?;
        all.insert(key.to_owned(), entry.clone());
        let text = serde_json::to_vec_pretty(&all).map_err(|e| Error::serde("encode tokens", e))?;
        let failed = |e: std::io::Error| {
            Error::auth(format!(
                "could not write the token store {}",
                self.path.display()
            ))
            .with_source(e)
        };
        let mut temp = self.path.clone().into_os_string();
        temp.push(".tmp");
        let temp = PathBuf::from(temp);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        {
            use std::io::Write as _;
            let mut file = options.open(&temp).map_err(failed)?;
            // A file that existed with wider permissions is narrowed too.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                file.set_permissions(std::fs::Permissions::from_mode(0o600))
                    .map_err(failed)?;
            }
            file.write_all(&text).map_err(failed)?;
            file.sync_all().map_err(failed)?;
        }
        std::fs::rename(&temp, &self.path).map_err(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(token: &str) -> StoredAuth {
        StoredAuth {
            tokens: Some(Tokens {
                access_token: token.into(),
                token_type: "Bearer".into(),
                refresh_token: Some("r".into()),
                expires_at: Some(1),
                scope: None,
            }),
            issuer: Some("https://as".into()),
            registration: None,
        }
    }

    #[test]
    fn file_store_keeps_one_entry_per_server_owner_only() {
        let dir = std::env::temp_dir().join(format!("oxmcp-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tokens.json");
        let _ = std::fs::remove_file(&path);
        let store = FileStore::new(&path);
        assert_eq!(store.load("https://a/mcp").unwrap(), None);
        store.save("https://a/mcp", &entry("a")).unwrap();
        store.save("https://b/mcp", &entry("b")).unwrap();
        assert_eq!(store.load("https://a/mcp").unwrap(), Some(entry("a")));
        assert_eq!(
            FileStore::new(&path).load("https://b/mcp").unwrap(),
            Some(entry("b"))
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
        }
        std::fs::write(&path, b"not json").unwrap();
        let e = store.load("https://a/mcp").unwrap_err();
        assert!(e.is_auth() && e.to_string().contains("tokens.json"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn debug_output_hides_secrets() {
        let shown = format!("{:?}", entry("secret-token"));
        assert!(!shown.contains("secret-token"), "{shown}");
    }
}
