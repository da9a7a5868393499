/**
 * The store's memory touched (engine/store/usage.ts), in O(1) on the host's main thread.
 * Walking every recorded series' slot for it, a page apart each, held the thread 12-19 ms at
 * 100,000 series at each status() (the dashboard's /api/status, get_monitoring_status) and
 * each overhead check of a service whose collector wrote since the last one, as a busy
 * service's does every second.
 *
 * What moves a series' reach is the collector's alone, and it counts the series slots' pages
 * its writes reach as it writes them (engine/store/touched-pages.ts), into the control cell
 * STORE_PAGES before each epoch bump that tells readers of a write: a figure read here is
 * never older than the collector's last finished write, and flush() returns after the
 * drain's bump, so a status() after it counts what it applied (test/monitor.test.ts). A
 * collector killed between a write and its count leaves the figure short until its
 * successor's start counts every series anew.
 */
import { STORE_PAGES, type ControlViews } from '../engine/control.js';
import type { StoreReader } from '../engine/store/reader.js';
import { touchedBytesOf } from '../engine/store/usage.js';

export class TouchedMemory {
  constructor(
    private readonly reader: StoreReader,
    private readonly ctl: ControlViews,
  ) {}

  /** touchedBytes(reader, seriesCount, sketchPagesPeak), its series' part from the collector's count. */
  read(seriesCount: number, sketchPagesPeak: number): number {
    return touchedBytesOf(this.reader, seriesCount, sketchPagesPeak, this.ctl.f64[STORE_PAGES]!);
  }
}
