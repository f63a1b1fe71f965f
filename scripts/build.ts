/**
 * `npm run build` (and `npm start`'s prestart, and the Dockerfile): the server's TypeScript as
 * plain JavaScript in dist/, so that the running gateway does not carry Node's TypeScript
 * stripper (about 17 MB of resident memory, docs/PERFORMANCE.md section 7).
 *
 * No compiler and no dependency: Node's own `module.stripTypeScriptTypes` replaces each type
 * annotation with spaces (the sources use erasable syntax only, which tsconfig.json enforces), so
 * every line and column of dist/ is the source's and stack traces point at the .ts files' lines.
 * Relative `.ts` specifiers become `.js`. The CLI (bin/gateway.ts) keeps running the sources.
 *
 * Written to a fresh folder and swapped in whole, so a build never leaves a mix of old and new.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
/** The folders the server imports (bin/ and the tests are not part of it). */
const FOLDERS = ['config', 'adapters', 'gateway'];
const OUT = join(ROOT, 'dist');

/** `from './x.ts'` and `import('./x.ts')` → `.js`; only relative specifiers are ours to rename. */
const RELATIVE_TS = /(\bfrom\s*|\bimport\s*\(\s*)(['"])(\.{1,2}\/[^'"\n]+)\.ts\2/g;

function sources(folder: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, folder))) {
    const path = join(folder, name);
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

export function build(): number {
  const staging = `${OUT}.building-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const files = FOLDERS.flatMap(sources);
  for (const file of files) {
    const code = stripTypeScriptTypes(readFileSync(join(ROOT, file), 'utf8'), { mode: 'strip' });
    const target = join(staging, file.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, code.replace(RELATIVE_TS, '$1$2$3.js$2'));
  }
  // dist/ is ESM like the sources (package.json's "type" is found by walking up, but say it here).
  writeFileSync(join(staging, 'package.json'), '{ "type": "module" }\n');
  const old = `${OUT}.old-${process.pid}`;
  try {
    renameSync(OUT, old);
  } catch {
    // no earlier build
  }
  renameSync(staging, OUT);
  rmSync(old, { recursive: true, force: true });
  return files.length;
}

if (import.meta.main) {
  // stripTypeScriptTypes is stable in use but still flagged: its warning is noise on every start.
  process.removeAllListeners('warning');
  const count = build();
  process.stdout.write(`built ${count} files into ${relative(process.cwd(), OUT) || '.'}/\n`);
}
