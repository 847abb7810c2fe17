import { describe, expect, it } from 'vitest';
import { ACCESS_FS, ACCESS_NET, SCOPE, downgradeLandlock, fsRightsOf, landlockPolicy, normalizeLandlockOptions } from '../src/index.js';
import type { LandlockOptions } from '../src/index.js';

const F = ACCESS_FS;
const FULL: LandlockOptions = { fs: { '/usr': 'rx', '/tmp': 'rwmd' }, net: { connect: [443] }, bestEffort: true };
const whats = (abi: number, options: LandlockOptions = FULL) => normalizeLandlockOptions(options, abi)?.dropped.map((drop) => drop.what);

describe('@iso/landlock ABI downgrade', () => {
  it('knows which filesystem rights each ABI handles', () => {
    const v1 = 0x1fff; // EXECUTE .. MAKE_SYM
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map(fsRightsOf)).toEqual([0, v1, v1 | F.REFER, v1 | F.REFER | F.TRUNCATE, v1 | F.REFER | F.TRUNCATE, 0xffff, 0xffff, 0xffff, 0xffff]);
  });

  it('best effort drops, ABI by ABI, exactly what each lacks', () => {
    expect(whats(0)).toEqual(['landlock']);
    expect(whats(1)).toEqual(['fs.refer', 'fs.truncate', 'fs.ioctlDev', 'net', 'scope.abstractUnixSocket', 'scope.signal']);
    expect(whats(2)).toEqual(['fs.truncate', 'fs.ioctlDev', 'net', 'scope.abstractUnixSocket', 'scope.signal']);
    expect(whats(3)).toEqual(['fs.ioctlDev', 'net', 'scope.abstractUnixSocket', 'scope.signal']);
    expect(whats(4)).toEqual(['fs.ioctlDev', 'scope.abstractUnixSocket', 'scope.signal']);
    expect(whats(5)).toEqual(['scope.abstractUnixSocket', 'scope.signal']);
    expect(whats(6)).toEqual([]);
    expect(whats(7)).toEqual([]);
    expect(whats(8)).toEqual([]);
  });

  it('drops only what the policy asked for', () => {
    // Without make, REFER was never granted: ABI 1 denying reparenting loses nothing.
    expect(whats(1, { fs: { '/usr': 'rx' }, scope: false, bestEffort: true })).toEqual(['fs.truncate', 'fs.ioctlDev']);
    expect(whats(3, { net: { bind: [80] }, scope: false, bestEffort: true })).toEqual(['net']);
    expect(whats(5, { scope: { signal: false }, bestEffort: true })).toEqual(['scope.abstractUnixSocket']);
    expect(whats(1, { scope: false, bestEffort: true })).toEqual([]);
    // A policy that restricts nothing loses nothing, even without Landlock; the plan is empty.
    expect(whats(0, { scope: false, bestEffort: true })).toEqual([]);
    expect(whats(0, { fs: {}, scope: false, bestEffort: true })).toEqual(['landlock']);
  });

  it('fits the ruleset to the ABI: handled rights, rules masked to them, net and scope only when there', () => {
    const at = (abi: number) => normalizeLandlockOptions(FULL, abi)!;
    expect(at(1)).toMatchObject({ rulesetAbi: 1, handledFs: 0x1fff, handledNet: 0, scoped: 0, ports: [] });
    expect(at(1).paths.map((p) => p.access)).toEqual([F.EXECUTE | F.READ_FILE | F.READ_DIR, 0x1fff & ~F.EXECUTE]);
    expect(at(3).paths[1]?.access).toBe((0x1fff | F.REFER | F.TRUNCATE) & ~F.EXECUTE);
    expect(at(4)).toMatchObject({ rulesetAbi: 4, handledNet: ACCESS_NET.BIND_TCP | ACCESS_NET.CONNECT_TCP, ports: [{ port: 443, access: ACCESS_NET.CONNECT_TCP }], scoped: 0 });
    expect(at(6)).toMatchObject({ handledFs: 0xffff, scoped: SCOPE.ABSTRACT_UNIX_SOCKET | SCOPE.SIGNAL });
    // A kernel newer than iso knows is used at the newest level iso knows.
    expect(at(9)).toMatchObject({ abi: 9, rulesetAbi: 7, dropped: [] });
    expect(at(0)).toMatchObject({ abi: 0, rulesetAbi: 0, handledFs: 0, handledNet: 0, scoped: 0, paths: [], ports: [] });
  });

  it('strict (the default) refuses what the ABI cannot enforce, naming it and the way out', () => {
    const strict = { ...FULL, bestEffort: false };
    for (const abi of [0, 1, 2, 3, 4, 5]) expect(() => normalizeLandlockOptions(strict, abi)).toThrow(expect.objectContaining({ isoCode: 'ISO_UNSUPPORTED_KERNEL', path: 'landlock', phase: 'validate' }));
    expect(() => normalizeLandlockOptions({ fs: {} }, 3)).toThrow(/Landlock ABI 3, which cannot enforce fs\.ioctlDev \(ABI 5, Linux 6\.10: .*scope\.signal .*landlock\.bestEffort: true/);
    expect(() => normalizeLandlockOptions({ fs: {}, scope: false }, 0)).toThrow(/this kernel has no Landlock, which cannot enforce landlock/);
    for (const abi of [6, 7, 8]) expect(normalizeLandlockOptions(strict, abi)?.dropped).toEqual([]);
    // A filesystem policy needs ABI 5 to be strict: truncation came with 3, device ioctls with 5.
    expect(() => normalizeLandlockOptions({ scope: false, fs: { '/usr': 'rx' } }, 2)).toThrow(/fs\.truncate/);
  });

  it('the policy is checked before the ABI: bad input is invalid on any kernel', () => {
    expect(() => downgradeLandlock(landlockPolicy({ fs: { usr: 'r' } } as never)!, 0)).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS' }));
  });
});
