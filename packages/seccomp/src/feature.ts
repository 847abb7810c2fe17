import { closeSync } from 'node:fs';
import { defineFeature, invalidOptions } from '@iso/core';
import type { FeatureSession } from '@iso/core';
import { refineSeccompError } from './errors.js';
import { normalizeSeccompOptions } from './normalize.js';
import { superviseNotifications } from './notify.js';
import type { NotifySupervisor } from './notify.js';
import type { SeccompNotifyEvent, SeccompNotifyHandler, SeccompOption, SeccompResult, SeccompSettings } from './options.js';
import { seccompPlan } from './plan.js';
import { probeSeccomp } from './probe.js';

/** The result keeps this many violations; the events carry them all. */
const KEPT_VIOLATIONS = 100;

/** The option's handler; normalize made sure there is one when the settings notify. */
function handlerOf(option: SeccompOption | undefined): SeccompNotifyHandler | undefined {
  if (typeof option !== 'object' || option === null) return undefined;
  const { onNotify } = option as { onNotify?: unknown };
  return typeof onNotify === 'function' ? (onNotify as SeccompNotifyHandler) : undefined;
}

/**
 * The `seccomp` feature of @iso/sandbox: a syscall filter loaded last before exec, iso's
 * default profile unless told otherwise, with an optional JavaScript handler for the calls
 * a policy sends to user space.
 */
export const seccompFeature = defineFeature<'seccomp', SeccompOption, SeccompSettings, SeccompResult>({
  key: 'seccomp',
  summary: 'a seccomp-BPF syscall filter, loaded last before exec; notified calls are decided in JavaScript',
  normalize: (option, context) => {
    const settings = normalizeSeccompOptions(option, context.host.kernelRelease);
    // The kernel takes a filter only with no_new_privs or CAP_SYS_ADMIN: say so now, not at exec.
    if (settings && !context.noNewPrivs && !context.keptCaps.includes('CAP_SYS_ADMIN'))
      throw invalidOptions('seccomp', 'loading a filter needs no_new_privs (caps.noNewPrivs: true) or CAP_SYS_ADMIN kept');
    return settings;
  },
  plan: (settings, context) => ({ steps: seccompPlan(settings, context.host.arch, context.keptCaps), returnChannel: settings.notify }),
  probe: probeSeccomp,
  start: (settings, run): FeatureSession<SeccompResult> => {
    let notifications = 0;
    const violations: SeccompNotifyEvent[] = [];
    let supervisor: NotifySupervisor | undefined;
    // The plan asks for the return channel only when notifying; a socket handed over
    // anyway is still ours to close, though nothing will come on it.
    if (run.returnSocket !== undefined && !settings.notify) closeSync(run.returnSocket);
    if (run.returnSocket !== undefined && settings.notify) {
      // Denying is the safe answer should the handler have gone missing since normalize.
      const handler = handlerOf(run.option) ?? (() => 'deny' as const);
      // If this throws, the socket stays open for the sandbox to close, as the contract says.
      supervisor = superviseNotifications(run.returnSocket, handler, (event) => {
        notifications++;
        if (event.violation && violations.length < KEPT_VIOLATIONS) violations.push(event);
        run.emit('seccomp', event);
        if (event.violation) run.emit('violation', event);
      });
    }
    return {
      // A stray descendant still waiting on the handler then gets ENOSYS, instead of
      // holding stdio (and the sandbox's 'close') open.
      stop: () => {
        supervisor?.close();
      },
      result: ({ signal }) => ({ killed: signal === 'SIGSYS', notifications, violations: [...violations] }),
      // SIGSYS is what a kill action of the filter delivers (SECCOMP_RET_KILL_PROCESS/THREAD).
      verdict: ({ signal, signalFromCaller }) =>
        signal === 'SIGSYS' && signalFromCaller !== true ? { reason: 'seccompKill', detail: 'a syscall hit a kill action of the seccomp filter (SIGSYS)' } : undefined,
    };
  },
  refineError: (error, settings) => refineSeccompError(error, settings),
});
