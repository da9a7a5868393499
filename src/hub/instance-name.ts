/**
 * The rule a member's name (its `instance`, the tag of each of its series on the hub) is held
 * to, shared by the member's options (options.ts, in zod's words) and the hub's check of a
 * hello (wire.ts), which a client that is not a perfwatch member may send: the hub registered
 * members named "cluster" and "evil\nWARNING fake line" whose names the options refuse (a
 * line break in a name forges a line of the status text and the logs). No zod here: the wire
 * is read on threads that must not load it.
 */

/** Why `name` cannot name a member (the options' words, after "must"), or undefined when it can. */
export function instanceNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > 128) return 'must be at most 128 characters';
  if (name === 'cluster') return 'must not be "cluster"';
  if (/[\x00-\x1f\x7f]/.test(name)) return "must not contain control characters (a line break, a tab): it is the instance tag of each of this member's series on the hub";
  if (!name.isWellFormed()) return 'must be well-formed Unicode: it holds a lone UTF-16 surrogate';
  return undefined;
}
