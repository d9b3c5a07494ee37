"use client";

import type { Schema } from "@supa-lambda/client";
import { useEffect, useRef, useState } from "react";

/** Watches the API's progress events through this app's /api/stream route handler. */
export function StreamWatcher() {
  const [events, setEvents] = useState<Schema<"StreamProgress">[]>([]);
  const [status, setStatus] = useState("");
  const source = useRef<EventSource | null>(null);
  useEffect(() => () => source.current?.close(), []);

  function watch() {
    source.current?.close();
    setEvents([]);
    setStatus("Connecting…");
    const es = new EventSource("/api/stream?count=5&intervalMs=200");
    source.current = es;
    let finished = false;
    es.onmessage = (message: MessageEvent<string>) => {
      if (message.data === "[DONE]") {
        finished = true;
        es.close();
        setStatus("Done");
        return;
      }
      setStatus("Streaming…");
      setEvents((seen) => [...seen, JSON.parse(message.data) as Schema<"StreamProgress">]);
    };
    es.onerror = () => {
      es.close();
      if (!finished) setStatus("The stream failed (signed in?)");
    };
  }

  return (
    <>
      <button type="button" onClick={watch} data-testid="watch">
        Watch 5 events
      </button>
      <p data-testid="stream-status">{status}</p>
      <ol>
        {events.map((e) => (
          <li key={e.seq} data-testid="event">
            {e.seq} of {e.total} at {e.at}
          </li>
        ))}
      </ol>
    </>
  );
}
