/**
 * The bursts of one series of error_rate (a request's sample is 1 when it failed, else 0, so a
 * bucket's sum is its failed requests). A share of requests needs `minEvents` of them, so
 * consecutive buckets are pooled into windows of that many (a bucket alone at 20 requests an
 * interval and more): judged bucket by bucket, a route of fewer than 20 requests a second had
 * no burst at all.
 *
 * A window bursts at `burstRate` or more and `overFactor` × the series' rate outside the
 * bursts. Against the series' mean, the burst itself counted in its own baseline: an outage
 * holding over a third of a route's requests put 3× the mean above 100%, and no window could
 * burst (17 s of every /pay request failing in 45 s was said to fail "steadily"), and one
 * near that point lost its edge windows (129 of 149 failures, 2 s late). The rate outside is
 * found by shedding: every window at `burstRate` or more is a candidate, and a candidate under
 * `overFactor` × the rate of the others goes back among them, until none does. A series failing
 * at `burstRate` or more in every window has no rate outside, and no burst: it failed
 * throughout, at no moment in particular.
 *
 * Consecutive bursting windows are one burst. Its edges then take in the neighbouring buckets
 * that failed at the burst's threshold too (a window straddling the outage's start at 1 failure
 * of 20 is under 10%, and its failures would be left out), and lose the buckets without
 * failures (which a window took in to reach its count).
 */
import type { Pieces } from '../analysis/stats.js';

/** A run of buckets of one series whose error rate burst: when, its requests and how many failed. */
export interface Burst {
  tags: Readonly<Record<string, string>>;
  from: number;
  to: number;
  requests: number;
  failed: number;
}

export interface BurstRule {
  burstRate: number;
  minEvents: number;
  overFactor: number;
}

interface Window {
  first: number;
  end: number;
  requests: number;
  failed: number;
}

/** The bursts of a series' buckets `p` (see the file's comment). */
export function burstsOf(p: Pieces, tags: Readonly<Record<string, string>>, r: BurstRule): Burst[] {
  const windows: Window[] = [];
  for (let i = 0; i < p.n; ) {
    const w: Window = { first: i, end: i, requests: 0, failed: 0 };
    while (w.end < p.n && w.requests < r.minEvents) {
      w.requests += p.count[w.end]!;
      w.failed += p.sum[w.end]!;
      w.end++;
    }
    if (w.requests < r.minEvents) break;
    windows.push(w);
    i = w.end;
  }
  const rate = (w: Window): number => w.failed / w.requests;
  const bursting = windows.map((w) => rate(w) >= r.burstRate);
  let floor = r.burstRate;
  for (let shed = true; shed; ) {
    let requests = 0;
    let failed = 0;
    windows.forEach((w, k) => {
      if (bursting[k]) return;
      requests += w.requests;
      failed += w.failed;
    });
    if (requests === 0) return [];
    floor = Math.max(r.burstRate, r.overFactor * (failed / requests));
    shed = false;
    windows.forEach((w, k) => {
      if (!bursting[k] || rate(w) >= floor) return;
      bursting[k] = false;
      shed = true;
    });
  }
  const inBurst = new Uint8Array(p.n);
  windows.forEach((w, k) => {
    if (bursting[k]) inBurst.fill(1, w.first, w.end);
  });
  // The edges take in neighbouring buckets that failed at the threshold too.
  const failing = (i: number): boolean => p.count[i]! > 0 && p.sum[i]! / p.count[i]! >= floor;
  for (let i = 1; i < p.n; i++) if (inBurst[i - 1] && !inBurst[i] && failing(i)) inBurst[i] = 1;
  for (let i = p.n - 2; i >= 0; i--) if (inBurst[i + 1] && !inBurst[i] && failing(i)) inBurst[i] = 1;
  const out: Burst[] = [];
  for (let i = 0; i < p.n; ) {
    if (!inBurst[i]) {
      i++;
      continue;
    }
    let first = i;
    let end = i;
    while (end < p.n && inBurst[end]) end++;
    i = end;
    while (first < end && p.sum[first] === 0) first++;
    while (end > first && p.sum[end - 1] === 0) end--;
    if (first === end) continue;
    let requests = 0;
    let failed = 0;
    for (let k = first; k < end; k++) {
      requests += p.count[k]!;
      failed += p.sum[k]!;
    }
    out.push({ tags, from: p.start[first]!, to: p.start[end - 1]! + p.width[end - 1]!, requests, failed });
  }
  return out;
}
