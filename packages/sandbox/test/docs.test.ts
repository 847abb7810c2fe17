// The docs' examples run as written: every ```js or ```ts block of README.md, docs/*.md
// and packages/*/README.md that imports an @iso package is a program, and must exit 0.
// A block may be preceded by a directive in an HTML comment:
//   <!-- docs-test: isolated -->  it changes the host (links, mounts): run it in a new
//                                 user, network and mount namespace (unshare -Urnm)
//   <!-- docs-test: root-isolated --> it needs real root: as root, run it in a new mount
//                                 and network namespace (unshare -mn); skipped otherwise
//   <!-- docs-test: root -->      it needs root (cgroups without a delegated subtree): run
//                                 as root only
//   <!-- docs-test: skip: why --> not run, for the reason given
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'iso-docs-'));
chmodSync(work, 0o755); // a sandbox's nobody may need to read it, as a user's cwd
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

interface Block {
  file: string;
  line: number;
  lang: string;
  code: string;
  directive: string | undefined;
}

function docFiles(): string[] {
  const files = ['README.md'];
  for (const name of readdirSync(join(repo, 'docs')).sort()) if (name.endsWith('.md')) files.push(`docs/${name}`);
  for (const name of readdirSync(join(repo, 'packages')).sort()) {
    try {
      readFileSync(join(repo, 'packages', name, 'README.md'));
      files.push(`packages/${name}/README.md`);
    } catch {
      // no README
    }
  }
  return files;
}

function blocksOf(file: string): Block[] {
  const lines = readFileSync(join(repo, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(js|ts|javascript|typescript|mjs)\s*$/.exec(lines[i] ?? '');
    if (!fence) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i] ?? '');
    const code = body.join('\n');
    if (!/^import .* from '@iso\//m.test(code)) continue; // a fragment, or output
    const before = start > 0 ? /^<!-- docs-test: (.*) -->$/.exec(lines[start - 1] ?? '') : null;
    blocks.push({ file, line: start + 1, lang: fence[1] ?? 'js', code, directive: before?.[1] });
  }
  return blocks;
}

/** The block as a module of its own: types stripped, @iso imports pointed at the built packages. */
function program(block: Block): string {
  const js = block.lang.startsWith('t') ? ts.transpileModule(block.code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText : block.code;
  // The built package, as a user imports it (this suite resolves the sources instead).
  return js.replace(/from '@iso\/([a-z0-9-]+)(\/[a-z0-9-]+)?'/g, (_, name: string, subpath: string | undefined) =>
    `from ${JSON.stringify(join(repo, 'packages', name, 'dist', `${subpath === undefined ? 'index' : subpath.slice(1)}.js`))}`);
}

const blocks = docFiles().flatMap(blocksOf);

describe('the docs examples', () => {
  it('finds the examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(30);
  });

  it.each(blocks.map((block) => [`${block.file}:${block.line}`, block] as const))('%s runs as written', (name, block) => {
    if (block.directive?.startsWith('skip:')) return;
    if (block.directive !== undefined && !['isolated', 'root-isolated', 'root'].includes(block.directive)) throw new Error(`${name}: unknown directive ${block.directive}`);
    if (block.directive?.startsWith('root') && process.getuid?.() !== 0) return;
    const path = join(work, `${name.replace(/[/:.]/g, '_')}.mjs`);
    writeFileSync(path, program(block));
    const command =
      block.directive === 'isolated' ? ['unshare', '-Urnm', process.execPath, path] : block.directive === 'root-isolated' ? ['unshare', '-mn', process.execPath, path] : [process.execPath, path];
    try {
      execFileSync(command[0] ?? '', command.slice(1), { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    } catch (error) {
      const failed = error as { status?: number; stderr?: string };
      const why = (failed.stderr ?? '').split('\n').filter((l) => /Error|error:|^\s+at /.test(l)).slice(0, 3).join('\n');
      throw new Error(`${relative(repo, join(repo, block.file))}:${block.line} exited ${failed.status ?? '?'}:\n${why}`);
    }
  }, 40_000);
});
