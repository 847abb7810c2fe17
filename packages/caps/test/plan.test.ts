import { describe, expect, it } from 'vitest';
import { IsoError, buildProgram, explainProgram } from '@iso/core';
import type { SyscallStep } from '@iso/core';
import type { CapsKernel, CapsOption } from '../src/options.js';
import { featureContext, isRoot } from '@iso/test-kit';
import { DOCKER_DEFAULT_CAPS, capData, capHeader, capsFeature, capsPlan, capsStageNeeds, normalizeCapsOptions, probeCaps } from '../src/index.js';

const KERNEL: CapsKernel = { lastCap: 40, ambient: true };
const ALL = (1n << 41n) - 1n;
const DOCKER = 0xa80425fbn; // capsh --decode=0xa80425fb lists Docker's 14
const bit = (n: number) => 1n << BigInt(n);

function failure(option: unknown, kernel: CapsKernel = KERNEL): IsoError {
  try {
    normalizeCapsOptions(option as CapsOption, kernel);
  } catch (error) {
    expect(error).toBeInstanceOf(IsoError);
    return error as IsoError;
  }
  throw new Error(`accepted ${JSON.stringify(option)}`);
}

describe('normalizeCapsOptions', () => {
  it('defaults to nothing kept, an empty bounding set and no_new_privs', () => {
    expect(normalizeCapsOptions(undefined, KERNEL)).toEqual({
      bounding: 0n,
      effective: 0n,
      permitted: 0n,
      inheritable: 0n,
      ambient: 0n,
      securebits: undefined,
      noNewPrivs: true,
      lastCap: 40,
    });
    expect(normalizeCapsOptions('none', KERNEL).bounding).toBe(0n);
  });

  it("keeps Docker's 14 for docker-default", () => {
    expect(DOCKER_DEFAULT_CAPS).toHaveLength(14);
    const settings = normalizeCapsOptions('docker-default', KERNEL);
    expect(settings.bounding).toBe(DOCKER);
    expect(settings.effective).toBe(DOCKER);
    expect(settings.permitted).toBe(DOCKER);
    expect(settings.inheritable).toBe(0n);
    expect(normalizeCapsOptions({ preset: 'docker-default' }, KERNEL)).toEqual(settings);
  });

  it('applies add and drop, with Docker’s rules for ALL', () => {
    const tuned = normalizeCapsOptions({ preset: 'docker-default', add: ['NET_ADMIN', 'cap_sys_ptrace'], drop: ['chown', 'CAP_MKNOD'] }, KERNEL);
    expect(tuned.bounding).toBe((DOCKER | bit(12) | bit(19)) & ~bit(0) & ~bit(27));
    expect(normalizeCapsOptions({ add: ['ALL'], drop: ['SYS_ADMIN'] }, KERNEL).bounding).toBe(ALL & ~bit(21));
    expect(normalizeCapsOptions({ preset: 'docker-default', drop: ['ALL'], add: ['KILL'] }, KERNEL).bounding).toBe(bit(5));
    expect(normalizeCapsOptions({ add: ['all'] }, { lastCap: 37, ambient: true }).bounding).toBe((1n << 38n) - 1n);
  });

  it('puts ambient capabilities in the inheritable set too', () => {
    const settings = normalizeCapsOptions({ add: ['NET_BIND_SERVICE', 'KILL'], ambient: ['net_bind_service'] }, KERNEL);
    expect(settings.ambient).toBe(bit(10));
    expect(settings.inheritable).toBe(bit(10));
    expect(settings.permitted).toBe(bit(10) | bit(5));
  });

  it('turns secure bits into PR_SET_SECUREBITS flags', () => {
    // JSON configs may spell them like the kernel header, in any case.
    const spelled = { securebits: ['NOROOT', 'NOROOT_LOCKED', 'SECBIT_KEEP_caps_locked'] } as unknown as CapsOption;
    expect(normalizeCapsOptions(spelled, KERNEL).securebits).toBe(0x23);
    expect(normalizeCapsOptions({ securebits: [] }, KERNEL).securebits).toBe(0);
  });

  it('refuses bad options with ISO_INVALID_OPTIONS naming the path', () => {
    const cases: [unknown, string][] = [
      [{ add: ['CHOWN', 'KILL', 'CAP_NOPE'] }, 'caps.add[2]'],
      [{ add: 'CHOWN' }, 'caps.add'],
      [{ add: [10] }, 'caps.add[0]'],
      [{ drop: ['CAP_NOPE'] }, 'caps.drop[0]'],
      [{ add: ['KILL'], drop: ['SETUID', 'kill'] }, 'caps.drop[1]'],
      [{ add: ['ALL'], drop: ['ALL'] }, 'caps.drop[0]'],
      [{ preset: 'docker' }, 'caps.preset'],
      ['privileged', 'caps'],
      [42, 'caps'],
      [null, 'caps'],
      [['CHOWN'], 'caps'],
      [{ ambient: ['NET_ADMIN'] }, 'caps.ambient[0]'],
      [{ add: ['KILL'], ambient: ['KILL', 'ALL'] }, 'caps.ambient[1]'],
      [{ securebits: ['NOROOT', 'ROOT'] }, 'caps.securebits[1]'],
      [{ securebits: 'NOROOT' }, 'caps.securebits'],
      [{ add: ['KILL'], ambient: ['KILL'], securebits: ['NO_CAP_AMBIENT_RAISE'] }, 'caps.securebits[0]'],
      [{ noNewPrivs: 'yes' }, 'caps.noNewPrivs'],
      [{ bounding: [] }, 'caps.bounding'],
    ];
    for (const [option, path] of cases) {
      const error = failure(option);
      expect(error.code, JSON.stringify(option)).toBe('ISO_INVALID_OPTIONS');
      expect(error.path, JSON.stringify(option)).toBe(path);
      expect(error.phase).toBe('validate');
      expect(error.message).toContain(`invalid option ${path}:`);
    }
  });

  it('refuses capabilities and features the running kernel lacks with ISO_UNSUPPORTED_KERNEL', () => {
    const old: CapsKernel = { lastCap: 37, ambient: false };
    const bpf = failure({ add: ['KILL', 'CAP_BPF'] }, old);
    expect(bpf.code).toBe('ISO_UNSUPPORTED_KERNEL');
    expect(bpf.path).toBe('caps.add[1]');
    expect(bpf.message).toContain('CAP_BPF needs Linux 5.8+');
    expect(failure({ add: ['KILL'], ambient: ['KILL'] }, old).code).toBe('ISO_UNSUPPORTED_KERNEL');
    expect(failure({ securebits: ['NO_CAP_AMBIENT_RAISE'] }, old).path).toBe('caps.securebits[0]');
    // Dropping what the kernel does not have is harmless.
    expect(normalizeCapsOptions({ preset: 'docker-default', drop: ['BPF'] }, old).bounding).toBe(DOCKER);
  });
});

describe('capsPlan', () => {
  const syscalls = (steps: readonly unknown[] | undefined) => (steps ?? []) as SyscallStep[];

  it('drops every capability not kept from the bounding set, then capset, ambient and no_new_privs', () => {
    const plan = capsPlan(normalizeCapsOptions({ preset: 'docker-default', add: ['NET_ADMIN'], ambient: ['NET_BIND_SERVICE'] }, KERNEL));
    const steps = syscalls(plan.capabilities);
    const kept = DOCKER | bit(12);
    const drops = steps.filter((s) => s.name === 'caps.bounding');
    expect(drops.map((s) => Number(s.args[1]?.kind === 'immediate' ? s.args[1].value : -1))).toEqual(
      Array.from({ length: 41 }, (_, n) => n).filter((n) => !(kept & bit(n))),
    );
    for (const drop of drops) {
      expect(drop.syscall).toBe('prctl');
      expect(drop.tolerate).toEqual(['EINVAL']);
    }
    expect(steps.map((s) => s.name).filter((name) => name !== 'caps.bounding')).toEqual(['caps.prepare', 'caps.capset', 'caps.ambient', 'caps.ambient']);
    expect(steps[0]?.name).toBe('caps.prepare');
    expect(steps.at(-3)?.name).toBe('caps.capset');
    expect(syscalls(plan.noNewPrivs).map((s) => s.name)).toEqual(['caps.noNewPrivs']);

    const explained = explainProgram(buildProgram([...steps, ...syscalls(plan.noNewPrivs)], 'x86_64'));
    expect(explained).toContain('prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN)');
    expect(explained).not.toContain('prctl(PR_CAPBSET_DROP, CAP_NET_ADMIN)');
    expect(explained).toContain('capset({_LINUX_CAPABILITY_VERSION_3, pid=0}, {');
    expect(explained).toContain('cap_net_bind_service=eip');
    expect(explained).toContain('prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)  tolerate EINVAL');
    expect(explained).toContain('prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0)');
    expect(explained).toContain('prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)');
  });

  it('orders securebits before capset, and leaves out what is not asked for', () => {
    const plan = capsPlan(normalizeCapsOptions({ add: ['ALL'], securebits: ['NOROOT', 'NOROOT_LOCKED'], noNewPrivs: false }, KERNEL));
    const names = syscalls(plan.capabilities).map((s) => s.name);
    expect(names).toEqual(['caps.prepare', 'caps.securebits', 'caps.capset', 'caps.ambient']);
    expect(plan.noNewPrivs).toEqual([]);
    expect(explainProgram(buildProgram(syscalls(plan.capabilities), 'x86_64'))).toContain(
      'prctl(PR_SET_SECUREBITS, SECBIT_NOROOT|SECBIT_NOROOT_LOCKED)',
    );
  });

  it('needs the kept set, plus CAP_SETPCAP only to drop bounding bits or set secure bits', () => {
    const SETPCAP = bit(8);
    expect(capsStageNeeds(normalizeCapsOptions('none', KERNEL))).toBe(SETPCAP);
    expect(capsStageNeeds(normalizeCapsOptions({ add: ['KILL'] }, KERNEL))).toBe(SETPCAP | bit(5));
    expect(capsStageNeeds(normalizeCapsOptions({ add: ['ALL'], drop: ['SETPCAP'] }, KERNEL))).toBe(ALL);
    const everything = normalizeCapsOptions({ add: ['ALL'] }, KERNEL);
    expect(capsStageNeeds(everything)).toBe(ALL);
    expect(capsStageNeeds({ ...everything, permitted: ALL & ~SETPCAP, bounding: ALL })).toBe(ALL & ~SETPCAP);
  });

  it('lays out capset structs as the kernel reads them', () => {
    expect(Buffer.from(capHeader()).toString('hex')).toBe('2205082000000000');
    const data = Buffer.from(capData({ effective: bit(40) | bit(0), permitted: bit(33) | bit(31), inheritable: bit(10) }));
    expect([0, 4, 8, 12, 16, 20].map((at) => data.readUInt32LE(at))).toEqual([1, 0x80000000, 0x400, 0x100, 0x2, 0]);
  });
});

describe('capsFeature', () => {
  it('is always on, and applies only with a user namespace or as root', () => {
    const bare = featureContext();
    const withUserns = featureContext({ namespaces: new Set(['user']) });
    const settings = capsFeature.normalize(undefined, withUserns)!;
    expect(settings.apply).toBe(true);
    expect(capsFeature.normalize(undefined, bare)!.apply).toBe(false);
    expect(capsFeature.normalize(undefined, featureContext({ host: { uid: 0, gid: 0, isRoot: true } }))!.apply).toBe(true);
    // Without the steps, only no_new_privs is left.
    expect(Object.keys(capsFeature.plan(capsFeature.normalize(undefined, bare)!, bare).steps)).toEqual(['noNewPrivs']);
    expect(Object.keys(capsFeature.plan(settings, withUserns).steps).sort()).toEqual(['capabilities', 'noNewPrivs']);
  });

  it('tells seccomp what the target keeps and whether no_new_privs is set', () => {
    const withUserns = featureContext({ namespaces: new Set(['user']) });
    expect(capsFeature.facts!(capsFeature.normalize(undefined, withUserns)!, withUserns)).toEqual({ keptCaps: [], noNewPrivs: true });
    const kept = capsFeature.normalize({ add: ['NET_BIND_SERVICE'], noNewPrivs: false }, withUserns)!;
    expect(capsFeature.facts!(kept, withUserns)).toEqual({ keptCaps: ['CAP_NET_BIND_SERVICE'], noNewPrivs: false });
    // A caller without a user namespace keeps nothing, whatever the option says.
    const bare = featureContext({ host: { uid: 0, gid: 0, isRoot: false } });
    expect(capsFeature.facts!({ ...kept, apply: false }, bare)).toEqual({ keptCaps: [], noNewPrivs: false });
  });

  // Root holds them all; the refusal is for the others (the rootless run).
  it.runIf(!isRoot)('refuses to keep, without a user namespace, what a non-root caller does not hold', () => {
    const bare = featureContext();
    expect(() => capsFeature.normalize({ add: ['SYS_ADMIN'] }, bare)).toThrow(
      expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'caps', message: expect.stringContaining('needs a user namespace') }),
    );
  });

  it('probes in the common shape', () => {
    expect(probeCaps()).toMatchObject({ supported: true });
  });
});
