/**
 * Which of a report's anomalies are its strongest, the ones listed when there are more than it
 * lists (MAX_ANOMALIES in build.ts).
 */
import { SYSTEM_SERIES } from '../engine/system.js';
import type { Anomaly } from './types.js';

/** An anomaly as found, with its score before the cap (AnomalyRun.rawScore), which the report does not show. */
export interface FoundAnomaly {
  anomaly: Anomaly;
  rawScore: number;
}

/** The machine-wide series (the system sampler's): every process on the machine moves them. */
const MACHINE_WIDE: ReadonlySet<string> = new Set(SYSTEM_SERIES);

/**
 * Strongest first: the larger |peakScore|. At the cap the scores tie and say only "off the
 * scale", and ties were kept in series order, the runtime's (registered at start) before the
 * service's: capped noise took the places of real anomalies. Among them, the service's own
 * series come before the machine's (network_io over a baseline of zeros takes the cap from
 * another process's few KB/s), then the change that went further past its scale (rawScore):
 * for a baseline that held still, the more of its noise floor (a 2 s stall of the loop, 2,000
 * of its 1 ms, before a 200 ms one).
 */
export function strongestFirst(a: FoundAnomaly, b: FoundAnomaly): number {
  return (
    Math.abs(b.anomaly.peakScore) - Math.abs(a.anomaly.peakScore) ||
    Number(MACHINE_WIDE.has(a.anomaly.metric)) - Number(MACHINE_WIDE.has(b.anomaly.metric)) ||
    b.rawScore - a.rawScore
  );
}
