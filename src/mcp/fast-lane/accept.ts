/**
 * The fast acceptance of record_performance_metric's arguments: a batch in its common shape
 * (`{ samples: [...] }`, plain names, string tags, numeric or absent timestamps) is taken as
 * it is, without zod building a copy of its 10,000 objects. True only where the schema
 * accepts the input unchanged (it has no defaults or transforms on this path);
 * test/mcp-schemas.test.ts checks it against the schema. Part of the fast lane (index.ts).
 */
import { MAX_NAME_LENGTH, MAX_TAG_KEY_LENGTH, NAME_PATTERN, TAG_KEY_PATTERN } from '../../engine/registry.js';
import { MAX_BATCH, MAX_TAGS, MAX_TAG_VALUE_LENGTH } from '../schemas.js';

const SAMPLE_KEYS = new Set(['metric_type', 'value', 'tags', 'timestamp']);
/** Names and tag keys already seen valid (bounded: a flood of distinct ones just stops being cached). */
const knownNames = new Set<string>();
const knownTagKeys = new Set<string>();
const CACHE_LIMIT = 10_000;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Whether metricName takes this name as it is (names seen valid are remembered). */
export function takesName(name: string): boolean {
  if (knownNames.has(name)) return true;
  if (name.length === 0 || name.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(name)) return false;
  if (knownNames.size < CACHE_LIMIT) knownNames.add(name);
  return true;
}

/** Whether tagsSchema takes these tags unchanged: few enough, valid keys, short string values. */
export function takesTags(tags: Record<string, unknown>): boolean {
  let count = 0;
  for (const key in tags) {
    if (++count > MAX_TAGS) return false;
    if (!knownTagKeys.has(key)) {
      if (key.length > MAX_TAG_KEY_LENGTH || !TAG_KEY_PATTERN.test(key) || key.startsWith('__')) return false;
      if (knownTagKeys.size < CACHE_LIMIT) knownTagKeys.add(key);
    }
    const v = tags[key];
    if (typeof v !== 'string' || v.length > MAX_TAG_VALUE_LENGTH) return false;
  }
  return true;
}

/** Whether the record tool's schema takes `{ samples: [...] }` unchanged (see above). */
export function acceptsBatch(input: unknown): boolean {
  if (!isPlainObject(input)) return false;
  let keys = 0;
  for (const key in input) {
    if (key !== 'samples') return false;
    keys++;
  }
  const samples = input.samples;
  if (keys !== 1 || !Array.isArray(samples) || samples.length === 0 || samples.length > MAX_BATCH) return false;
  let lastName: string | undefined;
  for (let i = 0; i < samples.length; i++) {
    const s: unknown = samples[i];
    if (!isPlainObject(s)) return false;
    for (const key in s) if (!SAMPLE_KEYS.has(key)) return false;
    const name = s.metric_type;
    if (typeof name !== 'string') return false;
    if (name !== lastName) {
      if (!takesName(name)) return false;
      lastName = name;
    }
    const value = s.value;
    // v - v is 0 for every finite number and NaN for NaN and ±Infinity.
    if (typeof value !== 'number' || value - value !== 0) return false;
    const tags = s.tags;
    if (tags !== undefined && (!isPlainObject(tags) || !takesTags(tags))) return false;
    const t = s.timestamp;
    if (t !== undefined && (typeof t !== 'number' || t - t !== 0)) return false;
  }
  return true;
}
