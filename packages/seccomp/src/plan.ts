// The seccomp stage of a child program, from checked settings: the filter compiled for
// the target's machine and kept capabilities, loaded last before exec. Pure.
import { FixedFd, bytes, flags, imm, invalidOptions, sendFdStep, sockFprogStruct, syscallNumber } from '@iso/core';
import type { Arch, ChildStep, StagedSteps } from '@iso/core';
import { compilePolicy } from './compile.js';
import type { CompiledFilter } from './compile.js';
import { SECCOMP_FILTER_FLAG, SECCOMP_SET_MODE, filterFlags } from './consts.js';
import { dockerPolicy } from './docker.js';
import { runFilter } from './interpret.js';
import type { SeccompPolicy, SeccompSettings } from './options.js';
import { abisOfArch, auditArchOf } from './policy.js';
import { defaultProfile } from './profile.js';

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

/** Stages already planned, per frozen settings object, then per machine and kept capabilities. */
const planned = new WeakMap<SeccompSettings, Map<string, StagedSteps>>();
const PLANS_PER_SETTINGS = 16;

/**
 * The seccomp stage of a sandbox: the filter compiled for `arch` and loaded last before
 * exec. `keptCaps` (names like 'CAP_SYS_ADMIN') unlock the default profile's calls and
 * decide a Docker profile's includes/excludes. Frozen settings (all that
 * normalizeSeccompOptions returns) are compiled once per machine and capability set.
 */
export function seccompPlan(settings: SeccompSettings, arch: Arch, keptCaps: readonly string[]): StagedSteps {
  // Settings built by hand may still change, so only frozen ones are remembered.
  if (!Object.isFrozen(settings)) return compileStage(settings, arch, keptCaps);
  const key = `${arch} ${[...keptCaps].sort().join(',')}`;
  let byTarget = planned.get(settings);
  if (!byTarget) {
    byTarget = new Map();
    planned.set(settings, byTarget);
  }
  const known = byTarget.get(key);
  if (known) return known;
  const staged = compileStage(settings, arch, keptCaps);
  if (byTarget.size >= PLANS_PER_SETTINGS) byTarget.delete(byTarget.keys().next().value ?? '');
  byTarget.set(key, staged);
  return staged;
}

function compileStage(settings: SeccompSettings, arch: Arch, keptCaps: readonly string[]): StagedSteps {
  const path = settings.source.kind === 'docker' ? 'seccomp.docker' : 'seccomp';
  const filter = compilePolicy(settingsPolicy(settings, keptCaps), arch, path);
  if (!settings.notify) return Object.freeze({ seccomp: Object.freeze([seccompLoadStep(filter, filterFlags(settings))]) });
  checkListenerHandOver(filter, path);
  const listener = 'seccomp.listener';
  const flagBits = filterFlags(settings) | SECCOMP_FILTER_FLAG.SECCOMP_FILTER_FLAG_NEW_LISTENER;
  return Object.freeze({
    seccomp: Object.freeze([
      seccompLoadStep(filter, flagBits, listener),
      // The listener is close-on-exec, so the target never holds it.
      sendFdStep('seccomp.sendListener', listener),
    ]),
  });
}
