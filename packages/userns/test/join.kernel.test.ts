import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { IsoError } from '@iso/core';
import { runProgram } from '@iso/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeUsernsOptions, readIdMaps, refineUsernsError, usernsPlan } from '../src/index.js';
import { isRoot, lines, programSteps, runIn } from './helpers.js';

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** `unshare -U -r sleep`, optionally as uid 65534 (for a root caller); resolves once it is in its namespace. */
async function holder(asNobody = false): Promise<number> {
  const command = ['unshare', '--user', '--map-root-user', 'sh', '-c', 'echo ready; exec sleep 60'];
  const argv = asNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...command] : command;
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(child);
  await new Promise((resolve) => child.stdout.once('data', resolve));
  return child.pid!;
}

describe('join', () => {
  it(`joins the user namespace of an unshare -U -r process by pid${isRoot ? ' (one of uid 65534)' : ''}`, async () => {
    const pid = await holder(isRoot);
    const out = await runIn({ join: pid }, 'readlink /proc/self/ns/user; id -u; id -g; cat /proc/self/uid_map; grep ^Groups: /proc/self/status');
    const [ns, id, group, map, groups] = lines(out.stdout);
    expect(ns).toBe(readlinkSync(`/proc/${pid}/ns/user`));
    expect(ns).not.toBe(readlinkSync('/proc/self/ns/user'));
    expect([id, group]).toEqual(['0', '0']);
    const outside = readIdMaps(pid).uid[0]!.outside;
    expect(map).toBe(`0 ${outside} 1`);
    // A root caller drops its supplementary groups (gid 0 among them) before it joins.
    if (isRoot) expect(groups).toBe('Groups:');
  });

  it('joins by path too', async () => {
    const pid = await holder(isRoot);
    const out = await runIn({ join: `/proc/${pid}/ns/user` }, 'readlink /proc/self/ns/user');
    expect(lines(out.stdout)).toEqual([readlinkSync(`/proc/${pid}/ns/user`)]);
  });

  it('says when the process is gone', async () => {
    const child = spawn('true');
    const pid = child.pid!;
    await new Promise((resolve) => child.once('close', resolve));
    expect(() => normalizeUsernsOptions({ join: pid })).toThrow(
      expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'userns.join', message: `invalid option userns.join: process ${pid} is gone (no /proc/${pid}/ns/user)` }),
    );
  });

  it('says when the process is gone by the time the runner opens its namespace', async () => {
    const pid = await holder(isRoot);
    const settings = normalizeUsernsOptions({ join: pid })!;
    const child = started.pop()!;
    const gone = new Promise((resolve) => child.once('close', resolve));
    child.kill('SIGKILL');
    await gone;
    const { error } = await runProgram(programSteps(usernsPlan(settings), 'true'));
    expect(error).toMatchObject({ step: 'userns.join.open', code: 'ENOENT' });
    expect(refineUsernsError(error!, settings)).toMatchObject({
      isoCode: 'ISO_SETUP_FAILED',
      code: 'ENOENT',
      message: expect.stringMatching(new RegExp(`^userns\\.join\\.open\\[\\d+\\]: openat\\(AT_FDCWD, "/proc/${pid}/ns/user", O_CLOEXEC\\) failed: ENOENT \\(No such file or directory\\): process ${pid} is gone$`)),
    });
  });

  it(isRoot ? 'refuses a namespace whose 0 is host root' : "refuses another user's process", async () => {
    if (isRoot) {
      const pid = await holder(false); // as root, unshare -r maps 0 to host 0
      // The namespace decides, however its path is spelled.
      for (const join of [pid, `/proc/${pid}/ns/user`, `//proc/${pid}/ns/user`, `/proc/${pid}/task/${pid}/ns/user`, `/proc/${pid}/../${pid}/ns/user`])
        expect(() => normalizeUsernsOptions({ join }), String(join)).toThrow(
          expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', message: expect.stringContaining('the sandbox would run as host root') }),
        );
      // Only by its loud name.
      expect(normalizeUsernsOptions({ join: `/proc/${pid}/task/${pid}/ns/user`, dangerouslyMapHostRoot: true })?.join).toMatchObject({ pid });
    } else {
      expect(() => normalizeUsernsOptions({ join: 1 })).toThrow(
        expect.objectContaining({ isoCode: 'ISO_NEEDS_PRIVILEGE', path: 'userns.join', message: expect.stringContaining('process 1 belongs to another user') }),
      );
    }
  });

  it('refuses its own namespace, other files and other options', () => {
    expect(() => normalizeUsernsOptions({ join: process.pid })).toThrow(expect.objectContaining({ message: expect.stringContaining('already in the user namespace') }));
    expect(() => normalizeUsernsOptions({ join: '/proc/self/ns/net' })).toThrow(expect.objectContaining({ message: expect.stringContaining('is not a user namespace file') }));
    expect(() => normalizeUsernsOptions({ join: 'proc/1/ns/user' })).toThrow(expect.objectContaining({ path: 'userns.join' }));
    expect(() => normalizeUsernsOptions({ join: 0 })).toThrow(expect.objectContaining({ path: 'userns.join' }));
    expect(() => normalizeUsernsOptions({ join: 1, ranges: 'subordinate' })).toThrow(expect.objectContaining({ path: 'userns.ranges' }));
  });

  it('names the cause of a refused setns', () => {
    const cause = new IsoError('ISO_SETUP_FAILED', 'userns.join.setns[4]: setns($userns.join.fd, CLONE_NEWUSER) failed: EPERM (Operation not permitted)', {
      errnoCode: 'EPERM',
      errno: -1,
      syscall: 'setns',
      step: 'userns.join.setns',
      stepIndex: 4,
      phase: 'child',
    });
    expect(refineUsernsError(cause)).toMatchObject({
      isoCode: 'ISO_NEEDS_PRIVILEGE',
      code: 'EPERM',
      step: 'userns.join.setns',
      message: expect.stringMatching(/^userns\.join\.setns\[4\]: setns.*EPERM .*: joining needs CAP_SYS_ADMIN in that user namespace/),
    });
  });
});
