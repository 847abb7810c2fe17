import { CLONE, flags } from '@iso/core';
import type { ParentHook, StagedSteps } from '@iso/core';
import type { CgroupSettings } from './options.js';

/**
 * The child steps, by stage. Pure: settings in, steps out.
 *
 * - prepare: `cgroup.attach`, a sync point. The runner waits while Node writes its pid
 *   to the new cgroup's cgroup.procs (`attach`, the parent hook), so every later step,
 *   fork and the target run inside it and are charged to it. The runner needs no new op.
 * - namespaces: `cgroup.unshare`, unshare(CLONE_NEWCGROUP) after the attach, so the new
 *   namespace's root is the sandbox's cgroup and the target sees it as `/`.
 */
export function cgroupPlan(settings: CgroupSettings, attach: ParentHook): StagedSteps {
  const plan: StagedSteps = { prepare: [{ op: 'sync', name: 'cgroup.attach', hook: attach }] };
  if (settings.namespace) plan.namespaces = [{ op: 'syscall', name: 'cgroup.unshare', syscall: 'unshare', args: [flags(CLONE.CLONE_NEWCGROUP, CLONE)] }];
  return plan;
}
