import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { on } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox } from '../src/index.js';
import type { SeccompOption } from '@iso/seccomp';
import type { SeccompDecision, SeccompNotification, SeccompNotifyEvent } from '../src/index.js';
import { SEALED_RUNNER } from '@iso/test-kit';
import { callerUid, childrenOf, isRoot, waitFor } from './helpers.js';

/**
 * Node's open fds, by what they point to: a leaked listener or socket shows here. The
 * sealed runner copy of the first launch stays for the process's life, by design.
 */
function openFds(): string[] {
  return readdirSync('/proc/self/fd')
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return 'gone';
      }
    })
    .filter((target) => target !== 'gone' && target !== SEALED_RUNNER)
    .sort();
}

// These tests watch the host's files from Node, so the target shares the host's view.
const { run, spawn } = createSandbox({ preset: 'none' });

/** Everything allowed, the listed calls sent to `onNotify`. */
function notifying(names: string[], onNotify: (n: SeccompNotification) => SeccompDecision | Promise<SeccompDecision>): SeccompOption {
  return { defaultAction: 'allow', rules: [{ names, action: 'notify' }], onNotify };
}

describe(`seccomp user notifications as ${isRoot ? 'root' : `uid ${callerUid}`}`, () => {
  let dir = '';
  let fdsBefore: string[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'iso-notify-'));
    chmodSync(dir, 0o777); // a root caller's target is nobody on the host, under 'none' too
    fdsBefore = openFds();
  });
  afterEach(async () => {
    await waitFor(() => childrenOf(process.pid).length === 0, 'every sandbox process to end', 5000);
  });
  afterAll(async () => {
    // No listener, return socket or eventfd of a finished sandbox stays open in Node. The
    // one eventfd of the background poll is process-wide and may stay.
    const withoutEventFds = (fds: string[]) => fds.filter((fd) => fd !== 'anon_inode:[eventfd]');
    await waitFor(() => withoutEventFds(openFds()).join() === withoutEventFds(fdsBefore).join(), 'fds to be closed', 5000);
    expect(openFds().length - fdsBefore.length).toBeLessThanOrEqual(1);
    rmSync(dir, { recursive: true, force: true });
  });

  it('hands only the notified calls to the handler, with pid, name, args and the path they point to', async () => {
    const seen: { pid: number; syscall: string; path: string; mode: bigint }[] = [];
    const target = join(dir, 'denied');
    // exec: the pid sh prints is the one that calls mkdir.
    const sandbox = spawn('sh', ['-c', `echo $$; cat /proc/self/status >/dev/null; exec mkdir ${target} ${target}`], {
      seccomp: notifying(['mkdir', 'mkdirat'], (n) => {
        const pathIndex = n.syscall === 'mkdirat' ? 1 : 0;
        seen.push({ pid: n.pid, syscall: n.syscall, path: n.readString(pathIndex), mode: n.args[pathIndex + 1] ?? -1n });
        return { deny: 'EACCES' };
      }),
    });
    const r = await sandbox;
    const [pid] = r.stdout.split('\n');
    expect(r.exitCode).toBe(1);
    expect(r.stderr.match(/Permission denied/g)).toHaveLength(2);
    // Two mkdir calls reached JS; the hundreds of other calls sh and cat made did not.
    expect(seen).toHaveLength(2);
    expect(r.seccomp?.notifications).toBe(2);
    for (const call of seen) {
      expect(call.syscall).toMatch(/^mkdir(at)?$/);
      expect(call.path).toBe(target);
      expect(call.mode).toBe(0o777n);
      expect(call.pid).toBe(Number(pid));
    }
    expect(existsSync(target)).toBe(false);
  });

  it("answers 'continue' (the kernel runs the call), 'allow' (it does not, and reports success) and { allow: value }", async () => {
    const ran = join(dir, 'continued');
    const faked = join(dir, 'faked');
    const decide = (n: SeccompNotification) => {
      if (n.syscall === 'getppid') return { allow: 4242 };
      return n.readString(n.syscall === 'mkdirat' ? 1 : 0) === ran ? 'continue' : 'allow';
    };
    const r = await run('sh', ['-c', `mkdir ${ran} && mkdir ${faked} && echo made; echo ppid=$PPID`], { seccomp: notifying(['mkdir', 'mkdirat', 'getppid'], decide) });
    expect(r.stdout).toBe('made\nppid=4242\n');
    expect(existsSync(ran)).toBe(true);
    // mkdir "succeeded", but nothing was made: the supervisor answered for the kernel.
    expect(existsSync(faked)).toBe(false);
    expect(r.seccomp!.violations).toEqual([]);
  });

  it('brokers an open: Node opens the file it decided on and the target gets that fd', async () => {
    const granted = join(dir, 'granted.txt');
    writeFileSync(granted, 'opened by the supervisor\n');
    const opened: number[] = [];
    const r = await run('sh', ['-c', 'cat /iso-brokered/secret.txt; cat /iso-brokered/other.txt 2>&1; cat /iso-brokered/bad.txt 2>&1; true'], {
      seccomp: notifying(['open', 'openat'], (n) => {
        const path = n.readString(n.syscall === 'openat' ? 1 : 0);
        if (path === '/iso-brokered/secret.txt') {
          const fd = openSync(granted, 'r');
          opened.push(fd);
          return { fd, cloexec: true };
        }
        if (path === '/iso-brokered/bad.txt') return { fd: 1_000_000 }; // not open in Node
        return path.startsWith('/iso-brokered/') ? { deny: 'ENOENT' } : 'continue';
      }),
    });
    opened.forEach((fd) => { closeSync(fd); });
    expect(r.stdout).toMatch(/^opened by the supervisor\n.*No such file or directory\n.*Operation not permitted\n$/);
    expect(r.seccomp!.violations.map((v) => v.decision.kind)).toEqual(['deny', 'deny']);
    expect(r.seccomp!.violations[1]!.handlerError).toMatchObject({ code: 'EBADF' });
  });

  it("streams 'seccomp' and 'violation' events, and the result keeps the violations", async () => {
    const sandbox = spawn('sh', ['-c', `mkdir ${join(dir, 'a')}; mkdir ${join(dir, 'b')}; true`], {
      seccomp: notifying(['mkdir', 'mkdirat'], (n) => (n.readString(n.syscall === 'mkdirat' ? 1 : 0).endsWith('/a') ? 'continue' : { deny: 'EROFS' })),
    });
    const all: SeccompNotifyEvent[] = [];
    sandbox.on('seccomp', (event: SeccompNotifyEvent) => all.push(event));
    const violations: SeccompNotifyEvent[] = [];
    const done = (async () => {
      for await (const [event] of on(sandbox, 'violation', { close: ['close'] })) violations.push(event as SeccompNotifyEvent);
    })();
    const r = await sandbox;
    await done;
    expect(all.map((e) => e.decision.kind)).toEqual(['continue', 'deny']);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ violation: true, delivered: true, decision: { kind: 'deny', errno: 30, errnoCode: 'EROFS' } });
    expect(violations[0]!.syscall).toMatch(/^mkdir/);
    expect(violations[0]!.time).toBeLessThanOrEqual(Date.now());
    expect(r.seccomp!.violations).toEqual(violations);
    expect(existsSync(join(dir, 'a'))).toBe(true);
    expect(existsSync(join(dir, 'b'))).toBe(false);
  });

  it('waits for an async handler, and denies with EPERM when a handler throws, rejects or answers nonsense', async () => {
    const slow = await run('sh', ['-c', `mkdir ${join(dir, 'slow')} && echo ok`], {
      seccomp: notifying(['mkdir', 'mkdirat'], async (): Promise<SeccompDecision> => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        return 'continue';
      }),
    });
    expect(slow.stdout).toBe('ok\n');
    const answers: (() => unknown)[] = [
      () => {
        throw new Error('handler bug');
      },
      () => Promise.reject(new Error('async handler bug')),
      () => 'maybe',
    ];
    for (const answer of answers) {
      const r = await run('sh', ['-c', `mkdir ${join(dir, 'never')} 2>&1; echo rc=$?`], {
        seccomp: notifying(['mkdir', 'mkdirat'], answer as () => 'continue'),
      });
      expect(r.stdout).toMatch(/Operation not permitted\nrc=1\n$/);
      expect(r.seccomp!.violations).toHaveLength(1);
      expect(r.seccomp!.violations[0]).toMatchObject({ decision: { kind: 'deny', errno: 1 }, handlerError: expect.anything() });
    }
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('serves several sandboxes at once, each with its own handler', async () => {
    const calls = [0, 0, 0];
    const runs = calls.map((_, i) =>
      run('sh', ['-c', `for n in 1 2 3 4; do mkdir ${join(dir, `p${i}-`)}$n; done; echo done`], {
        seccomp: notifying(['mkdir', 'mkdirat'], (n) => {
          calls[i]!++;
          return n.readString(n.syscall === 'mkdirat' ? 1 : 0).startsWith(join(dir, `p${i}-`)) ? 'continue' : 'deny';
        }),
      }),
    );
    const results = await Promise.all(runs);
    expect(results.map((r) => r.stdout)).toEqual(['done\n', 'done\n', 'done\n']);
    expect(calls).toEqual([4, 4, 4]);
    expect(results.map((r) => r.seccomp!.violations.length)).toEqual([0, 0, 0]);
    for (let i = 0; i < 3; i++) for (let n = 1; n <= 4; n++) expect(existsSync(join(dir, `p${i}-${n}`))).toBe(true);
  });

  it('guards exec too: the runner’s own execve is notified with its path', async () => {
    const paths: string[] = [];
    const r = await run('/bin/echo', ['hi'], {
      seccomp: notifying(['execve'], (n) => {
        paths.push(n.readString(0));
        return 'continue';
      }),
    });
    expect(r.stdout).toBe('hi\n');
    expect(paths).toEqual(['/bin/echo']);
    await expect(run('/bin/echo', ['hi'], { seccomp: notifying(['execve'], () => ({ deny: 'EACCES' })) })).rejects.toMatchObject({
      code: 'EACCES',
      step: 'core.exec',
    });
  });

  it('ends a target whose handler never answers on timeout, and closes everything', async () => {
    const r = await run('sh', ['-c', `mkdir ${join(dir, 'stuck')}`], {
      timeout: 300,
      seccomp: notifying(['mkdir', 'mkdirat'], () => new Promise(() => undefined)),
    });
    expect(r).toMatchObject({ reason: 'timeout', timedOut: true, seccomp: { notifications: 0 } });
    expect(existsSync(join(dir, 'stuck'))).toBe(false);
  });

  it('closes the return channel when setup fails before the filter is loaded', async () => {
    await expect(run('/nonexistent/iso-notify', [], { seccomp: notifying(['mkdir'], () => 'deny') })).rejects.toMatchObject({
      code: 'ENOENT',
      step: 'core.exec',
    });
    await expect(run('true', [], { cwd: '/nonexistent/iso-dir', seccomp: notifying(['mkdir'], () => 'deny') })).rejects.toMatchObject({
      code: 'ENOENT',
      step: 'core.chdir',
    });
  });

  it('works inside namespaces: the pid is the host pid, whatever the target sees', async () => {
    const pids: number[] = [];
    const r = await run('sh', ['-c', `echo $$; mkdir ${join(dir, 'ns')}; true`], {
      pid: true,
      userns: true,
      seccomp: notifying(['mkdir', 'mkdirat'], (n) => {
        pids.push(n.pid);
        return 'deny';
      }),
    });
    expect(r.stdout).toBe('2\n');
    expect(pids).toHaveLength(1);
    expect(pids[0]).not.toBe(2);
    expect(pids[0]).toBeGreaterThan(1);
  });

  it('readString needs ptrace access to the caller; without it the call is denied, fail-closed', async () => {
    // A target running as a subordinate id: host root may still read its memory
    // (CAP_SYS_PTRACE); an unprivileged caller may not, as it is another host uid.
    const paths: string[] = [];
    const r = await run('sh', ['-c', `mkdir ${join(dir, 'subid')} 2>&1; id -u`], {
      userns: { ranges: 'subordinate', user: 1000, group: 1000 },
      mount: true,
      seccomp: notifying(['mkdir', 'mkdirat'], (n) => {
        paths.push(n.readString(n.syscall === 'mkdirat' ? 1 : 0));
        return 'deny';
      }),
    });
    expect(r.stdout).toMatch(/1000\n$/);
    expect(r.seccomp!.violations).toHaveLength(1);
    if (isRoot) {
      expect(paths).toEqual([join(dir, 'subid')]);
      expect(r.seccomp!.violations[0]!.handlerError).toBeUndefined();
    } else {
      expect(paths).toEqual([]);
      expect(r.seccomp!.violations[0]!.handlerError).toMatchObject({ code: 'ISO_SYSCALL_FAILED', message: expect.stringContaining('/mem') });
    }
    expect(r.stdout).toMatch(/Operation not permitted/);
  });

  it('refuses what cannot work before anything starts', () => {
    const rules = [{ names: ['mkdir'], action: 'notify' as const }];
    expect(() => spawn('true', [], { seccomp: { defaultAction: 'allow', rules } })).toThrow(
      expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'seccomp.onNotify', message: expect.stringContaining('seccomp.rules[0]') }),
    );
    expect(() => spawn('true', [], { seccomp: { defaultAction: 'allow', onNotify: () => 'deny' } })).toThrow(
      expect.objectContaining({ path: 'seccomp.onNotify', message: expect.stringContaining('never be called') }),
    );
    expect(() => spawn('true', [], { seccomp: { defaultAction: 'allow', rules, onNotify: 'deny' as never } })).toThrow(
      expect.objectContaining({ path: 'seccomp.onNotify' }),
    );
    // The runner hands the listener over with sendmsg, after the filter is on.
    expect(() => spawn('true', [], { seccomp: notifying(['mkdir', 'sendmsg'], () => 'deny') })).toThrow(
      expect.objectContaining({ path: 'seccomp', message: expect.stringContaining('sendmsg must not be notified') }),
    );
    expect(() =>
      spawn('true', [], { seccomp: { defaultAction: 'allow', rules: [...rules, { names: ['sendmsg'], action: { errno: 'EPERM' } }], onNotify: () => 'deny' } }),
    ).toThrow(expect.objectContaining({ message: expect.stringContaining('sendmsg gets errno') }));
    // A Docker profile's SCMP_ACT_NOTIFY needs the handler too.
    const docker = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] };
    expect(() => spawn('true', [], { seccomp: { docker } })).toThrow(expect.objectContaining({ message: expect.stringContaining('seccomp.docker.syscalls[0]') }));
    // Same policy with and without a handler: the plan cache must not let the second through.
    expect(() => spawn('true', [], { seccomp: { defaultAction: 'allow', rules } })).toThrow(expect.objectContaining({ path: 'seccomp.onNotify' }));
  });

  it('hands calls to the handler on top of the default profile, which still decides the rest', async () => {
    const seen: string[] = [];
    const r = await run('sh', ['-c', `mkdir ${join(dir, 'default')} 2>/dev/null; echo mkdir=$?; unshare -U true 2>/dev/null; echo unshare=$?`], {
      seccomp: {
        profile: 'default',
        notify: ['mkdir', 'mkdirat'],
        onNotify: (n) => {
          seen.push(n.syscall);
          return 'deny';
        },
      },
    });
    expect(r.stdout).toBe('mkdir=1\nunshare=1\n');
    expect(seen).toHaveLength(1);
    expect(existsSync(join(dir, 'default'))).toBe(false);
    expect(() => spawn('true', [], { seccomp: { profile: 'default', notify: ['mkdri'], onNotify: () => 'deny' } })).toThrow(
      expect.objectContaining({ path: 'seccomp.notify[0]' }),
    );
  });

  it('serves a Docker profile’s SCMP_ACT_NOTIFY', async () => {
    const docker = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }] };
    const r = await run('sh', ['-c', `mkdir ${join(dir, 'docker')} 2>/dev/null; echo rc=$?`], { seccomp: { docker, onNotify: () => ({ deny: 'EPERM' }) } });
    expect(r.stdout).toBe('rc=1\n');
    expect(r.seccomp?.notifications).toBe(1);
  });
});
