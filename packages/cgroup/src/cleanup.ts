// cleanup(): reclaims the cgroups of Node processes that died without removing theirs (a
// SIGKILL of Node skips every exit handler). Every cgroup iso makes is named
// iso-<owner pid>-<n>-<random>, so its owner can be checked: a cgroup whose owner is alive
// is never touched.
import { readFileSync, readdirSync } from 'node:fs';
import { isIsoError, unsupportedPlatform } from '@iso/core';
import type { IsoError } from '@iso/core';
import { readProcs } from './cgroupfs.js';
import { checkCgroupPath } from './cgroup.js';
import { killAll, removeDirs, sleep } from './driver.js';
import { cgroupDir, detectLayout } from './layout.js';
import type { CgroupLayout } from './layout.js';

/** The names iso gives its cgroups: iso-<owner pid>-<n>-<random hex>. */
export const ISO_CGROUP_NAME = /^iso-(\d+)-\d+-[0-9a-f]+$/;

/** Options of cleanup(). */
export interface CleanupOptions {
  /** Where the cgroups were made (as for createCgroup). @defaultValue the caller's own cgroup (per hierarchy on v1) */
  parent?: string;
}

/** What cleanup() did. */
export interface CleanupResult {
  /** The cgroups removed, as directories (one per hierarchy on v1), with the dead owner's pid. */
  removed: { path: string; owner: number }[];
  /** iso cgroups left alone because their owner runs. */
  kept: { path: string; owner: number }[];
  /** Cgroups of dead owners that could not be removed (no write access, say), with why. */
  failed: { path: string; owner: number; error: IsoError | Error }[];
}

/** Whether a pid names a running process; a zombie has died (its parent has not reaped it yet). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, as another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false; // gone between the two looks
  }
}

/** The directories below `dir`, deepest last (removeDirs goes from the end). */
function subtree(dir: string): string[] {
  const found = [dir];
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) found.push(...subtree(`${dir}/${entry.name}`));
  } catch {
    // Gone meanwhile.
  }
  return found;
}

/** SIGKILLs what is left in the directories (a daemon that outlived its runner) until they are empty. */
async function emptyDirs(dirs: readonly string[]): Promise<void> {
  for (let round = 0; round < 100; round++) {
    const pids = [...new Set(dirs.flatMap((dir) => readProcs(dir)))];
    if (pids.length === 0) return;
    killAll(pids);
    await sleep(Math.min(2 ** round, 50));
  }
}

/**
 * Removes the iso cgroups (named iso-<pid>-<n>-<random>) below the caller's own cgroup, or
 * below `parent`, whose owner pid no longer runs: first whatever is still in them is
 * SIGKILLed, then they are removed, with retry. A cgroup of a live owner (this process
 * included) is never touched, nor is any cgroup with another name. The owner is checked
 * in this process's PID namespace; a dead owner's pid that a new process took keeps its
 * cgroups until that process is gone too (never the other way round).
 */
export async function cleanup(options: CleanupOptions = {}, layout: CgroupLayout = detectLayout()): Promise<CleanupResult> {
  if (process.platform !== 'linux') throw unsupportedPlatform();
  const parent = options.parent === undefined ? undefined : checkCgroupPath(options.parent, 'parent');
  const result: CleanupResult = { removed: [], kept: [], failed: [] };
  // One entry per cgroup name, with its directory in every hierarchy (v1) that has it.
  const byName = new Map<string, { owner: number; dirs: string[] }>();
  for (const hierarchy of layout.hierarchies) {
    const base = cgroupDir(hierarchy, parent ?? hierarchy.own);
    let entries: string[];
    try {
      entries = readdirSync(base, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      continue; // a hierarchy without that parent
    }
    for (const name of entries) {
      const match = ISO_CGROUP_NAME.exec(name);
      if (match === null) continue;
      const entry = byName.get(name) ?? { owner: Number(match[1]), dirs: [] };
      entry.dirs.push(`${base}/${name}`);
      byName.set(name, entry);
    }
  }
  for (const { owner, dirs } of byName.values()) {
    if (processAlive(owner)) {
      for (const path of dirs) result.kept.push({ path, owner });
      continue;
    }
    try {
      const all = dirs.flatMap(subtree);
      await emptyDirs(all);
      await removeDirs(all, 'cgroup.cleanup');
      for (const path of dirs) result.removed.push({ path, owner });
    } catch (error) {
      const failure = isIsoError(error) || error instanceof Error ? error : new Error(String(error));
      for (const path of dirs) result.failed.push({ path, owner, error: failure });
    }
  }
  return result;
}
