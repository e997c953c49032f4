//! How changes travel: a broadcast channel for subscribers and a [`Notify`] for idle workers
//! in this process; on PostgreSQL also `NOTIFY` to other processes: the events on
//! `collectors_jobs`, heard only by a process that has subscribers, and a bare "a job is
//! due" on `collectors_jobs_due`, heard by a process whose workers wait. Each is heard by a
//! dedicated `LISTEN` connection, started on first need: a worker-only process does not
//! receive and parse every other process's events.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::AnyPool;
use tokio::sync::{Notify, broadcast};
use uuid::Uuid;

use super::{JobEvent, JobStatus};
use collectors_backends::any_db::{AnyLocation, Dialect};

/// Events a slow subscriber may fall behind by before it misses some (it then sees a
/// `Lagged` error and the newer ones).
const EVENT_CAPACITY: usize = 4096;

/// PostgreSQL refuses payloads of 8000 bytes or more: events are sent in batches below.
const PAYLOAD_BYTES: usize = 7000;

/// Messages are cut to this many characters in a notification.
pub(super) const MESSAGE_CHARS: usize = 300;

/// One notification: the events of one change, and which queue made them (a queue ignores
/// its own, which it already published).
#[derive(Debug, Serialize, Deserialize)]
struct Wire {
    origin: Uuid,
    events: Vec<JobEvent>,
}

/// Publishes this process's changes and, on PostgreSQL, hears other processes'.
pub(super) struct Notifier {
    events: broadcast::Sender<JobEvent>,
    wake: Arc<Notify>,
    origin: Uuid,
    dialect: Dialect,
    /// Other processes' events (for subscribers).
    #[cfg(feature = "postgres")]
    events_listener: listener::Listener,
    /// Other processes' "a job is due" (for waiting workers).
    #[cfg(feature = "postgres")]
    due_listener: listener::Listener,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("origin", &self.origin)
            .field("subscribers", &self.events.receiver_count())
            .finish_non_exhaustive()
    }
}

impl Notifier {
    pub(super) fn new(location: &AnyLocation) -> Self {
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        #[cfg(not(feature = "postgres"))]
        let _ = location;
        Self {
            events,
            wake: Arc::new(Notify::new()),
            origin: Uuid::new_v4(),
            dialect: location.dialect(),
            #[cfg(feature = "postgres")]
            events_listener: listener::Listener::new(location, listener::Heard::Events),
            #[cfg(feature = "postgres")]
            due_listener: listener::Listener::new(location, listener::Heard::Due),
        }
    }

    /// Publishes `events` in this process and, on PostgreSQL, to the others unless the
    /// statement that made them `notified` already. A notification that cannot be sent is
    /// logged: the change itself is committed, and other processes' workers still find it by
    /// polling.
    pub(super) async fn publish(&self, pool: &AnyPool, events: Vec<JobEvent>, notified: bool) {
        if events.is_empty() {
            return;
        }
        let pending = events.iter().any(|e| e.status == JobStatus::Pending);
        if self.dialect == Dialect::Postgres && !notified {
            for payload in payloads(self.origin, &events) {
                notify(pool, super::sql::CHANNEL, payload).await;
            }
            if pending {
                notify(pool, super::sql::DUE_CHANNEL, self.origin.to_string()).await;
            }
        }
        for event in events {
            // No subscriber is not an error.
            let _ = self.events.send(event);
        }
        if pending {
            self.wake();
        }
    }

    /// Wakes this process's idle workers: those waiting now, and the next one to wait (a
    /// worker between its empty claim and its wait would miss the change otherwise).
    pub(super) fn wake(&self) {
        wake(&self.wake);
    }

    /// The id other processes know this queue's notifications by.
    pub(super) fn origin(&self) -> Uuid {
        self.origin
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.events.subscribe()
    }

    /// Starts listening to other processes' events and due jobs (PostgreSQL; nothing to do
    /// on SQLite).
    pub(super) async fn listen(&self) -> collectors_core::Result<()> {
        self.listen_events().await?;
        self.listen_due().await
    }

    /// Starts listening to other processes' events.
    pub(super) async fn listen_events(&self) -> collectors_core::Result<()> {
        #[cfg(feature = "postgres")]
        {
            self.events_listener
                .start(self.events.clone(), self.wake.clone(), self.origin)
                .await?;
        }
        Ok(())
    }

    /// Starts listening to other processes' "a job is due".
    async fn listen_due(&self) -> collectors_core::Result<()> {
        #[cfg(feature = "postgres")]
        {
            self.due_listener
                .start(self.events.clone(), self.wake.clone(), self.origin)
                .await?;
        }
        Ok(())
    }

    /// Whether the `LISTEN` connection of the events still has to be started.
    pub(super) fn needs_listener(&self) -> bool {
        #[cfg(feature = "postgres")]
        {
            self.events_listener.needs_start()
        }
        #[cfg(not(feature = "postgres"))]
        {
            false
        }
    }

    /// Returns at the next wake-up or after `timeout`.
    pub(super) async fn wait(&self, timeout: Duration) {
        // Registered before listening starts, so that a wake-up meanwhile is not missed.
        let notified = self.wake.notified();
        let _ = tokio::time::timeout(timeout, async {
            if let Err(e) = self.listen_due().await {
                tracing::warn!(error = %e, "job queue: cannot LISTEN; polling instead");
            }
            notified.await;
        })
        .await;
    }
}

/// `NOTIFY channel, payload`. One that cannot be sent is logged: the change itself is
/// committed, and other processes still find it by polling.
async fn notify(pool: &AnyPool, channel: &str, payload: String) {
    let sent = sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload)
        .execute(pool)
        .await;
    if let Err(e) = sent {
        tracing::warn!(error = %e, channel, "job queue: NOTIFY failed; other processes will poll");
    }
}

fn wake(notify: &Notify) {
    notify.notify_waiters();
    notify.notify_one();
}

/// The notification payloads of `events`, each below PostgreSQL's limit.
fn payloads(origin: Uuid, events: &[JobEvent]) -> Vec<String> {
    let mut out = Vec::new();
    let mut batch: Vec<JobEvent> = Vec::new();
    let mut size = 0;
    for event in events {
        let mut event = event.clone();
        if let Some(message) = &mut event.message
            && message.chars().count() > MESSAGE_CHARS
        {
            *message = message.chars().take(MESSAGE_CHARS).collect::<String>() + "…";
        }
        let bytes = serde_json::to_string(&event).map_or(0, |s| s.len()) + 1;
        if !batch.is_empty() && size + bytes > PAYLOAD_BYTES {
            out.push(encode(origin, std::mem::take(&mut batch)));
            size = 0;
        }
        size += bytes;
        batch.push(event);
    }
    if !batch.is_empty() {
        out.push(encode(origin, batch));
    }
    out
}

fn encode(origin: Uuid, events: Vec<JobEvent>) -> String {
    serde_json::to_string(&Wire { origin, events }).unwrap_or_default()
}

#[cfg(feature = "postgres")]
mod listener {
    use std::sync::Arc;
    use std::time::Duration;

    use collectors_backends::any_db::AnyLocation;
    use collectors_core::{Error, Result};
    use sqlx::postgres::PgListener;
    use tokio::sync::{Notify, OnceCell, broadcast};
    use tokio::task::JoinHandle;
    use uuid::Uuid;

    use super::{JobEvent, JobStatus, Wire, wake};

    /// What a listener hears.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Heard {
        /// Other processes' events (`Wire` payloads).
        Events,
        /// Other processes' "a job is due" (their origin as the payload).
        Due,
    }

    impl Heard {
        fn channel(self) -> &'static str {
            match self {
                Self::Events => super::super::sql::CHANNEL,
                Self::Due => super::super::sql::DUE_CHANNEL,
            }
        }
    }

    /// One dedicated `LISTEN` connection of one queue, started once.
    pub(super) struct Listener {
        heard: Heard,
        /// The database URL (with its password: never shown).
        url: Option<String>,
        shown: String,
        task: OnceCell<ListenTask>,
    }

    /// Stops the listening task when the queue is dropped.
    struct ListenTask(JoinHandle<()>);

    impl Drop for ListenTask {
        fn drop(&mut self) {
            self.0.abort();
        }
    }

    impl Listener {
        pub(super) fn new(location: &AnyLocation, heard: Heard) -> Self {
            Self {
                heard,
                url: match location {
                    AnyLocation::Postgres(url) => Some(url.clone()),
                    AnyLocation::File(_) => None,
                },
                shown: location.shown(),
                task: OnceCell::new(),
            }
        }

        pub(super) fn needs_start(&self) -> bool {
            self.url.is_some() && !self.task.initialized()
        }

        pub(super) async fn start(
            &self,
            events: broadcast::Sender<JobEvent>,
            wake: Arc<Notify>,
            origin: Uuid,
        ) -> Result<()> {
            let Some(url) = &self.url else {
                return Ok(());
            };
            self.task
                .get_or_try_init(|| async {
                    let mut listener = PgListener::connect(url).await.map_err(|e| {
                        Error::connection(format!(
                            "job queue {}: cannot open the LISTEN connection: {}",
                            self.shown,
                            e.to_string().replace(url.as_str(), &self.shown)
                        ))
                    })?;
                    listener
                        .listen(self.heard.channel())
                        .await
                        .map_err(|e| {
                            Error::connection(format!(
                                "job queue {}: LISTEN failed: {e}",
                                self.shown
                            ))
                        })?;
                    tracing::debug!(database = %self.shown, channel = self.heard.channel(), "job queue: listening");
                    Ok::<_, Error>(ListenTask(tokio::spawn(listen(
                        listener, self.heard, events, wake, origin,
                    ))))
                })
                .await?;
            Ok(())
        }
    }

    async fn listen(
        mut listener: PgListener,
        heard: Heard,
        events: broadcast::Sender<JobEvent>,
        wake_up: Arc<Notify>,
        origin: Uuid,
    ) {
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) if heard == Heard::Due => {
                    if notification.payload() != origin.to_string() {
                        wake(&wake_up);
                    }
                }
                Ok(Some(notification)) => {
                    let wire: Wire = match serde_json::from_str(notification.payload()) {
                        Ok(wire) => wire,
                        Err(e) => {
                            tracing::warn!(error = %e, "job queue: a notification that is not ours");
                            continue;
                        }
                    };
                    if wire.origin == origin {
                        continue;
                    }
                    let pending = wire.events.iter().any(|e| e.status == JobStatus::Pending);
                    for event in wire.events {
                        let _ = events.send(event);
                    }
                    if pending {
                        wake(&wake_up);
                    }
                }
                // The connection was lost (it reconnects at the next call): notifications
                // may have been missed, so idle workers look for work now.
                Ok(None) => {
                    tracing::warn!("job queue: the LISTEN connection was lost; reconnecting");
                    wake(&wake_up);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "job queue: LISTEN failed; retrying in 1 s");
                    wake(&wake_up);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_stay_below_the_postgres_limit() {
        let events: Vec<JobEvent> = (0..500)
            .map(|i| JobEvent {
                id: Uuid::new_v4(),
                status: JobStatus::Pending,
                progress: f64::from(i),
                message: Some("x".repeat(1000)),
            })
            .collect();
        let origin = Uuid::new_v4();
        let payloads = payloads(origin, &events);
        assert!(payloads.len() > 1);
        let mut seen = 0;
        for payload in &payloads {
            assert!(payload.len() < 8000, "{}", payload.len());
            let wire: Wire = serde_json::from_str(payload).unwrap();
            assert_eq!(wire.origin, origin);
            seen += wire.events.len();
        }
        assert_eq!(seen, events.len());
    }
}
