//! `GET /api/ws`: `etl_update` messages on every status change and progress update.
//!
//! Messages from the client (JSON): `{"type": "subscribe", "result_id": …}` and
//! `{"type": "unsubscribe", "result_id": …}` narrow the updates to some results (none: all);
//! `{"type": "get_state", "result_id": …}` answers `{"type": "state", "result": …}` with the
//! current state, for a client that reconnects. A client that falls behind the updates, or
//! does not read for 10 s, is disconnected: it can never stall the workers, which only ever
//! publish to a bounded broadcast channel.

use std::collections::HashSet;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::etl::ProcessingResult;
use super::extract::ApiQuery;
use crate::error::ApiError;
use crate::jobs::{JobEvent, JobStatus};
use crate::state::AppState;

/// How long one send may take before the client is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// An update pushed to clients.
#[derive(Debug, Serialize, ToSchema)]
pub struct EtlUpdate {
    /// `etl_update`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The result that changed.
    pub result_id: Uuid,
    /// Its status.
    pub status: JobStatus,
    /// Its progress, 0 to 100.
    pub progress: f64,
    /// Its last message.
    pub message: Option<String>,
}

impl From<JobEvent> for EtlUpdate {
    fn from(event: JobEvent) -> Self {
        Self {
            kind: "etl_update",
            result_id: event.id,
            status: event.status,
            progress: event.progress,
            message: event.message,
        }
    }
}

/// A message from the client.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Subscribe { result_id: Uuid },
    Unsubscribe { result_id: Uuid },
    GetState { result_id: Uuid },
}

/// Which results to follow from the start.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct WsQuery {
    /// Only updates of this result.
    pub result_id: Option<Uuid>,
    /// The bearer token, for clients that cannot set headers (browsers); checked by the
    /// auth middleware.
    #[allow(dead_code)]
    pub token: Option<String>,
}

/// Opens the update stream (WebSocket).
#[utoipa::path(get, path = "/api/ws", tag = "etl", params(WsQuery),
    responses((status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn updates(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<WsQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade = upgrade.map_err(|e| ApiError::bad_request(e.body_text()))?;
    Ok(upgrade.on_upgrade(move |socket| follow(state, socket, query.result_id)))
}

async fn follow(state: AppState, mut socket: WebSocket, first: Option<Uuid>) {
    let mut events = state.queue.subscribe();
    let mut only: HashSet<Uuid> = first.into_iter().collect();
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) => {
                    if !only.is_empty() && !only.contains(&event.id) {
                        continue;
                    }
                    if !send(&mut socket, &EtlUpdate::from(event)).await {
                        return;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::info!(missed, "a WebSocket client fell behind: disconnected");
                    let frame = CloseFrame {
                        code: 1013,
                        reason: "too slow: reconnect and ask for the current state".into(),
                    };
                    socket.send(Message::Close(Some(frame))).await.ok();
                    return;
                }
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => {
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                let reply = match serde_json::from_str::<ClientMessage>(&text) {
                    Ok(ClientMessage::Subscribe { result_id }) => {
                        only.insert(result_id);
                        continue;
                    }
                    Ok(ClientMessage::Unsubscribe { result_id }) => {
                        only.remove(&result_id);
                        continue;
                    }
                    Ok(ClientMessage::GetState { result_id }) => match state.queue.get(result_id).await {
                        Ok(job) => serde_json::json!({"type": "state", "result": ProcessingResult::from(job)}),
                        Err(e) => serde_json::json!({"type": "error", "message": ApiError::from(e).to_string()}),
                    },
                    Err(e) => serde_json::json!({"type": "error", "message": format!("a bad message: {e}")}),
                };
                if !send(&mut socket, &reply).await {
                    return;
                }
            }
        }
    }
}

/// Sends `message`; `false` when the client is gone or too slow to take it.
async fn send(socket: &mut WebSocket, message: &impl Serialize) -> bool {
    let Ok(text) = serde_json::to_string(message) else {
        return false;
    };
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await,
        Ok(Ok(()))
    )
}
