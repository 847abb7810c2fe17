import type { SeccompNotifyHandler } from './notify.js';

/**
 * A syscall ABI a filter can handle. `x86_64` and `aarch64` are native; an x86_64 kernel
 * also accepts `i386` calls (int 0x80, AUDIT_ARCH_I386) and, when built with
 * CONFIG_X86_X32_ABI, `x32` calls (AUDIT_ARCH_X86_64 with X32_SYSCALL_BIT in the number).
 */
export type SeccompAbi = 'x86_64' | 'x32' | 'i386' | 'aarch64';

/**
 * What happens to a matching syscall (Linux 3.5+; `kill-process` 4.14+, `log` 4.14+,
 * `notify` 5.0+):
 * - `allow`: the call runs.
 * - `{ errno }`: the call fails at once with this errno (a name like 'EPERM' or 0 to 4095).
 * - `kill-process`: the whole process dies of SIGSYS (core dump).
 * - `kill-thread`: only the calling thread dies.
 * - `trap`: SIGSYS is delivered; a handler may emulate the call.
 * - `log`: the call runs and is logged by audit.
 * - `{ trace }`: a ptrace tracer is told (PTRACE_EVENT_SECCOMP) with this 16-bit message;
 *   without a tracer the call fails with ENOSYS.
 * - `notify`: a user-space supervisor decides (SECCOMP_RET_USER_NOTIF). Not allowed as the
 *   default or bad-arch action.
 *
 * When several rules match one call, the most restrictive action wins, in the kernel's
 * order: kill-process, kill-thread, trap, errno, notify, trace, log, allow. Among equal
 * actions with different data (two errnos), the rule listed first wins.
 */
export type SeccompAction =
  | 'allow'
  | 'kill-process'
  | 'kill-thread'
  | 'trap'
  | 'log'
  | 'notify'
  | { errno: number | string }
  | { trace: number };

/**
 * A comparison of one syscall argument. Arguments are compared as unsigned 64-bit
 * numbers on x86_64 and aarch64, the way the kernel hands them to the filter and the way
 * libseccomp compares them: a negative `value` means its two's complement (-1 is
 * 0xffffffffffffffff). On i386 and x32 only the low 32 bits are compared, with `value`
 * and `mask` cut to 32 bits, as libseccomp does (the arguments of those ABIs are 32-bit).
 *
 * Beware of `int` arguments on 64-bit ABIs: the kernel ignores their upper 32 bits, the
 * filter does not. `{ op: '>', value: 40 }` on socket's family also matches
 * 0x1_0000_0026, which the kernel reads as 38. Deny by listing what is allowed with
 * `==` and `<`, or use `masked==` with mask 0xffffffff.
 */
export interface SeccompArgCondition {
  /** The argument, 0 to 5. */
  index: number;
  /** `masked==` means `(arg & mask) == value`. */
  op: '==' | '!=' | '<' | '<=' | '>' | '>=' | 'masked==';
  /** A 64-bit value, as a bigint or a safe integer. */
  value: bigint | number;
  /** Only for `masked==`; `value` must have no bit outside it. */
  mask?: bigint | number;
}

/** Syscalls, the action they get, and when. */
export interface SeccompRule {
  /**
   * Syscall names as the kernel's tables spell them ('openat', 'clone3'). A name unknown
   * to every ABI the rule applies to is an error (a typo), unless the policy sets
   * `unknownSyscalls: 'skip'`; a name known to some of them applies there.
   */
  names: readonly string[];
  action: SeccompAction;
  /** Conditions that must all hold, at most 6. @defaultValue none: the rule always matches */
  args?: readonly SeccompArgCondition[];
  /** Only these ABIs, which must be among the policy's. @defaultValue all of the policy's ABIs */
  abis?: readonly SeccompAbi[];
  /** Where the rule came from, shown in errors and explanations ('seccomp.docker.syscalls[3]'). */
  origin?: string;
  comment?: string;
}

/**
 * iso's typed seccomp policy. It compiles to one BPF program per machine architecture,
 * and it is checked before anything runs: a typo in a syscall name, conflicting rules
 * (same syscall and conditions, different actions), a bad argument index or errno are
 * ISO_INVALID_OPTIONS naming the rule.
 */
export interface SeccompPolicy {
  /** For every syscall no rule matches. @defaultValue { errno: 'EPERM' } */
  defaultAction?: SeccompAction;
  /**
   * For calls from an ABI the filter does not handle: i386 or x32 calls on x86_64 unless
   * listed in `abis`, and 32-bit arm calls on aarch64 (always: iso has no arm tables).
   * @defaultValue 'kill-process': a 32-bit call smuggled past a 64-bit policy is an
   * attack or a mistake, and death by SIGSYS says so loudly where an errno would not.
   */
  badArchAction?: SeccompAction;
  /**
   * The ABIs that get the rules. i386 and x32 are not in the default: they are blocked
   * with `badArchAction`. List them to give them the rules (names are looked up in their
   * own tables), and use a rule's `abis` to give them rules of their own.
   * @defaultValue ['x86_64', 'aarch64']
   */
  abis?: readonly SeccompAbi[];
  /** @defaultValue none: every syscall gets `defaultAction` */
  rules?: readonly SeccompRule[];
  /**
   * What a name unknown to all of a rule's ABIs is: 'error' for typed policies, 'skip' as
   * runc does for Docker profiles (they name calls of other architectures).
   * @defaultValue 'error'
   */
  unknownSyscalls?: 'error' | 'skip';
}

/** The handler of a policy's `notify` rules. */
export interface SeccompSupervision {
  /**
   * Decides every call a `notify` rule (or a Docker profile's SCMP_ACT_NOTIFY) sends to
   * user space; required when there is one, refused when there is none. The sandbox
   * serves the listener on a background thread and calls this on the main thread; the
   * calling thread of the target waits until it answers (see SeccompDecision). If it
   * throws or answers nonsense, the call is denied with EPERM. Linux 5.0+ ('continue'
   * 5.5+). Only @iso/sandbox's spawn() and run() serve it.
   */
  onNotify?: SeccompNotifyHandler;
}

/** Filter flags of seccomp(SECCOMP_SET_MODE_FILTER). */
export interface SeccompFlags {
  /** SECCOMP_FILTER_FLAG_LOG (Linux 4.14+): audit-log every action but allow. @defaultValue false */
  log?: boolean;
  /**
   * SECCOMP_FILTER_FLAG_SPEC_ALLOW (Linux 4.17+): do not turn on the Speculative Store
   * Bypass mitigation that loading a filter implies. Faster, less safe. @defaultValue false
   */
  specAllow?: boolean;
}

/** A typed policy as the `seccomp` option. */
export interface SeccompPolicyOptions extends SeccompPolicy, SeccompFlags, SeccompSupervision {
  docker?: never;
  profile?: never;
}

/**
 * A Docker/OCI seccomp profile (the JSON of `docker run --security-opt seccomp=...`), as a
 * parsed object or as JSON text. Its includes/excludes are evaluated against the
 * capabilities the sandbox keeps and the running kernel.
 */
export interface SeccompDockerOptions extends SeccompFlags, SeccompSupervision {
  docker: unknown;
  profile?: never;
}

/** The built-in default profile, with flags, and calls to hand to a handler. */
export interface SeccompDefaultOptions extends SeccompFlags, SeccompSupervision {
  profile: 'default';
  /**
   * Syscall names the handler decides (`onNotify`) instead of the profile: all their
   * calls, including the ones the profile would deny. @defaultValue none
   */
  notify?: readonly string[];
  docker?: never;
}

export type SeccompOptions = SeccompPolicyOptions | SeccompDockerOptions | SeccompDefaultOptions;

/**
 * The `seccomp` option: a syscall filter loaded last before exec (Linux 3.5+, with
 * no_new_privs set by @iso/caps or CAP_SYS_ADMIN). `true` is the built-in default
 * profile, Docker-like (see README); an object is a typed policy, `{ docker }` or
 * `{ profile: 'default' }`. `false` loads no filter.
 * @defaultValue undefined: this package adds no filter; @iso/sandbox decides its default
 */
export type SeccompOption = boolean | SeccompOptions;
