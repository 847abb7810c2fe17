// What the host looks like when the options are checked: which names exist at the top of
// its tree, whether a target is there, and which mounts lie below a bind's source. These
// are read in Node (by normalize.ts, in the validate phase), so that the plan stays pure: options and these facts
// in, steps out.
import { existsSync, lstatSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { REMOUNT_MS } from './consts.js';
import type { MountInfoEntry } from './mountinfo.js';
import type { Remount, TopLevelEntry, Walk } from './options.js';

/** The per-mount flags a bind remount must carry, from a mountinfo line's mount options. */
export function carriedFlags(entry: MountInfoEntry): number {
  const M = REMOUNT_MS;
  const names: Record<string, number> = {
    ro: M.MS_RDONLY,
    nosuid: M.MS_NOSUID,
    nodev: M.MS_NODEV,
    noexec: M.MS_NOEXEC,
    noatime: M.MS_NOATIME,
    nodiratime: M.MS_NODIRATIME,
    relatime: M.MS_RELATIME,
    nosymfollow: M.MS_NOSYMFOLLOW,
  };
  return entry.mountOptions.reduce((sum, option) => sum | (names[option] ?? 0), 0);
}

/**
 * The mounts a path lookup can reach: the topmost mount at each place, whose parents are
 * reachable too. A mount hidden by another one stacked on the same place, or below a
 * mount point that something else covers, is left out.
 */
export function reachableMounts(table: readonly MountInfoEntry[]): MountInfoEntry[] {
  const byId = new Map(table.map((m) => [m.mountId, m]));
  const covered = new Set<number>();
  for (const m of table) {
    const parent = byId.get(m.parentId);
    if (parent && parent.mountPoint === m.mountPoint) covered.add(parent.mountId);
  }
  const memo = new Map<number, boolean>();
  const reachable = (m: MountInfoEntry, depth: number): boolean => {
    const known = memo.get(m.mountId);
    if (known !== undefined) return known;
    let ok = !covered.has(m.mountId);
    if (ok) {
      const parent = byId.get(m.parentId);
      if (parent && parent.mountPoint !== m.mountPoint) ok = depth < 4096 && reachable(parent, depth + 1);
      else if (!parent) ok = m.mountPoint === '/';
    }
    memo.set(m.mountId, ok);
    return ok;
  };
  return table.filter((m) => reachable(m, 0));
}

function below(path: string, dir: string): boolean {
  return dir === '/' ? path !== '/' : path.startsWith(`${dir}/`);
}

/**
 * What `'walk'` mode remounts for a bind of `source`: the flags of the mount the source
 * lies on, and every reachable mount below it, parents first. A source that cannot be
 * resolved now has no submounts (the runner's open_tree will say why it is missing).
 */
export function walkOf(source: string, mounts: readonly MountInfoEntry[]): Walk {
  let real = source;
  try {
    real = realpathSync(source);
  } catch {
    // missing: no submounts
  }
  let holder: MountInfoEntry | undefined;
  for (const m of mounts)
    if ((m.mountPoint === real || below(real, m.mountPoint)) && (!holder || m.mountPoint.length >= holder.mountPoint.length)) holder = m;
  const submounts: Remount[] = mounts
    .filter((m) => below(m.mountPoint, real))
    .map((m) => ({ path: m.mountPoint.slice(real === '/' ? 1 : real.length + 1), flags: carriedFlags(m) }))
    .sort((a, b) => a.path.split('/').length - b.path.split('/').length || (a.path < b.path ? -1 : 1));
  return { rootFlags: holder ? carriedFlags(holder) : 0, submounts };
}

/** The host's top level: directories and files get a read-only bind each, symlinks a copy. */
export function readTopLevel(): TopLevelEntry[] {
  const out: TopLevelEntry[] = [];
  for (const dirent of readdirSync('/', { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = `/${dirent.name}`;
    if (dirent.isSymbolicLink()) {
      try {
        out.push({ name: dirent.name, kind: 'symlink', to: readlinkSync(path) });
      } catch {
        // gone since the listing
      }
    } else {
      out.push({ name: dirent.name, kind: dirent.isDirectory() ? 'dir' : 'file', walk: undefined });
    }
  }
  return out;
}

/** The name exists at the host's top level (a dangling symlink counts). */
export function onHostTopLevel(name: string): boolean {
  try {
    lstatSync(`/${name}`);
    return true;
  } catch {
    return false;
  }
}

/** The host path exists, following symlinks the way RESOLVE_IN_ROOT will in a host-readonly root. */
export function onHost(path: string): boolean {
  return existsSync(path);
}
