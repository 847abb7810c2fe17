import { IsoError, describeValue, hostArch, invalidOptions, isIsoError, launch, prespawnRunner } from '@iso/core';
import type { IdleRunner, Launch } from '@iso/core';
import { planSandbox } from './compose.js';
import type { SandboxPlan } from './compose.js';
import type { OutputOf, SandboxOptions, SandboxResult } from './options.js';
import type { Launcher, SandboxProcess } from './process.js';
import { start } from './sandbox.js';
import type { Sandbox } from './sandbox.js';

export const DEFAULT_POOL_SIZE = 4;
export const MAX_POOL_SIZE = 256;
/**
 * How long a pooled sandbox may run before its runner is replaced anyway. A replacement is
 * a spawn, which holds Node's thread for about a millisecond; made while a short target
 * runs, it would delay that target's exit by as much. So it waits for the end, or this.
 */
const REFILL_DELAY_MS = 20;

export interface PoolOptions {
  /** How many runners to keep spawned and waiting, 1 to 256. Default 4. */
  size?: number;
  /** Options of every launch, as createSandbox's defaults: a launch's own override them key by key. */
  options?: SandboxOptions;
}

/**
 * A sandbox whose runners are spawned ahead of time. Each launch takes one waiting runner
 * (a fresh process that has run nothing yet), hands it the launch's program and stdio,
 * and a replacement is spawned in the background: nothing is reused between two
 * sandboxes, and the isolation is that of a cold launch, with the same program. With no
 * runner waiting (all taken, or a launch that needs a different kind of runner), a launch
 * is cold.
 */
export interface SandboxPool extends Sandbox {
  readonly size: number;
  /** Runners waiting now. */
  readonly idle: number;
  /** Launches served by a waiting runner, and cold ones, since the pool was made. */
  readonly stats: { readonly warm: number; readonly cold: number };
  /** Resolves once `size` runners are waiting (at once if they are). */
  warm(): Promise<void>;
  /**
   * Ends the waiting runners and spawns no more; resolves once they have exited. Sandboxes
   * already launched are the caller's and run on. A launch after close() rejects with
   * ISO_ABORTED, having started nothing.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function checkPoolOptions(given: unknown): { size: number; defaults: SandboxOptions } {
  if (given === undefined) return { size: DEFAULT_POOL_SIZE, defaults: {} };
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw invalidOptions('pool', `expected an object, got ${describeValue(given)}`);
  const { size = DEFAULT_POOL_SIZE, options = {}, ...rest } = given as Record<string, unknown>;
  for (const key of Object.keys(rest)) throw invalidOptions(`pool.${key}`, "unknown option; a pool takes 'size' and 'options'");
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > MAX_POOL_SIZE)
    throw invalidOptions('pool.size', `expected an integer from 1 to ${MAX_POOL_SIZE}, got ${describeValue(size)}`);
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalidOptions('pool.options', `expected an object, got ${describeValue(options)}`);
  return { size, defaults: options };
}

/**
 * A pool of `size` waiting runners with `options` as every launch's defaults. Bad options
 * throw ISO_INVALID_OPTIONS before any runner is spawned; the runners are spawned one per
 * event-loop turn from then on (await warm() to have them all).
 */
export function createPool(poolOptions?: PoolOptions): SandboxPool {
  const { size, defaults } = checkPoolOptions(poolOptions);
  // Every option is checked now, against a plan of the defaults: it also says which runner
  // the launches need (a return channel, for a seccomp notify supervisor).
  const sample: SandboxPlan = planSandbox('true', [], defaults);
  const returnChannel = sample.returnChannel;
  const arch = hostArch();
  const waiting: IdleRunner[] = [];
  const stats = { warm: 0, cold: 0 };
  let closed = false;
  let filling = false;
  let warmed: (() => void)[] = [];

  const settleWarm = () => {
    if (waiting.length < size && !closed) return;
    for (const resolve of warmed) resolve();
    warmed = [];
  };

  // One spawn per turn of the event loop, so that filling never holds Node for long.
  const fillOne = () => {
    filling = false;
    if (closed || waiting.length >= size) { settleWarm(); return; }
    let runner: IdleRunner;
    try {
      runner = prespawnRunner(arch, { returnChannel });
    } catch {
      // Out of fds or processes, say: launches go cold meanwhile, and the next end retries.
      settleWarm(); return;
    }
    waiting.push(runner);
    runner.child.once('exit', () => {
      const at = waiting.indexOf(runner);
      if (at >= 0) {
        waiting.splice(at, 1); // it died waiting: replace it
        refill();
      }
    });
    settleWarm();
    refill();
  };
  const refill = () => {
    if (filling || closed || waiting.length >= size) return;
    filling = true;
    setImmediate(fillOne);
  };

  const replaceAfter = (launched: Launch) => {
    const timer = setTimeout(refill, REFILL_DELAY_MS);
    timer.unref();
    launched.child.once('close', () => {
      clearTimeout(timer);
      refill();
    });
  };

  const launcher: Launcher = (plan, stdio, onExecAnnounced) => {
    if (closed) throw new IsoError('ISO_ABORTED', 'the pool is closed; nothing was started', { phase: 'parent' });
    if (plan.returnChannel === returnChannel && plan.program.arch === arch) {
      while (waiting.length > 0) {
        const runner = waiting.shift() as IdleRunner;
        if (!runner.idle) continue;
        try {
          const launched = runner.start(plan.program, { stdio, onExecAnnounced });
          stats.warm++;
          replaceAfter(launched);
          return launched;
        } catch (error) {
          if (isIsoError(error) && error.isoCode === 'ISO_INVALID_OPTIONS') {
            waiting.unshift(runner); // nothing was sent: it still waits
            throw error;
          }
          void runner.dispose(); // it died as it was taken: try the next
        }
      }
    }
    const launched = launch(plan.program, { stdio, returnChannel: plan.returnChannel, onExecAnnounced });
    stats.cold++;
    replaceAfter(launched);
    return launched;
  };

  const merged = (options: SandboxOptions = {}): SandboxOptions => ({ ...defaults, ...options });
  const close = async (): Promise<void> => {
    closed = true;
    settleWarm();
    const ending = waiting.splice(0).map((runner) => runner.dispose());
    await Promise.all(ending);
  };
  refill();

  return {
    defaults,
    size,
    get idle() {
      return waiting.filter((runner) => runner.idle).length;
    },
    stats,
    spawn: <O extends SandboxOptions>(file: string, args: readonly string[] = [], options?: O): SandboxProcess<OutputOf<O>> =>
      start<OutputOf<O>>(file, args, merged(options), 'pipe', launcher),
    run: async <O extends SandboxOptions>(file: string, args: readonly string[] = [], options?: O): Promise<SandboxResult<OutputOf<O>>> =>
      start<OutputOf<O>>(file, args, merged(options), 'ignore', launcher),
    plan: (file, args = [], options) => planSandbox(file, args, merged(options)),
    explain: (file, args = [], options) => planSandbox(file, args, merged(options)).explain(),
    warm: () => (closed || waiting.length >= size ? Promise.resolve() : new Promise<void>((resolve) => warmed.push(resolve))),
    close,
    [Symbol.asyncDispose]: close,
  };
}
