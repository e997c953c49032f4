//! Example 4 of the seed: subscribe to events, emit, unsubscribe.
//!
//! Run: `cargo run --example event_monitoring`

use collectors::{EventBus, EventEmitter, EventFilter, EventType, Result, SystemEvent};
use futures::StreamExt;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let bus = EventBus::new();

    let completions = bus
        .subscribe(EventFilter::all().event_type(EventType::CollectionComplete))
        .await?;
    let sub_id = completions.id();
    let listener = tokio::spawn(completions.for_each(|event| async move {
        println!(
            "Event: {:?} from {} with {}",
            event.event_type, event.source, event.data
        );
    }));

    bus.emit(SystemEvent::new(EventType::DataCollected, "collector"))
        .await?; // filtered out
    bus.emit(
        SystemEvent::new(EventType::CollectionComplete, "collector")
            .with_data(serde_json::json!({ "items": 100 })),
    )
    .await?;

    // Unsubscribing ends the stream, so the listener finishes after the events it got.
    bus.unsubscribe(sub_id).await?;
    if let Err(e) = listener.await {
        eprintln!("listener failed: {e}");
    }
    let stats = bus.stats();
    println!(
        "Emitted {} events, delivered {}, dropped {}",
        stats.emitted, stats.delivered, stats.dropped
    );
    Ok(())
}
