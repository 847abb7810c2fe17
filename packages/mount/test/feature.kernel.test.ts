// The real pid, mount and userns features composed by the test kit as @iso/sandbox composes
// them, on the real kernel: what `{ pid: true, mount: { root: 'host-readonly' } }` gives.
import { existsSync, readlinkSync } from 'node:fs';
import { pidFeature } from '@iso/pid';
import { guardNoLeaks, runScript } from '@iso/test-kit';
import { usernsFeature } from '@iso/userns';
import { describe, expect, it } from 'vitest';
import { DEV_LINKS, DEV_NODES, mountFeature } from '../src/index.js';

guardNoLeaks();

const features = [pidFeature, mountFeature, usernsFeature];

describe('[pid, mount, userns] with a read-only host root', () => {
  it('has the /proc of its own PID namespace and a minimal /dev', async () => {
    const script = [
      // A glob is expanded by the shell itself (PID 2, under iso's init): no other process shows.
      'echo /proc/[0-9]*',
      'echo $$',
      'readlink /proc/self/ns/pid',
      "grep ' /proc ' /proc/self/mountinfo | cut -d' ' -f9 | tr '\\n' ' '; echo",
      'ls -A /dev | tr "\\n" " "; echo',
      'stat -f -c %T /dev /dev/pts /dev/shm',
      'echo discard > /dev/null && echo null-ok',
    ].join('; ');
    const { code, stdout, stderr, error } = await runScript(features, { pid: true, mount: { root: 'host-readonly' } }, script);
    expect(error).toBeUndefined();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const [pids, self, pidNamespace, procTypes, dev, ...rest] = stdout.trim().split('\n');
    expect(pids).toBe('/proc/1 /proc/2');
    expect(self).toBe('2');
    expect(pidNamespace).toMatch(/^pid:\[\d+\]$/);
    expect(pidNamespace).not.toBe(readlinkSync('/proc/self/ns/pid'));
    // The host's /proc (cloned with the root) with pid's fresh one stacked on it.
    expect(procTypes?.trim()).toBe('proc proc');
    const nodes = DEV_NODES.filter((node) => existsSync(`/dev/${node}`));
    const expected = [...nodes, ...DEV_LINKS.map(([link]) => link), 'pts', 'shm', 'mqueue'].sort();
    expect(dev?.trim()).toBe(expected.join(' '));
    expect(rest).toEqual(['tmpfs', 'devpts', 'tmpfs', 'null-ok']);
  });
});

describe('/dev/shm of a minimal /dev', () => {
  // Its pages belong to no process, so the OOM killer cannot free them: it is always sized.
  it("is 64 MiB by default (Docker's --shm-size), and shmSize sets it", async () => {
    const sizeOf = async (mount: object) => {
      const { stdout, error } = await runScript(features, { pid: true, mount }, "df -k --output=size /dev/shm | tail -1");
      expect(error).toBeUndefined();
      return Number(stdout.trim());
    };
    expect(await sizeOf({ root: 'host-readonly' })).toBe(64 * 1024);
    expect(await sizeOf({ root: 'host-readonly', entries: [{ type: 'dev', target: '/dev', shmSize: '8m' }] })).toBe(8 * 1024);
    const { stdout } = await runScript(features, { pid: true, mount: { root: 'host-readonly', entries: [{ type: 'dev', target: '/dev', shmSize: '1m' }] } }, 'head -c 2000000 /dev/zero > /dev/shm/fill 2>/dev/null; echo $?');
    expect(stdout).toBe('1\n'); // ENOSPC: the limit holds
  });
});
