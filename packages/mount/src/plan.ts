import { CLONE, MS, flags, invalidOptions, nullPointer, str } from '@iso/core';
import type { ChildStep, StagedSteps } from '@iso/core';
import type { MountOption, MountOptions } from './options.js';

/** Checks the `mount` option; returns undefined when the feature is off. */
export function normalizeMountOptions(option: MountOption | undefined): Required<MountOptions> | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return { propagation: 'private' };
  if (typeof option !== 'object' || option === null) throw invalidOptions('mount', 'expected true, false or an object');
  for (const key of Object.keys(option))
    if (key !== 'propagation') throw invalidOptions(`mount.${key}`, 'unknown option');
  const propagation = option.propagation ?? 'private';
  if (propagation !== 'private' && propagation !== 'slave')
    throw invalidOptions('mount.propagation', `expected 'private' or 'slave', got ${JSON.stringify(propagation)}`);
  return { propagation };
}

/** A new mount namespace whose mounts no longer propagate to the host. */
export function mountPlan(options: Required<MountOptions>): StagedSteps {
  const propagation = options.propagation === 'slave' ? MS.MS_SLAVE : MS.MS_PRIVATE;
  const unshare: ChildStep = { op: 'syscall', name: 'mount.unshare', syscall: 'unshare', args: [flags(CLONE.CLONE_NEWNS, CLONE)] };
  const isolate: ChildStep = {
    op: 'syscall',
    name: 'mount.propagation',
    syscall: 'mount',
    args: [nullPointer(), str('/'), nullPointer(), flags(MS.MS_REC | propagation, MS), nullPointer()],
  };
  return { namespaces: [unshare], mounts: [isolate] };
}
