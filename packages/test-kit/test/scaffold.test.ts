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

const sh = (script: string, cwd: string) => execFileSync('bash', ['-euo', 'pipefail', '-c', script], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

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
      sh('pnpm install --offline --reporter=silent', copy);
      sh('npx tsc -p tsconfig.json && npx eslint .', pkg);
      expect(sh('NO_COLOR=1 npx vitest run 2>&1', pkg)).toMatch(/Tests\s+3 passed/);
      // It refuses to overwrite, and bad names.
      expect(() => sh('bash scripts/new-package.sh probe9 "again"', copy)).toThrow(/exists/);
      expect(() => sh('bash scripts/new-package.sh Bad-Name "x"', copy)).toThrow(/usage/);
    },
    180_000,
  );
});
