import { execFileSync, spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normalizeUtsOptions, uname, utsNamespaceId, utsPlan } from '../src/index.js';

describe('@iso/uts', () => {
  it('reads uname(2) as uname(1) does', () => {
    const u = uname();
    expect(u.nodename).toBe(execFileSync('uname', ['-n'], { encoding: 'utf8' }).trim());
    expect(u.release).toBe(execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim());
    expect(u.machine).toBe(execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim());
    expect(u.sysname).toBe('Linux');
  });

  it('tells namespaces apart', async () => {
    expect(`uts:[${utsNamespaceId('self')}]`).toBe(readlinkSync('/proc/self/ns/uts'));
    const child = spawn('unshare', ['--user', '--map-root-user', '--uts', 'sleep', '30'], { stdio: 'ignore' });
    try {
      // unshare execs sleep in place once the namespaces exist.
      let id = utsNamespaceId(child.pid);
      for (let i = 0; i < 200 && id === utsNamespaceId('self'); i++) {
        await new Promise((r) => setTimeout(r, 10));
        id = utsNamespaceId(child.pid);
      }
      expect(id).not.toBe(utsNamespaceId('self'));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('checks names before anything runs', () => {
    expect(normalizeUtsOptions(true)).toEqual({});
    expect(normalizeUtsOptions({ hostname: 'h'.repeat(64) })).toEqual({ hostname: 'h'.repeat(64) });
    for (const [option, path] of [
      [{ hostname: 'h'.repeat(65) }, 'uts.hostname'],
      [{ hostname: 'é'.repeat(33) }, 'uts.hostname'],
      [{ domainname: 'a\0b' }, 'uts.domainname'],
      [{ hostname: 3 }, 'uts.hostname'],
      [{ nodename: 'x' }, 'uts.nodename'],
    ] as const)
      expect(() => normalizeUtsOptions(option as never)).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path }));
  });

  it('plans the namespace and the names', () => {
    const plan = utsPlan({ hostname: 'box', domainname: 'dom' });
    expect(plan.namespaces?.map((s) => s.name)).toEqual(['uts.unshare']);
    expect(plan.hostname?.map((s) => s.name)).toEqual(['uts.sethostname', 'uts.setdomainname']);
    expect(utsPlan({}).hostname).toEqual([]);
  });
});
