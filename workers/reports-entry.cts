/**
 * The report pool's file as piscina loads it. piscina require()s its task file, and Node 20's
 * require() of an ES module aborts the whole process when the thread is terminated while Node
 * links that module: `ModuleWrap::InstantiateSync` goes on to ask a module it did not
 * instantiate whether its graph is async, and V8 answers with a fatal error (`FATAL ERROR:
 * v8::Module::IsGraphAsync must be used on an instantiated module`, SIGABRT). A stop() while a
 * report thread was starting ended the host that way (test/report-thread-start.test.ts). So
 * the pool's file is this CommonJS one, and it loads the task's ES module (workers/reports.ts)
 * with import(), which a termination only stops.
 *
 * What it exports is that load, a promise of the task function: piscina awaits it before the
 * thread takes a task, as it awaited the module's own load, so a load that fails (EMFILE: the
 * host out of file descriptors) still ends the thread at its start, and the pool says so.
 */
import type { ReportTask, ReportTaskResult } from '../src/actors/protocols.js';

/** How long a failed load waits for its other reads to end, at most, before the thread ends. */
const SETTLE_MS = 10_000;
const SETTLE_STEP_MS = 10;

/**
 * Node's loader reads the module graph's files at once and rejects the import() at its first
 * failed read (EMFILE) while the others are still open on the thread pool; a thread that ends
 * then never closes them. Each report thread that met EMFILE took every descriptor the host had
 * freed since, for good (78 of 80 under ulimit -n 128: the host's own opens failed after). So
 * the failure waits until this thread has no file read left, bounded, before it ends the thread.
 */
async function readsEnded(): Promise<void> {
  for (let waited = 0; waited < SETTLE_MS; waited += SETTLE_STEP_MS) {
    if (!process.getActiveResourcesInfo().some((r) => r === 'FSReqPromise' || r === 'FSReqCallback')) return;
    await new Promise((resolve) => setTimeout(resolve, SETTLE_STEP_MS));
  }
}

export = import('./reports.js').then(
  (m): ((task: ReportTask) => Promise<ReportTaskResult>) => m.default,
  async (error: unknown) => {
    await readsEnded();
    throw error;
  },
);
