import { execFileSync, spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ipcNamespaceId, ipcPlan, listSysvObjects, normalizeIpcOptions } from '../src/index.js';

const isRoot = process.getuid?.() === 0;

describe('@iso/ipc', () => {
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

  it('plans the namespace and mqueue', () => {
    expect(normalizeIpcOptions(true)).toEqual({ mqueue: true, mqueueMountPoint: '/dev/mqueue' });
    expect(() => normalizeIpcOptions({ mqueueMountPoint: 'rel' })).toThrow(expect.objectContaining({ path: 'ipc.mqueueMountPoint' }));
    expect(() => normalizeIpcOptions({ mqueue: 'yes' } as never)).toThrow(expect.objectContaining({ path: 'ipc.mqueue' }));
    const plan = ipcPlan({ mqueue: true, mqueueMountPoint: '/dev/mqueue' }, true);
    expect(plan.mounts?.map((s) => s.name)).toEqual(['ipc.mqueue']);
    expect(plan.mounts?.[0]).toMatchObject({ tolerate: ['ENOENT'] });
    expect(ipcPlan({ mqueue: true, mqueueMountPoint: '/x' }, true).mounts?.[0]).not.toHaveProperty('tolerate');
    expect(ipcPlan({ mqueue: true, mqueueMountPoint: '/dev/mqueue' }, false).mounts).toBeUndefined();
  });
});
