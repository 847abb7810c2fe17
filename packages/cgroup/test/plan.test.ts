// Pure tests: options, limits and the plan, without creating a cgroup.
import { tmpdir } from 'node:os';
import { buildProgram, explainProgram, orderSteps, validateProgram } from '@iso/core';
import type { ParentHook } from '@iso/core';
import { featureContext } from '@iso/test-kit';
import { describe, expect, it } from 'vitest';
import { cgroupFeature, cgroupPlan, normalizeCgroupOptions, normalizeLimits, parseByteSize, parseCpuList } from '../src/index.js';
import type { CgroupLayout } from '../src/index.js';

/** A layout whose hierarchies are a directory anyone may write, so normalize's privilege check passes. */
const fakeLayout = (mode: 'unified' | 'hybrid'): CgroupLayout => ({
  mode,
  hierarchies:
    mode === 'unified'
      ? [{ version: 2, id: 0, controllers: ['memory', 'cpu', 'pids', 'io', 'cpuset'], mount: tmpdir(), root: '/', own: '/' }]
      : [{ version: 1, id: 4, controllers: ['memory'], mount: tmpdir(), root: '/', own: '/' }],
  unified: undefined,
});
const facts = { parentCpuset: () => ({ cpus: '0-3', mems: '0' }) };
const host = { uid: 1000 };
const hook: ParentHook = { name: 'cgroup.attach', run: () => undefined };

describe('@iso/cgroup options', () => {
  it('is off unless asked for; true means a cgroup namespace and no limits', () => {
    expect(normalizeCgroupOptions(undefined, host, () => fakeLayout('unified'))).toBeUndefined();
    expect(normalizeCgroupOptions(false, host, () => fakeLayout('unified'))).toBeUndefined();
    expect(normalizeCgroupOptions(true, host, () => fakeLayout('unified'))).toEqual({ limits: {}, parent: undefined, callerLeaf: undefined, namespace: true });
  });

  it('reads sizes with binary units and max', () => {
    expect(parseByteSize(4096, 'x')).toBe(4096);
    expect(parseByteSize('512K', 'x')).toBe(512 * 1024);
    expect(parseByteSize('64M', 'x')).toBe(64 * 1024 ** 2);
    expect(parseByteSize('64MiB', 'x')).toBe(64 * 1024 ** 2);
    expect(parseByteSize('1.5G', 'x')).toBe(1.5 * 1024 ** 3);
    expect(parseByteSize('100B', 'x')).toBe(100);
    expect(parseByteSize('max', 'x')).toBe('max');
    expect(parseCpuList('0-2,5', 'x')).toEqual(new Set([0, 1, 2, 5]));
  });

  it('resolves every limit to what the kernel files take', () => {
    expect(
      normalizeLimits({ memory: { max: '1G', high: '768M', swap: 0 }, cpu: { cpus: 0.5, weight: 200 }, pids: { max: 32 }, cpuset: { cpus: '3,1', mems: '0' } }, 'cgroup', facts),
    ).toEqual({
      memory: { max: 1024 ** 3, high: 768 * 1024 ** 2, swap: 0 },
      cpu: { quota: 50_000, period: 100_000, weight: 200 },
      pids: { max: 32 },
      cpuset: { cpus: '1,3', mems: '0' },
    });
    expect(normalizeLimits({ cpu: { cpus: 2, period: 50_000 } }, 'cgroup', facts).cpu).toEqual({ quota: 100_000, period: 50_000 });
    expect(normalizeLimits({ pids: { max: 'max' } }, 'cgroup', facts).pids).toEqual({ max: 'max' });
  });

  it('refuses bad input with ISO_INVALID_OPTIONS naming the option', () => {
    const table: [unknown, string][] = [
      ['yes', 'cgroup'],
      [{ other: 1 }, 'cgroup.other'],
      [{ namespace: 'yes' }, 'cgroup.namespace'],
      [{ parent: 'x' }, 'cgroup.parent'],
      [{ callerLeaf: 'a/b' }, 'cgroup.callerLeaf'],
      [{ parent: '/a', callerLeaf: 'node' }, 'cgroup.callerLeaf'],
      [{ memory: { max: -1 } }, 'cgroup.memory.max'],
      [{ memory: { max: '1X' } }, 'cgroup.memory.max'],
      [{ memory: { max: NaN } }, 'cgroup.memory.max'],
      [{ memory: 5 }, 'cgroup.memory'],
      [{ cpu: { cpus: 0 } }, 'cgroup.cpu.cpus'],
      [{ cpu: { cpus: Infinity } }, 'cgroup.cpu.cpus'],
      [{ cpu: { period: 2_000_000 } }, 'cgroup.cpu.period'],
      [{ cpu: { weight: 10_001 } }, 'cgroup.cpu.weight'],
      [{ pids: { max: 1.5 } }, 'cgroup.pids.max'],
      [{ io: [{ device: 'sda' }] }, 'cgroup.io[0].device'],
      [{ io: [{ device: '999:999', readBps: '1M' }] }, 'cgroup.io[0].device'],
      [{ cpuset: { cpus: '7' } }, 'cgroup.cpuset.cpus'],
      [{ cpuset: { mems: '1' } }, 'cgroup.cpuset.mems'],
      [{ cpuset: { cpus: 'a-b' } }, 'cgroup.cpuset.cpus'],
    ];
    const layout = (): CgroupLayout => ({ ...fakeLayout('unified') });
    for (const [option, path] of table) {
      const check = () => {
        // The cpuset cases read the parent's cpuset: here, the fake facts.
        if (typeof option === 'object' && option !== null && 'cpuset' in option) normalizeLimits({ cpuset: (option).cpuset }, 'cgroup', facts);
        else normalizeCgroupOptions(option as never, host, layout);
      };
      expect(check, JSON.stringify(option)).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path }));
    }
    expect(() => normalizeCgroupOptions({ callerLeaf: 'node' }, host, () => fakeLayout('hybrid'))).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'cgroup.callerLeaf' }));
  });
});

describe('@iso/cgroup plan', () => {
  it('attaches at a sync point in prepare, then unshares a cgroup namespace', () => {
    const settings = normalizeCgroupOptions({ pids: { max: 8 } }, host, () => fakeLayout('unified'))!;
    const plan = cgroupPlan(settings, hook);
    expect(plan.prepare).toEqual([{ op: 'sync', name: 'cgroup.attach', hook }]);
    expect(plan.namespaces).toEqual([expect.objectContaining({ op: 'syscall', name: 'cgroup.unshare', syscall: 'unshare' })]);
    expect(cgroupPlan({ ...settings, namespace: false }, hook).namespaces).toBeUndefined();
    const program = buildProgram(orderSteps([plan]), 'x86_64');
    expect(validateProgram(program.bytes)).toEqual({ ok: true });
    expect(explainProgram(program)).toMatch(/cgroup\.unshare\s+unshare\(CLONE_NEWCGROUP\)/);
  });

  it('the feature turns the user namespace on through its facts, only with a namespace', () => {
    const context = featureContext();
    expect(cgroupFeature.key).toBe('cgroup');
    const settings = normalizeCgroupOptions({ namespace: false }, host, () => fakeLayout('unified'))!;
    expect(cgroupFeature.facts?.(settings, context)).toEqual({});
    expect(cgroupFeature.facts?.({ ...settings, namespace: true }, context)).toEqual({ namespaces: ['cgroup'] });
    expect(cgroupFeature.plan(settings, context).steps.prepare?.[0]).toMatchObject({ op: 'sync', name: 'cgroup.attach' });
    expect(typeof cgroupFeature.start).toBe('function');
  });
});

describe('bad input from plain JavaScript', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const sparse: unknown[] = [];
  sparse[2] = 'x';
  const WEIRD: readonly unknown[] = [10n, Symbol('s'), () => 1, cyclic, sparse, [], {}, null, Number.NaN, -1, 2 ** 53, '', '\0', 'x'.repeat(5000), 1.5, true, Number.POSITIVE_INFINITY, new Date(0), Object.create(null)];
  const FIELDS = ['parent', 'callerLeaf', 'namespace', 'memory', 'cpu', 'pids', 'io', 'cpuset'];
  const NESTED = ['memory.max', 'memory.high', 'memory.swap', 'cpu.cpus', 'cpu.period', 'cpu.weight', 'pids.max', 'cpuset.cpus', 'cpuset.mems'];

  it('every field and nested field gets a typed error or is accepted', () => {
    const untyped: string[] = [];
    const outcome = (option: unknown): string => {
      try {
        normalizeCgroupOptions(option as never, host, () => fakeLayout('unified'));
        return 'accepted';
      } catch (error) {
        return (error as { isoCode?: string }).isoCode ?? `${(error as Error).name}: ${(error as Error).message}`;
      }
    };
    for (const value of WEIRD) {
      const cases: unknown[] = [value, ...FIELDS.map((field) => ({ [field]: value })), ...NESTED.map((path) => {
        const [outer = '', inner = ''] = path.split('.');
        return { [outer]: { [inner]: value } };
      }), { io: [value] }, { io: [{ device: value, readBps: 1 }] }];
      for (const option of cases) {
        const result = outcome(option);
        if (!['accepted', 'ISO_INVALID_OPTIONS'].includes(result)) untyped.push(`${typeof value}: ${result}`);
      }
    }
    expect(untyped).toEqual([]);
  });
});
