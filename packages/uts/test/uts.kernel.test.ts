import { execFileSync, spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { guardNoLeaks, runScript } from '@iso/test-kit';
import { usernsFeature } from '@iso/userns';
import { describe, expect, it } from 'vitest';
import { uname, utsFeature, utsNamespaceId } from '../src/index.js';

describe('@iso/uts on the kernel', () => {
  guardNoLeaks();

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

  it('sets the names inside a sandbox, and the host keeps its own', async () => {
    const before = hostname();
    const out = await runScript([utsFeature, usernsFeature], { uts: { hostname: 'iso-box', domainname: 'iso-domain' } }, 'hostname; cat /proc/sys/kernel/domainname; readlink /proc/self/ns/uts');
    expect(out.error).toBeUndefined();
    const [name, domain, ns] = out.stdout.trim().split('\n');
    expect([name, domain]).toEqual(['iso-box', 'iso-domain']);
    expect(ns).not.toBe(readlinkSync('/proc/self/ns/uts'));
    expect(hostname()).toBe(before);
  });

  it('without names, starts with a copy of the host\'s', async () => {
    const out = await runScript([utsFeature, usernsFeature], { uts: true }, 'hostname');
    expect(out.stdout.trim()).toBe(hostname());
  });
});
