/**
 * A receiver's Retry-After (RFC 9110, section 10.2.3): how long it asks a sender to wait
 * after a 429 (RFC 6585) or a 503, as delay-seconds (`120`) or an HTTP-date (`Wed, 21 Oct
 * 2026 07:28:00 GMT`, or the obsolete RFC 850 and asctime forms, which all begin with the
 * day's name). A sender (an exporter, the alert notifier) waits that long when it is longer
 * than its own backoff, up to RETRY_AFTER_MAX_MS: a receiver cannot park one for hours.
 */

/** The longest wait a Retry-After can impose: 5 minutes. */
export const RETRY_AFTER_MAX_MS = 300_000;

const SECONDS = /^\d+$/;
/** An HTTP-date in any of its three forms starts with the day's name (`Sun,`, `Sunday,`, `Sun `). */
const HTTP_DATE = /^[A-Za-z]{3}/;

/** The wait asked for in ms (0 for a date already past), or undefined when there is none or it cannot be read. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (SECONDS.test(v)) return Number(v) * 1000;
  if (!HTTP_DATE.test(v)) return undefined;
  // asctime's form names no zone: it is GMT too, not the host's local time that Date.parse would take.
  const at = Date.parse(/GMT$/i.test(v) ? v : `${v} GMT`);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
