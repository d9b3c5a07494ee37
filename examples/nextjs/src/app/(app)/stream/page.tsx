import { StreamWatcher } from "./stream-watcher";

export default function StreamPage() {
  return (
    <section>
      <h2>Server-sent events</h2>
      <StreamWatcher />
    </section>
  );
}
