//! [`CredentialManager`]: Fernet encryption of secret values under a [`MasterKey`].

use std::fmt;

use collectors_core::{Error, Result};
use secrecy::{ExposeSecret, SecretString};

use super::master_key::MasterKey;

/// Encrypts and decrypts secret values with Fernet (AES-128-CBC and HMAC-SHA256, the token
/// format of Python's `cryptography.fernet`, through the `fernet` crate's pure-Rust crypto).
///
/// A token that does not decrypt under this key (another key, a changed byte) is an
/// [`Error::Authentication`]: Fernet authenticates before it decrypts, so a wrong key never
/// yields garbage. `Debug` shows no key.
///
/// ```
/// use collectors_backends::credentials::{CredentialManager, MasterKey};
/// use secrecy::{ExposeSecret, SecretString};
///
/// let manager = CredentialManager::new(MasterKey::generate());
/// let token = manager.encrypt(&SecretString::from("s3cr3t"));
/// assert!(token.starts_with("gAAAAA"));
/// assert_eq!(manager.decrypt(&token).unwrap().expose_secret(), "s3cr3t");
/// assert!(!format!("{manager:?}").contains(manager.key().expose_for_backup()));
/// ```
pub struct CredentialManager {
    key: MasterKey,
    fernet: fernet::Fernet,
}

impl fmt::Debug for CredentialManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialManager")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl CredentialManager {
    /// A manager encrypting under `key`.
    pub fn new(key: MasterKey) -> Self {
        let fernet = key.fernet();
        Self { key, fernet }
    }

    /// The key it encrypts under.
    pub fn key(&self) -> &MasterKey {
        &self.key
    }

    /// A Fernet token of `secret`.
    pub fn encrypt(&self, secret: &SecretString) -> String {
        self.fernet.encrypt(secret.expose_secret().as_bytes())
    }

    /// The secret in `token`.
    ///
    /// # Errors
    ///
    /// [`Error::Authentication`] when the token was not made with this key or was altered;
    /// the message never quotes the token.
    pub fn decrypt(&self, token: &str) -> Result<SecretString> {
        let bytes = self.fernet.decrypt(token.trim()).map_err(|_| {
            Error::authentication(
                "a stored secret does not decrypt with this master key (the key is wrong, \
                 or the data was altered)",
            )
            .with_operation("decrypt")
        })?;
        String::from_utf8(bytes)
            .map(SecretString::from)
            .map_err(|_| {
                Error::authentication("a decrypted secret is not UTF-8 text")
                    .with_operation("decrypt")
            })
    }
}
