//! A store that dies mid-download: the fetch fails with a retryable error, leaves no file and
//! no temp file behind, and the rerun completes.
#![cfg(feature = "object-store")]

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use collectors_backends::object_store::{ObjectStoreConnector, WriteOptions};
use collectors_core::{Connector, ErrorType};
use futures::stream::{BoxStream, StreamExt};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

/// Memory, whose downloads break after half of the first chunk while `broken` is set
/// (with an error, or silently ending when `truncate` is set too).
#[derive(Debug, Default)]
struct Dying {
    inner: InMemory,
    broken: AtomicBool,
    truncate: AtomicBool,
}

impl fmt::Display for Dying {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Dying(memory)")
    }
}

#[async_trait::async_trait]
impl ObjectStore for Dying {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let mut result = self.inner.get_opts(location, options).await?;
        if self.broken.load(Ordering::SeqCst)
            && let GetResultPayload::Stream(stream) = result.payload
        {
            let truncate = self.truncate.load(Ordering::SeqCst);
            let broken = stream.take(1).flat_map(move |chunk| {
                let half = chunk.map(|c: Bytes| c.slice(..c.len() / 2));
                let mut items = vec![half];
                if !truncate {
                    items.push(Err(object_store::Error::Generic {
                        store: "Dying",
                        source: "connection reset by peer".into(),
                    }));
                }
                futures::stream::iter(items)
            });
            result.payload = GetResultPayload::Stream(broken.boxed());
        }
        Ok(result)
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

#[tokio::test]
async fn a_download_that_breaks_leaves_nothing_and_the_rerun_completes() {
    let store = Arc::new(Dying::default());
    let connector = ObjectStoreConnector::from_store("memory://", store.clone()).unwrap();
    let bytes: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    connector
        .write_file(
            "big/data.bin",
            Bytes::from(bytes.clone()),
            &WriteOptions::overwrite(),
        )
        .await
        .unwrap();
    let workspace = tempfile::tempdir().unwrap();

    store.broken.store(true, Ordering::SeqCst);
    let err = connector
        .fetch_data("big/data.bin", workspace.path())
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::DataFetch, "{err}");
    assert!(
        err.is_retryable(),
        "a broken download is worth retrying: {err}"
    );
    assert!(err.to_string().contains("big/data.bin"), "{err}");
    let left: Vec<_> = std::fs::read_dir(workspace.path().join("big"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "no partial or temp file is left: {left:?}");

    store.broken.store(false, Ordering::SeqCst);
    let local = connector
        .fetch_data("big/data.bin", workspace.path())
        .await
        .unwrap();
    assert!(
        std::fs::read(local).unwrap() == bytes,
        "the rerun fetches every byte"
    );
}

#[tokio::test]
async fn a_download_that_ends_short_is_refused() {
    let store = Arc::new(Dying::default());
    let connector = ObjectStoreConnector::from_store("memory://", store.clone()).unwrap();
    connector
        .write_file(
            "short.bin",
            Bytes::from(vec![7u8; 4096]),
            &WriteOptions::overwrite(),
        )
        .await
        .unwrap();
    store.broken.store(true, Ordering::SeqCst);
    store.truncate.store(true, Ordering::SeqCst);
    let workspace = tempfile::tempdir().unwrap();
    let err = connector
        .fetch_data("short.bin", workspace.path())
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::DataFetch, "{err}");
    assert!(err.to_string().contains("2048 bytes"), "{err}");
    assert_eq!(
        std::fs::read_dir(workspace.path()).unwrap().count(),
        0,
        "nothing is left"
    );
}
