/**
 * Why an alert ended when its rule was deleted (or replaced by a rule of the same id). Apart
 * from schema.ts so that the alert actor's thread, which judges rules already parsed, loads
 * no schema library (zod: ~120 ms of CPU at every start of that thread).
 */
export function deletedReason(replaced = false): string {
  return replaced ? 'its rule was replaced: the alert ends with the rule it belonged to' : 'its rule was deleted: the alert ends with it';
}
