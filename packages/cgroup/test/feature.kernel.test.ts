// cgroupFeature as the sandbox runs it: the program composed with the real features, the
// session started right after the spawn and stopped when the runner exits, as
// @iso/sandbox's SandboxProcess does (this package cannot depend on @iso/sandbox).
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { IsoError, currentHost, launch } from '@iso/core';
import type { AnyFeature } from '@iso/core';
import { pidFeature } from '@iso/pid';
import { composeProgram, guardNoLeaks, isAlive, waitFor } from '@iso/test-kit';
import { usernsFeature } from '@iso/userns';
import { describe, expect, it } from 'vitest';
import { cgroupFeature, detectLayout, probeCgroup } from '../src/index.js';
import type { CgroupEvent, CgroupOption, CgroupResult } from '../src/index.js';

const TEST_PARENT = process.env.ISO_CGROUP_TEST_PARENT;
const usable = TEST_PARENT !== undefined || probeCgroup().supported;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  events: CgroupEvent[];
  result: CgroupResult | undefined;
  removed: Promise<void>;
}

/** Every cgroup directory below the base of the sandboxes (the caller's own, or the test parent). */
function cgroupsBelowBase(): string[] {
  const found: string[] = [];
  for (const h of detectLayout().hierarchies) {
    const base = TEST_PARENT ?? h.own;
    const dir = `${h.mount}${base === '/' ? '' : base}`;
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory() && entry.name.startsWith('iso-')) found.push(`${dir}/${entry.name}`);
  }
  return found.sort();
}

async function runWithCgroup(option: CgroupOption, script: string, features: readonly AnyFeature[] = [cgroupFeature]): Promise<Outcome> {
  const withParent = TEST_PARENT !== undefined && typeof option === 'object' ? { parent: TEST_PARENT, ...option } : TEST_PARENT !== undefined ? { parent: TEST_PARENT } : option;
  const program = composeProgram(features, { cgroup: withParent }, { file: '/bin/sh', args: ['-c', script] });
  const settings = cgroupFeature.normalize(withParent, { host: currentHost(), namespaces: new Set(), requests: [], keptCaps: [], noNewPrivs: false, ownRoot: false });
  if (!settings || !cgroupFeature.start) throw new Error('cgroup is off');
  const before = cgroupsBelowBase();
  const { child, ready } = launch(program, { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: CgroupEvent[] = [];
  const session = cgroupFeature.start(settings, { option: withParent, pid: child.pid, returnSocket: undefined, emit: (name, event) => name === 'cgroup' && events.push(event as CgroupEvent) });
  const made = cgroupsBelowBase().filter((dir) => !before.includes(dir));
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('close', (code, signal) => { resolve([code, signal]); }));
  child.once('exit', () => {
    session.stop();
  });
  await ready;
  const [code, signal] = await closed;
  const removed = waitFor(() => made.every((dir) => !existsSync(dir)), 'the cgroup removed', 15_000);
  return { code, signal, stdout, stderr, events, result: session.result({ exitCode: code, signal }), removed };
}

describe.runIf(!usable)('the cgroup feature without privilege or delegation', () => {
  it('normalize refuses with ISO_NEEDS_PRIVILEGE before anything is created', () => {
    const context = { host: currentHost(), namespaces: new Set<never>(), requests: [], keptCaps: [], noNewPrivs: false, ownRoot: false };
    expect(() => cgroupFeature.normalize({ memory: { max: '64M' } }, context)).toThrow(expect.objectContaining({ isoCode: 'ISO_NEEDS_PRIVILEGE', message: expect.stringMatching(/Delegate=yes/) }));
  });
});

describe.runIf(usable)('the cgroup feature on the kernel', () => {
  guardNoLeaks(15_000);

  it('the runner is in the cgroup before any setup step; usage is reported and the cgroup removed after exit', async () => {
    const out = await runWithCgroup({ namespace: false, pids: { max: 64 } }, 'cat /proc/self/cgroup; head -c 4000000 /dev/urandom | md5sum >/dev/null');
    expect(out.code).toBe(0);
    expect(out.result).toBeDefined();
    const { path, usage, version } = out.result!;
    expect(path).toMatch(/\/iso-\d+-\d+-[0-9a-f]+$/);
    const lines = out.stdout.trim().split('\n');
    // Every managed hierarchy shows the sandbox's cgroup (devices and name=systemd are not managed).
    const managed = lines.filter((line) => /:(memory|pids|cpu|cpuacct|freezer|blkio|cpuset)(,|:)|^0::/.test(line) && (version === 2 || !line.startsWith('0::')));
    expect(managed.length).toBeGreaterThan(0);
    for (const line of managed) expect(line).toMatch(/\/iso-\d+-\d+-[0-9a-f]+$/);
    expect(usage.cpu.usageUsec).toBeGreaterThan(0);
    expect(usage.pids.current).toBe(0);
    if (usage.memory.peak !== undefined) expect(usage.memory.peak).toBeGreaterThan(0);
    await out.removed;
  });

  it('with a cgroup namespace, the target sees its cgroup as /', async () => {
    const out = await runWithCgroup(true, 'cat /proc/self/cgroup; readlink /proc/self/ns/cgroup', [cgroupFeature, usernsFeature]);
    expect(out.code).toBe(0);
    const lines = out.stdout.trim().split('\n');
    const ns = lines.pop();
    expect(ns).toMatch(/^cgroup:\[\d+\]$/);
    expect(ns).not.toBe(readlinkSync('/proc/self/ns/cgroup'));
    for (const line of lines) expect(line.endsWith(':/')).toBe(true);
    await out.removed;
  });

  it('OOM: the hog is killed, the event is emitted and counted in result.cgroup', async () => {
    const out = await runWithCgroup({ namespace: false, memory: { max: '32M' } }, 'exec tail /dev/zero');
    expect(out.signal).toBe('SIGKILL');
    expect(out.result!.events.oomKills).toBeGreaterThanOrEqual(1);
    expect(out.events.some((e) => e.type === 'oomKill')).toBe(true);
    await out.removed;
  });

  it('pids: a fork bomb in a PID namespace is held at pids.max and the hits are counted', async () => {
    const bomb = "i=0; while [ $i -lt 100 ]; do sleep 5 & i=$((i+1)); done 2>/dev/null; echo done";
    const out = await runWithCgroup({ pids: { max: 16 } }, bomb, [cgroupFeature, pidFeature, usernsFeature]);
    expect(out.result!.events.pidsMax).toBeGreaterThan(0);
    expect(out.events.some((e) => e.type === 'pidsMax')).toBe(true);
    await out.removed;
  });

  it('the attach hook without the session refuses, and the runner stops before any other step', async () => {
    const program = composeProgram([cgroupFeature], { cgroup: TEST_PARENT === undefined ? { namespace: false } : { namespace: false, parent: TEST_PARENT } }, { file: '/bin/sh', args: ['-c', 'echo ran'] });
    const { child, ready } = launch(program, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const closed = new Promise((resolve) => child.once('close', resolve));
    await expect(ready).rejects.toMatchObject({ isoCode: 'ISO_SETUP_FAILED', step: 'cgroup.attach', message: expect.stringMatching(/no cgroup was made/) });
    await closed;
    expect(stdout).toBe('');
  });

  it('refineError names what is missing for a failed cgroup namespace', () => {
    const settings = { limits: {}, parent: undefined, callerLeaf: undefined, namespace: true };
    const failed = (code: string) => new IsoError('ISO_SETUP_FAILED', 'cgroup.unshare[3]: unshare(CLONE_NEWCGROUP) failed', { phase: 'child', step: 'cgroup.unshare', errnoCode: code, errno: -1, syscall: 'unshare' });
    expect(cgroupFeature.refineError?.(failed('EINVAL'), settings)).toMatchObject({ isoCode: 'ISO_UNSUPPORTED_KERNEL', code: 'EINVAL', step: 'cgroup.unshare' });
    expect(cgroupFeature.refineError?.(failed('EPERM'), settings)).toMatchObject({ isoCode: 'ISO_NEEDS_PRIVILEGE', message: expect.stringMatching(/namespace: false/) });
  });

  it('a daemon left behind without a PID namespace is killed with the cgroup', async () => {
    const out = await runWithCgroup({ namespace: false }, "setsid sh -c 'sleep 300 & echo $!' </dev/null");
    const daemon = Number(out.stdout.trim());
    expect(daemon).toBeGreaterThan(0);
    await out.removed;
    await waitFor(() => !isAlive(daemon), 'the daemon gone');
  });
});
