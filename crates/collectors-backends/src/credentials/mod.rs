//! Secrets at rest: [`CredentialManager`] encrypts the secret settings of a data source with
//! Fernet (the format of the seed's Python `cryptography.fernet`), under a [`MasterKey`] taken
//! from `COLLECTORS_MASTER_KEY` or from a key file created with mode 0600 in the data
//! directory. Which settings are secret is declared per connector type with [`SecretFields`].
//!
//! In memory a secret is a [`SecretString`](secrecy::SecretString): `Debug` shows `***`
//! (secrecy prints `[REDACTED]`), and nothing here logs or formats a value into an error.
//!
//! ```
//! use collectors_backends::credentials::{CredentialManager, MasterKey};
//! use collectors_core::ErrorType;
//! use secrecy::{ExposeSecret, SecretString};
//!
//! let manager = CredentialManager::new(MasterKey::generate());
//! let token = manager.encrypt(&SecretString::from("hunter2"));
//! assert!(!token.contains("hunter2"));
//! assert_eq!(manager.decrypt(&token).unwrap().expose_secret(), "hunter2");
//!
//! let other = CredentialManager::new(MasterKey::generate());
//! assert_eq!(other.decrypt(&token).unwrap_err().error_type(), ErrorType::Authentication);
//! ```

mod manager;
mod master_key;
mod secret_fields;

pub use manager::CredentialManager;
pub use master_key::{KEY_FILE_NAME, KeySource, MASTER_KEY_ENV, MasterKey};
pub use secret_fields::{SecretField, SecretFields};
