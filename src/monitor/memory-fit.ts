/**
 * Options sized to the memory the process may use. The defaults (10,000 series, 104 MiB of
 * sketch buffers: about 0.6 GB reserved, most of it written once every series has filled
 * its rings) suit a machine; in a container whose cgroup allows less, the monitor's own
 * store alone could grow past the limit and have the kernel kill the service. So under a
 * cgroup's limit (memory-limit.ts) the sizes a caller did not give (maxSeries and the sketch buffers) shrink together until the
 * buffers fit in about a quarter of the limit (the monitor's own series and the rings do not
 * shrink); the ones given are taken as they are, and
 * allocateBuffers refuses them when they do not fit in the whole limit. Without a cgroup
 * limit nothing is scaled: the machine's memory only bounds the check, as it always did (a
 * caller's rawCapacity of 65,536 is refused there, not met with a maxSeries of 16).
 */
import { MACHINE, memoryLimit, type MemoryLimit } from '../engine/memory-limit.js';
import { buffersBytes } from './buffers.js';
import { resolveOptions, type MonitorOptions, type ResolvedOptions } from './options.js';

/** The share of the memory limit the monitor's buffers take when their sizes are not given. */
export const DEFAULT_SHARE = 0.25;

const MiB = 1024 * 1024;

/** The sizes that shrink: each with its least value (the option's lower bound) and its unit. */
const SCALED = [
  { option: 'maxSeries', least: 16, unit: 1 },
  { option: 'sketchLogBytes', least: MiB, unit: MiB },
  { option: 'rollupLogBytes', least: MiB, unit: MiB },
  { option: 'sketchPoolBytes', least: MiB, unit: MiB },
] as const;

export interface MemoryFit extends MemoryLimit {
  /**
   * The factor the sizes not given were scaled by to fit DEFAULT_SHARE of a cgroup's limit:
   * 1 when they fit as they are, every one was given, or no cgroup limits the process.
   */
  scale: number;
}

/** Resolves options as resolveOptions does, then sizes the ones not given to the memory limit. */
export function resolveForMemory(options: MonitorOptions | undefined, limit: MemoryLimit = memoryLimit()): { options: ResolvedOptions; memory: MemoryFit } {
  const o = resolveOptions(options);
  const open = SCALED.filter((s) => options?.[s.option] === undefined);
  const scale = open.length === 0 || limit.source === MACHINE ? 1 : Math.min(1, (limit.bytes * DEFAULT_SHARE) / buffersBytes(o));
  if (scale < 1) {
    for (const s of open) o[s.option] = Math.max(s.least, Math.floor((o[s.option] * scale) / s.unit) * s.unit);
  }
  return { options: o, memory: { ...limit, scale } };
}
