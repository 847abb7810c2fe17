import { defineFeature } from '@iso/core';
import { normalizePidOptions } from './normalize.js';
import type { PidOption, PidSettings } from './options.js';
import { pidPlan } from './plan.js';
import { probePid } from './probe.js';

/** The `pid` feature of @iso/sandbox: a PID namespace, iso's init and a fresh /proc. */
export const pidFeature = defineFeature<'pid', PidOption, PidSettings>({
  key: 'pid',
  summary: 'a PID namespace with its own /proc; the target is PID 2 under a tiny init',
  normalize: (option) => normalizePidOptions(option),
  facts: (settings) => ({
    namespaces: ['pid'],
    // /proc of a new PID namespace is mounted from inside it, in a mount namespace.
    requests: settings.mountProc ? [{ namespace: 'mnt', by: 'pid.mountProc', required: true, mountPoints: ['/proc'] }] : [],
  }),
  plan: (settings) => ({ steps: pidPlan(settings) }),
  probe: probePid,
});
