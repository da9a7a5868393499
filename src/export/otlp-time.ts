/**
 * OTLP's times: nanoseconds since the epoch, a 64-bit integer. A time in ms (the monitor's
 * clock, which may carry a fraction of a ms) times 1e6 is about 1.8e18, past 2^53: as a
 * double it is rounded to a multiple of 256 ns, which put a stale point meant for the ms after
 * the last value up to 128 ns early, in the ms of that value. So the whole ms and the fraction
 * are converted apart, each exactly, and the ns summed as integers. The value points (through
 * the official serializer, as an HrTime) and the stale points (through otlp-proto.ts, as 64-bit
 * parts) take their times from hrTime() here, so the same ms is the same ns in both.
 */
import type { HrTime } from '@opentelemetry/api';

const NS_PER_MS = 1_000_000;
const NS_PER_S = 1_000_000_000;

/** A time in ms as [seconds, nanoseconds]: exact for a whole ms, a fraction to the nearest ns. */
export function hrTime(ms: number): HrTime {
  const whole = Math.floor(ms);
  const s = Math.floor(whole / 1000);
  // Both terms are integers below 2^53: (whole - s*1000) is 0..999, the fraction's ns 0..1e6.
  const ns = (whole - s * 1000) * NS_PER_MS + Math.round((ms - whole) * NS_PER_MS);
  // A fraction that rounds up to the next ms may carry into the next second.
  return ns >= NS_PER_S ? [s + 1, ns - NS_PER_S] : [s, ns];
}

/** Nanoseconds since the epoch of a time in ms, exact (the sum hrTime's parts stand for). */
export function nanos(ms: number): bigint {
  const [s, ns] = hrTime(ms);
  return BigInt(s) * BigInt(NS_PER_S) + BigInt(ns);
}

/** Nanoseconds since the epoch of a time in ms, as the 64-bit parts protobufjs writes exactly (a number past 2^53 would be rounded). */
export function unixNano(ms: number): { low: number; high: number; unsigned: true } {
  const ns = nanos(ms);
  return { low: Number(ns & 0xffffffffn), high: Number(ns >> 32n), unsigned: true };
}
