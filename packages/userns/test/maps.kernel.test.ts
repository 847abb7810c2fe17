import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mapToOutside, probeUserns, readIdMaps, tryUserns, userNamespaceOwner } from '../src/index.js';
import { gid, isRoot, runIn, uid } from './helpers.js';

describe('@iso/userns on the kernel', () => {
  it('reads id maps, with util-linux unshare as the oracle', async () => {
    expect(readIdMaps('self')).toEqual({ uid: [{ inside: 0, outside: 0, count: 4294967295 }], gid: [{ inside: 0, outside: 0, count: 4294967295 }], setgroups: 'allow' });
    const child = spawn('unshare', ['--user', '--map-root-user', 'sh', '-c', 'echo ready; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      const maps = readIdMaps(child.pid);
      expect(maps).toEqual({ uid: [{ inside: 0, outside: uid, count: 1 }], gid: [{ inside: 0, outside: gid, count: 1 }], setgroups: 'deny' });
      expect(mapToOutside(maps.uid, 0)).toBe(uid);
      expect(mapToOutside(maps.uid, 1)).toBeUndefined();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('maps root inside to the caller, or to nobody for a root caller', async () => {
    const { stdout: out } = await runIn(true, 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; grep -E "^(Uid|Groups):" /proc/self/status');
    const backing = isRoot ? 65534 : uid;
    const backingGid = isRoot ? 65534 : gid;
    const lines = out.trim().split('\n').map((l) => l.trim().replace(/\s+/g, ' '));
    expect(lines.slice(0, 5)).toEqual(['0', '0', `0 ${backing} 1`, `0 ${backingGid} 1`, isRoot ? 'allow' : 'deny']);
    expect(lines[5]).toBe('Uid: 0 0 0 0');
    // A root caller's supplementary groups (gid 0 among them) are dropped inside.
    if (isRoot) expect(lines[6]).toBe('Groups:');
  });

  it('probes: supported here, by the sysctls and for real', async () => {
    const probe = probeUserns();
    expect(probe).toMatchObject({ supported: true, reasons: [] });
    expect(probe.sysctls.maxUserNamespaces).toBeGreaterThan(0);
    expect(await tryUserns()).toEqual({ supported: true, errno: 0, code: undefined });
  });

  it('says who owns a user namespace, whatever the path (NS_GET_OWNER_UID)', async () => {
    expect(userNamespaceOwner('/proc/self/ns/user')).toBe(0);
    const child = spawn('unshare', ['--user', 'sh', '-c', 'echo ready; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      for (const path of [`/proc/${child.pid}/ns/user`, `//proc/${child.pid}/task/${child.pid}/ns/user`]) expect(userNamespaceOwner(path)).toBe(uid);
    } finally {
      child.kill('SIGKILL');
    }
    expect(() => userNamespaceOwner('/proc/self/ns/pid')).toThrow(expect.objectContaining({ isoCode: 'ISO_SYSCALL_FAILED', code: 'EINVAL', step: 'userns.owner' }));
    expect(() => userNamespaceOwner('/nonexistent')).toThrow(expect.objectContaining({ isoCode: 'ISO_SYSCALL_FAILED', code: 'ENOENT' }));
  });

  it('names the knob when user namespaces are off', () => {
    // user.max_user_namespaces is per user namespace: set it to 0 in one made by unshare,
    // then ask iso for a sandbox from a Node process inside it.
    const core = fileURLToPath(new URL('../../core/dist/index.js', import.meta.url));
    const userns = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const script = `const core = await import(${JSON.stringify(core)}); const u = await import(${JSON.stringify(userns)});
      const steps = [...core.prepareSteps(process.pid), ...u.usernsPlan(u.normalizeUsernsOptions(true)).userns];
      const { child, ready } = core.launch(core.buildProgram(steps, core.hostArch()), { stdio: ['ignore', 'ignore', 'inherit'] });
      try { await ready; console.log('no error'); } catch (e) { const d = u.usernsDisabledError(e);
        console.log(JSON.stringify({ isoCode: d.isoCode, code: d.code, message: d.message })); }`;
    const out = execFileSync('unshare', ['--user', '--map-root-user', 'sh', '-c', 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" --input-type=module -e "$1"', process.execPath, script], {
      encoding: 'utf8',
    });
    const error = JSON.parse(out) as { isoCode: string; code: string; message: string };
    expect(error).toMatchObject({ isoCode: 'ISO_USERNS_DISABLED', code: 'ENOSPC' });
    expect(error.message).toContain('user.max_user_namespaces is 0');
  });
});
