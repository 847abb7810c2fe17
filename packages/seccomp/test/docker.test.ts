import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dockerPolicy, loadDockerProfile, parseDockerProfile } from '../src/docker.js';
import { explainSyscall } from '../src/interpret.js';
import { normalizePolicy } from '../src/policy.js';

const FIXTURE = fileURLToPath(new URL('../../../../shared/fixtures/docker-seccomp-default.json', import.meta.url));

function fixture(): unknown {
  if (!existsSync(FIXTURE)) throw new Error(`Docker's profile fixture is missing: expected ${FIXTURE} (../shared/fixtures beside the checkout)`);
  return JSON.parse(readFileSync(FIXTURE, 'utf8')) as unknown;
}

const invalid = (json: unknown, path: string, message?: RegExp) => { expect(() => parseDockerProfile(json)).toThrow(
    expect.objectContaining({ code: 'ISO_INVALID_OPTIONS', path, ...(message ? { message: expect.stringMatching(message) } : {}) }),
  ); };

describe("Docker's profile format", () => {
  it("loads Docker's default profile as is: EPERM by default, i386 and x32 from archMap, unknown names skipped", () => {
    const profile = parseDockerProfile(fixture());
    expect(profile.abis).toEqual(['x86_64', 'x32', 'i386', 'aarch64']);
    const policy = dockerPolicy(profile, { keptCaps: [], kernelRelease: '6.18.0' });
    expect(policy.defaultAction).toEqual({ errno: 1 });
    expect(policy.unknownSyscalls).toBe('skip');
    const normalized = normalizePolicy(policy);
    // 'chown32' exists on i386 only; 'riscv_flush_icache' nowhere iso knows: skipped, no error.
    expect(normalized.table.get('i386')?.get(182)?.[0]?.path).toBe('seccomp.docker.syscalls[0]');
    const at = (abi: 'x86_64' | 'i386' | 'aarch64', name: string, args?: number[]) =>
      explainSyscall(policy, abi, args ? { syscall: name, args } : name);
    expect(at('x86_64', 'read').action).toBe('allow');
    expect(at('x86_64', 'mount')).toMatchObject({ action: 'errno', data: 1, reason: 'default' });
    expect(at('x86_64', 'clone3')).toMatchObject({ action: 'errno', data: 38, rule: 'seccomp.docker.syscalls[20]' });
    expect(at('x86_64', 'clone', [0x10000000]).action).toBe('errno'); // CLONE_NEWUSER
    expect(at('x86_64', 'clone', [0x11]).action).toBe('allow');
    expect(at('x86_64', 'socket', [40]).action).toBe('errno'); // AF_VSOCK
    expect(at('x86_64', 'socket', [2]).action).toBe('allow');
    expect(at('x86_64', 'personality', [0xffffffff]).action).toBe('allow');
    expect(at('x86_64', 'personality', [0x40000]).action).toBe('errno');
    expect(at('x86_64', 'arch_prctl').action).toBe('allow'); // includes.arches: amd64
    expect(at('i386', 'socketcall').action).toBe('allow');
    expect(at('aarch64', 'mount').action).toBe('errno');
  });

  it('evaluates includes/excludes against the kept capabilities', () => {
    const admin = loadDockerProfile(fixture(), { keptCaps: ['CAP_SYS_ADMIN'], kernelRelease: '6.18.0' });
    expect(explainSyscall(admin, 'x86_64', 'mount').action).toBe('allow');
    expect(explainSyscall(admin, 'x86_64', 'clone3').action).toBe('allow'); // its ENOSYS rule excludes CAP_SYS_ADMIN
    expect(explainSyscall(admin, 'x86_64', { syscall: 'clone', args: [0x10000000] }).action).toBe('allow');
    // Names are accepted without the CAP_ prefix and in any case.
    const ptrace = loadDockerProfile(fixture(), { keptCaps: ['sys_ptrace'], kernelRelease: '6.18.0' });
    expect(explainSyscall(ptrace, 'x86_64', 'kcmp').action).toBe('allow');
    expect(explainSyscall(ptrace, 'x86_64', 'mount').action).toBe('errno');
  });

  it('evaluates minKernel against the running kernel (or the one given)', () => {
    const json = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '4.8' } },
        { names: ['kcmp'], action: 'SCMP_ACT_ALLOW', excludes: { minKernel: '5.0' } },
      ],
    };
    const old = loadDockerProfile(json, { kernelRelease: '4.4.0-210-generic' });
    expect(explainSyscall(old, 'x86_64', 'ptrace').action).toBe('errno');
    expect(explainSyscall(old, 'x86_64', 'kcmp').action).toBe('allow');
    const current = loadDockerProfile(json); // os.release(): 6.18 here
    expect(explainSyscall(current, 'x86_64', 'ptrace').action).toBe('allow');
    expect(explainSyscall(current, 'x86_64', 'kcmp').action).toBe('errno');
  });

  it('follows runc: several conditions on one argument OR, default-action rules drop, errnoRet and TRACE default to EPERM', () => {
    const policy = loadDockerProfile({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [
        { names: ['socket'], action: 'SCMP_ACT_ERRNO', errnoRet: 97, args: [{ index: 0, value: 38, op: 'SCMP_CMP_EQ' }, { index: 0, value: 40, op: 'SCMP_CMP_EQ' }] },
        { names: ['read'], action: 'SCMP_ACT_ALLOW' },
        { names: ['write'], action: 'SCMP_ACT_TRACE' },
        { names: ['prctl'], action: 'SCMP_ACT_KILL' },
        { names: ['ioctl'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 0xff00, valueTwo: 0x5400, op: 'SCMP_CMP_MASKED_EQ' }] },
      ],
    });
    expect(policy.rules?.map((r) => r.origin)).toEqual(['seccomp.docker.syscalls[0]', 'seccomp.docker.syscalls[0]', 'seccomp.docker.syscalls[2]', 'seccomp.docker.syscalls[3]', 'seccomp.docker.syscalls[4]']);
    const at = (name: string, args: number[] = []) => explainSyscall(policy, 'x86_64', { syscall: name, args });
    expect(at('socket', [38])).toMatchObject({ action: 'errno', data: 97 });
    expect(at('socket', [40])).toMatchObject({ action: 'errno', data: 97 });
    expect(at('socket', [2]).action).toBe('allow');
    expect(at('write')).toMatchObject({ action: 'trace', data: 1 });
    expect(at('prctl').action).toBe('kill-thread'); // SCMP_ACT_KILL is libseccomp's kill-thread
    expect(at('ioctl', [1, 0x5401]).action).toBe('errno'); // TCGETS & 0xff00 == 0x5400
    expect(at('ioctl', [1, 0x8901]).action).toBe('allow');
    // Only x86_64 listed: i386 and x32 calls get the bad-arch action.
    expect(explainSyscall(policy, 'i386', 'read').action).toBe('kill-process');
  });

  it('names the field of a malformed profile', () => {
    invalid('{"defaultAction": ', 'seccomp.docker', /malformed JSON/);
    invalid([], 'seccomp.docker');
    invalid({ defaultAction: 'SCMP_ACT_MAYBE' }, 'seccomp.docker.defaultAction');
    invalid({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 'EPERM' }, 'seccomp.docker.defaultErrnoRet');
    invalid({ defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_Z80'] }, 'seccomp.docker.architectures[0]');
    invalid({ defaultAction: 'SCMP_ACT_ERRNO', syscals: [] }, 'seccomp.docker.syscals', /unknown field/);
    const rule = (extra: object) => ({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }, { names: ['write'], action: 'SCMP_ACT_ALLOW', ...extra }] });
    invalid(rule({ action: 'ALLOW' }), 'seccomp.docker.syscalls[1].action');
    invalid(rule({ names: 'write' }), 'seccomp.docker.syscalls[1].names');
    invalid(rule({ name: 'write' }), 'seccomp.docker.syscalls[1].name', /either 'name' or 'names'/);
    invalid(rule({ errnoRet: 1 }), 'seccomp.docker.syscalls[1].errnoRet', /only SCMP_ACT_ERRNO and SCMP_ACT_TRACE/);
    invalid(rule({ args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }), 'seccomp.docker.syscalls[1].args[0].index');
    invalid(rule({ args: [{ index: 0, value: 1, op: 'SCMP_CMP_LIKE' }] }), 'seccomp.docker.syscalls[1].args[0].op');
    invalid(rule({ args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] }), 'seccomp.docker.syscalls[1].args[0].value');
    invalid(rule({ args: Array.from({ length: 7 }, () => ({ index: 0, value: 1, op: 'SCMP_CMP_EQ' })) }), 'seccomp.docker.syscalls[1].args', /at most 6/);
    invalid(rule({ includes: { minKernel: 'new' } }), 'seccomp.docker.syscalls[1].includes.minKernel');
    invalid(rule({ includes: { caps: 'CAP_SYS_ADMIN' } }), 'seccomp.docker.syscalls[1].includes.caps');
  });

  it('reports conflicting Docker rules at their profile path', () => {
    const policy = loadDockerProfile({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['read'], action: 'SCMP_ACT_ALLOW' },
        { names: ['read'], action: 'SCMP_ACT_LOG' },
      ],
    });
    expect(() => normalizePolicy(policy, 'seccomp.docker')).toThrow(expect.objectContaining({ code: 'ISO_INVALID_OPTIONS', path: 'seccomp.docker.syscalls[1]' }));
  });
});
