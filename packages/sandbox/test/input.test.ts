// Bad input from plain JavaScript: every option of every feature, given values a typed
// caller could never pass, gets an IsoError (or is accepted), and nothing is spawned.
import { isIsoError } from '@iso/core';
import { describe, expect, it } from 'vitest';
import { RLIMIT_NAMES } from '@iso/rlimits';
import { FEATURES, planSandbox } from '../src/index.js';

const cyclic: Record<string, unknown> = {};
cyclic.self = cyclic;
const sparse: unknown[] = [];
sparse[2] = 'x';
const WEIRD: readonly unknown[] = [10n, Symbol('s'), () => 1, cyclic, sparse, [], {}, null, Number.NaN, -1, 2 ** 53, '', '\0', 'x'.repeat(5000), 1.5, true, Number.POSITIVE_INFINITY, new Date(0), Object.create(null)];

/** Each feature's option fields, from its options.ts. */
const FIELDS: Readonly<Record<(typeof FEATURES)[number]['key'], readonly string[]>> = {
  pid: ['asPid1', 'mountProc'],
  uts: ['hostname', 'domainname'],
  ipc: ['mqueue', 'mqueueMountPoint'],
  mount: ['propagation', 'root', 'entries', 'masks', 'recursiveReadonly'],
  time: ['monotonic', 'boottime'],
  userns: ['inside', 'hostIdsForRoot', 'dangerouslyMapHostRoot', 'ranges', 'user', 'group', 'supplementaryGroups', 'disableNested', 'join'],
  caps: ['preset', 'add', 'drop', 'ambient', 'securebits', 'noNewPrivs'],
  seccomp: ['profile', 'notify', 'onNotify', 'docker', 'defaultAction', 'rules', 'log', 'specAllow', 'badArchAction', 'abis'],
  rlimits: [...RLIMIT_NAMES],
  cgroup: ['parent', 'callerLeaf', 'namespace', 'memory', 'cpu', 'pids', 'io', 'cpuset'],
  net: ['mode', 'publish', 'allowDomains'],
  landlock: ['fs', 'net', 'scope', 'bestEffort'],
};

const isRoot = process.getuid?.() === 0;

function outcome(options: Record<string, unknown>): string {
  try {
    planSandbox('true', [], options);
    return 'accepted';
  } catch (error) {
    if (isIsoError(error)) return error.isoCode;
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
}

const TYPED = new Set(['accepted', 'ISO_INVALID_OPTIONS', 'ISO_NEEDS_PRIVILEGE', 'ISO_UNSUPPORTED_KERNEL']);

describe('bad input from plain JavaScript gets a typed error', () => {
  it('covers every feature', () => {
    expect(Object.keys(FIELDS).sort()).toEqual(FEATURES.map((f) => f.key).sort());
  });

  it.each(FEATURES.map((f) => [f.key]))('%s: the key itself and each of its fields', (key) => {
    const untyped: string[] = [];
    for (const value of WEIRD) {
      const top = outcome({ [key]: value });
      if (!TYPED.has(top)) untyped.push(`${key}: ${typeof value} → ${top}`);
      for (const field of FIELDS[key]) {
        const nested = outcome({ [key]: { [field]: value } });
        if (!TYPED.has(nested)) untyped.push(`${key}.${field}: ${typeof value} → ${nested}`);
      }
    }
    expect(untyped).toEqual([]);
  });

  it('the process options too', () => {
    const untyped: string[] = [];
    for (const key of ['cwd', 'env', 'inheritEnv', 'stdio', 'input', 'timeout', 'signal', 'killSignal', 'forceKillAfterDelay', 'newSession', 'maxBuffer', 'onMaxBuffer', 'buffer', 'encoding', 'all'])
      for (const value of WEIRD) {
        const result = outcome({ [key]: value });
        if (!TYPED.has(result)) untyped.push(`${key}: ${typeof value} → ${result}`);
      }
    expect(untyped).toEqual([]);
    for (const options of [null, 5, 'x', [], 10n]) expect(outcome(options as never)).toBe('ISO_INVALID_OPTIONS');
  });

  it('a few that must be refused, not accepted', () => {
    expect(outcome({ pid: { asPid1: 1 } })).toBe('ISO_INVALID_OPTIONS');
    expect(outcome({ time: { boottime: 10n } })).toBe('ISO_INVALID_OPTIONS');
    expect(outcome({ userns: { user: 1.5 } })).toBe('ISO_INVALID_OPTIONS');
    expect(outcome({ uts: { hostname: '\0' } })).toBe('ISO_INVALID_OPTIONS');
    expect(outcome({ caps: { add: [10n] } })).toBe('ISO_INVALID_OPTIONS');
    expect(outcome({ mount: { entries: sparse } })).toBe('ISO_INVALID_OPTIONS');
    expect(outcome({ seccomp: { notify: ['mkdir'], profile: 'default', onNotify: 5 } })).toBe('ISO_INVALID_OPTIONS');
    if (!isRoot) expect(outcome({ userns: { hostIdsForRoot: { uid: 100000, gid: 100000 } } })).toBe('ISO_INVALID_OPTIONS');
  });
});
