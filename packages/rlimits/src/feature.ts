import { defineFeature } from '@iso/core';
import type { FeatureEnding, FeatureVerdict } from '@iso/core';
import { RLIM_INFINITY } from './consts.js';
import { normalizeRlimitsOptions } from './normalize.js';
import type { RlimitsOption, RlimitsSettings } from './options.js';
import { rlimitsPlan } from './plan.js';
import { probeRlimits } from './probe.js';

/**
 * Whether a limit ended the target. The kernel sends SIGXCPU at RLIMIT_CPU's soft limit and
 * SIGKILL at its hard one, and SIGXFSZ for a write past RLIMIT_FSIZE. A SIGKILL names the
 * CPU limit only when the measured CPU time (a cgroup's) reached the hard limit: anything
 * may send SIGKILL.
 */
export function rlimitsVerdict(settings: RlimitsSettings, ending: FeatureEnding): FeatureVerdict | undefined {
  if (ending.signalFromCaller === true) return undefined;
  const cpu = settings.limits.find((l) => l.name === 'cpu');
  const fsize = settings.limits.find((l) => l.name === 'fsize');
  if (ending.signal === 'SIGXCPU' && cpu !== undefined && cpu.soft !== RLIM_INFINITY) return { reason: 'cpuTimeLimit', detail: `RLIMIT_CPU: the soft limit of ${cpu.soft} s of CPU time was reached (SIGXCPU)` };
  const used = ending.usage?.cpu.totalUsec;
  if (ending.signal === 'SIGKILL' && cpu !== undefined && cpu.hard !== RLIM_INFINITY && used !== undefined && used >= Number(cpu.hard) * 1e6)
    return { reason: 'cpuTimeLimit', detail: `RLIMIT_CPU: the hard limit of ${cpu.hard} s of CPU time was reached (SIGKILL; ${(used / 1e6).toFixed(2)} s used)` };
  if (ending.signal === 'SIGXFSZ' && fsize !== undefined && fsize.soft !== RLIM_INFINITY) return { reason: 'outputLimit', detail: `RLIMIT_FSIZE: a write went past ${fsize.soft} bytes (SIGXFSZ)` };
  return undefined;
}

/** The `rlimits` feature of @iso/sandbox: resource limits (RLIMIT_*) for the target, set with prlimit64 before exec. */
export const rlimitsFeature = defineFeature<'rlimits', RlimitsOption, RlimitsSettings>({
  key: 'rlimits',
  summary: 'resource limits (RLIMIT_*) for the target, set with prlimit64 before exec',
  normalize: (option) => normalizeRlimitsOptions(option),
  plan: (settings) => ({ steps: rlimitsPlan(settings) }),
  probe: probeRlimits,
  // No live part: the session only tells the exit report whether a limit ended the target.
  start: (settings) => ({ stop: () => undefined, result: () => undefined, verdict: (ending) => rlimitsVerdict(settings, ending) }),
});
