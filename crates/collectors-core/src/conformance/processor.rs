//! The [`Processor`] suite.

use super::assert_error;
use crate::models::{ErrorType, Payload};
use crate::processor::{ItemContext, Processor};

/// Runs the [`Processor`] contract against `processor`, with an input it accepts and,
/// optionally, one it must reject.
///
/// # Panics
///
/// On the first broken rule, with a message naming it.
pub async fn processor(processor: &dyn Processor, valid: Payload, invalid: Option<Payload>) {
    let name = processor.name().to_owned();
    assert!(!name.is_empty(), "a processor name must not be empty");
    processor
        .validate_input(&valid)
        .unwrap_or_else(|e| panic!("{name}: validate_input rejects the valid input: {e}"));
    processor
        .process(valid.clone())
        .await
        .unwrap_or_else(|e| panic!("{name}: process fails on the valid input: {e}"));

    let context = ItemContext {
        source_id: "conformance".into(),
        item_id: "conformance-item".into(),
        batch_index: 0,
    };
    let (_, refused) = processor
        .process_rows(&context, valid.clone())
        .await
        .unwrap_or_else(|e| panic!("{name}: process_rows fails on the valid input: {e}"));
    if let (Some(refused), Some(rows)) = (&refused, valid.num_rows()) {
        assert!(
            refused.len() <= rows,
            "{name}: process_rows refuses more rows than it was given"
        );
    }
    processor.finish_item(&context.item_id);

    let results = processor
        .process_batch(vec![valid.clone(), valid.clone()])
        .await;
    assert_eq!(
        results.len(),
        2,
        "{name}: process_batch returns one result per input"
    );
    assert!(
        results.iter().all(Result::is_ok),
        "{name}: process_batch fails on valid inputs"
    );

    let Some(invalid) = invalid else { return };
    assert_error(
        processor.validate_input(&invalid),
        ErrorType::Validation,
        "validate_input on the invalid input",
    );
    assert!(
        processor.process(invalid.clone()).await.is_err(),
        "{name}: process accepts the invalid input"
    );
    let results = processor
        .process_batch(vec![valid.clone(), invalid, valid])
        .await;
    assert_eq!(
        results.len(),
        3,
        "{name}: process_batch returns one result per input"
    );
    assert!(
        results[0].is_ok() && results[1].is_err() && results[2].is_ok(),
        "{name}: process_batch keeps input order and fails only the invalid input"
    );
}
