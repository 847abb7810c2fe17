// Mounts in the caller's own mount namespace, from Node (in-process). These change what
// every process in that namespace sees; in the host's namespace that is the whole machine.
// They are for root callers (daemons that prepare trees for sandboxes): each checks the
// effective uid first and throws ISO_NEEDS_PRIVILEGE otherwise. The calls (open_tree,
// mount_setattr, move_mount, fsmount, umount2) act on the process's mount namespace and
// root, which all of Node's threads share, so they are safe from any thread.
import { closeSync, openSync } from 'node:fs';
import { AT_FDCWD, IsoError, MS, invalidOptions } from '@iso/core';
import { rawSyscall } from '@iso/core/native';
import type { CallSite } from '@iso/core/native';
import { FSCONFIG, FSMOUNT, FSOPEN, MOUNT_ATTR, MOVE_MOUNT, OPEN_TREE, SETATTR_AT, UMOUNT } from './consts.js';
import { mountAttrStruct } from './structs.js';

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

function attrBuffer(set: number, clear: number, propagation: number, usernsFd: number): Buffer {
  return mountAttrStruct.encode({ attr_set: BigInt(set), attr_clr: BigInt(clear), propagation: BigInt(propagation), userns_fd: BigInt(usernsFd) });
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

/**
 * Binds `source` on `target` in the caller's mount namespace (root only): open_tree
 * (OPEN_TREE_CLONE), mount_setattr on the detached copy (read-only recursively, flags, an
 * id map), then move_mount. `target` must exist and is not followed if it is a symlink.
 */
export function bindMount(source: string, target: string, options: BindMountOptions = {}): void {
  checkPath(source, 'source');
  checkPath(target, 'target');
  const step = 'mount.bindMount';
  privileged(step, () => {
    const recursive = options.recursive ?? true;
    const site: CallSite = { step, path: source };
    const tree = rawSyscall('open_tree', [AT_FDCWD, source, OPEN_TREE.OPEN_TREE_CLONE | OPEN_TREE.OPEN_TREE_CLOEXEC | (recursive ? OPEN_TREE.AT_RECURSIVE : 0)], site);
    let userns: number | undefined;
    try {
      let set = bits(options, true);
      if (options.idmap !== undefined) {
        const ns = options.idmap.userns;
        const nsPath = typeof ns === 'number' ? `/proc/${ns}/ns/user` : checkPath(ns, 'idmap.userns');
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
        rawSyscall('mount_setattr', [tree, '', flags, attrBuffer(set, 0, 0, userns ?? 0), mountAttrStruct.size], site);
      }
      rawSyscall('move_mount', [tree, '', AT_FDCWD, target, MOVE_MOUNT.MOVE_MOUNT_F_EMPTY_PATH], { step, path: target });
    } finally {
      closeSync(tree);
      if (userns !== undefined) closeSync(userns);
    }
  });
}

/** Mounts a new tmpfs on `target` in the caller's mount namespace (root only). */
export function mountTmpfs(target: string, options: TmpfsOptions = {}): void {
  checkPath(target, 'target');
  const step = 'mount.mountTmpfs';
  privileged(step, () => {
    const site: CallSite = { step, path: target };
    const fs = rawSyscall('fsopen', ['tmpfs', FSOPEN.FSOPEN_CLOEXEC], site);
    let mnt: number | undefined;
    try {
      const config: [string, string][] = [];
      if (options.size !== undefined) config.push(['size', String(options.size)]);
      if (options.mode !== undefined) config.push(['mode', options.mode.toString(8)]);
      for (const [key, value] of config) rawSyscall('fsconfig', [fs, FSCONFIG.FSCONFIG_SET_STRING, key, value, 0], site);
      rawSyscall('fsconfig', [fs, FSCONFIG.FSCONFIG_CMD_CREATE, null, null, 0], site);
      const attrs = bits({ readonly: options.readonly, nosuid: options.nosuid ?? true, nodev: options.nodev ?? true, noexec: options.noexec }, true);
      mnt = rawSyscall('fsmount', [fs, FSMOUNT.FSMOUNT_CLOEXEC, attrs], site);
      rawSyscall('move_mount', [mnt, '', AT_FDCWD, target, MOVE_MOUNT.MOVE_MOUNT_F_EMPTY_PATH], site);
    } finally {
      closeSync(fs);
      if (mnt !== undefined) closeSync(mnt);
    }
  });
}

/** Changes the attributes of the mount at `target` (root only): mount_setattr. */
export function setMountAttributes(target: string, attributes: MountAttributes): void {
  checkPath(target, 'target');
  const step = 'mount.setMountAttributes';
  const propagation = attributes.propagation === undefined ? 0 : PROPAGATION[attributes.propagation];
  if (propagation === undefined) throw invalidOptions('propagation', "expected 'private', 'slave', 'shared' or 'unbindable'");
  privileged(step, () => {
    const flags = SETATTR_AT.AT_SYMLINK_NOFOLLOW | (attributes.recursive ? SETATTR_AT.AT_RECURSIVE : 0);
    const attr = attrBuffer(bits(attributes, true), bits(attributes, false), propagation, 0);
    rawSyscall('mount_setattr', [AT_FDCWD, target, flags, attr, mountAttrStruct.size], { step, path: target });
  });
}

/** Unmounts `target` in the caller's mount namespace (root only); a final symlink is not followed. */
export function unmount(target: string, options: UnmountOptions = {}): void {
  checkPath(target, 'target');
  const step = 'mount.unmount';
  privileged(step, () => {
    rawSyscall('umount2', [target, (options.detach ? UMOUNT.MNT_DETACH : 0) | UMOUNT.UMOUNT_NOFOLLOW], { step, path: target });
  });
}
