import { release } from 'node:os';
import { FixedFd, bytes, flags, imm, invalidOptions, sendFdStep, sockFprogStruct, syscallNumber } from '@iso/core';
import type { Arch, ChildStep, StagedSteps } from '@iso/core';
import { SECCOMP_RET } from './actions.js';
import { compilePolicy } from './compile.js';
import { runFilter } from './interpret.js';
import { abisOfArch, auditArchOf } from './policy.js';
import type { CompiledFilter } from './compile.js';
import { dockerPolicy, parseDockerProfile } from './docker.js';
import type { DockerProfile } from './docker.js';
import type { SeccompOption, SeccompPolicy } from './options.js';
import { normalizePolicy } from './policy.js';
import { defaultProfile } from './profile.js';

/** seccomp(2) operations. */
export const SECCOMP_SET_MODE = { SECCOMP_SET_MODE_STRICT: 0, SECCOMP_SET_MODE_FILTER: 1 } as const;

/** Flags of SECCOMP_SET_MODE_FILTER (include/uapi/linux/seccomp.h). */
export const SECCOMP_FILTER_FLAG = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_NEW_LISTENER: 8,
  SECCOMP_FILTER_FLAG_TSYNC_ESRCH: 16,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
} as const;

/** Where the filter comes from, checked. */
export type SeccompSource =
  | { kind: 'default'; notify?: readonly string[] }
  | { kind: 'policy'; policy: SeccompPolicy }
  | { kind: 'docker'; profile: DockerProfile; kernelRelease: string };

/** The `seccomp` option after checking: what normalizeSeccompOptions() returns. */
export interface SeccompSettings {
  source: SeccompSource;
  log: boolean;
  specAllow: boolean;
  /**
   * Some rule sends calls to user space: load with SECCOMP_FILTER_FLAG_NEW_LISTENER and
   * hand the listener to Node. The handler itself stays in the options.
   */
  notify: boolean;
  /** Where the first notify rule is, for errors. */
  notifyPath?: string;
}

/**
 * Checks the `seccomp` option before anything is created: the typed policy or Docker
 * profile is validated here, so a typo fails fast. Returns undefined for no filter.
 */
export function normalizeSeccompOptions(option: SeccompOption | undefined): SeccompSettings | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return { source: { kind: 'default' }, log: false, specAllow: false, notify: false };
  if (typeof option !== 'object' || option === null || Array.isArray(option)) throw invalidOptions('seccomp', 'expected true, false or an object');
  const { onNotify, ...withoutHandler } = option as Record<string, unknown>;
  if (onNotify !== undefined && typeof onNotify !== 'function') throw invalidOptions('seccomp.onNotify', 'expected a function');
  const settings = sourceSettings(withoutHandler);
  if (settings.notify && onNotify === undefined)
    throw invalidOptions('seccomp.onNotify', `${settings.notifyPath ?? 'a rule'} sends calls to user space (notify), so a handler must decide them`);
  if (!settings.notify && onNotify !== undefined) throw invalidOptions('seccomp.onNotify', "no rule has action 'notify', so it would never be called");
  return settings;
}

function sourceSettings(option: Record<string, unknown>): SeccompSettings {
  const settings: SeccompSettings = { source: { kind: 'default' }, log: false, specAllow: false, notify: false };
  const { log, specAllow, ...rest } = option;
  for (const [key, value] of [
    ['log', log],
    ['specAllow', specAllow],
  ] as const) {
    if (value === undefined) continue;
    if (typeof value !== 'boolean') throw invalidOptions(`seccomp.${key}`, 'expected a boolean');
    settings[key] = value;
  }
  if ('docker' in rest) {
    for (const key of Object.keys(rest)) if (key !== 'docker') throw invalidOptions(`seccomp.${key}`, 'not allowed beside docker');
    const profile = parseDockerProfile(rest.docker, 'seccomp.docker');
    const notifying = profile.syscalls.find((rule) => rule.action === 'SCMP_ACT_NOTIFY');
    if (notifying) {
      settings.notify = true;
      settings.notifyPath = notifying.path;
    }
    settings.log ||= profile.flags.log === true;
    settings.specAllow ||= profile.flags.specAllow === true;
    settings.source = { kind: 'docker', profile, kernelRelease: release() };
    return settings;
  }
  if ('profile' in rest) {
    for (const key of Object.keys(rest)) if (key !== 'profile' && key !== 'notify') throw invalidOptions(`seccomp.${key}`, 'not allowed beside profile');
    if (rest.profile !== 'default') throw invalidOptions('seccomp.profile', "expected 'default'");
    if (rest.notify !== undefined) {
      const names = notifyNames(rest.notify);
      if (names.length > 0) {
        settings.source = { kind: 'default', notify: names };
        settings.notify = true;
        settings.notifyPath = 'seccomp.notify';
      }
    }
    return settings;
  }
  // A copy: the caller's object may change after it was checked.
  const policy = structuredClone(rest) as SeccompPolicy;
  const notifying = normalizePolicy(policy, 'seccomp').rules.find((rule) => rule.action === SECCOMP_RET.USER_NOTIF);
  if (notifying) {
    settings.notify = true;
    settings.notifyPath = notifying.path;
  }
  settings.source = { kind: 'policy', policy };
  return settings;
}

/** The `notify` list beside the default profile: known syscall names, no repeats. */
function notifyNames(value: unknown): string[] {
  if (!Array.isArray(value)) throw invalidOptions('seccomp.notify', 'expected an array of syscall names');
  const names = new Set<string>();
  value.forEach((name: unknown, i) => {
    if (typeof name !== 'string' || !ARCHES.some((arch) => syscallNumber(arch, name) !== undefined))
      throw invalidOptions(`seccomp.notify[${i}]`, `expected a syscall name, got ${JSON.stringify(name) ?? typeof name}`);
    names.add(name);
  });
  return [...names];
}

const ARCHES = ['x86_64', 'aarch64'] as const;

/** The filter flags of the settings. */
export function filterFlags(settings: Pick<SeccompSettings, 'log' | 'specAllow'>): number {
  return (settings.log ? SECCOMP_FILTER_FLAG.SECCOMP_FILTER_FLAG_LOG : 0) | (settings.specAllow ? SECCOMP_FILTER_FLAG.SECCOMP_FILTER_FLAG_SPEC_ALLOW : 0);
}

/** The typed policy the settings stand for, given the capabilities the target keeps. */
export function settingsPolicy(settings: SeccompSettings, keptCaps: readonly string[]): SeccompPolicy {
  switch (settings.source.kind) {
    case 'default':
      return defaultProfile({ keptCaps, notify: settings.source.notify ?? [] });
    case 'docker':
      return dockerPolicy(settings.source.profile, { keptCaps, kernelRelease: settings.source.kernelRelease });
    case 'policy':
      return settings.source.policy;
  }
}

/**
 * The child step that loads a filter: seccomp(SECCOMP_SET_MODE_FILTER, flags, &fprog),
 * where struct sock_fprog is { u16 len; (pad); struct sock_filter *filter } (core's
 * sockFprogStruct). It needs no_new_privs (the noNewPrivs stage) or CAP_SYS_ADMIN.
 */
export function seccompLoadStep(filter: CompiledFilter, filterFlagBits = 0, saveAs?: string): ChildStep {
  const length = filter.instructions.length;
  const program = bytes(filter.bytes, `<${length} BPF instructions for ${filter.arch}>`);
  return {
    op: 'syscall',
    name: 'seccomp.load',
    syscall: 'seccomp',
    args: [
      imm(SECCOMP_SET_MODE.SECCOMP_SET_MODE_FILTER, { as: 'enum', table: SECCOMP_SET_MODE }),
      flags(filterFlagBits, SECCOMP_FILTER_FLAG),
      sockFprogStruct.asBlock({ len: length }, { filter: program }, `{len=${length}, filter=<${filter.bytes.length} bytes>}`),
    ],
    ...(saveAs === undefined ? {} : { saveAs }),
  };
}

const MSG_NOSIGNAL = 0x4000;

/**
 * The runner hands the listener over with sendmsg() after the filter is loaded, so the
 * filter itself must let that call through: notified, it would wait for a supervisor that
 * has no listener yet.
 */
function checkListenerHandOver(filter: CompiledFilter, path: string): void {
  const abi = abisOfArch(filter.arch)[0] ?? 'x86_64';
  const nr = syscallNumber(filter.arch, 'sendmsg') ?? -1;
  const run = runFilter(filter, { nr, arch: auditArchOf(abi), args: [FixedFd.returnChannel, 0, MSG_NOSIGNAL] });
  if (run.action === 'notify')
    throw invalidOptions(path, 'sendmsg must not be notified: iso hands the listener to Node with sendmsg after loading the filter, and would wait for itself');
  if (run.action !== 'allow' && run.action !== 'log')
    throw invalidOptions(path, `sendmsg gets ${run.action}: iso hands the listener to Node with sendmsg after loading the filter, so a policy with notify rules must allow it`);
}

/**
 * The seccomp stage of a sandbox: the filter compiled for `arch` and loaded last before
 * exec. `keptCaps` (names like 'CAP_SYS_ADMIN') unlock the default profile's calls and
 * decide a Docker profile's includes/excludes.
 */
export function seccompPlan(settings: SeccompSettings, arch: Arch, keptCaps: readonly string[]): StagedSteps {
  const path = settings.source.kind === 'docker' ? 'seccomp.docker' : 'seccomp';
  const filter = compilePolicy(settingsPolicy(settings, keptCaps), arch, path);
  if (!settings.notify) return { seccomp: [seccompLoadStep(filter, filterFlags(settings))] };
  checkListenerHandOver(filter, path);
  const listener = 'seccomp.listener';
  const flagBits = filterFlags(settings) | SECCOMP_FILTER_FLAG.SECCOMP_FILTER_FLAG_NEW_LISTENER;
  return {
    seccomp: [
      seccompLoadStep(filter, flagBits, listener),
      // The listener is close-on-exec, so the target never holds it.
      sendFdStep('seccomp.sendListener', listener),
    ],
  };
}
