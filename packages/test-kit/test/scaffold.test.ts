// scripts/new-package.sh writes a package that passes its own checks at once: run it in a
// copy of the workspace (tracked and new files, as git sees them) and check the result.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
      // pnpm keeps one store per filesystem, and the temporary directory may be on another
      // one than the checkout: install from the checkout's store. The new importer needs
      // registry metadata that a fresh machine has not cached (an --offline install then
      // fails, or re-resolves the lockfile without its optional dependencies).
      const store = sh('pnpm store path', repo).trim();
      sh(`pnpm install --prefer-offline --reporter=silent --store-dir ${JSON.stringify(store)}`, copy);
      expect(sh('git diff --no-index --numstat -- ' + JSON.stringify(join(repo, 'pnpm-lock.yaml')) + ' pnpm-lock.yaml || true', copy)).toMatch(/^\d+\t0\t/);
      sh('npx tsc -p tsconfig.json && npx eslint .', pkg);
      expect(sh('NO_COLOR=1 npx vitest run 2>&1', pkg)).toMatch(/Tests\s+3 passed/);
      // It refuses to overwrite, and bad names.
      expect(() => sh('bash scripts/new-package.sh probe9 "again"', copy)).toThrow(/exists/);
      expect(() => sh('bash scripts/new-package.sh Bad-Name "x"', copy)).toThrow(/usage/);
    },
    180_000,
  );
});
