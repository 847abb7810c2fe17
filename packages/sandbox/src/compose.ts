import { buildProgram, composeFeatures, corePlan, currentHost, describeValue, execCandidates, explainProgram, hostArch, invalidOptions, orderSteps, unsupportedPlatform } from '@iso/core';
import type { AnyFeature, EnabledFeature, Program } from '@iso/core';
import { FEATURES } from './features.js';
import type { ProcessResult, SandboxOptions } from './options.js';
import { handleSettings } from './process-options.js';
import { withPreset } from './presets.js';

const MAX_PATH_ENTRIES = 256;

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The options of the process itself; the rest are the features' keys. */
const PROCESS_KEYS = [
  'cwd', 'env', 'inheritEnv', 'stdio', 'input', 'timeout', 'signal', 'killSignal', 'forceKillAfterDelay', 'newSession',
  'maxBuffer', 'onMaxBuffer', 'buffer', 'encoding', 'all', 'preset',
] as const;
/** The result's own fields, which a feature's result under its key must not replace. */
const RESULT_FIELDS = [
  'command', 'args', 'pid', 'exitCode', 'signal', 'reason', 'failed', 'timedOut', 'isCanceled', 'cancelReason', 'isTerminated',
  'signalSource', 'isMaxBuffer', 'stdout', 'stderr', 'all', 'durationMs', 'report',
] as const satisfies readonly (keyof ProcessResult)[];
/** The process options that shape the program; the others only shape the handle. */
const PROCESS_PROGRAM_KEYS = ['cwd', 'env', 'inheritEnv', 'newSession'] as const;
const FEATURE_KEYS: readonly string[] = FEATURES.map((feature) => feature.key);
// Planning costs about half a millisecond, a third of a launch, so spawning the same
// sandbox again reuses the program.
const PROGRAM_KEYS: readonly string[] = [...FEATURE_KEYS, ...PROCESS_PROGRAM_KEYS];

function checkString(value: unknown, path: string): string {
  if (typeof value !== 'string') throw invalidOptions(path, 'expected a string');
  if (value.includes('\0')) throw invalidOptions(path, 'must not contain a NUL byte');
  return value;
}

function environment(options: SandboxOptions): Record<string, string> {
  const env: Record<string, string> = {};
  const inherit = options.inheritEnv ?? false;
  if (inherit === true) {
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  } else if (Array.isArray(inherit)) {
    for (const name of inherit as unknown[]) {
      const key = checkString(name, 'inheritEnv[]');
      const value = process.env[key];
      if (value !== undefined) env[key] = value;
    }
  } else if (inherit !== false) {
    throw invalidOptions('inheritEnv', 'expected a boolean or a list of variable names');
  }
  if (options.env !== undefined) {
    if (!isPlainObject(options.env)) throw invalidOptions('env', `expected an object of variable names to values, got ${describeValue(options.env)}`);
    for (const [key, value] of Object.entries(options.env)) {
      if (!key || key.includes('=') || key.includes('\0')) throw invalidOptions(`env.${key}`, 'names must be non-empty, without "=" or NUL');
      env[key] = checkString(value, `env.${key}`);
    }
  }
  env.PATH ??= DEFAULT_PATH;
  return env;
}

/** An object literal (or Object.create(null)): not an array, a Map or a class instance, whose entries would be lost. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** JSON for cache keys: bigints spelled out, and a handler's presence kept (not its code). */
function keyJson(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : typeof v === 'function' ? '[function]' : v));
}

/** The program's listing with the features' notes under its header: '# net: shares the host's network ...'. */
function withNotes(listing: string, enabled: readonly EnabledFeature[]): string {
  const notes = enabled.flatMap(({ feature, plan }) => (plan.notes ?? []).map((note) => `# ${feature.key}: ${note}`));
  if (notes.length === 0) return listing;
  const header = listing.indexOf('\n') + 1;
  return listing.slice(0, header) + notes.join('\n') + '\n' + listing.slice(header);
}

/** A plan: the program the runner will run, and what it will do. */
export interface SandboxPlan {
  readonly file: string;
  readonly args: readonly string[];
  /** The PATH the target's file is looked up in. */
  readonly path: string;
  /** The features that are on, with their settings and plans, in list order. */
  readonly features: readonly EnabledFeature[];
  /** A feature hands fds to Node: the launch passes the return channel. */
  readonly returnChannel: boolean;
  readonly program: Program;
  /** The program strace-style, one step a line. */
  explain(): string;
}

/**
 * Checks every option and composes the feature plans in the fixed order of setup. Throws
 * ISO_INVALID_OPTIONS before anything exists. Pure apart from reading process state.
 */
export function planSandbox(file: string, args: readonly string[] = [], options: SandboxOptions = {}): SandboxPlan {
  checkTopLevel(options, FEATURES);
  const effective = withPreset(options);
  const key = planKey(file, args, effective);
  const cached = key === undefined ? undefined : planCache.get(key);
  if (cached) return cached;
  const { plan, hostDependent } = composePlan(FEATURES, file, args, effective);
  if (key !== undefined && !hostDependent) {
    if (planCache.size >= PLAN_CACHE_SIZE) planCache.delete(planCache.keys().next().value ?? '');
    planCache.set(key, plan);
  }
  return plan;
}

/**
 * The same for any list of features, uncached and with no preset (only what the options
 * say): how a feature that is not in the list yet (a test's, say) composes with the others.
 */
export function planWithFeatures(features: readonly AnyFeature[], file: string, args: readonly string[] = [], options: Readonly<Record<string, unknown>> = {}): SandboxPlan {
  checkTopLevel(options, features);
  return composePlan(features, file, args, options).plan;
}

const keysOfLists = new WeakMap<readonly AnyFeature[], ReadonlySet<string>>();

/** The option keys a list of features knows, besides the process's own (made once per list). */
function knownKeys(features: readonly AnyFeature[]): ReadonlySet<string> {
  let known = keysOfLists.get(features);
  if (known === undefined) {
    // A feature's key is an option key, and with a session a result field: it must not
    // shadow the process's own (pid has no session, so result.pid stays the runner's).
    for (const feature of features)
      if ((PROCESS_KEYS as readonly string[]).includes(feature.key) || (feature.start !== undefined && (RESULT_FIELDS as readonly string[]).includes(feature.key)))
        throw new Error(`a feature has the key ${feature.key}, which the sandbox uses itself`);
    known = new Set<string>([...PROCESS_KEYS, ...features.map((feature) => feature.key)]);
    keysOfLists.set(features, known);
  }
  return known;
}

/** Checked on every call, cache or not: a typo must never ride on an earlier good plan. */
function checkTopLevel(options: unknown, features: readonly AnyFeature[]): void {
  if (process.platform !== 'linux') throw unsupportedPlatform();
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalidOptions('options', 'expected an object');
  const known = knownKeys(features);
  for (const key of Object.keys(options)) if (!known.has(key)) throw invalidOptions(key, 'unknown option');
  handleSettings(options, 'pipe');
}

const planCache = new Map<string, SandboxPlan>();
const PLAN_CACHE_SIZE = 32;

/** Everything the program depends on, as one string; undefined when it cannot be told. */
function planKey(file: unknown, args: unknown, options: SandboxOptions): string | undefined {
  const inherit = options.inheritEnv;
  const inherited = inherit === true ? process.env : Array.isArray(inherit) ? (inherit as unknown[]).map((name): unknown[] => [name, process.env[String(name)]]) : undefined;
  const given = options as Readonly<Record<string, unknown>>;
  try {
    return keyJson([file, args, process.getuid?.(), process.getgid?.(), options.cwd === undefined ? process.cwd() : 0, inherited, PROGRAM_KEYS.map((k) => given[k])]);
  } catch {
    return undefined; // a cycle, say: plan it afresh
  }
}

/**
 * Checks every option and composes the feature plans; the uncached part of planSandbox.
 * `hostDependent` marks a plan that holds a snapshot of host state (a feature said so): it
 * is not reused, so what the host changes later is covered next time.
 */
function composePlan(
  features: readonly AnyFeature[],
  file: string,
  args: readonly string[],
  options: SandboxOptions,
): { plan: SandboxPlan; hostDependent: boolean } {
  checkString(file, 'file');
  if (file === '') throw invalidOptions('file', 'must not be empty');
  if (!Array.isArray(args)) throw invalidOptions('args', 'expected an array of strings');
  for (let i = 0; i < args.length; i++) checkString(args[i], `args[${i}]`); // holes of a sparse array too
  if (options.newSession !== undefined && typeof options.newSession !== 'boolean') throw invalidOptions('newSession', 'expected a boolean');

  const composition = composeFeatures(features, options as Readonly<Record<string, unknown>>, currentHost());
  const cwdGiven = options.cwd !== undefined;
  // A root of its own shares nothing with the caller's cwd; start at its top.
  const cwd = cwdGiven ? checkString(options.cwd, 'cwd') : composition.context.ownRoot ? '/' : process.cwd();
  if (cwdGiven && !cwd.startsWith('/')) throw invalidOptions('cwd', 'must be an absolute path');

  const env = environment(options);
  if (execCandidates(file, env.PATH).length > MAX_PATH_ENTRIES)
    throw invalidOptions('env.PATH', `at most ${MAX_PATH_ENTRIES} directories are searched`);
  const core = corePlan(
    { file, args, env, cwd, cwdOptional: !cwdGiven, newSession: options.newSession ?? true, returnChannel: composition.returnChannel },
    process.pid,
  );
  const program = buildProgram(orderSteps([core, ...composition.enabled.map((enabled) => enabled.plan.steps)]), hostArch());
  return {
    plan: {
      file,
      args,
      path: env.PATH ?? DEFAULT_PATH,
      features: composition.enabled,
      returnChannel: composition.returnChannel,
      program,
      explain: () => withNotes(explainProgram(program), composition.enabled),
    },
    hostDependent: composition.hostDependent,
  };
}
