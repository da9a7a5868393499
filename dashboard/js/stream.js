// The event stream itself: an EventSource, opened again after a refusal. EventSource
// reconnects by itself after a drop, but gives up for good on any answer that is not a stream
// (503 while the server has maxEventStreams open, a proxy's 502 while the server restarts),
// and the page then polled until it was reloaded, though a place freed seconds later.

/** How long after a refusal the stream is asked for again: the server's Retry-After at its cap. */
const REFUSED_RETRY_MS = 5000;

/** Opens the stream at `url`: onEvent(name, text) for each of `events`, onState(open) as it connects or drops; returns close(). */
export function openStream(url, events, onEvent, onState) {
  let source = null;
  let retry = 0;
  const connect = () => {
    const es = new EventSource(url);
    source = es;
    es.onopen = () => onState(true);
    es.onerror = () => {
      onState(false);
      if (es.readyState === EventSource.CLOSED) retry = setTimeout(connect, REFUSED_RETRY_MS);
    };
    for (const name of events) es.addEventListener(name, (e) => onEvent(name, e.data));
  };
  connect();
  return () => {
    clearTimeout(retry);
    source.close();
  };
}
