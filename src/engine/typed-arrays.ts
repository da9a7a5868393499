/** Growing typed arrays: the writer's minute pages (store/minutes.ts), a hub member's batch columns (hub/member.ts). */

/** A copy of `from` in a new array of its own type, `length` long (at least from's). */
export function widened<T extends Uint8Array | Int32Array | Uint32Array | Float64Array>(from: T, length: number): T {
  const to = new (from.constructor as new (length: number) => T)(length);
  to.set(from);
  return to;
}
