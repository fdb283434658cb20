// The static import graph of src/, read from the sources: what loads when a module is imported.
// Type-only statements (`import type`, `export type`) are erased by the compiler and load nothing, so
// they are not edges; `import { type A } from` is one (it stays as `import {} from`, which loads the
// module). Dynamic `import()` is not an edge: it is how the deploy half is loaded on first use.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** A static import or re-export: a statement from `import`/`export` up to its `from '...'`. */
const STATEMENT = /(?:^|[\n;])\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/g;
/** A side-effect import: `import './x.js'`. */
const BARE_IMPORT = /(?:^|[\n;])\s*import\s*['"]([^'"]+)['"]/g;

/** What one source file imports statically: files of src/ (absolute paths) and package names. */
export interface ModuleImports {
  readonly files: string[];
  readonly packages: string[];
}

/** `@aws-sdk/client-s3/dist/x` gives `@aws-sdk/client-s3`; `globby` gives `globby`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Line comments removed, so an import written in one is not read as a statement. (Lines of block
 * comments start with `*`, which the patterns above never match.) */
function withoutComments(source: string): string {
  return source.replace(/^\s*\/\/.*$/gm, '');
}

export function importsOf(file: string): ModuleImports {
  const source = withoutComments(readFileSync(file, 'utf8'));
  const specifiers: string[] = [];
  for (const m of source.matchAll(STATEMENT)) if (!m[2]) specifiers.push(m[4]!);
  for (const m of source.matchAll(BARE_IMPORT)) specifiers.push(m[1]!);
  const files: string[] = [];
  const packages: string[] = [];
  for (const spec of specifiers) {
    if (spec.startsWith('.')) files.push(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
    else if (!spec.startsWith('node:')) packages.push(packageName(spec));
  }
  return { files, packages };
}

/** Every .ts file under a folder. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

/** Everything the given files load statically, themselves included: files of src/ and packages. */
export function closure(roots: readonly string[]): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = [...roots];
  while (todo.length) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const imports = importsOf(file);
    for (const p of imports.packages) packages.add(p);
    todo.push(...imports.files);
  }
  return { files, packages };
}

/** Every import cycle among the given files, each as the list of files around it (first repeated last). */
export function cycles(files: readonly string[]): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const visit = (file: string) => {
    if (onStack.has(file)) {
      found.push([...stack.slice(stack.indexOf(file)), file]);
      return;
    }
    if (done.has(file)) return;
    stack.push(file);
    onStack.add(file);
    for (const next of importsOf(file).files) visit(next);
    stack.pop();
    onStack.delete(file);
    done.add(file);
  };
  for (const file of files) visit(file);
  return found;
}
