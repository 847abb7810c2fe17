// Ending a sandbox at any moment has one documented outcome: before its target was exec'd
// the result rejects with ISO_ABORTED (and its runner is killed); after, it resolves with the reason.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isIsoError } from '@iso/core';
import { guardNoLeaks, waitFor } from '@iso/test-kit';
import { describe, expect, it } from 'vitest';
import { run, spawn } from '../src/index.js';
import { childrenOf, isAlive } from './helpers.js';

const FULL = { pid: true, uts: true, ipc: true, mount: { root: 'host-readonly' } } as const;

/** 'rejected ISO_ABORTED', 'resolved aborted', or anything else that happened. */
type Outcome = string;

async function outcomeOf(promise: PromiseLike<{ reason: string; stdout: string }>): Promise<Outcome> {
  try {
    const r = await promise;
    return r.reason === 'aborted' && r.stdout === '' ? 'resolved aborted' : `resolved ${r.reason} ${JSON.stringify(r.stdout)}`;
  } catch (error) {
    return isIsoError(error) ? `rejected ${error.isoCode}` : `rejected ${String(error)}`;
  }
}

describe('ending a sandbox', () => {
  guardNoLeaks();

  it('an already-aborted signal rejects without spawning anything', async () => {
    const controller = new AbortController();
    controller.abort(new Error('changed my mind'));
    const handle = spawn('sh', ['-c', 'echo ran'], FULL); // not aborted: it runs
    const spawned = spawn('true', [], { signal: controller.signal });
    expect(spawned.pid).toBeUndefined();
    expect(spawned.stdout).toBeNull();
    expect(spawned.kill()).toBe(false);
    await expect(spawned).rejects.toMatchObject({ isoCode: 'ISO_ABORTED', cause: controller.signal.reason, message: 'the sandbox was aborted before anything was started' });
    await expect(spawned.ready).rejects.toMatchObject({ isoCode: 'ISO_ABORTED' });
    await expect(run('true', [], { signal: controller.signal })).rejects.toMatchObject({ isoCode: 'ISO_ABORTED' });
    expect((await handle).stdout).toBe('ran\n');
  });

  it('aborting at 0 to 20 ms, 200 times: rejected before the start, resolved as aborted after, never anything else', async () => {
    const seen = new Map<Outcome, number>();
    for (let round = 0; round < 200; round++) {
      const controller = new AbortController();
      const handle = spawn('sh', ['-c', 'sleep 5; echo late'], { ...FULL, signal: controller.signal });
      const delay = round % 21;
      if (delay === 0) controller.abort();
      else setTimeout(() => { controller.abort(); }, delay);
      const outcome = await outcomeOf(handle);
      seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
    }
    expect([...seen.keys()].filter((o) => o !== 'rejected ISO_ABORTED' && o !== 'resolved aborted')).toEqual([]);
    expect(seen.get('rejected ISO_ABORTED')).toBeGreaterThanOrEqual(10); // the 0 ms rounds at least
    await waitFor(() => childrenOf(process.pid).length === 0, 'every runner to be gone', 5000);
  }, 120_000);

  it('kill() before the target runs cancels the setup; after, it signals the target', async () => {
    const early = spawn('sh', ['-c', 'echo ran'], FULL);
    expect(early.kill('SIGTERM')).toBe(true);
    await expect(early).rejects.toMatchObject({ isoCode: 'ISO_ABORTED', message: expect.stringContaining('killed (kill(SIGTERM)) before its target started') });
    await expect(early.ready).rejects.toMatchObject({ isoCode: 'ISO_ABORTED' });

    const late = spawn('sleep', ['5'], FULL);
    await late.ready;
    expect(late.kill('SIGINT')).toBe(true);
    expect(await late).toMatchObject({ reason: 'killed', signal: 'SIGINT', signalSource: 'caller' });
    expect(late.kill()).toBe(false); // nothing left to signal
  });

  it('a signal the target sends itself is the target’s', async () => {
    const r = await run('sh', ['-c', 'kill -USR1 $$'], FULL);
    expect(r).toMatchObject({ reason: 'signal', signal: 'SIGUSR1', signalSource: 'target', isTerminated: true, failed: true });
  });

  it('timeouts of 1 to 10 ms: rejected ISO_ABORTED before the start, resolved as timed out after', async () => {
    const seen = new Set<string>();
    for (let round = 0; round < 50; round++) {
      try {
        const r = await run('sleep', ['5'], { ...FULL, timeout: 1 + (round % 10) });
        seen.add(`resolved ${r.reason} ${r.timedOut} ${r.signalSource}`);
      } catch (error) {
        seen.add(isIsoError(error) ? `rejected ${error.isoCode} ${/timed out \(after \d+ ms\)/.test(error.message)}` : String(error));
      }
    }
    expect([...seen].filter((o) => o !== 'rejected ISO_ABORTED true' && o !== 'resolved timeout true caller')).toEqual([]);
  }, 60_000);

  it('a daemon that escaped with setsid does not keep the result pending (no PID namespace)', async () => {
    const r = await run('sh', ['-c', 'setsid -f sh -c "echo \\$\\$; exec sleep 30"; sleep 0.05'], { preset: 'none', mount: true });
    const daemon = Number(r.stdout.trim());
    try {
      expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
      // It still runs and still holds stdout, and the result came anyway.
      expect(isAlive(daemon)).toBe(true);
    } finally {
      process.kill(daemon, 'SIGKILL');
    }
  });

  it('no fd left for the launch: spawn() does not throw, the result rejects, and nothing leaks', () => {
    // In a Node of its own, with a low fd limit used up but for one fd.
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const script = `const { spawn } = await import(${JSON.stringify(dist)});
      const fs = await import('node:fs');
      const held = []; try { for (;;) held.push(fs.openSync('/dev/null', 'r')); } catch {}
      fs.closeSync(held.pop());
      const before = fs.readdirSync('/proc/self/fd').length;
      let outcome;
      try { const h = spawn('true', [], { preset: 'none' }); outcome = await h.then(() => 'resolved', (e) => 'rejected ' + e.isoCode + ' ' + e.code + ' pid=' + h.pid); }
      catch (e) { outcome = 'threw ' + e.message; }
      console.log(outcome, fs.readdirSync('/proc/self/fd').length - before);`;
    const out = execFileSync('sh', ['-c', 'ulimit -n 64 && exec "$0" --input-type=module -e "$1"', process.execPath, script], { encoding: 'utf8' });
    expect(out.trim()).toBe('rejected ISO_SYSCALL_FAILED EMFILE pid=undefined 0');
  });
});
