//! [`MetadataParser`]: turns an item's metadata into checked, structured fields.

use async_trait::async_trait;

use crate::error::Result;
use crate::models::{CollectedData, ParsedMetadata};

/// Parses and validates the metadata of collected items.
///
/// # Contract
///
/// - `parse` fails only when the metadata cannot be read at all (an
///   [`Error::Validation`](crate::Error::Validation)); broken rules go into
///   [`ParsedMetadata::validation_errors`].
/// - `validate` returns `Ok(())` for valid metadata and an `Error::Validation` listing every
///   broken rule otherwise.
#[doc(alias = "IMetadataParser")]
#[async_trait]
pub trait MetadataParser: Send + Sync {
    /// Parses the metadata of one item.
    async fn parse(&self, data: &CollectedData) -> Result<ParsedMetadata>;

    /// Checks parsed metadata against the parser's rules.
    async fn validate(&self, metadata: &ParsedMetadata) -> Result<()>;
}
