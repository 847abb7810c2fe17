import { defineFeature, withHint } from '@iso/core';
import { normalizeTimeOptions } from './normalize.js';
import type { TimeOption, TimeSettings } from './options.js';
import { timePlan } from './plan.js';
import { probeTime } from './probe.js';

/**
 * The `time` feature of @iso/sandbox: a time namespace with its own monotonic and boot-time
 * clocks. Reads one fact of the others: whether a PID namespace forks, so it need not.
 */
export const timeFeature = defineFeature<'time', TimeOption, TimeSettings>({
  key: 'time',
  summary: "a time namespace: the sandbox's own monotonic and boot-time clocks, with offsets",
  normalize: (option, context) => normalizeTimeOptions(option, context.host),
  facts: () => ({ namespaces: ['time'] }),
  plan: (settings, context) => ({ steps: timePlan(settings, context.namespaces.has('pid')) }),
  probe: probeTime,
  refineError: (error) => {
    if (error.step === 'time.unshare' && error.code === 'EINVAL')
      return withHint(error, 'ISO_UNSUPPORTED_KERNEL', 'this kernel has no time namespaces (Linux 5.6+, CONFIG_TIME_NS)');
    if (error.step === 'time.offsets.write' && error.code === 'ERANGE')
      return withHint(error, 'ISO_SETUP_FAILED', "an offset takes a clock below 0 or past the kernel's limit");
    return error;
  },
});
