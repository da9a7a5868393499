import { once } from 'node:events';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CardinalityError, InvalidArgumentError, KindMismatchError, MonitorStoppedError, PerformanceMonitor } from '../dist/src/index.js';
import { caught as caughtAny } from './helpers.js';

const caught = (fn: () => unknown): InvalidArgumentError => caughtAny<InvalidArgumentError>(fn);

describe('bad input', () => {
  const m = new PerformanceMonitor({ storage: 'memory', maxSeries: 32, maxTags: 3, maxTagValueLength: 20, system: { enabled: false }, runtime: { enabled: false } });
  const good = m.metric('response_time', { route: '/ok' });

  beforeAll(async () => {
    await m.start();
    for (let i = 0; i < 100; i++) good.record(10);
    await m.flush();
  });
  afterAll(() => m.stop());

  it('refuses non-finite and non-numeric values, naming the field', () => {
    for (const bad of [Number.NaN, Infinity, -Infinity, '5', undefined, null]) {
      const e = caught(() => good.record(bad as number));
      expect(e).toBeInstanceOf(InvalidArgumentError);
      expect(e).toMatchObject({ code: 'PW_ERR_INVALID_ARG', field: 'value' });
      expect(e.message).toMatch(/^value of response_time must be a finite number of ms from 0 to under 2\^333 \(~1\.7e100\): a time is not negative, got /);
    }
    expect(caught(() => m.record('response_time', Number.NaN, { route: '/ok' })).message).toBe('value of response_time must be a finite number of ms from 0 to under 2^333 (~1.7e100): a time is not negative, got NaN');
    expect(caught(() => m.metric('throughput').record(-1)).message).toBe('value of throughput must be a finite number from 0 to under 2^333 (~1.7e100): counters only go up, got -1');
  });

  it("refuses a built-in metric's value outside what its unit allows (a negative time, a ratio past 1), also in a batch, and takes the application's own names as they come", () => {
    const cases: [string, number, string][] = [
      ['error_rate', 7, 'value of error_rate must be a ratio from 0 to 1, got 7'],
      ['cache_hit_rate', -2, 'value of cache_hit_rate must be a ratio from 0 to 1, got -2'],
      ['response_time', -5, 'value of response_time must be a finite number of ms from 0 to under 2^333 (~1.7e100): a time is not negative, got -5'],
      ['queue_size', -1, 'value of queue_size must be a finite count from 0 to under 2^333 (~1.7e100), got -1'],
      ['heap_used', -1, 'value of heap_used must be a finite number of bytes from 0 to under 2^333 (~1.7e100), got -1'],
    ];
    for (const [name, value, message] of cases) {
      expect(caught(() => m.record(name, value)), name).toMatchObject({ field: 'value', message });
      expect(caught(() => m.metric(name, { route: '/r' }).record(value)).message, name).toBe(message);
    }
    expect(caught(() => m.recordBatch([{ name: 'error_rate', value: 1 }, { name: 'error_rate', value: 3 }]))).toMatchObject({ field: 'samples[1].value', message: 'samples[1].value of error_rate must be a ratio from 0 to 1, got 3' });
    for (const [name, value] of [['error_rate', 0], ['error_rate', 1], ['cache_hit_rate', 0.25], ['response_time', 0], ['queue_size', 3]] as const) expect(() => m.record(name, value), name).not.toThrow();
    // The application's own metrics: a unit says what a value is, not what it may be.
    expect(() => m.record('clock_offset_ms', -5)).not.toThrow();
  });

  it('refuses malformed requests, naming the field', () => {
    expect(caught(() => m.recordRequest({ responseTimeMs: -5, success: true })).message).toBe('responseTimeMs must be a finite number from 0 to under 2^333 (~1.7e100), got -5');
    expect(caught(() => m.recordRequest({ responseTimeMs: Number.NaN, success: true })).field).toBe('responseTimeMs');
    // Optional only beside a statusCode: the message says so, not just "must be a boolean".
    expect(caught(() => m.recordRequest({ responseTimeMs: 5 } as never)).message).toBe('success must be a boolean when statusCode is not given (it decides error_rate), got undefined');
    expect(caught(() => m.recordRequest({ endpoint: '/a', responseTimeMs: 5 } as never)).field).toBe('success');
    expect(caught(() => m.recordRequest({ responseTimeMs: 5, success: 'yes' } as never)).message).toBe('success must be a boolean, got "yes"');
    expect(caught(() => m.recordRequest({ responseTimeMs: 5, success: true, statusCode: 700 })).message).toBe('statusCode must be an integer from 100 to 599, got 700');
    expect(caught(() => m.recordRequest({ responseTimeMs: 5, success: true, endpoint: 42 as never })).field).toBe('endpoint');
    expect(caught(() => m.recordRequest(null as never)).field).toBe('request');
  });

  it('refuses a request field it does not know, as createAlertRule does, listing the fields', () => {
    expect(caught(() => m.recordRequest({ responseTimeMs: 1, success: true, bogus: 1 } as never))).toMatchObject({
      field: 'bogus',
      message: 'bogus is not a known request field (the fields: responseTimeMs, success, statusCode, endpoint)',
    });
    expect(caught(() => m.recordRequest({ responseTimeMs: 1, success: true, statuscode: 200 } as never)).message).toBe(
      'statuscode is not a known request field (the fields: responseTimeMs, success, statusCode, endpoint)',
    );
  });

  it('says a kind mismatch in words: what the metric is and what it was asked to be', () => {
    expect(caught(() => m.define({ name: 'queue_size', kind: 'counter' })).message).toBe('metric "queue_size" is already defined as a gauge (unit: count); it cannot be redefined as a counter (no unit)');
    expect(caught(() => m.metric('cpu_usage', {}, { kind: 'counter' })).message).toBe('metric "cpu_usage" is already defined as a gauge (unit: percent); it cannot be redefined as a counter (unit: percent)');
  });

  it("refuses metric() options that are not { kind?, unit? }: metric('jobs', {}, 'counter') made a distribution without a word", () => {
    expect(caught(() => m.metric('opt_jobs', {}, 'counter' as never))).toMatchObject({ field: 'options', message: `options must be an object { kind?, unit? } (metric(name, tags, { kind: 'counter' })), got "counter"` });
    expect(caught(() => m.metric('opt_jobs', {}, { kind: 'counter', unti: 'ms' } as never))).toMatchObject({ field: 'options.unti', message: 'options.unti is not a known metric option (the options: kind, unit)' });
    expect(m.metric('opt_jobs', {}, { kind: 'counter' }).kind).toBe('counter');
    expect(m.metric('opt_rt').kind).toBe('distribution');
  });

  it('refuses a name that is not a string as InvalidArgumentError naming the field, not a TypeError', () => {
    for (const bad of [undefined, null, 5, {}, Symbol('s')]) {
      for (const [field, fn] of [
        ['name', () => m.record(bad as never, 1)],
        ['name', () => m.metric(bad as never)],
        ['samples[1].name', () => m.recordBatch([{ name: 'response_time', value: 1 }, { name: bad as never, value: 1 }])],
      ] as const) {
        const e = caught(fn);
        expect(e).toBeInstanceOf(InvalidArgumentError);
        expect(e.field).toBe(field);
        expect(e.message).toMatch(new RegExp(`^${field.replace(/[[\].]/g, '\\$&')} must be a string, got `));
      }
    }
    expect(caught(() => m.record(undefined as never, 1)).message).toBe('name must be a string, got undefined');
  });

  it('refuses bad names and tags with the limit in the message', () => {
    expect(caught(() => m.record('cpu usage', 1)).message).toBe('name "cpu usage" must match [a-zA-Z_:][a-zA-Z0-9_:]*');
    expect(caught(() => m.record('a', 1, { a: '1', b: '2', c: '3', d: '4' })).message).toBe('tags has 4 tags; the limit is maxTags 3');
    expect(caught(() => m.record('a', 1, { route: 'x'.repeat(21) })).message).toBe('tags.route is 21 characters long; the limit is maxTagValueLength 20');
    // Counted in UTF-16 code units, as the arena sizes a value: 11 rockets read "22 characters long" against a limit in characters.
    expect(caught(() => m.record('a', 1, { route: '\u{1F680}'.repeat(11) })).message).toBe('tags.route is 22 UTF-16 code units long (a character outside the Basic Multilingual Plane, such as an emoji, counts 2); the limit is maxTagValueLength 20');
    expect(caught(() => m.metric('cpu_usage', {}, { kind: 'counter' }))).toBeInstanceOf(KindMismatchError);
    expect(caught(() => m.define({ name: 'x', kind: 'histogram' as never })).message).toMatch(/^kind must be one of gauge, counter, distribution, got "histogram"/);
  });

  it('answers the cardinality limit with an error, not growth', () => {
    const room = 32 - m.status().series.count;
    expect(room).toBeGreaterThan(0);
    expect(room).toBeLessThan(40);
    const refused: unknown[] = [];
    for (let i = 0; i < 40; i++) {
      try {
        m.record('per_user', 1, { user: String(i) });
      } catch (error) {
        refused.push(error);
      }
    }
    // Every record past the limit is refused, each with the error (none silently ignored).
    expect(refused).toHaveLength(40 - room);
    refused.forEach((error, k) => {
      expect(error).toBeInstanceOf(CardinalityError);
      expect((error as Error).message).toBe(`series limit reached: maxSeries is 32 and per_user{user="${room + k}"} would be one more; reduce tag values or raise maxSeries`);
    });
    expect(m.status().series.count).toBe(32);
  });

  it('refuses out-of-range and unknown options, naming the field', () => {
    const opt = (o: unknown) => caught(() => new PerformanceMonitor(o as never));
    expect(opt({ collectionIntervalMs: 999 }).message).toBe('collectionIntervalMs must be an integer from 1000 to 300000 ms, got 999');
    expect(opt({ collectionIntervalMs: 300_001 }).field).toBe('collectionIntervalMs');
    expect(opt({ collectionIntervalMs: '1000' }).message).toBe('collectionIntervalMs must be an integer from 1000 to 300000 ms, got "1000"');
    expect(opt({ ringCapacity: 3000 }).message).toBe('ringCapacity must be a power of two from 1024 to 67108864, got 3000');
    expect(opt({ overflow: 'spin' }).message).toBe('overflow must be "wait", "drop" or "block", got "spin"');
    expect(opt({ system: { enabled: 'yes' } }).field).toBe('system.enabled');
    expect(opt({ colectionIntervalMs: 1000 }).message).toBe('colectionIntervalMs is not a known option; did you mean collectionIntervalMs?');
    expect(opt({ collectionIntervalMs: 60_000, bucketCapacity: 1 }).message).toMatch(/^bucketCapacity must be an integer from 2/);
  });

  it("refuses a column or series field recordColumns does not know: timestamp for timestamps, a series' tag for tags, each read past before", async () => {
    // opt_jobs: a counter the metric() test above registered (the suite's maxSeries is full by now).
    const total = (): number => m.getMetrics({ names: ['opt_jobs'] })[0]?.totalCount ?? 0;
    await m.flush();
    const before = total();
    const columns = { series: [{ name: 'opt_jobs' }], seriesIndex: new Uint32Array([0, 0]), values: new Float64Array([1, 2]), length: 2 };
    expect(caught(() => m.recordColumns({ ...columns, timestamp: new Float64Array([m.now(), m.now()]) } as never))).toMatchObject({
      field: 'columns.timestamp',
      message: 'columns.timestamp is not a known column (the columns: series, seriesIndex, values, timestamps, length)',
    });
    expect(caught(() => m.recordColumns({ ...columns, series: [{ name: 'opt_jobs', tag: { route: '/ok' } }] } as never))).toMatchObject({
      field: 'columns.series[0].tag',
      message: 'columns.series[0].tag is not a known series field (the fields: name, tags)',
    });
    expect(caught(() => m.recordColumns({ ...columns, series: 'opt_jobs' } as never)).field).toBe('columns.series');
    await m.flush();
    expect(total()).toBe(before);
    expect(m.recordColumns(columns)).toBe(2);
    await m.flush();
    expect(total()).toBe(before + 2);
  });

  it("refuses a listener of an event the monitor never emits: on('alerts', …) was added and never called", async () => {
    const events = 'the events: start, stop, pause, resume, alert, alert-profile, profile, drops, actor-exit, actor-restart, storage-error, storage-recovered';
    // @ts-expect-error a TypeScript caller is told at compile time; a JavaScript one here.
    expect(caught(() => m.on('alerts', () => {}))).toMatchObject({ field: 'event', message: `event "alerts" is not an event of the monitor; did you mean alert? (${events})` });
    // @ts-expect-error
    expect(caught(() => m.once('actor_exit', () => {})).message).toMatch(/^event "actor_exit" is not an event of the monitor; did you mean actor-exit\?/);
    // @ts-expect-error
    expect(caught(() => m.addListener('strat', () => {})).field).toBe('event');
    // @ts-expect-error
    expect(caught(() => m.prependOnceListener('Stop', () => {})).field).toBe('event');
    expect(m.listenerCount('alerts') + m.listenerCount('actor_exit') + m.listenerCount('strat') + m.listenerCount('Stop')).toBe(0);
    // The events there are still take listeners, and node:events' once() (which listens to 'error' beside) works.
    const seen: string[] = [];
    const paused = once(m, 'pause');
    m.once('resume', () => seen.push('resume'));
    m.prependListener('pause', () => seen.push('pause'));
    expect(m.pause()).toBe(true);
    await paused;
    expect(m.resume()).toBe(true);
    expect(seen).toEqual(['pause', 'resume']);
    m.removeAllListeners('pause');
  });

  it("says serveHttp's histogramBuckets and quantiles limits in their own words, as export's, not zod's 'at least 1 items'", async () => {
    await expect(m.serveHttp({ port: 0, histogramBuckets: [] })).rejects.toMatchObject({ field: 'histogramBuckets', message: 'histogramBuckets must have at least 1 bound, got an array of 0' });
    await expect(m.serveHttp({ port: 0, histogramBuckets: Array.from({ length: 101 }, (_, i) => i + 1) })).rejects.toThrow(/^histogramBuckets must have at most 100 bounds, got an array of 101$/);
    await expect(m.serveHttp({ port: 0, histogramBuckets: [1, Number.NaN] })).rejects.toThrow(/^histogramBuckets\[1\] must be a finite number, got NaN$/);
    await expect(m.serveHttp({ port: 0, quantiles: Array.from({ length: 11 }, (_, i) => (i + 1) / 20) })).rejects.toThrow(/^quantiles must have at most 10 quantiles, got an array of 11$/);
  });

  it("says serveHttp's maxMetricsBytes limits, naming the option and its range", async () => {
    for (const bad of [1000, 65_535, 2 ** 30 + 1, 1.5 * 2 ** 20 + 0.5]) {
      await expect(m.serveHttp({ port: 0, maxMetricsBytes: bad })).rejects.toMatchObject({ field: 'maxMetricsBytes', message: `maxMetricsBytes must be an integer from 65536 to 1073741824, got ${bad}` });
    }
    await expect(m.serveHttp({ port: 0, maxMetricsBytes: '64MB' as never })).rejects.toThrow(/^maxMetricsBytes must be an integer from 65536 to 1073741824, got "64MB"$/);
    // A near miss of its name is named.
    await expect(m.serveHttp({ port: 0, maxMetricBytes: 1 << 20 } as never)).rejects.toThrow(/maxMetricsBytes/);
  });

  it("refuses an alerts.externalUrl that is no http(s) URL: Alertmanager answered 422 to every alert whose generatorURL it made", () => {
    const opt = (o: unknown) => caught(() => new PerformanceMonitor(o as never));
    expect(opt({ alerts: { externalUrl: 'perfwatch.example.com' } })).toMatchObject({ field: 'alerts.externalUrl', message: 'alerts.externalUrl must be an http(s) URL, got "perfwatch.example.com"' });
    expect(opt({ alerts: { externalUrl: '' } }).field).toBe('alerts.externalUrl');
    expect(opt({ alerts: { externalUrl: 'https://grafana.example/' + 'p'.repeat(2048) } }).message).toBe('alerts.externalUrl must be at most 2048 characters, got a string of 2072 characters');
    expect(() => new PerformanceMonitor({ storage: 'memory', alerts: { externalUrl: 'https://perfwatch.example.com/ui' } })).not.toThrow();
  });

  it("refuses a URL it would post to on a port fetch refuses, naming the field and the port: every delivery to it failed with 'bad port'", () => {
    const opt = (o: unknown) => caught(() => new PerformanceMonitor(o as never));
    const refused = /^[\w.[\]]+ has port (\d+), which fetch refuses to connect to \(a "bad port" of the Fetch standard, as SMTP's, IRC's or X11's are\): every post would fail; have the receiver listen on another port, got "/;
    expect(opt({ alerts: { webhooks: ['http://127.0.0.1:9000/ok', 'http://127.0.0.1:6667/irc'] } })).toMatchObject({ field: 'alerts.webhooks[1]', message: expect.stringMatching(refused) });
    expect(opt({ alerts: { webhooks: [{ url: 'http://hooks.example:6000/x', headers: {} }] } }).message).toMatch(refused);
    expect(opt({ alerts: { alertmanagerUrl: 'http://am.example:5060/' } })).toMatchObject({ field: 'alerts.alertmanagerUrl', message: expect.stringMatching(refused) });
    expect(opt({ export: { remoteWrite: [{ url: 'http://127.0.0.1:1/api/v1/write' }] } })).toMatchObject({ field: 'export.remoteWrite[0].url', message: expect.stringMatching(/has port 1, which fetch refuses/) });
    // Each port refused here is one fetch refuses, and one it takes is not refused.
    for (const port of [1, 25, 6000, 6667, 10080]) expect(opt({ alerts: { webhooks: [`http://127.0.0.1:${port}/`] } }).message).toContain(`has port ${port},`);
    expect(() => new PerformanceMonitor({ storage: 'memory', alerts: { webhooks: ['http://127.0.0.1:8080/', 'https://hooks.example/'], alertmanagerUrl: 'http://127.0.0.1:9093/' } })).not.toThrow();
  });

  it("refuses a URL it would post to whose user info does not decode, naming the field and not the password: the exporter's thread ended at each start (URI malformed) and start() failed", () => {
    const opt = (o: unknown) => caught(() => new PerformanceMonitor(o as never));
    const malformed = /^[\w.[\]]+ has a password in its user info whose percent-encoding is malformed \(a % not followed by two hex digits, or escapes that are not UTF-8\): write a % there as %25$/;
    const refused = opt({ export: { remoteWrite: [{ url: 'http://user:pa%ss@127.0.0.1:19090/api/v1/write' }] } });
    expect(refused).toBeInstanceOf(InvalidArgumentError);
    expect(refused).toMatchObject({ field: 'export.remoteWrite[0].url', message: expect.stringMatching(malformed) });
    expect(opt({ export: { otlp: [{ url: 'http://127.0.0.1:4318/v1/metrics' }, { url: 'https://u:%ff@otlp.example/v1/metrics' }] } })).toMatchObject({ field: 'export.otlp[1].url', message: expect.stringMatching(malformed) });
    expect(opt({ alerts: { webhooks: ['http://127.0.0.1:9000/ok', 'http://u:50%@127.0.0.1:9000/hook'] } }).field).toBe('alerts.webhooks[1]');
    expect(opt({ alerts: { webhooks: [{ url: 'http://u:50%@127.0.0.1:9000/hook', headers: {} }] } }).field).toBe('alerts.webhooks[0].url');
    expect(opt({ alerts: { alertmanagerUrl: 'http://a%zz:p@127.0.0.1:9093/' } })).toMatchObject({ field: 'alerts.alertmanagerUrl', message: expect.stringContaining('has a user name in its user info whose percent-encoding is malformed') });
    // A % written as %25 is taken.
    expect(() => new PerformanceMonitor({ storage: 'memory', export: { remoteWrite: [{ url: 'http://user:pa%25ss@127.0.0.1:19090/api/v1/write' }] } })).not.toThrow();
  });

  it("keeps a receiver's credentials out of an error about its URL or headers, message and parts: a service that failed to start logged the password or token with it", () => {
    const opt = (o: unknown) => caught(() => new PerformanceMonitor(o as never));
    // What a crash's print, console.error(err) or a logger's error serializer writes: the message and every part.
    const logged = (e: InvalidArgumentError): string => `${inspect(e, { depth: 8 })} ${JSON.stringify(e)}`;
    const cases: [unknown, string, RegExp][] = [
      [{ export: { remoteWrite: [{ url: 'http://u:Pw5ecret@10.0.0.5:1/w' }] } }, 'export.remoteWrite[0].url', /has port 1, .*, got "http:\/\/10\.0\.0\.5:1\/w"$/],
      [{ export: { otlp: [{ url: 'ftp://u:Pw5ecret@otel/v1/metrics?api_key=K3ySecret' }] } }, 'export.otlp[0].url', /must be an http\(s\) URL, got "ftp:\/\/otel…"$/],
      [{ alerts: { webhooks: ['hooks.slack.com/services/T0/B0/Tok5ecret'] } }, 'alerts.webhooks[0]', /must be an http\(s\) URL, got a string of 40 characters$/],
      [{ alerts: { webhooks: [{ url: 'https://h:1/Tok5ecret?k=K3ySecret' }] } }, 'alerts.webhooks[0].url', /has port 1, .*, got "https:\/\/h:1\/…\?…"$/],
      [{ alerts: { alertmanagerUrl: 'http://u:Pw5ecret@am.example/' + 'p'.repeat(2048) } }, 'alerts.alertmanagerUrl', /must be at most 2048 characters, got "http:\/\/am\.example\/…"$/],
      [{ export: { remoteWrite: [{ url: 'http://127.0.0.1:9000/w', headers: { Authorization: 'Bearer Tok5ecret…' } }] } }, 'export.remoteWrite[0].headers', /U\+2026 at index 16: .*, got object$/],
      [{ alerts: { webhooks: [{ url: 'http://127.0.0.1:9000/w', headers: { 'X-Api-Key': 'K3ySecret', 'x-api-key': 'K3ySecret' } }] } }, 'alerts.webhooks[0].headers', /twice, also as "X-Api-Key".*, got object$/],
    ];
    for (const [options, field, message] of cases) {
      const refused = opt(options);
      expect(refused).toMatchObject({ field, message: expect.stringMatching(message) });
      expect(logged(refused)).not.toMatch(/Pw5ecret|Tok5ecret|K3ySecret/);
    }
    // What is no credential is still shown as given.
    expect(opt({ alerts: { externalUrl: 'ftp://perfwatch.example/ui' } })).toMatchObject({ message: 'alerts.externalUrl must be an http(s) URL, got "ftp://perfwatch.example/ui"', given: { value: 'ftp://perfwatch.example/ui' } });
  });

  it('refuses a hub.instance with control characters, naming it, as export.instance is: the hub refused every series of such a member', () => {
    const opt = (o: unknown) => caught(() => new PerformanceMonitor(o as never));
    const bad = opt({ hub: { connect: '/tmp/x.sock', instance: 'a\nb"c' } });
    expect(bad).toBeInstanceOf(InvalidArgumentError);
    expect(bad).toMatchObject({ field: 'hub.instance', message: expect.stringMatching(/^hub\.instance must not contain control characters \(a line break, a tab\): it is the instance tag of each of this member's series on the hub, got /) });
    expect(opt({ hub: { connect: '/tmp/x.sock', instance: 'tab\there' } }).field).toBe('hub.instance');
    expect(opt({ hub: { connect: '/tmp/x.sock', instance: 'lone \ud800' } }).message).toMatch(/^hub\.instance must be well-formed Unicode/);
    expect(() => new PerformanceMonitor({ storage: 'memory', hub: { connect: '/tmp/x.sock', instance: 'web-1 "blue"' } })).not.toThrow();
  });

  it('refuses a NUL in hub.listen or hub.connect, naming the field: the socket was made at the path before it', () => {
    const opt = (o: unknown) => caught(() => new PerformanceMonitor(o as never));
    for (const side of ['listen', 'connect'] as const) {
      expect(opt({ hub: { [side]: '/tmp/a\0b.sock' } })).toMatchObject({ field: `hub.${side}`, message: expect.stringMatching(new RegExp(`^hub\\.${side} must be a Unix socket path without a NUL character \\(the system would cut the path at it\\)`)) });
    }
  });

  it('refuses exactly the ports fetch refuses: each one of its list, and none of the common ones it takes', async () => {
    const { refusedPort } = await import('../dist/src/fetch-ports.js');
    const fetchRefuses = async (port: number): Promise<boolean> => {
      try {
        await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(200) });
        return false;
      } catch (error) {
        return String((error as { cause?: Error }).cause?.message ?? '').includes('bad port');
      }
    };
    const mismatched: number[] = [];
    for (let port = 1; port <= 10_100; port++) {
      const refused = refusedPort(`http://127.0.0.1:${port}/`) !== undefined;
      // Only the ports either side refuses are asked of fetch: each one it takes opens a connection.
      if (refused && !(await fetchRefuses(port))) mismatched.push(port);
    }
    for (const port of [6000, 6667, 5060, 25, 8080, 9093, 3000]) if ((refusedPort(`http://127.0.0.1:${port}/`) !== undefined) !== (await fetchRefuses(port))) mismatched.push(port);
    expect(mismatched).toEqual([]);
  });

  it('names the header whose value is not a string, in a webhook given as { url, headers } as in an exporter', () => {
    const opt = (o: unknown) => caught(() => new PerformanceMonitor(o as never)).message;
    // A webhook is a URL or { url, headers }: it was refused as "none of the forms this option takes", the header unnamed.
    expect(opt({ alerts: { webhooks: [{ url: 'http://127.0.0.1:9999/hook', headers: { Authorization: { bearer: 't' } } }] } })).toBe('alerts.webhooks[0].headers.Authorization must be a string, got object');
    expect(opt({ alerts: { webhooks: ['http://127.0.0.1:9999/a', { url: 'http://127.0.0.1:9999/b', headers: { 'X-Team': ['pay'] } }] } })).toBe('alerts.webhooks[1].headers.X-Team must be a string, got an array of 1');
    expect(opt({ export: { remoteWrite: [{ url: 'http://127.0.0.1:9999/write', headers: { Authorization: { bearer: 't' } } }] } })).toBe('export.remoteWrite[0].headers.Authorization must be a string, got object');
    // A value of neither form is still said as the union.
    expect(opt({ alerts: { webhooks: [42] } })).toBe('alerts.webhooks[0] is none of the forms this option takes, got 42');
  });

  it('says option errors in plain words: the path, the accepted values or range, the value given once, and the option a typo meant', async () => {
    const opt = (o: unknown) => caught(() => new PerformanceMonitor(o as never)).message;
    expect(opt({ bogusOption: 1 })).toMatch(/^bogusOption is not a known option \(the options: collectionIntervalMs, maxSeries, .*, hub\)$/);
    expect(opt({ system: { enabld: false } })).toBe('system.enabld is not a known option; did you mean enabled?');
    expect(opt({ export: { otlp: [{ url: 'http://x/', encodng: 'json' }] } })).toBe('export.otlp[0].encodng is not a known option; did you mean encoding?');
    expect(opt({ system: { enabled: 'yes' } })).toBe('system.enabled must be true or false, got "yes"');
    expect(opt({ hub: 'clusters' })).toBe(`hub must be 'cluster' or an object: { listen: path } (be the hub), { connect: path } (a member) or { cluster: true }, got "clusters"`);
    // A bound set by another option names that option and its value.
    expect(opt({ hub: { listen: '/tmp/x.sock', staleMs: 10_000, dropMs: 5_000 } })).toBe('hub.dropMs must be greater than hub.staleMs (10000 ms), got 5000');
    expect(opt({ hub: { listen: '/tmp/x.sock', dropMs: 3_000 } })).toBe('hub.dropMs must be greater than hub.staleMs (5000 ms), got 3000');
    expect(opt({ instrument: 'yes' })).toBe('instrument must be true (every source) or an object of sources: httpServer, httpClient, fetch, piscina, got "yes"');
    expect(opt({ instrument: { fetsh: true } })).toBe('instrument.fetsh is not a known option; did you mean fetch?');
    expect(opt('string')).toBe('options must be an object, got "string"');
    // No path holds a NUL: refused here, not at start() by the file system.
    expect(opt({ dataDir: 'data\0dir' })).toMatch(/^dataDir must be a directory path without a NUL character/);
    // A bad name in a record of names: the name's rule, with the name in the path.
    const rule = async (o: Record<string, unknown>) => ((await m.createAlertRule({ metric: 'a', operator: '>', threshold: 1, ...o } as never).catch((e: unknown) => e)) as Error).message;
    expect(await rule({ labels: { 'team name': 'pay' } })).toBe('labels.team name is not a valid label name: it must match [a-zA-Z_][a-zA-Z0-9_]*');
    expect(await rule({ tags: { ['k'.repeat(101)]: 'v' } })).toBe(`tags.${'k'.repeat(40)}… is a tag name longer than 100 characters`);
    // A tag no series can have: the rule would never match.
    expect(await rule({ tags: { __x: '1' } })).toBe('tags.__x is not a valid tag name: names starting with __ are reserved');
    expect(await rule({ labels: { __alertname: 'x' } })).toBe('labels.__alertname is not a valid label name: names starting with __ are reserved');
    // An anomaly window that leaves the ring fewer buckets before it than the score needs never gave a verdict.
    expect(await rule({ aggregation: 'anomaly', window: 281 })).toBe(
      'window must be at most 280 s for aggregation anomaly: its score compares the window with at least 20 buckets before it, and the bucket ring holds 300 buckets of 1000 ms (bucketCapacity × collectionIntervalMs); a longer window would never give a verdict. Shorten the window, or raise bucketCapacity, got 281',
    );
    const longest = await m.createAlertRule({ metric: 'a', aggregation: 'anomaly', window: 280, operator: '>', threshold: 4 });
    expect(await m.deleteAlertRule(longest.id)).toBe(true);
    const serve = async (o: unknown) => ((await m.serveHttp(o as never).catch((e: unknown) => e)) as Error).message;
    expect(await serve({ port: 0, quantiles: [2] })).toBe('quantiles[0] must be a quantile: a number above 0 and below 1, got 2');
    expect(await serve({ port: 0, quantils: [0.5] })).toBe('quantils is not a known option; did you mean quantiles?');
    expect(await serve({ port: '7080' })).toBe('port must be an integer from 0 to 65535, got "7080"');
    expect(await serve({ port: 0, sessionPingMs: 50 })).toBe('sessionPingMs must be an integer from 100 to 3600000, got 50');
    expect(await serve({ port: 0, sessionPingTimeoutMs: 600_001 })).toBe('sessionPingTimeoutMs must be an integer from 100 to 600000, got 600001');
    expect(await serve({ port: 0, sessionStreamIdleMs: 99 })).toBe('sessionStreamIdleMs must be an integer from 100 to 86400000, got 99');
    expect(await serve({ port: 0, responseStallMs: 1.5 })).toBe('responseStallMs must be an integer from 100 to 600000, got 1.5');
  });

  it('keeps a rule on a metric no one has named yet, and notes it with the metric a typo meant', async () => {
    const typo = await m.createAlertRule({ metric: 'respnse_time', operator: '>', threshold: 1 });
    expect(typo.note).toBe('no metric is named respnse_time yet: the rule waits for its first series; did you mean response_time?');
    expect(m.listAlertRules().map((r) => r.id)).toContain(typo.id);
    const fresh = await m.createAlertRule({ metric: 'checkout_basket_items', operator: '>', threshold: 1 });
    expect(fresh.note).toBe('no metric is named checkout_basket_items yet: the rule waits for its first series');
    const known = await m.createAlertRule({ metric: 'response_time', operator: '>', threshold: 1 });
    expect(known).not.toHaveProperty('note');
    for (const r of [typo, fresh, known]) await m.deleteAlertRule(r.id);
  });

  it("keeps a rule whose tags no series of its metric has, and notes it with the tag key or value a typo meant", async () => {
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    await m.start();
    for (const endpoint of ['/pay', '/slow']) m.record('checkout_ms', 5, { endpoint });
    await m.flush();
    const rule = (tags: Record<string, string>) => m.createAlertRule({ metric: 'checkout_ms', operator: '>', threshold: 1, tags });
    const key = await rule({ endpont: '/slow' });
    expect(key.note).toBe('no series of checkout_ms has {endpont="/slow"} yet: the rule waits for one; its series have the tag endpoint; did you mean endpoint?');
    const value = await rule({ endpoint: '/slw' });
    expect(value.note).toBe('no series of checkout_ms has {endpoint="/slw"} yet: the rule waits for one; endpoint is /pay, /slow on its series; did you mean /slow?');
    const matched = await rule({ endpoint: '/slow' });
    expect(matched).not.toHaveProperty('note');
    expect(m.listAlertRules().map((r) => r.id)).toEqual([key.id, value.id, matched.id]);
    await m.stop();
  });

  it('refuses bad queries, naming the field', async () => {
    await expect(m.getMetricHistory({ metric: 'response_time', from: 2000, to: 1000 })).rejects.toMatchObject({ field: 'from' });
    // Past a Date's range a bound names no time at all.
    await expect(m.getMetricHistory({ metric: 'response_time', from: 1e17 })).rejects.toThrow(/^from must be within ±8.64e15 ms of the epoch \(the range of a Date\), got 100000000000000000$/);
    expect(caught(() => m.getAlertHistory({ to: -1e16 })).field).toBe('to');
    await expect(m.getMetricHistory({ metric: 'response_time', resolution: 'minute' as never })).rejects.toThrow(/^resolution must be one of auto, raw, bucket, rollup, bucketed, got "minute"$/);
    await expect(m.getMetricHistory({ metric: 'response_time', maxPoints: 0 })).rejects.toMatchObject({ field: 'maxPoints' });
    await expect(m.getMetricHistory({ metric: 'bad name' })).rejects.toMatchObject({ field: 'metric' });
    expect(caught(() => m.getMetrics({ windowSeconds: 0 })).field).toBe('windowSeconds');
  });

  it("names the key an unknown one of a profile request or instrument() most likely meant, or the known ones near none", async () => {
    // profile() and startProfile() said only `second is not a known option`, and instrument()
    // a source it does not have without the ones it has.
    await expect(m.profile({ kind: 'cpu', second: 1 } as never)).rejects.toMatchObject({ code: 'PW_ERR_INVALID_ARG', field: 'second', message: 'second is not a known option; did you mean seconds?' });
    expect(caught(() => m.startProfile({ knd: 'heap' } as never))).toMatchObject({ field: 'knd', message: 'knd is not a known option; did you mean kind?' });
    expect(caught(() => m.startProfile({ colour: 'red' } as never)).message).toBe('colour is not a known option (the options: kind, seconds)');
    expect(caught(() => m.instrument({ grpc: true } as never))).toMatchObject({ field: 'grpc', message: 'grpc is not a known option (the options: httpServer, httpClient, fetch, piscina)' });
    expect(caught(() => m.instrument({ fetsh: true } as never)).message).toBe('fetsh is not a known option; did you mean fetch?');
    await expect(m.optimize({ dryrun: true } as never)).rejects.toMatchObject({ field: 'dryrun', message: expect.stringMatching(/^dryrun is not a known option; did you mean dryRun\?$/) });
    expect(m.profilingStatus()).toMatchObject({ busy: null, captures: 0 });
  });

  it("refuses a query, filter, sample or definition field it does not know: { name: [...] } answered every series, a sample's tag went unrecorded", async () => {
    const all = m.countMetrics();
    expect(caught(() => m.getMetrics({ name: ['response_time'] } as never))).toMatchObject({
      field: 'name',
      message: 'name is not a known query field; did you mean names? (the fields: names, tags, sampled, windowSeconds, offset, limit)',
    });
    expect(caught(() => m.getMetrics({ window: 5 } as never)).field).toBe('window');
    expect(caught(() => m.countMetrics({ name: ['response_time'] } as never)).field).toBe('name');
    expect(caught(() => m.suggestTags({ tag: { route: '/ko' } } as never)).field).toBe('tag');
    await expect(m.getMetricHistory({ metric: 'response_time', maxpoints: 3 } as never)).rejects.toMatchObject({
      field: 'maxpoints',
      message: 'maxpoints is not a known query field; did you mean maxPoints? (the fields: metric, tags, from, to, resolution, maxPoints, limit, offset, order, zeroFill)',
    });
    expect(caught(() => m.getAlerts({ states: 'firing' } as never)).message).toBe('states is not a known query field; did you mean state? (the fields: state, severity)');
    expect(caught(() => m.getAlertHistory({ ruleId: 'x' } as never)).message).toBe('ruleId is not a known filter field; did you mean rule? (the fields: from, to, rule)');
    expect(caught(() => m.define({ name: 'keys_jobs', kind: 'counter', units: 'requests' } as never)).message).toBe('units is not a known definition field; did you mean unit? (the fields: name, kind, unit)');
    expect(caught(() => m.recordBatch([{ name: 'keys_rt', value: 1 }, { name: 'keys_rt', value: 2, tag: { route: '/a' } } as never]))).toMatchObject({
      field: 'samples[1].tag',
      message: 'samples[1].tag is not a known sample field (the fields: name, value, tags, timestamp)',
    });
    // Nothing of the refused batch or definition was taken; the fields as documented still work.
    await m.flush();
    expect(m.countMetrics()).toBe(all);
    expect(m.getMetrics({ names: ['response_time'], tags: { route: '/ok' }, windowSeconds: 60, offset: 0, limit: 1 })).toHaveLength(1);
    expect(m.getAlerts({ state: 'all' })).toEqual([]);
  });

  it("refuses getMetrics()'s window and page fields in countMetrics(), which takes names and tags: { limit: 1 } counted every series", () => {
    const all = m.countMetrics();
    expect(all).toBeGreaterThan(0);
    for (const [field, value] of [['limit', 1], ['offset', 2]] as const) {
      const e = caught(() => m.countMetrics({ [field]: value }));
      expect(e.field).toBe(field);
      expect(e.message).toBe(`${field} is not a field of countMetrics(), which counts every series with data that names and tags match (the series getMetrics() pages through, whatever its ${field}); leave it out, got ${value}`);
    }
    // An unknown field is said with countMetrics' own fields; one left undefined is none given.
    // windowSeconds only with sampled, the window it judges.
    expect(caught(() => m.countMetrics({ windowSeconds: -1 }))).toMatchObject({ field: 'windowSeconds', message: expect.stringMatching(/^windowSeconds is a field of countMetrics\(\) only with sampled /) });
    expect(caught(() => m.countMetrics({ windowSeconds: -1, sampled: true }))).toMatchObject({ field: 'windowSeconds', message: 'windowSeconds must be a number from 1 to 86400, got -1' });
    expect(caught(() => m.countMetrics({ name: ['response_time'] } as never)).message).toBe('name is not a known query field; did you mean names? (the fields: names, tags, sampled, windowSeconds)');
    expect(m.countMetrics({ names: ['response_time'], tags: { route: '/ok' }, limit: undefined })).toBe(1);
    expect(m.countMetrics({ names: ['response_time'] })).toBeLessThanOrEqual(all);
  });

  it("names the field the caller gave: recordRequest's endpoint, an untagged series' name past maxSeries, a rule's tag once", async () => {
    const none = new PerformanceMonitor({ storage: 'memory', maxTags: 0, maxSeries: 16, system: { enabled: false }, runtime: { enabled: false } });
    await none.start();
    try {
      expect(caught(() => none.recordRequest({ endpoint: '/a', responseTimeMs: 1, success: true }))).toMatchObject({
        field: 'endpoint',
        message: 'endpoint is recorded as the tag endpoint of response_time, throughput and error_rate, and maxTags is 0: raise maxTags, or leave endpoint out',
      });
      for (let i = 0; i < 16; i++) none.record(`untagged_${i}`, 1);
      expect(caught(() => none.record('untagged_16', 1))).toMatchObject({
        field: 'name',
        message: 'series limit reached: maxSeries is 16 and untagged_16 would be one more; record fewer metric names or raise maxSeries',
      });
      expect(caught(() => none.recordBatch([{ name: 'untagged_0', value: 1 }, { name: 'untagged_17', value: 1 }])).field).toBe('samples[1].name');
    } finally {
      await none.stop();
    }
    expect(caught(() => m.recordRequest({ endpoint: 'e'.repeat(21), responseTimeMs: 1, success: true }))).toMatchObject({
      field: 'endpoint',
      message: 'endpoint is 21 characters long; the limit is maxTagValueLength 20',
    });
    await expect(m.createAlertRule({ metric: 'response_time', operator: '>', threshold: 1, tags: { a: {} as never } })).rejects.toMatchObject({ field: 'tags.a', message: 'tags.a must be a string, got object' });
  });

  it("refuses a request whose endpoint's series do not all fit under maxSeries, registering none of them and naming endpoint", async () => {
    const full = new PerformanceMonitor({ storage: 'memory', maxSeries: 16, system: { enabled: false }, runtime: { enabled: false } });
    await full.start();
    try {
      for (let i = 0; i < 14; i++) full.record('fill', 1, { k: `v${i}` });
      // Two places left, three series a new endpoint needs: twice refused, nothing taken.
      for (let attempt = 0; attempt < 2; attempt++) {
        expect(caught(() => full.recordRequest({ endpoint: '/pay', responseTimeMs: 12, success: true }))).toMatchObject({
          code: 'PW_ERR_CARDINALITY',
          field: 'endpoint',
          message: 'series limit reached: maxSeries is 16, and the series of endpoint "/pay" (response_time, throughput and error_rate) do not all fit; none was registered and the request was not recorded: reduce endpoint values or raise maxSeries',
        });
        expect(full.status().series.count).toBe(14);
      }
      // The two places are still there for the application's next series.
      full.record('fill', 1, { k: 'v14' });
      full.record('fill', 1, { k: 'v15' });
      expect(full.status().series.count).toBe(16);
      expect(full.countMetrics({ names: ['response_time', 'throughput', 'error_rate'] })).toBe(0);
    } finally {
      await full.stop();
    }
  });

  it("says an alert rule's labels and tags past their limit by their count, and a metric name past 200 characters with the limit", async () => {
    const many = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`l${i}`, 'v']));
    await expect(m.createAlertRule({ metric: 'response_time', operator: '>', threshold: 1, labels: many })).rejects.toMatchObject({ field: 'labels', message: 'labels must have at most 32 entries, got 1000 entries' });
    await expect(m.createAlertRule({ metric: 'response_time', operator: '>', threshold: 1, tags: many })).rejects.toMatchObject({ field: 'tags', message: 'tags must have at most 32 entries, got 1000 entries' });
    await expect(m.createAlertRule({ metric: 'a'.repeat(300), operator: '>', threshold: 1 })).rejects.toMatchObject({ field: 'metric', message: 'metric must be a metric name of at most 200 characters, got a string of 300 characters' });
    // A record of the wrong type, or refused for one entry, is still said by its type.
    await expect(m.createAlertRule({ metric: 'response_time', operator: '>', threshold: 1, labels: 'x' as never })).rejects.toThrow(/^labels must be an object of label names to string values, got "x"$/);
  });

  it('refuses to record on a stopped monitor instead of dropping silently', async () => {
    const stopped = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    expect(() => stopped.record('queue_size', 1)).toThrow(MonitorStoppedError);
    expect(caught(() => stopped.record('queue_size', 1))).toMatchObject({ code: 'PW_ERR_STOPPED' });
  });

  it('lost and corrupted nothing recorded before any of it', async () => {
    good.record(20);
    await m.flush();
    const [series] = m.getMetrics({ names: ['response_time'] });
    expect(series).toMatchObject({ tags: { route: '/ok' }, totalCount: 101, totalSum: 1020 });
    expect(m.status().ingestion).toMatchObject({ dropped: 0, badSamples: 0 });
  });
});
