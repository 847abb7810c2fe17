import { mkdtempSync, rmSync, chmodSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { normalizeUsernsOptions, probeSubordinateIds } from '../src/index.js';
import { gid, isRoot, lines, runIn, uid } from './helpers.js';

const probe = probeSubordinateIds();
const sub = { uid: probe.subuid[0], gid: probe.subgid[0] };
const backing = isRoot ? { uid: 65534, gid: 65534 } : { uid, gid };

describe('multi-range maps', () => {
  it('has subordinate ids and working helpers here (else says what to add)', () => {
    // Not a skip: without them every multi-range test below would assert nothing.
    const harness =
      process.env.ISO_TEST_ROOTLESS === '1' && probe.reasons.some((r) => r.includes('bounding set'))
        ? ' (the rootless run must keep the full bounding set, as iso-rootless does and a logged-in user has: the setuid helpers need it)'
        : '';
    expect(probe.reasons, `multi-range maps cannot work here: ${probe.reasons.join('; ')}${harness}`).toEqual([]);
    expect(sub.uid).toBeDefined();
    expect(sub.gid).toBeDefined();
  });

  it(`maps 65536 subordinate ids besides the backing one (${isRoot ? 'written by Node' : 'rootless, by newuidmap'})`, async () => {
    const out = await runIn(
      { ranges: 'subordinate' },
      'cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; echo --; cat /proc/self/setgroups; ' +
        "awk '{ n += $3 } END { print n }' /proc/self/uid_map; id -u; id -g",
    );
    expect(out.exit).toBe(0);
    const [uidMap, gidMap, rest] = out.stdout.split('--\n');
    expect(lines(uidMap!)).toEqual([`0 ${backing.uid} 1`, `1 ${sub.uid!.start} 65536`]);
    expect(lines(gidMap!)).toEqual([`0 ${backing.gid} 1`, `1 ${sub.gid!.start} 65536`]);
    const [setgroups, total, id, group] = lines(rest!);
    expect(setgroups).toBe('allow');
    expect(Number(total)).toBeGreaterThanOrEqual(65537);
    expect([id, group]).toEqual(['0', '0']);
  });

  describe('the identity inside', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iso-userns-'));
    chmodSync(dir, 0o777);
    afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

    it('runs the target as user, group and supplementary groups, in a forked target', async () => {
      const out = await runIn(
        { ranges: 'subordinate', user: 1000, group: 1001, supplementaryGroups: [1002, 65534] },
        `id -u; id -g; id -G; grep -E '^(Uid|Gid|Groups|CapEff):' /proc/self/status; touch ${dir}/made-by-1000`,
        { fork: true },
      );
      expect(out.exit).toBe(0);
      const [u, g, groups, uidLine, gidLine, groupsLine, capEff] = lines(out.stdout);
      expect([u, g]).toEqual(['1000', '1001']);
      expect(groups!.split(' ').sort()).toEqual(['1001', '1002', '65534']);
      expect(uidLine).toBe('Uid: 1000 1000 1000 1000');
      expect(gidLine).toBe('Gid: 1001 1001 1001 1001');
      expect(groupsLine).toBe('Groups: 1002 65534');
      // A non-root target has no capabilities after execve, PR_SET_KEEPCAPS or not.
      expect(capEff).toBe('CapEff: 0000000000000000');
      // From the host: inside 1000 is subordinate id start + 999.
      const made = statSync(join(dir, 'made-by-1000'));
      expect({ uid: made.uid, gid: made.gid }).toEqual({ uid: sub.uid!.start + 999, gid: sub.gid!.start + 1000 });
    });

    it("clears the caller's host groups by default when setgroups is allowed", async () => {
      const out = await runIn({ ranges: 'subordinate' }, "grep '^Groups:' /proc/self/status; id -u");
      expect(lines(out.stdout)).toEqual(['Groups:', '0']);
    });
  });

  it('writes explicit ranges, checked against what the caller may map', async () => {
    const start = sub.uid!.start;
    const ranges = {
      uid: [
        { inside: 0, outside: isRoot ? 65534 : uid, count: 1 },
        { inside: 1000, outside: start + 10, count: 10 },
      ],
      gid: [
        { inside: 0, outside: isRoot ? 65534 : gid, count: 1 },
        { inside: 1000, outside: sub.gid!.start + 10, count: 10 },
      ],
    };
    const out = await runIn({ ranges, user: 1009, group: 1009 }, 'cat /proc/self/uid_map; id -u; id -g');
    expect(lines(out.stdout)).toEqual([`0 ${ranges.uid[0]!.outside} 1`, `1000 ${start + 10} 10`, '1009', '1009']);
    if (!isRoot) {
      expect(() => normalizeUsernsOptions({ ranges: { ...ranges, uid: [...ranges.uid, { inside: 5, outside: 5, count: 1 }] } })).toThrow(
        expect.objectContaining({ isoCode: 'ISO_NEEDS_PRIVILEGE', path: 'userns.ranges.uid[2]', message: expect.stringContaining('/etc/subuid') }),
      );
    }
  });
});
