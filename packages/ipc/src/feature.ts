import { defineFeature } from '@iso/core';
import { normalizeIpcOptions } from './normalize.js';
import type { IpcOption, IpcSettings } from './options.js';
import { ipcPlan } from './plan.js';
import { probeIpc } from './probe.js';

/** The `ipc` feature of @iso/sandbox: an IPC namespace, with a fresh mqueue when it can have one. */
export const ipcFeature = defineFeature<'ipc', IpcOption, IpcSettings>({
  key: 'ipc',
  summary: 'an IPC namespace: its own SysV objects and POSIX message queues',
  normalize: (option) => normalizeIpcOptions(option),
  facts: (settings) => ({
    namespaces: ['ipc'],
    // A fresh mqueue needs a mount namespace; only an explicit mount: false goes without it.
    requests: settings.mqueue ? [{ namespace: 'mnt', by: 'ipc.mqueue', required: false }] : [],
  }),
  plan: (settings, context) => ({ steps: ipcPlan(settings, context.namespaces.has('mnt')) }),
  probe: probeIpc,
});
