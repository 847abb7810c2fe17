// Detection: which cgroup layout this machine has (by statfs magic, as youki does), where
// each hierarchy is mounted, and the caller's own cgroup in each.
import { readFileSync } from 'node:fs';
import { IsoError } from '@iso/core';
import { CGROUP2_SUPER_MAGIC, CGROUP_SUPER_MAGIC, filesystemMagic } from './sys.js';

/** unified: cgroup2 only; hybrid: v1 controllers plus a cgroup2 mount beside them; legacy: v1 only. */
export type CgroupMode = 'unified' | 'hybrid' | 'legacy';

/** One mounted hierarchy, as this process sees it. */
export interface Hierarchy {
  readonly version: 1 | 2;
  /** The hierarchy id of /proc/self/cgroup (0 for cgroup2). */
  readonly id: number;
  /** v1: the controllers bound to it (and 'name=systemd' style names); v2: the root's cgroup.controllers. */
  readonly controllers: readonly string[];
  readonly mount: string;
  /** The mount's root inside the hierarchy (mountinfo field 4): '/' unless a container shows a subtree. */
  readonly root: string;
  /** The caller's cgroup in this hierarchy, as /proc/self/cgroup says. */
  readonly own: string;
}

export interface CgroupLayout {
  readonly mode: CgroupMode;
  /** The hierarchies the driver uses: the v1 ones (legacy, hybrid) or the cgroup2 one (unified). */
  readonly hierarchies: readonly Hierarchy[];
  /** The cgroup2 hierarchy beside v1 ones in hybrid mode. */
  readonly unified: Hierarchy | undefined;
}

interface CgroupMount {
  fstype: 'cgroup' | 'cgroup2';
  root: string;
  mount: string;
  options: string[];
}

/** mountinfo escapes spaces and such as \040. */
const unescape = (text: string) => text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

function cgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const fields = left.split(' ');
    const [fstype, , superOptions = ''] = right.split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    mounts.push({ fstype, root: unescape(fields[3] ?? '/'), mount: unescape(fields[4] ?? ''), options: superOptions.split(',') });
  }
  return mounts;
}

/** The path of cgroup `path` of a hierarchy on disk. */
export function cgroupDir(hierarchy: Pick<Hierarchy, 'mount' | 'root'>, path: string): string {
  const root = hierarchy.root === '/' ? '' : hierarchy.root;
  const inside = root !== '' && (path === root || path.startsWith(`${root}/`)) ? path.slice(root.length) : path;
  return `${hierarchy.mount}${inside === '/' ? '' : inside}`;
}

/** Joins a cgroup path and a child name. */
export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new IsoError('ISO_UNSUPPORTED_KERNEL', `cgroup.detect: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      phase: 'probe',
      path,
      cause: error,
    });
  }
}

function isMagic(path: string, magic: number): boolean {
  try {
    return filesystemMagic(path) === magic;
  } catch {
    return false;
  }
}

/**
 * The layout from the files of this process: /proc/self/cgroup (own cgroups),
 * /proc/self/mountinfo (mount points), statfs (the mode). Throws ISO_UNSUPPORTED_KERNEL
 * without cgroups.
 */
export function detectLayout(): CgroupLayout {
  const membership = readText('/proc/self/cgroup');
  const mounts = cgroupMounts(readText('/proc/self/mountinfo'));
  const v2Mount = mounts.find((m) => m.fstype === 'cgroup2');
  const lines = membership.trim().split('\n').map((line) => {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    return { id: Number(line.slice(0, first)), controllers: line.slice(first + 1, second), path: line.slice(second + 1) };
  });
  const v1: Hierarchy[] = [];
  let unified: Hierarchy | undefined;
  for (const line of lines) {
    if (line.id === 0 && line.controllers === '') {
      if (v2Mount === undefined) continue;
      const controllers = (readText(`${v2Mount.mount}/cgroup.controllers`)).trim().split(/\s+/).filter(Boolean);
      unified = { version: 2, id: 0, controllers, mount: v2Mount.mount, root: v2Mount.root, own: line.path };
      continue;
    }
    const controllers = line.controllers.split(',').filter(Boolean);
    // The mount of a hierarchy carries each of its controllers (or its name=) as a super option.
    const mount = mounts.find((m) => m.fstype === 'cgroup' && controllers.every((c) => m.options.includes(c)));
    if (mount === undefined) continue;
    v1.push({ version: 1, id: line.id, controllers, mount: mount.mount, root: mount.root, own: line.path });
  }
  // The mode as youki's libcgroups tells it: by the filesystem's magic.
  const top = v2Mount?.mount === '/sys/fs/cgroup' || isMagic('/sys/fs/cgroup', CGROUP2_SUPER_MAGIC);
  const v1Present = v1.some((h) => isMagic(h.mount, CGROUP_SUPER_MAGIC));
  const mode: CgroupMode = top && !v1Present ? 'unified' : unified !== undefined ? 'hybrid' : 'legacy';
  if (mode === 'unified') {
    if (unified === undefined) throw new IsoError('ISO_UNSUPPORTED_KERNEL', 'cgroup.detect: cgroup2 is mounted but this process has no 0:: line in /proc/self/cgroup', { phase: 'probe' });
    return { mode, hierarchies: [unified], unified: undefined };
  }
  if (v1.length === 0) throw new IsoError('ISO_UNSUPPORTED_KERNEL', 'cgroup.detect: no cgroup hierarchy is mounted', { phase: 'probe' });
  return { mode, hierarchies: v1, unified };
}

/** The caller's own cgroup in each hierarchy: '/' or a path ('memory' is nested here, cpu at '/', say). */
export function ownCgroups(layout: CgroupLayout = detectLayout()): Record<string, string> {
  const own: Record<string, string> = {};
  for (const hierarchy of layout.hierarchies) for (const controller of hierarchy.version === 2 ? ['unified'] : hierarchy.controllers) own[controller] = hierarchy.own;
  if (layout.unified) own.unified = layout.unified.own;
  return own;
}
