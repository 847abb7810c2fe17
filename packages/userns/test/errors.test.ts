import { IsoError } from '@iso/core';
import { describe, expect, it } from 'vitest';
import { findHelper, normalizeUsernsOptions, parseSubordinateFile, probeSubordinateIds } from '../src/index.js';

const stranger = { uid: 4242, gid: 4242 }; // no passwd entry, no /etc/subuid line

describe('errors that name what is missing', () => {
  it('no /etc/subuid entry: says which file and which line to add', () => {
    let error: unknown;
    try {
      normalizeUsernsOptions({ ranges: 'subordinate' }, stranger);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(IsoError);
    expect(error).toMatchObject({ isoCode: 'ISO_NEEDS_PRIVILEGE', phase: 'validate', path: 'userns.ranges' });
    const message = (error as IsoError).message;
    expect(message).toMatch(/no \/etc\/subuid entry for uid 4242: as root, add a line such as "4242:\d+:65536" to \/etc\/subuid \(usermod --add-subuids \d+-\d+ 4242\)/);
    expect(message).toContain('no /etc/subgid entry for uid 4242');
    expect(message).toContain('uid 4242 has no passwd entry');
  });

  it('no newuidmap: says which package to install', () => {
    expect(findHelper('newuidmap', ['/nonexistent'])).toBeUndefined();
    expect(findHelper('newuidmap')).toMatch(/\/newuidmap$/);
    const probe = probeSubordinateIds(65534, { helperDirs: ['/nonexistent'] });
    expect(probe.usable).toBe(false);
    expect(probe.reasons).toContain(
      'newuidmap and newgidmap are not installed, and a non-root process needs them to map more than its own id: apt-get install uidmap (Debian, Ubuntu), dnf install shadow-utils (Fedora)',
    );
    // A root caller needs neither: Node writes its maps.
    expect(probeSubordinateIds(0, { helperDirs: ['/nonexistent'] }).reasons.join()).not.toContain('newuidmap');
  });

  it('supplementary groups with the rootless single mapping: explains setgroups', () => {
    expect(() => normalizeUsernsOptions({ supplementaryGroups: [0] }, { uid: 1000, gid: 1000 })).toThrow(
      expect.objectContaining({
        isoCode: 'ISO_INVALID_OPTIONS',
        path: 'userns.supplementaryGroups',
        message: expect.stringContaining("needs setgroups(2), which the kernel denies in the rootless single mapping (a non-root process may write its own gid_map only after writing 'deny' to /proc/self/setgroups); use userns.ranges: 'subordinate'"),
      }),
    );
    // A root caller's single mapping allows it (Node writes the maps).
    expect(normalizeUsernsOptions({ supplementaryGroups: [0] }, { uid: 0, gid: 0 })?.credentials).toEqual({ groups: [0] });
  });

  it('a sparse array of groups or ranges: the hole is refused, not skipped', () => {
    // eslint-disable-next-line no-sparse-arrays
    const groups = [0, , 0];
    expect(() => normalizeUsernsOptions({ supplementaryGroups: groups as number[] }, { uid: 0, gid: 0 })).toThrow(
      expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'userns.supplementaryGroups[1]' }),
    );
    // eslint-disable-next-line no-sparse-arrays
    const ranges = [{ inside: 0, outside: 300000, count: 1 }, , { inside: 2, outside: 300002, count: 1 }];
    expect(() => normalizeUsernsOptions({ ranges: { uid: ranges, gid: [{ inside: 0, outside: 300000, count: 1 }] } as never }, { uid: 0, gid: 0 })).toThrow(
      expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'userns.ranges.uid[1]' }),
    );
  });

  it('ids that are not mapped, and malformed ranges', () => {
    expect(() => normalizeUsernsOptions({ user: 1000 }, { uid: 1000, gid: 1000 })).toThrow(
      expect.objectContaining({ path: 'userns.user', message: 'invalid option userns.user: uid 1000 is not mapped in the sandbox\'s user namespace (it maps 0 → host 1000); userns.ranges maps more ids' }),
    );
    expect(() => normalizeUsernsOptions({ ranges: 'subordinate', group: 70000 }, { uid: 0, gid: 0 })).toThrow(
      expect.objectContaining({ path: 'userns.group', message: expect.stringContaining('gid 70000 is not mapped') }),
    );
    expect(() => normalizeUsernsOptions({ ranges: 'subordinate', inside: 'same' }, { uid: 0, gid: 0 })).toThrow(expect.objectContaining({ path: 'userns.inside' }));
    const overlapping = { uid: [{ inside: 0, outside: 100000, count: 10 }, { inside: 5, outside: 200000, count: 1 }], gid: [{ inside: 0, outside: 100000, count: 1 }] };
    expect(() => normalizeUsernsOptions({ ranges: overlapping }, { uid: 0, gid: 0 })).toThrow(
      expect.objectContaining({ path: 'userns.ranges.uid', message: expect.stringContaining('ranges overlap inside') }),
    );
    expect(() => normalizeUsernsOptions({ ranges: { uid: [{ inside: 1, outside: 100000, count: 1 }], gid: [{ inside: 0, outside: 1, count: 1 }] } }, { uid: 0, gid: 0 })).toThrow(
      expect.objectContaining({ path: 'userns.ranges.uid', message: expect.stringContaining('must map inside uid 0') }),
    );
    expect(() => normalizeUsernsOptions({ ranges: { uid: [{ inside: 0, outside: 1, count: 0 }], gid: [] } }, { uid: 0, gid: 0 })).toThrow(
      expect.objectContaining({ path: 'userns.ranges.uid[0].count' }),
    );
    expect(() => normalizeUsernsOptions({ ranges: 'all' as never })).toThrow(expect.objectContaining({ path: 'userns.ranges' }));
    expect(() => normalizeUsernsOptions({ disableNested: 'yes' as never })).toThrow(expect.objectContaining({ path: 'userns.disableNested' }));
    expect(() => normalizeUsernsOptions({ user: -1 })).toThrow(expect.objectContaining({ path: 'userns.user' }));
  });

  it('parses subordinate files as shadow does: by name first, then by uid', () => {
    const text = ['# comment', '1000:500000:65536', 'alice:100000:65536', 'bob:165536:65536', 'alice:9:x', 'alice:231072:65536', ''].join('\n');
    expect(parseSubordinateFile(text, { uid: 1000, name: 'alice' })).toEqual([
      { start: 100000, count: 65536 },
      { start: 231072, count: 65536 },
      { start: 500000, count: 65536 },
    ]);
    expect(parseSubordinateFile(text, { uid: 1001, name: undefined })).toEqual([]);
  });
});
