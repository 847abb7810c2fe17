import { readFileSync } from 'node:fs';
import { dockerFormatProfiles } from '@iso/test-kit';
import { describe, expect, it } from 'vitest';
import { dockerPolicy, loadDockerProfile, parseDockerProfile } from '../src/docker.js';
import { explainSyscall } from '../src/interpret.js';
import { compilePolicy } from '../src/compile.js';
import { normalizePolicy } from '../src/policy.js';
import type { DockerProfile, SeccompPolicy } from '../src/options.js';

// Podman's profile always (a Debian package's file), Docker's own when ../shared is there.
const profiles = dockerFormatProfiles().map((file) => ({ ...file, json: JSON.parse(readFileSync(file.path, 'utf8')) as unknown }));

const invalid = (json: unknown, path: string, message?: RegExp) => { expect(() => parseDockerProfile(json)).toThrow(
    expect.objectContaining({ code: 'ISO_INVALID_OPTIONS', path, ...(message ? { message: expect.stringMatching(message) } : {}) }),
  ); };

const at = (policy: SeccompPolicy, abi: 'x86_64' | 'i386' | 'aarch64', name: string, args?: number[]) => explainSyscall(policy, abi, args ? { syscall: name, args } : name);

/** What only one of the two says, checked where that one is tested. */
const SPECIFIC = {
  docker: (profile: DockerProfile) => {
    const policy = dockerPolicy(profile, { kernelRelease: '6.18.0' });
    expect(at(policy, 'x86_64', 'clone3').rule).toBe('seccomp.docker.syscalls[20]');
    expect(at(policy, 'x86_64', 'clone', [0x10000000]).action).toBe('errno');
    expect(at(policy, 'x86_64', 'clone', [0x11]).action).toBe('allow');
    expect(at(policy, 'x86_64', 'socket', [40]).action).toBe('errno');
    expect(at(policy, 'aarch64', 'mount').action).toBe('errno');
  },
  podman: (profile: DockerProfile) => {
    expect(profile.defaultErrnoRet).toBe(38); // "defaultErrnoRet": 38 beside "defaultErrno": "ENOSYS"
    const policy = dockerPolicy(profile, { kernelRelease: '6.18.0' });
    expect(at(policy, 'x86_64', 'kexec_load')).toMatchObject({ action: 'errno', data: 1, rule: 'seccomp.docker.syscalls[0]' });
    expect(at(policy, 'x86_64', 'socket', [16, 3, 9])).toMatchObject({ action: 'errno', data: 22 }); // AF_NETLINK, NETLINK_AUDIT
    expect(at(policy, 'x86_64', 'socket', [16, 3, 0]).action).toBe('allow');
    // syscalls[1] allows setns, syscalls[15] denies it unless CAP_SYS_ADMIN is kept: the denial wins.
    expect(at(policy, 'x86_64', 'setns')).toMatchObject({ action: 'errno', data: 1, rule: 'seccomp.docker.syscalls[15]' });
  },
} as const;

/** Where the two profiles differ on purpose: Podman denies with ENOSYS by default and allows mounts and clone3. */
const EXPECTED = {
  docker: { defaultErrno: 1, mount: 'errno', clone3: { action: 'errno', data: 38 }, setns: 'errno' },
  podman: { defaultErrno: 38, mount: 'allow', clone3: { action: 'allow' }, setns: 'errno' },
} as const;

describe.each(profiles)("$name's default profile, in Docker's format ($path)", ({ name, json }) => {
  const expected = EXPECTED[name];

  it('loads as is: its default errno, i386 and x32 from archMap, names of other architectures skipped', () => {
    const profile = parseDockerProfile(json);
    expect(profile.abis).toEqual(['x86_64', 'x32', 'i386', 'aarch64']);
    const policy = dockerPolicy(profile, { keptCaps: [], kernelRelease: '6.18.0' });
    expect(policy.defaultAction).toEqual({ errno: expected.defaultErrno });
    expect(policy.unknownSyscalls).toBe('skip');
    // 'chown32' exists on i386 only: allowed there, unknown elsewhere and skipped, no error.
    expect(at(policy, 'i386', 'chown32').action).toBe('allow');
    expect(at(policy, 'x86_64', 'read').action).toBe('allow');
    expect(at(policy, 'x86_64', 'mount').action).toBe(expected.mount);
    expect(at(policy, 'x86_64', 'clone3')).toMatchObject(expected.clone3);
    expect(at(policy, 'x86_64', 'setns').action).toBe(expected.setns);
    expect(at(policy, 'x86_64', 'socket', [2]).action).toBe('allow');
    expect(at(policy, 'x86_64', 'personality', [0xffffffff]).action).toBe('allow');
    expect(at(policy, 'x86_64', 'personality', [0x40000])).toMatchObject({ action: 'errno', data: expected.defaultErrno });
    expect(at(policy, 'x86_64', 'arch_prctl').action).toBe('allow'); // includes.arches: amd64
    expect(at(policy, 'i386', 'socketcall').action).toBe('allow');
    expect(at(policy, 'x86_64', 'open_by_handle_at').action).toBe('errno');
    for (const arch of ['x86_64', 'aarch64'] as const) expect(() => compilePolicy(policy, arch, 'seccomp.docker')).not.toThrow();
  });

  it('evaluates includes/excludes against the kept capabilities', () => {
    const admin = loadDockerProfile(json, { keptCaps: ['CAP_SYS_ADMIN', 'CAP_DAC_READ_SEARCH'], kernelRelease: '6.18.0' });
    for (const call of ['mount', 'clone3', 'setns', 'open_by_handle_at']) expect([call, explainSyscall(admin, 'x86_64', call).action]).toEqual([call, 'allow']);
    expect(explainSyscall(admin, 'x86_64', { syscall: 'clone', args: [0x10000000] }).action).toBe('allow');
    // Names are accepted without the CAP_ prefix and in any case.
    const ptrace = loadDockerProfile(json, { keptCaps: ['sys_ptrace'], kernelRelease: '6.18.0' });
    expect(explainSyscall(ptrace, 'x86_64', 'kcmp').action).toBe('allow');
    expect(explainSyscall(ptrace, 'x86_64', 'chroot').action).toBe('errno');
  });

  it(name === 'podman' ? "reads Podman's errno names, refuses NETLINK_AUDIT sockets with EINVAL, resolves setns's contradicting rules to the stricter" : "gives clone3 ENOSYS by Docker's own rule, denies CLONE_NEWUSER and AF_VSOCK", () => {
    SPECIFIC[name](parseDockerProfile(json));
  });
});

describe("Docker's profile format", () => {
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

  it('reads Podman’s errno names: alone, or beside a number they must agree with', () => {
    const profile = (extra: object, rule: object = {}) => ({ defaultAction: 'SCMP_ACT_ERRNO', ...extra, syscalls: [{ names: ['mount'], action: 'SCMP_ACT_ERRNO', ...rule }] });
    expect(parseDockerProfile(profile({ defaultErrno: 'ENOSYS' })).defaultErrnoRet).toBe(38);
    expect(parseDockerProfile(profile({ defaultErrnoRet: 38, defaultErrno: 'ENOSYS' })).defaultErrnoRet).toBe(38);
    expect(parseDockerProfile(profile({ defaultErrno: '' })).defaultErrnoRet).toBeUndefined(); // Go's unset string
    expect(parseDockerProfile(profile({}, { errno: 'EROFS' })).syscalls[0]?.errnoRet).toBe(30);
    expect(parseDockerProfile(profile({}, { errnoRet: 1, errno: 'EPERM' })).syscalls[0]?.errnoRet).toBe(1);
    const policy = loadDockerProfile(profile({ defaultErrno: 'ENOSYS' }, { errno: 'EROFS' }));
    expect(explainSyscall(policy, 'x86_64', 'mount')).toMatchObject({ action: 'errno', data: 30 });
    expect(explainSyscall(policy, 'x86_64', 'chdir')).toMatchObject({ action: 'errno', data: 38 });
    invalid(profile({ defaultErrnoRet: 1, defaultErrno: 'ENOSYS' }), 'seccomp.docker.defaultErrno', /ENOSYS is 38, but defaultErrnoRet says 1/);
    invalid(profile({ defaultErrno: 'ENOPE' }), 'seccomp.docker.defaultErrno', /unknown errno name/);
    invalid(profile({ defaultErrno: 38 }), 'seccomp.docker.defaultErrno');
    invalid(profile({}, { errnoRet: 13, errno: 'EPERM' }), 'seccomp.docker.syscalls[0].errno');
    invalid(profile({}, { action: 'SCMP_ACT_ALLOW', errno: 'EPERM' }), 'seccomp.docker.syscalls[0].errno', /only SCMP_ACT_ERRNO and SCMP_ACT_TRACE/);
  });

  it('resolves rules that contradict each other to the most restrictive action, at its profile path', () => {
    const policy = loadDockerProfile({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
        { names: ['read'], action: 'SCMP_ACT_LOG' },
        { names: ['write'], action: 'SCMP_ACT_ERRNO', errnoRet: 5 },
        { names: ['write'], action: 'SCMP_ACT_ERRNO', errnoRet: 6 },
      ],
    });
    expect(policy.conflicts).toBe('strictest');
    expect(explainSyscall(policy, 'x86_64', 'read')).toMatchObject({ action: 'log', rule: 'seccomp.docker.syscalls[1]' });
    // Equal actions: the rule listed first wins, as for overlapping typed rules.
    expect(explainSyscall(policy, 'x86_64', 'write')).toMatchObject({ action: 'errno', data: 5, rule: 'seccomp.docker.syscalls[2]' });
    // A typed policy still refuses them: there, one of the two is a mistake.
    expect(() => normalizePolicy({ ...policy, conflicts: 'error' }, 'seccomp.docker')).toThrow(
      expect.objectContaining({ code: 'ISO_INVALID_OPTIONS', path: 'seccomp.docker.syscalls[1]' }),
    );
    expect(() => normalizePolicy({ ...policy, conflicts: 'first' as 'error' })).toThrow(expect.objectContaining({ path: 'seccomp.conflicts' }));
  });
});
