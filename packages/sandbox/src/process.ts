import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { IsoError, invalidOptions, isIsoError, launch, refineCoreError } from '@iso/core';
import type { FeatureEnding, FeatureSession, StdioEntry } from '@iso/core';
import type { SandboxPlan } from './compose.js';
import type { SandboxOptions, SandboxResult } from './options.js';

type Stdio = [StdioEntry, StdioEntry, StdioEntry];

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

/** Adds what the caller can act on to a failed step: the feature whose step it is refines it. */
function refineSetupError(error: unknown, plan: SandboxPlan): unknown {
  if (!isIsoError(error) || error.step === undefined) return error;
  const owner = error.step.slice(0, error.step.indexOf('.'));
  if (owner === 'core') return refineCoreError(error, { file: plan.file, path: plan.path });
  const enabled = plan.features.find((e) => e.feature.key === owner);
  return enabled?.feature.refineError ? enabled.feature.refineError(error, enabled.settings) : error;
}

/**
 * A sandboxed child: ChildProcess-like (stdio streams, pid, kill(), 'spawn', 'exit' and
 * 'close' events) and awaitable for its SandboxResult. Setup failures reject with an
 * IsoError that names the step, syscall and errno; the target's own exit never rejects.
 * Features emit events of their own on it: with a notifying seccomp policy, 'seccomp' for
 * every notified call and 'violation' for each one denied (SeccompNotifyEvent).
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
    const startedAt = performance.now();
    const { child, ready, returnSocket } = launch(plan.program, { stdio, returnChannel: plan.returnChannel });
    this.child = child;
    const { sessions, failure } = this.startSessions(plan, options, returnSocket);
    // Once the runner is gone the sandbox is over: sessions stop, so a stray descendant
    // still waiting on a supervisor gets an answer instead of holding stdio open forever.
    const stop = () => {
      for (const [, session] of sessions) session.stop();
    };
    child.once('exit', stop);
    child.once('error', stop);
    this.stdin = child.stdin;
    this.stdout = child.stdout;
    this.stderr = child.stderr;
    const started = failure === undefined ? ready : ready.then(
      () => {
        throw failure;
      },
      () => {
        throw failure;
      },
    );
    this.ready = started.then(
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
        const ending: FeatureEnding = { exitCode: code, signal };
        const features = Object.fromEntries(sessions.map(([key, session]) => [key, session.result(ending)]));
        return {
          command: plan.file,
          args: plan.args,
          pid: child.pid,
          exitCode: code,
          signal,
          reason,
          timedOut: reason === 'timeout',
          stdout,
          stderr,
          durationMs: performance.now() - startedAt,
          ...features,
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

  /**
   * Starts each feature's live part (a supervisor, a watcher). A feature that cannot start
   * ends the sandbox: the runner is killed, and `ready` rejects with why.
   */
  private startSessions(plan: SandboxPlan, options: SandboxOptions, returnSocket: number | undefined): { sessions: [string, FeatureSession<unknown>][]; failure: Error | undefined } {
    const sessions: [string, FeatureSession<unknown>][] = [];
    const given = options as Readonly<Record<string, unknown>>;
    let unowned = returnSocket; // closed here unless a session took it
    // What a session emits while it starts is delivered once spawn() has returned the handle.
    let starting = true;
    const emit = (event: string, payload: unknown) => {
      if (starting) process.nextTick(() => this.emit(event, payload));
      else this.emit(event, payload);
    };
    try {
      for (const { feature, settings, plan: featurePlan } of plan.features) {
        if (!feature.start) continue;
        const own = featurePlan.returnChannel ? unowned : undefined;
        sessions.push([feature.key, feature.start(settings, { option: given[feature.key], pid: this.child.pid, returnSocket: own, emit })]);
        if (own !== undefined) unowned = undefined;
      }
      return { sessions, failure: undefined };
    } catch (error) {
      for (const [, session] of sessions) session.stop();
      this.child.kill('SIGKILL');
      const failure = isIsoError(error) ? error : new IsoError('ISO_SETUP_FAILED', `a feature could not start: ${String(error)}`, { phase: 'parent', cause: error });
      return { sessions: [], failure };
    } finally {
      starting = false;
      if (unowned !== undefined) closeSync(unowned);
    }
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
