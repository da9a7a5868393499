/**
 * The summary of a V8 sampling heap profile (HeapProfiler.stopSampling's answer, the
 * .heapprofile format): the functions whose allocations are still live when the capture ends,
 * by sampled bytes, and the stacks that allocated the most. Live, not allocated: V8 drops the
 * samples of objects collected meanwhile, so what remains is what grows the heap.
 */
import type { AllocationSite, HeapSummary } from './schema.js';
import { percent } from '../percent.js';
import { optional } from './cpu-summary.js';
import { hottestStacks } from './stacks.js';
import { LeadTally, STACK_FRAMES, frameText, nativeNote, ownerOf, siteKey, siteOf, siteText, type CallFrame, type Owner } from './sites.js';

export interface HeapProfileNode {
  callFrame: CallFrame;
  selfSize: number;
  id: number;
  children: HeapProfileNode[];
}

export interface HeapProfile {
  head: HeapProfileNode;
  samples?: { size: number; nodeId: number; ordinal: number }[];
}

const ROOT = '(root)';

export function summarizeHeap(profile: HeapProfile, top: number, cwd: string): HeapSummary {
  const bytesByKey = new Map<string, number>();
  const frameOf = new Map<string, CallFrame>();
  const leaves: { node: HeapProfileNode; path: HeapProfileNode[] }[] = [];
  // A builtin's allocations (String.prototype.repeat's) go, for the headline, to the service's function that called it (sites.ts).
  const lead = new LeadTally();
  let liveBytes = 0;
  const visit: { node: HeapProfileNode; path: HeapProfileNode[]; caller: Owner | null }[] = [{ node: profile.head, path: [], caller: null }];
  while (visit.length > 0) {
    const { node, path, caller } = visit.pop()!;
    const here = node.callFrame.functionName === ROOT && path.length === 0 ? path : [...path.slice(-(STACK_FRAMES - 1)), node];
    const owner = ownerOf(node.callFrame, caller);
    lead.add(node.callFrame, owner, node.selfSize);
    if (node.selfSize > 0) {
      liveBytes += node.selfSize;
      const key = siteKey(node.callFrame);
      frameOf.set(key, node.callFrame);
      bytesByKey.set(key, (bytesByKey.get(key) ?? 0) + node.selfSize);
      leaves.push({ node, path: here });
    }
    for (const child of node.children) visit.push({ node: child, path: here, caller: owner });
  }
  const shareOf = (b: number): number => (liveBytes > 0 ? b / liveBytes : 0);
  const sites: AllocationSite[] = [...bytesByKey.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, bytes]) => ({ ...siteOf(frameOf.get(key)!, cwd), bytes, share: shareOf(bytes) }));
  // Each frame's text once per node: the leaves share their ancestors.
  const texts = new Map<HeapProfileNode, string>();
  const textOf = (p: HeapProfileNode): string => {
    let t = texts.get(p);
    if (t === undefined) texts.set(p, (t = frameText(siteOf(p.callFrame, cwd))));
    return t;
  };
  const stacks = hottestStacks(
    leaves.map(({ node, path }) => ({ weight: node.selfSize, frames: path.map(textOf) })),
    Math.min(top, 5),
  ).map(({ weight, frames }) => ({ bytes: weight, share: shareOf(weight), frames }));
  return { kind: 'heap', liveBytes, sites, stacks, ...optional(lead.lead(liveBytes, cwd)) };
}

/** `62% of live sampled bytes (4.1 MiB of 6.6 MiB) allocated in leakyCache at src/cache.js:12`. */
export function heapHeadline(s: HeapSummary): string {
  const top = s.sites[0];
  if (!top) return 'no sampled allocation still live at the end of the capture';
  // The site with the builtins it called charged to it (sites.ts); a summary kept before it was added has none.
  const first = s.lead ?? top;
  const bytes = s.lead ? Math.round(s.lead.share * s.liveBytes) : top.bytes;
  const native = s.lead ? nativeNote(s.lead) : undefined;
  return `${percent(first.share)} of live sampled bytes (${formatBytes(bytes)} of ${formatBytes(s.liveBytes)}) allocated in ${siteText(first)}${native ? ` (${native})` : ''}`;
}

/**
 * Bytes in binary units, named as such (MiB, KiB), as status and the docs name them: this
 * wrote `MB` and `KB` for MiB and KiB, 144.3 "MB" for 151.3 MB of bytes.
 */
export function formatBytes(b: number): string {
  if (b >= 1024 * 1024) return `${(b / 1024 / 1024).toFixed(1)} MiB`;
  if (b >= 1024) return `${(b / 1024).toFixed(1)} KiB`;
  return `${b} B`;
}
