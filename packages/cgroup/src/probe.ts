import type { FeatureProbe } from '@iso/core';
import { readControl } from './cgroupfs.js';
import type { CgroupLayout, CgroupMode } from './layout.js';
import { cgroupDir, detectLayout, ownCgroups } from './layout.js';
import { V1_CONTROLLERS, writable } from './v1.js';
import { V2_CONTROLLERS } from './v2.js';

/** Whether one controller is usable for a new cgroup below the caller's own, and why not. */
export interface ControllerState {
  readonly usable: boolean;
  /** Why not: not mounted, not delegated, not enabled in the parent's subtree_control, no write permission. */
  readonly reason: string | undefined;
}

export interface CgroupProbe extends FeatureProbe {
  readonly mode: CgroupMode | undefined;
  /** The driver's version: 2 on a unified machine, 1 otherwise. */
  readonly version: 1 | 2 | undefined;
  /** The caller's own cgroup per controller (v1) or under 'unified'. */
  readonly own: Readonly<Record<string, string>>;
  readonly controllers: Readonly<Record<string, ControllerState>>;
}

const words = (text: string | undefined) => (text ?? '').trim().split(/\s+/).filter(Boolean);

/** The state of each controller for a cgroup below the caller's own. */
export function controllerStates(layout: CgroupLayout): Record<string, ControllerState> {
  const states: Record<string, ControllerState> = {};
  const uid = process.getuid?.() ?? 0;
  if (layout.mode === 'unified') {
    const hierarchy = layout.hierarchies[0];
    if (hierarchy === undefined) return states;
    const dir = cgroupDir(hierarchy, hierarchy.own);
    const offered = words(readControl(dir, 'cgroup.controllers'));
    const enabled = words(readControl(dir, 'cgroup.subtree_control'));
    const canWrite = writable(dir);
    const isRoot = hierarchy.own === '/';
    const hasProcesses = words(readControl(dir, 'cgroup.procs')).length > 0;
    for (const controller of V2_CONTROLLERS) {
      let reason: string | undefined;
      if (!hierarchy.controllers.includes(controller)) reason = 'not available: the root cgroup does not list it (not built in, or bound to a v1 hierarchy)';
      else if (!offered.includes(controller)) reason = `not delegated: ${hierarchy.own}'s parent does not enable it in its cgroup.subtree_control`;
      else if (!canWrite) reason = `no write permission on ${dir} for uid ${uid}`;
      else if (!enabled.includes(controller) && !isRoot && hasProcesses)
        reason = `not enabled in ${dir}/cgroup.subtree_control, and it holds processes (the no-internal-processes rule): use callerLeaf or a delegated parent`;
      states[controller] = { usable: reason === undefined, reason };
    }
    return states;
  }
  for (const controller of V1_CONTROLLERS) {
    const hierarchy = layout.hierarchies.find((h) => h.controllers.includes(controller));
    let reason: string | undefined;
    if (hierarchy === undefined) reason = 'not mounted (no v1 hierarchy has it)';
    else if (!writable(cgroupDir(hierarchy, hierarchy.own))) reason = `no write permission on ${cgroupDir(hierarchy, hierarchy.own)} for uid ${uid} (not delegated)`;
    states[controller] = { usable: reason === undefined, reason };
  }
  return states;
}

/** What this kernel and caller support for cgroups, and why not. Never throws on Linux. */
export function probeCgroup(): CgroupProbe {
  let layout: CgroupLayout;
  try {
    layout = detectLayout();
  } catch (error) {
    return { supported: false, reasons: [(error as Error).message], mode: undefined, version: undefined, own: {}, controllers: {} };
  }
  let controllers: Record<string, ControllerState> = {};
  const reasons: string[] = [];
  try {
    controllers = controllerStates(layout);
  } catch (error) {
    reasons.push((error as Error).message);
  }
  const usable = Object.values(controllers).some((state) => state.usable);
  if (!usable) reasons.push('no controller is usable for a cgroup below the caller\'s own: run as root, or delegate a subtree (systemd: Delegate=yes, or `systemd-run --user --scope -p Delegate=yes`)');
  for (const [name, state] of Object.entries(controllers)) if (!state.usable && usable && state.reason) reasons.push(`${name}: ${state.reason}`);
  return { supported: usable, reasons, mode: layout.mode, version: layout.mode === 'unified' ? 2 : 1, own: ownCgroups(layout), controllers };
}
