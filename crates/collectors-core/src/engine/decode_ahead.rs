//! [`DecodeAhead`]: an item's chunks decoded in a task of their own, a few chunks ahead of
//! the steps that process them.
//!
//! Decoding is most of the work of a large item, and the processors that follow keep their
//! order (a rolling window, a peak that straddles two batches), so an item cannot be split
//! between workers. Decoding it on another core than the one running its processors is what
//! lets one large file use both cores; the store stage already writes on a third task.

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::engine::counters::{EngineCounters, add};
use crate::engine::decoder::{Decoded, ItemDecoder};
use crate::error::Result;

/// How many decoded chunks may wait for the processors: enough to keep the decoding task
/// busy while a batch is processed, few enough that memory stays at a few chunks' rows.
const CHUNKS_AHEAD: usize = 2;

/// The decoded rows of one item, in input order, from a task that reads and decodes it.
///
/// Dropping it stops the task (the item was interrupted or failed downstream).
pub(crate) struct DecodeAhead {
    decoded: mpsc::Receiver<Result<Decoded>>,
    task: JoinHandle<()>,
    /// The task's end was seen: `next` returns `None` from now on.
    ended: bool,
}

impl DecodeAhead {
    /// Starts decoding `first` (a chunk already read, if any) and then `chunks` with
    /// `decoder`, counting the bytes read in `counters`.
    pub(crate) fn spawn(
        first: Option<Result<Bytes>>,
        chunks: BoxStream<'static, Result<Bytes>>,
        decoder: Box<dyn ItemDecoder>,
        counters: Arc<EngineCounters>,
    ) -> Self {
        let (sender, decoded) = mpsc::channel(CHUNKS_AHEAD);
        let chunks = futures::stream::iter(first).chain(chunks);
        let task = tokio::spawn(decode(chunks, decoder, counters, sender));
        Self {
            decoded,
            task,
            ended: false,
        }
    }

    /// The rows (and rejected rows) of the next chunks, `None` once the item was decoded
    /// whole. An `Err` (reading or decoding failed) is the last value.
    ///
    /// A decoder or a source stream that panics panics here, in the worker, as it did when
    /// it ran there (the engine then aborts the run): a channel that merely closed would look
    /// like the item's end, and the rest of the item would be lost.
    pub(crate) async fn next(&mut self) -> Option<Result<Decoded>> {
        if let Some(decoded) = self.decoded.recv().await {
            return Some(decoded);
        }
        if std::mem::replace(&mut self.ended, true) {
            return None;
        }
        if let Err(e) = (&mut self.task).await
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
        None // ended normally
    }
}

impl Drop for DecodeAhead {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads and decodes every chunk, sending what each one completes; stops at the first
/// error (sent on) or when the receiver is gone.
async fn decode(
    mut chunks: impl futures::Stream<Item = Result<Bytes>> + Unpin,
    mut decoder: Box<dyn ItemDecoder>,
    counters: Arc<EngineCounters>,
    sender: mpsc::Sender<Result<Decoded>>,
) {
    while let Some(chunk) = chunks.next().await {
        let mut out = Decoded::default();
        let fed = chunk
            .map_err(|e| e.with_operation("read"))
            .and_then(|chunk| {
                add(&counters.bytes_read, chunk.len() as u64);
                decoder
                    .feed(&chunk, &mut out)
                    .map_err(|e| e.with_operation("decode"))
            });
        match fed {
            Err(e) => {
                let _ = sender.send(Err(e)).await;
                return;
            }
            Ok(()) if out.batches.is_empty() && out.rejects.is_empty() => {} // no line ended
            Ok(()) => {
                if sender.send(Ok(out)).await.is_err() {
                    return; // the reader is gone
                }
            }
        }
    }
    let mut out = Decoded::default();
    let finished = decoder
        .finish(&mut out)
        .map_err(|e| e.with_operation("decode"))
        .map(|()| out);
    let _ = sender.send(finished).await;
}

#[cfg(test)]
mod tests {
    use arrow_array::{Int64Array, RecordBatch};
    use futures::stream;

    use super::*;
    use crate::error::Error;

    /// Makes one batch of one row per chunk: the chunk's length; `finish` adds a batch of -1.
    struct Lengths {
        fail_on: Option<usize>,
    }

    impl ItemDecoder for Lengths {
        fn feed(&mut self, chunk: &[u8], out: &mut Decoded) -> Result<()> {
            if Some(chunk.len()) == self.fail_on {
                return Err(Error::validation("bad chunk"));
            }
            assert!(chunk.len() != 99, "a decoder bug");
            if !chunk.is_empty() {
                out.batches.push(batch(chunk.len() as i64));
            }
            Ok(())
        }

        fn finish(&mut self, out: &mut Decoded) -> Result<()> {
            out.batches.push(batch(-1));
            Ok(())
        }
    }

    fn batch(n: i64) -> RecordBatch {
        RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(vec![n])) as _)]).unwrap()
    }

    fn chunks(lengths: &[usize]) -> BoxStream<'static, Result<Bytes>> {
        let chunks: Vec<Result<Bytes>> = lengths
            .iter()
            .map(|&n| Ok(Bytes::from(vec![b'x'; n])))
            .collect();
        stream::iter(chunks).boxed()
    }

    async fn drain(ahead: &mut DecodeAhead) -> (Vec<i64>, Option<Error>) {
        let mut values = Vec::new();
        while let Some(decoded) = ahead.next().await {
            match decoded {
                Ok(decoded) => {
                    for b in decoded.batches {
                        let column = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                        values.extend(column.values().iter().copied());
                    }
                }
                Err(e) => return (values, Some(e)),
            }
        }
        (values, None)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn chunks_come_out_in_order_with_the_finish_last_and_bytes_counted() {
        let counters = Arc::new(EngineCounters::default());
        let first = Some(Ok(Bytes::from_static(b"abc")));
        let lengths: Vec<usize> = (1..=50).collect();
        let decoder = Box::new(Lengths { fail_on: None });
        let mut ahead = DecodeAhead::spawn(first, chunks(&lengths), decoder, counters.clone());
        let (values, error) = drain(&mut ahead).await;
        let mut expected = vec![3];
        expected.extend(lengths.iter().map(|&n| n as i64));
        expected.push(-1);
        assert_eq!(values, expected);
        assert!(error.is_none());
        let read = counters
            .bytes_read
            .load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(read, 3 + lengths.iter().sum::<usize>() as u64);
    }

    #[tokio::test]
    async fn a_failed_chunk_is_the_last_value_and_names_the_step() {
        let counters = Arc::new(EngineCounters::default());
        let decoder = Box::new(Lengths { fail_on: Some(3) });
        let mut ahead = DecodeAhead::spawn(None, chunks(&[1, 2, 3, 4]), decoder, counters);
        let (values, error) = drain(&mut ahead).await;
        assert_eq!(values, [1, 2], "nothing of the failed chunk or after it");
        assert_eq!(
            error.unwrap().context().operation.as_deref(),
            Some("decode")
        );

        let broken: BoxStream<'static, Result<Bytes>> =
            stream::iter([Ok(Bytes::from_static(b"x")), Err(Error::connection("gone"))]).boxed();
        let decoder = Box::new(Lengths { fail_on: None });
        let counters = Arc::new(EngineCounters::default());
        let mut ahead = DecodeAhead::spawn(None, broken, decoder, counters);
        let (values, error) = drain(&mut ahead).await;
        assert_eq!(values, [1]);
        assert_eq!(error.unwrap().context().operation.as_deref(), Some("read"));
    }

    #[tokio::test]
    async fn a_panicking_decoder_panics_the_reader_instead_of_ending_the_item() {
        let reader = tokio::spawn(async {
            let counters = Arc::new(EngineCounters::default());
            let decoder = Box::new(Lengths { fail_on: None });
            let mut ahead = DecodeAhead::spawn(None, chunks(&[1, 99, 4]), decoder, counters);
            drain(&mut ahead).await
        });
        let error = reader.await.expect_err("the panic reaches the reader");
        let payload = error.into_panic();
        let message = payload.downcast_ref::<&str>().copied().unwrap_or_default();
        assert_eq!(message, "a decoder bug");
    }
}
