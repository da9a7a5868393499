/** snappyjs ships no types: the two calls used here (Uint8Array in, Uint8Array out; Buffer under Node). */
declare module 'snappyjs' {
  export function compress(input: Uint8Array): Uint8Array;
  export function uncompress(input: Uint8Array): Uint8Array;
}
