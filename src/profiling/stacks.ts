/**
 * The hottest stacks of a profile as they are shown: their innermost STACK_FRAMES frames. Both
 * profile formats are trees, one node per whole call path, so a recursion's every depth, and
 * one leaf reached through callers that differ only beyond those frames, are nodes of their
 * own that read the same once cut: ranked node by node, a recursive fib() showed as three
 * identical lines of 2.6% each while that stack held 13% of the samples. So the stacks are
 * added up by what is shown before they are ranked.
 */
import { STACK_FRAMES } from './sites.js';

export interface StackLeaf {
  /** The node's own samples (cpu) or live sampled bytes (heap). */
  weight: number;
  /** Outermost first, the node itself last; only the innermost STACK_FRAMES are kept. */
  frames: string[];
}

/** The `count` heaviest stacks, each the sum of the leaves that show the same frames. */
export function hottestStacks(leaves: Iterable<StackLeaf>, count: number): StackLeaf[] {
  const byShown = new Map<string, StackLeaf>();
  for (const leaf of leaves) {
    if (!(leaf.weight > 0)) continue;
    const frames = leaf.frames.slice(-STACK_FRAMES);
    const key = frames.join('\u0000');
    const seen = byShown.get(key);
    if (seen) seen.weight += leaf.weight;
    else byShown.set(key, { weight: leaf.weight, frames });
  }
  return [...byShown.values()].sort((a, b) => b.weight - a.weight).slice(0, count);
}
