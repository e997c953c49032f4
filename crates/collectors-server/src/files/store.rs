//! Bytes in, data file out: a stream stored in the object store under `files/{id}/{name}`,
//! sized and digested as it goes by, then its record. Uploads (`POST /api/files`) and
//! ingest jobs both store files this way.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use collectors_backends::ObjectStoreConnector;
use collectors_backends::object_store::WriteOptions;
use collectors_core::Error;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{DataFile, FileCatalog};
use crate::error::ApiError;

/// The object a file's bytes are stored as: `files/{id}/{name}` (the name was checked).
pub(crate) fn object_name(file: &DataFile) -> String {
    object_of(file.id, &file.name)
}

fn object_of(id: Uuid, name: &str) -> String {
    format!("files/{id}/{name}")
}

/// Why a stream did not become a data file.
#[derive(Debug)]
pub(crate) enum StoreFailure {
    /// It was longer than the limit (the object was aborted).
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The stream, the store or the database failed.
    Failed(Error),
}

impl From<Error> for StoreFailure {
    fn from(e: Error) -> Self {
        Self::Failed(e)
    }
}

impl From<StoreFailure> for ApiError {
    fn from(failure: StoreFailure) -> Self {
        match failure {
            StoreFailure::TooLarge { limit } => ApiError::payload_too_large(limit),
            StoreFailure::Failed(e) => e.into(),
        }
    }
}

impl From<StoreFailure> for Error {
    fn from(failure: StoreFailure) -> Self {
        match failure {
            StoreFailure::TooLarge { limit } => Error::validation(format!(
                "the file is larger than the limit of {limit} bytes"
            )),
            StoreFailure::Failed(e) => e,
        }
    }
}

/// Stores `chunks` as the data file `id` named `name` (checked by the caller): the bytes
/// to `store` (aborted past `limit` bytes), then its record in `files`. A record that
/// cannot be written takes its object with it. An upload takes a new id; an ingest job
/// derives its ids, so that a retry finds what an earlier attempt stored.
pub(crate) async fn store_stream<S>(
    files: &FileCatalog,
    store: &ObjectStoreConnector,
    limit: u64,
    id: Uuid,
    name: &str,
    content_type: &str,
    chunks: S,
) -> Result<DataFile, StoreFailure>
where
    S: futures::Stream<Item = collectors_core::Result<Bytes>> + Send,
{
    let object = object_of(id, name);
    // Size and digest are taken as the bytes go by; past the limit the stream fails and
    // the upload is aborted.
    let tally = Arc::new(Mutex::new((0u64, Sha256::new(), false)));
    let seen = Arc::clone(&tally);
    let chunks = chunks.map(move |chunk| {
        let chunk = chunk?;
        let mut t = seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        t.0 += chunk.len() as u64;
        if t.0 > limit {
            t.2 = true;
            return Err(Error::validation("the upload is too large"));
        }
        t.1.update(&chunk);
        Ok(chunk)
    });
    let options = WriteOptions::overwrite().content_type(content_type);
    let written = store.write_stream(&object, chunks, &options).await;
    let (size, digest, too_large) = {
        let t = tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (t.0, t.1.clone().finalize(), t.2)
    };
    if too_large {
        return Err(StoreFailure::TooLarge { limit });
    }
    let written = written?;
    let checksum = format!("sha256:{}", hex(&digest));
    match files
        .insert(id, name, size, content_type, &checksum, &written.uri)
        .await
    {
        Ok(file) => {
            tracing::info!(file = %file.id, name = %file.name, size, "file stored");
            Ok(file)
        }
        Err(e) => {
            store.delete(&object).await.ok();
            Err(e.into())
        }
    }
}

/// Removes a stored file whose request or job then failed (best effort: a leftover is
/// logged, the first error stands).
pub(crate) async fn discard(files: &FileCatalog, store: &ObjectStoreConnector, file: &DataFile) {
    if let Err(e) = store.delete(&object_name(file)).await {
        tracing::warn!(file = %file.id, error = %e, "removing a refused file's bytes");
    }
    if let Err(e) = files.delete(file.id).await {
        tracing::warn!(file = %file.id, error = %e, "removing a refused file's record");
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
