// The limits on the real kernel, composed with pid, mount and userns as the sandbox
// composes them: what the target sees and what it cannot do past them. Every sandbox here
// has its own PID namespace, so whatever the target started ends with it.
import { mountFeature } from '@iso/mount';
import { pidFeature } from '@iso/pid';
import { composeProgram, guardNoLeaks, runProgram } from '@iso/test-kit';
import { usernsFeature } from '@iso/userns';
import { describe, expect, it } from 'vitest';
import { rlimitsFeature } from '../src/index.js';

guardNoLeaks();

const FEATURES = [pidFeature, mountFeature, usernsFeature, rlimitsFeature];
const SANDBOX = { pid: true } as const;
const run = async (file: string, args: string[], options: Record<string, unknown>) => {
  const out = await runProgram(composeProgram(FEATURES, options, { file, args }));
  expect(out.error).toBeUndefined();
  return out;
};

describe('rlimits in a sandbox', () => {
  it('the strict defaults, as the target sees them', async () => {
    const r = await run('/bin/sh', ['-c', 'grep -E "^Max (core file size|file size|open files|processes) " /proc/self/limits | tr -s " "'], { ...SANDBOX, rlimits: true });
    expect(r.stdout).toBe(
      ['Max file size 1073741824 1073741824 bytes', 'Max core file size 0 0 bytes', 'Max processes 1024 1024 processes', 'Max open files 1024 1024 files', ''].join(' \n'),
    );
  });

  it('a file past fsize fails with EFBIG (SIGXFSZ ignored), and the rest is unchanged', async () => {
    const r = await run('/bin/sh', ['-c', "trap '' XFSZ; head -c 100000 /dev/zero > /tmp/f 2>/dev/null; echo $?; stat -c %s /tmp/f"], {
      ...SANDBOX,
      mount: { root: 'host-readonly', entries: [{ type: 'tmpfs', target: '/tmp', size: '1m' }] },
      rlimits: { fsize: 4096 },
    });
    expect(r.stdout).toBe('1\n4096\n');
  });

  it('nofile binds: the 17th open fails with EMFILE', async () => {
    const r = await run('/usr/bin/python3', ['-c', 'import os\nn=0\ntry:\n  while True: os.open("/dev/null", 0); n+=1\nexcept OSError as e: print(n+3, e.errno)'], { ...SANDBOX, rlimits: { nofile: 16 } });
    expect(r.stdout).toBe('16 24\n'); // 0, 1 and 2, then 13 more; EMFILE is 24
  });

  it('a fork bomb under nproc gets EAGAIN inside, and its processes end with the sandbox', async () => {
    const bomb = ['import os, time', 'n = 0', 'try:', '  while n < 100:', '    if os.fork() == 0:', '      time.sleep(30)', '      os._exit(0)', '    n += 1', 'except OSError as e:', '  print(n, e.errno)'].join('\n');
    const r = await run('/usr/bin/python3', ['-c', bomb], { ...SANDBOX, rlimits: { nproc: 20 } });
    const [made, errno] = r.stdout.trim().split(' ').map(Number);
    expect(errno).toBe(11); // EAGAIN
    expect(made).toBeLessThan(20); // the target itself counts, and iso's init
  });
});
