import { describeValue } from '@iso/core';
import { featureContext } from '@iso/test-kit';
import { describe, expect, it } from 'vitest';
import { ACCESS_FS, ACCESS_NET, SCOPE, accessBits, landlockFeature, normalizeLandlockOptions } from '../src/index.js';

const invalid = (path: string): Error => expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', code: 'ISO_INVALID_OPTIONS', path, phase: 'validate' }) as Error;
const N = (option: unknown, abi = 7) => normalizeLandlockOptions(option as never, abi);
const F = ACCESS_FS;

describe('@iso/landlock options', () => {
  it('is off unless the key is given; true is refused, {} scopes only', () => {
    expect(N(undefined)).toBeUndefined();
    expect(N(false)).toBeUndefined();
    expect(() => N(true)).toThrow(invalid('landlock'));
    expect(N({})).toEqual({
      abi: 7,
      rulesetAbi: 7,
      handledFs: 0,
      handledNet: 0,
      scoped: SCOPE.ABSTRACT_UNIX_SOCKET | SCOPE.SIGNAL,
      paths: [],
      ports: [],
      bestEffort: false,
      dropped: [],
    });
  });

  it('maps letters and names to the rights of each group', () => {
    expect(accessBits('r', 'x')).toBe(F.READ_FILE | F.READ_DIR);
    expect(accessBits('w', 'x')).toBe(F.WRITE_FILE | F.TRUNCATE | F.IOCTL_DEV);
    expect(accessBits('x', 'x')).toBe(F.EXECUTE);
    expect(accessBits('m', 'x')).toBe(F.MAKE_CHAR | F.MAKE_DIR | F.MAKE_REG | F.MAKE_SOCK | F.MAKE_FIFO | F.MAKE_BLOCK | F.MAKE_SYM | F.REFER);
    expect(accessBits('d', 'x')).toBe(F.REMOVE_DIR | F.REMOVE_FILE);
    expect(accessBits('rwxmd', 'x')).toBe(0xffff);
    expect(accessBits(['read', 'execute'], 'x')).toBe(accessBits('xr', 'x'));
  });

  it('fills path rules, ports and scopes, with every right handled when fs is given', () => {
    const settings = N({ fs: { '/usr': 'rx', '/tmp': ['read', 'write', 'make', 'remove'], '/opt/x': { access: 'r', optional: true } }, net: { connect: [443, 80, 443], bind: [8080, 80] }, scope: { signal: false } });
    expect(settings).toMatchObject({ handledFs: 0xffff, handledNet: ACCESS_NET.BIND_TCP | ACCESS_NET.CONNECT_TCP, scoped: SCOPE.ABSTRACT_UNIX_SOCKET, bestEffort: false });
    expect(settings?.paths).toEqual([
      { path: '/usr', access: F.READ_FILE | F.READ_DIR | F.EXECUTE, optional: false },
      { path: '/tmp', access: 0xffff & ~F.EXECUTE, optional: false },
      { path: '/opt/x', access: F.READ_FILE | F.READ_DIR, optional: true },
    ]);
    expect(settings?.ports).toEqual([
      { port: 80, access: ACCESS_NET.BIND_TCP | ACCESS_NET.CONNECT_TCP },
      { port: 443, access: ACCESS_NET.CONNECT_TCP },
      { port: 8080, access: ACCESS_NET.BIND_TCP },
    ]);
    expect(N({ fs: {}, scope: false })).toMatchObject({ handledFs: 0xffff, paths: [], scoped: 0 });
    expect(N({ net: {} })).toMatchObject({ handledFs: 0, handledNet: 3, ports: [] });
    expect(N({ net: { bind: [0] } })?.ports).toEqual([{ port: 0, access: ACCESS_NET.BIND_TCP }]);
  });

  it('refuses bad input with ISO_INVALID_OPTIONS naming the option path', () => {
    const cases: [unknown, string][] = [
      ['yes', 'landlock'],
      [1, 'landlock'],
      [null, 'landlock'],
      [[], 'landlock'],
      [{ files: {} }, 'landlock.files'],
      [{ bestEffort: 'yes' }, 'landlock.bestEffort'],
      [{ fs: [] }, 'landlock.fs'],
      [{ fs: 'rx' }, 'landlock.fs'],
      [{ fs: { usr: 'rx' } }, 'landlock.fs["usr"]'],
      [{ fs: { './tmp': 'rw' } }, 'landlock.fs["./tmp"]'],
      [{ fs: { '/tm\0p': 'rw' } }, 'landlock.fs["/tm\\u0000p"]'],
      [{ fs: { [`/${'a'.repeat(4095)}`]: 'r' } }, `landlock.fs["/${'a'.repeat(4095)}"]`],
      [{ fs: { '/usr': 'rq' } }, 'landlock.fs["/usr"]'],
      [{ fs: { '/usr': 'rr' } }, 'landlock.fs["/usr"]'],
      [{ fs: { '/usr': '' } }, 'landlock.fs["/usr"]'],
      [{ fs: { '/usr': [] } }, 'landlock.fs["/usr"]'],
      [{ fs: { '/usr': 7 } }, 'landlock.fs["/usr"]'],
      [{ fs: { '/usr': ['read', 'fly'] } }, 'landlock.fs["/usr"][1]'],
      [{ fs: { '/usr': ['READ'] } }, 'landlock.fs["/usr"][0]'],
      [{ fs: { '/usr': ['toString'] } }, 'landlock.fs["/usr"][0]'],
      [{ fs: { '/usr': { access: 'r', optional: 1 } } }, 'landlock.fs["/usr"].optional'],
      [{ fs: { '/usr': { access: 'r', maybe: true } } }, 'landlock.fs["/usr"].maybe'],
      [{ fs: { '/usr': { optional: true } } }, 'landlock.fs["/usr"].access'],
      [{ fs: { '/usr': null } }, 'landlock.fs["/usr"]'],
      [{ net: [443] }, 'landlock.net'],
      [{ net: { udp: [53] } }, 'landlock.net.udp'],
      [{ net: { connect: 443 } }, 'landlock.net.connect'],
      [{ net: { connect: [0] } }, 'landlock.net.connect[0]'],
      [{ net: { connect: [443, 65536] } }, 'landlock.net.connect[1]'],
      [{ net: { bind: [-1] } }, 'landlock.net.bind[0]'],
      [{ net: { bind: [80.5] } }, 'landlock.net.bind[0]'],
      [{ net: { bind: ['80'] } }, 'landlock.net.bind[0]'],
      [{ net: { bind: [80n] } }, 'landlock.net.bind[0]'],
      [{ net: { bind: [Number.NaN] } }, 'landlock.net.bind[0]'],
      [{ scope: 'all' }, 'landlock.scope'],
      [{ scope: { signals: true } }, 'landlock.scope.signals'],
      [{ scope: { signal: 1 } }, 'landlock.scope.signal'],
    ];
    for (const [option, path] of cases) expect(() => N(option), describeValue(option)).toThrow(invalid(path));
    expect(() => N({ fs: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`/p${i}`, 'r'])) })).toThrow(invalid('landlock.fs'));
    expect(() => N({ net: { bind: Array.from({ length: 257 }, (_, i) => i + 1) } })).toThrow(invalid('landlock.net'));
  });

  it('gives plain-JavaScript oddities a typed error at every field, never a crash', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const sparse: unknown[] = [];
    sparse[2] = 'x';
    const weird: unknown[] = [10n, Symbol('s'), () => 1, cyclic, sparse, [], {}, null, Number.NaN, -1, 2 ** 53, '', '\0', 'x'.repeat(5000), 1.5, true, Infinity, new Date(0), Object.create(null)];
    const untyped: string[] = [];
    const check = (option: unknown, what: string) => {
      try {
        N(option);
      } catch (error) {
        if ((error as { isoCode?: string }).isoCode !== 'ISO_INVALID_OPTIONS') untyped.push(`${what}: ${String(error)}`);
      }
    };
    for (const value of weird) {
      check(value, 'landlock');
      for (const field of ['fs', 'net', 'scope', 'bestEffort']) check({ [field]: value }, field);
      check({ fs: { '/usr': value } }, 'fs path');
      check({ fs: { '/usr': { access: value } } }, 'fs access');
      check({ fs: { '/usr': { access: 'r', optional: value } } }, 'fs optional');
      check({ fs: { '/usr': [value] } }, 'fs names');
      for (const field of ['bind', 'connect']) check({ net: { [field]: value } }, field);
      check({ net: { connect: [value] } }, 'port');
      check({ scope: { signal: value } }, 'scope.signal');
    }
    expect(untyped).toEqual([]);
  });

  it('the feature refuses a ruleset that could not be applied: no no_new_privs, no CAP_SYS_ADMIN', () => {
    // bestEffort, so that the check holds on any Landlock ABI (the feature asks the kernel here).
    const option = { fs: {}, bestEffort: true };
    const context = featureContext({ noNewPrivs: false });
    expect(() => landlockFeature.normalize(option, context)).toThrow(invalid('landlock'));
    expect(landlockFeature.normalize(option, featureContext({ noNewPrivs: false, keptCaps: ['CAP_SYS_ADMIN'] }))).toBeDefined();
    expect(landlockFeature.normalize(option, featureContext({ noNewPrivs: true }))).toBeDefined();
    expect(landlockFeature.normalize(undefined, context)).toBeUndefined();
    expect(landlockFeature.normalize(false, context)).toBeUndefined();
  });
});
