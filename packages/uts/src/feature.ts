import { defineFeature } from '@iso/core';
import { normalizeUtsOptions } from './normalize.js';
import type { UtsOption, UtsSettings } from './options.js';
import { utsPlan } from './plan.js';
import { probeUts } from './probe.js';

/** The `uts` feature of @iso/sandbox: a UTS namespace, optionally with its own names. */
export const utsFeature = defineFeature<'uts', UtsOption, UtsSettings>({
  key: 'uts',
  summary: 'a UTS namespace: its own hostname and NIS domain name',
  normalize: (option) => normalizeUtsOptions(option),
  facts: () => ({ namespaces: ['uts'] }),
  plan: (settings) => ({ steps: utsPlan(settings) }),
  probe: probeUts,
});
