import { defineFeature } from '@iso/core';
import { normalizeRlimitsOptions } from './normalize.js';
import type { RlimitsOption, RlimitsSettings } from './options.js';
import { rlimitsPlan } from './plan.js';
import { probeRlimits } from './probe.js';

/** The `rlimits` feature of @iso/sandbox: resource limits (RLIMIT_*) for the target, set with prlimit64 before exec. */
export const rlimitsFeature = defineFeature<'rlimits', RlimitsOption, RlimitsSettings>({
  key: 'rlimits',
  summary: 'resource limits (RLIMIT_*) for the target, set with prlimit64 before exec',
  normalize: (option) => normalizeRlimitsOptions(option),
  plan: (settings) => ({ steps: rlimitsPlan(settings) }),
  probe: probeRlimits,
});
