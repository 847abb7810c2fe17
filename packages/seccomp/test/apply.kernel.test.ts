// applyToThisProcess() in a child Node process: a filter in the test runner itself would
// outlive the test. The child is this package's source bundled by esbuild (koffi stays
// external and is found through NODE_PATH), started with no_new_privs by setpriv.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { guardNoLeaks } from '@iso/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePolicy } from '../src/compile.js';
import { applyToThisProcess } from '../src/sys.js';

interface Esbuild {
  buildSync(options: Record<string, unknown>): unknown;
}

let dir = '';
let bundle = '';
const koffiHome = fileURLToPath(new URL('../../core/node_modules', import.meta.url));

beforeAll(() => {
  // esbuild comes with tsup, the repository's build tool.
  const require = createRequire(import.meta.url);
  const esbuild = createRequire(require.resolve('tsup'))('esbuild') as Esbuild;
  dir = mkdtempSync(join(tmpdir(), 'iso-seccomp-apply-'));
  bundle = join(dir, 'child.mjs');
  esbuild.buildSync({
    entryPoints: [fileURLToPath(new URL('./fixtures/apply-child.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['source'],
    external: ['koffi'],
    outfile: bundle,
    logLevel: 'silent',
  });
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function child(noNewPrivs: boolean): Record<string, unknown> {
  const command = noNewPrivs ? 'setpriv' : process.execPath;
  const args = noNewPrivs ? ['--no-new-privs', process.execPath, bundle] : [bundle];
  const out = execFileSync(command, args, { encoding: 'utf8', env: { ...process.env, NODE_PATH: koffiHome } });
  return JSON.parse(out) as Record<string, unknown>;
}

describe('applyToThisProcess', () => {
  guardNoLeaks();

  it('loads a filter into every thread of a Node process started with no_new_privs', () => {
    expect(existsSync(join(koffiHome, 'koffi'))).toBe(true);
    const report = child(true);
    expect(report.applied).toBe(true);
    expect(report.threads).toBeGreaterThan(1);
    expect(new Set(report.modes as string[])).toEqual(new Set(['2']));
    expect(report.getppidErrno).toBe(-42); // IsoError.errno is negative, as in Node's SystemError
  });

  it('without no_new_privs, needs CAP_SYS_ADMIN: ISO_NEEDS_PRIVILEGE otherwise', () => {
    const report = child(false);
    if (process.getuid?.() === 0) {
      expect(report).toMatchObject({ applied: true, getppidErrno: -42 });
    } else {
      expect(report).toMatchObject({ applied: false, code: 'EACCES', isoCode: 'ISO_NEEDS_PRIVILEGE' });
      expect(report.message).toMatch(/setpriv --no-new-privs/);
      expect(report.getppid).toBeTypeOf('number');
    }
  });

  it('insists on TSYNC and checks the filter before the kernel sees it', () => {
    const filter = compilePolicy({ defaultAction: 'allow' }, 'x86_64');
    expect(() => { applyToThisProcess(filter, { tsync: false as true }); }).toThrow(expect.objectContaining({ code: 'ISO_INVALID_OPTIONS', path: 'tsync' }));
    expect(() => { applyToThisProcess(new Uint8Array(8), { tsync: true }); }).toThrow(expect.objectContaining({ code: 'ISO_INVALID_OPTIONS', path: 'filter' }));
  });

  it('refuses options of the wrong type from plain JavaScript before looking at the filter', () => {
    // A malformed filter: should a check be missing, the filter's own check throws
    // (path 'filter') and nothing is loaded into this test process.
    const bad = new Uint8Array(8);
    const cases: [unknown, string][] = [
      [undefined, 'options'],
      [{ tsync: 'yes' }, 'tsync'],
      [{ tsync: 1 }, 'tsync'],
      [{ tsync: true, log: 'no' }, 'log'],
      [{ tsync: true, specAllow: 0 }, 'specAllow'],
    ];
    for (const [options, path] of cases)
      expect(() => { applyToThisProcess(bad, options as { tsync: true }); }).toThrow(expect.objectContaining({ code: 'ISO_INVALID_OPTIONS', path }));
    expect(() => { applyToThisProcess('filter' as unknown as Uint8Array, { tsync: true }); }).toThrow(expect.objectContaining({ code: 'ISO_INVALID_OPTIONS' }));
  });
});
