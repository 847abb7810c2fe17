import { bytes, imm, nullPointer } from '@iso/core';
import type { ChildStep, StagedSteps } from '@iso/core';
import { RLIMIT_TABLE, RLIM_INFINITY } from './consts.js';
import type { RlimitsSettings } from './options.js';

const shown = (n: bigint) => (n === RLIM_INFINITY ? 'RLIM_INFINITY' : String(n));

/**
 * One prlimit64(0, RLIMIT_*, &{ soft, hard }, NULL) per limit, in stage 'session': after
 * the PID namespace's forks, in the process that becomes the target, so the limits bind
 * it and all it starts but not iso's init. Pure: settings in, steps out.
 */
export function rlimitsPlan(settings: RlimitsSettings): StagedSteps {
  const steps: ChildStep[] = settings.limits.map(({ name, resource, soft, hard }) => {
    const value = Buffer.alloc(16);
    value.writeBigUInt64LE(soft, 0);
    value.writeBigUInt64LE(hard, 8);
    return {
      op: 'syscall',
      name: `rlimits.${name}`,
      syscall: 'prlimit64',
      args: [imm(0), imm(resource, { as: 'enum', table: RLIMIT_TABLE }), bytes(value, `{ soft: ${shown(soft)}, hard: ${shown(hard)} }`), nullPointer()],
    };
  });
  return steps.length === 0 ? {} : { session: steps };
}
