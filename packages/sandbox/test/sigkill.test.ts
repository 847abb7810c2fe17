// SIGKILL at the worst moments leaves no cgroup, checked from the host side: of the target
// and of the supervisor (the runner), the sandbox removes its cgroup itself; of Node in the
// middle of setup, nothing in Node runs, so its runner dies with it (PDEATHSIG) and the
// empty cgroup it leaves is reclaimed by @iso/cgroup's cleanup(). 100 rounds each, a few at
// a time. Only where cgroups are usable (root here; kernel-lab for v2).
import { spawn as spawnChild } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cleanup, detectLayout } from '@iso/cgroup';
import { guardNoLeaks, isAlive, waitFor } from '@iso/test-kit';
import { describe, expect, it } from 'vitest';
import { probe, spawn } from '../src/index.js';
import { descendantRunning } from './helpers.js';

const usable = probe().features.cgroup.supported;
// ISO_SIGKILL_ROUNDS lowers the count where launches are slow (kernel-lab's emulated guest).
const ROUNDS = Number(process.env.ISO_SIGKILL_ROUNDS ?? 100);
const AT_ONCE = 4;
const OPTIONS = { cgroup: { pids: { max: 64 } } } as const;

/** The directories, in every hierarchy, of iso cgroups below the caller's own whose owner is `owner` (or whose name is `name`). */
function isoCgroups(match: { owner?: number; name?: string }): string[] {
  const found: string[] = [];
  for (const h of detectLayout().hierarchies) {
    const dir = `${h.mount}${h.own === '/' ? '' : h.own}`;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      if ((match.name !== undefined && entry.name === match.name) || (match.owner !== undefined && entry.name.startsWith(`iso-${match.owner}-`))) found.push(`${dir}/${entry.name}`);
    }
  }
  return found;
}

/** The cgroup's path from the exit report's source ('cgroup v1 /…/iso-1-2-abc'). */
const cgroupPath = (source: string | undefined) => source?.split(' ')[2];

/** Runs `round` for 0..ROUNDS-1, AT_ONCE at a time. */
async function rounds(round: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: AT_ONCE }, async () => {
      while (next < ROUNDS) await round(next++);
    }),
  );
}

/** The cgroup of a finished sandbox is gone from every hierarchy. */
async function expectRemoved(path: string | undefined): Promise<void> {
  expect(path).toMatch(/\/iso-\d+-\d+-[0-9a-f]+$/);
  const name = path!.split('/').pop()!;
  await waitFor(() => isoCgroups({ name }).length === 0, `${name} removed`, 15_000);
}

describe.runIf(usable)('SIGKILL leaves no cgroup', () => {
  guardNoLeaks(15_000);

  it(`of the target, ${ROUNDS} times`, async () => {
    await rounds(async () => {
      const handle = spawn('sleep', ['30'], OPTIONS);
      await handle.ready;
      process.kill(await descendantRunning(handle.pid!, 'sleep'), 'SIGKILL');
      const result = await handle;
      expect(result).toMatchObject({ signal: 'SIGKILL', reason: 'signal', report: { reason: 'signal', source: expect.stringMatching(/^cgroup/) } });
      await expectRemoved(cgroupPath(result.report.source));
    });
  }, 180_000);

  it(`of the supervisor, ${ROUNDS} times: after the start, or at 0 to 9 ms into setup`, async () => {
    const outcomes = new Set<string>();
    await rounds(async (i) => {
      const handle = spawn('sleep', ['30'], OPTIONS);
      const runner = handle.pid!;
      if (i % 2 === 0) await handle.ready;
      else await new Promise((resolve) => setTimeout(resolve, i % 10));
      process.kill(runner, 'SIGKILL');
      const outcome = await handle.then(
        (r) => ({ what: `resolved ${String(r.signal)}`, path: cgroupPath(r.report.source) }),
        (e: unknown) => ({ what: `rejected ${(e as { isoCode?: string }).isoCode ?? String(e)}`, path: undefined }),
      );
      outcomes.add(outcome.what);
      if (outcome.path !== undefined) await expectRemoved(outcome.path);
      // Rejected in setup: the cgroup is not in the error, so look for any left by this process but live ones.
      await waitFor(() => !isAlive(runner), 'the runner gone');
    });
    expect([...outcomes].filter((o) => !['resolved SIGKILL', 'rejected ISO_SETUP_FAILED', 'rejected ISO_ABORTED'].includes(o))).toEqual([]);
    expect(outcomes.has('resolved SIGKILL')).toBe(true);
    // Every sandbox of this process has ended: none of its cgroups may be left.
    await waitFor(() => isoCgroups({ owner: process.pid }).length === 0, 'no cgroup of this process', 15_000);
  }, 180_000);

  it(`of Node mid-setup, ${ROUNDS} times: the runner dies with Node, and cleanup() reclaims the empty cgroup`, async () => {
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    // A Node of its own runs one sandbox with a test feature whose sync hook (in the
    // session stage, after cgroup.attach) blocks Node: killed there, Node is mid-setup for sure.
    const script = (hold: boolean) => `
      import { writeSync } from 'node:fs';
      import { FEATURES, SandboxProcess, planWithFeatures } from ${JSON.stringify(dist)};
      const hold = {
        key: 'hold', summary: 'blocks Node at a sync point',
        normalize: (o) => (o ? {} : undefined),
        plan: () => ({ steps: { session: [{ op: 'sync', name: 'hold.wait', hook: { name: 'hold.wait', run: () => {
          writeSync(1, 'held\\n'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30000);
        } } }] } }),
        probe: () => ({ supported: true, reasons: [] }),
      };
      const options = { ...${JSON.stringify(OPTIONS)}, hold: ${String(hold)} };
      const handle = new SandboxProcess(planWithFeatures([...FEATURES, hold], 'sleep', ['30'], options), options, 'ignore');
      handle.catch(() => {});
      writeSync(1, 'spawned ' + handle.pid + '\\n');`;
    let held = 0;
    let leftovers = 0;
    await rounds(async (i) => {
      const hold = i % 2 === 0;
      const node = spawnChild(process.execPath, ['--input-type=module', '-e', script(hold)], { stdio: ['ignore', 'pipe', 'inherit'] });
      const closed = new Promise((resolve) => node.once('close', resolve));
      let out = '';
      await new Promise<void>((resolve) => {
        node.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
          if (hold ? out.includes('held\n') : out.includes('spawned')) resolve();
        });
        node.once('exit', () => { resolve(); });
      });
      if (!hold) await new Promise((resolve) => setTimeout(resolve, i % 10));
      node.kill('SIGKILL');
      await closed;
      if (out.includes('held\n')) held++;
      const runner = Number(/spawned (\d+)/.exec(out)?.[1]);
      if (Number.isInteger(runner) && runner > 0) await waitFor(() => !isAlive(runner), 'the runner dead with Node');
      const left = isoCgroups({ owner: node.pid! });
      // What Node left holds no process: everything in it died with Node.
      if (left.length > 0) leftovers++;
      for (const dir of left) await waitFor(() => !existsSync(dir) || readFileSync(`${dir}/cgroup.procs`, 'utf8') === '', `${dir} empty`);
      const { removed, failed } = await cleanup();
      expect(failed).toEqual([]);
      for (const dir of left) expect(removed.map((r) => r.path)).toContain(dir);
      expect(isoCgroups({ owner: node.pid! })).toEqual([]);
    });
    expect(held).toBe(Math.ceil(ROUNDS / 2)); // every hold round was killed in setup
    expect(leftovers).toBeGreaterThanOrEqual(Math.ceil(ROUNDS / 2)); // and left a cgroup, which cleanup() removed
  }, 300_000);
});
