// scripts/new-package.sh writes a package that passes its own checks at once: run it in a
// copy of the workspace (tracked and new files, as git sees them) and check the result.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const copy = mkdtempSync(join(tmpdir(), 'iso-scaffold-'));
afterAll(() => {
  rmSync(copy, { recursive: true, force: true });
});

// A failing command's output is in the error, so that CI's log says what went wrong.
const sh = (script: string, cwd: string): string => {
  try {
    return execFileSync('bash', ['-euo', 'pipefail', '-c', script], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const failed = error as { message: string; stdout?: string; stderr?: string };
    throw new Error([failed.message, failed.stdout ?? '', failed.stderr ?? ''].join('\n'));
  }
};

describe('scripts/new-package.sh', () => {
  it(
    'writes a feature package that typechecks, lints and passes its tests as it is',
    () => {
      sh(`git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C ${JSON.stringify(copy)}`, repo);
      const written = sh('bash scripts/new-package.sh probe9 "a feature written by the scaffold"', copy);
      expect(written).toContain('wrote packages/probe9');
      const pkg = join(copy, 'packages/probe9');
      for (const file of ['index', 'options', 'normalize', 'plan', 'sys', 'probe', 'feature']) expect(existsSync(join(pkg, `src/${file}.ts`)), file).toBe(true);
      expect(readFileSync(join(pkg, 'README.md'), 'utf8').match(/^## .*$/gm)).toEqual(['## Requirements', '## Privileges', '## Options', '## Errors', '## Examples']);
      expect(existsSync(join(copy, 'docs/probe9.md'))).toBe(true);
      expect(readFileSync(join(copy, '.changeset/probe9-feature.md'), 'utf8')).toContain("'@iso/probe9': minor");
      // Install with no network and no cached registry metadata, as CI does: the scaffold
      // depends only on workspace packages, so its lockfile entry is links, written here as
      // pnpm would write it; a frozen offline install then needs nothing but the store. pnpm
      // keeps one store per filesystem, and the temporary directory may be on another one
      // than the checkout: install from the checkout's store.
      const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
      const lockEntry = (['dependencies', 'devDependencies'] as const).flatMap((field) => {
        const deps = Object.entries(manifest[field] ?? {});
        for (const [dep, spec] of deps) expect(`${dep}@${spec}`, 'the scaffold may depend only on workspace packages').toMatch(/^@iso\/[a-z0-9-]+@workspace:\*$/);
        return deps.length === 0 ? [] : [`    ${field}:`, ...deps.flatMap(([dep, spec]) => [`      '${dep}':`, `        specifier: ${spec}`, `        version: link:../${dep.slice('@iso/'.length)}`])];
      });
      const lockPath = join(copy, 'pnpm-lock.yaml');
      const lock = readFileSync(lockPath, 'utf8');
      expect(lock).toContain('\npackages:\n');
      writeFileSync(lockPath, lock.replace('\npackages:\n', `  packages/probe9:\n${lockEntry.join('\n')}\n\npackages:\n`));
      const store = sh('pnpm store path', repo).trim();
      sh(`pnpm install --frozen-lockfile --offline --store-dir ${JSON.stringify(store)} 2>&1`, copy);
      sh('npx tsc -p tsconfig.json && npx eslint .', pkg);
      expect(sh('NO_COLOR=1 npx vitest run 2>&1', pkg)).toMatch(/Tests\s+3 passed/);
      // It refuses to overwrite, and bad names.
      expect(() => sh('bash scripts/new-package.sh probe9 "again"', copy)).toThrow(/exists/);
      expect(() => sh('bash scripts/new-package.sh Bad-Name "x"', copy)).toThrow(/usage/);
    },
    180_000,
  );
});
