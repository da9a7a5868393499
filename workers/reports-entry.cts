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

export = import('./reports.js').then((m): ((task: ReportTask) => Promise<ReportTaskResult>) => m.default);
