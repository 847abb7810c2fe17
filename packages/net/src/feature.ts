import { defineFeature, withHint } from '@iso/core';
import { normalizeNetOptions } from './normalize.js';
import type { NetOption, NetSettings } from './options.js';
import { netPlan } from './plan.js';
import { probeNet } from './probe.js';

/**
 * The `net` feature of @iso/sandbox: `'none'` (what `true` means) is a network namespace of
 * its own with only `lo`, up; `'host'` shares the host's network and must be asked for.
 * Off unless the `net` key is given.
 */
export const netFeature = defineFeature<'net', NetOption, NetSettings>({
  key: 'net',
  summary: "a network namespace with only loopback ('none'), or the host's network shared ('host', on request only)",
  normalize: (option) => normalizeNetOptions(option),
  facts: (settings) => (settings.mode === 'none' ? { namespaces: ['net'] } : {}),
  plan: (settings) => ({
    steps: netPlan(settings),
    ...(settings.mode === 'host' ? { notes: ["shares the host's network namespace: its interfaces, loopback servers and abstract unix sockets"] } : {}),
  }),
  probe: probeNet,
  refineError: (error) => {
    if (error.step === 'net.unshare' && error.code === 'EINVAL')
      return withHint(error, 'ISO_UNSUPPORTED_KERNEL', 'this kernel has no network namespaces (CONFIG_NET_NS)');
    if (error.step === 'net.unshare' && error.code === 'EPERM')
      return withHint(error, 'ISO_NEEDS_PRIVILEGE', 'a network namespace needs CAP_SYS_ADMIN: keep the user namespace on (userns: true), or run as root');
    if (error.step === 'net.loopback.up' && error.code === 'EPERM')
      return withHint(error, 'ISO_NEEDS_PRIVILEGE', "bringing lo up needs CAP_NET_ADMIN over the new namespace's owner");
    return error;
  },
});
