import { buildProgram, explainProgram, orderSteps, validateProgram } from '@iso/core';
import { featureContext } from '@iso/test-kit';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { RLIM_INFINITY, normalizeRlimitsOptions, probeRlimits, readRlimits, rlimitsFeature, rlimitsPlan } from '../src/index.js';
import type { RlimitName } from '../src/index.js';

const INF = RLIM_INFINITY;
/** A caller whose hard limits are all unlimited, but nofile 4096 and nproc 2000. */
const own = Object.fromEntries(
  ['cpu', 'fsize', 'data', 'stack', 'core', 'rss', 'nproc', 'nofile', 'memlock', 'as', 'locks', 'sigpending', 'msgqueue', 'nice', 'rtprio', 'rttime'].map((name) => [
    name,
    name === 'nofile' ? { soft: 1024n, hard: 4096n } : name === 'nproc' ? { soft: 2000n, hard: 2000n } : { soft: INF, hard: INF },
  ]),
) as Record<RlimitName, { soft: bigint; hard: bigint }>;

const byName = (option: unknown) => Object.fromEntries((normalizeRlimitsOptions(option as never, own)?.limits ?? []).map((l) => [l.name, [l.soft, l.hard]]));

describe('@iso/rlimits options and plan', () => {
  it('is off unless asked for; true gives the strict defaults', () => {
    expect(normalizeRlimitsOptions(undefined, own)).toBeUndefined();
    expect(normalizeRlimitsOptions(false, own)).toBeUndefined();
    expect(byName(true)).toEqual({ core: [0n, 0n], fsize: [2n ** 30n, 2n ** 30n], nofile: [1024n, 1024n], nproc: [1024n, 1024n] });
  });

  it('sets names over the defaults: numbers, sizes, unlimited, soft and hard, inherit', () => {
    expect(byName({ nofile: { soft: 256, hard: 4096 }, fsize: '64m', core: 'inherit', cpu: 10, stack: 'unlimited' })).toEqual({
      cpu: [10n, 10n],
      fsize: [64n * 1024n * 1024n, 64n * 1024n * 1024n],
      stack: [INF, INF],
      nofile: [256n, 4096n],
      nproc: [1024n, 1024n],
    });
  });

  it('never raises a limit: the defaults take the caller’s lower ones, and a given one above it is refused', () => {
    const low = { ...own, nproc: { soft: 100n, hard: 100n } };
    expect(normalizeRlimitsOptions(true, low)?.limits.find((l) => l.name === 'nproc')).toMatchObject({ soft: 100n, hard: 100n });
    expect(() => normalizeRlimitsOptions({ nofile: 8192 }, own)).toThrow(
      expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'rlimits.nofile', message: expect.stringContaining('above this process\'s own (4096); a sandbox can only lower limits') }),
    );
  });

  it('refuses bad input with ISO_INVALID_OPTIONS naming the limit', () => {
    for (const [option, path] of [
      ['yes', 'rlimits'],
      [[], 'rlimits'],
      [{ files: 10 }, 'rlimits.files'],
      [{ NOFILE: 10 }, 'rlimits.NOFILE'],
      [{ nofile: -1 }, 'rlimits.nofile'],
      [{ nofile: 1.5 }, 'rlimits.nofile'],
      [{ nofile: '10m' }, 'rlimits.nofile'],
      [{ fsize: '10q' }, 'rlimits.fsize'],
      [{ fsize: 10n }, 'rlimits.fsize'],
      [{ nice: 41 }, 'rlimits.nice'],
      [{ rtprio: 100 }, 'rlimits.rtprio'],
      [{ nofile: { soft: 10 } }, 'rlimits.nofile.hard'],
      [{ nofile: { soft: 10, hard: 5 } }, 'rlimits.nofile'],
      [{ nofile: { soft: 1, hard: 2, max: 3 } }, 'rlimits.nofile.max'],
      [{ nofile: null }, 'rlimits.nofile'],
    ] as const)
      expect(() => normalizeRlimitsOptions(option as never, own), inspect(option)).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path }));
  });

  it('plans one prlimit64 per limit in stage session, shown by name in explain()', () => {
    const settings = normalizeRlimitsOptions({ nofile: { soft: 256, hard: 512 } }, own)!;
    const steps = rlimitsPlan(settings);
    expect(Object.keys(steps)).toEqual(['session']);
    const program = buildProgram(orderSteps([steps]), 'x86_64');
    expect(validateProgram(program.bytes)).toEqual({ ok: true });
    const text = explainProgram(program);
    expect(text).toContain('prlimit64(0, RLIMIT_NOFILE, { soft: 256, hard: 512 }, NULL)');
    expect(text).toContain('prlimit64(0, RLIMIT_CORE, { soft: 0, hard: 0 }, NULL)');
    expect(rlimitsPlan({ limits: [] })).toEqual({});
  });

  it('the feature object wires it up; the probe and readRlimits report this process', () => {
    const context = featureContext();
    const settings = rlimitsFeature.normalize(true, context)!;
    expect(rlimitsFeature.key).toBe('rlimits');
    expect(rlimitsFeature.plan(settings, context).steps).toEqual(rlimitsPlan(settings));
    const mine = readRlimits();
    expect(mine.nofile.hard).toBeGreaterThanOrEqual(mine.nofile.soft);
    expect(probeRlimits()).toMatchObject({ supported: true, reasons: [], own: mine });
  });
});
