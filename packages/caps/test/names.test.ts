import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CAP, CAP_LAST_KNOWN, CAP_NAMES, capMask, capName, capNames, capNumber, capNumbers, capSince, fullCapMask, lastCap } from '../src/names.js';
import { capshDecode } from './helpers.js';

describe('capability names', () => {
  it('names every capability up to CAP_CHECKPOINT_RESTORE (40), as capsh --decode does', () => {
    expect(CAP_LAST_KNOWN).toBe(40);
    for (let n = 0; n <= CAP_LAST_KNOWN; n++) {
      expect(capshDecode(1n << BigInt(n)), `bit ${n}`).toEqual([CAP_NAMES[n]!.toLowerCase()]);
      expect(CAP[CAP_NAMES[n]!]).toBe(n);
    }
  });

  it('decodes masks like capsh, including the Docker default mask 0xa80425fb', () => {
    const masks = [0n, 0xa80425fbn, 0x1ffffffffffn, 0x1fffeffffffn, 0x400n, 0x10000000001n, 0x5555555555n];
    for (const mask of masks) expect(capNames(mask).map((name) => name.toLowerCase()), mask.toString(16)).toEqual(capshDecode(mask));
    // capsh numbers the bits it has no name for; so does capNumbers.
    expect(capshDecode(0x30000000001n)).toEqual(['cap_chown', 'cap_checkpoint_restore', '41']);
    expect(capNumbers(0x30000000001n)).toEqual([0, 40, 41]);
    expect(capNames(0x30000000001n)).toEqual(['CAP_CHOWN', 'CAP_CHECKPOINT_RESTORE']);
  });

  it('accepts every spelling and refuses unknown names', () => {
    for (const spelling of ['CAP_NET_BIND_SERVICE', 'cap_net_bind_service', 'NET_BIND_SERVICE', 'net_bind_service', 'Cap_Net_Bind_Service'])
      expect(capNumber(spelling)).toBe(10);
    expect(capNumber('CAP_NET_BIND')).toBeUndefined();
    expect(capNumber('')).toBeUndefined();
    expect(capName(40)).toBe('CAP_CHECKPOINT_RESTORE');
    expect(capName(41)).toBeUndefined();
    expect(capSince(39)).toBe('5.8');
    expect(capMask(['CAP_CHOWN', 'kill', 10])).toBe(0x421n);
    expect(() => capMask([64])).toThrow(RangeError);
    expect(fullCapMask(40)).toBe(0x1ffffffffffn);
  });

  it("reads the running kernel's last capability", () => {
    expect(lastCap()).toBe(Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8')));
    expect(lastCap()).toBeGreaterThanOrEqual(36);
  });
});
