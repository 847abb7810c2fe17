// The feature contract from the sandbox's side: a feature written only here (not in the
// list) composes with the real ones by being added to the list, and nothing else.
import { readFileSync } from 'node:fs';
import { IsoError, defineFeature, invalidOptions, isIsoError } from '@iso/core';
import { guardNoLeaks } from '@iso/test-kit';
import { describe, expect, it } from 'vitest';
import { FEATURES, SandboxProcess, planSandbox, planWithFeatures, run } from '../src/index.js';
import type { SandboxOptions } from '../src/index.js';

interface MarkerOptions {
  text: string;
  failToStart?: boolean;
}

/** Writes its text to stderr in the session stage, and reports the runner's pid from a live session. */
const markerFeature = defineFeature<'marker', MarkerOptions, MarkerOptions, { text: string; pid: number | undefined; stopped: boolean }>({
  key: 'marker',
  summary: 'a test feature',
  normalize: (option) => {
    if (option === undefined) return undefined;
    if (typeof option !== 'object' || typeof (option as { text?: unknown }).text !== 'string') throw invalidOptions('marker.text', 'expected a string');
    return { ...option };
  },
  facts: () => ({ requests: [{ namespace: 'pid', by: 'marker', required: false }] }),
  plan: (settings, context) => ({
    steps: {
      session: [
        {
          op: 'syscall',
          name: 'marker.write',
          syscall: 'write',
          args: [
            { kind: 'immediate', value: 2 },
            { kind: 'string', value: `${settings.text} ${context.namespaces.has('pid') ? 'with' : 'without'} pid\n` },
            { kind: 'immediate', value: Buffer.byteLength(`${settings.text} ${context.namespaces.has('pid') ? 'with' : 'without'} pid\n`) },
          ],
        },
      ],
    },
  }),
  probe: () => ({ supported: true, reasons: [] }),
  start: (settings, live) => {
    if (settings.failToStart) throw new IsoError('ISO_SETUP_FAILED', 'marker: could not start', { phase: 'parent' });
    let stopped = false;
    live.emit('marker', settings.text);
    return {
      stop: () => {
        stopped = true;
      },
      result: () => ({ text: settings.text, pid: live.pid, stopped }),
    };
  },
});

const withMarker = [...FEATURES, markerFeature] as const;

function spawnWith(options: Record<string, unknown>): SandboxProcess {
  const plan = planWithFeatures(withMarker, 'true', [], options);
  return new SandboxProcess(plan, options, 'ignore');
}

describe('a feature outside the list, added to it', () => {
  guardNoLeaks();

  it('is refused by the sandbox as it ships, and composed once it is in the list', async () => {
    expect(() => planSandbox('true', [], { marker: { text: 'x' } } as SandboxOptions)).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'marker' }));
    const events: unknown[] = [];
    const handle = spawnWith({ marker: { text: 'hello' }, pid: true });
    handle.on('marker', (text) => events.push(text));
    const result = (await handle) as Awaited<SandboxProcess> & { marker?: { text: string; pid: number | undefined; stopped: boolean } };
    expect(result.exitCode).toBe(0);
    // Its step ran in the target (after the PID fork), it saw the pid fact, its session reported.
    expect(result.stderr).toBe('hello with pid\n');
    expect(result.marker).toEqual({ text: 'hello', pid: handle.pid, stopped: true });
    expect(events).toEqual(['hello']);
    // The real features are still there: the target ran under the default seccomp profile.
    expect(result.seccomp).toEqual({ killed: false, notifications: 0, violations: [] });
  });

  it('checks its option before anything exists, like every feature', () => {
    expect(() => spawnWith({ marker: { text: 5 } })).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'marker.text' }));
  });

  it('a session that cannot start ends the sandbox: ready rejects with its error, the runner is killed', async () => {
    const handle = spawnWith({ marker: { text: 'x', failToStart: true } });
    const failure = await handle.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isIsoError(failure)).toBe(true);
    expect(failure).toMatchObject({ isoCode: 'ISO_SETUP_FAILED', message: 'marker: could not start' });
  });

  it('a feature may not take a key the sandbox uses itself', () => {
    const session = () => ({ stop: () => undefined, result: () => 1 });
    for (const key of ['signal', 'env', 'stdout', 'exitCode']) {
      const clash = defineFeature<string, boolean, true, number>({ key, summary: 'clash', normalize: () => undefined, plan: () => ({ steps: {} }), probe: () => ({ supported: true, reasons: [] }), start: session });
      expect(() => planWithFeatures([...FEATURES, clash], 'true')).toThrow(`a feature has the key ${key}, which the sandbox uses itself`);
    }
  });

  it('a required need nobody meets is refused, naming who needs it', () => {
    const needy = defineFeature<'needy', boolean, true>({
      key: 'needy',
      summary: 'needs a network namespace',
      normalize: (option) => (option ? true : undefined),
      facts: () => ({ requests: [{ namespace: 'net', by: 'needy', required: true }] }),
      plan: () => ({ steps: {} }),
      probe: () => ({ supported: true, reasons: [] }),
    });
    expect(() => planWithFeatures([...FEATURES, needy], 'true', [], { needy: true })).toThrow(
      expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'needy', message: 'invalid option needy: needs a network namespace, which no option here creates' }),
    );
  });
});

describe('time in the sandbox', () => {
  guardNoLeaks();

  it('shifts the boot-time clock with a PID namespace, whose fork serves both', async () => {
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const r = await run('sh', ['-c', "cut -d' ' -f1 /proc/uptime; echo $$"], { pid: true, time: { boottime: 86400 } });
    const [inside, pid] = r.stdout.trim().split('\n');
    expect(Number(inside)).toBeGreaterThanOrEqual(uptime + 86400);
    expect(pid).toBe('2');
    // One fork for the PID namespace, none of its own.
    expect(planSandbox('true', [], { pid: true, time: { boottime: 1 } }).program.steps.filter((s) => s.op === 'fork' && !s.helper).map((s) => s.name)).toEqual(['pid.fork', 'pid.init']);
    expect(planSandbox('true', [], { preset: 'none', time: { boottime: 1 } }).program.steps.filter((s) => s.op === 'fork' && !s.helper).map((s) => s.name)).toEqual(['time.fork']);
  });

  it('refuses a bad offset before anything is created', () => {
    expect(() => planSandbox('true', [], { time: { boottime: Number.NaN } })).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'time.boottime' }));
  });
});
