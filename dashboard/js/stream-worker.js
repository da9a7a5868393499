// One event stream for every tab of the dashboard a browser has open on this server, held by
// a SharedWorker: a browser opens at most six connections to a server over HTTP/1.1, and a
// stream holds one for as long as its tab is open, so six tabs with a stream each left none
// for their reads, and a seventh tab never loaded. The tabs subscribe (api.js); the worker
// opens the stream the first one asks for, passes each event and each change of its state to
// every tab subscribed, and closes it when the last one leaves (the browser ends the worker
// with its last tab anyway).

import { openStream } from './stream.js';

/** The subscribed tabs' ports. */
const ports = new Set();
/** Closes the stream; null while there is none. */
let close = null;
let open = false;

function tell(message) {
  for (const port of ports) port.postMessage(message);
}

function start(url, events) {
  const onEvent = (name, data) => tell({ type: 'event', name, data });
  const onState = (state) => {
    open = state;
    tell({ type: 'state', open });
  };
  close = openStream(url, events, onEvent, onState);
}

self.onconnect = (e) => {
  const port = e.ports[0];
  port.onmessage = ({ data }) => {
    if (data.type === 'subscribe') {
      ports.add(port);
      if (close === null) start(data.url, data.events);
      port.postMessage({ type: 'state', open });
    } else if (data.type === 'leave') {
      // A tab closed, or put in the back/forward cache (it subscribes again when shown).
      ports.delete(port);
      if (ports.size > 0) return;
      close?.();
      close = null;
      open = false;
    }
  };
};
