import { execFileSync, spawn as spawnPlain } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IsoError } from '@iso/core';
import { libc } from '@iso/core/native';
import { listSysvObjects } from '@iso/ipc';
import { listPidNamespace } from '@iso/pid';
import { readIdMaps } from '@iso/userns';
import { readMountInfo } from '@iso/mount';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSandbox, explain, plan, run, spawn } from '../src/index.js';
import { callerUid, childrenOf, descendantRunning, isAlive, isRoot, lineMatching, processTree, waitFor } from './helpers.js';

const ISSUE_EXAMPLE = { pid: true, uts: { hostname: 'box' }, ipc: true, userns: true } as const;
const backingUid = isRoot ? 65534 : callerUid;

const hostMountsBefore = readMountInfo();

describe(`sandbox as ${isRoot ? 'root' : `uid ${callerUid}`}`, () => {
  // Nothing outlives a test: no process of ours, no mount in the host's table.
  afterEach(async () => {
    await waitFor(() => childrenOf(process.pid).length === 0, 'every sandbox process to end', 5000);
  });
  afterAll(() => {
    expect(readMountInfo()).toEqual(hostMountsBefore);
  });

  it('runs the issue example: hostname, pid 2 under init, uid 0', async () => {
    const r = await run('sh', ['-c', 'hostname; echo $$; id -u'], ISSUE_EXAMPLE);
    expect(r).toMatchObject({ exitCode: 0, signal: null, reason: 'exit', stdout: 'box\n2\n0\n', stderr: '' });
    expect(r.durationMs).toBeGreaterThan(0);
  });

  it('runs the target as PID 1 with asPid1', async () => {
    const r = await run('sh', ['-c', 'echo $$'], { pid: { asPid1: true } });
    expect(r.stdout).toBe('1\n');
  });

  it('isolates the hostname and leaves the host one unchanged', async () => {
    const before = hostname();
    const r = await run('sh', ['-c', 'hostname changed-inside; hostname; domainname'], {
      uts: { hostname: 'box', domainname: 'inner.test' },
      caps: { add: ['SYS_ADMIN'] },
    });
    expect(r.stdout).toBe('changed-inside\ninner.test\n');
    expect(hostname()).toBe(before);
    // Without CAP_SYS_ADMIN (the default keeps no capability) the target cannot rename it.
    const denied = await run('sh', ['-c', 'hostname changed-inside 2>/dev/null; hostname'], { uts: { hostname: 'box' } });
    expect(denied.stdout).toBe('box\n');
  });

  it('shows only the sandbox in /proc', async () => {
    const r = await run('sh', ['-c', 'echo /proc/[0-9]*'], { pid: true });
    expect(r.stdout.trim().split(' ')).toEqual(['/proc/1', '/proc/2']);
  });

  it('maps uid 0 inside to the caller outside (to nobody for a root caller)', async () => {
    const handle = spawn('sh', ['-c', 'cat /proc/self/uid_map /proc/self/gid_map; id -u; echo ready; exec sleep 30'], { pid: true });
    await lineMatching(handle.stdout, /^ready$/);
    const target = await descendantRunning(handle.pid!, 'sleep');
    const maps = readIdMaps(target);
    expect(maps.uid).toEqual([{ inside: 0, outside: backingUid, count: 1 }]);
    expect(maps.setgroups).toBe(isRoot ? 'allow' : 'deny');
    // The host sees the target as the backing uid, never as root.
    const status = execFileSync('cat', [`/proc/${target}/status`], { encoding: 'utf8' });
    expect(status).toMatch(new RegExp(`^Uid:\\s+${backingUid}\\s+${backingUid}\\s+${backingUid}\\s+${backingUid}$`, 'm'));
    handle.kill('SIGKILL');
    const r = await handle;
    expect(r.stdout).toMatch(new RegExp(`^\\s*0\\s+${backingUid}\\s+1\\n\\s*0\\s+${isRoot ? 65534 : process.getgid!()}\\s+1\\n0\\nready\\n$`));
  });

  it('keeps SysV objects apart, both ways', async () => {
    const created = execFileSync('ipcmk', ['-M', '4096'], { encoding: 'utf8' });
    const hostId = Number(/(\d+)/.exec(created)![1]);
    try {
      const hostShm = listSysvObjects().shm.find((s) => s.id === hostId)!;
      expect(hostShm).toBeDefined();
      const inside = await run('ipcs', ['-m'], { ipc: true });
      expect(inside.exitCode).toBe(0);
      expect(inside.stdout.toLowerCase()).not.toContain(`0x${hostShm.key.toString(16).padStart(8, '0')}`);
    } finally {
      execFileSync('ipcrm', ['-m', String(hostId)]);
    }

    const handle = spawn('sh', ['-c', 'ipcmk -M 4096 >/dev/null && ipcs -m | awk \'/^0x/ {print "key=" $1}\' && exec sleep 30'], { ipc: true, pid: true });
    const line = await lineMatching(handle.stdout, /^key=0x/);
    const key = Number.parseInt(line.slice('key='.length), 16);
    expect(listSysvObjects().shm.map((s) => s.key)).not.toContain(key);
    const target = await descendantRunning(handle.pid!, 'sleep');
    if (isRoot) expect(listSysvObjects(target).shm.map((s) => s.key)).toContain(key);
    else expect(() => listSysvObjects(target)).toThrow(expect.objectContaining({ code: 'ISO_NEEDS_PRIVILEGE' }));
    handle.kill('SIGKILL');
    await handle;
  });

  it('gives each sandbox a fresh POSIX mqueue filesystem', async () => {
    const mountPoint = mkdtempSync(join(tmpdir(), 'iso-mqueue-'));
    try {
      const options = { ipc: { mqueueMountPoint: mountPoint }, mount: true };
      // In mqueue fs, creating a file creates a message queue.
      const first = await run('sh', ['-c', `touch ${mountPoint}/q1 && ls ${mountPoint} && grep -c " ${mountPoint} .* - mqueue " /proc/self/mountinfo`], options);
      expect(first.stdout).toBe('q1\n1\n');
      const second = await run('ls', [mountPoint], options);
      expect(second.stdout).toBe('');
      expect(readdirSync(mountPoint)).toEqual([]);
    } finally {
      rmSync(mountPoint, { recursive: true });
    }
  });

  it('keeps no capability by default, and exactly the asked ones otherwise', async () => {
    const status = 'grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):" /proc/self/status | tr -s "\\t " " "';
    const none = await run('sh', ['-c', status], ISSUE_EXAMPLE);
    expect(none.stdout).toBe('CapInh: 0000000000000000\nCapPrm: 0000000000000000\nCapEff: 0000000000000000\nCapBnd: 0000000000000000\nCapAmb: 0000000000000000\nNoNewPrivs: 1\n');
    const docker = await run('sh', ['-c', status], { ...ISSUE_EXAMPLE, caps: 'docker-default' });
    // Docker's 14 capabilities, as `capsh --decode=a80425fb` lists them.
    expect(docker.stdout).toContain('CapEff: 00000000a80425fb\n');
    expect(docker.stdout).toContain('CapBnd: 00000000a80425fb\n');
    // Without any namespace a root caller's target is root without capabilities.
    const plain = await run('sh', ['-c', status]);
    expect(plain.stdout).toContain('CapEff: 0000000000000000\n');
    expect(plain.stdout).toContain('NoNewPrivs: 1\n');
  });

  it('filters syscalls: the default profile, errno and kill actions, and says when seccomp killed', async () => {
    // The default profile refuses a nested user namespace; without a filter it works.
    const nested = 'unshare -U true && echo nested-ok || echo nested-denied';
    expect((await run('sh', ['-c', nested], ISSUE_EXAMPLE)).stdout).toBe('nested-denied\n');
    expect((await run('sh', ['-c', nested], { ...ISSUE_EXAMPLE, seccomp: false })).stdout).toBe('nested-ok\n');
    const status = await run('sh', ['-c', 'grep -E "^Seccomp:" /proc/self/status'], ISSUE_EXAMPLE);
    expect(status.stdout).toBe('Seccomp:\t2\n');

    const policy = { defaultAction: 'allow', rules: [{ names: ['mkdir', 'mkdirat'], action: { errno: 'EROFS' } }, { names: ['uname'], action: 'kill-process' }] } as const;
    const denied = await run('sh', ['-c', 'mkdir /tmp/iso-seccomp-never 2>&1; echo rc=$?'], { ...ISSUE_EXAMPLE, seccomp: policy });
    expect(denied.stdout).toMatch(/Read-only file system\nrc=1\n$/);
    const killed = await run('uname', [], { ...ISSUE_EXAMPLE, seccomp: policy });
    expect(killed).toMatchObject({ signal: 'SIGSYS', reason: 'signal', seccomp: { killed: true }, stdout: '' });
    expect((await run('true', [], ISSUE_EXAMPLE)).seccomp?.killed).toBe(false);

    expect(() => spawn('true', [], { seccomp: { rules: [{ names: ['mkdri'], action: 'allow' }] } })).toThrow(
      expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'seccomp.rules[0].names[0]' }),
    );
    expect(() => spawn('true', [], { ...ISSUE_EXAMPLE, caps: { noNewPrivs: false } })).toThrow(expect.objectContaining({ path: 'seccomp' }));
  });

  it('never lets the sandbox write /proc/sys (the core_pattern trap), with or without a new root', async () => {
    const probe = '(echo "|/bin/false" > /proc/sys/kernel/core_pattern) 2>/dev/null && echo WROTE || echo refused';
    expect((await run('sh', ['-c', probe], ISSUE_EXAMPLE)).stdout).toBe('refused\n');
    const fenced = { pid: true, mount: { root: 'host-readonly', entries: [{ type: 'tmpfs', target: '/tmp' }] } } as const;
    const r = await run('sh', ['-c', `${probe}; set -- /proc/[0-9]*; echo "$*"; (echo x > /etc/iso-never) 2>/dev/null || echo etc-refused; echo ok > /tmp/t && cat /tmp/t; wc -c < /proc/timer_list`], fenced);
    expect(r.stdout).toBe('refused\n/proc/1 /proc/2\netc-refused\nok\n0\n');
    expect(r.stderr).toBe('');
  });

  it('runs in a project bound at a new top-level path of a read-only host, and does not reuse that plan', async () => {
    const project = mkdtempSync(join(tmpdir(), 'iso-project-'));
    try {
      execFileSync('chmod', ['0777', project]);
      const target = `/iso-work-${process.pid}`;
      const options = { pid: true, mount: { root: 'host-readonly', entries: [{ type: 'tmpfs', target: '/tmp' }, { type: 'bind', source: project, target }] }, cwd: target } as const;
      const r = await run('sh', ['-c', 'pwd; echo built > out && cat out; (touch /etc/iso-never /iso-never) 2>&1 | grep -c "Read-only file system"; ls /dev | wc -l'], options);
      expect(r.stdout).toBe(`${target}\nbuilt\n2\n14\n`);
      expect(readdirSync(project)).toEqual(['out']);
      // The plan holds the host's top level as it was: it is made afresh every time.
      expect(plan('true', [], options)).not.toBe(plan('true', [], options));
      const fenced = { pid: true, mount: { root: 'host-readonly', entries: [{ type: 'tmpfs', target: '/tmp' }] } } as const;
      expect(plan('true', [], fenced)).toBe(plan('true', [], fenced));
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });

  it('propagates exit codes and signals', async () => {
    expect((await run('sh', ['-c', 'exit 3'], ISSUE_EXAMPLE)).exitCode).toBe(3);
    for (const options of [{}, { pid: true }, ISSUE_EXAMPLE]) {
      const r = await run('sh', ['-c', 'kill -USR1 $$'], options);
      expect(r).toMatchObject({ exitCode: null, signal: 'SIGUSR1', reason: 'signal' });
    }
  });

  it('forwards signals sent to the handle to the target', async () => {
    const handle = spawn('sh', ['-c', 'trap "echo got-term; exit 42" TERM; echo ready; while :; do sleep 0.05; done'], ISSUE_EXAMPLE);
    await lineMatching(handle.stdout, /^ready$/);
    expect(handle.kill('SIGTERM')).toBe(true);
    const r = await handle;
    expect(r).toMatchObject({ exitCode: 42, reason: 'exit' });
    expect(r.stdout).toBe('ready\ngot-term\n');
  });

  it('ends the target on SIGTERM even when it has no handler', async () => {
    const handle = spawn('sleep', ['30'], ISSUE_EXAMPLE);
    await handle.ready;
    handle.kill('SIGTERM');
    expect(await handle).toMatchObject({ signal: 'SIGTERM', reason: 'killed', signalSource: 'caller', isTerminated: true, failed: true });
  });

  it('reaps orphans under its init: no zombies', async () => {
    const script = '( sleep 0.1 & ) ; ( sh -c "sleep 0.1 &" ) ; sleep 0.6; for f in /proc/[0-9]*/stat; do read -r pid comm state rest < "$f"; echo "$pid $state"; done';
    const r = await run('sh', ['-c', script], { pid: true });
    const states = r.stdout.trim().split('\n').map((l) => l.split(' ')[1]);
    expect(states.length).toBeGreaterThanOrEqual(2);
    expect(states).not.toContain('Z');
  });

  it('leaves no sandbox process alive when Node dies by SIGKILL', async () => {
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    for (const options of [ISSUE_EXAMPLE, {}, { preset: 'none' }]) {
      const script = `const { spawn } = await import(${JSON.stringify(dist)});
        const h = spawn('sleep', ['300'], ${JSON.stringify(options)});
        await h.ready; console.log(String(h.pid)); setInterval(() => {}, 1000);`;
      const node = spawnPlain(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      const runnerPid = Number(await lineMatching(node.stdout, /^\d+$/));
      const expected = 'preset' in options ? 1 : 3; // supervisor, init, sleep; or sleep alone
      await waitFor(() => processTree(runnerPid).length === expected, 'the sandbox tree');
      const tree = processTree(runnerPid);
      node.kill('SIGKILL');
      await waitFor(() => tree.every((pid) => !isAlive(pid)), `the sandbox ${tree.join(',')} to die`);
    }
  });

  it('names the failing step, syscall and errno', async () => {
    const failure = run('true', [], { ...ISSUE_EXAMPLE, cwd: '/nonexistent-iso-dir' });
    await expect(failure).rejects.toBeInstanceOf(IsoError);
    await expect(failure).rejects.toMatchObject({
      code: 'ENOENT',
      isoCode: 'ISO_SETUP_FAILED',
      step: 'core.chdir',
      syscall: 'chdir',
      errno: -2,
      phase: 'child',
    });
    await expect(failure).rejects.toThrow(/^core\.chdir\[\d+\]: chdir\("\/nonexistent-iso-dir"\) failed: ENOENT \(No such file or directory\)$/);
    await expect(run('no-such-command-iso', [], ISSUE_EXAMPLE)).rejects.toThrow(/core\.exec\[\d+\]: .*ENOENT.*"no-such-command-iso" is not in the sandbox's PATH/);
  });

  it('announces the end of setup, so a runner killed before it rejects instead of claiming a start', () => {
    // The kill itself is tested in @iso/core (engine.test.ts): a sandbox sets up faster
    // than a test can reliably interrupt it. Here: every sandbox program carries the step,
    // after the session steps and before seccomp and execve.
    const program = plan('true', [], ISSUE_EXAMPLE).program;
    expect(program.announcesExec).toBe(true);
    const names = program.steps.map((step) => step.name);
    const announce = names.indexOf('core.announceExec');
    expect(announce).toBeGreaterThan(names.lastIndexOf('core.chdir'));
    expect(announce).toBeLessThan(names.indexOf('seccomp.load'));
  });

  it('rejects bad options with ISO_INVALID_OPTIONS before creating anything', async () => {
    const bad: [unknown, string][] = [
      [{ uts: { hostname: 'x'.repeat(65) } }, 'uts.hostname'],
      [{ uts: { hostname: '' } }, 'uts.hostname'],
      [{ pidd: true }, 'pidd'],
      [{ pid: { asPid2: true } }, 'pid.asPid2'],
      [{ userns: { inside: 'nobody' } }, 'userns.inside'],
      [{ timeout: -5 }, 'timeout'],
      [{ env: { 'A=B': 'x' } }, 'env.A=B'],
      [{ cwd: 'relative/dir' }, 'cwd'],
      [{ pid: true, mount: false }, 'mount'],
      [{ stdio: ['pipe', 'pipe'] }, 'stdio'],
      [{ stdio: ['pipe', 'bogus', 'pipe'] }, 'stdio[1]'],
      [{ env: { PATH: Array.from({ length: 300 }, (_, i) => `/p${i}`).join(':') } }, 'env.PATH'],
    ];
    if (!isRoot) bad.push([{ uts: true, userns: false }, 'userns']);
    else bad.push([{ userns: { hostIdsForRoot: { uid: -1, gid: 0 } } }, 'userns.hostIdsForRoot.uid'], [{ userns: { hostIdsForRoot: { uid: 1, gid: 1, groups: [] } } }, 'userns.hostIdsForRoot.groups']);
    const before = childrenOf(process.pid).length;
    for (const [options, path] of bad) {
      expect(() => spawn('true', [], options as never), path).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path, phase: 'validate' }));
      await expect(run('true', [], options as never)).rejects.toMatchObject({ isoCode: 'ISO_INVALID_OPTIONS', path });
    }
    expect(() => spawn('bad\0file')).toThrow(expect.objectContaining({ path: 'file' }));
    expect(childrenOf(process.pid).length).toBe(before);
  });

  it('passes no inherited fd beyond 0, 1 and 2', async () => {
    const dup = libc().func('int dup(int)') as (fd: number) => number;
    const opened = openSync('/etc/hostname', 'r');
    const leaked = dup(opened); // dup(2) drops close-on-exec, as a careless parent would
    try {
      // Control: plain child_process passes the leaked fd on.
      const plain = execFileSync('sh', ['-c', 'ls /proc/$$/fd'], { encoding: 'utf8' });
      expect(plain.split('\n')).toContain(String(leaked));
      for (const options of [{}, ISSUE_EXAMPLE]) {
        const r = await run('sh', ['-c', 'ls /proc/$$/fd'], options);
        expect(r.stdout.trim().split('\n')).toEqual(['0', '1', '2']);
      }
    } finally {
      closeSync(leaked);
      closeSync(opened);
    }
  });

  it('does not pass the caller environment unless asked', async () => {
    process.env.ISO_TEST_SECRET = 'secret';
    try {
      const script = 'echo "${ISO_TEST_SECRET:-unset} $PATH ${EXTRA:-}"';
      expect((await run('sh', ['-c', script])).stdout).toBe('unset /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \n');
      expect((await run('sh', ['-c', script], { inheritEnv: ['ISO_TEST_SECRET'], env: { EXTRA: 'x', PATH: '/bin' } })).stdout).toBe('secret /bin x\n');
      expect((await run('sh', ['-c', script], { inheritEnv: true })).stdout).toMatch(/^secret /);
    } finally {
      delete process.env.ISO_TEST_SECRET;
    }
  });

  it('ends the target on timeout and on abort, and says so', async () => {
    const timedOut = await run('sleep', ['30'], { ...ISSUE_EXAMPLE, timeout: 150 });
    expect(timedOut).toMatchObject({ reason: 'timeout', timedOut: true, signal: 'SIGTERM' });

    const controller = new AbortController();
    const handle = spawn('sleep', ['30'], { ...ISSUE_EXAMPLE, signal: controller.signal });
    await handle.ready;
    controller.abort();
    expect(await handle).toMatchObject({ reason: 'aborted', signal: 'SIGTERM' });

    // A target that ignores killSignal is SIGKILLed after forceKillAfterDelay.
    const stubborn = spawn('sh', ['-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done'], { timeout: 100, forceKillAfterDelay: 100 });
    expect(await stubborn).toMatchObject({ reason: 'timeout', signal: 'SIGKILL' });
  });

  it('is a ChildProcess-like handle: events, streams, stdin', async () => {
    const handle = spawn('cat', [], ISSUE_EXAMPLE);
    const events: string[] = [];
    handle.on('spawn', () => events.push('spawn'));
    handle.on('exit', (code: number | null) => events.push(`exit:${String(code)}`));
    handle.on('close', () => events.push('close'));
    expect(typeof handle.pid).toBe('number');
    handle.stdin!.end('through stdin\n');
    const r = await handle;
    expect(r.stdout).toBe('through stdin\n');
    expect(events).toEqual(['spawn', 'exit:0', 'close']);
    expect((await run('cat', [], { input: 'input option' })).stdout).toBe('input option');
    // A target that ends at once races the EOF that settles setup; 'spawn' must still lead.
    for (let i = 0; i < 20; i++) {
      const quick = spawn('true', [], { stdio: 'ignore' });
      const order: string[] = [];
      for (const event of ['spawn', 'exit', 'close']) quick.on(event, () => order.push(event));
      await quick;
      expect(order).toEqual(['spawn', 'exit', 'close']);
    }
  });

  it('explains the program without running it', () => {
    const text = explain('sh', ['-c', 'true'], ISSUE_EXAMPLE);
    expect(text).toMatch(/userns\.unshare\s+unshare\(CLONE_NEWUSER\)/);
    expect(text).toMatch(/pid\.mountProc\s+mount\("proc", "\/proc", "proc", MS_NOSUID\|MS_NODEV\|MS_NOEXEC, NULL\)/);
    expect(text).toMatch(/uts\.sethostname\s+sethostname\("box", 3\)/);
    expect(text).toMatch(/core\.exec\s+execve\("\/bin\/sh"/);
    const steps = plan('sh', [], ISSUE_EXAMPLE).program.steps.map((s) => s.name);
    // The order of setup: userns first, forks around the mounts, exec last.
    expect(steps.indexOf('userns.unshare')).toBeLessThan(steps.indexOf('pid.unshare'));
    expect(steps.indexOf('pid.fork')).toBeLessThan(steps.indexOf('pid.mountProc'));
    expect(steps.indexOf('pid.mountProc')).toBeLessThan(steps.indexOf('pid.init'));
    expect(steps.at(-1)).toBe('core.exec');
  });

  it('reuses a plan only when nothing that shapes the program changed', () => {
    const first = plan('true', [], ISSUE_EXAMPLE);
    expect(plan('true', [], { ...ISSUE_EXAMPLE, timeout: 5000 }).program).toBe(first.program);
    expect(plan('true', [], { ...ISSUE_EXAMPLE, uts: { hostname: 'other' } }).program).not.toBe(first.program);
    process.env.ISO_TEST_PLAN = 'a';
    try {
      const a = plan('true', [], { inheritEnv: ['ISO_TEST_PLAN'] });
      process.env.ISO_TEST_PLAN = 'b';
      const b = plan('true', [], { inheritEnv: ['ISO_TEST_PLAN'] });
      expect(b.program).not.toBe(a.program);
      expect(b.program.bytes.equals(a.program.bytes)).toBe(false);
    } finally {
      delete process.env.ISO_TEST_PLAN;
    }
    // Unknown keys are refused even when the rest matches a cached plan.
    expect(() => plan('true', [], { ...ISSUE_EXAMPLE, pidd: true } as never)).toThrow(expect.objectContaining({ path: 'pidd' }));
  });

  it('createSandbox applies defaults, overridden per call', async () => {
    const box = createSandbox({ uts: { hostname: 'default-box' }, pid: true });
    expect((await box.run('hostname')).stdout).toBe('default-box\n');
    expect((await box.run('hostname', [], { uts: { hostname: 'other' } })).stdout).toBe('other\n');
    expect(box.explain('true')).toContain('sethostname("default-box", 11)');
  });

  it('sees its own processes through the in-process pid API', async () => {
    const handle = spawn('sh', ['-c', 'echo ready; exec sleep 30'], { pid: true });
    await lineMatching(handle.stdout, /^ready$/);
    const target = await descendantRunning(handle.pid!, 'sleep');
    const members = listPidNamespace(target);
    expect(members.map((m) => m.pid)).toEqual([1, 2]);
    expect(members[1]).toMatchObject({ hostPid: target, command: 'sleep' });
    handle.kill('SIGKILL');
    await handle;
  });
});
