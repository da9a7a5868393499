/**
 * The per-thread trie that record(name, v, tags) walks: one level per tag, in the order the
 * caller's object enumerates its keys, down to the node that holds the shape's handle.
 *
 * Call sites pass tags in a fixed order, so each node remembers the tag key it saw first
 * (`key`) and checks it with one comparison. Its string and number values index `byKeyed`,
 * a dictionary-mode object (Object.create(null)) that V8 reads without a call where a Map's
 * get() calls a builtin (that call was about half of record(name, v, tags) in a profile). A
 * property key is String(value), the value canonicalTags stores, so 200 and '200' (one
 * series) share a child. Other values (booleans, undefined, and the invalid ones, which
 * learn() never sees) go through `byValue`, and other keys through `byKey`.
 *
 * A level with few values (a method, a status class, a region) also keeps their keys in
 * four fields, `s0`–`s3`, beside their children `c0`–`c3`: comparing the caller's string with
 * the same string object is a pointer test, where the dictionary read is a probe (a scratch
 * loop over a level of 2 values, 2026-11-30: 0.3 ns against 6.5). The fields are a cache in
 * front of byKeyed, filled with a node's first FEW keys and emptied for good when a FEW + 1st
 * arrives, so a wide level (routes) pays one test of `few` and the dictionary. A miss in the
 * fields still reads byKeyed, so a value passed as a number finds the same child.
 */

/** Keys a node keeps in fields (s0–s3) while byKeyed has no more children than this. */
const FEW = 4;
/** `few` of a node that had more than FEW children in byKeyed: its fields stay empty. */
const WIDE = -1;

export interface TrieNode<H> {
  handle: H | undefined;
  key: string | undefined;
  /** How many of byKeyed's children the fields hold: all of them, up to FEW; WIDE past that. */
  few: number;
  /** byKeyed's keys and children in their order of arrival, while `few` is above 0. */
  s0: string | undefined;
  c0: TrieNode<H> | undefined;
  s1: string | undefined;
  c1: TrieNode<H> | undefined;
  s2: string | undefined;
  c2: TrieNode<H> | undefined;
  s3: string | undefined;
  c3: TrieNode<H> | undefined;
  byKeyed: Record<string | number, TrieNode<H> | undefined> | undefined;
  byValue: Map<unknown, TrieNode<H>> | undefined;
  byKey: Map<string, Map<unknown, TrieNode<H>>> | undefined;
}

export function newNode<H>(): TrieNode<H> {
  return {
    handle: undefined,
    key: undefined,
    few: 0,
    s0: undefined,
    c0: undefined,
    s1: undefined,
    c1: undefined,
    s2: undefined,
    c2: undefined,
    s3: undefined,
    c3: undefined,
    byKeyed: undefined,
    byValue: undefined,
    byKey: undefined,
  };
}

/**
 * The child of `node` for a tag, or undefined when the trie has not learned it. Each typeof
 * is compared where it is taken: V8 then tests the value's type inline, where a typeof kept
 * in a variable was a call to a builtin (about 15% of the recording thread in a profile).
 */
export function nextNode<H>(node: TrieNode<H>, key: string, value: unknown): TrieNode<H> | undefined {
  if (key !== node.key) return otherChild(node, key, value);
  if (typeof value === 'string') {
    if (node.few > 0) {
      if (value === node.s0) return node.c0;
      if (value === node.s1) return node.c1;
      if (value === node.s2) return node.c2;
      if (value === node.s3) return node.c3;
    }
    return node.byKeyed?.[value];
  }
  return typeof value === 'number' ? node.byKeyed?.[value] : otherChild(node, key, value);
}

/** The child of `node` for a tag that byKeyed does not hold. */
function otherChild<H>(node: TrieNode<H>, key: string, value: unknown): TrieNode<H> | undefined {
  return (key === node.key ? node.byValue : node.byKey?.get(key))?.get(value);
}

/** The child of `node` for a tag, made when missing. */
export function childOf<H>(node: TrieNode<H>, key: string, value: unknown): TrieNode<H> {
  node.key ??= key;
  if (key === node.key && (typeof value === 'string' || typeof value === 'number')) {
    const byKeyed = (node.byKeyed ??= Object.create(null) as Record<string | number, TrieNode<H> | undefined>);
    let child = byKeyed[value];
    if (child === undefined) {
      child = byKeyed[value] = newNode();
      remember(node, String(value), child);
    }
    return child;
  }
  let byValue: Map<unknown, TrieNode<H>> | undefined;
  if (key === node.key) {
    byValue = node.byValue ??= new Map();
  } else {
    node.byKey ??= new Map();
    byValue = node.byKey.get(key);
    if (byValue === undefined) {
      byValue = new Map();
      node.byKey.set(key, byValue);
    }
  }
  let child = byValue.get(value);
  if (child === undefined) {
    child = newNode();
    byValue.set(value, child);
  }
  return child;
}

/** Keeps a new byKeyed child in the fields while the node has at most FEW (see above). */
function remember<H>(node: TrieNode<H>, key: string, child: TrieNode<H>): void {
  switch (node.few) {
    case 0:
      node.s0 = key;
      node.c0 = child;
      break;
    case 1:
      node.s1 = key;
      node.c1 = child;
      break;
    case 2:
      node.s2 = key;
      node.c2 = child;
      break;
    case 3:
      node.s3 = key;
      node.c3 = child;
      break;
    case FEW:
      node.s0 = node.s1 = node.s2 = node.s3 = undefined;
      node.c0 = node.c1 = node.c2 = node.c3 = undefined;
      node.few = WIDE;
      return;
    default:
      return;
  }
  node.few++;
}
