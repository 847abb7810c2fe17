// cleanup(): a Node process makes a cgroup (with a process in it) and is SIGKILLed, so its
// cgroup is left behind; cleanup() removes that one, killing what is in it, and leaves the
// cgroups of live owners alone. Checked from the host side. Uses the built package in the
// child (the test task builds first).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { guardNoLeaks, isAlive, waitFor } from '@iso/test-kit';
import { describe, expect, it } from 'vitest';
import { ISO_CGROUP_NAME, cleanup, createCgroup, detectLayout, probeCgroup, processAlive } from '../src/index.js';

const TEST_PARENT = process.env.ISO_CGROUP_TEST_PARENT;
const usable = TEST_PARENT !== undefined || probeCgroup().supported;
const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const options = TEST_PARENT === undefined ? {} : { parent: TEST_PARENT };

/** The iso cgroup directories below the base, in every hierarchy. */
function isoCgroups(): string[] {
  const found: string[] = [];
  for (const h of detectLayout().hierarchies) {
    const base = TEST_PARENT ?? h.own;
    const dir = `${h.mount}${base === '/' ? '' : base}`;
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory() && entry.name.startsWith('iso-')) found.push(`${dir}/${entry.name}`);
  }
  return found.sort();
}

/** A Node child that makes a cgroup, moves a sleeper into it, prints the sleeper's pid and the cgroup's dirs, and waits. */
function owner(): Promise<{ node: ReturnType<typeof spawn>; sleeper: number; dirs: string[] }> {
  const script = `
    import { spawn } from 'node:child_process';
    import { createCgroup } from ${JSON.stringify(DIST)};
    const cgroup = createCgroup(${JSON.stringify({ ...options, limits: { pids: { max: 8 } } })});
    const sleeper = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
    cgroup.addProcess(sleeper.pid);
    console.log(JSON.stringify({ sleeper: sleeper.pid, dirs: cgroup.dirs }));
    setInterval(() => {}, 1000);`;
  const node = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    node.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('\n')) resolve({ node, ...(JSON.parse(out) as { sleeper: number; dirs: string[] }) });
    });
    node.once('exit', (code) => { reject(new Error(`the owner exited with ${String(code)} before it made its cgroup`)); });
  });
}

describe('processAlive', () => {
  it('is true for this process, false for a reaped pid', async () => {
    expect(processAlive(process.pid)).toBe(true);
    const child = spawn('true');
    await new Promise((resolve) => child.once('close', resolve));
    expect(processAlive(child.pid!)).toBe(false);
  });
});

describe.runIf(!usable)('cleanup() without write access to the cgroups', () => {
  it('removes nothing; a dead owner’s cgroup it cannot remove is reported, not thrown', async () => {
    const { removed, failed } = await cleanup(options);
    expect(removed).toEqual([]);
    for (const { error } of failed) expect(error).toMatchObject({ isoCode: 'ISO_NEEDS_PRIVILEGE' });
  });
});

describe.runIf(usable)('cleanup() on the kernel', () => {
  guardNoLeaks(15_000);

  it('removes the cgroup of a SIGKILLed Node, killing what is in it, and keeps those of live owners', async () => {
    const mine = createCgroup(options);
    const dead = await owner();
    const live = await owner();
    try {
      expect(dead.dirs.every((dir) => existsSync(dir) && ISO_CGROUP_NAME.test(dir.split('/').pop()!))).toBe(true);
      expect(dead.dirs[0]).toContain(`/iso-${dead.node.pid}-`);
      dead.node.kill('SIGKILL');
      await new Promise((resolve) => dead.node.once('close', resolve));
      expect(isAlive(dead.sleeper)).toBe(true); // orphaned, still in the leftover cgroup

      const result = await cleanup(options);
      expect(result.failed).toEqual([]);
      expect(result.removed.map((r) => r.path).sort()).toEqual([...dead.dirs].sort());
      expect(result.removed.every((r) => r.owner === dead.node.pid)).toBe(true);
      const kept = result.kept.map((r) => r.path);
      for (const dir of [...live.dirs, ...mine.dirs]) expect(kept).toContain(dir);
      // From the host side: the leftover is gone with its process, the live ones are intact.
      for (const dir of dead.dirs) expect(existsSync(dir)).toBe(false);
      await waitFor(() => !isAlive(dead.sleeper), 'the leftover’s sleeper killed');
      for (const dir of [...live.dirs, ...mine.dirs]) expect(existsSync(dir)).toBe(true);
      expect(isAlive(live.sleeper)).toBe(true);

      // A second run finds nothing more to do.
      expect((await cleanup(options)).removed).toEqual([]);
    } finally {
      live.node.kill('SIGKILL');
      await new Promise((resolve) => live.node.once('close', resolve));
      await cleanup(options); // the live owner is dead now: its cgroup and sleeper go too
      await mine.remove();
    }
    expect(isAlive(live.sleeper)).toBe(false);
    expect(isoCgroups()).toEqual([]);
  });

  it('a parent that does not exist, and a malformed one', async () => {
    expect((await cleanup({ parent: '/no-such-iso-parent' })).removed).toEqual([]);
    await expect(cleanup({ parent: 'relative' })).rejects.toMatchObject({ isoCode: 'ISO_INVALID_OPTIONS', path: 'parent' });
  });
});
