import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseGetsubidsOutput, probeSubordinateIds, readSubordinateRanges, subidModule } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'iso-subid-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function nsswitch(text: string): string {
  const path = join(dir, `nsswitch-${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(path, text);
  return path;
}

const nobody = { uid: 65534, name: 'nobody' };

describe('subordinate ids from NSS (subid: in nsswitch.conf)', () => {
  it('finds the module libsubid uses: the first one named, none for files', () => {
    expect(subidModule(nsswitch('passwd: files\nsubid: sss\n'))).toBe('sss');
    expect(subidModule(nsswitch('subid:   sss files # comment\n'))).toBe('sss');
    expect(subidModule(nsswitch('subid: files\n'))).toBeUndefined();
    expect(subidModule(nsswitch('#subid: sss\npasswd: files\n'))).toBeUndefined();
    expect(subidModule(join(dir, 'missing.conf'))).toBeUndefined();
  });

  it('parses getsubids output', () => {
    expect(parseGetsubidsOutput('0: nobody 200000 65536\n1: nobody 400000 10\nbogus\n')).toEqual([
      { start: 200000, count: 65536 },
      { start: 400000, count: 10 },
    ]);
  });

  // No NSS subid module is installed here, so the module name only picks the branch: the
  // real getsubids then answers from /etc/subuid (setup.sh adds nobody:200000:65536), as
  // it would from the module.
  it('asks the real getsubids when a module is named, and says what is missing', () => {
    const sss = nsswitch('subid: sss\n');
    expect(readSubordinateRanges('uid', nobody, undefined, { nsswitch: sss })).toEqual([{ start: 200000, count: 65536 }]);
    expect(readSubordinateRanges('gid', nobody, undefined, { nsswitch: sss })).toEqual([{ start: 200000, count: 65536 }]);
    expect(probeSubordinateIds(65534, { nsswitch: sss }).subuid).toEqual([{ start: 200000, count: 65536 }]);
    const stranger = probeSubordinateIds(4242, { nsswitch: sss });
    expect(stranger.subuid).toEqual([]);
    expect(stranger.reasons).toContain('subordinate uids come from the NSS module "sss" (subid: in ' + sss + '), and it has none for uid 4242: ask for a range where that module keeps them, or give explicit ranges');
    const noTool = probeSubordinateIds(65534, { nsswitch: sss, helperDirs: ['/nonexistent'] });
    expect(noTool.subuid).toEqual([]);
    expect(noTool.reasons.join('\n')).toContain('getsubids, which reads them, is not installed: apt-get install uidmap');
  });
});
