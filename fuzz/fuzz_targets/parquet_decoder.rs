//! The Parquet decoder on any bytes, in any chunks, with options picked by the first byte
//! (`collectors_fuzz::parquet_options`): no panic, the chunking changes nothing, batches
//! respect `batch_size`, and a file that decodes gives as many rows as its row groups say.
#![no_main]

use std::sync::Once;

use bytes::Bytes;
use collectors_fuzz::{chunks, decode_in_chunks, parquet_options, split_input};
use collectors_processors::ParquetDecoder;
use libfuzzer_sys::fuzz_target;
use parquet::file::reader::{FileReader, SerializedFileReader};

/// libFuzzer's panic hook aborts on every panic, even one that is caught. The decoder turns
/// a panic of the parquet crate (or the arrow crates under it) into a failed item with
/// `catch_unwind`, so a panic raised in a registry crate, or in the standard library on its
/// behalf (an overflow check in an iterator's `sum`), is left to unwind to it; a panic raised
/// in our own code, and any panic that escapes the decoder, still aborts and is reported.
static DEFER_DEPENDENCY_PANICS: Once = Once::new();

fn defer_dependency_panics() {
    DEFER_DEPENDENCY_PANICS.call_once(|| {
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_dependency = info.location().is_some_and(|l| {
                l.file().contains("/registry/src/") || l.file().starts_with("/rustc/")
            });
            if !in_dependency {
                abort(info);
            }
        }));
    });
}

fuzz_target!(|input: &[u8]| {
    defer_dependency_panics();
    let Some((config, chunking, data)) = split_input(input) else {
        return;
    };
    let options = parquet_options(config);
    let batch_size = options.batch_size;
    let decoder = ParquetDecoder::new(options).expect("the fuzz options are valid");
    let whole = decode_in_chunks(&mut decoder.item_decoder(), &[data]);
    let parts = chunks(data, chunking);
    let chunked = decode_in_chunks(&mut decoder.item_decoder(), &parts);
    assert_eq!(whole.error, chunked.error);
    if whole.error.is_some() {
        return;
    }
    assert_eq!(whole.rows(), chunked.rows());
    assert!(
        whole.rejects().is_empty(),
        "Parquet rejects files, not rows"
    );
    assert!(
        whole
            .decoded
            .batches
            .iter()
            .all(|b| b.num_rows() <= batch_size)
    );
    let metadata = SerializedFileReader::new(Bytes::copy_from_slice(data))
        .expect("a file that decodes has a readable footer")
        .metadata()
        .clone();
    let rows: i64 = metadata.row_groups().iter().map(|g| g.num_rows()).sum();
    assert_eq!(
        whole.decoded.rows(),
        rows as u64,
        "rows decoded != rows of the row groups"
    );
});
