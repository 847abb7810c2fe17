import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { kernelAtLeast, kernelVersion, readStatusField } from '@iso/core';
import type { FeatureProbe } from '@iso/core';
import type { SeccompActionName } from './actions.js';

/** Kernel spellings in /proc/sys/kernel/seccomp/actions_avail (Linux 4.14+). */
const ACTION_NAMES: Readonly<Record<string, SeccompActionName>> = {
  kill_process: 'kill-process',
  kill_thread: 'kill-thread',
  trap: 'trap',
  errno: 'errno',
  user_notif: 'notify',
  trace: 'trace',
  log: 'log',
  allow: 'allow',
};

const ACTIONS_AVAIL = '/proc/sys/kernel/seccomp/actions_avail';

export interface SeccompProbe extends FeatureProbe {
  /** Actions the kernel offers; empty when it does not say (before Linux 4.14). */
  readonly actions: readonly SeccompActionName[];
  /** The calling process's mode: 0 none, 1 strict, 2 filter. */
  readonly mode: number | undefined;
  /** Filters already stacked on the calling process (Linux 5.9+). */
  readonly filterCount: number | undefined;
  /** no_new_privs of the calling thread's process, as /proc/self/status reports it. */
  readonly noNewPrivs: boolean | undefined;
}

function statusField(name: string): string | undefined {
  try {
    return readStatusField('self', name, 'seccomp.probe');
  } catch {
    return undefined;
  }
}

function availableActions(): SeccompActionName[] | undefined {
  try {
    return readFileSync(ACTIONS_AVAIL, 'utf8')
      .trim()
      .split(/\s+/)
      .flatMap((name) => (ACTION_NAMES[name] ? [ACTION_NAMES[name]] : []));
  } catch {
    return undefined;
  }
}

/**
 * What this kernel supports of seccomp, and the state of the calling process. `supported`
 * means the default profile can be loaded here; `reasons` also name missing actions that
 * some options need (notify). Never throws on Linux.
 */
export function probeSeccomp(): SeccompProbe {
  const mode = statusField('Seccomp');
  const count = statusField('Seccomp_filters');
  const nnp = statusField('NoNewPrivs');
  const facts = {
    mode: mode === undefined ? undefined : Number(mode),
    filterCount: count === undefined ? undefined : Number(count),
    noNewPrivs: nnp === undefined ? undefined : nnp === '1',
  };
  if (mode === undefined) return { supported: false, reasons: ['no Seccomp line in /proc/self/status: the kernel lacks CONFIG_SECCOMP'], actions: [], ...facts };
  const actions = availableActions();
  if (actions === undefined) {
    // The file came with Linux 4.14; on a newer kernel its absence means no filters at all.
    const kernel = kernelVersion(release()) ?? [0, 0];
    if (kernelAtLeast(kernel, [4, 14]))
      return { supported: false, reasons: [`${ACTIONS_AVAIL} is missing: the kernel lacks CONFIG_SECCOMP_FILTER`], actions: [], ...facts };
    return { supported: true, reasons: [`${ACTIONS_AVAIL} is missing (Linux before 4.14): which actions work is unknown`], actions: [], ...facts };
  }
  const reasons: string[] = [];
  if (!actions.includes('errno') || !actions.includes('allow')) return { supported: false, reasons: [`${ACTIONS_AVAIL} lacks errno or allow`], actions, ...facts };
  if (!actions.includes('notify')) reasons.push('no user notification (notify rules, onNotify) before Linux 5.0');
  return { supported: true, reasons, actions, ...facts };
}
