import { IsoError } from '@iso/core';
import { featureContext } from '@iso/test-kit';
import { describe, expect, it } from 'vitest';
import type { UsernsSettings } from '../src/index.js';
import { normalizeUsernsOptions, probeSubordinateIds, probeUserns, refineUsernsError, usernsFeature, usernsPlan } from '../src/index.js';

describe('options', () => {
  it('checks options against the caller', () => {
    expect(normalizeUsernsOptions(true, { uid: 1000, gid: 1000 })).toEqual({ inside: 'root', host: { uid: 1000, gid: 1000 }, ids: { uid: 0, gid: 0 }, callerIsRoot: false });
    expect(normalizeUsernsOptions({ inside: 'same' }, { uid: 1000, gid: 100 })?.ids).toEqual({ uid: 1000, gid: 100 });
    expect(normalizeUsernsOptions(true, { uid: 0, gid: 0 })?.host).toEqual({ uid: 65534, gid: 65534 });
    expect(normalizeUsernsOptions({ hostIdsForRoot: { uid: 100000, gid: 100000 } }, { uid: 0, gid: 0 })?.host).toEqual({ uid: 100000, gid: 100000 });
    expect(() => normalizeUsernsOptions({ hostIdsForRoot: { uid: 5, gid: 5 } }, { uid: 1000, gid: 1000 })).toThrow(
      expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'userns.hostIdsForRoot' }),
    );
    expect(() => normalizeUsernsOptions({ inside: 'other' } as never)).toThrow(expect.objectContaining({ path: 'userns.inside' }));
  });

});

describe('settings and plans', () => {
  it('keeps the single mapping as it was', () => {
    expect(normalizeUsernsOptions(true, { uid: 1000, gid: 1000 })).toEqual({ inside: 'root', host: { uid: 1000, gid: 1000 }, ids: { uid: 0, gid: 0 }, callerIsRoot: false });
    const plan = usernsPlan(normalizeUsernsOptions(true, { uid: 0, gid: 0 })!);
    // A root caller's maps are written by a helper forked before the unshare, not by Node.
    expect(plan.userns!.map((s) => s.name)).toEqual([
      'userns.self', 'userns.unshared', 'userns.writer', 'userns.unshare', 'userns.unshared', 'userns.writer.reap',
      'userns.self.close', 'userns.unshared.close', 'userns.setresgid', 'userns.setgroups', 'userns.setresuid', 'userns.dieWithParent',
    ]);
    expect(plan.userns!.some((s) => s.op === 'sync')).toBe(false);
    expect(plan.credentials).toBeUndefined();
  });

  it('resolves subordinate ranges for root, backed by hostIdsForRoot', () => {
    const root = probeSubordinateIds(0);
    const settings = normalizeUsernsOptions({ ranges: 'subordinate', hostIdsForRoot: { uid: 70000, gid: 70000 } }, { uid: 0, gid: 0 })!;
    expect(settings.ranges).toEqual({
      uid: [{ inside: 0, outside: 70000, count: 1 }, { inside: 1, outside: root.subuid[0]!.start, count: 65536 }],
      gid: [{ inside: 0, outside: 70000, count: 1 }, { inside: 1, outside: root.subgid[0]!.start, count: 65536 }],
      writer: 'parent',
    });
  });

  it('joins with setns, a root caller dropping its groups first; disableNested ends stage userns', () => {
    const join: UsernsSettings = { inside: 'root', host: { uid: 65534, gid: 65534 }, ids: { uid: 0, gid: 0 }, callerIsRoot: true, join: { path: '/proc/4711/ns/user', pid: 4711 } };
    expect(usernsPlan(join).userns!.map((s) => s.name)).toEqual([
      'userns.join.dropGroups',
      'userns.join.open',
      'userns.join.setns',
      'userns.join.close',
      'userns.join.setresgid',
      'userns.join.setresuid',
      'userns.join.dieWithParent',
    ]);
    expect(usernsPlan({ ...join, callerIsRoot: false }).userns![0]!.name).toBe('userns.join.open');
    const nested = usernsPlan(normalizeUsernsOptions({ disableNested: true }, { uid: 1000, gid: 1000 })!);
    expect(nested.userns!.slice(-5).map((s) => s.name)).toEqual([
      'userns.nested.limit.open',
      'userns.nested.limit.write',
      'userns.nested.limit.close',
      'userns.nested.unshare',
      'userns.nested.maps',
    ]);
  });

  it('puts the identity in stage credentials: groups, gid, keepcaps, uid, re-armed PDEATHSIG', () => {
    const plan = usernsPlan(normalizeUsernsOptions({ ranges: 'subordinate', user: 1, group: 2, supplementaryGroups: [3, 4] }, { uid: 0, gid: 0 })!);
    expect(plan.credentials!.map((s) => s.name)).toEqual([
      'userns.credentials.setgroups',
      'userns.credentials.setresgid',
      'userns.credentials.keepCaps',
      'userns.credentials.setresuid',
      'userns.credentials.dieWithParent',
    ]);
  });
});

describe('usernsFeature', () => {
  const unprivileged = featureContext();
  const root = featureContext({ host: { uid: 0, gid: 0, isRoot: true } });
  const withPid = featureContext({ namespaces: new Set(['pid']) });

  it('turns on when another namespace is on, and only then', () => {
    expect(usernsFeature.normalize(undefined, unprivileged)).toBeUndefined();
    expect(usernsFeature.normalize(undefined, withPid)).toEqual({ inside: 'root', host: { uid: 1000, gid: 1000 }, ids: { uid: 0, gid: 0 }, callerIsRoot: false });
    expect(usernsFeature.facts!(usernsFeature.normalize(true, unprivileged)!, unprivileged)).toEqual({ namespaces: ['user'] });
  });

  it('takes the default only for a missing option: null is refused, with or without namespaces', () => {
    for (const context of [unprivileged, withPid])
      expect(() => usernsFeature.normalize(null as never, context)).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'userns' }));
  });

  it('lets only root create namespaces without a user namespace', () => {
    expect(() => usernsFeature.normalize(false, withPid)).toThrow(
      expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'userns', message: expect.stringContaining('only root can create namespaces without a user namespace') }),
    );
    expect(usernsFeature.normalize(false, featureContext({ host: { uid: 0, gid: 0, isRoot: true }, namespaces: new Set(['pid']) }))).toBeUndefined();
    // A root caller is backed by nobody.
    expect(usernsFeature.normalize(true, root)?.host).toEqual({ uid: 65534, gid: 65534 });
  });

  it('refines its own step errors', () => {
    const failed = new IsoError('ISO_SETUP_FAILED', 'userns.join.open[3]: openat(AT_FDCWD, "/proc/1/ns/user", O_CLOEXEC) failed: ENOENT (No such file or directory)', {
      phase: 'child',
      step: 'userns.join.open',
      errnoCode: 'ENOENT',
    });
    const settings: UsernsSettings = { inside: 'root', host: { uid: 65534, gid: 65534 }, ids: { uid: 0, gid: 0 }, callerIsRoot: true, join: { path: '/proc/1/ns/user', pid: 1 } };
    expect(usernsFeature.refineError!(failed, settings).message).toBe(refineUsernsError(failed, settings).message);
    expect(usernsFeature.refineError!(failed, settings).message).toMatch(/is gone$/);
  });

  it('probes in the common shape', () => {
    expect(probeUserns()).toMatchObject({ supported: true, reasons: [] });
    expect(usernsFeature.probe()).toMatchObject({ supported: true });
  });

  it('never backs a root caller by host root unless dangerouslyMapHostRoot says so', () => {
    const root = { uid: 0, gid: 0 };
    for (const hostIdsForRoot of [{ uid: 0, gid: 0 }, { uid: 0, gid: 1000 }, { uid: 1000, gid: 0 }])
      expect(() => normalizeUsernsOptions({ hostIdsForRoot }, root), JSON.stringify(hostIdsForRoot)).toThrow(
        expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: expect.stringMatching(/^userns\.hostIdsForRoot\.(uid|gid)$/), message: expect.stringContaining('host root') }),
      );
    const zeroFirst = { uid: [{ inside: 0, outside: 0, count: 1 }], gid: [{ inside: 0, outside: 100000, count: 1 }] };
    const zeroLater = { uid: [{ inside: 0, outside: 100000, count: 1 }], gid: [{ inside: 0, outside: 100001, count: 1 }, { inside: 1, outside: 0, count: 10 }] };
    expect(() => normalizeUsernsOptions({ ranges: zeroFirst }, root)).toThrow(expect.objectContaining({ path: 'userns.ranges.uid[0]' }));
    expect(() => normalizeUsernsOptions({ ranges: zeroLater }, root)).toThrow(expect.objectContaining({ path: 'userns.ranges.gid[1]' }));
    expect(normalizeUsernsOptions({ hostIdsForRoot: { uid: 0, gid: 0 }, dangerouslyMapHostRoot: true }, root)?.host).toEqual({ uid: 0, gid: 0 });
    expect(normalizeUsernsOptions({ ranges: zeroFirst, dangerouslyMapHostRoot: true }, root)?.host).toEqual({ uid: 0, gid: 100000 });
    expect(() => normalizeUsernsOptions({ dangerouslyMapHostRoot: 'yes' } as never, root)).toThrow(expect.objectContaining({ path: 'userns.dangerouslyMapHostRoot' }));
  });
});
