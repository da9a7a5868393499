/**
 * Every public export is usable from the package entry: a type that an export's public
 * declaration names (a parameter, a field, a return type, a base) is exported from
 * dist/src/index.d.ts too. A function that takes a type the entry does not give (as
 * anomalyScore took a StoreReader) is not exported at all. Read with the TypeScript checker
 * over the declarations the package ships; what the user cannot reach is left out:
 * non-public members, the constructors of classes exported as types, and `typeof` of a
 * schema (the type it gives is spelled out in full).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { MonitorOptionsSchema } from '../dist/src/index.js';

const ROOT = fileURLToPath(new URL('../dist/src/', import.meta.url));
const ENTRY = `${ROOT}index.d.ts`;

function unreachableTypes(): string[] {
  const program = ts.createProgram([ENTRY], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, skipLibCheck: true, types: ['node'] });
  const checker = program.getTypeChecker();
  const real = (s: ts.Symbol): ts.Symbol => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  const entry = checker.getSymbolAtLocation(program.getSourceFile(ENTRY)!)!;
  const exports = checker.getExportsOfModule(entry);
  const exported = new Set(exports.map(real));
  const ours = (s: ts.Symbol): boolean => (s.declarations ?? []).some((d) => d.getSourceFile().fileName.startsWith(ROOT));
  const hidden = (node: ts.Node): boolean =>
    ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword);
  const found = new Set<string>();
  for (const ex of exports) {
    const typeOnly = (ex.declarations ?? []).some((d) => ts.isExportSpecifier(d) && (d.isTypeOnly || d.parent.parent.isTypeOnly));
    const visit = (node: ts.Node): void => {
      if (hidden(node) || ts.isTypeQueryNode(node) || (typeOnly && ts.isConstructorDeclaration(node))) return;
      const name = ts.isTypeReferenceNode(node) ? node.typeName : ts.isExpressionWithTypeArguments(node) ? node.expression : undefined;
      const target = name && checker.getSymbolAtLocation(name);
      if (target) {
        const s = real(target);
        if (ours(s) && !exported.has(s) && !(s.flags & ts.SymbolFlags.TypeParameter)) found.add(`${s.name}, named by ${ex.name}`);
      }
      ts.forEachChild(node, visit);
    };
    for (const decl of real(ex).declarations ?? []) visit(decl);
  }
  return [...found].sort();
}

describe('the package entry', () => {
  it('exports every type its exports name', () => {
    expect(unreachableTypes()).toEqual([]);
  });

  it("has a row in docs/reference.md's table of options for every option the constructor takes", () => {
    // `overhead` was taken, and documented in docs/reports.md alone: a reader of the table,
    // which says it lists the library's options, did not learn that it exists.
    const reference = readFileSync(new URL('../docs/reference.md', import.meta.url), 'utf8');
    const rows = new Set(reference.split('\n').flatMap((line) => [...(/^\| (`[^|]+) \|/.exec(line)?.[1] ?? '').matchAll(/`(\w+)`/g)].map((m) => m[1]!)));
    expect(Object.keys(MonitorOptionsSchema.shape).filter((option) => !rows.has(option))).toEqual([]);
  });
});
