//! The Parquet decoder on any bytes, in any chunks, with options picked by the first byte
//! (`collectors_fuzz::parquet_options`): no panic, the chunking changes nothing, batches
//! respect `batch_size`, and a file that decodes gives as many rows as its row groups say.
#![no_main]

use bytes::Bytes;
use collectors_fuzz::{chunks, decode_in_chunks, parquet_options, split_input};
use collectors_processors::ParquetDecoder;
use libfuzzer_sys::fuzz_target;
use parquet::file::reader::{FileReader, SerializedFileReader};

fuzz_target!(|input: &[u8]| {
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
