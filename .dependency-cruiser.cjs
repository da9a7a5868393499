/**
 * Which way imports point (checked by test/dependencies.test.ts, part of `npm test`).
 *
 * Layers, from the bottom: src/errors.ts; the engine (rings, registry, store, sketch: the data
 * plane every thread shares); analysis (statistics over the store, shared by features); the
 * actors' protocols and supervision; the features (alerts, reports, optimizer, overhead, export);
 * the monitor, which owns them (storage, the database behind the storage actor, is a
 * feature); config loading; the fronts (mcp; http, which mounts mcp's endpoint beside
 * /metrics and /api; cli). A layer imports the
 * ones below it, never one above. The package entry (src/index.ts) may import anything and
 * nothing imports it. workers/ are thin actor shells over src/; nothing in src imports them
 * (they are started by URL). No import cycles, type-only imports included.
 *
 * The exceptions, each named by the rule that allows it:
 * - actors/protocols.ts names the alert rule, report, optimisation audit and export types that
 *   cross threads with its messages, and the notifier's outbox rows (alerts/outbox.ts) that its
 *   control-state commits carry (types only);
 * - reports read alerts/schema.ts: a report analyses the alert history;
 * - the hub reads storage/sketch-codec.ts: members send sketches in the encoding of the disk;
 * - profiling/schema.ts and alerts/schema.ts are read by the features beside them: a rule's
 *   capture fields and the capture note on a transition come from the first, the rule and
 *   transition a capture answers from the second; reports and the protocols carry the notes;
 * - the monitor's serveMcp() and serveHttp() load their front when first called (a require()
 *   in monitor/fronts.ts, plus the types of their signatures), so that a service that never
 *   serves one never loads it; monitor/front-stages.ts requires the front's parts first, one
 *   a turn of the event loop, so that the load does not hold the host's thread all at once.
 */
const FEATURES = '^src/(alerts|reports|optimizer|overhead|storage|hub|profiling|instrument|export)/';

module.exports = {
  forbidden: [
    {
      name: 'errors-stand-alone',
      comment: 'src/errors.ts and src/version.ts are imported by every layer, so they import none.',
      severity: 'error',
      from: { path: '^src/(errors|version)\\.ts$' },
      to: { path: '^(src|workers)/' },
    },
    {
      name: 'engine-at-the-bottom',
      comment: 'The engine (the data plane every thread shares) imports only itself, errors.ts and version.ts (a producer handle names the release that laid out its memory).',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: { path: '^(src|workers)/', pathNot: '^src/(engine/|(errors|version)\\.ts$)' },
    },
    {
      name: 'analysis-over-the-engine',
      comment: 'Statistics over the store read the engine, nothing above it.',
      severity: 'error',
      from: { path: '^src/analysis/' },
      to: { path: '^(src|workers)/', pathNot: '^src/(engine/|analysis/|errors\\.ts$)' },
    },
    {
      name: 'actors-below-the-features',
      comment: 'Protocols and supervision sit below the features that start actors.',
      severity: 'error',
      from: { path: '^src/actors/' },
      to: { path: '^(src|workers)/', pathNot: '^src/(engine/|analysis/|actors/|errors\\.ts$|alerts/(schema|outbox)\\.ts$|profiling/schema\\.ts$|reports/types\\.ts$|optimizer/optimization\\.ts$|storage/|export/(endpoint|service)\\.ts$)' },
    },
    {
      name: 'protocols-name-feature-types-only',
      comment: 'Exception: actors/protocols.ts names the alert and report types its messages carry, as types only.',
      severity: 'error',
      from: { path: '^src/actors/' },
      to: { path: FEATURES, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'only-protocols-name-feature-types',
      severity: 'error',
      from: { path: '^src/actors/', pathNot: '^src/actors/protocols\\.ts$' },
      to: { path: FEATURES },
    },
    {
      name: 'features-below-the-monitor',
      comment: 'A feature knows the engine, analysis and the actors, not who owns it.',
      severity: 'error',
      from: { path: FEATURES },
      to: { path: '^(src/(monitor|config|mcp|http|cli)/|src/index\\.ts$)' },
    },
    {
      name: 'features-apart',
      comment: 'Features do not import each other. Exceptions: the hub sends sketches in the encoding storage keeps them in on disk (storage/sketch-codec.ts); alerting and profiling share their two schemas (see the top).',
      severity: 'error',
      from: { path: '^src/(alerts|optimizer|overhead|storage|hub|profiling|instrument|export)/' },
      to: { path: FEATURES, pathNot: '^src/($1/|storage/sketch-codec\\.ts$|(alerts|profiling)/schema\\.ts$)' },
    },
    {
      name: 'reports-read-the-alert-schema-only',
      comment: "Exception: a report analyses the alert history and the profile captures of its range, so reports read alerts/schema.ts, the alert words apart from it (alerts/vocabulary.ts: a report thread that needs only them does not load zod) and profiling/schema.ts, nothing else of another feature.",
      severity: 'error',
      from: { path: '^src/reports/' },
      to: { path: '^src/(alerts|optimizer|overhead|profiling)/', pathNot: '^src/((alerts|profiling)/schema|alerts/vocabulary)\\.ts$' },
    },
    {
      name: 'monitor-below-the-fronts',
      comment: 'The monitor does not know its fronts (see the next rule for serveMcp and serveHttp), except to load their parts in steps (monitor/front-stages.ts, by require() only).',
      severity: 'error',
      from: { path: '^src/monitor/', pathNot: '^src/monitor/front-stages\\.ts$' },
      to: { path: '^(src/(config|cli)/|src/index\\.ts$|src/mcp/(?!index\\.ts$|http-options\\.ts$)|src/http/(?!index\\.ts$|options\\.ts$|types\\.ts$))' },
    },
    {
      name: 'monitor-loads-the-fronts-lazily',
      comment: 'Exception: serveMcp() and serveHttp() load their front when first called (a require() in monitor/fronts.ts, import() where the host turned require() of ES modules off), and name the types of their signatures.',
      severity: 'error',
      from: { path: '^src/monitor/' },
      to: { path: '^src/(mcp|http)/', dependencyTypesNot: ['require', 'dynamic-import', 'type-only'] },
    },
    {
      name: 'no-other-lazy-imports',
      comment: 'The only lazy loads of our own code are the fronts\' in monitor/fronts.ts and monitor/front-stages.ts (require(): a failed import() stays failed in Node for the life of the process), and the CLI\'s commands in cli/commands.ts (a command runs once in its own process, which ends with it: perfwatch --help and a usage error load none of them).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(monitor/fronts|monitor/front-stages|cli/commands)\\.ts$' },
      to: { path: '^src/', dependencyTypes: ['dynamic-import', 'require'] },
    },
    {
      name: 'config-below-the-fronts',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^(src/(mcp|http|cli)/|src/index\\.ts$)' },
    },
    {
      name: 'mcp-without-the-cli',
      comment: 'The CLI serves the MCP front, and the HTTP front mounts its endpoint, never the other way round.',
      severity: 'error',
      from: { path: '^src/mcp/' },
      to: { path: '^(src/(cli|http)/|src/index\\.ts$)' },
    },
    {
      name: 'http-without-the-cli',
      comment: 'The CLI serves the HTTP front, never the other way round.',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^(src/cli/|src/index\\.ts$)' },
    },
    {
      name: 'the-entry-is-imported-by-no-one',
      severity: 'error',
      from: { path: '^(src|workers)/', pathNot: '^src/index\\.ts$' },
      to: { path: '^src/index\\.ts$' },
    },
    {
      name: 'src-never-imports-workers',
      comment: 'Actors are started by URL; their shells are never imported.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^workers/' },
    },
    {
      name: 'workers-are-shells-over-src',
      comment: 'An actor shell imports src/ and packages, not another shell, bench or test code; a CommonJS entry (workers/*-entry.cts) loads its own shell, as piscina require()s its file (workers/reports-entry.cts).',
      severity: 'error',
      from: { path: '^workers/', pathNot: '^workers/[a-z-]+-entry\\.cts$' },
      to: { path: '^(workers|bench|test)/' },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles, type-only imports included; the lazy loads of serveMcp() and serveHttp() (monitor/fronts.ts) are the exception.',
      severity: 'error',
      from: { path: '^(src|workers)/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['require', 'dynamic-import'] } },
    },
    {
      name: 'no-orphans',
      comment: 'A module nothing imports and that imports nothing of ours is dead code; bench-echo.ts is a process of its own (the MCP benchmarks\' peer), started by path.',
      severity: 'error',
      from: { orphan: true, pathNot: '^src/cli/bench-echo\\.ts$' },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^(src|workers)/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
