// Real processes: the runner applies the caps steps, then execs a program that shows what
// it holds. capsh --decode is the oracle for every mask the target reports.
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLONE, IsoError, buildProgram, bytes, flags, hostArch, imm, launch, syscallError } from '@iso/core';
import type { ChildStep } from '@iso/core';
import type { CapsOption } from '../src/options.js';
import { PR } from '../src/consts.js';
import { capData, capHeader, capsPlan, normalizeCapsOptions } from '../src/index.js';
import { parseCapStatus, readProcessCaps } from '../src/status.js';
import { buildProbe, capshDecode, isRoot, programFor, runProgram, selfMappedUserns, uid } from './helpers.js';

const DOCKER_NAMES = [
  'cap_chown',
  'cap_dac_override',
  'cap_fowner',
  'cap_fsetid',
  'cap_kill',
  'cap_setgid',
  'cap_setuid',
  'cap_setpcap',
  'cap_net_bind_service',
  'cap_net_raw',
  'cap_sys_chroot',
  'cap_mknod',
  'cap_audit_write',
  'cap_setfcap',
];

function capsSteps(option: CapsOption | undefined): ChildStep[] {
  const plan = capsPlan(normalizeCapsOptions(option));
  return [...(plan.capabilities ?? []), ...(plan.noNewPrivs ?? [])];
}

/** The hex of one status line, decoded by capsh. */
function decodedLine(status: string, key: string): string[] {
  const match = new RegExp(`^${key}:\\s*([0-9a-f]+)$`, 'm').exec(status);
  if (!match?.[1]) throw new Error(`no ${key} in status`);
  return capshDecode(BigInt(`0x${match[1]}`));
}

/** A user namespace whose maps Node writes at a sync point, as the sandbox does for root. */
function nodeMappedUserns(map: string): ChildStep[] {
  const hook: ChildStep = {
    op: 'sync',
    name: 'test.maps',
    hook: {
      name: 'test.maps (written by Node)',
      run: ({ runnerPid }) => {
        for (const file of ['uid_map', 'gid_map']) {
          const path = `/proc/${runnerPid}/${file}`;
          try {
            writeFileSync(path, map);
          } catch (error) {
            const errno = -((error as NodeJS.ErrnoException).errno ?? 0);
            throw syscallError(errno, { step: 'test.maps', syscall: 'write', phase: 'parent', path });
          }
        }
      },
    },
  };
  return [{ op: 'syscall', name: 'test.unshare', syscall: 'unshare', args: [flags(CLONE.CLONE_NEWUSER, CLONE)] }, hook];
}

/** Runs the caps steps in a user namespace, then `cat /proc/self/status`. */
async function statusInside(option: CapsOption | undefined, userns: { inside?: number; net?: boolean } = {}): Promise<string> {
  const result = await runProgram(programFor([...selfMappedUserns(userns), ...capsSteps(option)], '/bin/cat', ['/proc/self/status']));
  expect(result.error).toBeUndefined();
  expect(result.code).toBe(0);
  return result.stdout;
}

let probe: ReturnType<typeof buildProbe>;
beforeAll(() => {
  probe = buildProbe();
});
afterAll(() => {
  probe.cleanup();
});

/** Runs the probe after the caps steps; returns what it printed ('ok' or 'errno=N'). */
async function probeInside(middle: readonly ChildStep[], args: readonly string[]): Promise<string> {
  const result = await runProgram(programFor(middle, probe.path, args));
  expect(result.error).toBeUndefined();
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout.trim();
}

describe('caps in a real child (root target in a user namespace)', () => {
  it('the default keeps nothing: every set empty, bounding too, and no_new_privs', async () => {
    const status = await statusInside(undefined);
    for (const key of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(decodedLine(status, key), key).toEqual([]);
    expect(status).toMatch(/^NoNewPrivs:\s*1$/m);
    expect(status).toMatch(/^Uid:\s*0\s/m);
  });

  it("docker-default: a root target holds exactly Docker's 14", async () => {
    const status = await statusInside('docker-default');
    for (const key of ['CapPrm', 'CapEff', 'CapBnd']) expect(decodedLine(status, key).sort(), key).toEqual([...DOCKER_NAMES].sort());
    expect(decodedLine(status, 'CapInh')).toEqual([]);
    expect(decodedLine(status, 'CapAmb')).toEqual([]);
    const parsed = parseCapStatus(status);
    expect(parsed.effective.mask).toBe(0xa80425fbn);
    expect(parsed.noNewPrivs).toBe(true);
  });

  it('add and drop tune the preset', async () => {
    const status = await statusInside({ preset: 'docker-default', add: ['NET_ADMIN', 'cap_sys_ptrace'], drop: ['CHOWN', 'mknod'] });
    const expected = [...DOCKER_NAMES.filter((n) => n !== 'cap_chown' && n !== 'cap_mknod'), 'cap_net_admin', 'cap_sys_ptrace'].sort();
    for (const key of ['CapPrm', 'CapEff', 'CapBnd']) expect(decodedLine(status, key).sort(), key).toEqual(expected);
  });

  it('noNewPrivs: false leaves the bit as inherited (clear here)', async () => {
    // The bit is inherited and can never be cleared; under a supervisor that sets it
    // (a container with no-new-privileges), the target has it regardless.
    const inherited = readProcessCaps('self').noNewPrivs ?? false;
    const status = await statusInside({ noNewPrivs: false });
    expect(status).toMatch(inherited ? /^NoNewPrivs:\s*1$/m : /^NoNewPrivs:\s*0$/m);
  });

  it('securebits: NOROOT makes uid 0 ordinary, so only the ambient set survives exec', async () => {
    const status = await statusInside({
      preset: 'docker-default',
      ambient: ['NET_BIND_SERVICE'],
      securebits: ['NOROOT', 'NOROOT_LOCKED'],
    });
    expect(decodedLine(status, 'CapBnd').sort()).toEqual([...DOCKER_NAMES].sort());
    for (const key of ['CapPrm', 'CapEff', 'CapAmb', 'CapInh']) expect(decodedLine(status, key), key).toEqual(['cap_net_bind_service']);
  });

  it('securebits: the locks survive exec as capsh --print reports them; KEEP_CAPS itself is cleared', async () => {
    const result = await runProgram(
      programFor(
        [...selfMappedUserns(), ...capsSteps({ securebits: ['NOROOT', 'NOROOT_LOCKED', 'NO_SETUID_FIXUP', 'KEEP_CAPS', 'KEEP_CAPS_LOCKED'] })],
        '/usr/sbin/capsh',
        ['--print'],
      ),
    );
    expect(result.error).toBeUndefined();
    expect(result.code).toBe(0);
    // 0x27 = NOROOT | NOROOT_LOCKED | NO_SETUID_FIXUP | KEEP_CAPS_LOCKED; execve cleared KEEP_CAPS (0x10).
    expect(result.stdout).toMatch(/^Securebits: \d+\/0x27\//m);
    expect(result.stdout).toMatch(/secure-noroot: yes \(locked\)/);
    expect(result.stdout).toMatch(/no-new-privs=1/);
  });
});

describe('ambient capabilities for a non-root target', () => {
  // uid 1000 inside maps to the caller's own uid: one line, so it works rootless too.
  // The runner holds every capability of its new namespace until the caps steps, and
  // execve as a non-root uid keeps only the ambient set.
  it('an ambient capability survives exec as uid 1000', async () => {
    const status = await statusInside({ add: ['NET_BIND_SERVICE'], ambient: ['NET_BIND_SERVICE'] }, { inside: 1000 });
    expect(status).toMatch(/^Uid:\s*1000\s/m);
    for (const key of ['CapAmb', 'CapPrm', 'CapEff', 'CapInh', 'CapBnd']) expect(decodedLine(status, key), key).toEqual(['cap_net_bind_service']);
  });

  it("still works after setresuid to that uid in a map without 0 (the root caller's inside: 'same' path)", async () => {
    // Root's maps are written by Node and name another host id; a rootless caller maps itself.
    const userns = isRoot ? nodeMappedUserns('1000 100000 1\n') : selfMappedUserns({ inside: 1000 });
    const switchIds: ChildStep[] = [
      { op: 'syscall', name: 'test.setresgid', syscall: 'setresgid', args: [imm(1000), imm(1000), imm(1000)] },
      { op: 'syscall', name: 'test.setresuid', syscall: 'setresuid', args: [imm(1000), imm(1000), imm(1000)] },
    ];
    const caps = capsSteps({ add: ['NET_BIND_SERVICE'], ambient: ['NET_BIND_SERVICE'] });
    const result = await runProgram(programFor([...userns, ...switchIds, ...caps], '/bin/cat', ['/proc/self/status']));
    expect(result.error).toBeUndefined();
    expect(result.stdout).toMatch(/^Uid:\s*1000\s/m);
    for (const key of ['CapAmb', 'CapPrm', 'CapEff']) expect(decodedLine(result.stdout, key), key).toEqual(['cap_net_bind_service']);
  });

  it('without ambient, the same kept capability is lost at exec', async () => {
    const status = await statusInside({ add: ['NET_BIND_SERVICE'] }, { inside: 1000 });
    expect(decodedLine(status, 'CapBnd')).toEqual(['cap_net_bind_service']);
    for (const key of ['CapAmb', 'CapPrm', 'CapEff']) expect(decodedLine(status, key), key).toEqual([]);
  });
});

describe('a dropped capability is really denied', () => {
  it('bind to port 80 in the sandbox’s own netns: EACCES without CAP_NET_BIND_SERVICE, ok with it', async () => {
    const userns = selfMappedUserns({ net: true });
    expect(await probeInside([...userns, ...capsSteps('none')], ['bind', '80'])).toBe('errno=13');
    expect(await probeInside([...userns, ...capsSteps({ preset: 'docker-default', drop: ['NET_BIND_SERVICE'] })], ['bind', '80'])).toBe('errno=13');
    expect(await probeInside([...userns, ...capsSteps({ add: ['NET_BIND_SERVICE'] })], ['bind', '80'])).toBe('ok');
    // Ports from 1024 need no capability: the probe itself works either way.
    expect(await probeInside([...userns, ...capsSteps('none')], ['bind', '8080'])).toBe('ok');
  });

  it('bind to port 80 as uid 1000: only an ambient CAP_NET_BIND_SERVICE allows it', async () => {
    const userns = selfMappedUserns({ net: true, inside: 1000 });
    expect(await probeInside([...userns, ...capsSteps({ add: ['NET_BIND_SERVICE'] })], ['bind', '80'])).toBe('errno=13');
    expect(await probeInside([...userns, ...capsSteps({ add: ['NET_BIND_SERVICE'], ambient: ['NET_BIND_SERVICE'] })], ['bind', '80'])).toBe('ok');
  });

  // chown to another uid needs a second id mapped inside, and only a process with
  // CAP_SETUID over the parent namespace (root) may write such a map.
  const twoIds = nodeMappedUserns(`0 ${isRoot ? 0 : 65534} 1\n1000 100000 1\n`);

  it('chown to another uid: EPERM without CAP_CHOWN, done with it (rootless: the second id cannot be mapped)', async () => {
    const denied = join(probe.dir, 'denied');
    const allowed = join(probe.dir, 'allowed');
    writeFileSync(denied, '');
    writeFileSync(allowed, '');
    if (!isRoot) {
      // Only root may write a map with two ids; without one, chown has no other uid to try.
      const result = await runProgram(programFor([...twoIds, ...capsSteps('none')], probe.path, ['chown', denied, '1000', '1000']));
      expect(result.error).toBeInstanceOf(IsoError);
      expect(result.error?.code).toBe('EPERM');
      expect(result.error?.step).toBe('test.maps');
      expect(result.error?.phase).toBe('parent');
      expect(statSync(denied).uid).toBe(uid);
      return;
    }
    expect(await probeInside([...twoIds, ...capsSteps({ preset: 'docker-default', drop: ['CHOWN'] })], ['chown', denied, '1000', '1000'])).toBe(
      'errno=1',
    );
    expect(statSync(denied).uid).toBe(0);
    expect(await probeInside([...twoIds, ...capsSteps({ add: ['CHOWN'] })], ['chown', allowed, '1000', '1000'])).toBe('ok');
    // Host-side evidence: uid 1000 inside is 100000 outside.
    expect(statSync(allowed).uid).toBe(100000);
    expect(statSync(allowed).gid).toBe(100000);
  });
});

describe('setup failures are typed and name the step', () => {
  it('without a user namespace: host root applies the steps to itself; a non-root caller fails at caps.prepare', async () => {
    const result = await runProgram(programFor(capsSteps('docker-default'), '/bin/cat', ['/proc/self/status']));
    if (isRoot) {
      expect(result.error).toBeUndefined();
      for (const key of ['CapPrm', 'CapEff', 'CapBnd']) expect(decodedLine(result.stdout, key).sort(), key).toEqual([...DOCKER_NAMES].sort());
      return;
    }
    expect(result.error).toBeInstanceOf(IsoError);
    expect(result.error?.isoCode).toBe('ISO_SETUP_FAILED');
    expect(result.error?.code).toBe('EPERM');
    // It holds none of the kept capabilities, nor CAP_SETPCAP to drop bounding bits.
    expect(result.error?.step).toBe('caps.prepare');
    expect(result.error?.message).toMatch(/^caps\.prepare\[\d+\]: capset\(\{_LINUX_CAPABILITY_VERSION_3, pid=0\}, \{cap_chown,.*=ep\}\) failed: EPERM/);
  });

  it('keeping a capability the process no longer holds fails first thing, at caps.prepare, with EPERM', async () => {
    // The first round keeps only CAP_SETPCAP; capset only ever lowers, so CAP_CHOWN is gone.
    const steps = [...selfMappedUserns(), ...capsSteps({ add: ['SETPCAP'] }), ...capsSteps({ add: ['SETPCAP', 'CHOWN'] })];
    const result = await runProgram(programFor(steps, '/bin/true', []));
    expect(result.error).toBeInstanceOf(IsoError);
    expect(result.error?.code).toBe('EPERM');
    expect(result.error?.step).toBe('caps.prepare');
    expect(result.error?.message).toMatch(/^caps\.prepare\[\d+\]: capset\(\{_LINUX_CAPABILITY_VERSION_3, pid=0\}, \{cap_chown,cap_setpcap=ep\}\) failed: EPERM/);
  });

  it('works after a uid change left only the permitted set (as PR_SET_KEEPCAPS does)', async () => {
    // Empty effective, full permitted: what setresuid away from 0 leaves under KEEP_CAPS.
    const permitted = (1n << 41n) - 1n;
    const cleared: ChildStep = {
      op: 'syscall',
      name: 'test.clearEffective',
      syscall: 'capset',
      args: [bytes(capHeader()), bytes(capData({ effective: 0n, permitted, inheritable: 0n }))],
    };
    // The control: with that state, a bounding drop (it needs CAP_SETPCAP effective) fails.
    const drop: ChildStep = { op: 'syscall', name: 'test.drop', syscall: 'prctl', args: [imm(PR.PR_CAPBSET_DROP), imm(0)] };
    const bare = await runProgram(programFor([...selfMappedUserns(), cleared, drop], '/bin/true', []));
    expect(bare.error?.step).toBe('test.drop');
    expect(bare.error?.code).toBe('EPERM');
    const status = await runProgram(programFor([...selfMappedUserns(), cleared, ...capsSteps('docker-default')], '/bin/cat', ['/proc/self/status']));
    expect(status.error).toBeUndefined();
    for (const key of ['CapPrm', 'CapEff', 'CapBnd']) expect(decodedLine(status.stdout, key).sort(), key).toEqual([...DOCKER_NAMES].sort());
  });
});

describe('reading a live sandboxed process', () => {
  it('readProcessCaps(pid) sees the sets the caps steps left', async () => {
    const program = buildProgram(programFor([...selfMappedUserns(), ...capsSteps('docker-default')], '/bin/cat', []), hostArch());
    const { child, ready } = launch(program, { stdio: ['pipe', 'ignore', 'ignore'] });
    const closed = new Promise<number | null>((resolve) => {
      child.once('close', (code) => {
        resolve(code);
      });
    });
    try {
      await ready;
      if (child.pid === undefined) throw new Error('the runner has no pid');
      const caps = readProcessCaps(child.pid);
      expect(caps.effective.names.map((n) => n.toLowerCase()).sort()).toEqual([...DOCKER_NAMES].sort());
      expect(caps.bounding.mask).toBe(0xa80425fbn);
      expect(caps.ambient?.mask).toBe(0n);
      expect(caps.noNewPrivs).toBe(true);
      expect(caps.seccomp).toBe('disabled');
    } finally {
      child.stdin?.end();
    }
    expect(await closed).toBe(0);
  });
});
