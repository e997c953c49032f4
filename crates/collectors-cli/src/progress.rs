//! The progress bar of a run: bytes, rate, ETA and record counts; hidden when stderr is not a
//! terminal (indicatif checks) or with `--quiet`.

use std::sync::Arc;
use std::time::Duration;

use collectors_core::{CancellationToken, EngineCounters};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Draws the bar until `done` is cancelled.
pub(crate) fn spawn(
    counters: Arc<EngineCounters>,
    quiet: bool,
    done: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let target = if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(Some(0), target);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            let c = counters.snapshot();
            bar.set_length(c.bytes_total);
            bar.set_position(c.bytes_read.min(c.bytes_total));
            bar.set_message(format!(
                "items {}/{}  stored {}  dead-lettered {}",
                c.items_done,
                c.items_listed.saturating_sub(c.items_already_done),
                c.stored,
                c.dead_lettered
            ));
            tokio::select! {
                () = done.cancelled() => break,
                _ = tick.tick() => {}
            }
        }
        bar.finish_and_clear();
    })
}
