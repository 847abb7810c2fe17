import type { FlagTable } from '../consts.js';
import type { ErrnoName } from '../errno.js';
import type { SyscallName } from '../syscalls/index.js';

/** How explain() shows an immediate. */
export type ImmediateFormat =
  | { as: 'number' }
  | { as: 'octal' }
  | { as: 'hex' }
  | { as: 'signal' }
  | { as: 'flags'; table: FlagTable }
  | { as: 'enum'; table: FlagTable };

/** One syscall argument, as a plan writes it. */
export type ArgSpec =
  | { kind: 'immediate'; value: number | bigint; format?: ImmediateFormat }
  /** A NUL-terminated string in the arena. */
  | { kind: 'string'; value: string }
  /** Raw bytes in the arena; `label` is what explain() shows instead of the bytes. */
  | { kind: 'bytes'; value: Uint8Array; label?: string }
  /** A NULL-terminated array of string pointers (argv, envp). */
  | { kind: 'strings'; value: readonly string[]; label?: string }
  /** The result of an earlier step, by its `saveAs` name. */
  | { kind: 'result'; name: string }
  /**
   * A struct in the arena whose 8-byte fields at `pointers[].at` point to other arena
   * data (struct sock_fprog, struct iovec...), and whose fields at `results[].at` get the
   * result of an earlier step (an fd) right before the step runs. `label` is what
   * explain() shows.
   */
  | { kind: 'block'; value: Uint8Array; pointers: readonly BlockPointer[]; results?: readonly BlockResult[]; label?: string };

/** A pointer field inside a block, and the arena data it points to. */
export interface BlockPointer {
  at: number;
  to: Exclude<ArgSpec, { kind: 'immediate' } | { kind: 'result' }>;
}

/**
 * A field of a block that holds a saved result: the builder puts a store step before the
 * step that uses the block, which copies the low `size` bytes of the result there.
 */
export interface BlockResult {
  at: number;
  /** The `saveAs` name of the step that produced the value. */
  name: string;
  size: 1 | 2 | 4 | 8;
}

interface StepBase {
  /** Dotted name, package first: 'uts.sethostname'. Errors and explain() show it. */
  name: string;
}

/** A raw syscall run by the runner. */
export interface SyscallStep extends StepBase {
  op: 'syscall';
  syscall: SyscallName;
  args: readonly ArgSpec[];
  /** Errno names that do not fail the step, such as 'ENOENT'. At most 4. */
  tolerate?: readonly ErrnoName[];
  /**
   * When a tolerated errno happens, skip this many following steps. Steps count as the
   * runner runs them: a helper's steps after its fork. A skip may not end inside a helper
   * (skip the fork and all its steps) nor, from a helper's step, leave it.
   */
  skipOnTolerated?: number;
  /** Keep the result (an fd, say) for later steps under this name. */
  saveAs?: string;
}

/**
 * Fork. By default the parent stays as a supervisor (forwards signals, reaps, exits like
 * the child), and the child goes on. With `helper`, the child is a short-lived helper that
 * runs those steps for this process and exits, and this process skips them and goes on at
 * once; `saveAs` keeps the helper's pid (0 in the helper). No fork inside a helper. In the
 * flat program the helper's steps follow this one.
 */
export interface ForkStep extends StepBase {
  op: 'fork';
  helper?: readonly ChildStep[];
  saveAs?: string;
}

/** Stop until Node has run `hook`; Node answers, then the runner goes on. */
export interface SyncStep extends StepBase {
  op: 'sync';
  hook: ParentHook;
}

/** PR_SET_PDEATHSIG, and exit at once if the parent is already gone. */
export interface DieWithParentStep extends StepBase {
  op: 'dieWithParent';
  signal: number;
  /** The parent pid expected now; by default, the parent at fork (or at start). */
  expectedParent?: number;
}

/**
 * Tells Node that setup is nearly done (a write of an execNext message on fd 3): with it
 * in a program, an EOF on fd 3 before the message means the runner died during setup,
 * not that the target was exec'd. Encoded as a plain write; errors are ignored.
 */
export interface AnnounceExecStep extends StepBase {
  op: 'announceExec';
}

export type ChildStep = SyscallStep | ForkStep | SyncStep | DieWithParentStep | AnnounceExecStep;

/**
 * A step of an encoded program: a child step, or a store that the builder put before a
 * step whose block holds a saved result.
 */
export type ProgramStep = ChildStep | StoreStep;

/** Copies the low `size` bytes of result `name` into a block field of the next step. */
export interface StoreStep extends StepBase {
  op: 'store';
  result: string;
  size: number;
  /** What explain() shows as the destination. */
  into: string;
}

export interface HookContext {
  /** Host pid of the runner process that Node spawned. */
  runnerPid: number;
  /** The pid of the syncing process as it sees itself (namespaced). */
  reportedPid: number;
}

/** Work Node does at a sync point, such as writing id maps from outside. */
export interface ParentHook {
  name: string;
  run(context: HookContext): void | Promise<void>;
}

/**
 * Where a step runs in the fixed order of setup. Plans hand steps to a stage;
 * @iso/sandbox concatenates the stages in this order.
 */
export const STAGES = [
  'prepare',
  'userns',
  'namespaces',
  'plumbing',
  'pidFork',
  'rootfs',
  'mounts',
  'mountsSeal',
  'hostname',
  'initFork',
  'credentials',
  'capabilities',
  'noNewPrivs',
  'session',
  'lsm',
  'seccomp',
  'exec',
] as const;
export type Stage = (typeof STAGES)[number];

/** What a feature plan returns: its child steps, by stage. */
export type StagedSteps = Partial<Record<Stage, readonly ChildStep[]>>;
