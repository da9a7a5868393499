/**
 * Why an alert ended when its rule was deleted (or replaced by a rule of the same id). Apart
 * from schema.ts so that the alert actor's thread, which judges rules already parsed, loads
 * no schema library (zod: ~120 ms of CPU at every start of that thread).
 */
export function deletedReason(replaced = false): string {
  return replaced ? 'its rule was replaced: the alert ends with the rule it belonged to' : 'its rule was deleted: the alert ends with it';
}

/** Why an alert ended when its rule was found a copy of an older stored rule (`kept`: its id) and deleted at start (Alerting.restore). */
export function copyReason(kept: string): string {
  return `its rule was a copy of rule ${kept} (the same fields, stored again by an earlier perfwatch), deleted at start: the alert ends with it, and rule ${kept} goes on judging the series`;
}
