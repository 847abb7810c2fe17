import type { OptionOf, ResultOf, StdioEntry } from '@iso/core';
import type { FEATURES } from './features.js';

type Features = (typeof FEATURES)[number];

/**
 * One key per feature, named after its package (`pid`, `mount`, `seccomp`...), with the
 * feature's own option type: `true` turns it on with its secure defaults, an object tunes
 * it. See each package's README for its options.
 */
export type FeatureOptions = { [F in Features as F['key']]?: OptionOf<F> };

/** The result fields of the features that report something, each under its key (`result.seccomp`). */
export type FeatureResults = { [F in Features as undefined extends ResultOf<F> ? never : F['key']]?: ResultOf<F> };

/** The options of the process itself, beside the features. */
export interface ProcessOptions {
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

/**
 * Options of spawn(), run() and createSandbox(): the process's own, and one key per
 * feature. With none at all the target keeps no capability, runs with no_new_privs and
 * under iso's default seccomp profile; namespaces turn on by their keys, and a user
 * namespace comes with any of them.
 */
export interface SandboxOptions extends ProcessOptions, FeatureOptions {}

/** How the target ended, in one report. */
export interface ProcessResult {
  command: string;
  args: readonly string[];
  /** Host pid of the runner (the supervisor); signals sent to it reach the target. */
  pid: number | undefined;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Why it ended: on its own ('exit' or 'signal'), or by iso ('timeout', 'aborted'). */
  reason: 'exit' | 'signal' | 'timeout' | 'aborted';
  timedOut: boolean;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** How the target ended, and what each feature saw (`seccomp: { killed, notifications, violations }`). */
export interface SandboxResult extends ProcessResult, FeatureResults {}
