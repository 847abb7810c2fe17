// The types of @iso/seccomp's option, its checked settings, the notify handler's
// interface and the feature's result. Types only: every other file may import this one.

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
  /**
   * What two rules with the same syscall and conditions but different actions mean:
   * 'error' for typed policies (one of the two is a mistake); 'strictest' for Docker
   * profiles, whose rules may contradict each other (Podman's allows `setns` and, unless
   * CAP_SYS_ADMIN is kept, denies it): the most restrictive action wins, as it does for
   * rules that overlap with different conditions.
   * @defaultValue 'error'
   */
  conflicts?: 'error' | 'strictest';
}

/** The handler of a policy's `notify` rules. */
export interface SeccompSupervision {
  /**
   * Decides every call a `notify` rule (or a Docker profile's SCMP_ACT_NOTIFY) sends to
   * user space; required when there is one, refused when there is none. The sandbox
   * serves the listener on a background thread and calls this on the main thread; the
   * calling thread of the target waits until it answers (see SeccompDecision). If it
   * throws or answers nonsense, the call is denied with EPERM. Linux 5.0+ ('continue'
   * 5.5+). seccompFeature.start() serves it, for @iso/sandbox's spawn() and run();
   * superviseNotifications() does for a program launched with @iso/core.
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
 * no_new_privs set by @iso/caps or CAP_SYS_ADMIN kept). `true` is the built-in default
 * profile, Docker-like (see README); an object is a typed policy, `{ docker }` or
 * `{ profile: 'default' }`. `false` loads no filter.
 * @defaultValue true: the built-in default profile
 */
export type SeccompOption = boolean | SeccompOptions;

// --- Docker/OCI profiles, checked -------------------------------------------------------

/** includes/excludes of a Docker profile's rule. */
export interface DockerFilter {
  readonly caps?: readonly string[];
  readonly arches?: readonly string[];
  readonly minKernel?: string;
}

/** A syscall rule of a Docker profile, checked. */
export interface DockerSyscallRule {
  readonly names: readonly string[];
  readonly action: string;
  /** From `errnoRet`, or from Podman's `errno` name. */
  readonly errnoRet?: number;
  readonly args: readonly { readonly index: number; readonly value: bigint; readonly valueTwo: bigint; readonly op: string }[];
  readonly includes: DockerFilter;
  readonly excludes: DockerFilter;
  readonly comment?: string;
  /** The rule's path in the options, for errors and explanations. */
  readonly path: string;
}

/** A Docker/OCI profile, checked but not yet evaluated against caps and kernel. */
export interface DockerProfile {
  readonly defaultAction: string;
  /** From `defaultErrnoRet`, or from Podman's `defaultErrno` name. */
  readonly defaultErrnoRet?: number;
  /** The ABIs iso can serve among the profile's architectures. */
  readonly abis: readonly SeccompAbi[];
  readonly flags: Readonly<SeccompFlags>;
  readonly syscalls: readonly DockerSyscallRule[];
  readonly path: string;
}

// --- Settings: the option after checking ------------------------------------------------

/** Where the filter comes from, checked. */
export type SeccompSource =
  | { readonly kind: 'default'; readonly notify?: readonly string[] }
  | { readonly kind: 'policy'; readonly policy: SeccompPolicy }
  | { readonly kind: 'docker'; readonly profile: DockerProfile; readonly kernelRelease: string };

/**
 * The `seccomp` option after checking: what normalizeSeccompOptions() returns. Frozen and
 * shared between launches with equal options, so it never holds the handler.
 */
export interface SeccompSettings {
  readonly source: SeccompSource;
  readonly log: boolean;
  readonly specAllow: boolean;
  /**
   * Some rule sends calls to user space: load with SECCOMP_FILTER_FLAG_NEW_LISTENER and
   * hand the listener to Node. The handler itself stays in the option.
   */
  readonly notify: boolean;
  /** Where the first notify rule is, for errors. */
  readonly notifyPath?: string;
}

// --- The notify handler ----------------------------------------------------------------

/**
 * What the handler answers, in the kernel's three kinds of response:
 * - `'continue'`: the kernel runs the call as if no filter were there
 *   (SECCOMP_USER_NOTIF_FLAG_CONTINUE, Linux 5.5+). The kernel reads the call's memory
 *   again after the handler looked at it, so never allow a call this way because of what
 *   a pointer argument points to: the target can change it in between.
 * - `'allow'` or `{ allow: value }`: the call is NOT run; it returns `value` (default 0)
 *   as if it had succeeded. For a supervisor that did the work itself, or fakes it.
 * - `'deny'` or `{ deny: errno }`: the call fails with the errno (default EPERM).
 * - `{ fd, cloexec? }`: the call is NOT run; a copy of this Node fd lands in the caller
 *   and the call returns its number (SECCOMP_IOCTL_NOTIF_ADDFD, Linux 5.14). The safe way
 *   to grant an open by its path: Node opens what it decided on, the target gets that.
 *   Node's fd stays open; close it when the handler is done.
 */
export type SeccompDecision =
  | 'continue'
  | 'allow'
  | 'deny'
  | { allow: number | bigint }
  | { deny: number | string }
  | { fd: number; cloexec?: boolean };

/** One call in the notify set, stopped until the handler answers. */
export interface SeccompNotification {
  /** The kernel's id for this notification. */
  readonly id: bigint;
  /** Host pid of the calling thread (in Node's PID namespace). */
  readonly pid: number;
  readonly abi: SeccompAbi | 'unknown';
  /** The syscall's name, or `syscall_<nr>` for a number the tables do not name. */
  readonly syscall: string;
  readonly nr: number;
  /** The six argument registers, as unsigned 64-bit values. */
  readonly args: readonly bigint[];
  readonly instructionPointer: bigint;
  /**
   * Reads the NUL-terminated string argument `index` points to (a path, say) from the
   * caller's memory, through /proc/<pid>/mem, and checks afterwards that the caller still
   * waits, so a recycled pid cannot answer. Good for logging and for denying; see
   * 'continue' for why it is no ground for allowing. Needs ptrace access to the caller
   * (the same user, or CAP_SYS_PTRACE). Throws ISO_SYSCALL_FAILED if it cannot read.
   */
  readString(index: number, maxBytes?: number): string;
}

/** Decides one notification. It may be async; until it settles, the caller waits. */
export type SeccompNotifyHandler = (notification: SeccompNotification) => SeccompDecision | Promise<SeccompDecision>;

/** The decision as applied, in one shape. */
export type AppliedDecision =
  | { readonly kind: 'continue' }
  | { readonly kind: 'allow'; readonly value: bigint }
  | { readonly kind: 'deny'; readonly errno: number; readonly errnoCode: string }
  | { readonly kind: 'fd'; readonly fd: number; readonly cloexec: boolean };

/** One handled notification, for logs: the 'seccomp' and 'violation' events of a sandbox. */
export interface SeccompNotifyEvent {
  /** Date.now() when the notification arrived. */
  readonly time: number;
  readonly pid: number;
  readonly abi: SeccompAbi | 'unknown';
  readonly syscall: string;
  readonly nr: number;
  readonly args: readonly bigint[];
  readonly decision: AppliedDecision;
  /** The call was denied: by the handler, or because the handler failed. */
  readonly violation: boolean;
  /** Why the handler's answer was not used, when it threw or answered nonsense. */
  readonly handlerError?: unknown;
  /** False when the caller was gone before the answer (killed meanwhile). */
  readonly delivered: boolean;
}

// --- The feature's result --------------------------------------------------------------

/** The `seccomp` part of a sandbox's result (`result.seccomp`). */
export interface SeccompResult {
  /** The target died of SIGSYS: a kill action of the filter (or a trap it did not handle). */
  readonly killed: boolean;
  /** Calls the filter sent to `seccomp.onNotify`. */
  readonly notifications: number;
  /** The first 100 notified calls that were denied; the 'violation' events carry them all. */
  readonly violations: readonly SeccompNotifyEvent[];
}
