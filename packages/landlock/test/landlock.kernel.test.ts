// Landlock on the real kernel, as root and (test:rootless) as uid 65534: the target is
// denied what the ruleset does not grant, from the host's tree and from a sandbox's own.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capsFeature } from '@iso/caps';
import type { AnyFeature, IsoError } from '@iso/core';
import { composeFeatures, currentHost } from '@iso/core';
import { mountFeature } from '@iso/mount';
import { pidFeature } from '@iso/pid';
import { guardNoLeaks, runScript } from '@iso/test-kit';
import { usernsFeature } from '@iso/userns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { landlockAbi, landlockFeature, normalizeLandlockOptions, probeLandlock } from '../src/index.js';
import type { LandlockOptions, LandlockResult, LandlockSettings } from '../src/index.js';

/** What sh and python3 need to start: the system tree readable and executable, /dev/null writable. */
const SYSTEM: NonNullable<LandlockOptions['fs']> = {
  '/usr': 'rx',
  '/etc': 'r',
  '/proc': 'r',
  '/dev/null': 'rw',
  // Merged /usr makes these symlinks to /usr; opened, they resolve to it.
  '/bin': { access: 'rx', optional: true },
  '/lib': { access: 'rx', optional: true },
  '/lib64': { access: 'rx', optional: true },
};
const FEATURES: readonly AnyFeature[] = [capsFeature, landlockFeature];
/** Namespaces too, in the sandbox's list order. */
const WITH_NAMESPACES: readonly AnyFeature[] = [pidFeature, mountFeature, usernsFeature, capsFeature, landlockFeature];

/**
 * This kernel's ABI: 7 on this machine's 6.18, 2 on kernel-lab's Debian 6.1. Below 6 a
 * filesystem policy or the default scopes cannot be enforced in full, so the tests of what
 * the kernel has ask for best effort there, and others check the strict refusal.
 */
const ABI = landlockAbi();
const landlock = (policy: LandlockOptions) => ({ landlock: ABI < 6 ? { ...policy, bestEffort: true } : policy });

let scratch = '';
beforeAll(() => {
  // World-writable, so a target mapped to nobody (a root caller's user namespace) may write
  // here too: a refusal is then Landlock's, not the file mode's.
  scratch = mkdtempSync(join(tmpdir(), 'iso-landlock-'));
  chmodSync(scratch, 0o777);
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function dir(name: string): string {
  const path = join(scratch, name);
  mkdirSync(path);
  chmodSync(path, 0o777);
  return path;
}

const python = (code: string) => `python3 -c '${code}'`;
/** A python line that tries `call` and prints ok or the errno name. */
const attempt = (call: string) => python(`import errno, socket, os\ntry:\n  ${call}\n  print("ok")\nexcept OSError as e:\n  print(errno.errorcode[e.errno])`);

function listen(server: Server, where: number | string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    };
    if (typeof where === 'string') server.listen(where, done);
    else server.listen(where, '127.0.0.1', done);
  });
}
const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
/** A TCP server on 127.0.0.1 that drops every connection; its port. */
async function tcpServer(servers: Server[]): Promise<number> {
  const server = createServer((socket) => socket.destroy());
  servers.push(server);
  return listen(server, 0);
}
/** A port that was free a moment ago on 127.0.0.1. */
async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listen(server, 0);
  await close(server);
  return port;
}

describe('@iso/landlock on the kernel', () => {
  guardNoLeaks();

  it('has an ABI here, and the probe says so', () => {
    expect(ABI).toBeGreaterThanOrEqual(1); // 7 on this machine's 6.18 (DESIGN.md fact 5)
    const probe = probeLandlock();
    expect(probe).toMatchObject({ supported: ABI >= 6, abi: ABI, newestKnownAbi: 7 });
    expect(probe.reasons).toHaveLength(ABI >= 6 ? 0 : 1);
  });

  it('strict, the default, takes a full policy only where the ABI enforces all of it', () => {
    const full = { landlock: { fs: SYSTEM, net: { connect: [443] } } };
    if (ABI >= 6) expect(landlockSettingsOf(full)).toMatchObject({ abi: ABI, rulesetAbi: Math.min(ABI, 7), dropped: [] });
    else expect(() => landlockSettingsOf(full)).toThrow(expect.objectContaining({ isoCode: 'ISO_UNSUPPORTED_KERNEL', path: 'landlock', message: expect.stringContaining(`Landlock ABI ${ABI}`) }));
  });

  it('denies writes outside the granted paths with EACCES; the granted path works', async () => {
    const allowed = dir('fs-allowed');
    const denied = dir('fs-denied');
    const out = await runScript(
      FEATURES,
      landlock({ fs: { ...SYSTEM, [allowed]: 'rwmd', [denied]: 'r' } }),
      `echo yes > ${allowed}/f && cat ${allowed}/f; ${attempt(`open("${denied}/f", "w")`)}; ${attempt(`os.mkdir("${denied}/d")`)}; ${attempt('os.listdir("/root")')}; ls ${denied} && echo listed`,
    );
    expect(out.error).toBeUndefined();
    expect(out.stdout.split('\n')).toEqual(['yes', 'EACCES', 'EACCES', 'EACCES', 'listed', '']);
    // Evidence from the host side too.
    expect(readFileSync(join(allowed, 'f'), 'utf8')).toBe('yes\n');
    expect(existsSync(join(denied, 'f'))).toBe(false);
    expect(existsSync(join(denied, 'd'))).toBe(false);
  });

  it('denies execute where only read is granted; the same binary runs where x is', async () => {
    const plain = dir('exec-r');
    const runnable = dir('exec-rx');
    for (const where of [plain, runnable]) {
      copyFileSync('/usr/bin/true', join(where, 'true'));
      chmodSync(join(where, 'true'), 0o755);
    }
    const out = await runScript(FEATURES, landlock({ fs: { ...SYSTEM, [plain]: 'r', [runnable]: 'rx' } }), `${runnable}/true; echo "rx: $?"; ${plain}/true 2>&1; echo "r: $?"`);
    expect(out.error).toBeUndefined();
    expect(out.stdout).toMatch(/^rx: 0\n.*Permission denied\nr: 126\n$/s);
  });

  it('a file rule grants only itself; make and remove need a directory', async () => {
    const files = dir('file-rule');
    const own = join(files, 'own');
    const other = join(files, 'other');
    for (const path of [own, other]) {
      copyFileSync('/usr/bin/true', path);
      chmodSync(path, 0o666);
    }
    const out = await runScript(FEATURES, landlock({ fs: { ...SYSTEM, [own]: 'rwmd' } }), `${attempt(`open("${own}", "w")`)}; ${attempt(`open("${other}", "w")`)}`);
    expect(out.error).toBeUndefined();
    expect(out.stdout).toBe('ok\nEACCES\n');
  });

  it('a missing path fails the launch, naming it; marked optional, the target runs', async () => {
    const missing = join(scratch, 'not-there');
    const options = landlock({ fs: { ...SYSTEM, [missing]: 'r' } });
    const out = await runScript(FEATURES, options, 'echo ran');
    expect(out.stdout).toBe('');
    const settings = landlockSettingsOf(options);
    const error = landlockFeature.refineError?.(out.error as IsoError, settings);
    expect(error).toMatchObject({ isoCode: 'ISO_SETUP_FAILED', code: 'ENOENT', step: 'landlock.fs.open', syscall: 'openat', path: missing, phase: 'child' });
    expect(error?.message).toContain(`landlock.fs: ${missing} does not exist inside the sandbox`);
    const optional = await runScript(FEATURES, landlock({ fs: { ...SYSTEM, [missing]: { access: 'r', optional: true } } }), 'echo ran');
    expect(optional.error).toBeUndefined();
    expect(optional.stdout).toBe('ran\n');
  });

  it.runIf(ABI >= 4)('TCP: connect and bind only to the granted ports, on loopback', async () => {
    const servers: Server[] = [];
    try {
      const [open, shut] = [await tcpServer(servers), await tcpServer(servers)];
      const [bindable, unbindable] = [await freePort(), await freePort()];
      const connect = (port: number) => attempt(`socket.create_connection(("127.0.0.1", ${port}), 5)`);
      const bind = (port: number) => attempt(`socket.socket().bind(("127.0.0.1", ${port}))`);
      const policy: LandlockOptions = { fs: SYSTEM, net: { connect: [open], bind: [bindable] } };
      const out = await runScript(FEATURES, landlock(policy), [connect(open), connect(shut), bind(bindable), bind(unbindable), bind(0)].join('; '));
      expect(out.error).toBeUndefined();
      expect(out.stdout).toBe('ok\nEACCES\nok\nEACCES\nEACCES\n');
      // A rule for port 0 is what lets bind(2) ask for an ephemeral port.
      const ephemeral = await runScript(FEATURES, landlock({ fs: SYSTEM, net: { bind: [0] } }), [bind(0), bind(unbindable)].join('; '));
      expect(ephemeral.stdout).toBe('ok\nEACCES\n');
      // Without net, TCP is not restricted: the same calls all work.
      const free = await runScript(FEATURES, landlock({ fs: SYSTEM }), [connect(shut), bind(unbindable)].join('; '));
      expect(free.stdout).toBe('ok\nok\n');
    } finally {
      await Promise.all(servers.map(close));
    }
  });

  it.runIf(ABI >= 6)('scope: abstract unix sockets made outside are refused; unscoped, they connect', async () => {
    const name = `iso-landlock-test-${process.pid}-${Date.now()}`;
    // Node pads an abstract name to the whole sun_path; a python listener binds it exactly.
    const listener = spawn('python3', ['-c', `import socket, sys\ns = socket.socket(socket.AF_UNIX)\ns.bind("\\0${name}")\ns.listen(8)\nprint("ready", flush=True)\nsys.stdin.read()`], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    try {
      await new Promise((resolve) => listener.stdout?.once('data', resolve));
      const connect = attempt(`s = socket.socket(socket.AF_UNIX); s.connect("\\0${name}")`);
      const scoped = await runScript(FEATURES, { landlock: { scope: { abstractUnixSocket: true, signal: false } } }, connect);
      expect(scoped.error).toBeUndefined();
      expect(scoped.stdout).toBe('EPERM\n');
      const unscoped = await runScript(FEATURES, { landlock: { scope: { abstractUnixSocket: false } } }, connect);
      expect(unscoped.stdout).toBe('ok\n');
    } finally {
      listener.stdin?.end();
      await new Promise((resolve) => listener.once('exit', resolve));
    }
  });

  it.runIf(ABI >= 6)('scope: signals to processes outside are refused; its own children it may signal', async () => {
    const outside: ChildProcess = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const script = `kill -0 ${outside.pid} 2>&1 && echo outside-ok; sleep 30 & kill $! && echo child-ok; wait`;
      const scoped = await runScript(FEATURES, { landlock: {} }, script);
      expect(scoped.error).toBeUndefined();
      expect(scoped.stdout).toMatch(/Operation not permitted\n+child-ok\n$/);
      const unscoped = await runScript(FEATURES, landlock({ scope: false, fs: SYSTEM }), script);
      expect(unscoped.stdout).toBe('outside-ok\nchild-ok\n');
    } finally {
      outside.kill('SIGKILL');
      await new Promise((resolve) => outside.once('exit', resolve));
    }
  });

  it('with user, mount and PID namespaces: paths resolve in the sandbox tree', async () => {
    const hostOnly = dir('host-only');
    const mount = { root: 'host-readonly', entries: [{ type: 'tmpfs', target: '/tmp' }] };
    const inside = { ...SYSTEM, '/tmp': 'rwmd' } as const;
    const out = await runScript(
      WITH_NAMESPACES,
      { pid: true, mount, ...landlock({ fs: { ...inside, [hostOnly]: { access: 'rwmd', optional: true } } }) },
      `echo "pid $$"; echo in > /tmp/note && cat /tmp/note; ${attempt('open("/etc/passwd", "a")')}; ${attempt('os.listdir("/root")')}; ls ${hostOnly} 2>&1 | head -1`,
    );
    expect(out.error).toBeUndefined();
    // The host's /tmp is hidden by the sandbox's own, so hostOnly is not there inside.
    expect(out.stdout).toMatch(/^pid 2\nin\nEACCES\nEACCES\nls: cannot access .*No such file or directory\n$/);
    expect(existsSync('/tmp/note')).toBe(false);
    // Not optional, the same path fails the launch: it was looked up inside.
    const strict = await runScript(WITH_NAMESPACES, { pid: true, mount, ...landlock({ fs: { ...inside, [hostOnly]: 'r' } }) }, 'echo ran');
    expect(strict.error).toMatchObject({ code: 'ENOENT', step: 'landlock.fs.open' });
  });

  it('best effort at an older ABI runs here with what that ABI enforces, and says what it dropped', async () => {
    const servers: Server[] = [];
    try {
      const port = await tcpServer(servers);
      const denied = dir('older-denied');
      // The same policy as an older kernel would take it (ABI 3 here, 1 on kernel-lab's 6.1): no TCP rules, no scopes.
      const older = Math.min(3, ABI - 1);
      const olderFeature: AnyFeature = { ...landlockFeature, normalize: (option) => normalizeLandlockOptions(option as LandlockOptions, older) };
      const policy: LandlockOptions = { fs: SYSTEM, net: { connect: [] }, bestEffort: true };
      const script = `${attempt(`open("${denied}/f", "w")`)}; ${attempt(`socket.create_connection(("127.0.0.1", ${port}), 5)`)}`;
      // Without Landlock the connect works (or, where loopback is down as in kernel-lab, fails on its own).
      const [, unrestricted] = (await runScript([capsFeature], {}, script)).stdout.split('\n');
      const downgraded = await runScript([capsFeature, olderFeature], { landlock: policy }, script);
      expect(downgraded.error).toBeUndefined();
      expect(downgraded.stdout).toBe(`EACCES\n${unrestricted}\n`);
      const here = await runScript(FEATURES, { landlock: policy }, script);
      expect(here.stdout).toBe(ABI >= 4 ? 'EACCES\nEACCES\n' : `EACCES\n${unrestricted}\n`);
      // The result: what the sandbox puts under result.landlock.
      const session = (settings: LandlockSettings): LandlockResult =>
        landlockFeature.start!(settings, { option: policy, pid: 1, returnSocket: undefined, emit: () => undefined }).result({ exitCode: 0, signal: null });
      const reported = session(normalizeLandlockOptions(policy, older)!);
      expect(reported).toMatchObject({ abi: older, rulesetAbi: older, enforced: true });
      expect(reported.dropped.map((drop) => drop.what)).toContain('net');
      if (older === 3)
        expect(reported.dropped).toEqual([
          { what: 'fs.ioctlDev', abi: 5, effect: 'ioctl(2) on devices is not restricted' },
          { what: 'net', abi: 4, effect: 'TCP bind and connect are not restricted' },
          { what: 'scope.abstractUnixSocket', abi: 6, effect: 'abstract unix sockets outside the sandbox can be connected to' },
          { what: 'scope.signal', abi: 6, effect: 'processes outside the sandbox can be signalled' },
        ]);
      expect(session(landlockSettingsOf({ landlock: policy }))).toEqual({ abi: ABI, rulesetAbi: Math.min(ABI, 7), enforced: true, dropped: normalizeLandlockOptions(policy, ABI)!.dropped });
      if (ABI >= 6) expect(session(landlockSettingsOf({ landlock: policy })).dropped).toEqual([]);
    } finally {
      await Promise.all(servers.map(close));
    }
  });

  it('refuses, before anything runs, a ruleset without no_new_privs or CAP_SYS_ADMIN', () => {
    expect(() => composeFeatures(WITH_NAMESPACES, { userns: true, caps: { noNewPrivs: false }, ...landlock({ fs: SYSTEM }) }, currentHost())).toThrow(
      expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'landlock' }),
    );
  });
});

/** The settings the feature makes of these options here, as the sandbox would. */
function landlockSettingsOf(options: Readonly<Record<string, unknown>>): LandlockSettings {
  const enabled = composeFeatures(FEATURES, options, currentHost()).enabled.find((e) => e.feature.key === 'landlock');
  return enabled?.settings as LandlockSettings;
}
