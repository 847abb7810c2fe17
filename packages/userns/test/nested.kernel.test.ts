import { CLONE, flags, str } from '@iso/core';
import { describe, expect, it } from 'vitest';
import { normalizeUsernsOptions, probeSubordinateIds } from '../src/index.js';
import { isRoot, lines, runIn } from './helpers.js';

const NESTED = 'unshare -U true 2>&1 && echo nested-ok || echo nested-refused';
// Root inside holds CAP_SYS_RESOURCE in its own namespace: it tries to lift the limit first.
const LIFT = 'echo 100 > /proc/sys/user/max_user_namespaces 2>/dev/null && echo lifted; ' + NESTED;

describe('disableNested', () => {
  it('lets the target create a user namespace without it (so the test below can fail)', async () => {
    const out = await runIn(true, NESTED);
    expect(lines(out.stdout)).toEqual(['nested-ok']);
  });

  it('refuses unshare -U inside, even after root inside raises its own limit', async () => {
    const out = await runIn({ disableNested: true }, `${NESTED}; ${LIFT}; id -u; cat /proc/self/uid_map`);
    const [first, refusal, lifted, second, , id, map] = lines(out.stdout);
    expect(first).toBe('unshare: unshare failed: No space left on device');
    expect(refusal).toBe('nested-refused');
    // The write succeeds, but only in the nested namespace; the parent's limit still holds.
    expect(lifted).toBe('lifted');
    expect(second).toBe('unshare: unshare failed: No space left on device');
    expect(id).toBe('0');
    // The nested namespace maps the sandbox namespace's ids onto themselves.
    expect(map).toBe('0 0 1');
  });

  it('keeps later namespaces owned by the namespace the target is in (sethostname works)', async () => {
    const out = await runIn({ disableNested: true }, `hostname; ${NESTED}`, {
      steps: {
        namespaces: [{ op: 'syscall', name: 'test.unshareUts', syscall: 'unshare', args: [flags(CLONE.CLONE_NEWUTS, CLONE)] }],
        hostname: [{ op: 'syscall', name: 'test.sethostname', syscall: 'sethostname', args: [str('nested'), { kind: 'immediate', value: 6 }] }],
      },
    });
    expect(lines(out.stdout)).toEqual(['nested', 'unshare: unshare failed: No space left on device', 'nested-refused']);
  });

  it.runIf(probeSubordinateIds().usable)('works with multi-range maps and the identity inside', async () => {
    const out = await runIn(
      { ranges: 'subordinate', disableNested: true, user: 1000, group: 1000, supplementaryGroups: [1001] },
      `cat /proc/self/uid_map; id -u; id -G; ${NESTED}`,
      { fork: true },
    );
    expect(lines(out.stdout)).toEqual(['0 0 1', '1 1 65536', '1000', '1000 1001', 'unshare: unshare failed: No space left on device', 'nested-refused']);
  });

  it('cannot be combined with join', () => {
    expect(() => normalizeUsernsOptions({ join: 1, disableNested: true })).toThrow(
      expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'userns.disableNested' }),
    );
  });

  it(`works ${isRoot ? 'for a root caller (maps written by Node)' : 'rootless (maps written by the runner)'}`, async () => {
    const out = await runIn({ disableNested: true, inside: 'same' }, `id -u; ${NESTED}`);
    expect(lines(out.stdout)).toEqual([isRoot ? '65534' : String(process.getuid!()), 'unshare: unshare failed: No space left on device', 'nested-refused']);
  });
});
