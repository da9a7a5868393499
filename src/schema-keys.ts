/**
 * The keys an object schema knows at a path of an input (`alerts`, `export.remoteWrite.0`), read
 * from the zod schema itself, so that an error about an unknown key can name the key that was
 * meant without a second list of option names to keep in step.
 */
import type { z } from 'zod';

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  valueType?: z.ZodType;
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The schemas `schema` can stand for, through defaults, optionals, pipes and unions: its forms that wrap no other. */
export function formsOf(schema: z.ZodType | undefined, depth = 0): z.ZodType[] {
  if (!schema || depth > 16) return [];
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
      return formsOf(def.innerType, depth + 1);
    case 'pipe':
      return [...formsOf(def.in, depth + 1), ...formsOf(def.out, depth + 1)];
    case 'union':
      return (def.options ?? []).flatMap((o) => formsOf(o, depth + 1));
    default:
      return [schema];
  }
}

/** The object schemas `schema` can stand for. */
function objectsOf(schema: z.ZodType | undefined): z.ZodType[] {
  return formsOf(schema).filter((form) => defOf(form).type === 'object');
}

/** The schema of the value at `path`, when the path goes through objects, arrays and records. */
export function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let here: z.ZodType | undefined = schema;
  for (const key of path) {
    if (!here) return undefined;
    const next: z.ZodType | undefined = objectsOf(here)
      .map((o) => defOf(o).shape?.[String(key)])
      .find((s) => s !== undefined);
    if (next) {
      here = next;
      continue;
    }
    here = containerItem(here);
  }
  return here;
}

/** The item schema of an array or record, through wrappers. */
function containerItem(schema: z.ZodType, depth = 0): z.ZodType | undefined {
  if (depth > 16) return undefined;
  const def = defOf(schema);
  if (def.type === 'array') return def.element;
  if (def.type === 'record') return def.valueType;
  if (def.innerType) return containerItem(def.innerType, depth + 1);
  if (def.type === 'pipe') return (def.out && containerItem(def.out, depth + 1)) ?? (def.in && containerItem(def.in, depth + 1));
  return undefined;
}

/** The keys known at `path` of `schema` (empty when the path does not lead to an object schema). */
export function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const at = schemaAt(schema, path);
  return at ? [...new Set(objectsOf(at).flatMap((o) => Object.keys(defOf(o).shape ?? {})))] : [];
}
