//! Example 5 of the seed: structured errors and the decisions a retry policy makes.
//!
//! Run: `cargo run --example error_handling`

use std::time::Duration;

use collectors::{
    Backoff, Error, ErrorAction, ErrorHandler, ErrorInfo, ErrorPolicy, ErrorType, FinalAction,
    Layer, Result, RetryingErrorHandler,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    // A failure as data, as the seed builds it.
    let error = ErrorInfo::new(
        ErrorType::Validation,
        Layer::Processing,
        "validate",
        "Invalid data format",
    )
    .with_detail("expected", "dict")
    .with_detail("got", "str");

    // Retry timeouts 4 times (100 ms doubling, ±30 % jitter) then skip; dead-letter bad data.
    let backoff =
        Backoff::new(Duration::from_millis(100), Duration::from_secs(2), 4)?.with_jitter(0.3)?;
    let policy = ErrorPolicy::empty()
        .on(
            ErrorType::Timeout,
            ErrorAction::Retry {
                backoff,
                exhausted: FinalAction::Skip,
            },
        )
        .on(
            ErrorType::Validation,
            ErrorAction::Final(FinalAction::DeadLetter),
        );
    let handler = RetryingErrorHandler::with_seed(policy, 2024);

    if handler.can_handle(error.error_type) {
        let decision = handler.handle(&error, 1).await;
        println!(
            "{:?} error `{}` -> {decision:?}",
            error.error_type, error.message
        );
    }

    // An error raised in code becomes the same data.
    let timeout = Error::timeout("store took too long")
        .with_component("warehouse")
        .with_operation("store");
    let info = ErrorInfo::from(&timeout);
    for attempt in 1..=4 {
        println!(
            "attempt {attempt} failed ({}) -> {:?}",
            info.message,
            handler.handle(&info, attempt).await
        );
    }
    println!(
        "Unhandled storage error -> {:?}",
        handler
            .handle(&ErrorInfo::from(&Error::storage("disk full")), 1)
            .await
    );
    println!("Decisions so far: {:?}", handler.stats());

    // Invalid policies are typed errors, not panics.
    if let Err(e) = Backoff::new(Duration::from_secs(5), Duration::from_secs(1), 3) {
        println!("Rejected backoff: {e}");
    }
    Ok(())
}
