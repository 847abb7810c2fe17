import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { IsoError, invalidOptions, launch } from '@iso/core';
import type { StdioEntry } from '@iso/core';
import { superviseNotifications } from '@iso/seccomp';
import type { SeccompNotifyEvent, SeccompSupervision } from '@iso/seccomp';
import { refineUsernsError } from '@iso/userns';
import type { SandboxPlan } from './compose.js';
import type { SandboxOptions, SandboxResult } from './options.js';

type Stdio = [StdioEntry, StdioEntry, StdioEntry];

/** The result keeps this many violations; the events carry them all. */
const MAX_KEPT_VIOLATIONS = 100;

const STDIO_WORDS = new Set(['pipe', 'inherit', 'ignore', 'overlapped']);

function checkStdioEntry(entry: unknown, path: string): StdioEntry {
  if (typeof entry === 'string' && STDIO_WORDS.has(entry)) return entry as StdioEntry;
  if (typeof entry === 'number' && Number.isInteger(entry) && entry >= 0) return entry;
  if (entry !== null && typeof entry === 'object' && typeof (entry as { pipe?: unknown }).pipe === 'function') return entry as StdioEntry;
  throw invalidOptions(path, "expected 'pipe', 'inherit', 'ignore', an fd or a stream");
}

/** Checks the stdio options; throws ISO_INVALID_OPTIONS before anything is spawned. */
export function normalizeStdio(options: SandboxOptions, stdinDefault: StdioEntry): Stdio {
  const { stdio } = options;
  let entries: Stdio;
  if (stdio === undefined) entries = [stdinDefault, 'pipe', 'pipe'];
  else if (Array.isArray(stdio)) {
    if (stdio.length !== 3) throw invalidOptions('stdio', 'expected one entry for each of fds 0, 1 and 2');
    entries = [checkStdioEntry(stdio[0], 'stdio[0]'), checkStdioEntry(stdio[1], 'stdio[1]'), checkStdioEntry(stdio[2], 'stdio[2]')];
  } else {
    const entry = checkStdioEntry(stdio, 'stdio');
    entries = [entry, entry, entry];
  }
  if (options.input !== undefined) {
    if (stdio !== undefined && entries[0] !== 'pipe') throw invalidOptions('input', "needs stdin to be 'pipe'");
    entries[0] = 'pipe';
  }
  return entries;
}

/** Adds what the caller can act on to a child-step failure. */
function refineSetupError(error: unknown, plan: SandboxPlan): unknown {
  if (!(error instanceof IsoError)) return error;
  if (error.step?.startsWith('userns.')) return refineUsernsError(error, plan.userns);
  if (error.step === 'core.closeFds' && error.code === 'ENOSYS')
    return new IsoError('ISO_UNSUPPORTED_KERNEL', `${error.message}: iso needs Linux 5.9 or newer (close_range)`, { phase: 'child', step: 'core.closeFds', syscall: 'close_range', cause: error });
  if (error.step === 'core.exec' && error.code === 'ENOENT' && !plan.file.includes('/')) {
    const hint = new IsoError('ISO_SETUP_FAILED', `${error.message}: ${JSON.stringify(plan.file)} is not in the sandbox's PATH (${plan.path})`, {
      ...(error.errno === undefined ? {} : { errno: error.errno }),
      errnoCode: error.code,
      syscall: 'execve',
      step: 'core.exec',
      ...(error.stepIndex === undefined ? {} : { stepIndex: error.stepIndex }),
      phase: 'child',
      cause: error,
    });
    return hint;
  }
  return error;
}

/**
 * A sandboxed child: ChildProcess-like (stdio streams, pid, kill(), 'spawn', 'exit' and
 * 'close' events) and awaitable for its SandboxResult. Setup failures reject with an
 * IsoError that names the step, syscall and errno; the target's own exit never rejects.
 * With a notifying seccomp policy it also emits 'seccomp' for every notified call and
 * 'violation' for each one denied (SeccompNotifyEvent).
 */
export class SandboxProcess extends EventEmitter implements PromiseLike<SandboxResult> {
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /** Resolves once the target has been exec'd; rejects like the result on setup failure. */
  readonly ready: Promise<void>;
  private readonly child: ChildProcess;
  private readonly result: Promise<SandboxResult>;
  private endedBy: 'timeout' | 'aborted' | undefined;
  private exited = false;

  constructor(plan: SandboxPlan, options: SandboxOptions, stdinDefault: StdioEntry) {
    super();
    const stdio = normalizeStdio(options, stdinDefault);
    const started = performance.now();
    const { child, ready, returnSocket } = launch(plan.program, { stdio, returnChannel: plan.notify });
    this.child = child;
    let notifications = 0;
    const violations: SeccompNotifyEvent[] = [];
    if (returnSocket !== undefined) {
      // The plan checked that a handler exists; denying is the safe answer if not.
      const handler = (options.seccomp as SeccompSupervision | undefined)?.onNotify ?? (() => 'deny' as const);
      const supervisor = superviseNotifications(returnSocket, handler, (event) => {
        notifications++;
        if (event.violation && violations.length < MAX_KEPT_VIOLATIONS) violations.push(event);
        this.emit('seccomp', event);
        if (event.violation) this.emit('violation', event);
      });
      // Once the runner is gone the sandbox is over: a stray descendant still waiting on the
      // handler gets ENOSYS, instead of holding stdio (and 'close') open forever.
      child.once('exit', () => { supervisor.close(); });
      child.once('error', () => { supervisor.close(); });
    }
    this.stdin = child.stdin;
    this.stdout = child.stdout;
    this.stderr = child.stderr;
    this.ready = ready.then(
      () => {
        this.emit('spawn');
      },
      (error: unknown) => {
        throw refineSetupError(error, plan);
      },
    );

    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    if (options.input !== undefined) child.stdin?.on('error', () => undefined).end(options.input);

    const timers: NodeJS.Timeout[] = [];
    const terminate = (why: 'timeout' | 'aborted') => {
      if (this.exited || this.endedBy) return;
      this.endedBy = why;
      child.kill(options.killSignal ?? 'SIGTERM');
      timers.push(setTimeout(() => child.kill('SIGKILL'), options.forceKillAfterDelay ?? 2000));
    };
    if (options.timeout !== undefined) timers.push(setTimeout(() => { terminate('timeout'); }, options.timeout));
    const onAbort = () => { terminate('aborted'); };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    // The runner's exit can reach Node before the EOF on fd 3 that settles `ready`; hold
    // 'exit' and 'close' until then, so 'spawn' always comes first, as ChildProcess does.
    const settled = this.ready.then(
      () => undefined,
      () => undefined,
    );
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = true;
        void settled.then(() => this.emit('exit', code, signal));
      });
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        resolve({ code, signal });
        void settled.then(() => this.emit('close', code, signal));
      });
      child.once('error', () => { resolve({ code: null, signal: null }); });
    });

    this.result = Promise.all([this.ready, closed]).then(
      ([, { code, signal }]) => {
        const reason = this.endedBy ?? (signal ? 'signal' : 'exit');
        return {
          command: plan.file,
          args: plan.args,
          pid: child.pid,
          exitCode: code,
          signal,
          reason,
          timedOut: reason === 'timeout',
          seccompKilled: signal === 'SIGSYS',
          seccompNotifications: notifications,
          seccompViolations: violations,
          stdout,
          stderr,
          durationMs: performance.now() - started,
        };
      },
      async (error: unknown) => {
        await closed;
        if (this.listenerCount('error') > 0) this.emit('error', error);
        throw error;
      },
    );
    void this.result.finally(() => {
      timers.forEach(clearTimeout);
      options.signal?.removeEventListener('abort', onAbort);
    }).catch(() => undefined);
    // Awaiting is optional (events suffice), so an unobserved failure must not crash.
    this.result.catch(() => undefined);
  }

  /** Host pid of the runner that supervises the target; signals sent to it are forwarded. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends a signal; the supervisor forwards it to the target. */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    return this.child.kill(signal);
  }

  then<A = SandboxResult, B = never>(
    onFulfilled?: ((value: SandboxResult) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.result.then(onFulfilled, onRejected);
  }

  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<SandboxResult | B> {
    return this.result.catch(onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<SandboxResult> {
    return this.result.finally(onFinally);
  }
}
