import type { CapsOption } from '@iso/caps';
import type { StdioEntry } from '@iso/core';
import type { IpcOption } from '@iso/ipc';
import type { MountOption } from '@iso/mount';
import type { PidOption } from '@iso/pid';
import type { SeccompNotifyEvent, SeccompOption } from '@iso/seccomp';
import type { UsernsOption } from '@iso/userns';
import type { UtsOption } from '@iso/uts';

/**
 * Options of spawn(), run() and createSandbox(). One key per feature package, named after
 * it; `true` turns a feature on with its defaults, an object tunes it.
 */
export interface SandboxOptions {
  /** A new PID namespace with a fresh /proc; the target is PID 2 under iso's init. */
  pid?: PidOption;
  /** A new UTS namespace, optionally with a hostname and domain name. */
  uts?: UtsOption;
  /** A new IPC namespace (SysV and POSIX queues). */
  ipc?: IpcOption;
  /**
   * A new user namespace. On whenever another namespace is asked for, because it is what
   * makes the sandbox rootless: root inside maps to the caller (or, for a root caller, to
   * nobody). Set `false` to opt out; only root can create namespaces without one.
   * @defaultValue true when any namespace is on
   */
  userns?: UsernsOption;
  /** A new mount namespace with private propagation. On whenever `pid` mounts /proc. */
  mount?: MountOption;
  /**
   * Capabilities of the target, and no_new_privs. By default the target keeps none (an
   * empty bounding set too) and no_new_privs is set. Applied whenever the sandbox has a
   * user namespace or the caller is root; a non-root caller without a user namespace has
   * none to drop, so only no_new_privs is set.
   * @defaultValue 'none'
   */
  caps?: CapsOption;
  /**
   * A seccomp filter, loaded last before execve. By default iso's built-in profile, in
   * the spirit of Docker's: an allowlist that denies mount, keyctl, bpf, ptrace, new
   * namespaces and the like unless a kept capability warrants them. `false` turns it
   * off; an object gives a typed policy or a Docker JSON profile (see @iso/seccomp).
   * Needs no_new_privs (the default) or CAP_SYS_ADMIN kept. Linux 3.5+.
   * @defaultValue true
   */
  seccomp?: SeccompOption;

  /** Working directory of the target. @defaultValue process.cwd() if it exists inside, else '/' */
  cwd?: string;
  /**
   * The target's environment. The caller's environment is not passed on unless
   * `inheritEnv` says so; PATH defaults to a standard system PATH.
   */
  env?: Readonly<Record<string, string>>;
  /** Pass the caller's environment (true) or these variables of it. @defaultValue false */
  inheritEnv?: boolean | readonly string[];
  /** stdio of the target, as for child_process.spawn. @defaultValue 'pipe' (run: stdin 'ignore' unless `input`) */
  stdio?: StdioEntry | readonly [StdioEntry, StdioEntry, StdioEntry];
  /** Written to the target's stdin, which is then closed. */
  input?: string | Uint8Array;
  /** End the target after this many milliseconds; the result says `reason: 'timeout'`. */
  timeout?: number;
  /** Aborting it ends the target; the result says `reason: 'aborted'`. */
  signal?: AbortSignal;
  /** The signal that timeout and abort send first. @defaultValue 'SIGTERM' */
  killSignal?: NodeJS.Signals;
  /** After killSignal, wait this long, then SIGKILL. @defaultValue 2000 */
  forceKillAfterDelay?: number;
  /** Run the target in a new session, away from the caller's terminal (TIOCSTI). @defaultValue true */
  newSession?: boolean;
}

/** How the target ended, in one report. */
export interface SandboxResult {
  command: string;
  args: readonly string[];
  /** Host pid of the runner (the supervisor); signals sent to it reach the target. */
  pid: number | undefined;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Why it ended: on its own ('exit' or 'signal'), or by iso ('timeout', 'aborted'). */
  reason: 'exit' | 'signal' | 'timeout' | 'aborted';
  /** The target was killed by its seccomp filter (SIGSYS from a kill action). */
  seccompKilled: boolean;
  /** Calls the filter sent to `seccomp.onNotify`. */
  seccompNotifications: number;
  /** The notified calls that were denied (the first 100; the 'violation' event sees all). */
  seccompViolations: readonly SeccompNotifyEvent[];
  timedOut: boolean;
  stdout: string;
  stderr: string;
  durationMs: number;
}
