import { existsSync, readFileSync } from 'node:fs';
import { readStatusField } from '@iso/core';
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

export interface SeccompProbe {
  /** The kernel has seccomp filters (CONFIG_SECCOMP_FILTER). */
  filters: boolean;
  /** Actions the kernel offers. */
  actions: SeccompActionName[];
  /** The calling process's mode: 0 none, 1 strict, 2 filter. */
  mode: number | undefined;
  /** Filters already stacked on the calling process (Linux 5.9+). */
  filterCount: number | undefined;
  /** no_new_privs of the calling thread's process, as /proc/self/status reports it. */
  noNewPrivs: boolean | undefined;
  /** Why something is missing, when it is. */
  reason?: string;
}

/** What this kernel supports of seccomp, and the state of the calling process. */
export function probeSeccomp(): SeccompProbe {
  const field = (name: string) => {
    try {
      return readStatusField('self', name, 'seccomp.probe');
    } catch {
      return undefined;
    }
  };
  const mode = field('Seccomp');
  const count = field('Seccomp_filters');
  const nnp = field('NoNewPrivs');
  const path = '/proc/sys/kernel/seccomp/actions_avail';
  const out: SeccompProbe = {
    filters: mode !== undefined,
    actions: [],
    mode: mode === undefined ? undefined : Number(mode),
    filterCount: count === undefined ? undefined : Number(count),
    noNewPrivs: nnp === undefined ? undefined : nnp === '1',
  };
  if (!out.filters) out.reason = 'no Seccomp line in /proc/self/status: the kernel lacks CONFIG_SECCOMP';
  else if (!existsSync(path)) out.reason = `${path} is missing (Linux before 4.14): actions unknown`;
  else
    out.actions = readFileSync(path, 'utf8')
      .trim()
      .split(/\s+/)
      .flatMap((name) => (ACTION_NAMES[name] ? [ACTION_NAMES[name]] : []));
  return out;
}
