import { existsSync } from 'node:fs';
import { IsoError, invalidOptions } from '@iso/core';
import type { HostFacts } from '@iso/core';
import { checkCgroupName, checkCgroupPath, limitFacts } from './cgroup.js';
import { cgroupDir, detectLayout } from './layout.js';
import type { CgroupLayout } from './layout.js';
import { controllersFor, normalizeLimits } from './limits.js';
import type { CgroupOption, CgroupSettings } from './options.js';
import { V1_CONTROLLERS, delegationHint, v1Name, writable } from './v1.js';

const PLACEMENT_KEYS = ['parent', 'callerLeaf', 'namespace'];
const LIMIT_KEYS = ['memory', 'cpu', 'pids', 'io', 'cpuset'];

/**
 * Refuses a caller who may not create the cgroup, before anything exists: the parent
 * directories a limit needs (v1), or the parent (v2), must be writable.
 */
export function checkPrivilege(layout: CgroupLayout, settings: CgroupSettings, uid: number): void {
  const needed = controllersFor(settings.limits);
  const fail = (dir: string) => new IsoError('ISO_NEEDS_PRIVILEGE', `cgroup: ${delegationHint(dir, uid)}`, { phase: 'validate', path: dir });
  if (layout.mode === 'unified') {
    const hierarchy = layout.hierarchies[0];
    if (hierarchy === undefined) return;
    const dir = cgroupDir(hierarchy, settings.parent ?? hierarchy.own);
    if (settings.parent !== undefined && !existsSync(dir)) throw invalidOptions('cgroup.parent', `${settings.parent} does not exist (${dir})`);
    if (!writable(dir)) throw fail(dir);
    return;
  }
  if (settings.callerLeaf !== undefined) throw invalidOptions('cgroup.callerLeaf', `is for cgroup v2; this machine is ${layout.mode} (v1 controllers)`);
  const managed = layout.hierarchies.filter((h) => h.controllers.some((c) => (V1_CONTROLLERS as readonly string[]).includes(c)));
  const dirs = managed.map((h) => ({ h, dir: cgroupDir(h, settings.parent ?? h.own) })).filter(({ dir }) => settings.parent === undefined || existsSync(dir));
  if (dirs.length === 0) throw invalidOptions('cgroup.parent', `${settings.parent ?? '/'} does not exist in any hierarchy`);
  for (const { h, dir } of dirs) if (h.controllers.some((c) => needed.map(v1Name).includes(c as never)) && !writable(dir)) throw fail(dir);
  const first = dirs[0];
  if (first !== undefined && !dirs.some(({ dir }) => writable(dir))) throw fail(first.dir);
}

/**
 * Checks the `cgroup` option; undefined when it is off. Throws ISO_INVALID_OPTIONS for a
 * malformed limit and ISO_NEEDS_PRIVILEGE for a caller without delegation, before
 * anything is created. Reads the layout, the parent's cpuset and the named devices.
 */
export function normalizeCgroupOptions(option: CgroupOption | undefined, host: Pick<HostFacts, 'uid'>, layout: () => CgroupLayout = detectLayout): CgroupSettings | undefined {
  if (option === undefined || option === false) return undefined;
  if (option !== true && (typeof option !== 'object' || option === null || Array.isArray(option))) throw invalidOptions('cgroup', 'expected true, false or an object');
  const given: Record<string, unknown> = option === true ? {} : { ...option };
  for (const key of Object.keys(given)) if (!PLACEMENT_KEYS.includes(key) && !LIMIT_KEYS.includes(key)) throw invalidOptions(`cgroup.${key}`, 'unknown option');
  const parent = given.parent === undefined ? undefined : checkCgroupPath(given.parent, 'cgroup.parent');
  const callerLeaf = given.callerLeaf === undefined ? undefined : checkCgroupName(given.callerLeaf, 'cgroup.callerLeaf');
  if (callerLeaf !== undefined && parent !== undefined) throw invalidOptions('cgroup.callerLeaf', "goes with the default parent only (the caller's own cgroup); leave out parent");
  if (given.namespace !== undefined && typeof given.namespace !== 'boolean') throw invalidOptions('cgroup.namespace', 'expected a boolean');
  const facts = layout();
  const limitInput = Object.fromEntries(LIMIT_KEYS.filter((key) => given[key] !== undefined).map((key) => [key, given[key]]));
  const limits = normalizeLimits(limitInput, 'cgroup', limitFacts(facts, parent));
  const settings: CgroupSettings = { limits, parent, callerLeaf, namespace: given.namespace ?? true };
  checkPrivilege(facts, settings, host.uid);
  return settings;
}

