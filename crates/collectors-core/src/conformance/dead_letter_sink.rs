//! The [`DeadLetterSink`] and [`DeadLetterStore`] suites.

use bytes::Bytes;

use crate::engine::{DeadLetter, DeadLetterSink, DeadLetterStore};
use crate::error::Error;
use crate::models::ErrorInfo;

/// Letters of every shape: a row with UTF-8 and with other bytes, a cut row, a batch, an item.
pub fn sample_letters() -> Vec<DeadLetter> {
    let error = ErrorInfo::from(&Error::validation("does not fit"));
    let base = DeadLetter::new("conformance", "src", "a.csv", error).with_version("v1");
    vec![
        base.clone().with_row(3, Bytes::from_static(b"x,y,z"), true),
        base.clone()
            .with_row(4, Bytes::from_static(b"s-\xff\xfe,\"q\"\r"), true),
        base.clone()
            .with_row(5, Bytes::from_static(b"too long"), false),
        base.clone().with_batch(
            2,
            crate::models::Payload::Json(serde_json::json!({"n": 1})),
            8192,
        ),
        base,
    ]
}

/// Runs the [`DeadLetterSink`] contract: `write` accepts every letter shape, and `read_back`
/// (how the implementation's letters are read: a file, a table) returns them with their
/// bytes exact, one per [`DeadLetter::key`], the repeats of one letter collapsed.
///
/// # Panics
///
/// At the first rule the sink breaks, naming the rule.
pub async fn dead_letter_sink<F, Fut>(sink: &dyn DeadLetterSink, read_back: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Vec<DeadLetter>>,
{
    let letters = sample_letters();
    let keys: std::collections::HashSet<String> = letters.iter().map(DeadLetter::key).collect();
    assert_eq!(
        keys.len(),
        letters.len(),
        "distinct letters have distinct keys"
    );
    sink.write(&letters).await.expect("write");
    sink.write(&letters[..2])
        .await
        .expect("write a repeat (an item redone after a crash)");
    let back = read_back().await;
    assert_eq!(
        back.len(),
        letters.len(),
        "one letter per key, repeats collapsed"
    );
    for letter in &letters {
        let found = back
            .iter()
            .find(|l| l.key() == letter.key())
            .unwrap_or_else(|| panic!("letter {} is read back", letter.key()));
        assert_eq!(
            found.raw,
            letter.raw,
            "raw bytes are exact for {}",
            letter.key()
        );
        assert_eq!(
            found.raw_complete, letter.raw_complete,
            "raw_complete is kept"
        );
        assert_eq!(found.records, letter.records, "records are kept");
        assert_eq!(found.payload, letter.payload, "the payload is kept");
    }
    sink.write(&[]).await.expect("an empty write is fine");
}

/// Runs the [`DeadLetterStore`] contract on an empty store: the
/// [`dead_letter_sink`] suite read back through `letters`, then `letters` sees one pipeline
/// only, in the order letters were first written, and `replace` removes and adds in one step.
///
/// # Panics
///
/// At the first rule the store breaks, naming the rule.
pub async fn dead_letter_store(store: &dyn DeadLetterStore) {
    let letters = sample_letters();
    let read = || async { store.letters("conformance").await.expect("letters") };
    dead_letter_sink(store, read).await;
    let keys = |ls: &[DeadLetter]| ls.iter().map(DeadLetter::key).collect::<Vec<_>>();
    assert_eq!(
        keys(&read().await),
        keys(&letters),
        "letters come in the order they were first written"
    );

    let error = ErrorInfo::from(&Error::validation("elsewhere"));
    let other = DeadLetter::new("other", "src", "a.csv", error).with_row(3, "x", true);
    store
        .write(std::slice::from_ref(&other))
        .await
        .expect("write");
    assert_eq!(
        keys(&read().await),
        keys(&letters),
        "another pipeline's letters are not listed"
    );

    let fixed = letters[4].clone().with_row(9, "fixed", true);
    let remove = keys(&letters[..2]);
    store
        .replace("conformance", &remove, std::slice::from_ref(&fixed))
        .await
        .expect("replace");
    let mut want = keys(&letters[2..]);
    want.push(fixed.key());
    assert_eq!(keys(&read().await), want, "replace removes and adds");
    store
        .replace("conformance", &keys(&letters[2..]), &[])
        .await
        .expect("replace");
    assert_eq!(
        keys(&read().await),
        vec![fixed.key()],
        "removing leaves the rest"
    );
    assert_eq!(
        keys(&store.letters("other").await.expect("letters")),
        vec![other.key()],
        "replace touches its own pipeline only"
    );
}
