import { buildProgram, explainProgram, orderSteps, validateProgram } from '@iso/core';
import { featureContext } from '@iso/test-kit';
import { describe, expect, it } from 'vitest';
import { MAX_CLOCK_SECONDS, formatTimeOffsets, normalizeTimeOptions, probeTime, timeFeature, timePlan } from '../src/index.js';
import type { TimeSettings } from '../src/index.js';

const host = { kernel: [6, 18] as const, kernelRelease: '6.18.0' };
/** Both clocks read 1000 s here. */
const now = () => 1000n * 1_000_000_000n;
/** The caller is in the initial time namespace. */
const initial = { monotonic: 0n, boottime: 0n };
const zero = { seconds: 0n, nanoseconds: 0 };

describe('@iso/time options', () => {
  it('is off unless asked for; true is a namespace with the host clocks', () => {
    expect(normalizeTimeOptions(undefined, host, now, initial)).toBeUndefined();
    expect(normalizeTimeOptions(false, host, now, initial)).toBeUndefined();
    expect(normalizeTimeOptions(true, host, now, initial)).toEqual({ monotonic: zero, boottime: zero });
  });

  it('splits seconds into whole seconds and nanoseconds, the sign in the seconds', () => {
    expect(normalizeTimeOptions({ monotonic: 86400, boottime: 1.5 }, host, now, initial)).toEqual({
      monotonic: { seconds: 86400n, nanoseconds: 0 },
      boottime: { seconds: 1n, nanoseconds: 500_000_000 },
    });
    expect(normalizeTimeOptions({ boottime: -0.25 }, host, now, initial)?.boottime).toEqual({ seconds: -1n, nanoseconds: 750_000_000 });
    expect(normalizeTimeOptions({ monotonic: -999 }, host, now, initial)?.monotonic).toEqual({ seconds: -999n, nanoseconds: 0 });
  });

  it('refuses bad offsets before anything is created', () => {
    for (const [option, path] of [
      [{ monotonic: '1' }, 'time.monotonic'],
      [{ monotonic: Number.NaN }, 'time.monotonic'],
      [{ boottime: Number.POSITIVE_INFINITY }, 'time.boottime'],
      [{ boottime: 10n }, 'time.boottime'],
      [{ monotonic: MAX_CLOCK_SECONDS + 1 }, 'time.monotonic'],
      [{ monotonic: MAX_CLOCK_SECONDS }, 'time.monotonic'], // 1000 s of uptime on top: past the limit
      [{ boottime: -1001 }, 'time.boottime'], // below 0
      [{ realtime: 5 }, 'time.realtime'],
      ['yes', 'time'],
      [[], 'time'],
    ] as const)
      expect(() => normalizeTimeOptions(option as never, host, now, initial), String(Object.keys(option))).toThrow(
        expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path }),
      );
    expect(normalizeTimeOptions({ boottime: -1000 }, host, now, initial)?.boottime).toEqual({ seconds: -1000n, nanoseconds: 0 });
  });

  it("adds the caller's own offsets, which the kernel would otherwise ignore: inside reads the caller's clock plus the option", () => {
    // Node itself in a time namespace 100000 s ahead on boottime; its clocks read 1000 s.
    const ahead = { monotonic: 0n, boottime: 100_000n * 1_000_000_000n };
    expect(normalizeTimeOptions({ boottime: 60 }, host, now, ahead)?.boottime).toEqual({ seconds: 100_060n, nanoseconds: 0 });
    expect(normalizeTimeOptions(true, host, now, ahead)).toEqual({ monotonic: zero, boottime: { seconds: 100_000n, nanoseconds: 0 } });
    // Below 0 is judged on the caller's clock, as the option means it.
    expect(normalizeTimeOptions({ boottime: -999 }, host, now, ahead)?.boottime).toEqual({ seconds: 99_001n, nanoseconds: 0 });
    expect(() => normalizeTimeOptions({ boottime: -1001 }, host, now, ahead)).toThrow(expect.objectContaining({ path: 'time.boottime' }));
  });

  it('says ISO_UNSUPPORTED_KERNEL before Linux 5.6', () => {
    expect(() => normalizeTimeOptions(true, { kernel: [5, 4], kernelRelease: '5.4.0' }, now, initial)).toThrow(
      expect.objectContaining({ isoCode: 'ISO_UNSUPPORTED_KERNEL', path: 'time', message: expect.stringContaining('Linux 5.6+') }),
    );
    expect(normalizeTimeOptions(false, { kernel: [5, 4], kernelRelease: '5.4.0' }, now, initial)).toBeUndefined();
  });
});

describe('@iso/time plan', () => {
  const shifted: TimeSettings = { monotonic: { seconds: 3600n, nanoseconds: 0 }, boottime: { seconds: -1n, nanoseconds: 750_000_000 } };

  it('writes the offsets right after the unshare, one line per clock that moves', () => {
    expect(formatTimeOffsets(shifted)).toBe('monotonic 3600 0\nboottime -1 750000000\n');
    expect(formatTimeOffsets({ monotonic: zero, boottime: zero })).toBe('');
    const plan = timePlan(shifted, true);
    // Opened before the user namespace, with the caller's credentials (see timePlan).
    expect(plan.prepare?.map((s) => s.name)).toEqual(['time.offsets.open']);
    expect(plan.namespaces?.map((s) => s.name)).toEqual(['time.unshare', 'time.offsets.write', 'time.offsets.close']);
    expect(plan.pidFork).toBeUndefined();
    expect(timePlan({ monotonic: zero, boottime: zero }, true)).toEqual({ namespaces: [expect.objectContaining({ name: 'time.unshare' })] });
  });

  it('forks once itself when no PID namespace forks, so the target is in the namespace', () => {
    expect(timePlan(shifted, false).pidFork?.map((s) => s.name)).toEqual(['time.fork', 'time.dieWithSupervisor']);
    const program = buildProgram(orderSteps([timePlan(shifted, false)]), 'x86_64');
    expect(validateProgram(program.bytes)).toEqual({ ok: true });
    expect(explainProgram(program)).toContain('write($time.offsets.fd, "monotonic 3600 0\\nboottime -1 750000000\\n", 39)');
  });
});

describe('timeFeature', () => {
  it('is a namespace, and reads from the context whether a PID namespace forks', () => {
    const context = featureContext();
    expect(timeFeature.normalize(undefined, context)).toBeUndefined();
    const settings = timeFeature.normalize({ monotonic: 60 }, context)!;
    expect(timeFeature.facts!(settings, context)).toEqual({ namespaces: ['time'] });
    expect(timeFeature.plan(settings, featureContext({ namespaces: new Set(['time']) })).steps.pidFork).toBeDefined();
    expect(timeFeature.plan(settings, featureContext({ namespaces: new Set(['time', 'pid']) })).steps.pidFork).toBeUndefined();
    expect(() => timeFeature.normalize(true, featureContext({ host: { kernel: [5, 5], kernelRelease: '5.5.0' } }))).toThrow(
      expect.objectContaining({ isoCode: 'ISO_UNSUPPORTED_KERNEL' }),
    );
  });

  it('probes in the common shape', () => {
    expect(probeTime()).toMatchObject({ supported: true, reasons: [] });
    expect(probeTime().namespaceId).toBeGreaterThan(0);
  });
});
