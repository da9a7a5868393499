/**
 * The summary of a V8 CPU profile (the inspector's Profiler.stop answer, the .cpuprofile
 * format): the functions with the most samples on top of the stack (self) and anywhere on
 * it (total, each sample counted once per function however deep its recursion), the hottest
 * stacks, and the shares of idle, GC and program time. One pass over the nodes and one over
 * the samples: linear in the profile's size, no recursion (stacks can be thousands deep).
 */
import type { CpuSummary, FunctionTime, HotStack } from './schema.js';
import { percent } from '../percent.js';
import { hottestStacks, type StackLeaf } from './stacks.js';
import { LeadTally, STACK_FRAMES, frameText, nativeNote, ownerOf, siteKey, siteOf, siteText, type CallFrame, type Owner } from './sites.js';

export interface CpuProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
  /** The node's own samples by source line (1-based), where V8 recorded them. */
  positionTicks?: { line: number; ticks: number }[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** V8's pseudo-functions: not code of the service, shown as shares instead. */
const IDLE = '(idle)';
const GC = '(garbage collector)';
const PROGRAM = '(program)';
const ROOT = '(root)';
const SPECIAL = new Set([IDLE, GC, PROGRAM, ROOT]);

export function summarizeCpu(profile: CpuProfile, top: number, cwd: string): CpuSummary {
  const nodes = profile.nodes;
  const index = new Map<number, number>();
  nodes.forEach((n, i) => index.set(n.id, i));
  const parent = new Int32Array(nodes.length).fill(-1);
  nodes.forEach((n, i) => {
    for (const c of n.children ?? []) {
      const ci = index.get(c);
      if (ci !== undefined) parent[ci] = i;
    }
  });
  const self = new Float64Array(nodes.length);
  const samples = profile.samples ?? [];
  for (const id of samples) {
    const i = index.get(id);
    if (i !== undefined) self[i]!++;
  }
  const n = samples.length;
  const msPerSample = n > 0 ? (profile.endTime - profile.startTime) / 1000 / n : 0;
  const shareOf = (count: number): number => (n > 0 ? count / n : 0);

  // Nodes in an order where parents come before children (a preorder, iteratively).
  const order: number[] = [];
  const roots = nodes.map((_, i) => i).filter((i) => parent[i] === -1);
  const stack = [...roots];
  while (stack.length > 0) {
    const i = stack.pop()!;
    order.push(i);
    for (const c of nodes[i]!.children ?? []) {
      const ci = index.get(c);
      if (ci !== undefined) stack.push(ci);
    }
  }
  // Each node's owner for the headline (sites.ts), parents first: a native leaf's samples go
  // to the service's function that called into it (the top lists keep the leaf as it is).
  const owners: (Owner | undefined)[] = new Array(nodes.length);
  const lead = new LeadTally();
  for (const i of order) {
    const p = parent[i]!;
    const owner = ownerOf(nodes[i]!.callFrame, p >= 0 ? owners[p]! : null);
    owners[i] = owner;
    if (!SPECIAL.has(nodes[i]!.callFrame.functionName)) lead.add(nodes[i]!.callFrame, owner, self[i]!);
  }
  const subtree = Float64Array.from(self);
  for (let k = order.length - 1; k >= 0; k--) {
    const i = order[k]!;
    if (parent[i]! >= 0) subtree[parent[i]!]! += subtree[i]!;
  }

  const keys = nodes.map((node) => siteKey(node.callFrame));
  const selfByKey = new Map<string, number>();
  const totalByKey = new Map<string, number>();
  const frameOf = new Map<string, CallFrame>();
  /** Per function, its own samples by line: V8 charges a function it inlined to its caller, at the inlined code's lines. */
  const linesByKey = new Map<string, Map<number, number>>();
  let idle = 0;
  let gc = 0;
  let program = 0;
  // A node adds its subtree to its function's total unless an ancestor is the same function.
  const outermost = new Uint8Array(nodes.length);
  const depthOfKey = new Map<string, number>();
  const visit: [number, boolean][] = roots.map((i) => [i, false]);
  while (visit.length > 0) {
    const [i, leaving] = visit.pop()!;
    const key = keys[i]!;
    if (leaving) {
      const d = depthOfKey.get(key)! - 1;
      if (d === 0) depthOfKey.delete(key);
      else depthOfKey.set(key, d);
      continue;
    }
    outermost[i] = depthOfKey.has(key) ? 0 : 1;
    depthOfKey.set(key, (depthOfKey.get(key) ?? 0) + 1);
    visit.push([i, true]);
    for (const c of nodes[i]!.children ?? []) {
      const ci = index.get(c);
      if (ci !== undefined) visit.push([ci, false]);
    }
  }
  nodes.forEach((node, i) => {
    const name = node.callFrame.functionName;
    if (name === IDLE) idle += self[i]!;
    else if (name === GC) gc += self[i]!;
    else if (name === PROGRAM) program += self[i]!;
    if (SPECIAL.has(name)) return;
    const key = keys[i]!;
    frameOf.set(key, node.callFrame);
    selfByKey.set(key, (selfByKey.get(key) ?? 0) + self[i]!);
    for (const { line, ticks } of node.positionTicks ?? []) {
      let lines = linesByKey.get(key);
      if (!lines) linesByKey.set(key, (lines = new Map()));
      lines.set(line, (lines.get(line) ?? 0) + ticks);
    }
    if (outermost[i]) totalByKey.set(key, (totalByKey.get(key) ?? 0) + subtree[i]!);
  });

  const timeOf = (key: string): FunctionTime => {
    const s = selfByKey.get(key) ?? 0;
    const t = totalByKey.get(key) ?? 0;
    const hotLine = hottest(linesByKey.get(key));
    return { ...siteOf(frameOf.get(key)!, cwd), selfShare: shareOf(s), totalShare: shareOf(t), selfMs: round(s * msPerSample), totalMs: round(t * msPerSample), ...(hotLine ? { hotLine } : {}) };
  };
  const ranked = (by: Map<string, number>): FunctionTime[] =>
    [...by.entries()]
      .filter(([, v]) => v > 0)
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key]) => timeOf(key));

  // Each frame's text once per node: a leaf's stack reads up to STACK_FRAMES of its ancestors.
  const texts: (string | undefined)[] = new Array(nodes.length);
  const textOf = (j: number): string => (texts[j] ??= frameText(siteOf(nodes[j]!.callFrame, cwd)));
  const leaves: StackLeaf[] = [];
  nodes.forEach((node, i) => {
    if (!(self[i]! > 0) || SPECIAL.has(node.callFrame.functionName)) return;
    const frames: string[] = [];
    for (let j = i; j >= 0 && frames.length < STACK_FRAMES; j = parent[j]!) {
      if (nodes[j]!.callFrame.functionName !== ROOT) frames.push(textOf(j));
    }
    leaves.push({ weight: self[i]!, frames: frames.reverse() });
  });
  const stacks: HotStack[] = hottestStacks(leaves, Math.min(top, 5)).map(({ weight, frames }) => ({ share: shareOf(weight), ms: round(weight * msPerSample), frames }));

  return {
    kind: 'cpu',
    samples: n,
    idle: shareOf(idle),
    gc: shareOf(gc),
    program: shareOf(program),
    js: shareOf(n - idle - gc - program),
    topSelf: ranked(selfByKey),
    topTotal: ranked(totalByKey),
    stacks,
    ...optional(lead.lead(n, cwd)),
  };
}

/** `71% of samples in renderPlayerStats at src/stats.js:88 (self); idle 20%, GC 3%, program 2%`. */
export function cpuHeadline(s: CpuSummary): string {
  // As the capture's share line and a report's diagnosis say them (percent.ts).
  const [idle, gc, program] = [percent(s.idle), percent(s.gc), percent(s.program)];
  const shares = `idle ${idle}, GC ${gc}, program ${program}`;
  if (s.samples === 0) return 'no samples: the capture ended before the profiler took one';
  const top = s.topSelf[0];
  if (!top) return `no JavaScript on the stack in ${s.samples} samples; ${shares}`;
  // The site with native code under it charged to it (sites.ts); a summary kept before it was added has none.
  const first = s.lead ?? { ...top, share: top.selfShare };
  const self = [`self`, nativeNote(first)].filter(Boolean).join(', ');
  // A thread that mostly waited: its top function holds a sliver, and leading with it would
  // name a culprit where there is none (a slow answer then waits on I/O or other threads).
  if (s.idle >= IDLE_HEADLINE_SHARE) return `the main thread was idle in ${idle} of samples (its busiest function: ${percent(first.share)} in ${siteText(first)}, ${self}); GC ${gc}, program ${program}`;
  return `${percent(first.share)} of samples in ${siteText(first)} (${self}); ${shares}`;
}

/** The line with the most of a function's own samples, and its share of them (the lowest line of a tie). */
function hottest(lines: Map<number, number> | undefined): FunctionTime['hotLine'] | undefined {
  if (!lines) return undefined;
  let all = 0;
  let best = -1;
  let most = 0;
  for (const [line, ticks] of lines) {
    all += ticks;
    if (ticks > most || (ticks === most && line < best)) {
      best = line;
      most = ticks;
    }
  }
  return most > 0 ? { line: best, share: most / all } : undefined;
}

/** An idle share from which a capture's headline leads with it rather than with its top function. */
export const IDLE_HEADLINE_SHARE = 0.8;

const round = (x: number): number => Math.round(x * 10) / 10;

/** `{ lead }` when there is one, else nothing (the field is optional: no `lead: undefined` in the summary). */
export function optional<T>(lead: T | undefined): { lead?: T } {
  return lead === undefined ? {} : { lead };
}
