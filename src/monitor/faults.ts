/**
 * Faults of the monitor's own work: what it runs on its own in the host process (the GC
 * observer, the runtime sampler, its timer, the actors' callbacks, the watchdog link) must
 * never throw into the host. Such errors come here instead: counted by kind (status and the
 * `monitor_faults{kind}` metric), and logged once per kind as a process warning (stderr by
 * default; a host can listen to 'warning'), so a fault that repeats every millisecond does
 * not flood the log.
 */
import { wallNow } from '../engine/real-timers.js';

/**
 * A fault's message at most, in UTF-16 units: a message made of a series' tags (64 of 4,096
 * characters, within the limits) was 786 KB, warned to stderr and kept in status(). The middle
 * is cut, as there the series sits between what happened and what to do.
 */
export const FAULT_MESSAGE_MOST = 2000;
const HEAD = 1200;

/** `message` within FAULT_MESSAGE_MOST, its middle cut and said so; a surrogate pair is not split. */
export function boundedMessage(message: string): string {
  if (message.length <= FAULT_MESSAGE_MOST) return message;
  const mark = (n: number): string => `… (${n} characters cut) …`;
  const tail = FAULT_MESSAGE_MOST - HEAD - mark(message.length).length;
  let head = HEAD;
  if (/[\uD800-\uDBFF]/.test(message[head - 1]!)) head--;
  let from = message.length - tail;
  if (/[\uDC00-\uDFFF]/.test(message[from]!)) from++;
  return `${message.slice(0, head)}${mark(from - head)}${message.slice(from)}`;
}

export interface FaultRecord {
  count: number;
  lastMessage: string;
  lastAt: number;
}

export interface FaultStatus {
  total: number;
  byKind: Record<string, FaultRecord>;
  /** The kind reported last, or null: faults in the same millisecond have the same lastAt. */
  newest: string | null;
}

export class Faults {
  private readonly kinds = new Map<string, FaultRecord>();
  private total = 0;
  private newest: string | null = null;
  private readonly onFault: (kind: string) => void;
  private readonly now: () => number;

  /**
   * `onFault` records the metric; it is guarded too, and its own failure is only counted.
   * `now`: the monitor's clock, which the rest of status is in: with Date.now(), a fault's
   * lastAt after a step back of the wall clock was that far behind, and the MCP status said
   * the newest fault came 600 s ago when it had just come.
   */
  constructor(onFault: (kind: string) => void, now: () => number = wallNow) {
    this.onFault = onFault;
    this.now = now;
  }

  /**
   * `metric` false: not recorded in monitor_faults, for a fault whose own metric says it (samples
   * dropped at full rings: monitor_dropped), where the sample would go into the ring that is full.
   */
  report(kind: string, error: unknown, metric = true): void {
    const message = boundedMessage(error instanceof Error ? error.message : String(error));
    let record = this.kinds.get(kind);
    if (record === undefined) {
      record = { count: 0, lastMessage: message, lastAt: 0 };
      this.kinds.set(kind, record);
      process.emitWarning(`perfwatch: ${kind}: ${message} (counted in status().faults; logged once per kind)`, { code: 'PERFWATCH_FAULT' });
    }
    record.count++;
    record.lastMessage = message;
    record.lastAt = this.now();
    this.total++;
    this.newest = kind;
    if (!metric) return;
    try {
      this.onFault(kind);
    } catch {
      // the metric could not be recorded (the monitor is stopping): the count above stands
    }
  }

  /** Runs `fn`, turning an error into a fault of `kind`; returns undefined then. */
  guard<T>(kind: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (error) {
      this.report(kind, error);
      return undefined;
    }
  }

  status(): FaultStatus {
    const byKind: Record<string, FaultRecord> = {};
    for (const [kind, record] of this.kinds) byKind[kind] = { ...record };
    return { total: this.total, byKind, newest: this.newest };
  }
}
