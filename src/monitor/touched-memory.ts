/**
 * The store's memory touched (engine/store/usage.ts), read again only when the store may have
 * changed. The walk reads a word of every recorded series' slot, a page apart each: 15-20 ms
 * of the host's main thread at 100,000 series, at every status() (the dashboard's
 * /api/status, get_monitoring_status) and every overhead check, though an idle service's
 * store had not moved since the last one.
 *
 * What moves a series' reach is the collector's alone, and it bumps a control cell after each
 * kind of write: DRAIN_EPOCH after a drain that applied samples and after each bucket
 * boundary (closes and rollups), APPLIED_EPOCH after a hub batch, STARTED_AT for a new
 * collector (whose recovery writes). The key is read before the walk, so a write the walk
 * half saw bumps it after and the next call walks again: a cached figure is never older than
 * the collector's last finished write. flush() returns after the drain's bump, so a status()
 * after it counts what it applied (test/monitor.test.ts).
 */
import { APPLIED_EPOCH, DRAIN_EPOCH, INGESTED, STARTED_AT, type ControlViews } from '../engine/control.js';
import type { StoreReader } from '../engine/store/reader.js';
import { touchedBytes } from '../engine/store/usage.js';

export class TouchedMemory {
  private readonly key = new Float64Array(6).fill(Number.NaN);
  private bytes = 0;

  constructor(
    private readonly reader: StoreReader,
    private readonly ctl: ControlViews,
  ) {}

  /** touchedBytes(reader, seriesCount, sketchPagesPeak), walked again only when its key moved. */
  read(seriesCount: number, sketchPagesPeak: number): number {
    const { i32, f64 } = this.ctl;
    const k = this.key;
    const drain = Atomics.load(i32, DRAIN_EPOCH);
    const applied = Atomics.load(i32, APPLIED_EPOCH);
    const ingested = f64[INGESTED]!;
    const started = f64[STARTED_AT]!;
    if (k[0] === drain && k[1] === applied && k[2] === ingested && k[3] === started && k[4] === seriesCount && k[5] === sketchPagesPeak) return this.bytes;
    this.bytes = touchedBytes(this.reader, seriesCount, sketchPagesPeak);
    k[0] = drain;
    k[1] = applied;
    k[2] = ingested;
    k[3] = started;
    k[4] = seriesCount;
    k[5] = sketchPagesPeak;
    return this.bytes;
  }
}
