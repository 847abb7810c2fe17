import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseMountInfo, readMountInfo } from '../src/index.js';

describe('@iso/mount mountinfo', () => {
  it('parses mountinfo lines, escapes and optional fields included', () => {
    const [entry] = parseMountInfo('36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue\n');
    expect(entry).toEqual({
      mountId: 36,
      parentId: 35,
      device: '98:0',
      root: '/mnt1',
      mountPoint: '/mnt/with space',
      mountOptions: ['rw', 'noatime'],
      propagation: ['master:1', 'shared:7'],
      fsType: 'ext3',
      source: '/dev/root',
      superOptions: ['rw', 'errors=continue'],
    });
  });

  it('reads the live table', () => {
    const entries = readMountInfo();
    expect(entries).toHaveLength(readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n').length);
    expect(entries.some((e) => e.mountPoint === '/proc' && e.fsType === 'proc')).toBe(true);
  });
});
