// seccompFeature's live part for real: a program composed as the sandbox composes it,
// whose filter sends chosen calls to Node; the session serves them, emits the events and
// counts them in the result, and stop() releases everything.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IsoError, currentHost, launch } from '@iso/core';
import { capsFeature } from '@iso/caps';
import type { FeatureSession } from '@iso/core';
import { composeProgram, featureContext, guardNoLeaks, runProgram } from '@iso/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seccompFeature } from '../src/feature.js';
import type { SeccompNotification, SeccompNotifyEvent, SeccompOption, SeccompResult } from '../src/options.js';

interface Emitted {
  name: string;
  event: SeccompNotifyEvent;
}

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  emitted: Emitted[];
  result: SeccompResult;
}

/**
 * Runs `sh -c script` under `option` with the session the sandbox would start: launch with
 * the return channel, start() right after, stop() when the runner exits. test-kit's
 * runProgram cannot be used here, as it keeps the return socket to itself.
 */
async function runSupervised(option: SeccompOption, script: string, onSession?: (session: FeatureSession<SeccompResult>) => void): Promise<Outcome> {
  const program = composeProgram([capsFeature, seccompFeature], { seccomp: option }, { file: '/bin/sh', args: ['-c', script] });
  const context = featureContext({ noNewPrivs: true, host: currentHost() });
  const settings = seccompFeature.normalize(option, context);
  if (!settings || !seccompFeature.start) throw new Error('seccomp is off');
  const { returnChannel = false } = seccompFeature.plan(settings, context);
  const { child, ready, returnSocket } = launch(program, { stdio: ['ignore', 'pipe', 'pipe'], returnChannel });
  const emitted: Emitted[] = [];
  const session = seccompFeature.start(settings, {
    option,
    pid: child.pid,
    returnSocket,
    emit: (name, event) => emitted.push({ name, event: event as SeccompNotifyEvent }),
  });
  onSession?.(session);
  child.once('exit', () => {
    session.stop();
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('close', (code, signal) => { resolve([code, signal]); }));
  await ready;
  const [code, signal] = await closed;
  return { code, signal, stdout, stderr, emitted, result: session.result({ exitCode: code, signal }) };
}

const names = (emitted: readonly Emitted[]) => emitted.map((e) => `${e.name}:${e.event.syscall}:${e.event.decision.kind}`);

describe('seccompFeature.start with a real listener', () => {
  guardNoLeaks();
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'iso-seccomp-notify-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("hands the notify set to onNotify, emits 'seccomp' and 'violation', and counts them in the result", async () => {
    const seen: { syscall: string; path: string; pid: number }[] = [];
    const onNotify = (call: SeccompNotification) => {
      const path = call.readString(call.syscall === 'mkdirat' ? 1 : 0);
      seen.push({ syscall: call.syscall, path, pid: call.pid });
      return path.endsWith('denied') ? { deny: 'EACCES' } : ('continue' as const);
    };
    const allowed = join(dir, 'allowed');
    const denied = join(dir, 'denied');
    const r = await runSupervised(
      { profile: 'default', notify: ['mkdir', 'mkdirat'], onNotify },
      `mkdir ${allowed} && echo made; mkdir ${denied}; echo "status $?"`,
    );
    expect(r.stdout).toBe('made\nstatus 1\n');
    expect(r.stderr).toMatch(/Permission denied/);
    expect(existsSync(allowed)).toBe(true);
    expect(existsSync(denied)).toBe(false);
    expect(seen.map((s) => s.path)).toEqual([allowed, denied]);
    expect(seen.every((s) => /^mkdir(at)?$/.test(s.syscall) && s.pid > 0)).toBe(true);
    expect(names(r.emitted).map((name) => name.replace(/:mkdirat:|:mkdir:/, ':'))).toEqual(['seccomp:continue', 'seccomp:deny', 'violation:deny']);
    const violation = r.emitted.find((e) => e.name === 'violation')?.event;
    expect(violation).toMatchObject({ violation: true, delivered: true, decision: { kind: 'deny', errno: 13, errnoCode: 'EACCES' } });
    expect(r.result).toEqual({ killed: false, notifications: 2, violations: [violation] });
  });

  it('denies with EPERM when the handler throws or answers nonsense, and the event says why', async () => {
    let calls = 0;
    const onNotify = () => {
      calls++;
      if (calls === 1) throw new Error('handler bug');
      if (calls === 2) return 'yes' as unknown as 'deny';
      // A `then` that throws when read, from a careless thenable.
      return Object.defineProperty({}, 'then', { get: () => { throw new Error('then getter'); } }) as 'deny';
    };
    const r = await runSupervised({ defaultAction: 'allow', rules: [{ names: ['mkdir', 'mkdirat'], action: 'notify' }], onNotify }, `mkdir ${dir}/a; mkdir ${dir}/b; mkdir ${dir}/c; echo done`);
    expect(r.stdout).toBe('done\n');
    expect(r.stderr.match(/Operation not permitted/g)).toHaveLength(3);
    expect(r.result.notifications).toBe(3);
    expect(r.result.violations.map((v) => v.decision)).toEqual(Array.from({ length: 3 }, () => ({ kind: 'deny', errno: 1, errnoCode: 'EPERM' })));
    expect((r.result.violations[2]?.handlerError as Error).message).toBe('then getter');
    expect((r.result.violations[0]?.handlerError as Error).message).toBe('handler bug');
    expect(r.result.violations[1]?.handlerError).toBeInstanceOf(IsoError);
    expect(r.result.violations[1]?.handlerError).toMatchObject({ code: 'ISO_INVALID_OPTIONS', path: 'decision' });
  });

  it('stop() closes the listener: a call still waiting for the handler fails with ENOSYS', async () => {
    let stop: () => void = () => undefined;
    // A handler that never answers; stop() is what frees the caller.
    const onNotify = () => {
      setTimeout(stop, 50);
      return new Promise<'deny'>(() => undefined);
    };
    const r = await runSupervised({ profile: 'default', notify: ['mkdir', 'mkdirat'], onNotify }, `mkdir ${dir}/waiting; echo "status $?"`, (session) => {
      stop = () => {
        session.stop();
      };
    });
    expect(r.stdout).toBe('status 1\n');
    expect(r.stderr).toMatch(/Function not implemented/);
    expect(existsSync(join(dir, 'waiting'))).toBe(false);
    expect(r.result).toEqual({ killed: false, notifications: 0, violations: [] });
  });

  it('reports a target its filter killed: result.killed', async () => {
    const option: SeccompOption = { defaultAction: 'allow', rules: [{ names: ['uname'], action: 'kill-process' }] };
    const program = composeProgram([capsFeature, seccompFeature], { seccomp: option }, { file: '/bin/sh', args: ['-c', 'exec uname'] });
    const settings = seccompFeature.normalize(option, featureContext({ noNewPrivs: true, host: currentHost() }));
    if (!settings) throw new Error('seccomp is off');
    const outcome = await runProgram(program);
    const session = seccompFeature.start?.(settings, { option, pid: outcome.pid, returnSocket: undefined, emit: () => undefined });
    session?.stop();
    expect(outcome.signal).toBe('SIGSYS');
    expect(session?.result({ exitCode: outcome.code, signal: outcome.signal })).toEqual({ killed: true, notifications: 0, violations: [] });
  });
});
