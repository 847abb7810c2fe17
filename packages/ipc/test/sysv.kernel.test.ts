import { execFileSync, spawn } from 'node:child_process';
import { guardNoLeaks, runScript } from '@iso/test-kit';
import { usernsFeature } from '@iso/userns';
import { describe, expect, it } from 'vitest';
import { ipcFeature, ipcNamespaceId, listSysvObjects } from '../src/index.js';

const isRoot = process.getuid?.() === 0;

describe('@iso/ipc on the kernel', () => {
  guardNoLeaks();

  it('lists SysV objects as ipcs does', () => {
    const id = Number(/(\d+)/.exec(execFileSync('ipcmk', ['-M', '8192'], { encoding: 'utf8' }))![1]);
    try {
      const shm = listSysvObjects().shm.find((s) => s.id === id);
      expect(shm).toMatchObject({ size: 8192, uid: process.getuid!(), attached: 0 });
      // ipcs prints the key in hex as the oracle.
      const row = execFileSync('ipcs', ['-m'], { encoding: 'utf8' }).split('\n').find((l) => new RegExp(`^0x[0-9a-f]+\\s+${id}\\s`).test(l));
      expect(row?.split(/\s+/)[0]).toBe(`0x${shm!.key.toString(16).padStart(8, '0')}`);
    } finally {
      execFileSync('ipcrm', ['-m', String(id)]);
    }
    expect(listSysvObjects().shm.some((s) => s.id === id)).toBe(false);
  });

  it('reads another namespace as root, and says what is missing otherwise', async () => {
    const child = spawn('unshare', ['--user', '--map-root-user', '--ipc', 'sh', '-c', 'ipcmk -Q >/dev/null && echo ready && exec sleep 30'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      expect(ipcNamespaceId(child.pid)).not.toBe(ipcNamespaceId('self'));
      if (isRoot) {
        const objects = listSysvObjects(child.pid);
        expect(objects.msg).toHaveLength(1);
        expect(objects.shm).toEqual([]);
      } else {
        expect(() => listSysvObjects(child.pid)).toThrow(expect.objectContaining({ isoCode: 'ISO_NEEDS_PRIVILEGE' }));
      }
      // The caller's thread is back in its own namespace either way.
      expect(ipcNamespaceId('self')).toBe(Number(/\d+/.exec(execFileSync('readlink', [`/proc/${process.pid}/ns/ipc`], { encoding: 'utf8' }))![0]));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('gives a sandbox SysV objects of its own', async () => {
    const before = new Set(listSysvObjects().shm.map((s) => s.id));
    const hostId = Number(/(\d+)/.exec(execFileSync('ipcmk', ['-M', '8192'], { encoding: 'utf8' }))![1]);
    try {
      const out = await runScript([ipcFeature, usernsFeature], { ipc: true }, 'ipcmk -M 4096 >/dev/null && ipcs -m | awk \'/^0x/ { print $2, $5 }\'; readlink /proc/self/ns/ipc');
      expect(out.error).toBeUndefined();
      const [segments, ns] = [out.stdout.trim().split('\n').slice(0, -1), out.stdout.trim().split('\n').at(-1)];
      // Only the segment made inside: the host's is not there.
      expect(segments.map((line) => line.split(' ')[1])).toEqual(['4096']);
      expect(ns).not.toBe(`ipc:[${ipcNamespaceId('self')}]`);
      // The sandbox's segment died with its namespace; the host's is still there.
      // (Other host segments may exist; only the ones that are new count.)
      expect(listSysvObjects().shm.filter((s) => !before.has(s.id)).map((s) => s.id)).toEqual([hostId]);
      expect(listSysvObjects().shm.some((s) => s.id === hostId)).toBe(true);
    } finally {
      execFileSync('ipcrm', ['-m', String(hostId)]);
    }
  });
});
