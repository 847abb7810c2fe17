// The in-process face (mounts in the caller's own namespace) and idmapped mounts. Both need
// root. As root they run where the host cannot see them: the helpers in a Node process
// started by `unshare --mount --propagation private`, idmapped entries in a sandbox. As
// uid 65534 the same calls must fail with ISO_NEEDS_PRIVILEGE before touching anything.
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdirSync, readlinkSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bindMount, mountTmpfs, normalizeMountOptions, setMountAttributes, unmount } from '../src/index.js';
import { SANDBOX_ROOT, guardHost, isRoot, runSandbox } from './helpers.js';

const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));

const scratch = guardHost();

/**
 * A user namespace to idmap with: `unshare -U sleep`, whose map Node (root) writes as
 * "1000 <host> 1" (host 0 unless told): on-disk uid 1000 shows as host uid <host> through
 * an idmapped mount, and what <host> writes is stored as 1000.
 */
async function idmapNamespace(host = 0): Promise<{ pid: number; stop: () => Promise<void> }> {
  const child = spawn('unshare', ['--user', 'sleep', '60'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const pid = child.pid!;
  const own = readlinkSync('/proc/self/ns/user');
  for (let i = 0; i < 500; i++) {
    let ns = own;
    try {
      ns = readlinkSync(`/proc/${pid}/ns/user`);
    } catch {
      // not yet
    }
    if (ns !== own) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  writeFileSync(`/proc/${pid}/uid_map`, `1000 ${host} 1\n`);
  writeFileSync(`/proc/${pid}/setgroups`, 'deny');
  writeFileSync(`/proc/${pid}/gid_map`, `1000 ${host} 1\n`);
  return {
    pid,
    stop: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A source dir with a file and a dir owned by uid 1000, as idmapping needs. */
function idmapSource(): string {
  const dir = scratch({ owner: 'caller' });
  writeFileSync(join(dir, 'f1000'), 'x');
  chownSync(join(dir, 'f1000'), 1000, 1000);
  mkdirSync(join(dir, 'own'));
  chownSync(join(dir, 'own'), 1000, 1000);
  return dir;
}

describe('@iso/mount in-process helpers', () => {
  it.runIf(isRoot)('bind, remount, tmpfs, unmount and idmapped binds in the caller\'s namespace (root)', async () => {
    const src = scratch({ owner: 'caller' });
    const dst = scratch({ owner: 'caller' });
    const tmp = scratch({ owner: 'caller' });
    writeFileSync(join(src, 'file'), 'src');
    const idsrc = idmapSource();
    const iddst = scratch({ owner: 'caller' });
    const holder = await idmapNamespace();
    const script = `
      const m = await import(${JSON.stringify(DIST)});
      const fs = await import('node:fs');
      const [src, dst, tmp, idsrc, iddst, pid] = JSON.parse(process.argv[1]);
      const out = {};
      const attempt = (f) => { try { f(); return 'ok'; } catch (e) { return e.code; } };
      m.bindMount(src, dst, { readonly: true });
      out.readonly = attempt(() => fs.writeFileSync(dst + '/new', 'x'));
      m.setMountAttributes(dst, { readonly: false });
      out.writable = attempt(() => fs.writeFileSync(dst + '/new', 'x'));
      m.unmount(dst);
      out.afterUnmount = fs.readdirSync(dst);
      m.mountTmpfs(tmp, { size: '1m', mode: 0o700 });
      const t = m.readMountInfo().find((e) => e.mountPoint === tmp);
      out.tmpfs = [t?.fsType, (fs.statSync(tmp).mode & 0o7777).toString(8)];
      m.unmount(tmp, { detach: true });
      m.bindMount(idsrc, iddst, { idmap: { userns: pid } });
      out.idmapped = m.readMountInfo().find((e) => e.mountPoint === iddst)?.mountOptions.includes('idmapped');
      out.shownOwner = fs.statSync(iddst + '/f1000').uid;
      fs.writeFileSync(iddst + '/own/new', 'n');
      try { m.bindMount(src + '/missing', dst); } catch (e) { out.missing = { isoCode: e.isoCode, code: e.code, step: e.step }; }
      console.log(JSON.stringify(out));`;
    let out: Record<string, unknown>;
    try {
      const text = execFileSync('unshare', ['--mount', '--propagation', 'private', process.execPath, '--input-type=module', '-e', script, JSON.stringify([src, dst, tmp, idsrc, iddst, holder.pid])], {
        encoding: 'utf8',
      });
      out = JSON.parse(text) as Record<string, unknown>;
    } finally {
      await holder.stop();
    }
    expect(out).toEqual({
      readonly: 'EROFS',
      writable: 'ok',
      afterUnmount: [],
      tmpfs: ['tmpfs', '700'],
      idmapped: true,
      shownOwner: 0,
      missing: { isoCode: 'ISO_SYSCALL_FAILED', code: 'ENOENT', step: 'mount.bindMount' },
    });
    expect(readdirSync(src).sort()).toEqual(['file', 'new']);
    // Written as 0 through the idmapped mount, stored as 1000.
    expect(statSync(join(idsrc, 'own', 'new')).uid).toBe(1000);
  });

  it.runIf(!isRoot)('refuses a non-root caller with ISO_NEEDS_PRIVILEGE before any syscall', () => {
    const dir = scratch();
    for (const call of [
      () => { bindMount(dir, dir, { readonly: true }); },
      () => { mountTmpfs(dir); },
      () => { setMountAttributes(dir, { readonly: true }); },
      () => { unmount(dir); },
    ])
      expect(call).toThrow(expect.objectContaining({ isoCode: 'ISO_NEEDS_PRIVILEGE', code: 'ISO_NEEDS_PRIVILEGE', message: expect.stringContaining('needs root') }));
  });
});

describe('@iso/mount idmapped entries', () => {
  it.runIf(isRoot)('shows and writes owners through the given user namespace (root)', async () => {
    const source = idmapSource();
    const target = scratch();
    // On-disk 1000 shows as the host id of the sandbox's root (nobody), which is 0 inside.
    const holder = await idmapNamespace(SANDBOX_ROOT.uid);
    try {
      const script = `stat -c %u ${target}/f1000; echo n > ${target}/own/new && echo wrote; grep -c ' ${target} rw,.*idmapped' /proc/self/mountinfo`;
      const { stdout } = await runSandbox(
        {
          entries: [
            { type: 'bind', source: join(source, 'missing'), target, optional: true, idmap: { userns: holder.pid } },
            { type: 'bind', source, target, idmap: { userns: `/proc/${holder.pid}/ns/user` } },
          ],
        },
        script,
      );
      expect(stdout.trim().split('\n')).toEqual(['0', 'wrote', '1']);
    } finally {
      await holder.stop();
    }
    expect(statSync(join(source, 'own', 'new')).uid).toBe(1000);
  });

  it.runIf(!isRoot)('refuses idmapped entries to a non-root caller with ISO_NEEDS_PRIVILEGE', () => {
    expect(() => normalizeMountOptions({ entries: [{ type: 'bind', source: '/usr', target: '/usr', idmap: { userns: process.pid } }] })).toThrow(
      expect.objectContaining({ isoCode: 'ISO_NEEDS_PRIVILEGE', path: 'mount.entries[0].idmap', phase: 'validate' }),
    );
  });
});
