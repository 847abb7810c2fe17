import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { closeSync } from 'node:fs';
import { IsoError } from '@iso/core';
import { describe, expect, it } from 'vitest';
import { innermostPid, listPidNamespace, namespacePids, pidNamespaceId, pidfdOpen, pidfdSendSignal, toHostPid } from '../src/index.js';

/** A sleep in a new user+pid namespace made by util-linux's unshare, the oracle here. */
async function sleeperInNewPidNamespace(): Promise<{ hostPid: number; stop: () => void }> {
  const child = spawn('unshare', ['--user', '--map-root-user', '--pid', '--fork', '--mount-proc', 'sleep', '30'], { stdio: 'ignore' });
  const unsharePid = child.pid!;
  for (let i = 0; i < 200; i++) {
    const kids = readdirSync(`/proc/${unsharePid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${unsharePid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
    const sleeper = kids.find((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep');
    if (sleeper) return { hostPid: sleeper, stop: () => child.kill('SIGKILL') };
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill('SIGKILL');
  throw new Error('unshare did not start sleep');
}

describe('@iso/pid in-process', () => {
  it('signals through a pidfd', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_, signal) => { resolve(signal); }));
    const fd = pidfdOpen(child.pid!);
    expect(fd).toBeGreaterThan(2);
    expect(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8')).toMatch(new RegExp(`^Pid:\\s+${child.pid}$`, 'm'));
    pidfdSendSignal(fd, constants.signals.SIGTERM);
    expect(await exited).toBe('SIGTERM');
    closeSync(fd);
  });

  it('names the failed call', () => {
    let error: unknown;
    try {
      pidfdOpen(0x3fffffff);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(IsoError);
    expect(error).toMatchObject({ code: 'ESRCH', step: 'pid.pidfdOpen', syscall: 'pidfd_open', phase: 'in-process' });
  });

  it('translates pids between namespaces', async () => {
    expect(namespacePids('self')).toEqual([process.pid]);
    expect(innermostPid(process.pid)).toBe(process.pid);
    const sleeper = await sleeperInNewPidNamespace();
    try {
      expect(namespacePids(sleeper.hostPid)).toEqual([sleeper.hostPid, 1]);
      expect(innermostPid(sleeper.hostPid)).toBe(1);
      expect(pidNamespaceId(sleeper.hostPid)).not.toBe(pidNamespaceId('self'));
      expect(listPidNamespace(sleeper.hostPid)).toEqual([{ hostPid: sleeper.hostPid, pid: 1, command: 'sleep' }]);
      expect(toHostPid(1, sleeper.hostPid)).toBe(sleeper.hostPid);
      expect(toHostPid(2, sleeper.hostPid)).toBeUndefined();
    } finally {
      sleeper.stop();
    }
  });
});
