//! The summary table printed after a run.

use std::fmt::Write as _;

use collectors_core::{RunOutcome, RunSummary};

/// The table, as text.
pub(crate) fn render(pipeline: &str, summary: &RunSummary) -> String {
    let c = &summary.counts;
    let outcome = match summary.outcome {
        RunOutcome::Completed => "completed",
        RunOutcome::Cancelled => "cancelled (unfinished items will be redone by the next run)",
        RunOutcome::Aborted => "ABORTED",
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "pipeline `{pipeline}`: {outcome} in {:.2?}",
        summary.elapsed
    );
    if let Some(reason) = &summary.abort_reason {
        let _ = writeln!(out, "  abort reason   {reason}");
    }
    let _ = writeln!(
        out,
        "  items          {} listed, {} already done, {} done, {} not finished",
        c.items_listed, c.items_already_done, c.items_done, c.items_failed
    );
    if c.items_leased_elsewhere > 0 {
        let _ = writeln!(
            out,
            "  leased items   {:>12}  (left to a concurrent run of this pipeline)",
            c.items_leased_elsewhere
        );
    }
    if c.items_rejected > 0 {
        let _ = writeln!(
            out,
            "  rejected items {:>12}  (dead-lettered whole: unreadable, or not in the expected format)",
            c.items_rejected
        );
    }
    let rows = [
        ("collected", c.collected),
        ("stored", c.stored),
        ("skipped", c.skipped),
        ("dead-lettered", c.dead_lettered),
        ("failed", c.failed),
    ];
    for (name, value) in rows {
        let _ = writeln!(out, "  {name:<14} {value:>12}");
    }
    let check = if c.adds_up() { "ok" } else { "MISMATCH" };
    let _ = writeln!(
        out,
        "  {:<14} {:>12}  (collected = stored + skipped + dead-lettered + failed: {check})",
        "", ""
    );
    let _ = writeln!(out, "  retried        {:>12}", c.retried);
    let _ = writeln!(out, "  bytes read     {:>12}", c.bytes_read);
    out
}
