import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { IsoError, isIsoError, launch, refineCoreError } from '@iso/core';
import type { FeatureSession, Launch, StdioEntry } from '@iso/core';
import type { SandboxPlan } from './compose.js';
import type { EndReason, SandboxOptions, SandboxResult } from './options.js';
import { handleSettings } from './process-options.js';
import { exitReport } from './report.js';
import type { HandleSettings } from './process-options.js';

/**
 * After the runner exits, how long its stdio may stay open. Only a process that escaped
 * the sandbox's PID namespace, or ran without one, can hold it longer (a daemon that
 * called setsid); the result must not wait for it.
 */
const CLOSE_GRACE_MS = 200;

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, number]) => [number, name as NodeJS.Signals]));

/** Adds what the caller can act on to a failed step: the feature whose step it is refines it. */
function refineSetupError(error: unknown, plan: SandboxPlan): unknown {
  if (!isIsoError(error) || error.step === undefined) return error;
  const owner = error.step.slice(0, error.step.indexOf('.'));
  if (owner === 'core') return refineCoreError(error, { file: plan.file, path: plan.path });
  const enabled = plan.features.find((e) => e.feature.key === owner);
  return enabled?.feature.refineError ? enabled.feature.refineError(error, enabled.settings) : error;
}

/** One stream's output, kept up to a number of bytes. */
class Collected {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly limit: number) {}

  /** Keeps what fits; false once something did not. */
  add(chunk: Buffer): boolean {
    if (this.truncated) return false;
    const room = this.limit - this.size;
    if (chunk.length <= room) {
      this.chunks.push(chunk);
      this.size += chunk.length;
      return true;
    }
    if (room > 0) this.chunks.push(chunk.subarray(0, room));
    this.size = this.limit;
    this.truncated = true;
    return false;
  }

  value(encoding: HandleSettings['encoding']): string | Buffer {
    const bytes = Buffer.concat(this.chunks);
    return encoding === 'buffer' ? bytes : bytes.toString('utf8');
  }
}

/**
 * The caller piped the stream somewhere before spawn() returned to the event loop: the
 * output is the destination's then. (A 'data' listener only watches; it is kept too.)
 */
function pipedByCaller(stream: Readable): boolean {
  const state = (stream as Readable & { _readableState?: { pipes?: unknown[] } })._readableState;
  return (state?.pipes?.length ?? 0) > 0;
}

/** Starts a plan's runner: a cold launch by default, or one a pool spawned ahead of time. */
export type Launcher = (plan: SandboxPlan, stdio: HandleSettings['stdio'], onExecAnnounced: () => void) => Launch;

const coldLaunch: Launcher = (plan, stdio, onExecAnnounced) => launch(plan.program, { stdio, returnChannel: plan.returnChannel, onExecAnnounced });

/** Launches the runner, or says why it could not: then nothing was started, no fd is left. */
function startRunner(plan: SandboxPlan, settings: HandleSettings, onExecAnnounced: () => void, launcher: Launcher): Launch | Error {
  try {
    return launcher(plan, settings.stdio, onExecAnnounced);
  } catch (error) {
    return isIsoError(error) ? error : new IsoError('ISO_SETUP_FAILED', `could not start the runner: ${String(error)}`, { phase: 'parent', cause: error });
  }
}

function cancelled(why: string, cause: unknown, runnerStarted: boolean): IsoError {
  const what = runnerStarted ? 'before its target started; its runner was killed' : 'before anything was started';
  return new IsoError('ISO_ABORTED', `the sandbox was ${why} ${what}`, cause === undefined ? { phase: 'parent' } : { phase: 'parent', cause });
}

/**
 * A sandboxed child: ChildProcess-like (stdio streams, pid, kill(), 'spawn', 'exit' and
 * 'close' events) and awaitable for its SandboxResult.
 *
 * How it ends, in one rule: anything that goes wrong or is cancelled before the target
 * was exec'd rejects (`ready` and the result), with an IsoError that names the step,
 * syscall and errno, or with ISO_ABORTED for an abort, a timeout or a kill() during
 * setup (and for an already-aborted signal, without spawning anything). Once the target
 * runs, its end always resolves, and `reason` says why.
 *
 * Features emit events of their own on it: with a notifying seccomp policy, 'seccomp' for
 * every notified call and 'violation' for each one denied (SeccompNotifyEvent).
 */
export class SandboxProcess<Output extends string | Buffer = string> extends EventEmitter implements PromiseLike<SandboxResult<Output>> {
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /** Resolves once the target has been exec'd; rejects like the result on setup failure. */
  readonly ready: Promise<void>;
  private readonly child: ChildProcess | undefined;
  private readonly result: Promise<SandboxResult<Output>>;
  private readonly settings: HandleSettings;
  /**
   * Set once the target runs, or is about to (the exec was announced, or it wrote output,
   * which can reach Node before the EOF that settles `ready`); before that, ending the
   * sandbox cancels its setup.
   */
  private started = false;
  private readonly markStarted = (): void => {
    if (!this.cancellation && !this.started) this.execAt = performance.now();
    if (!this.cancellation) this.started = true;
  };
  /** When the target was exec'd (or about to be), for the exit report's wall time. */
  private execAt: number | undefined;
  private cancellation: IsoError | undefined;
  private endedBy: Exclude<EndReason, 'exit' | 'signal'> | undefined;
  private readonly sent = new Set<NodeJS.Signals | number>();
  private exited = false;

  constructor(plan: SandboxPlan, options: SandboxOptions, stdinDefault: StdioEntry, launcher: Launcher = coldLaunch) {
    super();
    const settings = handleSettings(options, stdinDefault);
    this.settings = settings;
    const startedAt = performance.now();

    const launched = settings.signal?.aborted ? cancelled('aborted', settings.signal.reason, false) : startRunner(plan, settings, this.markStarted, launcher);
    if (launched instanceof Error) {
      this.child = undefined;
      this.stdin = this.stdout = this.stderr = null;
      this.ready = Promise.reject(launched);
      this.result = this.ready.then(
        () => {
          throw launched;
        },
        (error: unknown) => {
          if (this.listenerCount('error') > 0) this.emit('error', error);
          throw error;
        },
      );
      this.ready.catch(() => undefined);
      this.result.catch(() => undefined);
      return;
    }

    const { child, ready, returnSocket } = launched;
    this.child = child;
    const sessions = this.startSessions(plan, options, returnSocket);
    // Once the runner is gone the sandbox is over: sessions stop, so a stray descendant
    // still waiting on a supervisor gets an answer instead of holding stdio open forever.
    const stop = () => {
      for (const [, session] of sessions.started) session.stop();
    };
    child.once('exit', stop);
    child.once('error', stop);
    this.stdin = child.stdin;
    this.stdout = child.stdout;
    this.stderr = child.stderr;
    this.ready = ready.then(
      () => {
        if (sessions.failure !== undefined) throw sessions.failure;
        if (this.cancellation) throw this.cancellation;
        this.markStarted();
        this.emit('spawn');
      },
      (error: unknown) => {
        throw this.cancellation ?? sessions.failure ?? refineSetupError(error, plan);
      },
    );

    const output = this.collectOutput(child);
    if (settings.input !== undefined) child.stdin?.on('error', () => undefined).end(settings.input);

    const timers: NodeJS.Timeout[] = [];
    if (settings.timeout !== undefined) timers.push(setTimeout(() => { this.end('timeout', timers); }, settings.timeout));
    const onAbort = () => {
      this.end('aborted', timers);
    };
    settings.signal?.addEventListener('abort', onAbort, { once: true });
    output.onLimit = () => {
      if (settings.onMaxBuffer === 'kill') this.end('maxBuffer', timers);
    };

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
        // Whatever still holds the target's stdio open is not waited for.
        const grace = setTimeout(() => {
          for (const stream of [child.stdout, child.stderr]) stream?.destroy();
        }, CLOSE_GRACE_MS);
        child.once('close', () => { clearTimeout(grace); });
      });
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        resolve({ code, signal });
        void settled.then(() => this.emit('close', code, signal));
      });
      child.once('error', () => { resolve({ code: null, signal: null }); });
    });

    let exitAt: number | undefined;
    child.once('exit', () => {
      exitAt = performance.now();
    });
    this.result = Promise.all([this.ready, closed]).then(
      ([, { code, signal }]) => {
        const reason: EndReason = this.endedBy === 'killed' ? (signal ? 'killed' : 'exit') : (this.endedBy ?? (signal ? 'signal' : 'exit'));
        const execAt = this.execAt ?? startedAt;
        const { report, featureEnding } = exitReport(
          { reason, exitCode: code, signal, signalFromCaller: signal !== null && this.sent.has(signal), wallMs: Math.max(0, (exitAt ?? performance.now()) - execAt), timeoutMs: settings.timeout, maxBuffer: settings.maxBuffer },
          sessions.started,
        );
        // A feature with nothing to say (undefined) gets no key in the result.
        const features = Object.fromEntries(sessions.started.map(([key, session]): [string, unknown] => [key, session.result(featureEnding)]).filter(([, value]) => value !== undefined));
        const result: SandboxResult<Output> = {
          command: plan.file,
          args: plan.args,
          pid: child.pid,
          exitCode: code,
          signal,
          reason,
          failed: reason !== 'exit' || code !== 0,
          timedOut: reason === 'timeout',
          isCanceled: reason === 'aborted',
          isTerminated: signal !== null,
          signalSource: signal === null ? null : this.sent.has(signal) ? 'caller' : 'target',
          isMaxBuffer: output.truncated(),
          stdout: output.stdout() as Output,
          stderr: output.stderr() as Output,
          durationMs: performance.now() - startedAt,
          report,
          ...features,
        };
        if (reason === 'aborted') result.cancelReason = settings.signal?.reason;
        if (settings.all) result.all = output.all() as Output;
        return result;
      },
      async (error: unknown) => {
        await closed;
        if (this.listenerCount('error') > 0) this.emit('error', error);
        throw error;
      },
    );
    void this.result.finally(() => {
      timers.forEach(clearTimeout);
      settings.signal?.removeEventListener('abort', onAbort);
    }).catch(() => undefined);
    // Awaiting is optional (events suffice), so an unobserved failure must not crash.
    this.result.catch(() => undefined);
  }

  /**
   * Keeps stdout and stderr (and both interleaved) up to maxBuffer each, unless the caller
   * reads them itself or asked for no buffering; what is not kept is still drained, so the
   * target never blocks on a full pipe that nobody reads.
   */
  private collectOutput(child: ChildProcess) {
    const { maxBuffer, buffer, encoding } = this.settings;
    const kept = { stdout: new Collected(maxBuffer), stderr: new Collected(maxBuffer), all: new Collected(maxBuffer) };
    const sink = {
      onLimit: (): void => undefined,
      truncated: () => kept.stdout.truncated || kept.stderr.truncated || kept.all.truncated,
      stdout: () => kept.stdout.value(encoding),
      stderr: () => kept.stderr.value(encoding),
      all: () => kept.all.value(encoding),
    };
    const attach = (stream: Readable | null, own: Collected) => {
      if (!stream) return;
      // Only the target writes to these (the runner reports on fd 3): output means it runs.
      stream.once('data', this.markStarted);
      if (!buffer || pipedByCaller(stream)) {
        if (stream.readableFlowing === null && stream.listenerCount('readable') === 0 && stream.listenerCount('data') === 0) stream.resume();
        return;
      }
      stream.on('data', (chunk: Buffer) => {
        const fits = own.add(chunk);
        const fitsAll = !this.settings.all || kept.all.add(chunk);
        if (!fits || !fitsAll) sink.onLimit();
      });
    };
    // The caller gets until spawn() returns to the event loop to take a stream for itself.
    process.nextTick(() => {
      attach(child.stdout, kept.stdout);
      attach(child.stderr, kept.stderr);
    });
    return sink;
  }

  /** Ends the sandbox: before the target runs, by cancelling setup; after, with killSignal then SIGKILL. */
  private end(why: Exclude<EndReason, 'exit' | 'signal' | 'killed'>, timers: NodeJS.Timeout[]): void {
    if (this.exited || this.endedBy || this.cancellation || !this.child) return;
    if (!this.started) {
      const what = why === 'timeout' ? `timed out (after ${this.settings.timeout} ms)` : why === 'aborted' ? 'aborted' : 'ended by maxBuffer';
      this.cancellation = cancelled(what, why === 'aborted' ? this.settings.signal?.reason : undefined, true);
      this.child.kill('SIGKILL');
      return;
    }
    this.endedBy = why;
    this.send(this.settings.killSignal);
    timers.push(setTimeout(() => this.send('SIGKILL'), this.settings.forceKillAfterDelay));
  }

  private send(signal: NodeJS.Signals | number): boolean {
    if (!this.child) return false;
    this.sent.add(typeof signal === 'number' ? (SIGNAL_NAMES.get(signal) ?? signal) : signal);
    return this.child.kill(signal);
  }

  /**
   * Starts each feature's live part (a supervisor, a watcher). A feature that cannot start
   * ends the sandbox: the runner is killed, and `ready` rejects with why.
   */
  private startSessions(plan: SandboxPlan, options: SandboxOptions, returnSocket: number | undefined): { started: [string, FeatureSession<unknown>][]; failure: Error | undefined } {
    const started: [string, FeatureSession<unknown>][] = [];
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
        started.push([feature.key, feature.start(settings, { option: given[feature.key], pid: this.child?.pid, returnSocket: own, emit })]);
        if (own !== undefined) unowned = undefined;
      }
      return { started, failure: undefined };
    } catch (error) {
      for (const [, session] of started) session.stop();
      this.child?.kill('SIGKILL');
      const failure = isIsoError(error) ? error : new IsoError('ISO_SETUP_FAILED', `a feature could not start: ${String(error)}`, { phase: 'parent', cause: error });
      return { started: [], failure };
    } finally {
      starting = false;
      if (unowned !== undefined) closeSync(unowned);
    }
  }

  /** Host pid of the runner that supervises the target; undefined when nothing was started. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Sends a signal; the supervisor forwards it to the target. Before the target runs it
   * cancels the setup instead (the runner is killed, and the result rejects with
   * ISO_ABORTED). False when there is nothing left to signal.
   */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    if (!this.child || this.exited) return false;
    if (!this.started) {
      if (!this.cancellation) this.cancellation = cancelled(`killed (kill(${String(signal)}))`, undefined, true);
      return this.child.kill('SIGKILL');
    }
    this.endedBy ??= 'killed';
    return this.send(signal);
  }

  then<A = SandboxResult<Output>, B = never>(
    onFulfilled?: ((value: SandboxResult<Output>) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.result.then(onFulfilled, onRejected);
  }

  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<SandboxResult<Output> | B> {
    return this.result.catch(onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<SandboxResult<Output>> {
    return this.result.finally(onFinally);
  }
}
