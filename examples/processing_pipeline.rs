//! Example 2 of the seed: a processing pipeline (validate, then transform).
//!
//! Run: `cargo run --example processing_pipeline`

use std::sync::Arc;

use collectors::{Error, Payload, PayloadKind, Pipeline, Result, SequentialPipeline};
use collectors_mocks::MockProcessor;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let validator = MockProcessor::new("validator").accepting(&[PayloadKind::Json]);
    let transformer = MockProcessor::new("transformer").with_transform(|input| {
        let value = input.as_json()?["value"]
            .as_i64()
            .ok_or_else(|| Error::validation("`value` must be an integer"))?;
        Ok(Payload::Json(
            serde_json::json!({ "value": value, "doubled": value * 2 }),
        ))
    });
    let pipeline = SequentialPipeline::builder("validate-then-transform")
        .processor(Arc::new(validator))
        .processor(Arc::new(transformer))
        .build()?;

    let result = pipeline
        .execute(Payload::Json(serde_json::json!({ "value": 42 })))
        .await;
    println!("Success: {}", result.success);
    if let Some(Payload::Json(output)) = &result.processed_data {
        println!("Final:   {output}");
    }
    for step in &result.step_timings {
        println!(
            "  step {:<12} {:?} in {:?}",
            step.processor, step.outcome, step.duration
        );
    }

    // Bytes are rejected by the validator: the pipeline stops there.
    let rejected = pipeline.execute(Payload::Bytes("not json".into())).await;
    if let Some(error) = &rejected.error {
        println!(
            "Rejected input: {} (at step `{}`)",
            error.message,
            error.component.as_deref().unwrap_or("?")
        );
    }
    Ok(())
}
