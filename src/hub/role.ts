/**
 * The monitor's side of a hub link, from its `hub` option: a Hub (listen, or the primary of a
 * node:cluster) or a HubMember (connect, or a cluster worker), with its own metrics
 * (monitor_hub_*) recorded every interval.
 */
import cluster from 'node:cluster';
import type { AppliedBuckets } from '../engine/engine.js';
import { clearInterval, setInterval } from '../engine/real-timers.js';
import type { Registry } from '../engine/registry.js';
import type { StoreReader } from '../engine/store/reader.js';
import { ClusterHub, ClusterMember } from './cluster-ipc.js';
import type { HubSeq, SeqDisk } from './durable.js';
import { Hub, type HubStatus } from './hub.js';
import { HubMember, type MemberLinkStatus } from './member.js';
import type { ResolvedHubOptions } from './options.js';
import { SocketHub, SocketMember } from './socket.js';

export type HubLinkStatus = HubStatus | MemberLinkStatus;

/** The monitor's own hub metrics, with their kinds (see monitor/own.ts). */
export const HUB_METRICS = [
  { name: 'monitor_hub_sent', kind: 'counter', unit: 'count' },
  { name: 'monitor_hub_failed', kind: 'counter', unit: 'count' },
  { name: 'monitor_hub_dropped', kind: 'counter', unit: 'count' },
  { name: 'monitor_hub_queue_depth', kind: 'gauge', unit: 'count' },
  { name: 'monitor_hub_lag', kind: 'gauge', unit: 'ms' },
  { name: 'monitor_hub_members', kind: 'gauge', unit: 'count' },
  { name: 'monitor_hub_malformed', kind: 'counter', unit: 'count' },
] as const;

export interface HubRoleDeps {
  registry: Registry;
  reader: StoreReader;
  intervalMs: number;
  apply(batch: AppliedBuckets): Promise<number>;
  fault(kind: string, error: unknown): void;
  /** The monitor's clock (HubDeps.clock, MemberDeps.clock); a hub: where its turn read its links through (HubDeps.readTo). */
  clock(): number;
  readTo(at: number): void;
  record(name: string, value: number, tags?: Record<string, string>): void;
  /** A member's own series that travel with the application's (MemberDeps.perProcess). */
  perProcess: ReadonlySet<string>;
  /** A member: when its monitor started watching (MemberDeps.watchedFrom). */
  watchedFrom(): number;
  /** A member: where its collector's closes reached (MemberDeps.closedTo). */
  closedTo(): number;
  /** The hub's store goes to disk (storage 'sqlite'): the hub drives the flushes and acknowledges after them. */
  disk?: SeqDisk;
  /** The `instance` label this process's exporters push its series under (HubDeps.exportInstance); none without an exporter. */
  exportInstance?: string;
}

export interface HubRole {
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): HubLinkStatus;
  /** A hub with a disk: a flush between its applies, the open minutes as rows (Monitor.flushStorage); undefined otherwise. */
  flushStorage?(): Promise<boolean>;
  /** A hub with a disk, once stopped: the numbers its store's last flush writes, or null when no flush may write the store (Hub.lastSeqs). */
  lastSeqs?(): HubSeq[] | null;
}

/** Whether these options make this process the hub (else a member). */
export function isHubSide(o: ResolvedHubOptions): boolean {
  return o.listen !== undefined || (o.cluster === true && cluster.isPrimary);
}

export function hubRole(o: ResolvedHubOptions, d: HubRoleDeps): HubRole {
  return isHubSide(o) ? hubSide(o, d) : memberSide(o, d);
}

function hubSide(o: ResolvedHubOptions, d: HubRoleDeps): HubRole {
  const bounds = { maxConnections: o.maxConnections, helloTimeoutMs: o.helloTimeoutMs };
  const transport = o.listen !== undefined ? new SocketHub(o.listen, o.maxFrameBytes, bounds) : new ClusterHub(o.maxFrameBytes, bounds);
  const hub = new Hub({ registry: d.registry, intervalMs: d.intervalMs, transport, options: o, apply: d.apply, fault: d.fault, clock: d.clock, readTo: d.readTo, ...(d.disk ? { disk: d.disk } : {}), ...(d.exportInstance !== undefined ? { exportInstance: d.exportInstance } : {}) });
  let seen = { buckets: 0, failed: 0, dropped: 0, malformed: 0 };
  const readings = (): void => {
    const s = hub.status();
    const now = { buckets: 0, failed: 0, dropped: 0, malformed: s.malformed };
    let queue = 0;
    let lag = 0;
    for (const m of s.members) {
      now.buckets += m.buckets;
      now.failed += m.failed;
      now.dropped += m.dropped;
      queue += m.queueDepth;
      // A member stopped cleanly has no lag (null): members shutting down do not raise the gauge.
      lag = Math.max(lag, m.lagMs ?? 0);
    }
    // Members come and go, so totals can fall: a counter records only the rises.
    d.record('monitor_hub_sent', Math.max(0, now.buckets - seen.buckets));
    d.record('monitor_hub_failed', Math.max(0, now.failed - seen.failed));
    d.record('monitor_hub_dropped', Math.max(0, now.dropped - seen.dropped));
    d.record('monitor_hub_malformed', Math.max(0, now.malformed - seen.malformed));
    d.record('monitor_hub_queue_depth', queue);
    d.record('monitor_hub_lag', lag);
    d.record('monitor_hub_members', s.members.filter((m) => m.state === 'live').length, { state: 'live' });
    d.record('monitor_hub_members', s.members.filter((m) => m.state === 'stale').length, { state: 'stale' });
    d.record('monitor_hub_members', s.members.filter((m) => m.state === 'stopped').length, { state: 'stopped' });
    seen = now;
  };
  const role = withReadings(hub, readings, d.intervalMs);
  return d.disk ? { ...role, flushStorage: () => hub.flushDisk(true), lastSeqs: () => hub.lastSeqs() } : role;
}

function memberSide(o: ResolvedHubOptions, d: HubRoleDeps): HubRole {
  const transport = o.connect !== undefined ? new SocketMember(o.connect, o.maxFrameBytes, o.retryMaxMs) : new ClusterMember(o.maxFrameBytes, o.retryMaxMs);
  const member = new HubMember({ registry: d.registry, reader: d.reader, intervalMs: d.intervalMs, transport, options: o, perProcess: d.perProcess, watchedFrom: d.watchedFrom, closedTo: d.closedTo, clock: d.clock });
  let seen = { sent: 0, failed: 0, dropped: 0 };
  const readings = (): void => {
    const s = member.status();
    d.record('monitor_hub_sent', s.sent - seen.sent);
    d.record('monitor_hub_failed', s.failed - seen.failed);
    d.record('monitor_hub_dropped', s.dropped - seen.dropped);
    d.record('monitor_hub_queue_depth', s.queueDepth);
    d.record('monitor_hub_lag', s.lagMs);
    seen = { sent: s.sent, failed: s.failed, dropped: s.dropped };
  };
  return withReadings(member, readings, d.intervalMs);
}

/** A side of the link that records its own metrics (`readings`) once an interval while it runs. */
function withReadings(side: { start(): unknown; stop(): Promise<void>; status(): HubLinkStatus }, readings: () => void, intervalMs: number): HubRole {
  let timer: NodeJS.Timeout | undefined;
  return {
    async start() {
      await side.start();
      timer = setInterval(readings, intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await side.stop();
    },
    status: () => side.status(),
  };
}
