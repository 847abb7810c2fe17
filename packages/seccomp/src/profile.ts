// The built-in default profile: Docker's default in spirit (an allowlist, EPERM for the
// rest), written for iso's two machines and a little stricter where Docker's rules can
// be sidestepped. README.md lists what it blocks and why.
import { CLONE } from '@iso/core';
import type { SeccompPolicy, SeccompRule } from './options.js';
import { capabilityName } from './docker.js';

/** Calls every program may make: files, memory, signals, time reading, sockets, IPC, threads. */
export const DEFAULT_ALLOWED: readonly string[] = [
  // files and directories
  'access', 'chdir', 'chmod', 'chown', 'close', 'close_range', 'copy_file_range', 'creat', 'dup', 'dup2', 'dup3',
  'faccessat', 'faccessat2', 'fadvise64', 'fallocate', 'fchdir', 'fchmod', 'fchmodat', 'fchmodat2', 'fchown', 'fchownat',
  'fcntl', 'fdatasync', 'file_getattr', 'file_setattr', 'flock', 'fstat', 'fstatfs', 'fsync', 'ftruncate', 'futimesat',
  'getcwd', 'getdents', 'getdents64', 'lchown', 'link', 'linkat', 'lseek', 'lstat', 'mkdir', 'mkdirat', 'mknod', 'mknodat',
  'name_to_handle_at', 'newfstatat', 'open', 'openat', 'openat2', 'pread64', 'preadv', 'preadv2', 'pwrite64', 'pwritev',
  'pwritev2', 'read', 'readahead', 'readlink', 'readlinkat', 'readv', 'rename', 'renameat', 'renameat2', 'rmdir',
  'sendfile', 'splice', 'stat', 'statfs', 'statx', 'symlink', 'symlinkat', 'sync', 'sync_file_range', 'syncfs', 'tee',
  'truncate', 'umask', 'unlink', 'unlinkat', 'utime', 'utimensat', 'utimes', 'vmsplice', 'write', 'writev',
  'cachestat', 'statmount', 'listmount',
  // extended attributes
  'fgetxattr', 'flistxattr', 'fremovexattr', 'fsetxattr', 'getxattr', 'getxattrat', 'lgetxattr', 'listxattr',
  'listxattrat', 'llistxattr', 'lremovexattr', 'lsetxattr', 'removexattr', 'removexattrat', 'setxattr', 'setxattrat',
  // polling, events, notification
  'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_ctl_old', 'epoll_pwait', 'epoll_pwait2', 'epoll_wait',
  'epoll_wait_old', 'eventfd', 'eventfd2', 'fanotify_mark', 'inotify_add_watch', 'inotify_init', 'inotify_init1',
  'inotify_rm_watch', 'pause', 'poll', 'ppoll', 'pselect6', 'select', 'signalfd', 'signalfd4', 'timerfd_create',
  'timerfd_gettime', 'timerfd_settime', 'ioctl',
  // pipes: every shell pipeline needs them
  'pipe', 'pipe2',
  // asynchronous I/O (not io_uring)
  'io_cancel', 'io_destroy', 'io_getevents', 'io_pgetevents', 'io_setup', 'io_submit',
  // memory
  'brk', 'madvise', 'map_shadow_stack', 'membarrier', 'memfd_create', 'memfd_secret', 'mincore', 'mlock', 'mlock2',
  'mlockall', 'mmap', 'mprotect', 'mremap', 'mseal', 'msync', 'munlock', 'munlockall', 'munmap', 'pkey_alloc',
  'pkey_free', 'pkey_mprotect', 'remap_file_pages',
  // processes, threads, signals
  'execve', 'execveat', 'exit', 'exit_group', 'fork', 'vfork', 'wait4', 'waitid', 'kill', 'tgkill', 'tkill',
  'pidfd_open', 'pidfd_send_signal', 'process_mrelease', 'restart_syscall', 'rseq', 'rt_sigaction', 'rt_sigpending',
  'rt_sigprocmask', 'rt_sigqueueinfo', 'rt_sigreturn', 'rt_sigsuspend', 'rt_sigtimedwait', 'rt_tgsigqueueinfo',
  'sigaltstack', 'set_robust_list', 'get_robust_list', 'set_tid_address', 'futex', 'futex_requeue', 'futex_wait',
  'futex_waitv', 'futex_wake', 'prctl', 'seccomp', 'landlock_add_rule', 'landlock_create_ruleset',
  'landlock_restrict_self', 'capget', 'capset', 'uretprobe', 'uprobe',
  // identity, sessions, limits, scheduling
  'getegid', 'geteuid', 'getgid', 'getgroups', 'getpgid', 'getpgrp', 'getpid', 'getppid', 'getpriority', 'getresgid',
  'getresuid', 'getrlimit', 'getrusage', 'getsid', 'gettid', 'getuid', 'setfsgid', 'setfsuid', 'setgid', 'setgroups',
  'setpgid', 'setpriority', 'setregid', 'setresgid', 'setresuid', 'setreuid', 'setrlimit', 'setsid', 'setuid',
  'prlimit64', 'ioprio_get', 'ioprio_set', 'getcpu', 'sched_getaffinity', 'sched_getattr', 'sched_getparam',
  'sched_get_priority_max', 'sched_get_priority_min', 'sched_getscheduler', 'sched_rr_get_interval',
  'sched_setaffinity', 'sched_setattr', 'sched_setparam', 'sched_setscheduler', 'sched_yield',
  // time (reading it, timers, sleeping)
  'alarm', 'clock_getres', 'clock_gettime', 'clock_nanosleep', 'getitimer', 'gettimeofday', 'nanosleep', 'setitimer',
  'time', 'times', 'timer_create', 'timer_delete', 'timer_getoverrun', 'timer_gettime', 'timer_settime',
  // system information
  'getrandom', 'sysinfo', 'uname',
  // sockets (socket itself is filtered by family)
  'accept', 'accept4', 'bind', 'connect', 'getpeername', 'getsockname', 'getsockopt', 'listen', 'recvfrom',
  'recvmmsg', 'recvmsg', 'sendmmsg', 'sendmsg', 'sendto', 'setsockopt', 'shutdown', 'socketpair',
  // System V and POSIX IPC (namespaced)
  'mq_getsetattr', 'mq_notify', 'mq_open', 'mq_timedreceive', 'mq_timedsend', 'mq_unlink', 'msgctl', 'msgget',
  'msgrcv', 'msgsnd', 'semctl', 'semget', 'semop', 'semtimedop', 'shmat', 'shmctl', 'shmdt', 'shmget',
  // x86_64 only: thread-local storage and segment set-up
  'arch_prctl', 'get_thread_area', 'set_thread_area', 'modify_ldt',
];

/** Calls allowed only when the target keeps the capability that governs them. */
export const DEFAULT_CAPABILITY_CALLS: Readonly<Record<string, readonly string[]>> = {
  // Mounts, namespaces, the keyring (not namespaced), io_uring (a large attack surface),
  // BPF and perf (kernel memory and side channels), host and domain names, quotas.
  CAP_SYS_ADMIN: [
    'mount', 'umount2', 'pivot_root', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'move_mount', 'open_tree',
    'open_tree_attr', 'mount_setattr', 'unshare', 'setns', 'clone', 'clone3', 'keyctl', 'add_key', 'request_key',
    'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'bpf', 'perf_event_open', 'fanotify_init',
    'lookup_dcookie', 'quotactl', 'quotactl_fd', 'sethostname', 'setdomainname', 'syslog', 'lsm_get_self_attr',
    'lsm_set_self_attr', 'lsm_list_modules',
  ],
  CAP_SYS_BOOT: ['reboot', 'kexec_load', 'kexec_file_load'],
  CAP_SYS_MODULE: ['init_module', 'finit_module', 'delete_module'],
  CAP_SYS_TIME: ['settimeofday', 'clock_settime', 'adjtimex', 'clock_adjtime'],
  CAP_SYS_PTRACE: ['ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp', 'pidfd_getfd', 'process_madvise', 'userfaultfd'],
  CAP_SYS_CHROOT: ['chroot'],
  CAP_SYS_PACCT: ['acct'],
  CAP_SYS_RAWIO: ['iopl', 'ioperm'],
  CAP_SYS_TTY_CONFIG: ['vhangup'],
  CAP_SYS_NICE: ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node'],
  CAP_SYSLOG: ['syslog'],
  CAP_BPF: ['bpf'],
  CAP_PERFMON: ['perf_event_open'],
  CAP_DAC_READ_SEARCH: ['open_by_handle_at'],
};

/** Every CLONE_NEW* flag clone() takes (CLONE_NEWTIME only exists for clone3 and unshare). */
export const CLONE_NAMESPACE_FLAGS =
  CLONE.CLONE_NEWNS | CLONE.CLONE_NEWCGROUP | CLONE.CLONE_NEWUTS | CLONE.CLONE_NEWIPC | CLONE.CLONE_NEWUSER | CLONE.CLONE_NEWPID | CLONE.CLONE_NEWNET;

/** personality() values Docker allows: PER_LINUX, UNAME26, ADDR_NO_RANDOMIZE, both, and the query 0xffffffff. */
export const ALLOWED_PERSONALITIES: readonly number[] = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

/** AF_ALG (38): the kernel's crypto API. AF_VSOCK (40): a channel to the hypervisor. */
export const DENIED_SOCKET_FAMILIES = { AF_ALG: 38, AF_VSOCK: 40 } as const;

export interface DefaultProfileOptions {
  /** Capabilities the target keeps, as 'CAP_SYS_ADMIN'; each unlocks its calls. @defaultValue none */
  keptCaps?: readonly string[];
  /**
   * Calls to hand to a `notify` handler instead: they leave every rule of the profile, so
   * the handler sees all of them, including those the profile would deny. @defaultValue none
   */
  notify?: readonly string[];
}

/**
 * The built-in default profile as a typed policy: an allowlist with EPERM for the rest,
 * i386 and x32 killed. See README.md for what it blocks and why.
 */
export function defaultProfile(options: DefaultProfileOptions = {}): SeccompPolicy {
  const kept = new Set((options.keptCaps ?? []).map(capabilityName));
  const admin = kept.has('CAP_SYS_ADMIN');
  const rules: SeccompRule[] = [
    { names: DEFAULT_ALLOWED, action: 'allow', comment: 'the allowlist' },
    // socket: every family below AF_ALG, and AF_NFC (39). Written as < and ==, never >, so
    // that garbage in the upper half of the int cannot pass a denied family.
    { names: ['socket'], action: 'allow', args: [{ index: 0, op: '<', value: DENIED_SOCKET_FAMILIES.AF_ALG }], comment: 'families below AF_ALG' },
    { names: ['socket'], action: 'allow', args: [{ index: 0, op: '==', value: 39 }], comment: 'AF_NFC' },
    ...ALLOWED_PERSONALITIES.map(
      (value): SeccompRule => ({ names: ['personality'], action: 'allow', args: [{ index: 0, op: '==', value }], comment: 'harmless personalities' }),
    ),
  ];
  if (!admin) {
    rules.push(
      {
        names: ['clone'],
        action: 'allow',
        args: [{ index: 0, op: 'masked==', value: 0, mask: CLONE_NAMESPACE_FLAGS }],
        comment: 'threads and processes, without new namespaces',
      },
      {
        names: ['unshare'],
        action: 'allow',
        args: [{ index: 0, op: 'masked==', value: 0, mask: CLONE_NAMESPACE_FLAGS | CLONE.CLONE_NEWTIME }],
        comment: 'unsharing files or fs attributes, not namespaces',
      },
      // clone3 passes its flags in memory a filter cannot read: ENOSYS makes libc fall back to clone.
      { names: ['clone3'], action: { errno: 'ENOSYS' }, comment: 'libc falls back to clone' },
    );
  }
  for (const [capability, names] of Object.entries(DEFAULT_CAPABILITY_CALLS))
    if (kept.has(capability)) rules.push({ names, action: 'allow', comment: `kept ${capability}` });
  const notify = options.notify ?? [];
  if (notify.length === 0) return { defaultAction: { errno: 'EPERM' }, badArchAction: 'kill-process', abis: ['x86_64', 'aarch64'], rules };
  const notified = new Set(notify);
  const handled = rules
    .map((rule): SeccompRule => ({ ...rule, names: rule.names.filter((name) => !notified.has(name)) }))
    .filter((rule) => rule.names.length > 0);
  handled.push({ names: [...notified], action: 'notify', comment: 'decided by the handler' });
  return { defaultAction: { errno: 'EPERM' }, badArchAction: 'kill-process', abis: ['x86_64', 'aarch64'], rules: handled };
}
