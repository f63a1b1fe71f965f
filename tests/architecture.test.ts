/**
 * The shape of the code, read from its own imports (docs/ARCHITECTURE.md draws it):
 *
 * - imports run one way: a folder imports only folders on a lower floor (type imports and
 *   dynamic imports included), so a change stays in its room;
 * - no file imports itself through a circle of others;
 * - nothing is exported that no other file imports (an export used only in its own file is
 *   allowed, as a type in an exported signature), and no file is imported by none.
 *
 * A small reader of import statements rather than a dependency tool: the sources are plain ESM
 * with relative `.ts` specifiers, which a regular expression reads exactly.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..');

/** Lowest first. Folders on one floor may not import each other. */
const FLOORS: readonly (readonly string[])[] = [
  ['config'],
  ['adapters'],
  ['gateway/web'],
  ['gateway/ops'],
  ['gateway/keys'],
  ['gateway/accounts'],
  ['gateway/clients'],
  ['gateway/upstream'],
  ['gateway/sessions'],
  ['gateway/provider'],
  ['gateway/forward-auth', 'gateway/dev', 'gateway/admin'],
  ['gateway/app'],
  ['gateway/cli'],
  ['gateway/main.ts', 'bin'],
];

function listSources(folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(ROOT, dir))) {
      const path = join(dir, name);
      if (statSync(join(ROOT, path)).isDirectory()) walk(path);
      else if (/\.tsx?$/.test(name)) out.push(path);
    }
  };
  walk(folder);
  return out;
}

const sources = ['config', 'adapters', 'gateway', 'bin'].flatMap(listSources);
/** Files outside the shipped code that may import it (and so count as its users). */
const users = ['tests', 'bench', 'examples']
  .flatMap(listSources)
  .filter((path) => !path.includes('node_modules') && !path.includes('/dist/'));

interface Import {
  target: string;
  names: string[] | '*';
}

// Named, namespace and re-export forms; dynamic `import()`; and side-effect `import './x.ts'`.
const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?([^'";]*?)\s*from\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"](\.{1,2}\/[^'"]+)['"]/g;

function importsOf(file: string): Import[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const out: Import[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const specifier = match[2] ?? match[3] ?? match[4] ?? '';
    const target = relative(ROOT, resolve(ROOT, dirname(file), specifier));
    const clause = match[1];
    if (clause === undefined || clause.includes('*')) {
      out.push({ target, names: '*' });
      continue;
    }
    const names: string[] = [];
    const braces = /\{([^}]*)\}/.exec(clause);
    if (braces?.[1]) {
      for (const part of braces[1].split(',')) {
        const name = part
          .trim()
          .replace(/^type\s+/, '')
          .split(/\s+as\s+/)[0];
        if (name) names.push(name);
      }
    }
    if (/^\s*(type\s+)?[A-Za-z_$][\w$]*\s*(,|$)/.test(clause)) names.push('default');
    out.push({ target, names });
  }
  return out;
}

function floorOf(file: string): { floor: number; folder: string } | undefined {
  for (const [floor, folders] of FLOORS.entries()) {
    for (const folder of folders) if (file === folder || file.startsWith(`${folder}/`)) return { floor, folder };
  }
  return undefined;
}

const graph = new Map(sources.map((file) => [file, importsOf(file)]));

describe('architecture', () => {
  it('places every source file on a floor', () => {
    const homeless = sources.filter((file) => floorOf(file) === undefined);
    assert.deepEqual(homeless, [], 'a new folder needs its floor in FLOORS and docs/ARCHITECTURE.md');
  });

  it('imports only downward: a folder never imports a folder on its own or a higher floor', () => {
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      const from = floorOf(file);
      for (const { target } of imports) {
        const to = floorOf(target);
        if (!from || !to || from.folder === to.folder) continue;
        if (to.floor >= from.floor) upward.push(`${file} -> ${target}`);
      }
    }
    assert.deepEqual(upward, [], 'move the shared piece down a floor, or pass it in from above');
  });

  it('has no import circle between files', () => {
    // Tarjan's strongly connected components over file imports: any component of two or more is a circle.
    let next = 0;
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const circles: string[][] = [];
    const visit = (file: string) => {
      index.set(file, next);
      low.set(file, next);
      next += 1;
      stack.push(file);
      onStack.add(file);
      for (const { target } of graph.get(file) ?? []) {
        if (!graph.has(target)) continue;
        if (!index.has(target)) {
          visit(target);
          low.set(file, Math.min(low.get(file) as number, low.get(target) as number));
        } else if (onStack.has(target)) low.set(file, Math.min(low.get(file) as number, index.get(target) as number));
      }
      if (low.get(file) === index.get(file)) {
        const component: string[] = [];
        let member: string | undefined;
        do {
          member = stack.pop() as string;
          onStack.delete(member);
          component.push(member);
        } while (member !== file);
        if (component.length > 1) circles.push(component.sort());
      }
    };
    for (const file of graph.keys()) if (!index.has(file)) visit(file);
    assert.deepEqual(circles, []);
  });

  it('exports nothing that no other file imports, and has no file that nothing imports', () => {
    const imported = new Map<string, Set<string>>();
    for (const file of [...sources, ...users]) {
      for (const { target, names } of file.startsWith('gateway') ||
      file.startsWith('config') ||
      file.startsWith('adapters') ||
      file.startsWith('bin')
        ? (graph.get(file) ?? [])
        : importsOf(file)) {
        const set = imported.get(target) ?? new Set<string>();
        imported.set(target, set);
        for (const name of names === '*' ? ['*'] : names) set.add(name);
      }
    }
    const entryPoints = new Set(['gateway/main.ts', 'bin/gateway.ts']);
    const unusedFiles = sources.filter((file) => !entryPoints.has(file) && !imported.has(file));
    assert.deepEqual(unusedFiles, [], 'a file no one imports is dead: remove it');

    const unused: string[] = [];
    for (const file of sources) {
      const names = imported.get(file);
      if (!names || names.has('*')) continue;
      const text = readFileSync(join(ROOT, file), 'utf8');
      const exported =
        /^export\s+(?:declare\s+)?(?:async\s+)?(?:function\*?|const|let|class|interface|type|abstract\s+class)\s+([A-Za-z_$][\w$]*)/gm;
      for (const [, name] of text.matchAll(exported)) {
        if (!name || names.has(name)) continue;
        const usesInFile = text.split(new RegExp(`\\b${name.replace('$', '\\$')}\\b`)).length - 1;
        if (usesInFile < 2) unused.push(`${file}: ${name}`);
      }
    }
    assert.deepEqual(unused, [], 'an export no one imports is dead: remove it (or stop exporting it)');
  });
});
