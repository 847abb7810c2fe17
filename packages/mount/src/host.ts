// Mounts in the caller's own mount namespace, from Node (in-process). These change what
// every process in that namespace sees; in the host's namespace that is the whole machine.
// They are for root callers (daemons that prepare trees for sandboxes): each checks the
// effective uid first and throws ISO_NEEDS_PRIVILEGE otherwise. The calls (open_tree,
// mount_setattr, move_mount, fsmount, umount2) act on the process's mount namespace and
// root, which all of Node's threads share, so they are safe from any thread (src/sys.ts).
import { closeSync, openSync } from 'node:fs';
import { AT_FDCWD, IsoError, MS, invalidOptions } from '@iso/core';
import { FSCONFIG, FSMOUNT, FSOPEN, MOUNT_ATTR, MOVE_MOUNT, OPEN_TREE, SETATTR_AT, UMOUNT } from './consts.js';
import { fsconfigCommand, fsconfigString, fsmount, fsopen, mountSetattr, moveMount, openTree, umount2 } from './sys.js';
import type { CallSite } from './sys.js';

export interface MountAttributes {
  /** true sets, false clears, undefined leaves as is. */
  readonly?: boolean;
  nosuid?: boolean;
  nodev?: boolean;
  noexec?: boolean;
  /** Propagation type of the mount (and submounts when recursive). */
  propagation?: 'private' | 'slave' | 'shared' | 'unbindable';
  /** Apply to every submount too. @defaultValue false */
  recursive?: boolean;
}

export interface BindMountOptions {
  /** @defaultValue false */
  readonly?: boolean;
  /** Bind submounts too; read-only then holds for all of them. @defaultValue true */
  recursive?: boolean;
  /** @defaultValue false */
  nosuid?: boolean;
  /** @defaultValue false */
  nodev?: boolean;
  /** @defaultValue false */
  noexec?: boolean;
  /** An idmapped bind (Linux 5.12+): owners shown and written through this user namespace's map. */
  idmap?: { userns: number | string };
}

export interface TmpfsOptions {
  /** Bytes, or a string like '64m'. @defaultValue the kernel's (half of RAM) */
  size?: number | string;
  /** @defaultValue 0o1777 (the kernel's) */
  mode?: number;
  /** @defaultValue false */
  readonly?: boolean;
  /** @defaultValue true */
  nosuid?: boolean;
  /** @defaultValue true */
  nodev?: boolean;
  /** @defaultValue false */
  noexec?: boolean;
}

export interface UnmountOptions {
  /** MNT_DETACH: detach now, clean up when no longer busy. @defaultValue false */
  detach?: boolean;
}

const PROPAGATION = { private: MS.MS_PRIVATE, slave: MS.MS_SLAVE, shared: MS.MS_SHARED, unbindable: 0x20000 } as const;

function requireRoot(step: string): void {
  const euid = process.geteuid?.() ?? 0;
  if (euid !== 0)
    throw new IsoError(
      'ISO_NEEDS_PRIVILEGE',
      `${step}: mounting in the caller's own mount namespace needs root; the caller is uid ${euid}. A sandbox's mount option mounts without root, in the sandbox's namespace.`,
      { phase: 'in-process' },
    );
}

function checkPath(value: unknown, name: string): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.includes('\0')) throw invalidOptions(name, `expected an absolute path, got ${JSON.stringify(value) ?? typeof value}`);
  return value;
}

/**
 * The options object of a helper, for plain JavaScript callers: only the known keys, the
 * flags booleans. A wrong type would otherwise be read as "leave as is".
 */
function checkOptions(value: unknown, name: string, flags: readonly string[], others: readonly string[] = []): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidOptions(name, 'expected an object');
  for (const [key, field] of Object.entries(value)) {
    if (flags.includes(key)) {
      if (field !== undefined && typeof field !== 'boolean') throw invalidOptions(`${name}.${key}`, `expected a boolean, got ${JSON.stringify(field) ?? typeof field}`);
    } else if (!others.includes(key)) {
      throw invalidOptions(`${name}.${key}`, 'unknown option');
    }
  }
}

/** Runs the calls; EPERM (no CAP_SYS_ADMIN, say in a container) becomes ISO_NEEDS_PRIVILEGE. */
function privileged<T>(step: string, run: () => T): T {
  requireRoot(step);
  try {
    return run();
  } catch (error) {
    if (error instanceof IsoError && error.code === 'EPERM')
      throw new IsoError('ISO_NEEDS_PRIVILEGE', `${error.message}; this needs CAP_SYS_ADMIN in the initial user namespace`, {
        phase: 'in-process',
        errnoCode: 'EPERM',
        errno: error.errno ?? -1,
        ...(error.syscall === undefined ? {} : { syscall: error.syscall }),
        step,
        cause: error,
      });
    throw error;
  }
}

function bits(options: { readonly?: boolean | undefined; nosuid?: boolean | undefined; nodev?: boolean | undefined; noexec?: boolean | undefined }, value: boolean): number {
  const A = MOUNT_ATTR;
  return (
    (options.readonly === value ? A.MOUNT_ATTR_RDONLY : 0) |
    (options.nosuid === value ? A.MOUNT_ATTR_NOSUID : 0) |
    (options.nodev === value ? A.MOUNT_ATTR_NODEV : 0) |
    (options.noexec === value ? A.MOUNT_ATTR_NOEXEC : 0)
  );
}

/** The user namespace file of `idmap: { userns: pid | path }`, checked. */
function idmapNamespacePath(idmap: unknown): string | undefined {
  if (idmap === undefined) return undefined;
  checkOptions(idmap, 'options.idmap', [], ['userns']);
  const { userns } = idmap as { userns?: unknown };
  if (typeof userns === 'number' && Number.isInteger(userns) && userns > 0) return `/proc/${userns}/ns/user`;
  return checkPath(userns, 'options.idmap.userns');
}

/**
 * Binds `source` on `target` in the caller's mount namespace (root only): open_tree
 * (OPEN_TREE_CLONE), mount_setattr on the detached copy (read-only recursively, flags, an
 * id map), then move_mount. `target` must exist and is not followed if it is a symlink.
 */
export function bindMount(source: string, target: string, options: BindMountOptions = {}): void {
  checkPath(source, 'source');
  checkPath(target, 'target');
  checkOptions(options, 'options', ['readonly', 'recursive', 'nosuid', 'nodev', 'noexec'], ['idmap']);
  const nsPath = idmapNamespacePath(options.idmap);
  const step = 'mount.bindMount';
  privileged(step, () => {
    const recursive = options.recursive ?? true;
    const site: CallSite = { step, path: source };
    const tree = openTree(AT_FDCWD, source, OPEN_TREE.OPEN_TREE_CLONE | OPEN_TREE.OPEN_TREE_CLOEXEC | (recursive ? OPEN_TREE.AT_RECURSIVE : 0), site);
    let userns: number | undefined;
    try {
      let set = bits(options, true);
      if (nsPath !== undefined) {
        try {
          userns = openSync(nsPath, 'r');
        } catch (error) {
          throw new IsoError('ISO_SYSCALL_FAILED', `${step}: opening the user namespace ${nsPath} failed: ${(error as NodeJS.ErrnoException).code ?? 'EIO'}`, {
            phase: 'in-process',
            step,
            path: nsPath,
            errnoCode: (error as NodeJS.ErrnoException).code ?? 'EIO',
            cause: error,
          });
        }
        set |= MOUNT_ATTR.MOUNT_ATTR_IDMAP;
      }
      if (set !== 0) {
        const flags = SETATTR_AT.AT_EMPTY_PATH | (recursive ? SETATTR_AT.AT_RECURSIVE : 0);
        mountSetattr(tree, '', flags, { set, clear: 0, propagation: 0, usernsFd: userns ?? 0 }, site);
      }
      moveMount({ dirfd: tree, path: '' }, { dirfd: AT_FDCWD, path: target }, MOVE_MOUNT.MOVE_MOUNT_F_EMPTY_PATH, { step, path: target });
    } finally {
      closeSync(tree);
      if (userns !== undefined) closeSync(userns);
    }
  });
}

/** Mounts a new tmpfs on `target` in the caller's mount namespace (root only). */
export function mountTmpfs(target: string, options: TmpfsOptions = {}): void {
  checkPath(target, 'target');
  checkOptions(options, 'options', ['readonly', 'nosuid', 'nodev', 'noexec'], ['size', 'mode']);
  const { size, mode } = options as { size?: unknown; mode?: unknown };
  if (size !== undefined && !(typeof size === 'number' && Number.isSafeInteger(size) && size > 0) && !(typeof size === 'string' && /^[1-9]\d*[kmgKMG%]?$/.test(size)))
    throw invalidOptions('options.size', `expected a positive number of bytes or a string like '64m', got ${JSON.stringify(size) ?? typeof size}`);
  if (mode !== undefined && !(typeof mode === 'number' && Number.isInteger(mode) && mode >= 0 && mode <= 0o7777))
    throw invalidOptions('options.mode', `expected a mode from 0 to 0o7777, got ${JSON.stringify(mode) ?? typeof mode}`);
  const step = 'mount.mountTmpfs';
  privileged(step, () => {
    const site: CallSite = { step, path: target };
    const fs = fsopen('tmpfs', FSOPEN.FSOPEN_CLOEXEC, site);
    let mnt: number | undefined;
    try {
      const config: [string, string][] = [];
      if (options.size !== undefined) config.push(['size', String(options.size)]);
      if (options.mode !== undefined) config.push(['mode', options.mode.toString(8)]);
      for (const [key, value] of config) fsconfigString(fs, FSCONFIG.FSCONFIG_SET_STRING, key, value, site);
      fsconfigCommand(fs, FSCONFIG.FSCONFIG_CMD_CREATE, site);
      const attrs = bits({ readonly: options.readonly, nosuid: options.nosuid ?? true, nodev: options.nodev ?? true, noexec: options.noexec }, true);
      mnt = fsmount(fs, FSMOUNT.FSMOUNT_CLOEXEC, attrs, site);
      moveMount({ dirfd: mnt, path: '' }, { dirfd: AT_FDCWD, path: target }, MOVE_MOUNT.MOVE_MOUNT_F_EMPTY_PATH, site);
    } finally {
      closeSync(fs);
      if (mnt !== undefined) closeSync(mnt);
    }
  });
}

/** Changes the attributes of the mount at `target` (root only): mount_setattr. */
export function setMountAttributes(target: string, attributes: MountAttributes): void {
  checkPath(target, 'target');
  checkOptions(attributes, 'attributes', ['readonly', 'nosuid', 'nodev', 'noexec', 'recursive'], ['propagation']);
  const step = 'mount.setMountAttributes';
  const given: unknown = attributes.propagation;
  if (given !== undefined && (typeof given !== 'string' || !Object.hasOwn(PROPAGATION, given)))
    throw invalidOptions('attributes.propagation', "expected 'private', 'slave', 'shared' or 'unbindable'");
  const propagation = attributes.propagation === undefined ? 0 : PROPAGATION[attributes.propagation];
  privileged(step, () => {
    const flags = SETATTR_AT.AT_SYMLINK_NOFOLLOW | (attributes.recursive ? SETATTR_AT.AT_RECURSIVE : 0);
    mountSetattr(AT_FDCWD, target, flags, { set: bits(attributes, true), clear: bits(attributes, false), propagation, usernsFd: 0 }, { step, path: target });
  });
}

/** Unmounts `target` in the caller's mount namespace (root only); a final symlink is not followed. */
export function unmount(target: string, options: UnmountOptions = {}): void {
  checkPath(target, 'target');
  checkOptions(options, 'options', ['detach']);
  const step = 'mount.unmount';
  privileged(step, () => {
    umount2(target, (options.detach ? UMOUNT.MNT_DETACH : 0) | UMOUNT.UMOUNT_NOFOLLOW, { step, path: target });
  });
}
