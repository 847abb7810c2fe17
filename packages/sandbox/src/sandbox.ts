import type { FeatureProbe } from '@iso/core';
import { planSandbox } from './compose.js';
import { FEATURES } from './features.js';
import type { SandboxPlan } from './compose.js';
import type { OutputOf, SandboxOptions, SandboxResult } from './options.js';
import { SandboxProcess } from './process.js';
import type { Launcher } from './process.js';
import { withPreset } from './presets.js';

/**
 * Starts `file` in a sandbox. Returns at once with a ChildProcess-like handle that is also
 * awaitable for the result. Bad options throw ISO_INVALID_OPTIONS here, before anything
 * is created (as child_process.spawn throws on bad arguments); setup failures reject.
 */
export function spawn<O extends SandboxOptions = SandboxOptions>(file: string, args: readonly string[] = [], options?: O): SandboxProcess<OutputOf<O>> {
  return start<OutputOf<O>>(file, args, options, 'pipe');
}

/** Runs `file` in a sandbox to the end. stdin is closed unless `input` or `stdio` says otherwise. */
export async function run<O extends SandboxOptions = SandboxOptions>(file: string, args: readonly string[] = [], options?: O): Promise<SandboxResult<OutputOf<O>>> {
  return start<OutputOf<O>>(file, args, options, 'ignore');
}

/** spawn() and run(), with the runner from `launcher` (a pool's) instead of a cold one. */
export function start<Output extends string | Buffer>(
  file: string,
  args: readonly string[],
  options: SandboxOptions | undefined,
  stdinDefault: 'pipe' | 'ignore',
  launcher?: Launcher,
): SandboxProcess<Output> {
  const given = withPreset<SandboxOptions>(options === undefined ? {} : options);
  return new SandboxProcess<Output>(planSandbox(file, args, given), given, stdinDefault, launcher);
}

/** The program a spawn would run, without running it. */
export function plan(file: string, args: readonly string[] = [], options: SandboxOptions = {}): SandboxPlan {
  return planSandbox(file, args, options);
}

/** What a spawn would do, strace-style, one step a line. */
export function explain(file: string, args: readonly string[] = [], options: SandboxOptions = {}): string {
  return planSandbox(file, args, options).explain();
}

/** Functions, not methods: `const { run } = createSandbox(...)` works. */
export interface Sandbox {
  readonly defaults: Readonly<SandboxOptions>;
  readonly spawn: <O extends SandboxOptions = SandboxOptions>(file: string, args?: readonly string[], options?: O) => SandboxProcess<OutputOf<O>>;
  readonly run: <O extends SandboxOptions = SandboxOptions>(file: string, args?: readonly string[], options?: O) => Promise<SandboxResult<OutputOf<O>>>;
  readonly plan: (file: string, args?: readonly string[], options?: SandboxOptions) => SandboxPlan;
  readonly explain: (file: string, args?: readonly string[], options?: SandboxOptions) => string;
}

/** A sandbox with defaults; options given to each call override them key by key. */
export function createSandbox(defaults: SandboxOptions = {}): Sandbox {
  const merged = (options: SandboxOptions = {}): SandboxOptions => ({ ...defaults, ...options });
  return {
    defaults,
    spawn: <O extends SandboxOptions>(file: string, args?: readonly string[], options?: O) => spawn(file, args, merged(options)) as SandboxProcess<OutputOf<O>>,
    run: <O extends SandboxOptions>(file: string, args?: readonly string[], options?: O) => run(file, args, merged(options)) as Promise<SandboxResult<OutputOf<O>>>,
    plan: (file, args, options) => plan(file, args, merged(options)),
    explain: (file, args, options) => explain(file, args, merged(options)),
  };
}

/** What every feature supports here, for this caller, and what stands in the way. */
export interface SandboxProbe {
  /** Every feature works here with its defaults. */
  readonly supported: boolean;
  /** Each feature's reasons, prefixed with its key ('time: ...'). */
  readonly reasons: readonly string[];
  /** Each feature's own probe, under its key. */
  readonly features: Readonly<Record<(typeof FEATURES)[number]['key'], FeatureProbe>>;
}

/** Probes every feature the sandbox composes. Never throws on Linux; reads only. */
export function probe(): SandboxProbe {
  const probes = FEATURES.map((feature): [string, FeatureProbe] => [feature.key, feature.probe()]);
  return {
    supported: probes.every(([, p]) => p.supported),
    reasons: probes.flatMap(([key, p]) => p.reasons.map((reason) => `${key}: ${reason}`)),
    features: Object.fromEntries(probes) as SandboxProbe['features'],
  };
}
