import type { FeatureProbe } from '@iso/core';
import type { RlimitName } from './options.js';
import { readRlimits } from './sys.js';

export interface RlimitsProbe extends FeatureProbe {
  /** This process's own limits: no sandbox can have a hard limit above them. */
  readonly own: Readonly<Record<RlimitName, { soft: bigint; hard: bigint }>>;
}

/** Resource limits work on every Linux; the probe reports the caller's own. Never throws on Linux. */
export function probeRlimits(): RlimitsProbe {
  return { supported: true, reasons: [], own: readRlimits() };
}
