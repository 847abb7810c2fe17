// The warm pool: each launch gets a runner that was spawned ahead of time and has run
// nothing, with exactly a cold launch's program; closing, aborting, a runner dying while
// it waits and SIGKILL of Node leave nothing behind.
import { spawn as spawnNode } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { guardNoLeaks } from '@iso/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { createPool, explain, plan, spawn } from '../src/index.js';
import type { SandboxPool } from '../src/index.js';
import { childrenOf, isAlive, waitFor } from './helpers.js';

const NAMESPACES = ['pid', 'user', 'mnt', 'net', 'uts', 'ipc', 'cgroup'];
const SHOW_NAMESPACES = NAMESPACES.map((ns) => `readlink /proc/self/ns/${ns}`).join('; ');

/** This process's runners: waiting ones, when no sandbox runs. */
function waitingRunners(): number[] {
  return childrenOf(process.pid).filter((pid) => {
    try {
      return isAlive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8') === 'iso-runner\0';
    } catch {
      return false;
    }
  });
}

let pools: SandboxPool[] = [];
function pool(...args: Parameters<typeof createPool>): SandboxPool {
  const made = createPool(...args);
  pools.push(made);
  return made;
}
/** Registered after guardNoLeaks(), so that it runs before the leak check (hooks run as a stack). */
function closePoolsAfterEach(): void {
  afterEach(async () => {
    await Promise.all(pools.map((p) => p.close()));
    pools = [];
  });
}

describe('createPool', () => {
  guardNoLeaks();
  closePoolsAfterEach();

  it('gives every launch a fresh sandbox: namespaces of its own, none shared with another or with a cold launch', async () => {
    // Namespace ids are inode numbers, which the kernel reuses once a namespace is gone:
    // the sandboxes compared must be alive together. Each prints its ids and waits.
    const warm = pool({ size: 3 });
    await warm.warm();
    const hold = ['sh', ['-c', `${SHOW_NAMESPACES}; read line`]] as const;
    const sandboxes = [warm.spawn(...hold), warm.spawn(...hold), warm.spawn(...hold), spawn(...hold)];
    expect(warm.stats).toEqual({ warm: 3, cold: 0 });
    const ids = await Promise.all(sandboxes.map((sandbox) => new Promise<string[]>((resolve) => {
      let out = '';
      sandbox.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const lines = out.trim().split('\n');
        if (lines.length === NAMESPACES.length) resolve(lines);
      });
    })));
    for (const sandbox of sandboxes) sandbox.stdin?.end('go\n');
    for (const result of await Promise.all(sandboxes)) expect(result.exitCode).toBe(0);
    for (const [i, ns] of NAMESPACES.entries()) {
      if (ns === 'cgroup') continue; // no cgroup namespace without the cgroup option
      const column = ids.map((lines) => lines[i]);
      expect(new Set(column).size, `${ns}: ${column.join(' ')}`).toBe(sandboxes.length);
      expect(column).not.toContain(readlinkSync(`/proc/self/ns/${ns}`));
    }
  });

  it('runs exactly the program of a cold launch: the same explain(), the same bytes', () => {
    const warm = pool({ size: 1, options: { timeout: 5000, env: { A: '1' } } });
    const options = { env: { A: '1' }, cwd: '/tmp' };
    expect(warm.explain('sh', ['-c', 'exit 3'], { cwd: '/tmp' })).toBe(explain('sh', ['-c', 'exit 3'], options));
    expect(Buffer.compare(warm.plan('sh', ['-c', 'exit 3'], { cwd: '/tmp' }).program.bytes, plan('sh', ['-c', 'exit 3'], options).program.bytes)).toBe(0);
    // The strict preset applies to a pool as to run(): user, pid, net, mount... namespaces.
    expect(warm.explain('true')).toContain('CLONE_NEWNET');
  });

  it('takes argv, env, cwd, input and stdio per launch', async () => {
    const warm = pool({ size: 2, options: { env: { FROM: 'pool' } } });
    await warm.warm();
    const r = await warm.run('sh', ['-c', 'echo "$FROM $MINE $(pwd)"; cat; echo oops >&2', 'x'], { env: { MINE: 'own' }, cwd: '/tmp', input: 'fed\n' });
    // env is one key: a launch's own replaces the pool's, as with createSandbox's defaults.
    expect(r).toMatchObject({ exitCode: 0, stdout: ' own /tmp\nfed\n', stderr: 'oops\n' });
    const dir = mkdtempSync(join(tmpdir(), 'iso-pool-'));
    try {
      const file = join(dir, 'out');
      const fd = openSync(file, 'w');
      try {
        const toFile = await warm.run('sh', ['-c', 'echo to-file; echo to-null >&2; cat'], { stdio: ['ignore', fd, 'ignore'] });
        expect(toFile).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
        expect(toFile.pid).toBeGreaterThan(0);
      } finally {
        closeSync(fd);
      }
      expect(readFileSync(file, 'utf8')).toBe('to-file\n');
      // stdin 'ignore' is /dev/null inside, as for a cold launch.
      expect((await warm.run('readlink', ['/proc/self/fd/0'])).stdout).toBe('/dev/null\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(warm.stats.warm).toBe(3);
  });

  it('refuses a stream with no fd, or an fd that is not open, before anything is sent, and the runner waits on', async () => {
    const warm = pool({ size: 1 });
    await warm.warm();
    const [runner] = waitingRunners();
    await expect(warm.run('true', [], { stdio: ['ignore', new PassThrough(), 'pipe'] })).rejects.toMatchObject({ isoCode: 'ISO_INVALID_OPTIONS', path: 'stdio[1]' });
    expect(waitingRunners()).toEqual([runner]);
    await expect(warm.run('true', [], { stdio: ['ignore', 9999, 'pipe'] })).rejects.toMatchObject({ isoCode: 'ISO_INVALID_OPTIONS', path: 'stdio[1]', message: expect.stringContaining('fd 9999 is not open') });
    expect(waitingRunners()).toEqual([runner]);
    expect((await warm.run('echo', ['still good'])).stdout).toBe('still good\n');
    expect(warm.stats).toEqual({ warm: 1, cold: 0 });
  });

  it('ends pooled sandboxes by timeout and by signal like cold ones', async () => {
    const warm = pool({ size: 2 });
    await warm.warm();
    const timedOut = await warm.run('sleep', ['10'], { timeout: 200 });
    expect(timedOut).toMatchObject({ reason: 'timeout', timedOut: true });
    const controller = new AbortController();
    const aborted = warm.spawn('sleep', ['10'], { signal: controller.signal });
    await aborted.ready;
    controller.abort();
    expect(await aborted).toMatchObject({ reason: 'aborted', isCanceled: true });
    // Aborted during setup: rejects, and the runner it took is gone.
    const early = new AbortController();
    const cancelled = warm.spawn('true', [], { signal: early.signal });
    early.abort();
    await expect(cancelled).rejects.toMatchObject({ isoCode: 'ISO_ABORTED' });
  });

  it('replaces a runner that dies while it waits', async () => {
    const warm = pool({ size: 2 });
    await warm.warm();
    const before = waitingRunners();
    expect(before).toHaveLength(2);
    process.kill(before[0] ?? 0, 'SIGKILL');
    await waitFor(() => waitingRunners().length === 2 && !waitingRunners().includes(before[0] ?? 0), 'a replacement runner');
    const r = await warm.run('echo', ['ok']);
    expect(r.stdout).toBe('ok\n');
    expect(warm.stats.cold).toBe(0);
  });

  it('goes cold when every runner is taken, and refills after', async () => {
    const warm = pool({ size: 1 });
    await warm.warm();
    const [a, b] = [warm.spawn('sleep', ['0.3']), warm.spawn('sleep', ['0.3'])];
    await Promise.all([a, b]);
    expect(warm.stats).toEqual({ warm: 1, cold: 1 });
    await warm.warm();
    expect(warm.idle).toBe(1);
  });

  it('launches cold what needs another kind of runner (a seccomp handler), and that works', async () => {
    const warm = pool({ size: 1 });
    await warm.warm();
    const seen: string[] = [];
    const r = await warm.run('mkdir', ['/tmp/x'], {
      seccomp: { defaultAction: 'allow', rules: [{ names: ['mkdir', 'mkdirat'], action: 'notify' }], onNotify: (n) => { seen.push(n.syscall); return { deny: 'EPERM' }; } },
    });
    expect(r.exitCode).not.toBe(0);
    expect(seen.length).toBeGreaterThan(0);
    expect(warm.stats).toEqual({ warm: 0, cold: 1 });
    expect(warm.idle).toBe(1);
  });

  it('closes: its waiting runners exit, and a launch after close rejects having started nothing', async () => {
    const warm = pool({ size: 3 });
    await warm.warm();
    const runners = waitingRunners();
    expect(runners).toHaveLength(3);
    const running = warm.spawn('sleep', ['0.2']);
    await running.ready;
    await warm[Symbol.asyncDispose]();
    const waited = runners.filter((pid) => pid !== running.pid);
    expect(waited).toHaveLength(2);
    for (const pid of waited) expect(isAlive(pid)).toBe(false);
    expect(warm.idle).toBe(0);
    expect((await running).exitCode).toBe(0); // a launched sandbox is the caller's, and runs on
    await expect(warm.run('true')).rejects.toMatchObject({ isoCode: 'ISO_ABORTED', message: expect.stringContaining('pool is closed') });
    await warm.close(); // twice is fine
  });

  it('leaves no runner after SIGKILL of Node', async () => {
    const script = `
      import { createPool } from '@iso/sandbox';
      const pool = createPool({ size: 4 });
      await pool.warm();
      console.log('warm');
      setInterval(() => {}, 1000);
    `;
    const node = spawnNode(process.execPath, ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      node.stdout.on('data', (chunk: Buffer) => { if (chunk.toString().includes('warm')) resolve(); });
      node.once('exit', (code) => { reject(new Error(`node exited with ${code}`)); });
    });
    const runners = childrenOf(node.pid ?? 0);
    expect(runners).toHaveLength(4);
    node.kill('SIGKILL');
    await waitFor(() => runners.every((pid) => !isAlive(pid)), 'the orphaned runners to exit');
  });
});

describe('createPool, bad options', () => {
  guardNoLeaks();

  it.each([
    ['a number', 4, 'pool'],
    ['size 0', { size: 0 }, 'pool.size'],
    ['size 1.5', { size: 1.5 }, 'pool.size'],
    ['size as a string', { size: '4' }, 'pool.size'],
    ['size too big', { size: 100_000 }, 'pool.size'],
    ['an unknown key', { sizes: 4 }, 'pool.sizes'],
    ['options not an object', { options: [] }, 'pool.options'],
    ['a bad sandbox option', { options: { pid: 'yes' } }, 'pid'],
    ['an unknown sandbox option', { options: { pids: true } }, 'pids'],
  ])('%s gets ISO_INVALID_OPTIONS, and no runner is spawned', async (_, options, path) => {
    expect(() => createPool(options as never)).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path }) as Error);
    await new Promise((resolve) => setImmediate(resolve));
    expect(waitingRunners()).toEqual([]);
  });
});
