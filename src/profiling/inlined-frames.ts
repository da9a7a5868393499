/**
 * A capture's frames for functions V8 inlined. In optimized code, V8 charges a sample taken in
 * an inlined function to that function only where the code keeps detailed source positions:
 * code optimized while a CPU profiler runs does, code optimized before does not, unless the
 * process runs with --detailed-line-info. A capture on alert or on demand starts long after a
 * service's hot code was optimized, so its samples in small hot functions (inlined into their
 * callers, as small functions are) went to their callers: a 1 s capture after 3 s of a small
 * spinning function called from another named the caller, with all of the time.
 *
 * So a monitor sets --detailed-line-info at its start (profiling.inlinedFrames, default true):
 * the code V8 optimizes from then on keeps the positions, at the cost of their tables in
 * memory; code optimized before keeps none until V8 optimizes it again. Setting it is the
 * documented v8.setFlagsFromString; it changes only what optimized code records, never what
 * it does.
 */
import { setFlagsFromString } from 'node:v8';

let kept = false;

/** Has V8 keep inlined functions' positions in the code it optimizes from now on (once a process). */
export function keepInlinedFrames(): void {
  if (kept) return;
  kept = true;
  setFlagsFromString('--detailed-line-info');
}
