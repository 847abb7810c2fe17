import { capNames, capsPlan, capsStageNeeds, normalizeCapsOptions, readProcessCaps } from '@iso/caps';
import { STAGES, buildProgram, corePlan, execCandidates, explainProgram, hostArch, invalidOptions, unsupportedPlatform } from '@iso/core';
import type { Arch, ChildStep, Program, StagedSteps } from '@iso/core';
import { ipcPlan, normalizeIpcOptions } from '@iso/ipc';
import { mountPlan, normalizeMountOptions } from '@iso/mount';
import type { MountEntry, MountOption } from '@iso/mount';
import { normalizePidOptions, pidPlan } from '@iso/pid';
import { normalizeSeccompOptions, seccompPlan } from '@iso/seccomp';
import type { SeccompOption } from '@iso/seccomp';
import { normalizeUsernsOptions, usernsPlan } from '@iso/userns';
import type { UsernsSettings } from '@iso/userns';
import { normalizeUtsOptions, utsPlan } from '@iso/uts';
import type { SandboxOptions } from './options.js';

const MAX_PATH_ENTRIES = 256;

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const KNOWN_KEYS = new Set<string>([
  'pid',
  'uts',
  'ipc',
  'userns',
  'mount',
  'caps',
  'seccomp',
  'cwd',
  'env',
  'inheritEnv',
  'stdio',
  'input',
  'timeout',
  'signal',
  'killSignal',
  'forceKillAfterDelay',
  'newSession',
]);

function checkString(value: unknown, path: string): string {
  if (typeof value !== 'string') throw invalidOptions(path, 'expected a string');
  if (value.includes('\0')) throw invalidOptions(path, 'must not contain a NUL byte');
  return value;
}

function checkMilliseconds(value: unknown, path: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw invalidOptions(path, `expected a positive number of milliseconds, got ${JSON.stringify(value) ?? typeof value}`);
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
    if (typeof options.env !== 'object' || options.env === null) throw invalidOptions('env', 'expected an object');
    for (const [key, value] of Object.entries(options.env)) {
      if (!key || key.includes('=') || key.includes('\0')) throw invalidOptions(`env.${key}`, 'names must be non-empty, without "=" or NUL');
      env[key] = checkString(value, `env.${key}`);
    }
  }
  env.PATH ??= DEFAULT_PATH;
  return env;
}

// Checking and compiling a policy takes milliseconds (tens for a Docker profile), which
// the spawn path must not pay each time: keep the last results by option and context.
interface SeccompStages {
  stages: StagedSteps;
  /** The runner hands a listener back: the launch needs a return channel. */
  notify: boolean;
}
const seccompCache = new Map<string, SeccompStages | undefined>();
const SECCOMP_CACHE_SIZE = 16;

/** JSON for cache keys: bigints spelled out, and a handler's presence kept (not its code). */
function keyJson(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : typeof v === 'function' ? '[function]' : v));
}

function seccompStages(option: SeccompOption, arch: Arch, keptCaps: readonly string[]): SeccompStages | undefined {
  const key = `${arch}|${keptCaps.join(',')}|${keyJson(option)}`;
  if (seccompCache.has(key)) return seccompCache.get(key);
  const settings = normalizeSeccompOptions(option);
  const stages = settings && { stages: seccompPlan(settings, arch, keptCaps), notify: settings.notify };
  if (seccompCache.size >= SECCOMP_CACHE_SIZE) seccompCache.delete(seccompCache.keys().next().value ?? '');
  seccompCache.set(key, stages);
  return stages;
}

/**
 * A new root gets what a process expects there, after the caller's own entries so their
 * indexes in errors stay put: a minimal /dev (unless an entry mounts under /dev), and a
 * /proc mount point for the PID namespace's proc.
 */
function withRootDefaults(option: MountOption | undefined, mountsProc: boolean): MountOption | undefined {
  if (typeof option !== 'object' || option === null || option.root === undefined) return option;
  const entries: unknown[] = Array.isArray(option.entries) ? [...(option.entries as unknown[])] : [];
  const targets = entries.map((entry) => (typeof entry === 'object' && entry !== null ? (entry as { target?: unknown }).target : undefined));
  const under = (dir: string) => targets.some((t) => typeof t === 'string' && (t === dir || t.startsWith(`${dir}/`)));
  if (!under('/dev')) entries.push({ type: 'dev', target: '/dev' });
  if (mountsProc && !under('/proc')) entries.push({ type: 'dir', target: '/proc' });
  return { ...option, entries: entries as MountEntry[] };
}

/** A plan: the program the runner will run, and what it will do. */
export interface SandboxPlan {
  readonly file: string;
  readonly args: readonly string[];
  /** The PATH the target's file is looked up in. */
  readonly path: string;
  /** The user namespace settings, for error messages. */
  readonly userns: UsernsSettings | undefined;
  /** The seccomp filter notifies: the runner sends its listener on a return channel. */
  readonly notify: boolean;
  readonly program: Program;
  /** The program strace-style, one step a line. */
  explain(): string;
}

/**
 * Checks every option and composes the feature plans in the fixed order of setup. Throws
 * ISO_INVALID_OPTIONS before anything exists. Pure apart from reading process state.
 */
export function planSandbox(file: string, args: readonly string[] = [], options: SandboxOptions = {}): SandboxPlan {
  if (process.platform !== 'linux') throw unsupportedPlatform();
  if (typeof options !== 'object' || options === null) throw invalidOptions('options', 'expected an object');
  // Checked on every call, cache or not: a typo must never ride on an earlier good plan.
  for (const key of Object.keys(options)) if (!KNOWN_KEYS.has(key)) throw invalidOptions(key, 'unknown option');
  checkMilliseconds(options.timeout, 'timeout');
  checkMilliseconds(options.forceKillAfterDelay, 'forceKillAfterDelay');
  const key = planKey(file, args, options);
  const cached = key === undefined ? undefined : planCache.get(key);
  if (cached) return cached;
  const { plan, hostDependent } = composePlan(file, args, options);
  if (key !== undefined && !hostDependent) {
    if (planCache.size >= PLAN_CACHE_SIZE) planCache.delete(planCache.keys().next().value ?? '');
    planCache.set(key, plan);
  }
  return plan;
}

// The options that shape the program; the others (stdio, input, timeouts, signal) only
// shape the handle. Planning costs about half a millisecond, a third of a launch, so
// spawning the same sandbox again reuses the program.
const PROGRAM_KEYS = ['pid', 'uts', 'ipc', 'userns', 'mount', 'caps', 'seccomp', 'cwd', 'env', 'inheritEnv', 'newSession'] as const;
const planCache = new Map<string, SandboxPlan>();
const PLAN_CACHE_SIZE = 32;

/** Everything the program depends on, as one string; undefined when it cannot be told. */
function planKey(file: unknown, args: unknown, options: SandboxOptions): string | undefined {
  const inherit = options.inheritEnv;
  const inherited = inherit === true ? process.env : Array.isArray(inherit) ? (inherit as unknown[]).map((name): unknown[] => [name, process.env[String(name)]]) : undefined;
  try {
    return keyJson([file, args, process.getuid?.(), process.getgid?.(), options.cwd === undefined ? process.cwd() : 0, inherited, PROGRAM_KEYS.map((k) => options[k])]);
  } catch {
    return undefined; // a cycle, say: plan it afresh
  }
}

/**
 * Checks every option and composes the feature plans; the uncached part of planSandbox.
 * `hostDependent` marks a plan that holds a snapshot of the host's tree (the mounts a
 * read-only walk remounts, the top level of a host-readonly root on a tmpfs): it is not
 * reused, so a mount or a top-level name the host gains later is covered next time.
 */
function composePlan(file: string, args: readonly string[], options: SandboxOptions): { plan: SandboxPlan; hostDependent: boolean } {
  checkString(file, 'file');
  if (file === '') throw invalidOptions('file', 'must not be empty');
  if (!Array.isArray(args)) throw invalidOptions('args', 'expected an array of strings');
  args.forEach((arg, i) => checkString(arg, `args[${i}]`));
  if (options.newSession !== undefined && typeof options.newSession !== 'boolean') throw invalidOptions('newSession', 'expected a boolean');

  const pid = normalizePidOptions(options.pid);
  const uts = normalizeUtsOptions(options.uts);
  const ipc = normalizeIpcOptions(options.ipc);
  let mount = normalizeMountOptions(withRootDefaults(options.mount, pid?.mountProc ?? false));
  if (pid?.mountProc && !mount) {
    if (options.mount === false) throw invalidOptions('mount', 'pid.mountProc needs a mount namespace; drop mount: false or set pid.mountProc: false');
    mount = normalizeMountOptions(true);
  }
  // A fresh mqueue needs a mount namespace too; only an explicit mount: false skips it.
  if (ipc?.mqueue && !mount && options.mount === undefined) mount = normalizeMountOptions(true);
  const anyNamespace = Boolean(pid ?? uts ?? ipc ?? mount);
  const userns = normalizeUsernsOptions(options.userns ?? (anyNamespace ? true : undefined));
  if (anyNamespace && !userns && (process.getuid?.() ?? 0) !== 0)
    throw invalidOptions('userns', 'only root can create namespaces without a user namespace; drop userns: false');

  const caps = normalizeCapsOptions(options.caps);
  const isRoot = (process.getuid?.() ?? 0) === 0;
  // Without a user namespace a non-root caller holds no capabilities to drop (and may not
  // shrink its bounding set); asking to keep some it does not hold cannot work.
  const capsApply = Boolean(userns) || isRoot;
  if (!capsApply && options.caps !== undefined && (capsStageNeeds(caps) & ~readProcessCaps('self').permitted.mask) !== 0n)
    throw invalidOptions('caps', 'keeping capabilities needs a user namespace (userns: true) or root');

  const keptCaps = capsApply ? capNames(caps.bounding) : [];
  const seccomp = seccompStages(options.seccomp ?? true, hostArch(), keptCaps);
  if (seccomp && !caps.noNewPrivs && !keptCaps.includes('CAP_SYS_ADMIN'))
    throw invalidOptions('seccomp', 'loading a filter needs no_new_privs (caps.noNewPrivs: true) or CAP_SYS_ADMIN kept');

  const cwdGiven = options.cwd !== undefined;
  // A rootfs or overlay root shares nothing with the caller's cwd; start at its top.
  const ownRoot = mount?.root !== undefined && (options.mount as { root?: unknown }).root !== 'host-readonly';
  const cwd = cwdGiven ? checkString(options.cwd, 'cwd') : ownRoot ? '/' : process.cwd();
  if (cwdGiven && !cwd.startsWith('/')) throw invalidOptions('cwd', 'must be an absolute path');

  const env = environment(options);
  if (execCandidates(file, env.PATH).length > MAX_PATH_ENTRIES)
    throw invalidOptions('env.PATH', `at most ${MAX_PATH_ENTRIES} directories are searched`);
  const staged: StagedSteps[] = [
    corePlan(
      {
        file,
        args,
        env,
        cwd,
        cwdOptional: !cwdGiven,
        newSession: options.newSession ?? true,
        returnChannel: seccomp?.notify ?? false,
      },
      process.pid,
    ),
  ];
  // Fixed package order; within a stage, steps run in this order.
  if (userns) staged.push(usernsPlan(userns));
  if (mount) staged.push(mountPlan(mount));
  if (pid) staged.push(pidPlan(pid));
  if (ipc) staged.push(ipcPlan(ipc, Boolean(mount)));
  if (uts) staged.push(utsPlan(uts));
  const capsSteps = capsPlan(caps);
  staged.push(capsApply ? capsSteps : { noNewPrivs: capsSteps.noNewPrivs ?? [] });
  if (seccomp) staged.push(seccomp.stages);

  const steps: ChildStep[] = [];
  for (const stage of STAGES) for (const plan of staged) steps.push(...(plan[stage] ?? []));
  // A stage this build does not know would be dropped silently: a mismatch of packages.
  for (const plan of staged)
    for (const stage of Object.keys(plan))
      if (!(STAGES as readonly string[]).includes(stage)) throw new Error(`a plan uses the unknown stage ${stage}; @iso/core is older than the feature packages`);
  const program = buildProgram(steps, hostArch());
  const hostDependent = mount?.recursiveReadonly === 'walk' || (mount?.root?.kind === 'host-readonly' && mount.root.top !== undefined);
  return {
    plan: { file, args, path: env.PATH ?? DEFAULT_PATH, userns, notify: seccomp?.notify ?? false, program, explain: () => explainProgram(program) },
    hostDependent,
  };
}
