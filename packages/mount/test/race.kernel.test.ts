// The CVE-2021-30465 pattern (runc's mount-target symlink race): while sandboxes set up,
// a host process swaps a rootfs component between a real directory and a symlink to a
// host directory. With every target opened by openat2(RESOLVE_IN_ROOT) and every mount
// attached by fd, a sandbox either mounts inside its root or fails with a typed error;
// the victim directory and the host's mount table never change.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IsoError } from '@iso/core';
import { expect, it } from 'vitest';
import type { MountEntry } from '../src/index.js';
import { USR_ENTRIES, giveToSandbox, guardHost, runSandbox } from './helpers.js';

const SWAPPER = fileURLToPath(new URL('./fixtures/swapper.mjs', import.meta.url));
const RUNS = 25;

const scratch = guardHost();

it.each([
  ['an absolute symlink', (victim: string) => victim],
  ['a relative symlink climbing out', (victim: string) => `${'../'.repeat(12)}${victim.slice(1)}`],
])('CVE-2021-30465: a component swapped between a dir and %s to the host never redirects a mount', async (_, link) => {
  const victim = scratch();
  writeFileSync(join(victim, 'canary'), 'untouched\n');
  const victimStat = statSync(victim);
  const source = scratch();
  writeFileSync(join(source, 'from-source'), 'source\n');
  // Everything here is the sandbox root's, so an escape would be able to write the victim.
  const root = scratch();
  mkdirSync(join(root, 'a'));
  giveToSandbox(join(root, 'a'));
  symlinkSync(link(victim), join(root, 'a-link'));

  const entries: MountEntry[] = [
    ...(USR_ENTRIES as unknown as MountEntry[]),
    { type: 'tmpfs', target: '/a/t' },
    { type: 'bind', source, target: '/a/b' },
    { type: 'ro-bind', source, target: '/a/r' },
    { type: 'file', target: '/a/f', content: 'file\n' },
    { type: 'dir', target: '/a/d/e' },
    { type: 'symlink', target: '/a/l', to: '/x' },
  ];

  const swapper = spawn(process.execPath, [SWAPPER, join(root, 'a'), join(root, 'a-link')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => swapper.once('exit', resolve));
  let ok = 0;
  let refused = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      swapper.stdout.once('data', () => { resolve(); });
      swapper.once('exit', (code) => { reject(new Error(`the swapper exited with ${String(code)}`)); });
    });
    for (let i = 0; i < RUNS; i++) {
      let outcome: Awaited<ReturnType<typeof runSandbox>> | IsoError;
      try {
        // /a itself keeps flipping, so the target only reports that setup finished.
        outcome = await runSandbox({ root: { dir: root }, entries }, 'true');
      } catch (error) {
        if (!(error instanceof IsoError)) throw error;
        outcome = error;
      }
      if (outcome instanceof IsoError) {
        // Refused: the symlink was resolved inside the root, where its target does not exist
        // (ENOENT), or openat2 saw a rename while resolving '..' (EAGAIN).
        // (EACCES would mean the sandbox's root may not write the root at all: no race then.)
        expect(outcome).toMatchObject({ isoCode: 'ISO_SETUP_FAILED', phase: 'child', code: expect.stringMatching(/^(ENOENT|ENOTDIR|EAGAIN)$/) });
        expect(outcome.step).toMatch(/^mount\.entries\[\d+\]\.(parent|target|mkdir|mknod|symlink)$/);
        refused++;
      } else {
        expect(outcome.code).toBe(0);
        ok++;
      }
    }
  } finally {
    swapper.kill('SIGKILL');
    await exited;
  }
  expect(ok + refused).toBe(RUNS);
  // The swap really raced the setup: some sandboxes met the symlink.
  expect(refused).toBeGreaterThan(0);
  expect(readdirSync(victim)).toEqual(['canary']);
  expect(readFileSync(join(victim, 'canary'), 'utf8')).toBe('untouched\n');
  expect(statSync(victim).mtimeMs).toBe(victimStat.mtimeMs);
  expect(readdirSync(source)).toEqual(['from-source']);
});
