//! What a stream's producer writes into: server-sent events (`data:` lines, heartbeats
//! and the end marker) on the body of a streamed response ([`crate::pipeline::sse`]).

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::channel::{Channel, Sender};
use serde::Serialize;

pub type EventBody = Channel<Bytes, Infallible>;

/// The client has gone away: stop producing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gone;

pub struct EventSink {
    tx: Sender<Bytes, Infallible>,
    sent: usize,
}

impl EventSink {
    /// A sink writing into the stream whose body `tx` feeds.
    pub fn new(tx: Sender<Bytes, Infallible>) -> Self {
        Self { tx, sent: 0 }
    }
}

impl EventSink {
    /// `data: <json>` (one line: JSON never contains a raw newline).
    pub async fn data<T: Serialize>(&mut self, value: &T) -> Result<(), Gone> {
        let json = serde_json::to_string(value).map_err(|_| Gone)?;
        self.write(format!("data: {json}\n\n")).await?;
        self.sent += 1;
        Ok(())
    }

    /// A comment line: ignored by EventSource, keeps proxies and the client from
    /// timing the connection out.
    pub async fn heartbeat(&mut self) -> Result<(), Gone> {
        self.write(": keep-alive\n\n".to_owned()).await
    }

    /// The end marker.
    pub async fn done(&mut self) -> Result<(), Gone> {
        self.write("data: [DONE]\n\n".to_owned()).await
    }

    pub fn events_sent(&self) -> usize {
        self.sent
    }

    async fn write(&mut self, text: String) -> Result<(), Gone> {
        self.tx.send_data(Bytes::from(text)).await.map_err(|_| Gone)
    }
}
