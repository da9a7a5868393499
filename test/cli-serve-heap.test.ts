/**
 * `perfwatch serve`'s table shows the heap's share of its limit (heap_usage) beside its MiB, as
 * the dashboard and /metrics do: MiB alone does not say how near the process is to an
 * out-of-memory end (100 MiB is little under a 4 GiB limit, all of a 128 MiB one).
 */
import { expect, it } from 'vitest';
import { tableRow } from '../dist/src/cli/serve.js';
import { monitorStarter, waitFor } from './helpers.js';

const started = monitorStarter();

it("shows the heap's % of its limit in the serve table, beside its MiB", async () => {
  const m = await started({ storage: 'memory', runtime: { enabled: true } });
  const usage = await waitFor(() => m.getMetrics({ names: ['heap_usage'], windowSeconds: 10 })[0]?.value ?? undefined, 30_000, 'a heap_usage reading');
  expect(usage).toBeGreaterThan(0);
  const cells = tableRow(m).trim().split(/ +/);
  // time UTC, cpu %, mem %, disk %, net KiB/s, loop p99 ms, heap MiB, heap %, ingest/s, app series, dropped
  expect(cells).toHaveLength(11);
  expect(cells[7]).toMatch(/^\d+\.\d$/);
  const heapPercent = Number(cells[7]);
  expect(heapPercent).toBeGreaterThan(0);
  expect(heapPercent).toBeLessThanOrEqual(100);
});
