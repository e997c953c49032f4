//! The bearer token: configured, or generated at first start and kept (0600) in the data
//! directory; checked on every route but `/health`.

use std::path::Path;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use collectors_core::{Error, Result};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// The file of the data directory that keeps a generated token.
pub const TOKEN_FILE: &str = "api-token";

/// The token the service accepts. Compared by digest, so the time a comparison takes says
/// nothing about the token; never printed by `Debug`.
#[derive(Clone)]
pub struct ApiToken {
    digest: [u8; 32],
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

/// Where the token came from: a start that generated one shows it once.
#[derive(Debug)]
pub enum TokenOrigin {
    /// Configured (option or environment).
    Configured,
    /// Read from the data directory's token file.
    Stored,
    /// Generated now and written to the token file: show it to the operator once.
    Generated(SecretString),
}

impl ApiToken {
    /// A token accepting exactly `secret`.
    pub fn new(secret: &SecretString) -> Self {
        Self {
            digest: Sha256::digest(secret.expose_secret().as_bytes()).into(),
        }
    }

    /// Whether `candidate` is the token.
    pub fn accepts(&self, candidate: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(candidate.as_bytes()).into();
        // Fold every byte: no early exit.
        digest
            .iter()
            .zip(self.digest.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    /// `configured`, else the token file of `data_dir`, else a new random token written
    /// there (mode 0600, atomically).
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for an empty configured token or token file;
    /// [`Error::Storage`] when the file cannot be read or written.
    pub fn resolve(
        configured: Option<&SecretString>,
        data_dir: &Path,
    ) -> Result<(Self, TokenOrigin)> {
        if let Some(token) = configured {
            if token.expose_secret().trim().is_empty() {
                return Err(Error::configuration("the API token is empty"));
            }
            return Ok((Self::new(token), TokenOrigin::Configured));
        }
        let file = data_dir.join(TOKEN_FILE);
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                let token = SecretString::from(text.trim().to_owned());
                if token.expose_secret().is_empty() {
                    return Err(Error::configuration(format!(
                        "{} is empty: delete it to generate a new token",
                        file.display()
                    )));
                }
                Ok((Self::new(&token), TokenOrigin::Stored))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Two v4 UUIDs: 244 bits from the operating system's generator.
                let secret = format!(
                    "{}{}",
                    uuid::Uuid::new_v4().simple(),
                    uuid::Uuid::new_v4().simple()
                );
                write_private(&file, &secret)?;
                let token = SecretString::from(secret);
                Ok((Self::new(&token), TokenOrigin::Generated(token)))
            }
            Err(e) => Err(Error::storage(format!("reading {}: {e}", file.display()))),
        }
    }
}

fn write_private(file: &Path, secret: &str) -> Result<()> {
    use std::io::Write;
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::storage(format!("creating {}: {e}", dir.display())))?;
    let fail = |e: std::io::Error| Error::storage(format!("writing {}: {e}", file.display()));
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(fail)?;
    }
    temp.write_all(secret.as_bytes()).map_err(fail)?;
    temp.as_file().sync_all().map_err(fail)?;
    temp.persist(file).map_err(|e| fail(e.error))?;
    Ok(())
}

/// The bearer token of a request: `Authorization: Bearer …`, or for the WebSocket only
/// (browsers cannot set headers on it) a `token` query parameter.
fn presented(request: &Request) -> Option<String> {
    if let Some(value) = request.headers().get(AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned());
    }
    if request.uri().path() == "/api/ws" {
        let query = request.uri().query()?;
        return query
            .split('&')
            .find_map(|pair| pair.strip_prefix("token="))
            .map(str::to_owned);
    }
    None
}

/// Middleware: answers 401 unless the request carries the token.
pub async fn require_token(
    State(token): State<ApiToken>,
    request: Request,
    next: Next,
) -> std::result::Result<Response, ApiError> {
    match presented(&request) {
        Some(candidate) if token.accepts(&candidate) => Ok(next.run(request).await),
        _ => Err(ApiError::unauthorized()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_token_is_kept_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let (token, origin) = ApiToken::resolve(None, dir.path()).unwrap();
        let TokenOrigin::Generated(secret) = origin else {
            panic!("a first start generates a token");
        };
        assert!(token.accepts(secret.expose_secret()));
        assert!(!token.accepts("wrong"));
        assert!(!format!("{token:?}").contains(secret.expose_secret()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(TOKEN_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, origin) = ApiToken::resolve(None, dir.path()).unwrap();
        assert!(matches!(origin, TokenOrigin::Stored));
        assert!(again.accepts(secret.expose_secret()));
    }

    #[test]
    fn an_empty_configured_token_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let empty = SecretString::from(" ".to_owned());
        assert!(ApiToken::resolve(Some(&empty), dir.path()).is_err());
    }
}
