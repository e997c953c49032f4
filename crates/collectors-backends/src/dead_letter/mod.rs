//! Dead letters in a JSON-lines file: [`JsonlDeadLetterSink`] appends them durably,
//! [`read_dead_letters`] reads them back (deduplicated), [`rewrite_dead_letters`] replaces the
//! file atomically (after a replay removed the letters that now succeed).
//!
//! # File format
//!
//! One [`DeadLetter`](collectors_core::DeadLetter) per line, as its serde JSON, each line
//! ended by `\n`. Letters are at-least-once: an item replayed after a crash appends its
//! letters again, and readers keep the last letter of each
//! [`DeadLetter::key`](collectors_core::DeadLetter::key).
//!
//! # Crashes
//!
//! A crash in the middle of an append can leave an unterminated last line. Such a line was
//! never acknowledged (its `write` had not returned), so [`read_dead_letters`] ignores it
//! when it does not parse, and the next append cuts it off before writing. Any other line
//! that does not parse is corruption and fails the read with an
//! [`Error::Validation`](collectors_core::Error::Validation) naming the line.

mod file;
mod sink;

pub use file::{read_dead_letters, rewrite_dead_letters};
pub use sink::JsonlDeadLetterSink;
