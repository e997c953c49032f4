//! The CSV decoder on any bytes, in any chunks, with options picked by the first byte
//! (`collectors_fuzz::csv_options`): no panic, the chunking changes nothing, no row is lost
//! (`collectors_fuzz::check_line_decoder`).
#![no_main]

use collectors_fuzz::{LineRules, check_line_decoder, csv_options, split_input};
use collectors_processors::CsvDecoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((config, chunking, data)) = split_input(input) else {
        return;
    };
    let options = csv_options(config);
    let rules = LineRules {
        header: options.has_header,
        significant: Some(options.delimiter as u8),
        max_line_bytes: options.max_line_bytes,
    };
    let decoder = CsvDecoder::new(options).expect("the fuzz options are valid");
    check_line_decoder(|| Box::new(decoder.item_decoder()), data, chunking, rules);
});
