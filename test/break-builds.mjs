#!/usr/bin/env node
/**
 * Breaks the build on purpose, one behaviour at a time, and checks that the suite notices.
 * `npm run test:breaks` (not part of `npm test`: it builds and tests once per break).
 *
 * Each break is a snippet of the source replaced by a version without the behaviour (a
 * report whose cancel is ignored, a batch lane that never runs, ...). The script copies the
 * working tree (tracked and untracked files, not the ignored ones) into a temporary folder,
 * applies the break there, builds the copy with tsc, runs the test files named for the break
 * and requires that the tests named for it fail. The clean copy first runs the same files
 * and must pass, so a failure under a break is the break's doing.
 *
 * A break finds its place by content, not by path: its snippet must occur exactly once in
 * src/ and workers/ (any folder below them), or the script stops and says so, since a check
 * that no longer applies its break proves nothing. When a snippet moves or changes, update
 * it here.
 *
 * Options: `--only <substring of a break's name>` (repeatable), `--all-tests` (run the whole
 * suite for each break instead of its files), `--keep` (leave the copies in the temporary
 * folder), `--check` (only find each break's place and test files: no build, no tests).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The breaks. Each edit's `find` is replaced by its `replace`; `tests` are test files (by
 * name, anywhere under test/) to run; `mustFail` are test titles (substrings) of which each
 * must fail.
 */
export const BREAKS = [
  {
    name: 'sqlite connection closed with no statement',
    what: "openDatabase keeps no pinned statement: libsql 0.5.29 then closes a connection's SQLite handle twice when it is closed with no statement alive, and the second close of a reused block takes the host process down",
    edits: [{ find: "pin = db.prepare('SELECT 1');", replace: 'pin = undefined as unknown as NativeStatement;' }],
    tests: ['sqlite-close.test.ts'],
    mustFail: ['Db.close() after its statements were collected closes the handle once', 'a file that is not a database is refused, and its connection closed once'],
  },
  {
    name: 'sqlite connections left to the thread teardown',
    what: "a thread that ends with a connection open (the storage actor's process.exit()) leaves it to its teardown, which finalizes the connection after its statements: libsql closes the handle twice and the host process dies",
    edits: [{ find: "if (!exitHooked) process.on('exit', closeAll);", replace: '' }],
    tests: ['sqlite-close.test.ts'],
    mustFail: ["a monitor's storage actor that ends with its connection open (process.exit() in its thread) leaves the host running"],
  },
  {
    name: "registry find decodes every series' key",
    what: "Registry.find() decodes every series' key to compare its name: the first getMetricHistory on a thread that did not register the series (a worker's, a restored catalog's) held the host's thread 350-430 ms at 100,000 series",
    edits: [{ find: 'if ((this.series.extraAt(id, 0) & ~OWN_BIT) !== index) continue;', replace: 'if (this.info(id).name !== name) continue;' }],
    tests: ['registry.test.ts'],
    mustFail: ["finds a name's series and tag pairs on a thread that did not register them, decoding no series' key"],
  },
  {
    name: 'registry find matches a tag value by its prefix',
    what: "Registry.find() takes a tag pair found in a series' key for a match without checking that the value ends there: shard '1' finds the series of shard '10' to '19'",
    edits: [{ find: 'if (after === stop || this.arena[after] === end) return true;', replace: 'return true;' }],
    tests: ['registry.test.ts'],
    mustFail: ["finds a name's series and tag pairs on a thread that did not register them, decoding no series' key"],
  },
  {
    name: 'sampling priced at its mean call',
    what: "the overhead governor prices a sampling pass at each source's mean call, which a loaded machine's waits and the first cold calls inflate: a loaded start took ingestion's cost for sampling's and backed off to x64 for good",
    edits: [{ find: 'passMs += c.slow ? c.minMs * slowShare : c.minMs;', replace: 'passMs += c.slow ? c.meanMs * slowShare : c.meanMs;' }],
    tests: ['system-read.test.ts'],
    mustFail: ["prices a pass at each source's quickest call, a slow source at its share, and all calls at their total, leaving out the sources that spawn"],
  },
  {
    name: 'slow sources priced as read every pass',
    what: 'the overhead governor prices the search for mounts (once a minute) as if it ran every second: its cold 5 ms made sampling look worth slowing on a loaded start',
    edits: [{ find: 'passMs += c.slow ? c.minMs * slowShare : c.minMs;', replace: 'passMs += c.minMs;' }],
    tests: ['system-read.test.ts'],
    mustFail: ["prices a pass at each source's quickest call, a slow source at its share, and all calls at their total, leaving out the sources that spawn"],
  },
  {
    name: 'profile by id ignores its kind',
    what: "capture_performance_profile { id, kind } answers the capture of that id whatever its kind: an agent asking for a cpu profile reads a heap capture as one",
    edits: [{ find: 'if (args.kind !== undefined && kind !== undefined && args.kind !== kind) {', replace: 'if (false) {' }],
    tests: ['profile-fronts.test.ts'],
    mustFail: ['answers a capture longer than its deadline at once with its id, then by id once it ends; one at a time'],
  },
  {
    name: 'watchdog ignores a starved thread',
    what: "an overdue actor's deadline no longer moves by its thread's wait for a CPU: a starved collector is replaced as hung",
    edits: [{ find: 'const starved = Math.max(0, Math.min(MAX_STARVED_MS, waitMs - w.waitMs)) || 0;', replace: 'const starved = 0;' }],
    tests: ['watchdog-starved.test.ts'],
    mustFail: ['waits while the silent actor waits for a CPU'],
  },
  {
    name: 'watchdog waits on a starved thread without a cap',
    what: "the wait for a CPU moves an overdue actor's deadline without MAX_STARVED_MS: an actor that spins on a crowded CPU is never replaced",
    edits: [{ find: 'const starved = Math.max(0, Math.min(MAX_STARVED_MS, waitMs - w.waitMs)) || 0;', replace: 'const starved = Math.max(0, waitMs - w.waitMs) || 0;' }],
    tests: ['watchdog-starved.test.ts'],
    mustFail: ['one that waits for longer than MAX_STARVED_MS'],
  },
  {
    name: 'report cancel ignored',
    what: "the MCP report tool runs the report task without the request's signal: a client's cancel never reaches it",
    edits: [{ find: 'signal: work.signal,', replace: 'signal: undefined,' }],
    tests: ['mcp-stdio.test.ts'],
    mustFail: ['stops a report the client cancels'],
  },
  {
    name: 'report pool ignores abort',
    what: "the report service runs the pool task under its timeout only, not the caller's AbortSignal",
    edits: [{ find: 'signal: signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal', replace: 'signal: timeout.signal' }],
    tests: ['reports.test.ts'],
    mustFail: ['cancels a running report through its AbortSignal'],
  },
  {
    name: 'batch lane off',
    what: 'the stdio batch lane never takes a line: every batch goes through JSON.parse',
    edits: [{ find: 'export const MIN_LANE_BYTES = 2048;', replace: 'export const MIN_LANE_BYTES = Number.MAX_SAFE_INTEGER;' }],
    tests: ['mcp-stdio.test.ts'],
    mustFail: ['records batches exactly, through the stdio batch lane'],
  },
  {
    name: 'cardinality error swallowed',
    what: 'record() past the series limit is silently ignored instead of throwing CardinalityError',
    edits: [
      {
        find: '    this.handleFor(name, tags).record(value);',
        replace: "    try {\n      this.handleFor(name, tags).record(value);\n    } catch (error) {\n      if ((error as { code?: string }).code !== 'PW_ERR_CARDINALITY') throw error;\n    }",
      },
    ],
    tests: ['bad-input.test.ts'],
    mustFail: ['answers the cardinality limit with an error, not growth'],
  },
  {
    name: 'tag trie: a field answers with its neighbour',
    what: "record(name, v, tags) finds a narrow level's second value in its fields and takes the first value's child",
    edits: [{ find: '      if (value === node.s1) return node.c1;', replace: '      if (value === node.s1) return node.c0;' }],
    tests: ['record-lookup.test.ts'],
    mustFail: ['sends each value of a narrow or a wide level to its own series'],
  },
  {
    name: 'overhead back-off removed',
    what: 'over the CPU budget, the governor never raises its back-off level',
    edits: [{ find: '        if (this.level < MAX_LEVEL) this.level++;', replace: '        // (break: no back-off)' }],
    tests: ['overhead.test.ts'],
    mustFail: ['backs off its cadence under an artificially small budget'],
  },
  {
    name: 'last rules judge only the newest sample',
    what: 'a `last` rule judges the newest sample of a drain and skips the ones before it',
    edits: [{ find: 'for (let i = n - count; i < n; i++) {', replace: 'for (let i = n - 1; i < n; i++) {' }],
    tests: ['alert-rules.test.ts', 'alerting.test.ts'],
    mustFail: ['judges every sample of a drain', 'notifies a flapping signal once per episode'],
  },
  {
    name: 'overhead counted process-wide',
    what: "the monitor's threads read the process's CPU clock, so the host's own work counts as the monitor's",
    edits: [{ find: 'return ns / 1e6;', replace: 'return (process.cpuUsage().user + process.cpuUsage().system) / 1000;' }],
    tests: ['overhead.test.ts'],
    mustFail: ['measures the monitor’s own threads, not the host’s'],
  },
  {
    name: 'idle sampling over budget',
    what: 'each system sampling pass spends 20 ms of CPU: 2% of a core at the 1 s interval, twice the default budget',
    edits: [
      {
        find: "measure(() => parseCpuLine(readProc('/proc/stat', HEAD_BYTES)))",
        replace: "measure(() => {\n      const end = performance.now() + 20;\n      while (performance.now() < end);\n      return parseCpuLine(readProc('/proc/stat', HEAD_BYTES));\n    })",
      },
    ],
    tests: ['overhead.test.ts'],
    mustFail: ['its idle sampling pass fits the default budget'],
  },
  {
    name: 'proc reads stop at the first buffer',
    what: 'the system sampler reads a /proc file into its buffer without growing it: a file past 16 KB (/proc/net/dev with many interfaces) is cut short',
    edits: [{ find: '      if (n === procBuffer.length) {', replace: '      if (n === procBuffer.length) break;\n      if (n < 0) {' }],
    tests: ['system-read.test.ts'],
    mustFail: ['reads whole files and heads exactly'],
  },
  {
    name: 'proc reads ignore the head',
    what: 'the system sampler reads whole files where it asked for their first bytes',
    edits: [{ find: 'Math.min(procBuffer.length, head) - n', replace: 'procBuffer.length - n' }],
    tests: ['system-read.test.ts'],
    mustFail: ['reads whole files and heads exactly'],
  },
  {
    name: 'exhausted producer handle throws another error',
    what: 'a handle with no ring left throws InvalidArgumentError instead of CapacityError',
    edits: [{ find: "throw new CapacityError('producerThreads', `are all taken", replace: "throw new InvalidArgumentError('producerThreads', `are all taken" }],
    tests: ['threads.test.ts'],
    mustFail: ['says so when a handle has no ring left for another thread'],
  },
  {
    name: 'no system source at the interval',
    what: 'every system source runs at the slow cadence, none at the collection interval',
    edits: [{ find: "    this.sources.set(name, new Source(name, slow ? this.options.slowCadenceMs : this.options.intervalMs, spawns, slow));", replace: "    this.sources.set(name, new Source(name, this.options.slowCadenceMs, spawns, slow));" }],
    tests: ['monitor.test.ts'],
    mustFail: ['samples system and runtime metrics by itself'],
  },
  {
    name: 'collector lag read from its sleep',
    what: "the collector forgets when the runtime samples were published (QUIET_AT) and reads their lag from its own previous pass",
    edits: [{ find: 'quietAt > this.lastPassEnd ? quietAt : Infinity', replace: 'Infinity' }],
    tests: ['monitor.test.ts'],
    mustFail: ['measures collector lag as the time data waited'],
  },
  {
    name: 'registry lock removed',
    what: "the shared tables' lock is always granted, so threads interning at once race",
    edits: [{ find: 'const holder = Atomics.compareExchange(this.hdr, LOCK, 0, this.tag);', replace: 'const holder = 0;' }],
    tests: ['registry.test.ts'],
    mustFail: ['gives the same ids to every thread, interning concurrently'],
  },
  {
    name: 'registry lock never taken over',
    what: "a waiter never reads the holder's OS thread, so a lock whose thread ended is never taken over: a worker terminated while it added a series leaves every new series refused after 2 s, for good",
    edits: [{ find: 'const tid = Atomics.load(this.hdr, OWNER_TID);', replace: 'const tid = 0;' }],
    tests: ['registry-lock-takeover.test.ts'],
    mustFail: ['is taken over: a terminated recording thread held both tables', 'keeps lookups right when the dead append stored its slot'],
  },
  {
    name: 'registry lock taken from a live holder',
    what: "a waiter past 100 ms takes the lock over without asking whether the holder's thread ended: two threads append at once",
    edits: [{ find: 'if (tid === 0 || !osThreadEnded(tid, start)) return false;', replace: 'if (tid === 0) return false;' }],
    tests: ['registry-lock-takeover.test.ts'],
    mustFail: ['gets it when the holder lets it go', 'a waiter is refused after 2 s while the holder keeps it'],
  },
  {
    name: 'registry trusts a slot past COUNT',
    what: 'a lookup trusts a hash slot whose index is not counted: the key of an append that died before COUNT is found, at the index the next append gives another key',
    edits: [{ find: 'if (index < count && this.entries[e + 2] === hash', replace: 'if (this.entries[e + 2] === hash' }],
    tests: ['registry-lock-takeover.test.ts'],
    mustFail: ['keeps lookups right when the dead append stored its slot'],
  },
  {
    name: 'sketch bottom unscaled',
    what: 'the sketch reads a bucket below 2^-510 back with an unscaled harmonic mean, whose product underflows',
    edits: [{ find: 'if (lo < BOTTOM) {', replace: 'if (lo < 0) {' }],
    tests: ['sketch.test.ts'],
    mustFail: ['reads every value from 2^-1022 to the largest double'],
  },
  {
    name: 'successor skips what waited',
    what: 'a collector that starts (or replaces a dead one) begins at the write index, skipping the samples waiting in the rings',
    edits: [{ find: 'this.r = Atomics.load(this.hdr, APPLIED);', replace: 'this.r = Atomics.load(this.hdr, WRITE);' }],
    tests: ['supervision.test.ts'],
    mustFail: ['restarts a collector that dies (kill)', 'restarts a collector that dies (throw)', 'restarts a collector that dies (exit)'],
  },
  {
    name: 'waiting samples read no lag',
    what: "status() reads the lag of samples published since the collector's last pass as 0 (the age at that pass; there was none since)",
    edits: [{ find: 'return Math.max(0, now - (known === Infinity ? pass : known));', replace: 'return 0;' }],
    tests: ['status.test.ts'],
    mustFail: ['grows while samples wait for a collector that has stopped draining'],
  },
  {
    name: 'dry run plans nothing for all',
    what: "optimize({ type: 'all' }) considers no knob: the plan is empty and nothing says why",
    edits: [{ find: "filter((t) => o.type === 'all' || t.type === o.type)", replace: 'filter((t) => t.type === o.type)' }],
    tests: ['mcp-stdio.test.ts'],
    mustFail: ['answers every tool on its happy path'],
  },
  {
    name: 'instrument: aborted requests not watched',
    what: "instrument() adds no close listener to a connection: a request whose client went away is never counted",
    edits: [{ find: "socket.once('close', onSocketClose);", replace: '' }],
    tests: ['instrument.test.ts'],
    mustFail: ['counts a request whose client went away before the response apart'],
  },
  {
    name: 'instrument: server reads the global performance',
    what: 'the incoming-HTTP subscribers time requests through globalThis.performance, a lazy getter on Node 20, twice a request',
    edits: [{ find: "import type { Socket } from 'node:net';\nimport { performance } from 'node:perf_hooks';", replace: "import type { Socket } from 'node:net';" }],
    tests: ['instrument.test.ts'],
    mustFail: ['times incoming requests and fetch calls without reading the global `performance`'],
  },
  {
    name: 'instrument: client reads the global performance',
    what: 'the outgoing-HTTP and fetch subscribers time calls through globalThis.performance, a lazy getter on Node 20',
    edits: [{ find: "import dc from 'node:diagnostics_channel';\nimport { performance } from 'node:perf_hooks';\nimport type { MetricHandle }", replace: "import dc from 'node:diagnostics_channel';\nimport type { MetricHandle }" }],
    tests: ['instrument.test.ts'],
    mustFail: ['times incoming requests and fetch calls without reading the global `performance`'],
  },
  {
    name: 'instrument: route cap ignored',
    what: 'every distinct route gets its own series: maxRoutes never sends one to other',
    edits: [{ find: 'if (this.byKey.size >= this.limit) {', replace: 'if (false) {' }],
    tests: ['instrument.test.ts'],
    mustFail: ['sends routes past maxRoutes to "other" and counts them'],
  },
  {
    name: 'instrument: Express middleware names the route',
    what: "every Express layer a request passes sets its route, middleware ('/') included: unmatched paths all become '/'",
    edits: [{ find: 'this.mounted(req, base, m.route);\n      return;', replace: 'this.mounted(req, base, m.route);' }],
    tests: ['instrument-frameworks.test.ts'],
    mustFail: ['records every request under the route template the framework matched'],
  },
  {
    name: 'instrument: Express mount templates ignored',
    what: "a route under a router mounted at a parameter takes its prefix from baseUrl with ids folded: each org's name (app.use('/orgs/:org', router)) is a route of its own",
    edits: [{ find: 'req[ROUTE] = base ? templateOf(req, base) + ', replace: 'req[ROUTE] = base ? normalizePath(base) + ' }],
    tests: ['instrument-frameworks.test.ts'],
    mustFail: ['records every request under the route template the framework matched'],
  },
  {
    name: "instrument: perfwatch's own endpoints recorded",
    what: "the servers of serveMcp and serveHttp are not marked: an agent's 10 s capture over /mcp is a 10 s request of the service's",
    edits: [{ find: '  markOwnServer(server);', replace: '' }],
    tests: ['instrument.test.ts'],
    mustFail: ["records none of the requests to perfwatch's own endpoints"],
  },
  {
    name: "instrument: the monitor's notifications recorded",
    what: "the fetch subscriber stamps the monitor's own webhook posts: a failing receiver shows as the service's failing dependency",
    edits: [{ find: 'if (this.own !== undefined && this.own.has(this.channels.target!(request))) return;', replace: '' }],
    tests: ['instrument.test.ts'],
    mustFail: ["leaves out the monitor's own alert notifications"],
  },
  {
    name: 'instrument: failed calls look answered',
    what: 'an outgoing request that got no response is recorded as a 2xx success',
    edits: [{ find: 'this.finish((message as { request: Stamped }).request, ERROR_CLASS, true);', replace: 'this.finish((message as { request: Stamped }).request, 1, false);' }],
    tests: ['instrument.test.ts'],
    mustFail: ['measures fetch and node:http calls by method, host and status class'],
  },
  {
    name: 'instrument: stop keeps the subscriptions',
    what: "stop() leaves the diagnostics channels subscribed: the host keeps paying for a stopped monitor",
    edits: [{ find: "this.currentState = 'stopping';\n    this.instrumentation?.detach();", replace: "this.currentState = 'stopping';" }],
    tests: ['instrument.test.ts'],
    mustFail: ['subscribes to nothing until instrument(), and unsubscribes on uninstrument() and on stop()'],
  },
  {
    name: 'instrument: piscina queue unread',
    what: "the pool sampler records 0 for queue_size whatever the pool's queue holds",
    edits: [{ find: 's.queue.record(p.queueSize);', replace: 's.queue.record(0);' }],
    tests: ['instrument.test.ts'],
    mustFail: ['samples queue size, wait and run times and utilisation of the pools passed in'],
  },
  {
    name: 'profile lines 0-based',
    what: "a capture's file:line is V8's 0-based line, one before the function's line",
    edits: [{ find: 'line: f.lineNumber + 1,', replace: 'line: f.lineNumber,' }],
    tests: ['profiling.test.ts'],
    mustFail: ['finds the hot function at its file:line first by self time'],
  },
  {
    name: 'profile held through its file write',
    what: "the capture keeps the parsed profile in the profiler's frame while the file is written: it survives young collections, is promoted, and costs a full collection after the capture",
    edits: [
      {
        find: '      const { endedAt, summary, json, mainMs } = await take(kind, until, this.deps.options.summaryTop);',
        replace:
          "      const raw = await captureProfile(kind, until);\n      const endedAt = Date.now();\n      const top = this.deps.options.summaryTop;\n      const summary = kind === 'cpu' ? summarizeCpu(raw.profile as CpuProfile, top, process.cwd()) : summarizeHeap(raw.profile as HeapProfile, top, process.cwd());\n      const json = JSON.stringify(raw.profile);\n      const mainMs = raw.callMs;",
      },
    ],
    tests: ['profiling.test.ts'],
    mustFail: ['lets the parsed profile go before its file is written'],
  },
  {
    name: 'profile captures overlap',
    what: 'a capture asked for while another runs starts anyway: two sessions profile at once',
    edits: [{ find: 'if (this.current) {\n      this.refused.busy++;', replace: 'if (this.current && this.seq < 0) {\n      this.refused.busy++;' }],
    tests: ['profiling.test.ts', 'profile-fronts.test.ts'],
    mustFail: ['runs one capture at a time', 'answers a capture longer than its deadline at once with its id'],
  },
  {
    name: 'profile rule not rate-limited',
    what: 'a rule with capture starts a capture on every firing, however recent its last one',
    edits: [{ find: 'if (last !== undefined && now - last < every) {', replace: 'if (last !== undefined && now - last < 0) {' }],
    tests: ['profiling.test.ts'],
    mustFail: ['starts at most one capture per rule per interval'],
  },
  {
    name: 'profile files unbounded',
    what: 'profile files are never deleted: the directory grows without bound',
    edits: [{ find: 'if (count <= this.bounds.maxFiles && total <= this.bounds.maxBytes) break;', replace: 'break;' }],
    tests: ['profiling.test.ts'],
    mustFail: ['keeps at most maxFiles', 'keeps at most maxBytes', "bounds a monitor's files"],
  },
  {
    name: 'profile note not persisted',
    what: "a capture's note never reaches the transition's row: a restarted monitor's history has none",
    edits: [{ find: "return [{ sql: 'UPDATE alert_transition SET body = ? WHERE seq = ?', params: [pack(op.transition), op.seq] }];", replace: 'return [];' }],
    tests: ['profiling.test.ts'],
    mustFail: ['keeps the summary on the persisted history entry across a restart'],
  },
  {
    name: 'profile not in notifications',
    what: "a capture's annotations are kept for the episode but the firing is not sent again with them",
    edits: [{ find: "      else this.send('firing', entry.view, entry.startsAt, null, entry.value, entry.extra);", replace: '' }],
    tests: ['profiling.test.ts'],
    mustFail: ['captures once; the summary is on the history entry, in the webhook'],
  },
  {
    name: 'profile not in reports',
    what: "the report's diagnoses ignore the captures of its range",
    edits: [{ find: 'const diagnoses = withCaptures(diagnose(judged), options.profiles ?? []);', replace: 'const diagnoses = diagnose(judged);' }],
    tests: ['profiling.test.ts'],
    mustFail: ['captures once; the summary is on the history entry, in the webhook'],
  },
  {
    name: 'profile not logged to MCP clients',
    what: "an alert's capture is not sent to connected MCP clients",
    edits: [{ find: "    monitor.on('alert-profile', profiled);", replace: '' }],
    tests: ['profile-fronts.test.ts'],
    mustFail: ["logs an alert's capture to the client"],
  },
  {
    name: 'profile capture length unchecked on rules',
    what: 'captureSeconds without capture is accepted: a rule whose capture length means nothing',
    edits: [{ find: 'if (rule.captureSeconds !== undefined && rule.capture === undefined) {', replace: 'if (false) {' }],
    tests: ['profiling.test.ts'],
    mustFail: ['refuses a bad request naming the field and its limit'],
  },
  {
    name: 'profile tool waits past its deadline',
    what: 'the profile tool waits for a capture longer than its deadline instead of answering its id at once',
    edits: [{ find: 'if (seconds * 1000 > waitable) return running(started.id, started.endsAt);', replace: '' }],
    tests: ['profile-fronts.test.ts'],
    mustFail: ['answers a capture longer than its deadline at once with its id'],
  },
  {
    name: 'profile answer unbounded',
    what: 'the profile tool answers 10 entries a list whatever their size: past the 8 KB read budget',
    edits: [{ find: '  if (top !== undefined) return answer(c, top);', replace: '  return answer(c, top ?? DEFAULT_TOP);' }],
    tests: ['profile-fronts.test.ts'],
    mustFail: ['cuts the lists to what fits 8 KB when top is not given'],
  },
  {
    name: 'profile cost not counted',
    what: "a capture's main-thread time never reaches the overhead governor",
    edits: [{ find: 'mainBusy: (ms) => this.overhead.profilingBusy(ms),', replace: 'mainBusy: () => {},' }],
    tests: ['profiling.test.ts'],
    mustFail: ["counts a capture's main-thread time in the overhead budget"],
  },
  {
    name: 'remote_write labels unsorted',
    what: 'remote_write sends each series\' labels in the order they were built, not sorted by name',
    edits: [{ find: '...(extra ? [extra] : [])].sort(byName);', replace: '...(extra ? [extra] : [])];' }],
    tests: ['export-remote-write.test.ts'],
    mustFail: ['labels sorted'],
  },
  {
    name: 'remote_write buckets not cumulative',
    what: 'remote_write sends each bucket\'s own count as `_bucket{le}`, not the count up to its bound',
    edits: [{ find: 'push(sets[i]!, cumulative);', replace: 'push(sets[i]!, h.bins[i]!);' }],
    tests: ['export-prometheus.test.ts'],
    mustFail: ['every histogram bucket pushed'],
  },
  {
    name: 'export retries a 4xx',
    what: 'the export sender retries every failed answer, a 4xx included',
    edits: [{ find: 'if (response.status >= 500 || response.status === 429) {', replace: 'if (response.status >= 400) {' }],
    tests: ['export-remote-write.test.ts'],
    mustFail: ['a 4xx is final'],
  },
  {
    name: 'export queue unbounded',
    what: 'the export queue never drops: it grows while the endpoint is away',
    edits: [{ find: 'for (const b of excess > 0 ? this.queue.splice(oldest, excess) : []) this.st.dropped += b.samples;', replace: '' }],
    tests: ['export-remote-write.test.ts'],
    mustFail: ['keeps at most queueLimit requests'],
  },
  {
    name: 'OTLP counter not monotonic',
    what: 'OTLP sends a counter as a non-monotonic Sum',
    edits: [{ find: 'isMonotonic: true,', replace: 'isMonotonic: false,' }],
    tests: ['export-otlp.test.ts'],
    mustFail: ['as OTLP protobuf', 'as OTLP json'],
  },
  {
    name: "export fetches the URL's user info",
    what: 'the export sender fetches the URL as given: fetch refuses one with user info, so every request fails and the password shows in the error',
    edits: [{ find: 'this.target = withUrlCredentials(config.url, config.headers);', replace: 'this.target = { url: config.url, headers: config.headers };' }],
    tests: ['export-remote-write.test.ts'],
    mustFail: ["sends a URL's user info as Basic authorization"],
  },
  {
    name: "URL's user info overrides the Authorization header",
    what: "the URL's user info replaces an Authorization header the options gave",
    edits: [{ find: "const given = Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');", replace: 'const given = false;' }],
    tests: ['export-remote-write.test.ts'],
    mustFail: ['leaves an Authorization header of the options'],
  },
  {
    name: 'export refusal without its reason',
    what: "a receiver's refusal is shown with its status only, not the reason its body gives",
    edits: [{ find: "const said = moved ? '' : reason(answer);", replace: "const said = '';" }],
    tests: ['export-remote-write.test.ts'],
    mustFail: ["sends a URL's user info as Basic authorization"],
  },
  {
    name: "webhook fetches the URL's user info",
    what: 'the notifier posts to the webhook URL as given: fetch refuses one with user info, so every delivery fails',
    edits: [{ find: '      const t = withUrlCredentials(url, headers);', replace: '      const t = { url, headers };' }],
    tests: ['webhooks.test.ts'],
    mustFail: ['posts to a URL with user info'],
  },
  {
    name: 'webhook error without its cause',
    what: 'a failed post is shown as "fetch failed" only, without the cause (ECONNREFUSED, a timeout)',
    edits: [{ find: "${cause?.message ? ` (${cause.message})` : ''}", replace: '' }],
    tests: ['webhooks.test.ts'],
    mustFail: ['posts to a URL with user info'],
  },
  {
    name: 'idle CPU capture named as the culprit',
    what: "a CPU capture of a mostly idle main thread is attached as its top function's share, and its own diagnosis says to start with that function",
    edits: [{ find: "const idle = (n: CaptureNote): boolean => n.kind === 'cpu' && (n.idle ?? 0) >= IDLE_CAPTURE_SHARE;", replace: 'const idle = (n: CaptureNote): boolean => n.kind !== n.kind;' }],
    tests: ['report-captures.test.ts'],
    mustFail: ["an idle capture's idle share instead", 'names no function to start with', 'carries the idle share of a real capture'],
  },
  {
    name: 'capture note without its idle share',
    what: "a CPU capture's note leaves out the idle share: a report cannot tell an idle capture from a busy one",
    edits: [{ find: ", ...(s.kind === 'cpu' ? { idle: s.idle } : {}) };", replace: ' };' }],
    tests: ['report-captures.test.ts'],
    mustFail: ['carries the idle share of a real capture'],
  },
  {
    name: 'storage error repeats its code',
    what: 'a dataDir that cannot be created is reported as "EACCES: EACCES: permission denied": the code before a message that already begins with it',
    edits: [{ find: 'return e.message.startsWith(`${e.code}:`) ? e.message : `${e.code}: ${e.message}`;', replace: 'return `${e.code}: ${e.message}`;' }],
    tests: ['storage.test.ts'],
    mustFail: ['naming a dataDir that cannot be created'],
  },
  {
    name: "restored catalog's own series count against maxSeries",
    what: "the storage actor registers the stored catalog's own series (runtime, monitor_*) as the application's: they take series of maxSeries",
    edits: [{ find: 'if (e.own) registry.ownSeriesId(e.name, e.tags);', replace: 'if (e.own) registry.seriesId(e.name, e.tags);' }],
    tests: ['storage.test.ts'],
    mustFail: ['restores a catalog of 1,000 series whole'],
  },
  {
    name: 'restored catalog drops its failures',
    what: 'a stored series the storage actor cannot register again (past maxSeries) is skipped without a storage-restore fault',
    edits: [{ find: 'failed.push(error instanceof Error ? error.message : String(error));', replace: 'void error;' }],
    tests: ['storage.test.ts'],
    mustFail: ['restores a catalog of 1,000 series whole'],
  },
  {
    name: 'touched memory skips every series as never recorded',
    what: "touchedBytes reads each series' hot line to skip those never recorded (a restored catalog's), and takes every one for such: the pages recorded series wrote are not counted",
    edits: [{ find: 'return everRecorded(this.hot, this.hotI32, id);', replace: 'return false;' }],
    tests: ['monitor.test.ts'],
    mustFail: ['counts the memory touched by pages written'],
  },
  {
    name: 'rollup pass skips every series',
    what: "the collector's rollup pass takes every series for one never recorded: no minute is rolled up",
    edits: [{ find: 'if (!everRecorded(this.hot, this.hotI32, id)) continue;', replace: 'continue;' }],
    tests: ['store.test.ts'],
    mustFail: ['rolls up each minute once'],
  },
  {
    name: 'a series fed closed records alone taken for never recorded',
    what: "the hot-line test of a series with data looks at OPEN_START alone: a hub member's series fed closed records (no open bucket) is skipped by the collector's rollup pass, its minute never rolled up",
    edits: [{ find: 'return hotI32[hb * 2 + RAW_WRITTEN] !== 0 || hot[hb + OPEN_START] !== 0;', replace: 'return hot[hb + OPEN_START] !== 0;' }],
    tests: ['store-apply.test.ts'],
    mustFail: ["takes a member's closed bucket as a record at its own start"],
  },
  {
    name: 'getMetrics skips every series as never recorded',
    what: "the walk of getMetrics takes every series for one never recorded (the hot-line test that spares it a restored catalog's idle series): it answers nothing",
    edits: [{ find: "read (engine/store/recorded.ts; a name of it alone is still known to checkName).\n      if (!this.reader.everRecorded(id)) continue;", replace: "read (engine/store/recorded.ts; a name of it alone is still known to checkName).\n      if (id >= 0) continue;" }],
    tests: ['query.test.ts'],
    mustFail: ['getMetrics gives the rate a report gives'],
  },
  {
    name: 'storage flush skips every series as never recorded',
    what: "the storage actor's flush takes every series for one never recorded (the hot-line test that spares it a restored catalog's idle series): nothing is written",
    edits: [{ find: "slot read every flush (engine/store/recorded.ts).\n          if (!this.reader.everRecorded(id)) continue;", replace: "slot read every flush (engine/store/recorded.ts).\n          if (id >= 0) continue;" }],
    tests: ['storage.test.ts'],
    mustFail: ['keeps the catalog and the history across stop'],
  },
  {
    name: 'lock error tells a process to stop itself',
    what: "a second monitor of the lock's own process is told to stop that process (its own) instead of the other monitor",
    edits: [{ find: 'const owner = pid === process.pid ?', replace: 'const owner = false ?' }],
    tests: ['storage.test.ts'],
    mustFail: ['lets one monitor own a dataDir'],
  },
  {
    name: "lock error calls another process's lock this process's",
    what: "a lock held by another process is described as one of this process's monitors",
    edits: [{ find: 'const owner = pid === process.pid ?', replace: 'const owner = pid > 0 ?' }],
    tests: ['storage.test.ts'],
    mustFail: ["names another process's lock by its pid"],
  },
  {
    name: 'serve keeps serving a monitor that did not start',
    what: 'perfwatch serve leaves its HTTP and MCP servers listening when monitor.start() fails: the process stays up serving a stopped monitor',
    edits: [{ find: 'await Promise.all([mcpHttp?.close(), http?.close()]);', replace: '' }],
    tests: ['cli.test.ts'],
    mustFail: ['exits with the error when the monitor cannot start'],
  },
  {
    name: 'mcp exits when its monitor cannot start',
    what: 'perfwatch mcp exits when its monitor\'s start fails (an unhandled rejection): the client sees only a closed connection',
    edits: [{ find: '    host.launch().catch((error: unknown) => {\n      process.stderr.write(`perfwatch mcp: the monitor did not start', replace: '    host.launch().then((error: unknown) => {\n      process.stderr.write(`perfwatch mcp: the monitor did not start' }],
    tests: ['cli.test.ts'],
    mustFail: ['mcp serves its tools with the monitor stopped'],
  },
  {
    name: '/api/alerts lists every rule\'s alerts under rule=',
    what: '/api/alerts applies rule= to the history only: the alerts of every rule are listed, as its hint says to narrow by rule',
    edits: [{ find: '.filter((a) => ofRule?.(a) ?? true);', replace: ';' }],
    tests: ['http-api.test.ts'],
    mustFail: ['narrows both the alerts and their history'],
  },
  {
    name: '/api/alerts rule= by id only',
    what: "/api/alerts's rule= matches a rule's id only, not the name the dashboard shows",
    edits: [{ find: 'const match = (a: { ruleId: string; ruleName: string }): boolean => a.ruleId === rule || a.ruleName === rule;', replace: 'const match = (a: { ruleId: string; ruleName: string }): boolean => a.ruleId === rule;' }],
    tests: ['http-api.test.ts'],
    mustFail: ['narrows both the alerts and their history'],
  },
  {
    name: '/api/alerts answers an unknown rule with empty lists',
    what: '/api/alerts with a rule= that matches no rule answers 200 with nothing in place of naming the rules',
    edits: [{ find: 'if (rules.some((r) => r.id === rule || r.name === rule) || monitor.getAlertHistory({}).some(match)) return match;', replace: 'return match;' }],
    tests: ['http-api.test.ts'],
    mustFail: ['narrows both the alerts and their history'],
  },
  {
    name: 'export counters appear only once nonzero',
    what: 'monitor_export_failed, _dropped and _retries appear only with their first count: the first failures are invisible to increase()',
    edits: [{ find: 'if ((delta > 0 || first) && RECORDED.has(k))', replace: 'if (delta > 0 && RECORDED.has(k))' }],
    tests: ['export-status.test.ts'],
    mustFail: ['puts every monitor_export_* counter on /metrics from the first report'],
  },
  {
    name: 'CLI unreachable without the cause',
    what: 'perfwatch profile/report --url say only "fetch failed" when the endpoint cannot be reached',
    edits: [{ find: "return `cannot reach an MCP endpoint at ${url.href}: ${e.message}${cause ? ` (${cause})` : ''}`;", replace: 'return `cannot reach an MCP endpoint at ${url.href}: ${e.message}`;' }],
    tests: ['cli.test.ts'],
    mustFail: ['say why an endpoint cannot be reached'],
  },
  {
    name: 'history claims a cut it did not make',
    what: "get_metric_history says it downsampled to max_points whenever a series has fewer points than sources, a rollup's merged minutes included",
    edits: [{ find: 'downsampled: h.series.some((s) => s.points.length < s.sourcePoints && s.sourcePoints > pointsPerSeries),', replace: 'downsampled: h.series.some((s) => s.points.length < s.sourcePoints),' }],
    tests: ['mcp-history-note.test.ts'],
    mustFail: ['does not claim a cut to max_points'],
  },
  {
    name: 'exporter counts lost on restart',
    what: "a replaced exporter actor's counts start again from zero in status",
    edits: [{ find: '          this.carried[i]![k] += seen[k];', replace: '' }],
    tests: ['export-status.test.ts'],
    mustFail: ['counts of the one before carry over'],
  },
  {
    name: 'control calls not rung',
    what: "the collector's Supervisor posts control calls without raising MAIL: a collector in its blocking wait reads them only when the wait times out",
    edits: [{ find: '{ posted: () => ringMail(this.ctl), stopWork:', replace: '{ stopWork:' }],
    tests: ['wake-ups.test.ts'],
    mustFail: ['answered before the wake-up the collector promised'],
  },
  {
    name: 'flush answers held back',
    what: 'the collector resolves flush() waiters and goes straight into its blocking wait: the answers, in microtasks, leave only when it wakes',
    edits: [{ find: '      await turnLoop();\n    }\n    if (stopping) break;', replace: '    }\n    if (stopping) break;' }],
    tests: ['wake-ups.test.ts'],
    mustFail: ['answered before the wake-up the collector promised'],
  },
  {
    name: 'binned samples mark no block',
    what: "binTail bins samples without storing their blocks' marks: closes read and reset only the blocks whole buckets marked",
    edits: [{ find: '    if (base0 >= 0) blocks[base0 >>> PAGE_BITS]! |= mask0;\n    if (base1 >= 0) blocks[base1 >>> PAGE_BITS]! |= mask1;\n  }', replace: '  }' }],
    tests: ['apply-differential.test.ts'],
    mustFail: ['on the same random samples (seed 1)'],
  },
  {
    name: 'a cached page swapped without its marks',
    what: "binTail swaps the other cached page into its run's registers without its blocks' marks: the marks gathered go to the wrong page",
    edits: [{ find: '          const m = mask1;\n          mask1 = mask0;\n          mask0 = m;\n', replace: '' }],
    tests: ['apply-differential.test.ts'],
    mustFail: ['on the same random samples (seed 1)'],
  },
  {
    name: 'a full front bin loses its 256',
    what: 'binTail lets a front bin wrap at 256 without adding the 256 to the back bin',
    edits: [{ find: '          pages[bin]! += 256;\n', replace: '' }],
    tests: ['store-pages.test.ts'],
    mustFail: ["counts a key exactly past its front bin's 255"],
  },
  {
    name: "a sample's back bin unmarked",
    what: "binTail adds 256 to a back bin without marking its block in `backs`: a close after the page was emptied once reads that block's front bins alone",
    edits: [{ find: '          this.backs[base0 >>> PAGE_BITS]! |= 1 << ((key & PAGE_MASK) >>> BLOCK_BITS);\n', replace: '' }],
    tests: ['store-pages.test.ts'],
    mustFail: ['reads and empties a back bin filled in a bucket after one that closed on the same page'],
  },
  {
    name: "an applied bucket's back bin unmarked",
    what: "intoOpen adds a sum past 255 to a back bin without marking its block in `backs`: the close reads that block's front bins alone",
    edits: [{ find: '            this.backs[pageBase >>> PAGE_BITS]! |= block;\n', replace: '' }],
    tests: ['store-apply.test.ts'],
    mustFail: ['reads and empties a back bin filled in a bucket after one that closed on the same page'],
  },
  {
    name: 'back bins never emptied',
    what: "resetOpen zeroes the front bins of a page's marked blocks and not their marked back bins: the next bucket starts with the last one's overflow",
    edits: [{ find: 'if (((backs >>> block) & 1) !== 0) this.pages.fill(0, from, from + BLOCK);', replace: '' }],
    tests: ['store-pages.test.ts', 'store-apply.test.ts'],
    mustFail: ['reads and empties a back bin filled in a bucket after one that closed on the same page'],
  },
  {
    name: "a member's record not noted as its series' newest",
    what: "commitClosed publishes a closed record without noting its start as the series' newest (writer-local): a second record at the same start is taken",
    edits: [{ find: '    this.fedClosed[id] = 1;\n    this.newestStart[id] = start;\n', replace: '    this.fedClosed[id] = 1;\n' }],
    tests: ['store-apply.test.ts'],
    mustFail: ["refuses, writing nothing, a record that would break the store's order"],
  },
  {
    name: "a closed bucket not noted as its series' newest",
    what: "close() publishes a bucket record without noting its start as the series' newest: a member's record at that start is taken after it",
    edits: [{ find: '    this.newestStart[id] = hot[hb + OPEN_START]!;\n', replace: '' }],
    tests: ['store-apply.test.ts'],
    mustFail: ['refuses a record at or before the bucket its series closed after taking a record'],
  },
  {
    name: "a rollup not noted as its series' newest",
    what: "rollupSeries writes a window without noting it (writer-local): a member's record in that minute is taken, and never rolled up",
    edits: [{ find: '      this.seriesRolled[id] = window;\n', replace: '' }],
    tests: ['store-apply.test.ts'],
    mustFail: ["refuses, writing nothing, a record that would break the store's order"],
  },
  {
    name: "a sketch range read to the batch's end",
    what: "the hub's decode of a member sketch in its batch's bytes requires it to end where the batch's sketches end, not at its own end: every row but the last is refused",
    edits: [{ find: '  if (at !== end) return 0;', replace: '  if (at !== b.length) return 0;' }],
    tests: ['storage-schema.test.ts'],
    mustFail: ['decodes sketches laid end to end'],
  },
  {
    name: 'a close reads front bins alone',
    what: 'close() encodes the front bins of every block, marked for back bins or not: counts past 255 lose their 256s',
    edits: [{ find: 'let c = back === 0 ? front[k]! : pages[k]! + front[k]!;', replace: 'let c = front[k]!;' }],
    tests: ['store-pages.test.ts'],
    mustFail: ["counts a key exactly past its front bin's 255"],
  },
  {
    name: 'a bucket sketches past its cap',
    what: "binTail bins every pending sample, past a bucket's MAX_SKETCHED-th: a u32 back bin of a long bucket could wrap",
    edits: [{ find: 'const end = room >= pending ? written : room > 0 ? (binned + room) | 0 : binned;', replace: 'const end = written + 0 * room;' }],
    tests: ['store.test.ts'],
    mustFail: ["sketches a bucket's samples up to its 4,294,967,295th"],
  },
  {
    name: "blocks' marks dropped at a page switch",
    what: 'binTail meets a page not cached and looks it up without first storing the marks gathered for the two cached pages',
    edits: [{ find: '          if (base0 >= 0) blocks[base0 >>> PAGE_BITS]! |= mask0;\n          if (base1 >= 0) blocks[base1 >>> PAGE_BITS]! |= mask1;\n', replace: '' }],
    tests: ['apply-differential.test.ts'],
    mustFail: ['on the same random samples (seed 1)'],
  },
  {
    name: 'a close from raw slots leaves them unbinned',
    what: "the reset of a bucket closed from its raw slots does not move RAW_BINNED past them: the next bucket's sketch counts them again",
    edits: [{ find: '    this.hotI32[hb * 2 + RAW_BINNED] = this.hotI32[hb * 2 + RAW_WRITTEN]!;\n    hot[hb + OPEN_COUNT] = 0;', replace: '    hot[hb + OPEN_COUNT] = 0;' }],
    tests: ['store-close-raw.test.ts', 'apply-differential.test.ts'],
    mustFail: ['starts the next bucket empty', 'is finished by a successor', 'on the same random samples (seed 1)'],
  },
  {
    name: 'a close from raw slots with samples in its pages',
    what: "a close encodes from the raw slots whenever samples wait there, leaving out the bucket's samples already binned into its pages",
    edits: [{ find: 'if (waiting === hot[hb + OPEN_COUNT] && waiting <= L.rawCap) {', replace: 'if (waiting > 0 && waiting <= L.rawCap) {' }],
    tests: ['store-close-raw.test.ts', 'apply-differential.test.ts'],
    mustFail: ['starts the next bucket empty', 'on the same random samples (seed 1)'],
  },
  {
    name: 'a close from raw slots counts a key once',
    what: 'countRaw counts each key met in the raw slots once, whatever its samples',
    edits: [{ find: '      bins[key] = c + 1;\n', replace: '      bins[key] = 1;\n' }],
    tests: ['store-close-raw.test.ts', 'apply-differential.test.ts'],
    mustFail: ['starts the next bucket empty', 'on the same random samples (seed 1)'],
  },
  {
    name: 'chunks of 4,096 whatever the ring',
    what: "drain() groups samples in chunks of 4,096 slots as before, not of half the ring: at 10,000 series a series' samples no longer share a chunk",
    edits: [{ find: 'const CHUNK_MAX = 32768;', replace: 'const CHUNK_MAX = 4096;' }],
    tests: ['store-chunks.test.ts'],
    mustFail: ['are half the ring'],
  },
  {
    name: 'a chunk of the whole ring',
    what: 'drain() takes up to CHUNK_MAX slots in a chunk whatever the ring: a ring of 32,768 slots is held in flight whole while its chunk applies',
    edits: [{ find: 'const half = (reader.mask + 1) >>> 1;', replace: 'const half = CHUNK_MAX;' }],
    tests: ['store-chunks.test.ts'],
    mustFail: ['are half the ring'],
  },
  {
    name: 'no close on touch during a sweep',
    what: 'a series that takes data before the sweep reaches it adds the data to its ended bucket',
    edits: [{ find: '    if (hot[hb + OPEN_START]! < this.bucketStart && hot[hb + OPEN_COUNT]! > 0) this.close(id, id * this.layout.slotF64);\n', replace: '' }],
    tests: ['store-sweep.test.ts'],
    mustFail: ['closes every ended bucket once'],
  },
  {
    name: 'replay applies committed samples again',
    what: 'a successor replays a chunk left in flight from its first sample, not past the CHUNK_DONE samples already committed',
    edits: [{ find: 'if (to > done) this.applyGroup(reader, id, from > done ? from : done, to, stamp, now);', replace: 'this.applyGroup(reader, id, from, to, stamp, now);' }],
    tests: ['apply-kill-points.test.ts'],
    mustFail: ['keeps exact totals, raw samples and sketches when stopped at every entry to applyGroup'],
  },
  {
    name: 'raw slots rewritten unannounced',
    what: 'the writer rewrites a part of raw slots without raising RAW_AHEAD first: a reader keeps a slot overwritten under it',
    edits: [{ find: 'if (((ahead - hotI32[hi + RAW_AHEAD]!) | 0) > 0) hotI32[hi + RAW_AHEAD] = ahead;', replace: '' }],
    tests: ['apply-kill-points.test.ts'],
    mustFail: ['hides from readers the raw slots a writer stopped inside a part had rewritten'],
  },
  {
    name: 'raw-first slots rewritten unannounced',
    what: "the raw-first writes rewrite a small group's raw slots without raising RAW_AHEAD first: a reader keeps a slot overwritten under it",
    edits: [{ find: 'if (((reach - hotI32[hi + RAW_AHEAD]!) | 0) > 0) hotI32[hi + RAW_AHEAD] = reach;', replace: '' }],
    tests: ['apply-kill-points.test.ts'],
    mustFail: ['hides from readers the raw slots a writer stopped inside its raw-first writes had rewritten'],
  },
  {
    name: 'raw-first past the binning lag',
    what: 'the raw-first writes take groups that, with the samples waiting to be binned, pass binEvery: their slots overwrite samples the sketch has not counted yet',
    edits: [{ find: 'if (((w0 - hotI32[hi + RAW_BINNED]!) | 0) + (to - start) >= binEvery) continue;', replace: '' }],
    tests: ['apply-kill-points.test.ts'],
    mustFail: ['keeps exact totals, raw samples and sketches when stopped at every entry to applyWritten'],
  },
  {
    name: 'raw-first mark left set',
    what: "applyWritten leaves a series marked as written raw-first: its next group, long, commits slots nobody wrote",
    edits: [{ find: '    this.rawWritten[id] = 0;\n', replace: '' }],
    tests: ['apply-differential.test.ts'],
    mustFail: ['answers as the old path does over 200-255 series in small groups, written raw-first'],
  },
  {
    name: 'instrument: a close listener per instrument()',
    what: 'each instrument() adds its own close listener to a kept-alive connection it meets: replaced instrumentations pile up listeners on long-lived connections',
    edits: [{ find: "if (first === undefined) {\n          socket.once('close', onSocketClose);\n        }", replace: "socket.once('close', onSocketClose);" }],
    tests: ['instrument.test.ts'],
    mustFail: ['listens to a kept-alive connection once'],
  },
  {
    name: 'instrument: replaced flights kept',
    what: "a connection keeps the flight of every instrument() that met it, replaced ones too: the chain each request walks grows with each call",
    edits: [{ find: 'next: this.attachedOf(first) };', replace: 'next: first };' }],
    tests: ['instrument.test.ts'],
    mustFail: ['listens to a kept-alive connection once'],
  },
  {
    name: 'rollup misses sketches uncounted',
    what: "a minute's rollup that finds some of its buckets' sketches overwritten in the log leaves out their bins without counting them: status().collector.sketchesLost stays 0",
    edits: [{ find: 'else if (f[rec + BUCKET_SKETCH_LEN]! > 0) this.counters.sketchesLost++;', replace: '' }],
    tests: ['store-log.test.ts'],
    mustFail: ['rolls up only those it holds', "is counted in the collector's control block"],
  },
  {
    name: 'minute sketches: closes not merged',
    what: "a close no longer merges its bucket's sketch into its minute (store/minutes.ts): each minute's rollup reads the sketch log again, and loses the runs it overwrote",
    edits: [{ find: '    this.minutes.add(id, head, hot[hb + OPEN_START]!, pos, pending > 0);\n', replace: '' }],
    tests: ['store-minutes.test.ts'],
    mustFail: ['roll up every bucket of each minute', "the cluster-wide series' buckets", 'publish their bytes, and no lost sketch'],
  },
  {
    name: 'minute sketches: hub records not merged',
    what: "a closed record from outside (writeClosed, a hub batch's row) is not merged into its minute: a hub member series' rollup reads the log, and loses what it overwrote",
    edits: [{ find: '    this.minutes.add(id, head, start, at, true);\n', replace: '' }],
    tests: ['store-minutes.test.ts'],
    mustFail: ["roll up a hub member's closed records"],
  },
  {
    name: "minute sketches: a successor's own part taken for the minute",
    what: "a writer that took over within a minute rolls it up from the sketch it merged since, without its predecessor's records from the log, and counts nothing lost",
    edits: [{ find: '      if (from === firstK) {', replace: '      if (from >= 0) {' }],
    tests: ['store-minutes.test.ts'],
    mustFail: ['after a writer is replaced within a minute'],
  },
  {
    name: 'minute sketches: front bins wrap',
    what: 'a minute sketch\'s u8 front bin that passes 255 keeps the sum\'s low byte instead of moving it to its back bin',
    edits: [{ find: '      if (sum <= MAX_FRONT) front[bin] = sum;', replace: '      if (sum <= MAX_BIN) front[bin] = sum;' }],
    tests: ['store-minutes.test.ts'],
    mustFail: ['roll up every bucket of each minute'],
  },
  {
    name: 'minute sketches unbounded',
    what: 'the minute sketches grow past their bound (twice sketchLogBytes)',
    edits: [{ find: '    const room = current + Math.floor((this.maxBytes - this.arenaBytes()) / unitBytes);', replace: '    const room = Infinity;' }],
    tests: ['store-minutes.test.ts'],
    mustFail: ['past their memory bound'],
  },
  {
    name: 'minute sketch bytes not published',
    what: "the collector never writes its minute sketches' bytes where status() reads them",
    edits: [{ find: '    ctl.f64[MINUTE_SKETCH_BYTES] = this.writer.minuteSketchBytes();\n', replace: '' }],
    tests: ['store-minutes.test.ts'],
    mustFail: ['publish their bytes, and no lost sketch'],
  },
  {
    name: 'lost sketches not published',
    what: "the collector counts the sketches its rollups missed but never writes the count where status() reads it",
    edits: [{ find: '    ctl.f64[SKETCHES_LOST] = this.writer.counters.sketchesLost;\n', replace: '' }],
    tests: ['store-log.test.ts'],
    mustFail: ["is counted in the collector's control block"],
  },
  {
    name: "a replacement collector's counters start at 0",
    what: "a collector that replaces a dead one starts its bad-sample, sketch-overflow and lost-sketch counts at 0 and overwrites the totals its predecessors published",
    edits: [{ find: '    counters.badSamples = this.ctl.f64[BAD_SAMPLES]!;\n    counters.sketchOverflow = this.ctl.f64[SKETCH_OVERFLOW]!;\n    counters.sketchesLost = this.ctl.f64[SKETCHES_LOST]!;\n', replace: '' }],
    tests: ['collector-counters.test.ts'],
    mustFail: ['carries on the bad samples, sketch overflow and lost sketches'],
  },
  {
    name: 'window quantiles of lost sketches unsaid',
    what: "a window read counts the buckets whose sketch the log lost but not their samples: answers give quantiles of part of the window as if of all of it",
    edits: [{ find: '        unsketched += f[rec + BUCKET_COUNT]!;\n', replace: '' }],
    tests: ['quantile-coverage.test.ts'],
    mustFail: ['carry the samples they stand for'],
  },
  {
    name: 'getMetrics drops quantileCount',
    what: "getMetrics (and the MCP metrics tool) leave out how many samples a partial window's quantiles stand for",
    edits: [{ find: '          ...(agg.unsketched > 0 ? { quantileCount: agg.count - agg.unsketched } : {}),\n', replace: '' }],
    tests: ['quantile-coverage.test.ts'],
    mustFail: ['carry the samples they stand for'],
  },
  {
    name: 'report drops quantileCount',
    what: "a report's series stats leave out how many samples partial quantiles stand for",
    edits: [{ find: '    ...(!quantiles && agg.unsketched > 0 ? { quantileCount: agg.count - agg.unsketched } : {}),\n', replace: '' }],
    tests: ['quantile-coverage.test.ts'],
    mustFail: ['carry the samples they stand for'],
  },
  {
    name: 'alert rule partial windows uncounted',
    what: "a window rule's quantile judged from part of its window (sketches gone from the log) is not counted",
    edits: [{ find: '      if (q !== undefined && partial) this.partialWindows++;\n', replace: '' }],
    tests: ['alert-partial-window.test.ts'],
    mustFail: ['is counted once a judgement of its window misses sketches'],
  },
  {
    name: 'alert rule partial windows from the aggregate path uncounted',
    what: "a window rule read through rollups and buckets (longer than the bucket ring) never says its quantile was partial",
    edits: [{ find: '          partial = agg.unsketched > 0;\n', replace: '' }],
    tests: ['alert-partial-window.test.ts'],
    mustFail: ['is counted the same when the window is longer than the bucket ring'],
  },
  {
    name: "a replacement alert actor's counts start at 0",
    what: 'a restarted alert actor starts its unjudged-samples count at 0 and overwrites the total its predecessors published',
    edits: [{ find: 'evaluator.unjudged = ctl.f64[UNJUDGED]!;', replace: '' }],
    tests: ['alerting.test.ts'],
    mustFail: ['carries its unjudged count through a second restart'],
  },
  {
    name: "sketch log reach from all it ever wrote",
    what: "the log's reach is judged from everything written since the collector started, not the last interval's rate: it shrinks with the process's age, not with the load",
    edits: [{ find: 'const rate = written - this.logWrittenAt;', replace: 'const rate = written;' }],
    tests: ['store-log.test.ts'],
    mustFail: ["says how many seconds of closed buckets it holds"],
  },
  {
    name: 'hub: a stopping member waits only when welcomed',
    what: "a member stopped while its hello is unanswered (a hub slow to answer) disconnects at once: its last buckets never reach the hub",
    edits: [{ find: 'if (this.held.length > 0 && (this.welcomed || (this.connected && !this.refused))) {', replace: 'if (this.held.length > 0 && this.welcomed) {' }],
    tests: ['hub.test.ts'],
    mustFail: ['a member stopped before the hub answered its hello'],
  },
  {
    name: 'instrument: recent URLs matched by slot',
    what: "the table of recent URLs answers whatever its slot holds: a URL that shares a slot with another is recorded under the other's route",
    edits: [{ find: 'return v !== undefined && v.url === url ? v : undefined;', replace: 'return v;' }],
    tests: ['instrument.test.ts'],
    mustFail: ['keeps apart URLs that meet in the table of recent URLs'],
  },
  {
    name: "instrument: recent URLs keep other's",
    what: "the table of recent URLs remembers URLs past the route cap: their repeats skip the cap and are no longer counted in status().instrument's other",
    edits: [{ find: 'if (this.routes.isOther(entry) || url.length > MAX_REMEMBERED_URL || handles.throughput.sink', replace: 'if (url.length > MAX_REMEMBERED_URL || handles.throughput.sink' }],
    tests: ['instrument.test.ts'],
    mustFail: ['keeps apart URLs that meet in the table of recent URLs'],
  },
  {
    name: 'instrument: recent URL answers any status',
    what: "a URL's last answer is reused whatever the new response's status: a 503 after a 200 is recorded as 2xx and not as an error",
    edits: [{ find: 'recent.status === status && recent.method === method && ms >= 0', replace: 'recent.method === method && ms >= 0' }],
    tests: ['instrument.test.ts'],
    mustFail: ['records one URL answered in turn with other methods and statuses'],
  },
  {
    name: 'instrument: recent URL answers any method',
    what: "a URL's last answer is reused whatever the new request's method: a POST after a GET is recorded as GET",
    edits: [{ find: 'recent.status === status && recent.method === method && ms >= 0', replace: 'recent.status === status && ms >= 0' }],
    tests: ['instrument.test.ts'],
    mustFail: ['records one URL answered in turn with other methods and statuses'],
  },
  {
    name: 'hub: acknowledged buckets not counted',
    what: "a member's status().hub.sent stays 0 whatever the hub acknowledged",
    edits: [{ find: 'this.counts.sent += h.cols.sids.length;', replace: '' }],
    tests: ['hub.test.ts'],
    mustFail: ['independent processes: exact totals per member and cluster-wide'],
  },
  {
    name: 'hub: member buckets never closed records',
    what: "the store's writer refuses every closed record from outside: a member's own series on the hub takes each bucket into its open bucket again, at the hub's time",
    edits: [{ find: 'if (hot[hb + OPEN_COUNT] !== 0 || !(start < this.bucketStart)) return false;', replace: 'if (hot[hb + OPEN_COUNT] !== 0 || start === start) return false;' }],
    tests: ['store-apply.test.ts', 'hub.test.ts'],
    mustFail: ["takes a member's closed bucket as a record at its own start", "keeps its buckets' starts"],
  },
  {
    name: 'hub: closed-record series rolled up on time',
    what: 'series fed by closed records are rolled up as soon as their minute ends, before its last bucket has come',
    edits: [{ find: 'if (this.fedClosed[id] === 0) {', replace: 'if (this.fedClosed[id] !== 2) {' }],
    tests: ['store-apply.test.ts'],
    mustFail: ["takes a member's closed bucket as a record at its own start"],
  },
  {
    name: 'hub: closed record in a minute rolled up',
    what: 'a closed record from outside is written into a minute already rolled up, where no rollup will ever take it',
    edits: [{ find: 'if (rolled > 0 && start < rolled + L.rollupMs) return false;', replace: '' }],
    tests: ['store-apply.test.ts'],
    mustFail: ["refuses, writing nothing, a record that would break the store's order"],
  },
  {
    name: 'hub: closed record left out of the totals',
    what: "a closed record from outside is published without adding its count to the series' closed totals",
    edits: [{ find: 'f[base + CLOSED_COUNT]! += count;', replace: '' }],
    tests: ['store-apply.test.ts', 'hub.test.ts'],
    mustFail: ["takes a member's closed bucket as a record at its own start", 'independent processes: exact totals per member and cluster-wide'],
  },
  {
    name: 'hub: applied bin overwrites its front bin',
    what: "a member bucket's bin added into a sketch page's front bin replaces what the bin held instead of adding to it",
    edits: [{ find: 'const sum = front[bin]! + (run[pos + 2 + 2 * i]! >>> 0);', replace: 'const sum = 0 * front[bin]! + (run[pos + 2 + 2 * i]! >>> 0);' }],
    tests: ['store-apply.test.ts'],
    mustFail: ['keeps a bin of more than 255 samples exact', 'close with every bin applied'],
  },
  {
    name: "hub: cluster workers stay on the channel",
    what: "a cluster worker ignores the primary's socket and sends every batch over the IPC channel, as base64 in JSON",
    edits: [{ find: '          this.redialMs = FIRST_REDIAL_MS;\n          this.dial(h);', replace: '          this.redialMs = FIRST_REDIAL_MS;' }],
    tests: ['hub.test.ts'],
    mustFail: ["moves its link from the IPC channel to the primary's socket"],
  },
  {
    name: "hub: a primary's socket is required",
    what: 'a cluster hub whose socket cannot listen fails to start instead of keeping every link on the IPC channel',
    edits: [{ find: '        () => undefined,', replace: '        (error: unknown) => Promise.reject(error),' }],
    tests: ['hub.test.ts'],
    mustFail: ['a primary that cannot listen on a socket'],
  },
  {
    name: 'hub: a worker that loses the socket does not go back to the channel',
    what: "a cluster worker whose socket to the primary closes waits for the socket instead of saying hello again on the IPC channel",
    edits: [{ find: '      if (process.connected) h.open();', replace: '      void process.connected;' }],
    tests: ['hub-faults.test.ts'],
    mustFail: ['a worker whose socket closes under it'],
  },
  {
    name: "hub: a worker never dials the primary's socket again",
    what: 'a cluster worker that lost the socket stays on the IPC channel for good, although the socket is still there',
    edits: [{ find: '      this.timer = setTimeout(() => this.dial(h), this.redialMs);\n      this.timer.unref();\n', replace: '' }],
    tests: ['hub-faults.test.ts'],
    mustFail: ['a worker whose socket closes under it'],
  },
  {
    name: 'hub: a dead socket reclaimed without proof it is ours',
    what: "hub.listen removes any socket nobody listens on, another program's included, without the owner record that names it",
    edits: [{ find: '  if (!recorded(path, stat)) {', replace: '  if (!recorded(path, stat) && stat.size < 0n) {' }],
    tests: ['hub-faults.test.ts'],
    mustFail: ['a socket of ours that a killed hub left is reclaimed'],
  },
  {
    name: "hub: a primary leaves its dead predecessors' sockets",
    what: "a cluster primary does not sweep the temporary folder for the sockets of killed primaries",
    edits: [{ find: 'this.reclaimed = await sweepStale(tmpdir());', replace: "this.reclaimed = await sweepStale(join(tmpdir(), 'nowhere'));" }],
    tests: ['hub-faults.test.ts'],
    mustFail: ['a primary removes the sockets that killed primaries of ours left'],
  },
  {
    name: "hub: the sweep takes any socket of a primary's name",
    what: 'the sweep of a primary removes a socket named like a primary\'s, of a dead pid, without the owner record that names it',
    edits: [{ find: '    if (!stat?.isSocket() || !recorded(path, stat)) continue;', replace: '    if (!stat?.isSocket()) continue;' }],
    tests: ['hub-faults.test.ts'],
    mustFail: ['a primary removes the sockets that killed primaries of ours left'],
  },
  {
    name: 'hub: a resent batch applied whole',
    what: "the store forgets how far into a member's batch a killed collector got: the batch, resent, is applied from its first row, and the rows applied before the kill count twice",
    edits: [{ find: 'if (found >= 0 && f[at + SEQ] === seq) return f[at + DONE]!;', replace: 'if (found >= 0 && f[at + SEQ] === seq && seq !== seq) return f[at + DONE]!;' }],
    tests: ['hub-apply-kill.test.ts', 'hub-apply-kill-points.test.ts', 'hub-faults.test.ts'],
    mustFail: ['keeps exact counts, sums and sketches of every member and cluster-wide series', 'keeps exact counts, sums and sketches when stopped at every entry to each step', 'again and again: the member resends what was not acknowledged'],
  },
  {
    name: "hub: a row's bins resumed from its first",
    what: "a hub row's bins do not store their progress: a successor adds again the bins of the open sketch a killed collector had added",
    edits: [{ find: '        meta[HUB_ROW_BINS] = i + 1;', replace: '' }],
    tests: ['hub-apply-kill-points.test.ts'],
    mustFail: ['seed 1: keeps exact counts, sums and sketches when stopped at every entry to each step'],
  },
  {
    name: 'hub: a row in flight left unfinished',
    what: "neither the successor's recover() nor the next batch finishes a hub row a killed collector left half applied: the next row's announcement replaces it",
    edits: [
      { find: '    if (this.meta[HUB_ROW_STEP] !== ROW_NONE) this.resumeRow();', replace: '' },
      { find: '    if (this.meta[HUB_ROW_STEP] !== ROW_NONE) {', replace: '    if (this.meta[HUB_ROW_STEP] !== ROW_NONE && seriesCount < 0) {' },
    ],
    tests: ['hub-apply-kill.test.ts', 'hub-apply-kill-points.test.ts'],
    mustFail: ['keeps exact counts, sums and sketches of every member and cluster-wide series', 'keeps exact counts, sums and sketches when stopped at every entry to each step'],
  },
  {
    name: 'hub: a closed record published before its raw slot',
    what: "a member's closed record is published before the raw slot of its last value is written, out of the commit that adds it to its series' totals: a collector killed between leaves the totals short of a record",
    edits: [
      {
        find: '    const written = this.rawSlot(id, base, now, last);\n    const meta = this.meta;\n    // The commit: straight-line stores, all or none of them (the record first, as a close publishes).\n    Atomics.store(this.i32, base * 2 + T1_HEAD, head + 1);',
        replace: '    Atomics.store(this.i32, base * 2 + T1_HEAD, head + 1);\n    const written = this.rawSlot(id, base, now, last);\n    const meta = this.meta;',
      },
    ],
    tests: ['hub-apply-kill-points.test.ts'],
    mustFail: ['keeps exact counts, sums and sketches when stopped at every entry to each step'],
  },
  {
    name: 'hub: a spent pool takes back the pages an applied bucket just filled',
    what: "the scan for idle pages takes back the pages of the series a member's bucket is being added to (its OPEN_COUNT not yet moved): the bins already added are lost, and the page goes back to the pool with them",
    edits: [{ find: 'if (this.hot[id * HOT_F64 + OPEN_COUNT] !== 0 || id === asking) continue;', replace: 'if (this.hot[id * HOT_F64 + OPEN_COUNT] !== 0) continue;' }],
    tests: ['store-apply.test.ts'],
    mustFail: ['keep every bin of a bucket whose next page is found by taking idle series'],
  },
  {
    name: 'hub: pending runs left behind the log head',
    what: "nothing moves an open bucket's pending runs ahead when the log's head comes near the oldest: a log too small for a bucket's rows overwrites them before the close",
    edits: [{ find: '    if (this.log.pos + 2 * len - floor <= this.logReach() / 2) return;', replace: '    if (floor === floor) return;' }],
    tests: ['store-pending.test.ts'],
    mustFail: ["a log too small for a bucket's rows moves its pending runs ahead of its head"],
  },
  {
    name: "hub: a pending run listed before its bucket's commit",
    what: "a row's pending run counts in PEND_COUNT before the raw slot of its last value is written, out of the commit that adds the row to the open bucket: a collector killed between leaves the run listed and the row not applied, and the row resent lists it again",
    edits: [
      {
        find: '    if (pend < 0 && hot[hb + OPEN_COUNT]! + count <= MAX_SKETCHED) {',
        replace: '    if (pend >= 0) this.i32[base * 2 + PEND_COUNT] = pend + 1;\n    if (pend < 0 && hot[hb + OPEN_COUNT]! + count <= MAX_SKETCHED) {',
      },
    ],
    tests: ['hub-pending-kill-points.test.ts'],
    mustFail: ['keeps exact counts, sums and sketches when stopped at every entry to each step'],
  },
  {
    name: "hub: a close keeps its bucket's pending runs",
    what: "resetOpen leaves PEND_COUNT as it was: the next bucket of the series lists its runs after the closed bucket's, which its close merges again",
    edits: [{ find: '    this.i32[base * 2 + PEND_COUNT] = 0;\n', replace: '' }],
    tests: ['store-pending.test.ts', 'hub-apply-kill.test.ts'],
    mustFail: ["a cluster-wide bucket takes each member's run as a pending run", 'keeps them exact with the cluster-wide buckets\' runs pending until their closes'],
  },
  {
    name: "hub: readers miss an open bucket's pending runs",
    what: "StoreReader's open sketch leaves out the pending runs: a cluster-wide series' open bucket reads with its count and without its members' bins",
    edits: [{ find: '    this.gatherPending(base, waiting);', replace: '' }],
    tests: ['store-pending.test.ts'],
    mustFail: ["a cluster-wide bucket takes each member's run as a pending run", 'past 13 runs a bucket adds the rest into its pages'],
  },
  {
    name: "hub: a recovered writer forgets an open bucket's pending runs",
    what: "recover() does not mark the open buckets that hold pending runs, so the close it finishes leaves PEND_COUNT standing and the next bucket merges those runs again",
    edits: [{ find: '      if (this.i32[ib + PEND_COUNT] !== 0) this.pendHeld[id] = 1;\n', replace: '' }],
    tests: ['hub-pending-kill-points.test.ts'],
    mustFail: ['keeps exact counts, sums and sketches when stopped at every entry to each step'],
  },
  {
    name: 'history: a point a piece, not a step',
    what: "a history that mixes stored rows and the memory's buckets makes a point of each piece, so that points of one minute repeat under a stepMs of 60 s",
    edits: [{ find: '      const at = Math.floor(piece.r.start / step);', replace: '      const at = cells.length;' }],
    tests: ['persistence.test.ts'],
    mustFail: ["gives a restarted monitor's history one point a minute over the stored partial minutes and its own buckets, every sample counted once"],
  },
  {
    name: 'alert rate sums a distribution',
    what: "a rule's rate of a gauge or a distribution is its sum a second, not its samples a second as getMetrics and reports give it",
    edits: [{ find: "        return (this.registry.info(b.id).kind === 'counter' ? sum! : count!) / seconds;", replace: '        return sum! / seconds;' }],
    tests: ['alert-rules.test.ts'],
    mustFail: ["judges a rate as getMetrics gives it: a distribution's samples per second, a counter's sum per second", 'computes each window aggregation over closed buckets'],
  },
  {
    name: 'minute sketches: waiting merges left behind the log head',
    what: "the records whose minute merges wait are merged only DEFER at a time or at their rollup, never when the log's head nears their runs: a series with few records loses them to the log",
    edits: [{ find: '    if (this.queuedCount === 0 || this.log.pos + 2 * len - this.oldest <= reach / 2) return;', replace: '    if (this.queuedCount >= 0) return;' }],
    tests: ['store-minutes-wait.test.ts'],
    mustFail: ['merge the records of a series that stopped'],
  },
  {
    name: 'hub: a frame joined at every chunk',
    what: "the frame reader joins everything it holds at every chunk of a frame that is not whole yet (a quadratic copy of a large batch)",
    edits: [{ find: '      if (this.bytes < this.need) break;', replace: '      if (this.bytes < this.need) {\n        this.buffered = [Buffer.concat(this.buffered, this.bytes)];\n        break;\n      }' }],
    tests: ['hub-faults.test.ts'],
    mustFail: ['is joined once when whole'],
  },
  {
    name: 'hub: no beat while a batch applies',
    what: "the hub's collector applies a member batch without beating: one that takes longer than the watchdog's grace gets it replaced",
    edits: [{ find: '      if ((i & BEAT_EVERY_BUCKETS) === BEAT_EVERY_BUCKETS) this.beat(this.clock());', replace: '      if ((i & BEAT_EVERY_BUCKETS) === -1) this.beat(this.clock());' }],
    tests: ['hub-faults.test.ts'],
    mustFail: ['beats while it applies a batch that takes longer'],
  },
  {
    name: 'idle collector sleeps in quarter seconds',
    what: "the collector's blocking sleep is capped at 250 ms again: an idle collector (and the watchdog) wakes five times a second, not once",
    edits: [{ find: 'const MAX_SLEEP_MS = 1_000;', replace: 'const MAX_SLEEP_MS = 250;' }],
    tests: ['wake-ups.test.ts'],
    mustFail: ['the collector, asleep in its blocking wait, promises its next beat a second ahead'],
  },
  {
    name: 'idle alert actor waits in quarter seconds',
    what: "the alert actor's wait is capped at 250 ms again: it wakes four more times a second than the closed buckets wake it",
    edits: [{ find: 'const MAX_WAIT_MS = 1_000;', replace: 'const MAX_WAIT_MS = 250;' }],
    tests: ['wake-ups.test.ts'],
    mustFail: ['the alert actor promises its next beat a second ahead'],
  },
  {
    name: 'a late tick does not ring',
    what: "the main thread's tick publishes the runtime samples quietly even when it ran past the boundary: they wait up to a second for the idle collector's next wake-up",
    edits: [{ find: 'return now % TICK_MS < TICK_MS - TICK_LEAD_MS - 2;', replace: 'return now % TICK_MS < 0;' }],
    tests: ['tick.test.ts'],
    mustFail: ['late, past the boundary: ringing the sleeping collector'],
  },
  {
    name: 'member takes an overtaken welcome',
    what: "a member takes every welcome, an older round of the same hub included: its batches carry a round the hub ignores and never arrive",
    edits: [{ find: "if (m.t === 'welcome' && m.hub === this.hubRun && m.round <= this.round) return;", replace: '// (break: every welcome taken)' }],
    tests: ['hub-welcome-order.test.ts'],
    mustFail: ['takes the newest round of a hub run'],
  },
  {
    name: "member orders a restarted hub's welcomes with the old one's",
    what: "a member compares a welcome's round with the last it took, whichever hub run sent it: a restarted hub (rounds from 1 again) is never heard",
    edits: [{ find: "if (m.t === 'welcome' && m.hub === this.hubRun && m.round <= this.round) return;", replace: "if (m.t === 'welcome' && m.round <= this.round) return;" }],
    tests: ['hub-welcome-order.test.ts'],
    mustFail: ['takes the newest round of a hub run'],
  },
  {
    name: '/metrics quantiles partial in silence',
    what: "the exposition's quantile windows no longer count the buckets whose sketch was gone: partial quantiles look whole",
    // Keeps the series' min and max (the quantiles' clamp), loses the count of what was missing.
    edits: [{ find: 'if (this.reader.addWindowSketch(id, from, Infinity, acc, span) > 0) this.partialQuantiles++;', replace: 'const lost = span.unsketched;\n      this.reader.addWindowSketch(id, from, Infinity, acc, span);\n      span.unsketched = lost;' }],
    tests: ['quantile-coverage.test.ts'],
    mustFail: ["carry the samples they stand for when the log lost older buckets' sketches"],
  },  {
    name: 'hub on disk: ack before the flush',
    what: 'a hub on SQLite acknowledges a batch once applied, before a flush holds it: killed before the flush, it loses what its members dropped',
    edits: [{ find: "    if (!this.durable) member.conn?.send({ t: 'ack', seq: m.seq });", replace: "    member.conn?.send({ t: 'ack', seq: m.seq });" }],
    tests: ['hub-durable.test.ts'],
    mustFail: ['between an apply and the flush'],
  },
  {
    name: "hub on disk: numbers outside the flush's transaction",
    what: "a hub's members' numbers commit in a transaction of their own before the flush's rows: a flush that fails leaves numbers for rows the disk lacks",
    edits: [{ find: 'const { rows } = this.persister.flush(began, last, seqs && (() => writeHubSeqs(this.db, seqs)));', replace: 'if (seqs) this.db.transaction(() => writeHubSeqs(this.db, seqs));\n      const { rows } = this.persister.flush(began, last);' }],
    tests: ['storage-hub-seqs.test.ts'],
    mustFail: ['a flush that fails writes neither'],
  },
  {
    name: 'hub on disk: numbers not written',
    what: "a flush leaves out the hub's members' numbers: a restarted hub welcomes a member with 0 and applies again what the disk holds",
    edits: [{ find: '        within?.();\n', replace: '' }],
    tests: ['hub-durable.test.ts'],
    mustFail: ['after a flush whose ack never reached the member'],
  },
  {
    name: 'hub on disk: numbers not loaded at start',
    what: "a hub on SQLite does not read its members' numbers back: it welcomes each member with 0 and applies again what the disk holds",
    edits: [{ find: 'for (const s of await this.disk.load()) {', replace: 'for (const s of (await this.disk.load()).slice(0, 0)) {' }],
    tests: ['hub-durable.test.ts'],
    mustFail: ['after a flush whose ack never reached the member'],
  },
  {
    name: 'hub on disk: a cut batch not finished before a flush',
    what: "a hub on SQLite flushes while a batch cut by a failed apply has part of its rows in the store: the file holds part of a batch its numbers do not cover",
    edits: [{ find: '    await this.finishCuts();\n    return this.durable.flush(last, () => this.cut.size > 0,', replace: '    return this.durable.flush(last, () => false,' }],
    tests: ['hub-durable.test.ts'],
    mustFail: ["with its collector killed in a batch's apply before a flush"],
  },
  {
    name: 'hub on disk: a stop without its numbers',
    what: "a hub on SQLite's last flush, at its stop, writes the rows applied since the flush before without their numbers",
    edits: [{ find: 'if (this.deps.driven && seqs) await this.flushSeqs(seqs, true);', replace: 'if (this.deps.driven && seqs) await this.flushSeqs([], true);' }],
    tests: ['hub-durable.test.ts'],
    mustFail: ['stopped cleanly with a batch applied and not yet flushed'],
  },
  {
    name: "hub on disk: the storage actor's own flush at a stop",
    what: "a hub's storage actor flushes at its stop as when not driven: with a batch cut, its rows applied so far go to disk without its number",
    edits: [{ find: 'if (!data.driven) work((s) => s.flush(true));', replace: 'work((s) => s.flush(true));' }],
    tests: ['hub-durable.test.ts'],
    mustFail: ['stopped cleanly while a batch stays cut'],
  },
  {
    name: 'hub on disk: numbers for the last flush while a batch stays cut',
    what: "a hub stopped with a batch cut still gives numbers for the storage's last flush: the cut batch's rows go to disk, and its resend to the next hub counts them twice",
    edits: [{ find: 'if (!this.durable || this.cut.size > 0) return null;', replace: 'if (!this.durable) return null;' }],
    tests: ['hub-durable.test.ts'],
    mustFail: ['stopped cleanly while a batch stays cut'],
  },
  {
    name: 'worker options keep what a Worker refuses',
    what: "with --input-type left out, the host's V8 options stay in the list given to our Workers, which Node refuses: start() fails in a host run as node --max-old-space-size=512 --input-type=module -e",
    edits: [{ find: '    return list.filter((a) => !refused.has(a));', replace: '    return refused.size < 0 ? [] : list;' }, { find: '    return list;\n  } catch', replace: '    return list;\n  } catch' }],
    tests: ['host-safety.test.ts'],
    mustFail: ['--max-old-space-size=512'],
  },
  {
    name: 'watchdog replaced without back-off',
    what: 'a watchdog thread that keeps dying is replaced at once every time: a loop that takes a core',
    edits: [{ find: '      if (this.losses.length <= WATCHDOG_FAST_RESTARTS) takeOver();', replace: '      if (this.losses.length >= 0) takeOver();' }],
    tests: ['watchdog-link.test.ts'],
    mustFail: ['replaces a watchdog that keeps dying'],
  },
  {
    name: 'option paths with dotted indices',
    what: "an option's path names an array's element as .0 (export.otlp.0.encodng) where recordBatch says samples[3].value",
    edits: [{ find: "typeof key === 'number' || /^\\d+$/.test(String(key)) ? `[${String(key)}]` :", replace: "false ? '' :" }],
    tests: ['bad-input.test.ts', 'instrument.test.ts'],
    mustFail: ['says option errors in plain words', 'a pool that is not piscina'],
  },
  {
    name: 'score parts without units',
    what: "the report's score parts lose their unit: a part's value, 100-at and 0-at read as bare numbers (2064, 0.02133, 49.68)",
    edits: [{ find: 'statistic: rule.statistic, unit: rule.unit, value,', replace: "statistic: rule.statistic, unit: '', value," }],
    tests: ['report-score.test.ts'],
    mustFail: ["says each part's unit, the unit of the metric it scores"],
  },
  {
    name: 'optimizer plans on too few samples',
    what: 'a step is planned on a target with fewer than MIN_SAMPLES samples in the window: one reading is its whole evidence',
    edits: [{ find: '    if (reading.count < MIN_SAMPLES) {\n      return this.skip(', replace: '    if (reading.count < 0) {\n      return this.skip(' }],
    tests: ['optimizer.test.ts'],
    mustFail: ['plans no step on fewer than MIN_SAMPLES samples'],
  },
  {
    name: 'optimizer texts without units',
    what: "a plan's why gives the target's mean without its unit (192 for 192 ms)",
    edits: [{ find: "  const unit = valueUnit(def.kind, def.unit);", replace: "  const unit = '';" }],
    tests: ['optimizer.test.ts'],
    mustFail: ['gives the target in its unit'],
  },
  {
    name: 'profile temp dirs of exited processes kept',
    what: 'the first profile a process writes into its own temporary directory no longer removes the directories exited processes left: a service restarted many times leaves as many',
    edits: [{ find: '      await reapExitedTempDirs(dirname(dir), OURS);\n', replace: '' }],
    tests: ['profile-temp-dirs.test.ts'],
    mustFail: ['removes what exited processes left'],
  },
  {
    name: 'profile temp dirs: a live process\'s reaped',
    what: 'the reaping of temporary profile directories takes every process as exited: a running service loses its profiles to another one',
    edits: [{ find: "    if (!(pid > 0) || pid === process.pid || processAlive(pid)) continue;", replace: "    if (!(pid > 0) || pid === process.pid) continue;" }],
    tests: ['profile-temp-dirs.test.ts'],
    mustFail: ['removes what exited processes left'],
  },
  {
    name: 'durable hub ignores a stopping member',
    what: "a hub on a database takes a member's stopping beat as any beat: the member's last batches wait for the hub's next flush, after the member has gone",
    edits: [{ find: '        this.flushFor(member);\n', replace: '' }],
    tests: ['hub-durable.test.ts'],
    mustFail: ['a member that stops cleanly: the hub flushes on its word'],
  },
  {
    name: 'flush of whole minutes reads a closing bucket twice',
    what: "a flush of whole minutes takes the open bucket that a close already published as its record: the samples go to disk twice",
    edits: [{ find: 'const open = s.openCount > 0 && s.openStart >= after && !closing(buckets, s.openStart);\n      if (this.reader.bucketCount(id, 1) !== head) continue;', replace: 'const open = s.openCount > 0 && s.openStart >= after;\n      if (this.reader.bucketCount(id, 1) !== head) continue;' }],
    tests: ['storage-close-read.test.ts'],
    mustFail: ['writes its samples once'],
  },
  {
    name: 'journal reads a closing bucket twice',
    what: "the journal takes the open bucket that a close already published as its record: the fold counts the samples twice",
    edits: [{ find: 'const open = s.openCount > 0 && s.openStart >= after && !closing(buckets, s.openStart);\n      if (open) {', replace: 'const open = s.openCount > 0 && s.openStart >= after;\n      if (open) {' }],
    tests: ['storage-close-read.test.ts'],
    mustFail: ['writes its samples once'],
  },
  {
    name: 'hub flush gate lets applies in during a flush',
    what: "an apply entering the hub's flush gate does not wait for the flush reading the store: the flush may hold part of a batch its numbers do not cover",
    edits: [{ find: '    while (this.flushing) await this.flushing;\n    this.inFlight++;', replace: '    this.inFlight++;' }],
    tests: ['hub-flush-gate.test.ts'],
    mustFail: ['applies that come meanwhile wait for the flush'],
  },
  {
    name: 'serve port flag read as a number',
    what: "`perfwatch serve --http 127.0.0.1:9555` answers 'got NaN' instead of what was given and where an address goes",
    edits: [{ find: 'if (!/^\\d{1,5}$/.test(value)) {', replace: 'if (false) {' }],
    tests: ['cli.test.ts'],
    mustFail: ['refuses unknown options and bad values with exit code 2, naming them'],
  },
  {
    name: 'chunks of full size whatever the series',
    what: "drain() no longer sizes a chunk by the series of the ring's last one: at 100 series every pass groups 32,768 slots in buffers that come back cold",
    edits: [{ find: 'const wide = reader.spread * CHUNK_PER_SERIES;', replace: 'const wide = CHUNK_MAX;' }],
    tests: ['store-chunks.test.ts'],
    mustFail: ["are 64 slots a series of the ring's last chunk when it has few series"],
  },
  {
    name: 'getMetrics rate sums gauges',
    what: "getMetrics divides every kind's sum by the seconds watched: a gauge's 1000 reads 1000/s, where reports count samples per second",
    edits: [{ find: "const rate = covered === null ? null : (info.kind === 'counter' ? agg.sum : agg.count) / covered;", replace: 'const rate = covered === null ? null : agg.sum / covered;' }],
    tests: ['query.test.ts'],
    mustFail: ['getMetrics gives the rate a report gives'],
  },
  {
    name: 'own names open to metric()',
    what: "Producer.metric() no longer refuses the monitor's own names: record('monitor_dropped', 1000) writes into the collector's series",
    edits: [{ find: "    this.reserved.check(name, 'name');\n    if (options.unit", replace: '    if (options.unit' }],
    tests: ['reserved-names.test.ts'],
    mustFail: ['are refused to record(), metric() and recordBatch()', "are refused to a worker thread's producer too", 'are refused to record_performance_metric'],
  },
  {
    name: 'own names open to batches',
    what: "a batch's new series skip the check of the monitor's own names: recordBatch and MCP samples write into heap_used",
    edits: [{ find: "    this.reserved.check(name, 'name');\n    const found = this.registry.prepare(name, tags);", replace: '    const found = this.registry.prepare(name, tags);' }],
    tests: ['reserved-names.test.ts'],
    mustFail: ['are refused to record(), metric() and recordBatch()', 'are refused to record_performance_metric'],
  },
  {
    name: "worker producers forget the sampled names",
    what: "attachProducer builds its producer without the handle's sampled names: a worker thread records into cpu_usage",
    edits: [{ find: 'new ReservedNames(handle.reserved)', replace: 'new ReservedNames()' }],
    tests: ['reserved-names.test.ts'],
    mustFail: ["are refused to a worker thread's producer too"],
  },
  {
    name: 'sampled names reserved with their sampler off',
    what: 'the system and runtime names are reserved whether or not their sampler runs: an application with system sampling off cannot record cpu_usage',
    edits: [{ find: "...(o.system.enabled ? SYSTEM_SERIES", replace: "...(true ? SYSTEM_SERIES" }],
    tests: ['reserved-names.test.ts'],
    mustFail: ['leave the sampled names to the application when their sampler is off'],
  },
  {
    name: 'record_performance_metric errors about name',
    what: "record_performance_metric passes the library's errors on as they are: they name `name`, an argument the tool does not have, instead of metric_type",
    edits: [{ find: "const field = error.field.replace(/(^|\\.)name$/, '$1metric_type');", replace: 'const field = error.field;' }],
    tests: ['reserved-names.test.ts'],
    mustFail: ['are refused to record_performance_metric, about metric_type'],
  },
  {
    name: 'sampled diagnoses from one reading',
    what: "the rules over sampled metrics judge from any reading: a fresh monitor's start-up reading of event_loop_utilization (1) is diagnosed as a blocked event loop",
    edits: [{ find: 'return m !== undefined && m.count >= DIAGNOSIS_MINIMUM.readings;', replace: 'return m !== undefined && m.count > 0;' }],
    tests: ['report-diagnoses.test.ts'],
    mustFail: ['wait for the readings and seconds they need'],
  },
  {
    name: 'GC share judged over any time',
    what: 'GC pressure reads its share of wall time from a window of any length: one 30 ms pause in the first 321 ms reads 9%',
    edits: [{ find: '  if (seconds >= DIAGNOSIS_MINIMUM.seconds) {\n    // Over the time the monitor watched', replace: '  if (seconds > 0) {\n    // Over the time the monitor watched' }],
    tests: ['report-diagnoses.test.ts'],
    mustFail: ['wait for the readings and seconds they need'],
  },
  {
    name: 'GC share over the whole range',
    what: 'GC pressure divides the pauses by the range asked for, not the part of it the monitor watched: 10% of 60 s watched reads 0.17% of an hour',
    edits: [{ find: 'const share = pausedMs / (seconds * 1000);', replace: 'const share = pausedMs / Math.max(1, window.to - window.from);' }],
    tests: ['report-diagnoses.test.ts'],
    mustFail: ['take the share of time in GC pauses over the time watched'],
  },
  {
    name: 'idle capture says the CPU went elsewhere of a blocked loop',
    what: "an idle CPU capture attached to a blocked event loop says the CPU went to other threads or processes, which contradicts the diagnosis: the capture missed the blocking",
    edits: [{ find: "return diagnosis === 'event-loop-blocked'", replace: "return diagnosis === 'no-such-diagnosis'" }],
    tests: ['report-captures.test.ts'],
    mustFail: ['says of an idle capture attached to a blocked event loop'],
  },
  {
    name: 'blocked loop with idle captures says not to capture again',
    what: 'a blocked event loop whose CPU captures all found the main thread waiting leads with opening an idle profile, not with capturing again while the loop is blocked',
    edits: [{ find: "d.id === 'event-loop-blocked' && mine.every(idle)", replace: 'false' }],
    tests: ['report-captures.test.ts'],
    mustFail: ['says of an idle capture attached to a blocked event loop'],
  },
  {
    name: 'rule on unmatched tags says nothing',
    what: "an alert rule whose tags no series of its metric has (a typo of a tag key or value) is created without a note: it never fires and nothing says why",
    edits: [{ find: ' ?? unmatchedTagsNote(created.metric, created.tags, this.registry.find(created.metric).map((id) => this.registry.info(id).tags));', replace: ';' }],
    tests: ['bad-input.test.ts'],
    mustFail: ['keeps a rule whose tags no series of its metric has'],
  },
  {
    name: 'optimizer says no window that holds enough samples',
    what: 'a knob skipped for too few samples of its target says "pass a longer window" without how long: the caller guesses (the own knob on monitor_overhead_cpu needs 110 s, not the default 60)',
    edits: [{ find: 'a change: ${longerWindow(windowMs, reading.count)}`', replace: 'a change: record it more often or pass a longer verificationWindowMs`' }],
    tests: ['optimizer.test.ts'],
    mustFail: ['plans no step on fewer than MIN_SAMPLES samples of the target'],
  },
  {
    name: 'history downsampling gives up after five rounds',
    what: 'get_metric_history scales its points by what is over for five rounds and then answers whatever it has: raw series cut below their samples gain columns, and two of 200 samples answered 9 KB of an 8 KB budget',
    edits: [{ find: 'points = Math.max(1, round === 0 ? scaled : Math.min(scaled, Math.floor(points / 2)));', replace: 'if (round === 4) return { structured, text };\n        points = Math.max(1, scaled);' }],
    tests: ['mcp-budgets.test.ts'],
    mustFail: ['keeps history within 8 KB where a cut grows the answer'],
  },
  {
    name: 'firing alert says no profile',
    what: "get_performance_alerts' text of a firing alert leaves out what its rule's capture found: the model sees the firing without the function to blame",
    edits: [{ find: 'const profiles = episodeProfiles(monitor, all);', replace: 'const profiles = new Map<string, never>();' }],
    tests: ['profile-fronts.test.ts'],
    mustFail: ["logs an alert's capture to the client"],
  },
  {
    name: 'alert history says no profile',
    what: "get_performance_alerts' history text leaves out the profile on a firing's entry (structuredContent alone carries it)",
    edits: [{ find: '${t.to} at ${valueText(t.value)}${profileText(t.profile)}`;', replace: '${t.to} at ${valueText(t.value)}`;' }],
    tests: ['profile-fronts.test.ts'],
    mustFail: ["logs an alert's capture to the client"],
  },
  {
    name: 'blocked loop sends to node --cpu-prof',
    what: "the event-loop diagnosis tells the user to profile with node --cpu-prof (a restart with a flag) instead of the monitor's own capture while the loop is blocked",
    edits: [{ find: "\"Profile the main thread while the loop is blocked (capture_performance_profile, monitor.profile({ kind: 'cpu' }), or a rule on event_loop_lag with capture: 'cpu', which takes one when it fires) and find the long synchronous functions.\",", replace: "'Profile the main thread under load (node --cpu-prof, or clinic flame) and find the long synchronous functions.'," }],
    tests: ['report-diagnoses.test.ts'],
    mustFail: ['event loop blocked: p99 lag over 100 ms'],
  },
  {
    name: 'anomaly baseline leaves spikes out',
    what: 'a spike found stays out of the baseline: a baseline of zeros never learns a blip that recurs, and each one is a spike at z = 5e11 (72 in ten minutes of a quiet cpu_iowait)',
    edits: [{ find: "if (kind !== 'sustained') flagged.fill(0, run.start, run.end);", replace: 'if (!kind) flagged.fill(0, run.start, run.end);' }],
    tests: ['report-anomaly.test.ts'],
    mustFail: ['learns spikes that recur'],
  },
  {
    name: 'anomaly scale has no floor of the level',
    what: 'a gauge that held still has a scale of a billionth of its level: a change of 0.0004 on 26.74 is a sustained anomaly at z = 15,000',
    edits: [{ find: 'const scale = Math.max(spread, Math.abs(median) * MIN_RELATIVE_SCALE, 1e-12);', replace: 'const scale = Math.max(spread, Math.abs(median) * 1e-9, 1e-12);' }],
    tests: ['report-anomaly.test.ts'],
    mustFail: ['takes no change under a thousandth of the level'],
  },
  {
    name: 'high error rate names no endpoint',
    what: 'the error-rate diagnosis says only the mean over every series: a route failing every request among healthy ones is not named',
    edits: [{ find: 'const failing = failingSeries(series, r.metric);', replace: 'const failing: SeriesStats[] = [];' }],
    tests: ['report-diagnoses.test.ts'],
    mustFail: ['high error rate names the endpoints that failed'],
  },
  {
    name: 'high error rate names hub members twice',
    what: "on a hub the error-rate diagnosis names each member's series of a route beside the cluster-wide one that holds their failures",
    edits: [{ find: 'return failing.filter((s) => s.tags.instance === undefined || !clusterWide.has(twinLabel(s.tags))).sort(', replace: 'return failing.sort(' }],
    tests: ['report-diagnoses.test.ts'],
    mustFail: ['high error rate on a hub names a route failing cluster-wide once'],
  },
  {
    name: 'high error rate from a few requests',
    what: 'the high-error-rate diagnosis needs no number of requests: one failed request of one is a critical "100% of requests failed"',
    edits: [{ find: 'const high = overall.mean >= r.overallWarning && overall.count >= r.minEvents;', replace: 'const high = overall.mean >= r.overallWarning;' }],
    tests: ['report-diagnoses.test.ts'],
    mustFail: ['high error rate names the endpoints that failed'],
  },
  {
    name: 'slow endpoints not diagnosed',
    what: 'no rule reads response_time per endpoint: a slow endpoint among fast requests gets no diagnosis, as the p95 of all requests hides it',
    edits: [{ find: 'poolSaturation, slowFormula, slowEndpoints];', replace: 'poolSaturation, slowFormula];' }],
    tests: ['report-diagnoses.test.ts'],
    mustFail: ['slow endpoints: one endpoint at p95 over 1 s is named'],
  },
  {
    name: 'report silent on the data it waits for',
    what: 'a report whose diagnoses waited for data has no note saying so: an empty diagnosis list reads as a healthy service',
    edits: [{ find: '  if (waiting !== null) notes.push(waiting);', replace: '' }],
    tests: ['report-diagnoses.test.ts'],
    mustFail: ['wait for the readings and seconds they need'],
  },
  {
    name: 'event loop summary with a question mark',
    what: "the event-loop diagnosis made from utilization alone prints its lag as 'p99 ? ms'",
    edits: [{ find: '`busy running JavaScript ${round(elu!.mean * 100)}% of the time`', replace: '`delayed (p99 ${lag ? round(lag.p99) : "?"} ms)`' }],
    tests: ['report-diagnoses.test.ts'],
    mustFail: ['never a "?"'],
  },
  {
    name: 'MCP report text silent on the data it waits for',
    what: "generate_performance_report's text leaves out the note that the diagnoses wait for data: an agent reads no diagnosis as a healthy service",
    edits: [{ find: '  for (const note of out.notes) if (note.startsWith(NOT_ENOUGH_DATA)) lines.push(note);', replace: '' }],
    tests: ['report-diagnoses.test.ts'],
    mustFail: ['wait for the readings and seconds they need'],
    name: 'sketch bins open at the top',
    what: 'a positive value exactly on a sketch bin edge (50, 100) keys into the bin above it: /metrics counts it one le bucket too high',
    edits: [{ find: 'return (high & BELOW_KEY) === 0 && high > 0 && words[lo] === 0 ? key - 1 : key;', replace: 'return key + 0 * (words[lo]! & BELOW_KEY);' }],
    tests: ['sketch.test.ts'],
    mustFail: ['reads every value from 2^-1022 to the largest double'],
  },
  {
    name: 'collector bins an edge sample above it',
    what: "the collector's sketch pages key a raw sample by its high word only: an exact edge goes to the bin above, though keyOf puts it below",
    edits: [
      { find: 'let key = (high & BELOW_KEY) === 0 && high > 0 && i32[at + LO_WORD] === 0 ? (high >>> KEY_SHIFT) - 1 : high >>> KEY_SHIFT;', replace: 'let key = high >>> KEY_SHIFT;' },
      { find: '        key = (high & BELOW_KEY) === 0 && high > 0 && i32[at + LO_WORD] === 0 ? (high >>> KEY_SHIFT) - 1 : high >>> KEY_SHIFT;', replace: '        key = high >>> KEY_SHIFT;' },
    ],
    tests: ['http-metrics.test.ts'],
    mustFail: ['counts a sample exactly on a bound in that bound'],
  },
  {
    name: 'serve help lists --help under Environment',
    what: '`perfwatch serve --help` puts "-h, --help" among the environment variables, not the options',
    edits: [{ find: '  -h, --help        this help\n\nEnvironment:\n', replace: '\nEnvironment:\n  -h, --help        this help\n' }],
    tests: ['cli.test.ts'],
    mustFail: ['only variables under Environment'],
  },
  {
    name: 'cluster workers share the default dataDir',
    what: "a node:cluster worker member given neither storage nor dataDir takes the SQLite default, ./perfwatch-data, which the primary holds: every worker's start() throws PW_ERR_STORAGE_LOCKED",
    edits: [{ find: "if (isClusterWorkerMember(o.hub) && options?.storage === undefined && options?.dataDir === undefined) o.storage = 'memory';", replace: "if (isClusterWorkerMember(o.hub) && options === null) o.storage = 'memory';" }],
    tests: ['hub.test.ts'],
    mustFail: ["docs/cluster.md's snippet as written"],
  },
  {
    name: 'HTTP 400 coded by its status',
    what: 'a bad query parameter the route refuses answers code HTTP_400, where the library\'s own refusal of the same request answers PW_ERR_INVALID_ARG (and docs/http.md shows that)',
    edits: [{ find: "this.code = status === 400 ? 'PW_ERR_INVALID_ARG' : `HTTP_${status}`;", replace: 'this.code = `HTTP_${status}`;' }],
    tests: ['http-api.test.ts'],
    mustFail: ['answers every bad parameter with the code PW_ERR_INVALID_ARG'],
  },
  {
    name: 'API refuses Host/Origin in JSON-RPC',
    what: 'a Host or Origin refused on /api/* or /metrics answers a JSON-RPC error, not the API\'s {error:{code,field,message}}',
    edits: [{ find: '(isMcpPath(req.url) ? jsonRpcRefusal(', replace: '(req.url !== undefined ? jsonRpcRefusal(' }],
    tests: ['http-api.test.ts'],
    mustFail: ['refuses a Host or an Origin off the list'],
  },
  {
    name: '/mcp refuses Host/Origin in the API shape',
    what: "the HTTP front's /mcp answers a refused Origin in the API's shape instead of JSON-RPC, unlike serveMcp",
    edits: [{ find: '(isMcpPath(req.url) ? jsonRpcRefusal(', replace: '(isMcpPath(req.url) && false ? jsonRpcRefusal(' }],
    tests: ['http-api.test.ts'],
    mustFail: ['refuses a Host or an Origin off the list'],
  },
  {
    name: 'close keys raw samples by the high word',
    what: "a bucket closed from its raw slots keys them by the high word only: an exact edge goes to the bin above, unlike keyOf and the collector's pages",
    edits: [{ find: 'const key = keyAt(i32, keyWord + 4 * (k & rawMask), keyWord + LO_WORD + 4 * (k & rawMask));', replace: 'const key = keyAt(i32, keyWord + 4 * (k & rawMask), keyWord + LO_WORD + 4 * (k & rawMask)) + (i32[keyWord + 4 * (k & rawMask)]! > 0 && (i32[keyWord + 4 * (k & rawMask)]! & 16383) === 0 && i32[keyWord + LO_WORD + 4 * (k & rawMask)] === 0 ? 1 : 0);' }],
    tests: ['store-close-raw.test.ts'],
    mustFail: ["counts its record's sketch from the raw ring"],
    name: 'CLI flag without its value taken as given',
    what: '`perfwatch serve --interval` (or `--interval --hub x`) is not refused as a flag without its value',
    edits: [{ find: "const missing = token.value === undefined || (!token.inlineValue && token.value.startsWith('--'));", replace: 'const missing = false;' }],
    tests: ['cli.test.ts'],
    mustFail: ['answers a missing value, a stray argument or a bad number'],
  },
  {
    name: 'CLI stray argument ignored',
    what: '`perfwatch serve extra-arg` runs, the argument ignored',
    edits: [{ find: "if (token.kind === 'positional') throw strayArgument(command, token.value);", replace: "if (token.kind === 'positional') continue;" }],
    tests: ['cli.test.ts'],
    mustFail: ['answers a missing value, a stray argument or a bad number'],
  },
  {
    name: 'CLI --interval read as a number',
    what: "`perfwatch serve --interval abc` says collectionIntervalMs got NaN instead of naming --interval and \"abc\"",
    edits: [{ find: "intFlag(args.interval, '--interval', INTERVAL_MIN, INTERVAL_MAX, 'ms')", replace: 'Number(args.interval)' }],
    tests: ['cli.test.ts'],
    mustFail: ['answers a missing value, a stray argument or a bad number'],
  },
  {
    name: "option errors in zod's words",
    what: 'an option error says zod\'s text ("Invalid input: expected boolean, received string") and the value twice',
    edits: [{ find: 'if (!ZOD_WORDING.test(issue.message)) return issue.message;', replace: 'return issue.message;' }],
    tests: ['bad-input.test.ts'],
    mustFail: ['says option errors in plain words'],
  },
  {
    name: 'unknown option without did-you-mean',
    what: 'an unknown option (colectionIntervalMs) is named without the option it likely meant',
    edits: [{ find: 'const hint = schema ? didYouMean(keys[0]!, knownKeys(schema, issue.path)) : \'\';', replace: "const hint = '';" }],
    tests: ['bad-input.test.ts', 'cli.test.ts'],
    mustFail: ['says option errors in plain words', 'names an unknown key of a --config file'],
  },
  {
    name: '--config unknown key unnamed',
    what: "the operator's --config file with an unknown key answers 'holds an option perfwatch does not know' without naming it",
    edits: [{ find: 'if (operators && /^[\\w$.-]{1,128}$/.test(option))', replace: "if (operators && option === '\\0')" }],
    tests: ['cli.test.ts'],
    mustFail: ['names an unknown key of a --config file'],
  },
  {
    name: 'recordRequest takes unknown fields',
    what: 'recordRequest({ responseTimeMs, success, bogus }) records and ignores bogus',
    edits: [{ find: '      if (!REQUEST_FIELDS.includes(key)) throw', replace: '      if (key === "\\0") throw' }],
    tests: ['bad-input.test.ts'],
    mustFail: ['refuses a request field it does not know'],
  },
  {
    name: 'kind mismatch in the old words',
    what: 'define() of a known name with another kind says "is a gauge in count"',
    edits: [{ find: 'return `a ${kind}${unit ? ` (unit: ${unit})` : \' (no unit)\'}`;', replace: "return `a ${kind}${unit ? ` in ${unit}` : ''}`;" }],
    tests: ['bad-input.test.ts'],
    mustFail: ['says a kind mismatch in words'],
  },
  {
    name: 'rule on an unnamed metric without a note',
    what: 'createAlertRule on a misspelled metric answers like any other rule: nothing says no metric has the name, nor the near one',
    edits: [{ find: '    return note === undefined ? created : { ...created, note };', replace: '    return note === undefined ? created : created;' }],
    tests: ['bad-input.test.ts', 'mcp-stdio.test.ts'],
    mustFail: ['keeps a rule on a metric no one has named yet, and notes it', 'keeps a rule on a metric no one has named yet, and says so'],
  },
  {
    name: 'MCP stopped error names start()',
    what: "record_performance_metric on a stopped monitor says the library's 'call start()' instead of naming start_performance_monitoring",
    edits: [{ find: 'if (error instanceof MonitorStoppedError && error.rule === LIBRARY_STOPPED.rule) error = MCP_STOPPED;', replace: "if (error instanceof MonitorStoppedError && error.rule === '\\0') error = MCP_STOPPED;" }],
    tests: ['mcp-stdio.test.ts'],
    mustFail: ['says over MCP what to call and what happened'],
  },
  {
    name: 'MCP resume said as started',
    what: 'start_performance_monitoring after a stop that kept the data answers "started", not "resumed"',
    edits: [{ find: ": resumed ? 'resumed' : started ? 'started' : 'already running';", replace: ": started ? 'started' : 'already running';" }],
    tests: ['mcp-stdio.test.ts'],
    mustFail: ['says over MCP what to call and what happened'],
  },
  {
    name: 'MCP alerts of any state said as "all alerts"',
    what: 'get_performance_alerts { state: "all" } says "1 all alert"',
    edits: [{ find: "${args.state === 'all' ? '' : `${args.state} `}alert", replace: '${args.state} alert' }],
    tests: ['mcp-stdio.test.ts'],
    mustFail: ['says over MCP what to call and what happened'],
  },
  {
    name: 'MCP tag limit without the count',
    what: 'record_performance_metric with 17 tags says "tags must have at most 16 tags" without how many it got',
    edits: [{ find: 'error: (issue) => `has ${Object.keys(issue.input as object).length} tags; the limit is maxTags ${l.maxTags}`', replace: 'error: `must have at most ${l.maxTags} tags`' }],
    tests: ['mcp-stdio.test.ts'],
    mustFail: ['says over MCP what to call and what happened'],
  },
  {
    name: 'window without its watched part',
    what: 'getMetrics and get_performance_metrics over a window longer than the monitor has run say nothing of it, so its count reads as the whole window\'s',
    edits: [{ find: '    const short = covered === null || covered <= seconds - interval / 1000 ? { coveredSeconds: Math.round((covered ?? 0) * 10) / 10 } : {};', replace: '    const short = {};' }],
    tests: ['query.test.ts', 'mcp-budgets.test.ts'],
    mustFail: ['divide by the time the window covers: the part the monitor watched, up to now', "says how much of a window reaching past the monitor's start it watched, and where the rest is"],
  },
  {
    name: "profiles in a dataDir another process holds",
    what: "a monitor that could not take its dataDir's lock writes its profiles into that directory and prunes the holder's files to its own maxFiles",
    edits: [{ find: 'storage ? () => (storage.holdsLock ? dataDirProfiles : ownDir) : ownDir;', replace: 'storage ? () => dataDirProfiles : ownDir;' }],
    tests: ['profiling.test.ts'],
    mustFail: ["are written only while the monitor holds the dataDir's lock: one that could not take it leaves the holder's files alone"],
  },
  {
    name: 'CLI profile says the MCP argument',
    what: "perfwatch profile tells the user to 'pass top (up to N)', the MCP tool's argument, where the CLI takes --top",
    edits: [{ find: '(_, n: string) => ` shown: pass --top ${Math.min(Number(n), 100)} for more.`', replace: "(_, n: string) => ` shown: pass top (up to ${n}) for more.`" }],
    tests: ['profile-fronts.test.ts'],
    mustFail: ['prints the summary of a running service, the hot function first'],
  },
  {
    name: 'export retries a bad port forever',
    what: "an exporter whose URL has a port fetch never connects to (6000) retries each request with backoff forever, its samples never counted as failed",
    edits: [{ find: '      if (cause !== BAD_PORT) return RETRY;', replace: '      if (cause !== BAD_PORT || cause === BAD_PORT) return RETRY;' }],
    tests: ['export-remote-write.test.ts'],
    mustFail: ['counts an export to a port fetch never connects to as failed, says so, and does not retry it'],
  },
  {
    name: 'idle capture headline names a culprit',
    what: "a CPU capture of a main thread idle in 97% of samples heads with its top function's 3%, as if that function were the cause",
    edits: [{ find: '  if (s.idle >= IDLE_HEADLINE_SHARE) return', replace: '  if (s.idle > 1) return' }],
    tests: ['cpu-headline.test.ts'],
    mustFail: ['leads with the idle share when the main thread mostly waited, naming no culprit'],
  },
  {
    name: 'a torn read marks a series written',
    what: "a flush whose every read of a series met one of its closes keeps the series' sample count as written: if no sample comes after, the file never gets them",
    edits: [{ find: '  state.total = -1;\n  return 0;', replace: '  return 0;' }],
    tests: ['storage-close-read.test.ts'],
    mustFail: ['leaves its samples to the next flush, which writes them though no sample came since'],
  },
  {
    name: 'a forgotten member gets round 1 again',
    what: "a hub numbers each member's welcomes from 1 in its record: a member forgotten after dropMs and back is welcomed with a round it already took from this hub, ignores it, and is never welcomed again",
    edits: [{ find: "    member.round = ++this.rounds;\n    member.conn?.send(this.welcomeOf(member));", replace: "    member.round++;\n    member.conn?.send(this.welcomeOf(member));" }],
    tests: ['hub-forget.test.ts'],
    mustFail: ['a member forgotten while its link stays open has the link reset'],
  },
  {
    name: 'a forgotten member keeps its link',
    what: "a hub forgets a member silent past dropMs and leaves its open link as it is: the member's next batch on it is a protocol breach (batch before hello), counted malformed",
    edits: [{ find: '          conn.reset(`forgotten after ${idle} ms', replace: '          if (Date.now() < 0) conn.reset(`forgotten after ${idle} ms' }],
    tests: ['hub-forget.test.ts'],
    mustFail: ['a member forgotten while its link stays open has the link reset'],
  },
  {
    name: "a hub's report counts members twice",
    what: "a report on a hub merges each member's series into the metric's summary beside the cluster-wide series that holds the same samples: counts, rates and the diagnoses' numbers doubled",
    edits: [{ find: '      if (!twins.has(info.id)) {', replace: '      if (twins.size >= 0) {' }],
    tests: ['hub-report.test.ts'],
    mustFail: ["counts each member's samples once in a metric's summary"],
  },
  {
    name: "a hub's report is not told it is a hub's",
    what: 'the monitor does not tell its report service that it is a hub: every member sample counts twice in the metric summaries',
    edits: [{ find: '      ...(o.hub !== undefined && isHubSide(o.hub) ? { hub: true } : {}),', replace: '' }],
    tests: ['hub-report.test.ts'],
    mustFail: ["counts each member's samples once in a metric's summary"],
  },
  {
    name: "our threads inherit the host's --input-type",
    what: "the watchdog, the actors, the report pool and the exposition worker start with the host's execArgv whole: in a host run as node --input-type=module -e, Node ends each at once, the watchdog is started again in a loop, and start() never settles",
    edits: [{ find: "    if (a.startsWith('--input-type=')) continue;", replace: '' }],
    tests: ['host-safety.test.ts'],
    mustFail: ['starts in a host run as `node --input-type=module -e`'],
  },
  {
    name: 'a refused member redials every 100 ms',
    what: "a member's socket backoff starts over at every connect: a hub that refuses the member (its options differ) accepts each connection, so the member dials, says hello and is refused every 100 ms for good",
    edits: [{ find: '    socket.once(\'connect\', () => {\n      this.open = true;\n', replace: '    socket.once(\'connect\', () => {\n      this.open = true;\n      this.retryMs = FIRST_RETRY_MS;\n' }],
    tests: ['hub-refused.test.ts'],
    mustFail: ['tries again at its backoff'],
  },
  {
    name: "a hub's listen error is Node's",
    what: "a hub that cannot listen (its folder missing) fails with Node's bare `listen EACCES: permission denied`: no field, no path's folder, and the CLI prints a stack",
    edits: [{ find: "      server.once('error', (error) => reject(listenError(this.address, 'hub.listen', error)));", replace: "      server.once('error', reject);" }],
    tests: ['hub-listen.test.ts'],
    mustFail: ['in a folder that does not exist, or under a file'],
  },
  {
    name: 'a member stale between its batches',
    what: "a hub judges a member's silence by staleMs alone: with an interval longer than it, a member that speaks once an interval is stale between its batches",
    edits: [{ find: '    const staleMs = Math.max(this.d.options.staleMs, STALE_INTERVALS * this.d.intervalMs);', replace: '    const staleMs = this.d.options.staleMs;' }],
    tests: ['hub-stale.test.ts'],
    mustFail: ['is live all along, neither stale nor forgotten'],
  },
  {
    name: 'a member is not told of an entry refused',
    what: "the hub names an entry it refused (a kind clash, a tag instance) in its own status only: the member's status says its rows were sent, with no error",
    edits: [{ find: "    member.conn?.send({ t: 'refused', message: member.lastError.message });", replace: '' }],
    tests: ['hub-refused.test.ts'],
    mustFail: ["is named in the member's own status too"],
  },
  {
    name: "getBaselines takes any options",
    what: "getBaselines() passes its options to the report pool unchecked: a progress listener that is no function is ignored, a signal that is no AbortSignal fails as a TypeError in a ReportFailedError",
    edits: [
      {
        find: "    const parsed = BaselineOptionsSchema.safeParse(options ?? {});\n    if (!parsed.success) throw toInvalidArgument(parsed.error, options ?? {}, '', 'option', BaselineOptionsSchema);\n    const { offset = 0, limit = Infinity } = parsed.data;",
        replace: "    const parsed = { data: options ?? {} };\n    const { offset = 0, limit = Infinity } = parsed.data;",
      },
    ],
    tests: ['reports.test.ts'],
    mustFail: ["refuses getBaselines()'s bad options"],
  },
  {
    name: 'a watchdog that cannot start is started forever',
    what: 'a watchdog thread that ends before a word (a preload that throws in a Worker) is started again for good: a loop on a core, and start() never settles',
    edits: [{ find: '      if (!heard && ++this.stillborn >= MAX_STILLBORN) {', replace: '      if (!heard && ++this.stillborn >= Infinity) {' }],
    tests: ['host-safety.test.ts'],
    mustFail: ['when no watchdog thread can start'],
  },
  {
    name: 'start() does not keep the host alive',
    what: "a host that awaits start() and nothing else ends with it unsettled (exit code 13) while a thread of ours that could not start is replaced: our threads and ports keep no process alive",
    edits: [{ find: '    const alive = setInterval(() => {}, 60_000);', replace: '    const alive = setInterval(() => {}, 60_000).unref();' }],
    tests: ['host-safety.test.ts'],
    mustFail: ['when no watchdog thread can start'],
  },
  {
    name: 'an unanswered hello is never said again',
    what: "a member whose hello got no welcome says it again only on a new link: a cluster worker's hello on the channel while the primary's hub is stopped reaches nobody, and the worker holds every batch from then on",
    edits: [{ find: '    } else if (this.connected && !this.welcomed && !this.refused && Date.now() - this.helloAt >= this.d.intervalMs) {', replace: '    } else if (Date.now() < 0) {' }],
    tests: ['hub-cluster-hub-restart.test.ts'],
    mustFail: ["gets every worker's samples, before, during and after"],
  },
  {
    name: "a cluster hub started again tells no worker its socket",
    what: "a cluster hub started again keeps the workers it told its socket's path before: they never hear of its new socket, and every batch crosses the channel as base64 in JSON",
    edits: [{ find: '    this.told = new WeakSet<Worker>();\n    this.reclaimed', replace: '    this.reclaimed' }],
    tests: ['hub-cluster-hub-restart.test.ts'],
    mustFail: ["gets every worker's samples, before, during and after"],
  },
  {
    name: "a cluster worker keeps the primary's first socket",
    what: "a cluster worker takes the first socket path it is told and ignores a new one: after its hub started again, it dials the old path (gone) for good and stays on the channel",
    edits: [{ find: "        if (typeof path === 'string' && path !== this.path) {", replace: "        if (typeof path === 'string' && this.path === undefined) {" }],
    tests: ['hub-cluster-hub-restart.test.ts'],
    mustFail: ["gets every worker's samples, before, during and after"],
  },
  {
    name: "an idle member's lag grows",
    what: "a hub takes a member's beat as a sign of life only: an idle member, every batch applied, reads as further behind every second (lagMs, monitor_hub_lag_ms)",
    edits: [{ find: '      if (m.seq !== undefined && m.closedTo !== undefined && m.seq === member.acked && m.closedTo > member.closedTo) member.closedTo = m.closedTo;', replace: '' }],
    tests: ['hub-stale.test.ts'],
    mustFail: ['an idle member, every batch applied, is not behind'],
  },
  {
    name: 'the score table says no unit',
    what: "the Markdown report's score table shows each part's value and thresholds without a unit (2064 beside 0.02133 beside 49.68: ms, ratio, percent)",
    edits: [{ find: "  row(['part', 'metric', 'statistic', 'unit', 'value', '100 at', '0 at', 'weight', 'score']);", replace: "  row(['part', 'metric', 'statistic', 'value', '100 at', '0 at', 'weight', 'score']);" }],
    tests: ['report-score.test.ts'],
    mustFail: ["says each part's unit"],
  },
  {
    name: 'a forgotten member welcomed with 0',
    what: "a hub on memory forgets the numbers of a member it forgot: welcomed back with 0, the member's earlier seqs count as dropped",
    edits: [{ find: '    const acked = left?.epoch === epoch ? left.acked : 0;', replace: '    const acked = 0;' }],
    tests: ['hub-forget.test.ts'],
    mustFail: ['a member forgotten while its link stays open'],
  },
  {
    name: 'a forgotten member acknowledged before the flush',
    what: "a hub on a database welcomes a member it forgot with what it applied, not what a flush holds: the member drops batches the disk does not have",
    edits: [{ find: 'acked: applied, saved: committed,', replace: 'acked: applied, saved: applied,' }],
    tests: ['hub-durable.test.ts'],
    mustFail: ['a member forgotten with a batch applied and not yet flushed'],
  },
  {
    name: 'a stopping member left live',
    what: "a hub takes a member's stopping beat as any beat: a member that stopped cleanly reads live, then stale",
    edits: [{ find: '        member.stopped = true;\n', replace: '' }],
    tests: ['hub-stale.test.ts'],
    mustFail: ['a member that stops cleanly with nothing to send is marked stopped'],
  },
  {
    name: 'two members under one name',
    what: "a hub takes a second process under a live member's name for its restart: their links reset in turn and their buckets count under one name",
    edits: [{ find: '    if (member && member.epoch !== m.epoch && member.conn !== undefined && member.conn !== conn && !member.stale && !member.stopped) {', replace: '    if (false) {' }],
    tests: ['hub-refused.test.ts'],
    mustFail: ["a second process under a live member's name is refused"],
  },
  {
    name: "members' runtime series stay home",
    what: "a member sends none of the monitor's own series: the hub has no member's event loop or heap, and its report cannot say which member's loop is blocked",
    edits: [{ find: 'registry.isOwn(id) && !this.d.perProcess.has(registry.info(id).name)', replace: 'registry.isOwn(id)' }],
    tests: ['hub-report.test.ts'],
    mustFail: ["has each member's own runtime series"],
  },
  {
    name: 'a flush rewrites every member number',
    what: "a hub on a database writes every member epoch it ever saw at each flush, not those that moved: one more row a flush at each member restart, for good",
    edits: [{ find: 'return c === undefined || c.epoch !== s.epoch || c.acked !== s.acked;', replace: 'return true;' }],
    tests: ['hub-flush-gate.test.ts'],
    mustFail: ['a flush writes only the numbers that moved'],
  },
  {
    name: 'the status answer says nothing of the hub',
    what: "get_monitoring_status on a hub or a member leaves the link out of its text",
    edits: [{ find: '    ...hubLines(status.hub),\n', replace: '' }],
    tests: ['hub-status-answer.test.ts'],
    mustFail: ["a hub's members and a member's link, over MCP from the hub"],
  },
  {
    name: 'a page summarises every series',
    what: 'getMetrics with offset and limit summarises every series and cuts the list after: /api/metrics holds the host thread for a second at 20,000 series',
    edits: [{ find: '      if (at < offset || at >= offset + limit) return;\n      const read = this.consistentWindow(id, spanStart, seconds, from);\n', replace: '      const read = this.consistentWindow(id, spanStart, seconds, from);\n      if (at < offset || at >= offset + limit) return;\n' }],
    tests: ['query.test.ts'],
    mustFail: ['is the same series as the whole list cut there'],
  },
  {
    name: 'PM2 processes named by pid',
    what: 'a process under PM2 is named host:pid: each restart a new member on the hub, with a new set of series',
    edits: [{ find: '  if (env.pm_id === undefined) return undefined;', replace: '  return undefined;' }],
    tests: ['process-name.test.ts'],
    mustFail: ['names a hub member started by PM2'],
  },
  {
    name: 'cluster workers named by id',
    what: "a cluster hub ignores a default-named worker's id: each replacement of a dead worker is a new member with a new set of series, until maxSeries",
    edits: [{ find: "const slotName = m.worker !== undefined ? this.d.transport.memberName?.(m.worker) : undefined;", replace: 'const slotName = undefined;' }],
    tests: ['hub.test.ts'],
    mustFail: ["a worker left to its default name is named by its slot"],
  },
  {
    name: 'score from start-up readings',
    what: "a sampled part (cpu, memory, event loop) is scored from its first readings: a fresh monitor's report scores its own start-up",
    edits: [{ find: "Number.isFinite(value) && note === undefined ?", replace: 'Number.isFinite(value) ?' }],
    tests: ['report-score.test.ts'],
    mustFail: ['scores a sampled metric only from the readings the diagnoses wait for'],
  },
  {
    name: 'score from alerts alone',
    what: 'alerts that never fired make an overall score alone: a fresh monitor scores 100 before any reading counts',
    edits: [{ find: 'overall: measured && weights > 0 ?', replace: 'overall: weights > 0 ?' }],
    tests: ['report-score.test.ts'],
    mustFail: ['scores a sampled metric only from the readings the diagnoses wait for'],
  },
  {
    name: 'instrument: unknown paths take the route cap',
    what: "a 4xx (404, 400, 405, 401) that no framework routed takes a place under its normalised path, not `unmatched`: a scanner's 2,000 paths fill the cap and the service's real routes fall into `other`",
    edits: [{ find: 'this.byPath(url, !isClientError(status))', replace: 'this.byPath(url, true)' }],
    tests: ['instrument.test.ts'],
    mustFail: ['files 404s of paths not proven a route under "unmatched"', 'files 400 and 405 answers of paths not proven a route', 'files the 401s of an auth layer'],
  },
  {
    name: 'instrument: aborts on unknown paths take the route cap',
    what: 'an abort that no framework routed takes a place under its normalised path: clients that hang up on 2,000 made-up paths fill the cap and the routes met after them fall into `other`',
    edits: [{ find: '?? this.byPath(url, false);', replace: '?? this.byPath(url, true);' }],
    tests: ['instrument.test.ts'],
    mustFail: ['files aborts on paths not proven a route'],
  },
  {
    name: 'instrument: a known route loses its 4xx',
    what: "a 4xx or abort without a framework's route goes to `unmatched` even when its path's route is in the table: /users/:id's 400s, 401s, 404s and aborts leave it",
    edits: [{ find: 'const entry = claim ? this.routes.get(route) : this.routes.find(route);', replace: 'const entry = claim ? this.routes.get(route) : undefined;' }],
    tests: ['instrument.test.ts'],
    mustFail: ['a known route keeps its own 4xx', 'files 404s of paths not proven a route', 'files the 401s of an auth layer', 'files aborts on paths not proven a route'],
  },
  {
    name: 'instrument: unmatched aborts not counted',
    what: "an abort filed under `unmatched` is left out of status().instrument.httpServer.unmatched, which then undercounts what went there",
    edits: [{ find: '    if (entry === undefined) this.unmatched++;\n', replace: '' }],
    tests: ['instrument.test.ts'],
    mustFail: ['files aborts on paths not proven a route', 'counts a request whose client went away before the response apart'],
  },
  {
    name: 'export: Retry-After ignored',
    what: "an exporter retries a 429 or 503 after its own backoff whatever the receiver's Retry-After asks: a receiver shedding load is hit again within milliseconds",
    edits: [{ find: "askedMs: retryAfterMs(response.headers.get('retry-after'), Date.now())", replace: 'askedMs: undefined' }],
    tests: ['export-remote-write.test.ts'],
    mustFail: ['waits as long as a 429 asks with Retry-After before the next attempt'],
  },
  {
    name: 'alert rules without a limit',
    what: 'createAlertRule never checks maxAlertRules: the library, the MCP tool over stdio and over HTTP add rules without bound',
    edits: [{ find: '    if (held >= this.deps.maxRules) {', replace: '    if (held < 0) {' }],
    tests: ['alert-rule-limit.test.ts'],
    mustFail: ['refuses a rule past the limit through the library', 'refuses the MCP tool past the limit over stdio', 'refuses the MCP tool past the limit over HTTP'],
  },
  {
    name: 'report --token ignored',
    what: '`perfwatch report --url` sends only PERFWATCH_TOKEN, not the --token it was given: an endpoint with a token cannot be reached by the flag',
    edits: [{ find: '    const remote = await connectRemote(client, url, args.token ?? (process.env[TOKEN_ENV] || undefined));', replace: '    const remote = await connectRemote(client, url, process.env[TOKEN_ENV] || undefined);' }],
    tests: ['cli.test.ts'],
    mustFail: ['report --token sends that token to an endpoint that requires one'],
  },
  {
    name: 'notification deliveries not kept',
    what: 'a delivery is queued and posted without its outbox row: a process killed while a firing waits for a receiver loses it, and the next start sends nothing',
    edits: [{ find: 'if (fingerprint !== undefined && status !== undefined && this.outbox) {', replace: 'if (fingerprint !== undefined && status !== undefined && this.outbox && status === undefined) {' }],
    tests: ['notify-outbox.test.ts'],
    mustFail: ['a firing that waited for a receiver refusing it', 'keeps what waits at close() for the next start'],
  },
  {
    name: 'held resolutions not kept',
    what: 'a resolution held by resolveHoldMs is not written to the outbox: a process killed during the hold never sends it, and the incident stays open',
    edits: [{ find: "    this.record({ op: 'put-outbox', row: this.holdRow(fingerprint, held) });\n", replace: '' }],
    tests: ['notify-outbox.test.ts'],
    mustFail: ['a resolution held when the process died', 'drops a held resolution it restored when the alert fires again'],
  },
  {
    name: 'notification counts not kept per target',
    what: "a target's own counts never move: status().alerts.notifications.targets shows every webhook idle while one fails",
    edits: [{ find: '    target.stats[outcome]++;\n', replace: '' }],
    tests: ['webhooks.test.ts'],
    mustFail: ['says per target what became of its deliveries'],
  },
  {
    name: 'Retry-After ignored',
    what: 'a 429 or 503 with Retry-After is retried at the computed backoff, hammering a receiver that asked for a pause',
    edits: [{ find: 'const wait = answer > backoff ? Math.min(answer, RETRY_AFTER_MAX_MS) : backoff;', replace: 'const wait = backoff;' }],
    tests: ['webhooks.test.ts'],
    mustFail: ['waits as long as a 429 or 503 asks with Retry-After'],
  },
  {
    name: 'Retry-After uncapped',
    what: 'a receiver answering Retry-After: 86400 holds its queue for a day',
    edits: [{ find: 'const wait = answer > backoff ? Math.min(answer, RETRY_AFTER_MAX_MS) : backoff;', replace: 'const wait = answer > backoff ? answer : backoff;' }],
    tests: ['webhooks.test.ts'],
    mustFail: ['caps what Retry-After may ask at RETRY_AFTER_MAX_MS'],
  },
  {
    name: 'outbox rows restored unchecked',
    what: "a start restores every outbox row as it reads it: a damaged hold, sent when due, throws from a timer into the host",
    edits: [{ find: '        if (isOutboxRow(row)) rows.push(row);', replace: '        if (row) rows.push(row as OutboxRow);' }],
    tests: ['notify-outbox.test.ts'],
    mustFail: ['deletes, and does not restore, outbox rows it cannot use'],
  },
  {
    name: 'outbox attempts not restored',
    what: "a start queues a restored delivery with its attempts at 0: a receiver down across restarts is tried maxAttempts times per start, for ever",
    edits: [{ find: 'this.queue(target, { body: row.body, attempt: row.attempt,', replace: 'this.queue(target, { body: row.body, attempt: 0,' }],
    tests: ['notify-outbox.test.ts'],
    mustFail: ["carries a delivery's attempts over a restart"],
  },
  {
    name: 'alert sink port holds the host',
    what: "the alert and storage actors' callback port stays ref'd: a host whose own work is done never ends while its monitor runs",
    edits: [{ find: '    port1.unref();\n', replace: '' }],
    tests: ['host-safety.test.ts'],
    mustFail: ['lets a host whose own work is done end with its monitor running'],
  },
  {
    name: 'watchdog worker unref before its listener',
    what: "the watchdog worker is unref'd before its 'message' listener, which refs its port again: a host whose own work is done never ends while its monitor runs",
    edits: [
      { find: '    const worker = new Worker(this.url, { execArgv: workerExecArgv() });\n', replace: '    const worker = new Worker(this.url, { execArgv: workerExecArgv() });\n    worker.unref();\n' },
      { find: "    // After the listener: a 'message' listener refs the worker's port, which unref() then lets go.\n    worker.unref();\n", replace: '' },
    ],
    tests: ['host-safety.test.ts'],
    mustFail: ['lets a host whose own work is done end with its monitor running'],
  },
  {
    name: 'no stop at host exit',
    what: "a running monitor is not stopped when its host's event loop empties: the host ends with the samples since the last flush unwritten and the dataDir's lock left behind",
    edits: [{ find: '    stopAtHostExit(this);\n', replace: '' }],
    tests: ['host-safety.test.ts'],
    mustFail: ['lets a host whose own work is done end with its monitor running'],
  },
  {
    name: 'actor calls do not hold the host',
    what: "a control call on an actor does not hold the host's event loop while it waits: a host awaiting createAlertRule() and nothing else reaches 'beforeExit', which stops its monitor under it",
    edits: [{ find: '    return holding(this.callNow(fn, retry));', replace: '    return this.callNow(fn, retry);' }],
    tests: ['host-safety.test.ts'],
    mustFail: ['lets a host whose own work is done end with its monitor running'],
  },
  {
    name: 'alert without a value answered as NaN',
    what: "an alert resolved by an empty window is answered with its NaN value: get_performance_alerts (state resolved or all) fails its own output schema",
    edits: [{ find: '    ...valueOf(a.value),\n', replace: '    value: a.value,\n' }],
    tests: ['mcp-alerts-no-data.test.ts'],
    mustFail: ['lists the resolved alert and its history, without a value'],
  },
  {
    name: 'metrics offset ignored',
    what: "get_performance_metrics takes offset but reads from the first series: every page is the first one, and the series past a page's limit are out of an agent's reach",
    edits: [{ find: 'page = host.monitor.getMetrics({ ...query, offset, limit: args.limit ?? FIRST_PAGE });', replace: 'page = host.monitor.getMetrics({ ...query, limit: args.limit ?? FIRST_PAGE });' }],
    tests: ['mcp-metrics-page.test.ts'],
    mustFail: ['pages through every series with offset'],
  },
  {
    name: 'history offset ignored',
    what: "get_metric_history takes offset but answers from the first series: every page is the first one, and the series past 100 are out of an agent's reach but through a tag filter",
    edits: [{ find: '          return { ...history, series: history.series.slice(offset) };', replace: '          return { ...history, series: history.series.slice(0, args.limit) };' }],
    tests: ['mcp-metrics-page.test.ts'],
    mustFail: ['get_metric_history pages through every series with offset'],
  },
  {
    name: 'a zombie owns the lock',
    what: "processAlive counts a zombie (an ended process its parent has not reaped) as running: a restarted service finds its dataDir locked by its own dead predecessor",
    edits: [{ find: '  return !zombie(pid);', replace: '  return true;' }],
    tests: ['storage.test.ts'],
    mustFail: ['takes over the lock of a process that ended but whose parent has not reaped it yet'],
  },
  {
    name: 'mounts found by df on Linux',
    what: "the system sampler finds the mounts with systeminformation's fsSize on Linux too: the collector's thread spawns df, blocks while it starts, and leaves a zombie when it is replaced meanwhile",
    edits: [{ find: "      if (this.platform === 'linux-proc') this.add('/proc/self/mounts', 'slow', false);", replace: "      if (this.platform !== this.platform) this.add('/proc/self/mounts', 'slow', false);" }],
    tests: ['monitor.test.ts'],
    mustFail: ['samples system and runtime metrics by itself'],
  },
  {
    name: 'mounts of one device each',
    what: "/proc/self/mounts' bind mounts of one device (a container's /etc/hosts) are each watched as a disk",
    edits: [{ find: '    if (seen !== undefined && seen.length <= mount.length) continue;', replace: '    if (seen === mount) continue;' }],
    tests: ['system-read.test.ts'],
    mustFail: ['finds the local storage in'],
  },
  {
    name: 'a refused token said as unreachable',
    what: "perfwatch report / profile --url say they cannot reach an endpoint that answered 401: the user looks for another URL instead of the token",
    edits: [{ find: "  if (e.status === 401 || e.name === 'UnauthorizedError') {", replace: '  if (e.status === -1) {' }],
    tests: ['cli.test.ts'],
    mustFail: ['report --url sends PERFWATCH_TOKEN to an endpoint that has a token', 'report --token sends that token to an endpoint that requires one'],
  },
  {
    name: 'makeDirs through recursive mkdir',
    what: "a directory is made with Node's recursive mkdir: a dataDir or profile directory under /proc (or through a dangling symlink) spins a libuv thread forever and start() never settles",
    edits: [{ find: '  for (const d of missing.reverse()) await mkdir(d).catch(existing);', replace: '  await mkdir(dir, { recursive: true });' }],
    tests: ['make-dirs.test.ts'],
    mustFail: ['answers ENOENT under /proc, async and sync', "a monitor's start() on a dataDir under /proc", 'a capture whose profile directory is under /proc'],
  },
  {
    name: 'makeDirsSync through recursive mkdir',
    what: "the storage actor remakes a vanished dataDir with Node's recursive mkdirSync: under /proc its thread spins forever",
    edits: [{ find: '      mkdirSync(d);', replace: '      mkdirSync(dir, { recursive: true });' }],
    tests: ['make-dirs.test.ts'],
    mustFail: ['answers ENOENT under /proc, async and sync'],
  },
  {
    name: 'mcp serves after its monitor started',
    what: '`perfwatch mcp` awaits its monitor\'s start before it serves stdio: a client gets no answer to initialize (nor tools/list, nor the status) until the start is done, which on a large dataDir outlasts its wait',
    edits: [
      { find: "  const serving = serveFrontOverStdio(front);\n  if (!args['no-start']) {\n    host.launch().catch(", replace: "  if (!args['no-start']) {\n    await host.launch().catch(" },
      { find: '  const stop = async (): Promise<void> => {\n    await serving.close();', replace: '  const serving = serveFrontOverStdio(front);\n  const stop = async (): Promise<void> => {\n    await serving.close();' },
    ],
    tests: ['mcp-start.test.ts'],
    mustFail: ['answers initialize, tools/list and the status while the start is under way'],
  },
  {
    name: 'tool calls do not wait for the monitor start',
    what: 'a tool call that needs the monitor runs at once while its start is under way: a record is refused as if the monitor were stopped, and a start that failed is not said',
    edits: [{ find: 'const starting = waitsForStart(checked.value) ? front.host.starting : undefined;', replace: 'const starting: Promise<Error | undefined> | undefined = undefined;' }],
    tests: ['mcp-start.test.ts'],
    mustFail: ['answers initialize, tools/list and the status while the start is under way', 'waits for the start and answers as usual', "answers the start's error to the calls that waited"],
  },
  {
    name: 'a call given up during the monitor start runs after it',
    what: 'a tool call whose deadline passed while it waited for the monitor start still runs once the start is done, though its answer said nothing was done',
    edits: [{ find: "  if (work.signal.aborted) throw new PerfwatchError('PW_ERR_ABORTED', { rule: 'given up while the monitor was starting' });\n", replace: '' }],
    tests: ['mcp-start.test.ts'],
    mustFail: ['answers a call whose deadline passes during the start that it did nothing'],
  },
  {
    name: 'start during the monitor start does not join it',
    what: 'start_performance_monitoring during the start under way queues a start of its own instead of joining it, and answers "already running" for a monitor it did not find running',
    edits: [{ find: 'if (launching !== undefined && this.queue === this.launchQueue && args.configPath === undefined', replace: 'if (launching !== undefined && Date.now() < 0 && args.configPath === undefined' }],
    tests: ['mcp-start.test.ts'],
    mustFail: ['answers initialize, tools/list and the status while the start is under way', 'waits for the start and answers as usual; start joins it'],
  },
  {
    name: 'start joins the monitor start across a stop',
    what: 'a start asked after a stop that waits for the start under way joins that start: it answers running and the stop then leaves the monitor stopped',
    edits: [{ find: 'if (launching !== undefined && this.queue === this.launchQueue && args.configPath === undefined', replace: 'if (launching !== undefined && args.configPath === undefined' }],
    tests: ['mcp-start.test.ts'],
    mustFail: ['stops once the start under way is done, and a start asked after the stop starts again'],
  },
  {
    name: 'report --for checks --metrics after its wait',
    what: '`perfwatch report --for N --metrics <typo>` waits the N seconds before it says the name is unknown',
    edits: [{ find: '      if (metricTypes) {\n        const early', replace: '      if (metricTypes && local.seconds < 0) {\n        const early' }],
    tests: ['cli-report-metrics.test.ts'],
    mustFail: ['refuses a name the run cannot show before its wait'],
  },
  {
    name: 'report --for refuses a name at once on a hub',
    what: "`perfwatch report --for` on a hub refuses a name before the wait, though the hub's members may send it during the run",
    edits: [{ find: "if (local.monitor.status().hub?.role !== 'hub') return fail(early.unknown);", replace: 'if (local.seconds > 0) return fail(early.unknown);' }],
    tests: ['cli-report-metrics.test.ts'],
    mustFail: ['on a hub, whose members may send new names during the run'],
  },
  {
    name: 'status without the alert rule limit',
    what: "get_monitoring_status's text gives the rules held without maxAlertRules, their limit",
    edits: [{ find: '${s.alerting.rules}/${status.alerts.maxRules} rules (maxAlertRules)`,', replace: '${s.alerting.rules} rules`,' }],
    tests: ['alert-rule-limit.test.ts'],
    mustFail: ['says the limit beside the rules held in get_monitoring_status'],
  },
  {
    name: 'report pool error unheard',
    what: "the report pool has no 'error' listener: a pool thread that cannot start (EMFILE) throws ERR_WORKER_INIT_FAILED into the host, which ends",
    edits: [{ find: "      pool.on('error', (error: Error) => this.poolFailed(pool, error));\n", replace: '' }],
    tests: ['host-safety.test.ts'],
    mustFail: ['fails a report whose pool thread cannot start'],
  },
  {
    name: 'report pool kept after a thread could not start',
    what: 'a pool whose thread could not start is not destroyed: the report queued on it waits for ever (piscina starts no thread after that)',
    edits: [{ find: '    void pool.destroy().catch(() => {});\n    this.deps.fault?.(error);', replace: '    this.deps.fault?.(error);' }],
    tests: ['host-safety.test.ts'],
    mustFail: ['fails a report whose pool thread cannot start'],
  },
  {
    name: 'a name that is not a string reaches startsWith',
    what: 'record(), metric() and recordBatch() with a name that is not a string throw a TypeError from the reserved-name check instead of InvalidArgumentError naming the field',
    edits: [{ find: "    if (typeof name !== 'string') throw new InvalidArgumentError(field, 'must be a string', { value: name });\n    if (name.startsWith(OWN_PREFIX)) {", replace: '    if (name.startsWith(OWN_PREFIX)) {' }],
    tests: ['bad-input.test.ts'],
    mustFail: ['refuses a name that is not a string'],
  },
  {
    name: 'webhook follows redirects',
    what: "the notifier lets fetch follow a webhook's redirect: a 301 or 302 turns the POST into a GET without the alert, and its 2xx counts the alert as sent",
    edits: [{ find: "        // the body, whose 2xx counted the alert as sent though no receiver ever saw it.\n        redirect: 'manual',\n", replace: '' }],
    tests: ['webhooks.test.ts'],
    mustFail: ['does not follow a redirect'],
  },
  {
    name: "a dead thread's lock kept",
    what: 'a lock of this process is never taken over: a monitor of a worker thread that ended without stop() keeps its dataDir locked until the process ends',
    edits: [{ find: ' && !(owner.pid === process.pid && openHere(file) === false);', replace: ';' }],
    tests: ['storage.test.ts'],
    mustFail: ['whose worker thread ended without stop()'],
  },
  {
    name: 'lock file closed once written',
    what: "the lock's owner closes the lock file once it is written: a live monitor of this process looks like a dead thread's, and a second monitor of the process takes its dataDir",
    edits: [{ find: "    // Open until release(): what tells this lock from one a dead thread of this process left.\n", replace: '    await handle?.close();\n' }],
    tests: ['storage.test.ts'],
    mustFail: ['whose worker thread ended without stop()', 'lets one monitor own a dataDir'],
  },
  {
    name: 'one emit for all listeners',
    what: "the monitor's events go out through one emit(): a listener that throws keeps the event from the listeners after it, and an async listener's rejection is unhandled",
    edits: [{ find: '    for (const listener of this.rawListeners(event)) {', replace: '    for (const listener of [(..._: unknown[]) => this.emit(event, ...args)]) {' }],
    tests: ['host-safety.test.ts'],
    mustFail: ['calls every listener of an event'],
  },
  {
    name: "an ended thread's ring kept",
    what: 'a producer ring stays claimed by a thread that has ended: after producerThreads threads came and went (a piscina pool ending idle threads), every new thread is refused',
    edits: [{ find: '    const owner = Atomics.load(hdr, OWNER_TID);\n    if (owner === 0 || !osThreadEnded(owner, f64[OWNER_START]!)) return false;', replace: '    return false;' }],
    tests: ['threads.test.ts'],
    mustFail: ['gives the ring of a thread that ended'],
  },
  {
    name: "a live thread's ring taken",
    what: 'a producer ring claimed by a thread whose OS thread is known is taken by the next thread, alive or not: two threads write one single-producer ring',
    edits: [{ find: 'if (owner === 0 || !osThreadEnded(owner, f64[OWNER_START]!)) return false;', replace: 'if (owner === 0) return false;' }],
    tests: ['threads.test.ts'],
    mustFail: ['gives the ring of a thread that ended', 'says so when a handle has no ring left for another thread'],
  },
  {
    name: "an ended thread's ring taken at its time",
    what: "a ring taken from a thread that ended is not set back to drain time: the new thread's samples take the time of the last mark the ended one published inside a batch",
    edits: [{ find: '    ids[w & (capacity - 1)] = TIME_MARK;\n    values[w & (capacity - 1)] = Number.NaN;\n    Atomics.store(hdr, WRITE, (w + 1) | 0);\n', replace: '' }],
    tests: ['ring-full.test.ts'],
    mustFail: ['gives the ring of a thread that ended to the next claimant'],
  },
  {
    name: 'window skips records without bins',
    what: "getMetrics' kept window takes a read that added no sketch bins for a read with nothing new: a hub's member counters and gauges (sent without sketches) keep the count and sum of their first read",
    edits: [{ find: 'if (state.first + state.next === before && !fresh) return true;', replace: 'if (this.run.n === 0 && !fresh) return true;' }],
    tests: ['hub-window.test.ts'],
    mustFail: ['counts every bucket that arrives after the window was first read'],
  },
  {
    name: 'export timeout collected',
    what: "an export request's timeout is AbortSignal.timeout() inside AbortSignal.any(), which Node 20 holds weakly: collected at a GC, it never fires, and a receiver that never answers holds the queue's head for good",
    edits: [{ find: 'signal: AbortSignal.any([this.abort.signal, timeout.signal]),', replace: 'signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.config.timeoutMs)]),' }],
    tests: ['export-remote-write.test.ts'],
    mustFail: ['gives up on a request the receiver never answers after timeoutMs'],
  },
  {
    name: 'member gauges without sketches',
    what: "a member sends the sketches of its distributions only: a gauge's quantiles on the hub are null, and a quantile rule on it never fires",
    edits: [{ find: "return kind !== 'counter';", replace: "return kind === 'distribution';" }],
    tests: ['hub-window.test.ts'],
    mustFail: ["gives a gauge's window the member's quantiles"],
  },
  {
    name: 'member batch past maxFrameBytes',
    what: "a member sends an interval's buckets as one batch whatever its size: a frame past the hub's maxFrameBytes resets the link, and the member sends it again at each reconnection, for good",
    edits: [{ find: 'if (out.rows > 0 && out.size + bytes > budget) {', replace: 'if (out.rows < 0) {' }],
    tests: ['hub-frames.test.ts'],
    mustFail: ['goes as several batches, each frame within it'],
  },
  {
    name: 'socket path length in characters',
    what: "a socket path past 107 bytes is refused without its byte count: a path of fewer characters (UTF-8) reads as within the limit",
    edits: [{ find: "error: (issue) => `must be at most 107 bytes (the limit of a Unix socket path), not ${Buffer.byteLength(String(issue.input))}`", replace: "error: 'must be at most 107 bytes (the limit of a Unix socket path)'" }],
    tests: ['hub.test.ts'],
    mustFail: ['refuses a hub option that is not exactly one of listen, connect or cluster'],
  },
  {
    name: "a dead collector's registry lock kept",
    what: "a new collector leaves the registry's locks its killed predecessor held: every thread's next new series waits 2 s and is refused with CapacityError, for the rest of the process",
    edits: [{ find: 'this.registry = withoutStaleLocks(new Registry(options.registry, COLLECTOR_LOCK_TAG));', replace: 'this.registry = new Registry(options.registry, COLLECTOR_LOCK_TAG);' }],
    tests: ['supervision.test.ts'],
    mustFail: ["frees the registry's locks a killed collector held, so that every thread adds series again"],
  },
  {
    name: 'export follows redirects',
    what: "an exporter lets fetch follow a receiver's redirect: a 301 or 302 turns the POST into a GET without the batch, and its 2xx counts the samples as sent",
    edits: [{ find: "        // Not followed: a 301 or 302 would be sent on as a GET without the batch (redirect.ts).\n        redirect: 'manual',\n", replace: '' }],
    tests: ['export-remote-write.test.ts'],
    mustFail: ['does not follow a redirect'],
  },
  {
    name: "worker threads flush at the end of the turn",
    what: "a worker thread's ring schedules its flush with setImmediate, as the main thread's: a piscina thread waiting for its next task in Atomics.wait never runs it, and a task's last samples stay unseen",
    edits: [{ find: '    else queueMicrotask(this.flushCallback);', replace: '    else setImmediate(this.flushCallback);' }],
    tests: ['threads.test.ts'],
    mustFail: ["publishes a piscina task's samples when the task ends, without a flush of its own"],
  },
  {
    name: 'CLI leaves its MCP session open',
    what: "perfwatch report --url and perfwatch profile close their client without deleting the session on the server: each run's session stays idle in one of the endpoint's places until sessionIdleMs (15 minutes), 100 runs fill maxSessions, and each later client then takes the place of the least recently active idle session, which may be a live client's between calls",
    edits: [{ find: 'transport.terminateSession().catch(() => {})', replace: 'Promise.resolve()' }],
    tests: ['cli.test.ts', 'profile-fronts.test.ts'],
    mustFail: ['report --url prints the report of a running monitor through its MCP endpoint', 'prints the summary of a running service, the hot function first'],
  },
  {
    name: "CLI calls an endpoint's HTTP answer unreachable",
    what: "perfwatch report --url says 'cannot reach an MCP endpoint' for an endpoint that answered 503 (its sessions all taken), hiding the server's own message behind the SDK's",
    edits: [{ find: "  if (typeof e.status === 'number' && e.status >= 400) return", replace: '  if (e.status === -1) return' }],
    tests: ['cli.test.ts'],
    mustFail: ['report --url says what an endpoint answered when it refuses a session, with its own message'],
  },
  {
    name: 'listen error as it came',
    what: "serveHttp and serveMcp reject with Node's bare EADDRINUSE on a port in use, and perfwatch serve prints it as a crash: a stack trace and exit code 1 instead of one line naming the flag",
    edits: [{ find: "server.once('error', (error) => reject(listenError(policy.host, policy.port, error)));", replace: "server.once('error', reject);" }],
    tests: ['cli.test.ts'],
    mustFail: ['serve on a port in use says so in one line naming the flag, and the library names the port option'],
  },
  {
    name: "a worker's ring stays closed after a restart",
    what: "a producer ring trusts its thread's copy of the closed flag: a worker that recorded while the monitor was stopped throws MonitorStoppedError on every record after start(), for good",
    edits: [{ find: '    if (this.closed) this.setClosed(false);\n', replace: '    if (this.closed) throw new MonitorStoppedError();\n' }],
    tests: ['threads.test.ts'],
    mustFail: ["takes a worker's records again after stop() and start(), though the worker recorded while the monitor was stopped"],
  },
  {
    name: 'HTTP fronts keep the host alive',
    what: "serveHttp's and serveMcp's servers and connections are ref'd: a service that closes its own server on SIGTERM never ends while a scraper or a dashboard is connected, and the monitor's stop at 'beforeExit' never runs",
    edits: [{ find: "  server.unref();\n  server.on('connection', (socket) => {\n    socket.unref();\n", replace: "  server.on('connection', (socket) => {\n" }],
    tests: ['host-safety.test.ts'],
    mustFail: ['lets a host end whose monitor serves HTTP and MCP with clients connected to both'],
  },
  {
    name: 'exposition worker re-refd by its listener',
    what: "the exposition worker is unref'd before its 'message' listener is added, which refs its port again: the first scrape of /metrics keeps the host alive for good",
    edits: [
      { find: "    worker.on('message', (reply: RenderReply) => {", replace: "    worker.unref();\n    worker.on('message', (reply: RenderReply) => {" },
      { find: "    worker.unref();\n    worker.on('error', gone);", replace: "    worker.on('error', gone);" },
    ],
    tests: ['host-safety.test.ts'],
    mustFail: ['lets a host end whose monitor serves HTTP and MCP with clients connected to both'],
  },
  {
    name: 'event stream timers keep the host alive',
    what: "an open /api/events stream's heartbeat and poll timers are ref'd: a dashboard tab left open keeps the host from ending",
    edits: [{ find: '        heartbeat.unref();\n        poll?.unref();\n', replace: '' }],
    tests: ['host-safety.test.ts'],
    mustFail: ['lets a host end whose monitor serves HTTP and MCP with clients connected to both'],
  },
  {
    name: 'non-counter _total exposed as is',
    what: "a gauge or distribution named …_total keeps the name in /metrics: promtool check metrics fails the default exposition (heap_total non-counter metrics should not have \"_total\" suffix, exit 3)",
    edits: [{ find: "return kind !== 'counter' && name.endsWith('_total') ? `${name}_${TOTAL_SUFFIX[unit]}` : name;", replace: 'return name;' }],
    tests: ['http-metrics.test.ts', 'http-prometheus.test.ts'],
    mustFail: ['ends only counters in _total: a gauge or histogram so named takes its unit as a suffix', "accepts a default monitor's exposition, its system and runtime samplers on"],
  },
  {
    name: '/metrics quantiles unclamped',
    what: "the /metrics summary's quantiles are the sketch's estimates as they come: 100 samples of 50 give a p99 of 49.75, below every sample, and disagree with /api/metrics, which clamps to the exact min and max",
    edits: [{ find: 'w.number(clamp(values[i]!, span.min, span.max));', replace: 'w.number(values[i]!);' }],
    tests: ['http-metrics.test.ts'],
    mustFail: ["keeps the sketch quantiles within the samples' exact min and max, as /api/metrics does"],
  },
  {
    name: 'alert listener per event stream',
    what: "each /api/events stream adds its own 'alert' listener to the monitor: the 11th open stream prints MaxListenersExceededWarning into the host's stderr (maxEventStreams is 32)",
    edits: [
      { find: "if (alerts === 'true') wantAlerts(stream);", replace: "const onAlert = (t: AlertTransition): void => stream.event('alert', t);\n        if (alerts === 'true') monitor.on('alert', onAlert);" },
      { find: 'leaveAlerts(stream);', replace: "monitor.off('alert', onAlert);" },
    ],
    tests: ['http-api.test.ts'],
    mustFail: ['serves maxEventStreams streams their alerts from one listener on the monitor'],
  },
  {
    name: 'CPU saturation on p95 alone',
    what: "cpu-saturation fires critical on a p95 of 95% whatever the mean: bursts on a CPU busy 59% on average read as critical saturation beside a cpu score of 100, against docs/reports.md (mean ≥ 85%)",
    edits: [{ find: '  if (cpu.mean < r.meanWarning) return [];\n  const critical = cpu.p95 >= r.p95Critical;', replace: '  const critical = cpu.p95 >= r.p95Critical;\n  if (!critical && cpu.mean < r.meanWarning) return [];' }],
    tests: ['report-diagnoses.test.ts'],
    mustFail: ['CPU saturation: mean over 85%'],
  },
  {
    name: "serve ignores a server's flag without its port",
    what: 'perfwatch serve takes --mcp-host, --http-host or --mcp-allow-state-changes without the port they apply to, and ignores them without a word',
    edits: [{ find: "  if (args['mcp-host'] !== undefined && args['mcp-http'] === undefined) throw", replace: "  if (args['mcp-host'] === null) throw" }],
    tests: ['cli.test.ts'],
    mustFail: ['answers a missing value, a stray argument or a bad number with one line naming the flag, what it takes and what it got'],
  },
  {
    name: 'record_request_performance names the library option',
    what: "record_request_performance passes the library's error on as it came: an agent that sent response_time 1e200 reads 'responseTimeMs must be …', an option it never saw, and a control character in endpoint is said of tags.endpoint",
    edits: [{ find: 'const field = TOOL_FIELDS[error.field];', replace: 'const field: string | undefined = undefined;' }],
    tests: ['mcp-stdio.test.ts'],
    mustFail: ['record_request_performance {"response_time":1e+200,"success":true}', 'record_request_performance {"response_time":1,"success":true,"endpoint":"/a\\u0001b"}'],
  },
  {
    name: 'a __proto__ argument left to zod',
    what: "tools/call arguments with a __proto__ key from JSON.parse go to the SDK and the schemas as they came: zod leaves the key out of its copy without a word, so get_performance_metrics { tags: { __proto__: … } } answers every series unfiltered and arguments.__proto__ is ignored where any other unknown argument is refused",
    edits: [{ find: 'const path = protoPath(args, []);', replace: 'const path = undefined as PropertyKey[] | undefined;' }],
    tests: ['mcp-stdio.test.ts'],
    mustFail: ['refuses a __proto__ key sent as JSON, which zod leaves out without a word, naming the field'],
  },
  {
    name: 'history filter that matches nothing called an empty range',
    what: "get_metric_history with tags that match no series of the metric answers 'no data in the range', which sends an agent to widen a range that is not the cause, where get_performance_metrics says no series matches",
    edits: [{ find: 'if (tags !== undefined && Object.keys(tags).length > 0) return', replace: 'if (tags !== undefined && Object.keys(tags).length < 0) return' }],
    tests: ['mcp-history-no-match.test.ts'],
    mustFail: ['says no series matches the metric with those tags, as get_performance_metrics does, not that the range has no data'],
  },
  {
    name: 'CPU shares rounded each alone',
    what: "a CPU capture's JavaScript, idle, GC and program shares are rounded each by itself, and from 10% to a whole percent: 99.5% idle reads 100% beside JavaScript 0.2%, GC 0.2% and program 0.1%, parts of one whole adding up to 100.5%",
    edits: [{ find: 'return tenths.map((t) => `${t % 10 === 0 ? t / 10 : (t / 10).toFixed(1)}%`);', replace: 'return shares.map(percent);' }],
    tests: ['cpu-headline.test.ts'],
    mustFail: ['gives the shares of JavaScript, idle, GC and program adding up to 100%, in its headline and its share line alike'],
  },
  {
    name: 'alert labels limit not listed',
    what: "create_performance_alert_rule lists labels without maxProperties while the server refuses more than 32: a client learns the limit only from the refusal",
    edits: [{ find: '.meta({ maxProperties: MAX_LABELS });', replace: ';' }],
    tests: ['mcp-budgets.test.ts'],
    mustFail: ["lists the limit on an alert rule's labels that the server enforces"],
  },
  {
    name: 'status series count without its scope',
    what: "get_monitoring_status says 'series 0/10000' of the application's series only, while get_performance_metrics lists the monitor's own series too: an agent reads series gone missing",
    edits: [{ find: "`app series ${s.series.count}/${s.series.limit} (maxSeries) and ${status.series.own.count} of the monitor's own; ingested", replace: '`series ${s.series.count}/${s.series.limit}; ingested' }],
    tests: ['mcp-status-series.test.ts'],
    mustFail: ["says the application's series against maxSeries, and the monitor's own apart"],
  },
  {
    name: 'the __proto__ search without a depth bound',
    what: "the transports' search for a __proto__ key recurses as deep as the arguments go: arguments nested 200,000 deep, which JSON.parse takes, overflow the call stack in the stdio reader and the server exits",
    edits: [{ find: 'if (path.length > PROTO_SEARCH_DEPTH) return undefined;', replace: '' }],
    tests: ['mcp-stdio.test.ts'],
    mustFail: ['looks for __proto__ in arguments nested deeper than the call stack goes, and serves on'],
  },
  {
    name: '/api/metrics pages of 10,000',
    what: "/api/metrics takes a page of up to 10,000 series, each summarised on the host's thread: one request held its event loop for a second",
    edits: [{ find: 'const MAX_PAGE_SERIES = 1_000;', replace: 'const MAX_PAGE_SERIES = 10_000;' }],
    tests: ['http-api.test.ts'],
    mustFail: ["answers a bad query parameter 400 naming it, with the library's own words"],
  },
  {
    name: 'serve dies of EPIPE',
    what: "perfwatch serve piped into a reader that leaves (perfwatch serve | head) dies of the unhandled EPIPE, a stack trace and exit code 1, without stopping its monitor",
    edits: [{ find: "      if (error.code === 'EPIPE') shutdown('EPIPE');\n      else process", replace: '      throw error;\n      process' }],
    tests: ['cli.test.ts'],
    mustFail: ['serve stops quietly with 0 when the reader of its output goes away (perfwatch serve | head)'],
  },
  {
    name: 'alert rule on a reserved tag name',
    what: 'createAlertRule takes tags or labels whose name starts with __: no series can have such a tag, so the rule never matches, taken without a word',
    edits: [{ find: ".refine((k) => !k.startsWith('__'), { error: `is not", replace: ".refine((k) => k !== '', { error: `is not" }],
    tests: ['bad-input.test.ts'],
    mustFail: ['says option errors in plain words: the path, the accepted values or range, the value given once, and the option a typo meant'],
  },
  {
    name: 'a library time bound past a Date',
    what: "getMetricHistory and getAlertHistory take a bound of 1e17 ms (a year past 3,000,000), which names no time, and answer an empty range as if the query were right",
    edits: [{ find: '  if (Math.abs(t) > MAX_TIME_MS) throw new InvalidArgumentError(', replace: '  if (Math.abs(t) > Infinity) throw new InvalidArgumentError(' }],
    tests: ['bad-input.test.ts', 'http-api.test.ts'],
    mustFail: ['refuses bad queries, naming the field', "answers a bad query parameter 400 naming it, with the library's own words"],
  },
  {
    name: 'a report bound past a Date',
    what: "generateReport({ from: 1e17, to: 0 }) throws a RangeError (Invalid time value) out of the message meant to say from is after to, instead of naming the field",
    edits: [{ find: '.refine((t) => Math.abs(t) <= MAX_TIME_MS, { error: TIME_RANGE_ERROR })', replace: '.refine((t) => Math.abs(t) <= Infinity, { error: TIME_RANGE_ERROR })' }],
    tests: ['reports.test.ts'],
    mustFail: ['refuses bad options, naming the field and the limit'],
  },
  {
    name: 'MCP tag filter on a reserved name',
    what: "get_performance_metrics and get_metric_history take a tags filter named __x, which no series can have: it matches nothing, and the answer says only that nothing matched",
    edits: [{ find: "  .refine((k) => !k.startsWith('__'), { error: TAG_NAME_RULE });", replace: ';' }],
    tests: ['mcp-stdio.test.ts'],
    mustFail: ['get_performance_metrics {"tags":{"__name__":"a"}} → a tool error naming the field and the rule', 'get_metric_history {"metric_type":"a","tags":{"__x":"a"}} → a tool error naming the field and the rule'],
  },
  {
    name: 'worker samples lost at process.exit()',
    what: "a worker thread that records and ends with process.exit() in the same turn loses the samples since its ring's last publish point (up to 63), uncounted: the flush scheduled for the end of the turn never runs",
    edits: [{ find: "  if (attached.size === 0 && !isMainThread) process.once('exit', publishAtThreadExit);\n", replace: '  if (attached.size < 0 && !isMainThread) process.once(\'exit\', publishAtThreadExit);\n' }],
    tests: ['threads.test.ts'],
    mustFail: ['keeps the samples of a worker that ends with process.exit() in the turn it recorded them'],
  },
  {
    name: 'hub links write whatever waits unsent',
    what: "a member writes each batch to its socket however much waits unsent before it, and the hub each answer: a hub that reads nothing (stopped with SIGSTOP, its loop held) grows every member's memory by its batches for as long as it lasts, past bufferLimit, and a client that only writes hellos grows the hub's",
    edits: [
      { find: 'if (!this.open || !this.socket || this.socket.writableLength >= this.maxFrameBytes) return false;', replace: 'if (!this.open || !this.socket) return false;' },
      { find: 'if (socket.writableLength >= this.maxFrameBytes) {\n          h.malformed', replace: 'if (false) {\n          h.malformed' },
    ],
    tests: ['hub-backlog.test.ts'],
    mustFail: [
      "a member's socket holds at most a frame's worth unsent: batches its buffer drops were never written, and what it holds goes once the hub reads again",
      "the hub resets a link whose peer reads none of its answers (a client that only writes hellos): counted malformed, the hub's memory bounded",
    ],
  },
  {
    name: 'hub.dropMs error without its bound',
    what: "a hub.dropMs not above hub.staleMs says 'hub.dropMs dropMs must be greater than staleMs': the field twice, and not the bound it must pass",
    edits: [{ find: "error: (issue) => `must be greater than hub.staleMs (${(issue.input as { staleMs: number }).staleMs} ms)`", replace: "error: 'dropMs must be greater than staleMs'" }],
    tests: ['bad-input.test.ts'],
    mustFail: ['says option errors in plain words: the path, the accepted values or range, the value given once, and the option a typo meant'],
  },
  {
    name: 'export headers fetch refuses at the request',
    what: 'export and webhook headers are checked by new Headers() alone: content-length, transfer-encoding, keep-alive, upgrade, expect and a connection other than close pass, and fetch refuses every request with them (or hangs it): retried for ever as a network error, nothing ever sent',
    edits: [
      { find: '  if (FETCH_REFUSES.has(lower)) return', replace: '  if (FETCH_REFUSES.has(lower) && false) return' },
      { find: "  if (lower === 'connection' && !", replace: "  if (false && !" },
    ],
    tests: ['export-status.test.ts'],
    mustFail: ['refuses bad export options, naming the field and the limit; with no endpoint, no actor runs'],
  },
  {
    name: 'member drops the batch it just read',
    what: "a member's buffer cap drops the batches of the interval just read too: with a bufferLimit below one interval's buckets each batch is dropped before it goes out, and a hub that is there all along gets nothing",
    edits: [{ find: ' && !(this.welcomed && this.held[0]!.seq >= first)) {', replace: ') {' }],
    tests: ['hub-backlog.test.ts'],
    mustFail: ["a bufferLimit below one interval's buckets: a hub that is there gets every bucket, none dropped before it went out"],
  },
  {
    name: 'hub reads a first frame of any length',
    what: "the hub reads a link's first frame up to maxFrameBytes like any other: a peer that never says hello (a garbage client, another program) holds up to 16 MiB of the hub's memory a connection, for as long as it stays",
    edits: [{ find: 'if (this.frames === 0 && len > this.firstMaxBytes) throw', replace: 'if (false) throw' }],
    tests: ['hub-backlog.test.ts'],
    mustFail: ['the hub resets a link whose first frame is longer than a hello can be, at its length: a peer that never says hello holds no frame of up to maxFrameBytes'],
  },
  {
    name: 'metric() takes any options',
    what: "metric(name, tags, options) reads options.kind and options.unit whatever options is: from JavaScript, metric('jobs', {}, 'counter') made a distribution without a word, and a misspelt option was ignored",
    edits: [{ find: "if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new InvalidArgumentError('options', \"must be an object { kind?", replace: "if (false) throw new InvalidArgumentError('options', \"must be an object { kind?" }],
    tests: ['bad-input.test.ts'],
    mustFail: ["refuses metric() options that are not { kind?, unit? }: metric('jobs', {}, 'counter') made a distribution without a word"],
  },
  {
    name: 'OTLP partial success counted as sent',
    what: "an OTLP receiver's 200 with partial_success (points it rejected, and why) counts every point of the request as sent: the rejected ones are neither failed nor said",
    edits: [{ find: "const partial = this.config.kind === 'otlp' ? partialSuccess(", replace: 'const partial = false ? partialSuccess(' }],
    tests: ['export-otlp.test.ts'],
    mustFail: [
      "a 200 that takes the request in part (OTLP partial success, protobuf): the rejected points count as failed, the receiver's reason is the last error, nothing retried",
      "a 200 that takes the request in part (OTLP partial success, json): the rejected points count as failed, the receiver's reason is the last error, nothing retried",
    ],
  },
  {
    name: 'an unwritable database called no database',
    what: "openSchema says a perfwatch database it cannot write (a read-only file, a full disk) 'is not a usable SQLite database … move it away': advice that loses a sound history for a fault of the disk",
    edits: [{ find: "if (typeof code === 'string' && code.startsWith('SQLITE_') && !NOT_A_DATABASE.has(code)) {", replace: "if (typeof code === 'string' && code === String(null)) {" }],
    tests: ['storage-disk.test.ts'],
    mustFail: ['fails start() on a database it cannot write (a read-only file) saying so, not that the file is no database to move away'],
  },
  {
    name: 'a profile write cut short is kept',
    what: 'a profile whose write fails part way (a full disk) leaves its file empty or cut short, named as a profile, counted against maxFiles, and no profile DevTools can open',
    edits: [{ find: '      await unlink(file).catch(() => {});\n      return this.missing(', replace: '      return this.missing(' }],
    tests: ['storage-disk.test.ts'],
    mustFail: ['leaves no profile file cut short in a dataDir that is full'],
  },
  {
    name: 'the lock not made again with a removed dataDir',
    what: "a monitor whose dataDir was removed while it ran makes the directory and the database again but not the lock file: another process starts on the directory, and both write one file",
    edits: [{ find: '  private reopenIfGone(): void {\n    this.keepLock();', replace: '  private reopenIfGone(): void {' }],
    tests: ['storage.test.ts'],
    mustFail: ['makes the lock again in a dataDir removed while running'],
  },
  {
    name: 'a removed database closed before its successor opens',
    what: "the storage actor closes the connection to a removed database before it opens the new file: on a disk too full for the new one every read fails ('The database connection is not open'), storedData() and with it the MCP stop tool, which leaves the monitor running",
    edits: [{ find: '    const db = openSchema(this.o.file);', replace: '    this.db.close();\n    const db = openSchema(this.o.file);' }],
    tests: ['storage-disk.test.ts'],
    mustFail: ['answers reads and the MCP stop tool from the file it has while the disk is too full for a new one in place of a removed database'],
  },
  {
    name: 'a stop terminates an actor being replaced',
    what: "Supervisor.stop() terminates an actor's successor while it starts: a stop() soon after the storage actor died skips the last flush, and the samples since the one before are lost",
    edits: [{ find: "    if (this.state === 'restarting') await Promise.race([this.next.promise,", replace: "    if (this.state === String(null)) await Promise.race([this.next.promise," }],
    tests: ['storage.test.ts'],
    mustFail: ['writes what the store holds at a stop() that comes while a dead storage actor is being replaced'],
  },
  {
    name: 'a kill drill not held',
    what: "injectFault('kill') waits on the monitor's unref'd threads without holding the host: a drill that awaits it reaches 'beforeExit', which stops the monitor, and the drill's next record throws MonitorStoppedError into the host",
    edits: [{ find: '    return holding(this.killNow());', replace: '    return this.killNow();' }],
    tests: ['host-safety.test.ts'],
    mustFail: ["keeps a drill's host running while it awaits an actor killed from outside"],
  },
  {
    name: "stop's last flush without a word back",
    what: "stop() leaves the last flush to the storage actor's own stop, which answers nothing: status() after stop() keeps the flush before it, with no error, though the last flush failed on a full disk and the samples since were not on disk",
    edits: [{ find: "    if (!this.deps.driven && this.actor.state === 'running') {\n      await Promise.race(", replace: "    if (this.deps.driven && this.actor.state === 'running') {\n      await Promise.race(" }],
    tests: ['storage-disk.test.ts'],
    mustFail: ['says in status() after stop() that its last flush failed on a full disk'],
  },
  {
    name: 'a damaged database retried without a word',
    what: "a flush that fails on a damaged file (SQLITE_CORRUPT) is reported as any other, 'retried at the next flush', though no retry mends it: the monitor fails every flush for good without saying so",
    edits: [{ find: "    if ((error as { code?: unknown } | null)?.code === 'SQLITE_CORRUPT') {", replace: "    if ((error as { code?: unknown } | null)?.code === String(null)) {" }],
    tests: ['storage.test.ts'],
    mustFail: ['says that a database damaged past its header will not mend when its writes fail'],
  },
  {
    name: 'alert rate over the whole window',
    what: "a window rule's rate divides by the rule's window, not the part of it the monitor watched: a monitor's first minutes read their traffic at a fraction of its rate, and `rate < x` fired at every start",
    edits: [{ find: 'const seconds = Math.min(rule.window, (closedEnd - this.watchedFrom) / 1000);', replace: 'const seconds = rule.window;' }],
    tests: ['alerting.test.ts'],
    mustFail: ["judges a window rule's rate per second of the part of the window the monitor watched"],
  },
  {
    name: "alert capture's timer holds the host",
    what: "an alert's profile capture keeps a ref'd timer: a host whose own work is done stays up until the capture's end (captureSeconds, up to 120 s), though no caller waits on it",
    edits: [{ find: 'if (alert !== null) timer.unref();', replace: '' }],
    tests: ['host-safety.test.ts'],
    mustFail: ["lets a host whose own work is done end while an alert's profile capture runs"],
  },

  {
    name: 'close() leaves a webhook post in flight',
    what: "the notifier's stop() drops what waits but lets the post in flight run to its timeout: a receiver that never answers held a closed monitor's host up to timeoutMs (60 s at most)",
    edits: [{ find: 'target.current?.abort?.abort();', replace: '' }],
    tests: ['webhooks.test.ts'],
    mustFail: ['aborts the post in flight when the monitor is closed'],
  },
  {
    name: 'rule deleted while stopped leaves its alerts firing',
    what: "deleteAlertRule on a stopped monitor drops the rule's alerts without resolving them: their episodes stay open in the notifier, Alertmanager hears them fire at every resend for good, and no webhook hears their end",
    edits: [{ find: 'else await this.resolveDeleted(rule!);', replace: '' }],
    tests: ['alerting.test.ts'],
    mustFail: ['resolves the firing alerts of a rule deleted while the monitor is stopped'],
  },
  {
    name: 'an answer unseen while stopped counts as an abort',
    what: "a request answered while the monitor was stopped stays in its connection's flight: the connection's close after a start counts it in http_requests_aborted, though it was answered",
    edits: [
      { find: '} else if (f.response === undefined || f.response.writableFinished) {', replace: '} else if (f.response === undefined) {' },
      { find: 'if (f.response !== undefined && !f.response.writableFinished) this.abort(f.response);', replace: 'if (f.response !== undefined) this.abort(f.response);' },
    ],
    tests: ['instrument.test.ts'],
    mustFail: ['counts no abort for a request answered while the monitor was stopped'],
  },
  {
    name: "instrument's URL cache keeps long URLs",
    what: "the raw-URL cache of instrument()'s incoming requests remembers URLs of any length: it bounds its entries (4,096), not its bytes, so long query strings on a route that answers 200 kept tens of MB of the host's heap alive",
    edits: [{ find: 'if (entry !== undefined && !this.routes.isOther(entry) && url.length <= MAX_REMEMBERED_URL) {', replace: 'if (entry !== undefined && !this.routes.isOther(entry)) {' }],
    tests: ['instrument.test.ts'],
    mustFail: ["keeps no long URLs alive on the host's heap"],
  },
  {
    name: "an alert's labels overwrite its series' tags",
    what: "a series' tag named as one of the alert's labels (severity, metric, alertname, a rule label) is overwritten in the notifications: two series that differ in it are sent with one label set, and Alertmanager takes them for one alert, resolved by either",
    edits: [{ find: 'labels[Object.hasOwn(fixed, name) ? `exported_${name}` : name] = value;', replace: 'labels[name] = value;' }],
    tests: ['alerting.test.ts'],
    mustFail: ["keeps a series' tag that a label of the alert would overwrite as exported_<name>"],
  },
  {
    name: "Alertmanager's API at the host's root",
    what: "the Alertmanager API URL drops alertmanagerUrl's path: an Alertmanager served under a route prefix (--web.route-prefix, an ingress path) got every notification at the host's root, a 404",
    edits: [{ find: "if (!base.pathname.endsWith('/')) base.pathname += '/';", replace: "base.pathname = '/';" }],
    tests: ['webhooks.test.ts'],
    mustFail: ['posts to an Alertmanager served under a route prefix at its API under that prefix'],
  },
  {
    name: "a webhook's open body holds its delivery",
    what: "a receiver's answer is read until its end or timeoutMs once its status came: one that answers 200 and keeps its body open held each delivery, and the queue behind it, for timeoutMs",
    edits: [{ find: 'const drain = setTimeout(() => drained.abort(), RESPONSE_DRAIN_MS);', replace: 'const drain = setTimeout(() => {}, 0);' }],
    tests: ['webhooks.test.ts'],
    mustFail: ['does not wait out its timeout on a receiver that answers 200 and keeps its body open'],
  },
  {
    name: "a webhook's token shown in status",
    what: "status().alerts.notifications shows each webhook's whole URL and lastError names it: a Slack or Discord webhook's path, a Google Chat webhook's query, is its token, and status goes into agents' contexts and logs",
    edits: [{ find: 'shown: webhook ? shownUrl(t.url) : t.url,', replace: 'shown: t.url,' }],
    tests: ['webhooks.test.ts'],
    mustFail: ["shows a webhook's URL cut after its first path segment, without its query: a chat webhook's path or query is its token"],
  },
  {
    name: 'a dataDir with a NUL taken',
    what: "a dataDir holding a NUL character passes the options and fails only at start(), in the file system's words",
    edits: [{ find: ".refine((d) => !d.includes('\\0'), {", replace: ".refine((d) => d !== '', {" }],
    tests: ['bad-input.test.ts'],
    mustFail: ['says option errors in plain words: the path, the accepted values or range, the value given once, and the option a typo meant'],
  },
  {
    name: "a chunk's groups applied without a beat",
    what: "StoreWriter.chunk applies up to 32,768 series' groups without a heartbeat: a chunk of 10,000 new series faulted in their pages for 300-700 ms on a loaded machine, and the watchdog replaced the collector as hung",
    edits: [{ find: '      if (j0 > 0) this.beat();\n      const j1 = j0 + BEAT_GROUPS < d ? j0 + BEAT_GROUPS : d;', replace: '      const j1 = j0 + BEAT_GROUPS < d ? j0 + BEAT_GROUPS : d;' }],
    tests: ['store-chunks.test.ts'],
    mustFail: ['beats at least once every 1,024 series of a chunk'],
  },
  {
    name: "a chunk's raw-first writes without a beat",
    what: "a chunk's raw-first writes (writeRawFirst) go over up to 32,768 series without a heartbeat: their first writes fault in a page each, and the watchdog took the collector for hung",
    edits: [{ find: '      if (j0 > 0) this.beat();\n      writeRawFirst(', replace: '      writeRawFirst(' }],
    tests: ['store-chunks.test.ts'],
    mustFail: ['beats at least once every 1,024 series of a chunk'],
  },
  {
    name: 'a step of the wall clock taken for time passing',
    what: "the watchdog judges the actors' wall-clock beats without looking for a step of the wall clock: 10 minutes forward replaced every actor as silent for 600 s, 10 minutes back left them unwatched for 10 minutes",
    edits: [{ find: 'if (Math.abs(step) <= STEP_MS) return wall;', replace: 'if (Math.abs(step) <= Infinity) return wall;' }],
    tests: ['watchdog-clock-step.test.ts'],
    mustFail: ['keeps actors that beat through a step of 10 minutes forward'],
  },
  {
    name: "a hub member's definitions unbounded",
    what: "the hub keeps every series definition a member sends for its run: a member (broken, hostile) that sends ever new ones grows the hub without end, though the store refuses series past maxSeries",
    edits: [{ find: 'if (over !== undefined || (member.defs[def[0]] === undefined && member.defined >= limit)) {', replace: 'if (over !== undefined) {' }],
    tests: ['hub.test.ts'],
    mustFail: ["a member's series definitions are kept within the hub's bounds"],
  },
  {
    name: "stop() leaves a webhook post in flight",
    what: "the notifier is not parked at stop() (not close()): the post in flight runs to its timeoutMs, and a receiver that never answers held a stopped monitor's host up to 60 s",
    edits: [{ find: 'for (const target of this.targets()) if (target.current?.abort) this.bound(target.current.abort);', replace: '' }],
    tests: ['host-safety.test.ts'],
    mustFail: ['lets a host end soon after stop() while a webhook post is in flight to a receiver that never answers'],
  },
  {
    name: "a stopped monitor's post given timeoutMs",
    what: "a post made while the monitor is stopped (a rule deleted then notifies its resolution) is given timeoutMs, not LAST_POST_MS: a receiver that never answers holds the stopped monitor's host that long",
    edits: [{ find: 'if (this.parked) this.bound(abort);', replace: '' }],
    tests: ['webhooks.test.ts'],
    mustFail: ['gives a post made while the monitor is stopped (parked) LAST_POST_MS, not timeoutMs'],
  },
  {
    name: "a redirect's Location shown whole",
    what: "the note of a redirect shows its Location whole but for its user info: a receiver's new URL carries its token as the configured one does (a chat webhook's path or query, a signed URL's query), and status goes into agents' contexts and logs",
    edits: [{ find: 'shown = shownUrl(new URL(location, base).href);', replace: "const u = new URL(location, base); u.username = ''; u.password = ''; shown = u.href;" }],
    tests: ['webhooks.test.ts', 'export-remote-write.test.ts'],
    mustFail: ["shows where a redirect points as a webhook's own URL is shown", "shows where a redirect points as the endpoint's own URL is shown"],
  },
  {
    name: "a redirect's body shown",
    what: "an exporter's error for a redirect shows the start of its answer's body, which repeats the Location whole (\"Redirecting to …\"), user info and query included",
    edits: [{ find: "const said = moved ? '' : reason(answer);", replace: 'const said = reason(answer);' }],
    tests: ['export-remote-write.test.ts'],
    mustFail: ["shows where a redirect points as the endpoint's own URL is shown"],
  },
  {
    name: 'an anomaly score off the scale given whole',
    what: "a run's peak score against a baseline that held still is its raw z (0.5 over zeros: 5e11): it outranks every deviation of a series that moves and reads as the anomaly of the century",
    edits: [{ find: 'const peak = Math.min(run.peak, rules.maxScore);', replace: 'const peak = run.peak;' }],
    tests: ['report-anomaly.test.ts'],
    mustFail: ['caps the score of a change against a baseline that held still at maxScore'],
  },
  {
    name: "an anomaly rule's score off the scale given whole",
    what: "the alert engine's anomaly score against a baseline that held still is its raw z: an alert's value reads 5e11",
    edits: [{ find: 'const score = Math.max(-rules.maxScore, Math.min(rules.maxScore, z));', replace: 'const score = z;' }],
    tests: ['report-anomaly.test.ts'],
    mustFail: ['caps the score of a change against a baseline that held still at maxScore'],
  },
  {
    name: 'ingested counted after the pass',
    what: "the collector adds a pass's samples to INGESTED after the pass, past the commits of its chunks: a collector killed in between (injectFault, the watchdog) applied samples that status().ingestion.ingested never counts",
    edits: [
      { find: '    reader.counted[0]! += k;\n', replace: '' },
      { find: '      ctl.f64[DRAIN_PASSES]! += 1;', replace: '      ctl.f64[INGESTED]! += moved;\n      ctl.f64[DRAIN_PASSES]! += 1;' },
    ],
    tests: ['supervision.test.ts'],
    mustFail: ['counts in status().ingestion.ingested every sample applied, through kills at random moments of a pass'],
  },
  {
    name: 'a directory at the lock path taken for a lock being written',
    what: "a perfwatch.lock that is a directory is looked at as a lock being written until the attempts run out: start() fails with 'cannot be written (EEXIST …): choose a dataDir this process may write', of a directory the process may write",
    edits: [{ find: '  if (stats.isFile()) return undefined;', replace: '  if (stats.isFile() || stats.isDirectory()) return undefined;' }],
    tests: ['storage.test.ts'],
    mustFail: ['refuses a perfwatch.lock that is a directory, naming it and saying to remove it, and leaves it there'],
  },
  {
    name: "an actor's death during its stop left to no one",
    what: "Supervisor.stop() gives an actor that died during its own stop no successor: the collector's drain of the rings, the storage actor's last flush, are lost without a word",
    edits: [{ find: '      ended = await this.stopBySuccessor();', replace: "      ended = await Promise.resolve<StopEnd>({ how: 'done' });" }],
    tests: ['storage.test.ts'],
    // The storage actor's case is not listed: its death must land in its successor's flush,
    // which it does in most runs but not all (the successor may come up before stop() looks).
    mustFail: ['finishes the stop through a successor when the collector dies during its stop: every sample recorded is on disk'],
  },
  {
    name: 'a stop past its bound lost without a word',
    what: 'Supervisor.stop() terminates an actor still at its stop after 5 s and says nothing: what its stop had not done (the rings not drained, the store not written) is lost silently',
    edits: [{ find: '      this.lost(`it did not finish its stop within ${STOP_TIMEOUT_MS} ms and was terminated`);', replace: '' }],
    tests: ['storage.test.ts'],
    mustFail: ['reports in status().faults what a collector still at its stop past the bound lost, terminated'],
  },
  {
    name: "the collector's stop after one pass",
    what: "the collector's stop ends after one pass, which drains at most 65,536 samples a ring: with a larger ringCapacity, what waited past them at stop() was left in the ring, and with storage lost at the process's exit",
    edits: [{ find: 'if (stopping ? moved > 0 && engine.anyPending() : (moved > 0 && engine.anyPending()) || engine.closing) {', replace: 'if (!stopping && ((moved > 0 && engine.anyPending()) || engine.closing)) {' }],
    tests: ['monitor.test.ts'],
    mustFail: ['applies at stop() every sample waiting in a ring larger than one pass takes'],
  },
  {
    name: "monitor_ingested read from 0 by a successor",
    what: "the total of monitor_ingested's last reading is not kept in the control block: a collector counts from 0, and its first reading after a restart (or a start() after stop()) is the monitor's whole total, a spike",
    edits: [{ find: '    this.ctl.f64[INGESTED_AT_READING] = ingested;\n', replace: '' }],
    tests: ['collector-counters.test.ts'],
    mustFail: ["reads monitor_ingested on from its predecessor's last reading"],
  },
  {
    name: 'a timestamp past a Date thrown as a RangeError',
    what: "a batch sample's timestamp beyond a Date's range (1e300, 9e15) is put in the out-of-range error as an ISO time, whose toISOString throws a RangeError: recordBatch threw that into the host, and MCP answered PW_ERR_INTERNAL: Invalid time value",
    edits: [{ find: 'if (Math.abs(t) > DATE_RANGE_MS) throw', replace: 'if (Number.isNaN(t)) throw' }],
    tests: ['monitor.test.ts'],
    mustFail: ['records batches all or nothing, with the times the samples were taken', 'records batches in columns with the same rules, all or nothing'],
  },
  {
    name: 'a cancelled capture runs on',
    what: "capture_performance_profile does not stop its capture when the client cancels the call: the capture ran its whole length (up to 120 s) for no one, and every capture asked for meanwhile was PW_ERR_BUSY",
    edits: [{ find: "work.signal.addEventListener('abort', started.stop, { once: true });", replace: '' }],
    tests: ['profile-fronts.test.ts'],
    mustFail: ['ends a capture its client cancels, so that the next starts at once; the cancelled one is kept'],
  },
  {
    name: 'alerts pages from the start',
    what: "get_performance_alerts lists every page from the first alert: past the 1,000 a limit reaches (a rule over 10,000 series fires thousands), the rest of the alerts, rules and changes could not be listed",
    edits: [{ find: 'for (let i = from; i < items.length; i++) {', replace: 'for (let i = 0; i < items.length; i++) {' }],
    tests: ['mcp-budgets.test.ts'],
    mustFail: ['pages alerts, rules and history with offset: every item once, and a cut page names the next'],
  },
  {
    name: "a report's text without the actions of its diagnoses",
    what: "the text of a JSON report names, for a recommendation made from a diagnosis, only '(the actions of diagnosis …)': a model that reads the text is told of a problem and not what to do",
    edits: [{ find: 'const actions = new Map((out.diagnoses ?? []).map((d) => [`diagnosis ${d.id}`, d.actions]));', replace: 'const actions = new Map<string, string[]>();' }],
    tests: ['report-diagnoses.test.ts'],
    mustFail: ['turn each diagnosis into a recommendation carrying its evidence'],
  },
  {
    name: 'the alert actor beats before it is loaded',
    what: "a new alert actor beats at its start, before it holds its rules and alert states: with 120,000 alerts their load is one step of seconds, past the beat a round promises, so each successor was replaced while loading, a crash loop in which no alert was judged",
    edits: [{ find: '  await loading;\n', replace: '' }],
    tests: ['alerting.test.ts'],
    mustFail: ['comes back after a crash with 120,000 alerts: its successor beats once it holds them, not while it loads them'],
  },
  {
    name: 'sessions at the cap refused, none evicted',
    what: "an initialize at maxSessions is answered 503 while idle sessions hold the places: clients that leave without a DELETE (a script that exits, an agent that crashes) filled the 100 places within 15 minutes, and every later client was locked out until they expired",
    edits: [{ find: 'this.open.size + this.opening >= this.limit && !this.evictIdlest()', replace: 'this.open.size + this.opening >= this.limit' }],
    tests: ['mcp-http-limits.test.ts'],
    mustFail: ['make room for a new client by evicting the least recently active idle one', 'answer an evicted client 404, after which it starts a new session'],
  },
  {
    name: 'a busy session evicted',
    what: 'the session evicted at maxSessions is the least recently active whether or not it is busy: a client whose call is in flight (a 20 s capture) loses its session under it, and its answer is a 404',
    edits: [{ find: 'if (session.busy > 0) continue;', replace: '' }],
    tests: ['mcp-http-limits.test.ts'],
    mustFail: ['never evict a session with a request in flight, and refuse with 503 only when every session is busy'],
  },
  {
    name: 'the oldest session evicted, not the least recently active',
    what: "a session's activity does not move it in the sessions' order: the one evicted at maxSessions is the oldest idle one, a client that has been calling all along, before one that left long ago",
    edits: [{ find: '    this.open.delete(id);\n    this.open.set(id, session);\n', replace: '' }],
    tests: ['mcp-http-limits.test.ts'],
    mustFail: ['make room for a new client by evicting the least recently active idle one'],
  },
  {
    name: 'evictions not counted',
    what: 'sessions evicted at maxSessions are not counted: status().sessions.evicted and get_monitoring_status say 0 while clients are being answered 404',
    edits: [{ find: 'this.evicted++;', replace: '' }],
    tests: ['mcp-http-limits.test.ts'],
    mustFail: ['make room for a new client by evicting the least recently active idle one'],
  },
  {
    name: 'a session busy only once its body is read',
    what: 'a request marks its session busy only once its body has been read: a session whose large batch is still arriving is idle, evicted to make room for a new client, and answered 404 once it has sent it all',
    edits: [
      { find: "    const session = sessionId === undefined ? undefined : sessions.use(sessionId);\n    if (session) res.once('close', session.done);\n", replace: '    let session: SessionUse | undefined;\n' },
      {
        find: '    if (await isLegacyRequest(probeOf(req), body, { maxRequestBodySize: policy.maxBodyBytes })) return legacy(req, res, body, session);',
        replace: "    session = sessionId === undefined ? undefined : sessions.use(sessionId);\n    if (session) res.once('close', session.done);\n    if (await isLegacyRequest(probeOf(req), body, { maxRequestBodySize: policy.maxBodyBytes })) return legacy(req, res, body, session);",
      },
    ],
    tests: ['mcp-http-limits.test.ts'],
    mustFail: ['count a session busy from the first byte of its request: one whose body is still arriving is not evicted'],
  },
  {
    name: "histories' packed answer reads each series' sketches from the first's",
    what: "unpackHistory gives each series the whole column of sketches: a row's sketchAt is relative to its own series' runs, so every series but the first would read another's sketch (its quantiles wrong)",
    edits: [{ find: 'sketches: r.sketches.subarray(p.sketchAt[i]!, p.sketchAt[i + 1]!),', replace: 'sketches: r.sketches,' }],
    tests: ['storage-histories.test.ts'],
    mustFail: ['reads back each series as it was, a series not stored as null and one with no rows as empty'],
  },
  {
    name: 'baselines learned for every series to show a page',
    what: "getBaselines({ offset, limit }) learns every series' baseline and lists the page of them: the status answer, which shows the first few, read the history of every series for them (1.5-3.2 s at 10,000 series)",
    edits: [{ find: 'const ids = withData.slice(offset, offset + limit);', replace: 'const ids = withData;' }],
    tests: ['reports.test.ts'],
    mustFail: ['learns only the page asked for, the same baselines the whole list holds at its place'],
  },
  {
    name: 'stored baselines paged from their first',
    what: "a page of getBaselines() past the fresh baselines starts the stored ones at their first, whatever its offset: the last page repeats the first stored ones",
    edits: [{ find: 'const from = Math.max(0, offset - withData.length);', replace: 'const from = 0;' }],
    tests: ['reports.test.ts'],
    mustFail: ['pages the baselines a database kept after the fresh ones, at their place'],
  },
  {
    name: 'a misspelt tag name gets no suggestion',
    what: "meantTags mends no tag name: get_performance_metrics with { endpont: '/x' } says only that no series matches, not that endpoint was meant",
    edits: [{ find: 'const key = keys.includes(k) ? k : closeName(k, keys);', replace: 'const key = keys.includes(k) ? k : undefined;' }],
    tests: ['mcp-metrics-tag-typo.test.ts'],
    mustFail: ['names the tag name a typo meant'],
  },
  {
    name: 'a dead lock taken over by two',
    what: "monitors starting at once on a dataDir whose lock a dead process left each remove it without the takeover guard: one removes the lock another has just made in its place, and two processes own the dataDir and write one file",
    edits: [{ find: '    const taker = await removeDead(dir, file);\n', replace: '    const taker: number | undefined = await unlink(file).then(() => undefined, () => undefined);\n' }],
    tests: ['storage.test.ts'],
    mustFail: ["leaves a dead process's lock to the monitor taking it over (perfwatch.lock.takeover), and takes over one whose taker died"],
  },
  {
    name: "an export's own requests dropped",
    what: "an export cut into more requests than queueLimit drops its own first requests as it is queued: the same series are lost at every export to a receiver that takes everything",
    edits: [{ find: 'Math.max(this.config.queueLimit, batches.length), earlier - oldest)', replace: 'this.config.queueLimit, this.queue.length - oldest)' }],
    tests: ['export-remote-write.test.ts'],
    mustFail: ['sends an export cut into more requests than queueLimit whole to a receiver that takes everything, dropping nothing'],
  },
  {
    name: 'a history silent on what it could not read',
    what: "a series whose stored rollups cannot be read (a damaged file, an actor that cannot answer) is left out of a history, or cut to its memory's part, and the answer says nothing: it reads as all there was",
    edits: [{ find: "          unread = { series: (unread?.series ?? 0) + 1, error: unread?.error ?? (error instanceof Error ? error.message : String(error)) };\n", replace: '' }],
    tests: ['storage.test.ts'],
    mustFail: ["says in a history which series' stored rollups could not be read, rather than leaving them out without a word"],
  },
  {
    name: 'a crash restart that says nothing of its loss',
    what: "a start that takes over the lock of a monitor killed without stop() says nothing: what it recorded after its last write is gone, and the restart reads as one that lost nothing",
    edits: [{ find: '      if (this.lock.leftBy !== undefined && lastWrite !== undefined) {', replace: '      if (this.lock.leftBy !== undefined && lastWrite === -1) {' }],
    tests: ['storage.test.ts'],
    mustFail: ['loses only what came after the last flush when the process is SIGKILLed'],
  },
  {
    name: 'a history answer of millions of points',
    what: "/api/history and /api/events take max_points × limit of any size within each one's range: one request for 50 series of 20,000 stored minutes held the host's event loop 5.3 s and took 930 MB",
    edits: [{ find: '  if (limit * maxPoints <= MAX_ANSWER_POINTS) return;', replace: '  if (limit * maxPoints <= Infinity) return;' }],
    tests: ['http-api.test.ts'],
    mustFail: ['refuses a history of more than 100,000 points (max_points × limit) on /api/history and /api/events, naming the parameter'],
  },
  {
    name: 'an export error kept past recovery',
    what: "an exporter's lastError stays in status after the endpoint took requests again: a user reading status takes it for failing still",
    edits: [{ find: '        this.st.lastError = null;\n        return DONE;', replace: '        return DONE;' }],
    tests: ['export-remote-write.test.ts'],
    mustFail: ['clears lastError once the endpoint takes a whole request again, as storage does; the failures stay counted'],
  },
  {
    name: 'a storage fault per series of a history',
    what: "a history that cannot read its stored rows (a damaged file) counts a storage fault for each of its series: 300 for one read of 300",
    edits: [{ find: '    return this.actor.call((a) => a.history(name, tags, from, to, hourly), true);', replace: "    return this.actor.call((a) => a.history(name, tags, from, to, hourly), true).catch((error: unknown) => {\n      this.deps.faults.report('storage', error);\n      throw error;\n    });" }],
    tests: ['storage.test.ts'],
    mustFail: ['counts a history that could not read its stored rows as one fault, naming how many series, not one per series'],
  },
  {
    name: 'a damaged journal blob skipped without a word',
    what: "a journal blob that cannot be read is skipped when a start folds the journal a killed process left, its samples lost, and nothing says so",
    edits: [{ find: '    if (fold.damaged > 0) {', replace: '    if (fold.damaged < 0) {' }],
    tests: ['storage.test.ts'],
    mustFail: ['says what a damaged journal lost when it folds the journal a process left: a fault with the count, and status().storage'],
  },
  {
    name: 'a full disk fails start()',
    what: "a monitor whose disk has no room for its lock file, database or WAL at start() cannot start until space returns, where it should record in memory and attach the database once there is room",
    edits: [{ find: '      if (this.deps.driven || !noRoom(error)) throw error;', replace: '      throw error;' }],
    tests: ['storage-disk.test.ts'],
    mustFail: ['starts on a disk with no room for its database: records in memory, says why, refuses rule changes, and attaches once there is room, writing what it recorded meanwhile'],
  },
  {
    name: 'a late restore numbering over the stored transitions',
    what: "the transitions a monitor made while its database waited for room keep their numbers from 1 when the stored state is read late: they are dropped as duplicates of the stored rows (INSERT OR IGNORE), and their notes written over them",
    edits: [{ find: '      this.log.renumber(state.lastTransitionSeq);\n', replace: '' }],
    tests: ['storage-disk.test.ts'],
    mustFail: ['starts on a disk with no room for its database: records in memory, says why, refuses rule changes, and attaches once there is room, writing what it recorded meanwhile'],
  },
  {
    name: "a live monitor's lock hidden by a full disk",
    what: "a start on a full disk whose dataDir another live monitor holds goes on in memory, waiting to attach that monitor's database, instead of refusing with StorageLockedError",
    edits: [{ find: '      if (owner !== undefined && holds(owner, file)) throw new StorageLockedError(dir, owner.pid);\n      throw error;', replace: '      throw error;' }],
    tests: ['storage-disk.test.ts'],
    mustFail: ['starts on a disk with no room for its database: records in memory, says why, refuses rule changes, and attaches once there is room, writing what it recorded meanwhile'],
  },
];

function parseArgs(argv) {
  const only = [];
  let allTests = false;
  let keep = false;
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--only') only.push(argv[++i]);
    else if (argv[i] === '--check') check = true;
    else if (argv[i] === '--all-tests') allTests = true;
    else if (argv[i] === '--keep') keep = true;
    else throw new Error(`unknown argument ${argv[i]} (known: --only <name>, --all-tests, --keep, --check)`);
  }
  return { only, allTests, keep, check };
}

/** Every file of the working tree that git does not ignore (tracked or not). */
function treeFiles() {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' });
  return out.split('\0').filter((f) => f && existsSync(join(ROOT, f)));
}

function copyTree(files, to) {
  for (const f of files) {
    mkdirSync(dirname(join(to, f)), { recursive: true });
    cpSync(join(ROOT, f), join(to, f));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(to, 'node_modules'), 'dir');
}

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/**
 * Applies a break's edits in the copy: each snippet must occur exactly once in src/ and
 * workers/. With `write` false, only finds them (--check, on the tree itself).
 */
function applyBreak(copy, brk, write = true) {
  const sources = [...walk(join(copy, 'src')), ...walk(join(copy, 'workers'))].filter((f) => f.endsWith('.ts'));
  const places = [];
  for (const edit of brk.edits) {
    const hits = [];
    for (const f of sources) {
      const text = readFileSync(f, 'utf8');
      for (let at = text.indexOf(edit.find); at !== -1; at = text.indexOf(edit.find, at + 1)) hits.push({ f, at, text });
    }
    if (hits.length !== 1) {
      const where = hits.map((h) => `${relative(copy, h.f)}:${h.text.slice(0, h.at).split('\n').length}`).join(', ');
      throw new Error(`break "${brk.name}": its snippet ${JSON.stringify(edit.find)} occurs ${hits.length} times in src/ and workers/ (${where || 'nowhere'}), not once: update test/break-builds.mjs`);
    }
    const { f, at, text } = hits[0];
    if (write) writeFileSync(f, text.slice(0, at) + edit.replace + text.slice(at + edit.find.length));
    places.push(`${relative(copy, f)}:${text.slice(0, at).split('\n').length}`);
  }
  return places.join(', ');
}

function build(copy, label) {
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: copy, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${label}: the copy does not build:\n${r.stdout}${r.stderr}`);
}

/** Test files by name, anywhere under test/. */
function testPaths(copy, names) {
  const all = walk(join(copy, 'test')).map((p) => relative(copy, p));
  return names.map((n) => {
    const found = all.filter((p) => p.endsWith(`/${n}`));
    if (found.length !== 1) throw new Error(`test file ${n}: ${found.length} files of that name under test/, not one: update test/break-builds.mjs`);
    return found[0];
  });
}

/** Runs vitest in the copy; returns every test's file, title and status. */
function runTests(copy, files) {
  const out = join(copy, 'vitest-result.json');
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=json', `--outputFile=${out}`, ...files], {
    cwd: copy,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (!existsSync(out)) throw new Error(`vitest wrote no result (exit ${r.status}):\n${r.stdout.slice(-4000)}${r.stderr.slice(-4000)}`);
  const json = JSON.parse(readFileSync(out, 'utf8'));
  const tests = json.testResults.flatMap((file) =>
    file.assertionResults.map((a) => ({ file: relative(copy, file.name), title: a.fullName ?? a.title, status: a.status, message: (a.failureMessages ?? []).join('\n') })),
  );
  // A file that failed to load has no assertion results, only a message.
  const fileErrors = json.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0).map((f) => `${relative(copy, f.name)}: ${f.message}`);
  return { tests, fileErrors, exit: r.status };
}

/** --check: each break's snippets and test files are found, without building or testing. */
function checkOnly(breaks) {
  for (const brk of breaks) console.log(`${brk.name}: ${applyBreak(ROOT, brk, false)}; ${testPaths(ROOT, brk.tests).join(' ')}`);
}

function main() {
  const { only, allTests, keep, check } = parseArgs(process.argv.slice(2));
  const breaks = BREAKS.filter((b) => (only.length === 0 || only.some((o) => b.name.includes(o))));
  if (breaks.length === 0) throw new Error(`no break matches ${only.join(', ')}`);
  const files = treeFiles();
  if (check) return checkOnly(breaks);
  const base = mkdtempSync(join(tmpdir(), 'perfwatch-breaks-'));
  const results = [];
  try {
    // The clean tree first: the files the breaks run must pass on it.
    const clean = join(base, 'clean');
    copyTree(files, clean);
    build(clean, 'clean tree');
    const union = allTests ? [] : testPaths(clean, [...new Set(breaks.flatMap((b) => b.tests))]);
    process.stderr.write(`clean tree: ${allTests ? 'the whole suite' : union.join(' ')}\n`);
    const baseline = runTests(clean, union);
    const bad = baseline.tests.filter((t) => t.status === 'failed');
    if (bad.length > 0 || baseline.fileErrors.length > 0) {
      throw new Error(`the clean tree fails, so the breaks would prove nothing:\n${[...bad.map((t) => `${t.file}: ${t.title}\n${t.message.slice(0, 2000)}`), ...baseline.fileErrors].join('\n')}`);
    }
    for (const brk of breaks) {
      const copy = join(base, brk.name.replace(/[^a-z0-9]+/gi, '-'));
      copyTree(files, copy);
      const where = applyBreak(copy, brk);
      build(copy, `break "${brk.name}"`);
      const paths = allTests ? [] : testPaths(copy, brk.tests);
      process.stderr.write(`break "${brk.name}" at ${where}: ${allTests ? 'the whole suite' : paths.join(' ')}\n`);
      const run = runTests(copy, paths);
      const failed = run.tests.filter((t) => t.status === 'failed');
      const missed = brk.mustFail.filter((title) => !failed.some((t) => t.title.includes(title)));
      for (const t of failed) process.stderr.write(`  failed: ${t.title}\n    ${t.message.split('\n').find((l) => l.trim()) ?? ''}\n`);
      results.push({ brk, where, failed, missed, fileErrors: run.fileErrors });
      if (!keep) rmSync(copy, { recursive: true, force: true });
    }
  } finally {
    if (!keep) rmSync(base, { recursive: true, force: true });
    else process.stderr.write(`copies kept in ${base}\n`);
  }
  let ok = true;
  console.log('\n| break | what it removes | applied at | tests that failed | verdict |');
  console.log('|---|---|---|---|---|');
  for (const { brk, where, failed, missed, fileErrors } of results) {
    const caught = failed.length > 0 && missed.length === 0;
    ok &&= caught;
    const names = failed.map((t) => `${t.file.replace(/^test\//, '')}: ${t.title}`);
    console.log(`| ${brk.name} | ${brk.what} | ${where} | ${failed.length}: ${names.join('; ') || 'none'}${fileErrors.length ? `; files that did not load: ${fileErrors.length}` : ''} | ${caught ? 'caught' : `NOT CAUGHT${missed.length ? ` (still passing: ${missed.join('; ')})` : ''}`} |`);
  }
  if (!ok) {
    console.error('\nat least one break went unnoticed by the tests named for it');
    process.exit(1);
  }
  console.log(`\nevery break (${results.length}) made the tests named for it fail`);
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
