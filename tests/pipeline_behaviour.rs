//! Pipelines and the processing manager, driven through `Arc<dyn Processor>` mocks.

use std::sync::Arc;
use std::time::Duration;

use collectors::{
    DefaultProcessingManager, Error, ErrorType, Payload, PayloadKind, Pipeline, ProcessingManager,
    Processor, SequentialPipeline, StepOutcome,
};
use collectors_mocks::{MockPipeline, MockProcessor};

fn add(name: &str, n: i64) -> Arc<dyn Processor> {
    Arc::new(MockProcessor::new(name).with_transform(move |p| {
        let v = p
            .as_json()?
            .as_i64()
            .ok_or_else(|| Error::validation("not an integer"))?;
        Ok(Payload::Json((v + n).into()))
    }))
}

#[tokio::test(start_paused = true)]
async fn a_pipeline_stops_at_the_first_failing_step_and_reports_timings_per_step() {
    let slow = MockProcessor::new("slow-validate");
    slow.control().set_latency(Duration::from_millis(30));
    let failing = MockProcessor::new("enrich");
    failing.control().fail_next(1, ErrorType::Processing);
    let never = MockProcessor::new("store-prep");
    let never_control = never.control();

    let pipeline = SequentialPipeline::builder("p")
        .processor(Arc::new(slow))
        .processor(Arc::new(failing))
        .processor(Arc::new(never))
        .build()
        .unwrap();
    let result = pipeline.execute(Payload::Json(1.into())).await;

    assert!(!result.success);
    assert!(result.processed_data.is_none());
    let error = result.error.expect("the failure is reported");
    assert_eq!(error.error_type, ErrorType::Processing);
    assert_eq!(error.component.as_deref(), Some("enrich"));
    let outcomes: Vec<_> = result
        .step_timings
        .iter()
        .map(|s| (s.processor.as_str(), s.outcome))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("slow-validate", StepOutcome::Succeeded),
            ("enrich", StepOutcome::Failed),
            ("store-prep", StepOutcome::NotRun)
        ]
    );
    // The paused clock advances exactly by the injected latency: timings measure each step.
    assert!(result.step_timings[0].duration >= Duration::from_millis(30));
    assert_eq!(result.step_timings[2].duration, Duration::ZERO);
    assert!(result.processing_time >= result.step_timings[0].duration);
    assert_eq!(
        never_control.call_count("process"),
        0,
        "steps after the failure never run"
    );
}

#[tokio::test]
async fn steps_chain_outputs_and_validate_inputs() {
    let pipeline = SequentialPipeline::builder("math")
        .processor(add("plus-1", 1))
        .processor(add("plus-10", 10))
        .build()
        .unwrap();
    let ok = pipeline.execute(Payload::Json(5.into())).await;
    assert_eq!(ok.processed_data, Some(Payload::Json(16.into())));

    let strict = SequentialPipeline::builder("strict")
        .processor(Arc::new(
            MockProcessor::new("json-only").accepting(&[PayloadKind::Json]),
        ))
        .build()
        .unwrap();
    let rejected = strict.execute(Payload::Bytes("raw".into())).await;
    assert_eq!(rejected.error.unwrap().error_type, ErrorType::Validation);
}

#[tokio::test]
async fn a_panicking_processor_fails_its_item_not_the_caller() {
    let pipeline = SequentialPipeline::builder("p")
        .processor(Arc::new(
            MockProcessor::new("buggy").panicking("index out of bounds"),
        ))
        .build()
        .unwrap();
    let result = pipeline.execute(Payload::Json(1.into())).await;
    let error = result.error.unwrap();
    assert_eq!(error.error_type, ErrorType::Processing);
    assert!(
        error.message.contains("index out of bounds"),
        "{}",
        error.message
    );
    // The pipeline is still usable afterwards.
    assert!(!pipeline.execute(Payload::Json(2.into())).await.success);
}

#[tokio::test]
async fn without_stop_on_failure_a_failing_step_passes_its_input_on() {
    let failing = MockProcessor::new("flaky");
    failing.control().fail_next(1, ErrorType::Timeout);
    let pipeline = SequentialPipeline::builder("lenient")
        .stop_on_failure(false)
        .processor(add("plus-1", 1))
        .processor(Arc::new(failing))
        .processor(add("plus-100", 100))
        .build()
        .unwrap();
    let result = pipeline.execute(Payload::Json(0.into())).await;
    assert!(!result.success);
    assert_eq!(result.processed_data, Some(Payload::Json(101.into())));
    assert_eq!(result.step_timings[1].outcome, StepOutcome::Failed);
    assert_eq!(result.step_timings[2].outcome, StepOutcome::Succeeded);
}

#[test]
fn invalid_pipelines_are_configuration_errors() {
    let empty = SequentialPipeline::builder("nothing").build().unwrap_err();
    assert_eq!(empty.error_type(), ErrorType::Configuration);
    let unnamed = SequentialPipeline::builder(" ")
        .processor(add("a", 1))
        .build()
        .unwrap_err();
    assert_eq!(unnamed.error_type(), ErrorType::Configuration);
}

#[tokio::test]
async fn the_processing_manager_runs_processors_and_pipelines_by_name() {
    let manager: Arc<dyn ProcessingManager> = Arc::new(DefaultProcessingManager::new());
    manager.register_processor(add("plus-1", 1)).await.unwrap();
    let duplicate = manager
        .register_processor(add("plus-1", 2))
        .await
        .unwrap_err();
    assert_eq!(duplicate.error_type(), ErrorType::InvalidState);
    manager
        .register_pipeline(Arc::new(MockPipeline::new("echo", &["noop"])))
        .await
        .unwrap();

    let result = manager
        .run_processor("plus-1", Payload::Json(1.into()))
        .await
        .unwrap();
    assert_eq!(result.processed_data, Some(Payload::Json(2.into())));
    assert_eq!(result.step_timings.len(), 1);
    let echoed = manager
        .run_pipeline("echo", Payload::Json(7.into()))
        .await
        .unwrap();
    assert_eq!(echoed.processed_data, Some(Payload::Json(7.into())));

    // A processing failure is a failed result; an unknown name is an error.
    let failed = manager
        .run_processor("plus-1", Payload::Bytes("x".into()))
        .await
        .unwrap();
    assert!(!failed.success);
    assert_eq!(
        manager
            .run_pipeline("nope", Payload::Empty)
            .await
            .unwrap_err()
            .error_type(),
        ErrorType::NotFound
    );

    assert_eq!(manager.processors().await, vec!["plus-1".to_string()]);
    manager.unregister_processor("plus-1").await.unwrap();
    assert!(manager.processors().await.is_empty());
    assert_eq!(
        manager
            .unregister_pipeline("nope")
            .await
            .unwrap_err()
            .error_type(),
        ErrorType::NotFound
    );
}
