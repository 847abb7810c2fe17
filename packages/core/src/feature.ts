// The feature contract: every feature package (pid, mount, seccomp...) exports one object
// of this shape, and @iso/sandbox composes a list of them without knowing any by name.
// docs/architecture.md explains it, with @iso/time as the worked example.
import { release } from 'node:os';
import type { IsoError } from './errors.js';
import { invalidOptions } from './errors.js';
import type { NamespaceKind } from './proc.js';
import { STAGES } from './program/types.js';
import type { ChildStep, StagedSteps } from './program/types.js';
import type { Arch } from './syscalls/index.js';
import { hostArch } from './syscalls/index.js';

/** The caller and the machine: the same facts for every feature. */
export interface HostFacts {
  /** The caller's real ids; `isRoot` is a real uid of 0. */
  readonly uid: number;
  readonly gid: number;
  readonly isRoot: boolean;
  /** The effective uid, which the kernel checks for privileged calls from Node. */
  readonly euid: number;
  /** Node's pid, which the runner's first die-with-parent step expects as its parent. */
  readonly pid: number;
  readonly arch: Arch;
  /** The kernel's release string, and its major and minor version. */
  readonly kernelRelease: string;
  readonly kernel: readonly [major: number, minor: number];
}

/** [major, minor] of a release such as '6.18.0-1-amd64', or undefined. */
export function kernelVersion(text: string): [number, number] | undefined {
  const match = /^(\d+)\.(\d+)/.exec(text);
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

/** Whether `have` is `want` or newer. */
export function kernelAtLeast(have: readonly [number, number], want: readonly [number, number]): boolean {
  return have[0] > want[0] || (have[0] === want[0] && have[1] >= want[1]);
}

/** The facts of this process, now. */
export function currentHost(): HostFacts {
  const uid = process.getuid?.() ?? 0;
  const kernelRelease = release();
  return {
    uid,
    gid: process.getgid?.() ?? 0,
    isRoot: uid === 0,
    euid: process.geteuid?.() ?? uid,
    pid: process.pid,
    arch: hostArch(),
    kernelRelease,
    kernel: kernelVersion(kernelRelease) ?? [0, 0],
  };
}

/** A need of one feature that another provides; the provider reads it from the context. */
export interface FeatureRequest {
  /** The namespace needed. */
  readonly namespace: NamespaceKind;
  /** The option that needs it ('pid.mountProc'), for errors. */
  readonly by: string;
  /** Refuse when the provider is switched off (true), or go without it (false). */
  readonly required: boolean;
  /** Directories that a new root must offer as mount points ('/proc'). */
  readonly mountPoints?: readonly string[];
}

/** What a feature tells the features after it, once it is normalized. */
export interface FeatureFacts {
  /** Namespaces it creates or joins. */
  readonly namespaces?: readonly NamespaceKind[];
  readonly requests?: readonly FeatureRequest[];
  /** The capabilities the target keeps ('CAP_*' names). */
  readonly keptCaps?: readonly string[];
  /** no_new_privs is set before the LSM and seccomp stages. */
  readonly noNewPrivs?: boolean;
  /** The target's root is a tree of its own (a rootfs, an overlay), not the host's. */
  readonly ownRoot?: boolean;
}

/**
 * What a feature knows about the others. While normalizing, it holds the facts of the
 * features before it in the list; while planning, those of every feature.
 */
export interface FeatureContext {
  readonly host: HostFacts;
  readonly namespaces: ReadonlySet<NamespaceKind>;
  readonly requests: readonly FeatureRequest[];
  readonly keptCaps: readonly string[];
  readonly noNewPrivs: boolean;
  readonly ownRoot: boolean;
}

/** What a feature's plan hands the sandbox. */
export interface FeaturePlan {
  /** Child steps by stage; parent hooks ride on their sync steps. */
  readonly steps: StagedSteps;
  /** The steps hand fds to Node (sendFdStep): the launch passes the return channel. */
  readonly returnChannel?: boolean;
  /** The steps hold a snapshot of host state (its mount table): plan afresh on every launch. */
  readonly hostDependent?: boolean;
  /**
   * What the feature leaves as the host has it, said in words where no step shows it
   * ('shares the host's network'): explain() prints each under the program's header.
   */
  readonly notes?: readonly string[];
}

/** Every probe has this shape, plus facts of its own. */
export interface FeatureProbe {
  /** The feature works here, for this caller, with its defaults. */
  readonly supported: boolean;
  /** What stands in the way, or what is degraded, each with what to change. */
  readonly reasons: readonly string[];
}

/** What a feature's live part gets for one launch. */
export interface FeatureRun<Option> {
  /** The option as this launch gave it: handlers are functions, which settings do not keep. */
  readonly option: Option | undefined;
  /** Host pid of the runner; undefined when it could not be spawned. */
  readonly pid: number | undefined;
  /** Node's end of the return channel, when the plan asked for one; the session closes it. */
  readonly returnSocket: number | undefined;
  /** Emits an event on the sandbox handle. */
  emit(event: string, payload: unknown): void;
}

/**
 * Why a feature ended the target, in the exit report: the OOM killer ('oomKilled'), forks
 * refused by a pids limit ('pidsLimit'), a seccomp kill action ('seccompKill'),
 * RLIMIT_CPU ('cpuTimeLimit') or RLIMIT_FSIZE ('outputLimit'). One list, so callers can
 * switch over every reason; a feature with a new way to end a target adds it here.
 */
export const FEATURE_END_REASONS = ['oomKilled', 'pidsLimit', 'seccompKill', 'cpuTimeLimit', 'outputLimit'] as const;
export type FeatureEndReason = (typeof FEATURE_END_REASONS)[number];

/** A feature's claim that it ended the target. */
export interface FeatureVerdict {
  readonly reason: FeatureEndReason;
  /** What happened, in words, with the numbers ('1 process OOM-killed; memory.max 64 MiB'). */
  readonly detail: string;
}

/**
 * What the target's processes used, as a feature measured it (a cgroup's counters); a
 * field is undefined where the feature has no counter for it.
 */
export interface FeatureUsage {
  /** Where the numbers come from, in words ('cgroup v1 /iso-1234-1-abcdef'). */
  readonly source: string;
  readonly cpu: { readonly userUsec: number | undefined; readonly systemUsec: number | undefined; readonly totalUsec: number | undefined };
  readonly memory: { readonly peakBytes: number | undefined };
  readonly pids: { readonly peak: number | undefined };
  readonly io: { readonly readBytes: number | undefined; readonly writeBytes: number | undefined; readonly readOps: number | undefined; readonly writeOps: number | undefined };
  /** Fields ('cpu.userUsec') that are estimates, not exact counts. */
  readonly approximate: readonly string[];
}

/** How the target ended, for a feature's part of the result and its verdict. */
export interface FeatureEnding {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The handle sent that very signal (kill(), timeout, abort, maxBuffer). */
  readonly signalFromCaller?: boolean;
  /** What the target used, when a feature measured it (a cgroup); for verdicts that need numbers. */
  readonly usage?: FeatureUsage | undefined;
}

/** The live part of a feature beside one sandbox: a supervisor, a watcher. */
export interface FeatureSession<Result> {
  /** The runner is gone (or never started): stop and release everything. Called once. */
  stop(): void;
  /** The feature's part of the result, under its key. Called once, after the target ended. */
  result(ending: FeatureEnding): Result;
  /** What the target used, for the exit report; asked once, after stop(). */
  usage?(): FeatureUsage | undefined;
  /** Whether this feature ended the target, and how; asked once, after stop(). */
  verdict?(ending: FeatureEnding): FeatureVerdict | undefined;
}

/**
 * One kernel feature, as the sandbox composes it. `Key` is its option key, `Option` what
 * users write there, `Settings` the checked form, `Result` its part of the result.
 * Methods take no other feature's types: what they need of others comes in the context.
 */
export interface Feature<Key extends string = string, Option = unknown, Settings = unknown, Result = undefined> {
  readonly key: Key;
  /** One line: what the feature does. */
  readonly summary: string;
  /**
   * Checks the option (any value: plain JavaScript callers too) and fills in defaults.
   * Throws ISO_INVALID_OPTIONS naming the option path. undefined: the feature is off.
   * No I/O beyond reading facts that the context does not hold.
   */
  normalize(option: Option | undefined, context: FeatureContext): Settings | undefined;
  /** What the features after this one learn from it. */
  facts?(settings: Settings, context: FeatureContext): FeatureFacts;
  /** Pure: settings in, staged steps out. */
  plan(settings: Settings, context: FeatureContext): FeaturePlan;
  /** What this kernel and caller support. Never throws on Linux. */
  probe(): FeatureProbe;
  /**
   * Starts the live part for one launch, right after the runner was spawned. A session
   * that gets `run.returnSocket` owns it; if start throws, it must leave the socket open
   * (the sandbox closes it, kills the runner and rejects `ready` with the error).
   */
  start?(settings: Settings, run: FeatureRun<Option>): FeatureSession<Result>;
  /** Adds what the caller can act on to a failed step of this feature (step names start with the key). */
  refineError?(error: IsoError, settings: Settings): IsoError;
}

/** Any feature, whatever its types (method parameters are bivariant, so every feature fits). */
export type AnyFeature = Feature<string, unknown, unknown, unknown>;
/** The option type of a feature. */
export type OptionOf<F> = F extends Feature<string, infer O, unknown, unknown> ? O : never;
/** The result type of a feature. */
export type ResultOf<F> = F extends Feature<string, unknown, unknown, infer R> ? R : never;

/** Declares a feature with its types inferred from the object, checked against the contract. */
export function defineFeature<Key extends string, Option, Settings, Result = undefined>(
  feature: Feature<Key, Option, Settings, Result>,
): Feature<Key, Option, Settings, Result> {
  return feature;
}

/** A feature that is on, with its settings and plan. */
export interface EnabledFeature {
  readonly feature: AnyFeature;
  readonly settings: unknown;
  readonly plan: FeaturePlan;
}

export interface Composition {
  readonly enabled: readonly EnabledFeature[];
  /** The context with every feature's facts. */
  readonly context: FeatureContext;
  /** Some plan asked for the return channel. */
  readonly returnChannel: boolean;
  /** Some plan holds a snapshot of host state. */
  readonly hostDependent: boolean;
}

const NAMESPACE_NAMES: Readonly<Record<NamespaceKind, string>> = {
  cgroup: 'cgroup',
  ipc: 'IPC',
  mnt: 'mount',
  net: 'network',
  pid: 'PID',
  time: 'time',
  user: 'user',
  uts: 'UTS',
};

function withFacts(context: FeatureContext, facts: FeatureFacts): FeatureContext {
  return {
    host: context.host,
    namespaces: new Set([...context.namespaces, ...(facts.namespaces ?? [])]),
    requests: [...context.requests, ...(facts.requests ?? [])],
    keptCaps: facts.keptCaps ?? context.keptCaps,
    noNewPrivs: facts.noNewPrivs ?? context.noNewPrivs,
    ownRoot: facts.ownRoot ?? context.ownRoot,
  };
}

/**
 * Normalizes every feature in list order, each seeing the facts of those before it, then
 * plans every feature that is on, with the facts of all. Throws ISO_INVALID_OPTIONS
 * before anything is created. The list order is the order of normalizing and, within a
 * stage, of steps: features that create namespaces come before userns, which turns on
 * when any namespace is, and caps comes before seccomp, which reads the kept capabilities.
 */
export function composeFeatures(features: readonly AnyFeature[], options: Readonly<Record<string, unknown>>, host: HostFacts): Composition {
  let context: FeatureContext = { host, namespaces: new Set(), requests: [], keptCaps: [], noNewPrivs: false, ownRoot: false };
  const on: { feature: AnyFeature; settings: unknown }[] = [];
  const keys = new Set<string>();
  for (const feature of features) {
    if (keys.has(feature.key)) throw new Error(`two features have the key ${feature.key}`);
    keys.add(feature.key);
    const settings = feature.normalize(options[feature.key], context);
    if (settings === undefined) continue;
    context = withFacts(context, feature.facts?.(settings, context) ?? {});
    on.push({ feature, settings });
  }
  for (const request of context.requests)
    if (request.required && !context.namespaces.has(request.namespace))
      throw invalidOptions(request.by, `needs a ${NAMESPACE_NAMES[request.namespace]} namespace, which no option here creates`);
  const final = context;
  const enabled = on.map(({ feature, settings }): EnabledFeature => ({ feature, settings, plan: feature.plan(settings, final) }));
  const asking = enabled.filter((e) => e.plan.returnChannel);
  if (asking.length > 1) throw new Error(`${asking.map((e) => e.feature.key).join(' and ')} both ask for the return channel; a launch has one`);
  return { enabled, context: final, returnChannel: asking.length === 1, hostDependent: enabled.some((e) => e.plan.hostDependent) };
}

/** The steps of several plans in the order of setup: stage by stage, plan by plan. */
export function orderSteps(plans: readonly StagedSteps[]): ChildStep[] {
  // A stage this build does not know would be dropped silently: a mismatch of packages.
  for (const plan of plans)
    for (const stage of Object.keys(plan))
      if (!(STAGES as readonly string[]).includes(stage)) throw new Error(`a plan uses the unknown stage ${stage}; @iso/core is older than the feature packages`);
  return STAGES.flatMap((stage) => plans.flatMap((plan) => plan[stage] ?? []));
}
