import type { FeatureEndReason, OptionOf, ResultOf, StdioEntry } from '@iso/core';
import type { FEATURES } from './features.js';
import type { PresetName } from './presets.js';

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
  /**
   * The options every feature key starts from; the call's own override them key by key
   * (`false` turns a feature off). 'strict' isolates fully, 'none' is hygiene only. See
   * PresetName. @defaultValue 'strict'
   */
  preset?: PresetName;
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
  /**
   * The most bytes kept of each of stdout, stderr and `all`. Past it the result says
   * `isMaxBuffer`, and `onMaxBuffer` decides what happens to the target. Output the
   * caller reads from the streams itself is not counted. @defaultValue 100_000_000
   */
  maxBuffer?: number;
  /**
   * Past maxBuffer: 'kill' ends the target (killSignal, then SIGKILL; `reason:
   * 'maxBuffer'`), 'truncate' keeps it running and drops the rest of that stream.
   * @defaultValue 'kill'
   */
  onMaxBuffer?: 'kill' | 'truncate';
  /**
   * Keep stdout and stderr for the result. With false (or when the caller reads a stream
   * itself, attaching before spawn() returns to the event loop) that stream is not kept
   * and the result's field is empty. @defaultValue true
   */
  buffer?: boolean;
  /** 'utf8' gives strings; 'buffer' gives the bytes as they are, in Buffers. @defaultValue 'utf8' */
  encoding?: OutputEncoding;
  /** Also give `result.all`: stdout and stderr interleaved as they arrived. @defaultValue false */
  all?: boolean;
}

export type OutputEncoding = 'utf8' | 'buffer';

/** What the result holds for an encoding: strings for 'utf8', Buffers for 'buffer'. */
export type OutputOf<O> = O extends { encoding: 'buffer' } ? Buffer : string;

/**
 * Options of spawn(), run() and createSandbox(): the process's own, and one key per
 * feature. With none at all the 'strict' preset applies: every namespace, a read-only
 * host root, no capability, the default seccomp profile and resource limits.
 */
export interface SandboxOptions extends ProcessOptions, FeatureOptions {}

/**
 * Why the target ended: on its own ('exit', or 'signal' that the handle did not send), or
 * because the caller or iso ended it ('killed' by kill(), 'timeout', 'aborted',
 * 'maxBuffer').
 */
export type EndReason = 'exit' | 'signal' | 'killed' | 'timeout' | 'aborted' | 'maxBuffer';

/**
 * Why the target ended, in the exit report: `reason`'s values, or how a feature ended it:
 * 'oomKilled' (the cgroup's OOM killer), 'pidsLimit' (forks refused by the cgroup's
 * pids.max, and the target failed), 'seccompKill' (a kill action of the seccomp filter),
 * 'cpuTimeLimit' (RLIMIT_CPU), 'outputLimit' (RLIMIT_FSIZE). See docs/sandbox.md.
 */
export type ExitReason = EndReason | FeatureEndReason;

/** A field of the exit report's usage, by its dotted name. */
export type ExitReportField =
  | 'exitCode'
  | 'signal'
  | 'wallMs'
  | 'cpu.userUsec'
  | 'cpu.systemUsec'
  | 'cpu.totalUsec'
  | 'memory.peakBytes'
  | 'pids.peak'
  | 'io.readBytes'
  | 'io.writeBytes'
  | 'io.readOps'
  | 'io.writeOps';

/**
 * Why the target ended and what it used (`result.report`), in the manner of isolate's meta
 * file. The numbers come from a feature that measured them (the cgroup); without one only
 * the exit status and the wall time are known, and `unavailable` says so.
 */
export interface ExitReport {
  reason: ExitReason;
  /** 'process' when the handle knows the reason itself, else the key of the feature that ended the target ('cgroup', 'seccomp', 'rlimits'). */
  decidedBy: string;
  /** The reason in words, with its numbers. */
  detail: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** From the exec to the runner's exit, on Node's clock (so within the event loop's latency). */
  wallMs: number;
  /** CPU time of every process of the sandbox, in microseconds. */
  cpu: { userUsec: number | undefined; systemUsec: number | undefined; totalUsec: number | undefined };
  /** The high-water mark of the memory charged to the sandbox. */
  memory: { peakBytes: number | undefined };
  /** The most tasks (processes and threads) at once. */
  pids: { peak: number | undefined };
  io: { readBytes: number | undefined; writeBytes: number | undefined; readOps: number | undefined; writeOps: number | undefined };
  /** Where the usage comes from ('cgroup v1 /iso-1234-1-abcdef'); undefined when nothing measured it. */
  source: string | undefined;
  /** The fields that are exact, estimated, or not known here. Every field is in one list. */
  exact: ExitReportField[];
  approximate: ExitReportField[];
  unavailable: ExitReportField[];
}

/** How the target ended, in one report. Field names follow execa's where they fit. */
export interface ProcessResult<Output = string> {
  command: string;
  args: readonly string[];
  /** Host pid of the runner (the supervisor); signals sent to it reach the target. */
  pid: number | undefined;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  reason: EndReason;
  /** Anything but an exit with code 0 on its own. */
  failed: boolean;
  timedOut: boolean;
  /** Ended by the abort signal; `cancelReason` is the signal's reason. */
  isCanceled: boolean;
  cancelReason?: unknown;
  /** Ended by a signal, whoever sent it. */
  isTerminated: boolean;
  /**
   * Who sent the signal that ended it: 'caller' when the handle did (kill(), timeout,
   * abort, maxBuffer) and the target died of that very signal, else 'target' (the target,
   * a process inside, or another host process). null when it exited.
   */
  signalSource: 'caller' | 'target' | null;
  /** Some stream passed maxBuffer, and what is kept of it is truncated. */
  isMaxBuffer: boolean;
  stdout: Output;
  stderr: Output;
  /** stdout and stderr interleaved, with the `all` option. */
  all?: Output;
  durationMs: number;
  /** Why the target ended and what it used: see ExitReport. */
  report: ExitReport;
}

/** How the target ended, and what each feature saw (`seccomp: { killed, notifications, violations }`). */
export interface SandboxResult<Output = string> extends ProcessResult<Output>, FeatureResults {}
