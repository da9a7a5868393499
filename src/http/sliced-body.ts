/**
 * A /metrics body written a slice at a time, each slice after the socket drained the one
 * before. Written whole, a body is one write whose progress shows nowhere until the last byte
 * is sent, so a client that stopped reading could not be told from one that reads slowly, and
 * it kept its body (up to maxMetricsBytes) for as long as its connection stayed open. In
 * slices, each 'drain' is progress that the stall watch (mcp/stall-watch.ts) sees: a response
 * that waits for a drain for responseStallMs has its connection closed and its body let go.
 */
import type { ServerResponse } from 'node:http';

/** 1 MiB: a body under it is one write, as before; loopback and a LAN drain it in a few ms. */
export const BODY_SLICE = 1024 * 1024;

export function writeSliced(res: ServerResponse, body: Uint8Array, slice = BODY_SLICE): void {
  let at = 0;
  const next = (): void => {
    while (body.byteLength - at > slice) {
      const chunk = body.subarray(at, at + slice);
      at += slice;
      if (!res.write(chunk)) {
        res.once('drain', next);
        return;
      }
    }
    res.end(body.subarray(at));
  };
  next();
}
