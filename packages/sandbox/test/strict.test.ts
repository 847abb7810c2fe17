// Secure with no options at all: run(cmd) gets the 'strict' preset, and the attacks that
// worked against the old default (a bare child process) fail, as root and as uid 65534.
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { guardNoLeaks } from '@iso/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { explain, run, withPreset } from '../src/index.js';
import { isRoot } from './helpers.js';

const mark = `iso-strict-${process.pid}`;
const probeDir = mkdtempSync(join(tmpdir(), 'iso-strict-'));
afterAll(() => {
  rmSync(probeDir, { recursive: true, force: true });
});

/** One line per path: whether a write to it worked. */
const tryWrites = (paths: string[]) => paths.map((p) => `(echo x > ${p}) 2>/dev/null && echo "${p}: wrote" || echo "${p}: refused"`).join('; ');

describe(`the strict default, as ${isRoot ? 'root' : 'uid 65534'}`, () => {
  guardNoLeaks();

  it('writes nothing on the host: not the cwd, /tmp, /var/tmp, /dev/shm, $HOME or root-owned files', async () => {
    const paths = [join(process.cwd(), mark), join(probeDir, mark), `/var/tmp/${mark}`, `/dev/shm/${mark}`, join(homedir(), mark), '/proc/sys/kernel/core_pattern', `/etc/${mark}`];
    const r = await run('sh', ['-c', tryWrites(paths)]);
    expect(r.exitCode).toBe(0);
    // /tmp and /dev/shm are the sandbox's own (writable inside, gone after); the rest are refused.
    for (const line of r.stdout.trim().split('\n')) {
      const [path] = line.split(': ');
      if (path!.startsWith('/dev/shm/') || path!.startsWith('/tmp/')) continue; // HOME is /tmp in the rootless run
      expect(line).toBe(`${path}: refused`);
    }
    for (const path of paths.slice(0, 5)) expect(existsSync(path), path).toBe(false);
    expect(readFileSync('/proc/sys/kernel/core_pattern', 'utf8')).not.toBe('x\n');
  });

  it('cannot see, signal or ptrace its caller', async () => {
    const node = process.pid;
    const r = await run('sh', ['-c', `kill -0 ${node} 2>/dev/null && echo signalled || echo no-signal; cat /proc/${node}/mem 2>/dev/null | head -c1 | wc -c; echo /proc/[0-9]*; grep -c . /proc/$PPID/cmdline 2>/dev/null || true`]);
    const [signal, mem, procs] = r.stdout.trim().split('\n');
    expect(signal).toBe('no-signal');
    expect(mem).toBe('0');
    expect(procs).toBe('/proc/1 /proc/2'); // its own PID namespace: iso's init and itself
  });

  it("reaches no host network: a server on the host's loopback is not there, only its own lo", async () => {
    const server = createServer((socket) => socket.end('host\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const probe = `import socket\ntry:\n  socket.create_connection(("127.0.0.1", ${port}), timeout=2).recv(10)\n  print("reached")\nexcept OSError as e:\n  print(e.errno)`;
      const r = await run('sh', ['-c', `tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; python3 -c '${probe}'`]);
      expect(r.stdout).toBe('lo\n111\n'); // ECONNREFUSED: its own loopback, nothing listening
      const host = await run('python3', ['-c', probe], { net: 'host' });
      expect(host.stdout).toBe('reached\n');
      // No step shows a shared network, so explain() says it in words.
      expect(explain('true', [], { net: 'host' }).split('\n')[1]).toBe("# net: shares the host's network namespace: its interfaces, loopback servers and abstract unix sockets");
      expect(explain('true')).not.toContain('# net:');
    } finally {
      server.close();
    }
  });

  it('has no capability, no_new_privs, a seccomp filter and its own namespaces', async () => {
    const r = await run('sh', ['-c', 'grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status; for n in user pid mnt uts ipc net; do readlink /proc/self/ns/$n; done']);
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, 4)).toEqual(['CapEff:\t0000000000000000', 'CapBnd:\t0000000000000000', 'NoNewPrivs:\t1', 'Seccomp:\t2']);
    const mine = ['user', 'pid', 'mnt', 'uts', 'ipc', 'net'].map((n) => readlinkSync(`/proc/self/ns/${n}`));
    lines.slice(4).forEach((ns, i) => { expect(ns).not.toBe(mine[i]); });
  });

  it('a fork bomb ends at the process limit, and a tmpfs fill at its size', async () => {
    const bomb = 'import os, time\nn = 0\ntry:\n  while n < 5000:\n    if os.fork() == 0:\n      time.sleep(30)\n      os._exit(0)\n    n += 1\nexcept OSError as e:\n  print(n, e.errno)';
    const forks = await run('python3', ['-c', bomb]);
    const [made, errno] = forks.stdout.trim().split(' ').map(Number);
    expect(errno).toBe(11);
    expect(made).toBeLessThan(1024);
    const fill = await run('sh', ['-c', 'head -c 300m /dev/zero > /tmp/fill 2>/dev/null; echo $?; du -m /tmp/fill | cut -f1; head -c 100m /dev/zero > /dev/shm/fill 2>/dev/null; echo $?']);
    expect(fill.stdout).toBe('1\n128\n1\n');
  }, 60_000);

  it('explain() with no options shows the whole preset', () => {
    const text = explain('true');
    for (const call of ['unshare', 'CLONE_NEWPID', 'CLONE_NEWNET', 'SIOCSIFFLAGS', 'CLONE_NEWNS', 'CLONE_NEWUTS', 'CLONE_NEWIPC', 'pivot_root', 'prlimit64', 'PR_SET_NO_NEW_PRIVS', 'seccomp']) expect(text, call).toContain(call);
  });

  it("options override the preset key by key; false turns a feature off; 'none' is hygiene only", async () => {
    expect(withPreset({ pid: false }, false)).toMatchObject({ pid: false, uts: true, mount: { root: 'host-readonly' } });
    expect(withPreset({ preset: 'none' }, false)).toEqual({ seccomp: false, preset: 'none' });
    expect(withPreset({ preset: 'none' }, true)).toEqual({ userns: true, seccomp: false, preset: 'none' });
    expect(() => withPreset({ preset: 'docker' as never })).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'preset' }));
    const none = await run('sh', ['-c', 'cat /proc/self/uid_map; grep "^Seccomp:" /proc/self/status; readlink /proc/self/ns/pid'], { preset: 'none' });
    const [uidMap, seccomp, pidNs] = none.stdout.trim().split('\n');
    // A root caller's target is nobody on the host even here; another caller's is itself.
    expect(uidMap).toMatch(isRoot ? /^\s*0\s+65534\s+1$/ : /^\s*0\s+0\s+4294967295$/);
    expect(seccomp).toBe('Seccomp:\t0');
    expect(pidNs).toBe(readlinkSync('/proc/self/ns/pid'));
  });
});
