import type { MountInfoEntry } from './mountinfo.js';

/**
 * The new root of the sandbox. The runner builds it in the sandbox's private mount
 * namespace, mounts the entries into it, then `pivot_root`s into it and detaches the old
 * root, so nothing of the host's tree stays reachable except what the entries bind in.
 *
 * - `'host-readonly'`: a recursive read-only clone of the host's root, submounts
 *   included (read-only holds for every submount, see `recursiveReadonly`), nosuid and
 *   nodev. Add a `dev` entry on `/dev` for usable devices. When an entry's target is
 *   missing at the host's top level (a project bound at `/work`), the root is instead a
 *   tmpfs holding a read-only recursive bind of each top-level directory and file of the
 *   host and a copy of each top-level symlink; the mount points the entries need are made
 *   in it, and it is made read-only once they are mounted. A missing target deeper down
 *   (`/usr/share/new`) is refused with ISO_INVALID_OPTIONS: mount a tmpfs entry on a
 *   parent first, or use an overlay root. Linux 5.6+.
 * - `{ dir }`: a directory used as the root (a recursive bind of it). Read-write unless
 *   `readonly`; mount points the entries need are created in it. Linux 5.6+.
 * - `{ overlay }`: an overlay of `lower` directories (first is topmost) and a writable
 *   upper layer, a fresh tmpfs by default. Writes never reach the lower directories.
 *   Linux 5.11+ (overlayfs in a user namespace).
 */
export type MountRoot = 'host-readonly' | MountDirRoot | MountOverlayRoot;

export interface MountDirRoot {
  /** Absolute host path of the root directory. */
  dir: string;
  /** Make the whole root read-only, submounts included. @defaultValue false */
  readonly?: boolean;
}

export interface MountOverlayRoot {
  overlay: {
    /**
     * Absolute host paths, topmost first; 1 to 500. Paths may not contain ':', ',' or '\\',
     * and each is at most 255 bytes (fsconfig's limit); before Linux 6.8 (no 'lowerdir+')
     * all of them joined with ':' must fit in 255 bytes.
     */
    lower: readonly string[];
    /**
     * Where writes go: a fresh tmpfs that disappears with the sandbox, or a host directory
     * `dir` with its overlay work directory `work` (empty, on the same filesystem).
     * @defaultValue 'tmpfs'
     */
    upper?: 'tmpfs' | { dir: string; work: string };
    /** Size of the tmpfs upper layer, in bytes or with a k/m/g suffix. @defaultValue the kernel's (half of RAM) */
    size?: number | string;
  };
}

/** Who owns the files of an idmapped mount: the user namespace whose id map is applied. */
export interface IdmapOption {
  /** A process whose user namespace to use (its /proc/<pid>/ns/user), or a path to a user namespace file. */
  userns: number | string;
}

/**
 * Modifiers shared by the entries; each entry type takes those that mean something for it
 * and refuses the rest with ISO_INVALID_OPTIONS.
 */
export interface MountFlags {
  /**
   * Mount read-only. For binds it holds for every submount (see `MountOptions.recursiveReadonly`).
   * @defaultValue false (true for `ro-bind`)
   */
  readonly?: boolean;
  /**
   * The entry may be skipped: a missing bind source, or a target that cannot be created
   * or resolved (ENOENT, ENOTDIR, EROFS, EACCES), skips the rest of the entry.
   * @defaultValue false
   */
  optional?: boolean;
  /** Ignore set-user-ID and set-group-ID bits and file capabilities. @defaultValue true */
  nosuid?: boolean;
  /** Refuse to open device nodes. @defaultValue true (false for `dev`, which never takes it) */
  nodev?: boolean;
  /** Refuse to execute files. @defaultValue false (true for proc, dev and mqueue) */
  noexec?: boolean;
}

export interface BindEntry extends MountFlags {
  /**
   * `bind` is read-write unless `readonly`; `ro-bind` is read-only (recursively) unless
   * `readonly: false`. A file source is bound on a file, a directory on a directory; a
   * missing target is created in the new root.
   */
  type: 'bind' | 'ro-bind';
  /** Absolute host path; resolved on the host, before the new root exists. */
  source: string;
  /** Absolute path in the new root. */
  target: string;
  /**
   * Bind the submounts of the source too. A non-recursive bind of a directory with
   * submounts fails with EINVAL in a user namespace (the kernel will not reveal what they
   * cover). @defaultValue true
   */
  recursive?: boolean;
  /**
   * An idmapped mount (Linux 5.12+, root callers only; the filesystem must support it):
   * file owners are shown and written through this user namespace's id map. Made by the
   * runner before it enters the sandbox's user namespace.
   */
  idmap?: IdmapOption;
}

export interface TmpfsEntry extends MountFlags {
  type: 'tmpfs';
  target: string;
  /** Size limit in bytes or with a k/m/g suffix. @defaultValue the kernel's (half of RAM) */
  size?: number | string;
  /** Mode of the tmpfs root. @defaultValue 0o755 */
  mode?: number;
}

/** A fresh procfs (of the PID namespace of the process that mounts it). */
export interface ProcEntry extends MountFlags {
  type: 'proc';
  target: string;
}

/**
 * A minimal /dev: a tmpfs with null, zero, full, random, urandom and tty bound from the
 * host (a user namespace cannot mknod), a new devpts instance on pts with ptmx -> pts/ptmx,
 * a tmpfs on shm, an empty mqueue directory, and fd, stdin, stdout, stderr links into
 * /proc/self/fd. Host nodes that are missing are left out.
 */
export interface DevEntry extends MountFlags {
  type: 'dev';
  target: string;
  /**
   * Size limit of its shm tmpfs, in bytes or with a k/m/g suffix. Its pages belong to no
   * process, so the OOM killer cannot reclaim them: it is always sized.
   * @defaultValue '64m' (Docker's --shm-size default)
   */
  shmSize?: number | string;
}

/** A fresh mqueue filesystem; needs an IPC namespace owned by the sandbox (`ipc`). */
export interface MqueueEntry extends MountFlags {
  type: 'mqueue';
  target: string;
}

/**
 * A file with this content, bound read-write (or read-only) on `target`. The content lives
 * in a private tmpfs, never in the root's filesystem; the target is created when missing.
 */
export interface FileEntry extends MountFlags {
  type: 'file';
  target: string;
  content: string | Uint8Array;
  /** @defaultValue 0o644 */
  mode?: number;
}

/** A symbolic link at `target` pointing to `to` (kept as given; an existing entry is left as is). */
export interface SymlinkEntry {
  type: 'symlink';
  target: string;
  to: string;
}

/** A directory (and its parents); an existing one is left as is. */
export interface DirEntry {
  type: 'dir';
  target: string;
  /** Mode of the directory when it is created. @defaultValue 0o755 */
  mode?: number;
}

export type MountEntry = BindEntry | TmpfsEntry | ProcEntry | DevEntry | MqueueEntry | FileEntry | SymlinkEntry | DirEntry;
export type MountEntryType = MountEntry['type'];

/**
 * Options of the `mount` key: a private mount namespace, and optionally a new root with
 * mount entries. Every target is resolved inside the new root with
 * openat2(RESOLVE_IN_ROOT), so a symlink in the root can never redirect a mount, a
 * created directory or a file to the host.
 *
 * With a new root, the sandbox adds after the entries what a process expects there: a
 * minimal /dev (a `dev` entry) unless an entry is at or below /dev, and a directory for
 * each mount point another option mounts on (/proc for `pid.mountProc`) unless an entry
 * is at or below it. They are named `mount.defaults[i]` in steps and errors.
 */
export interface MountOptions {
  /**
   * Propagation of every mount, set recursively on `/` before anything is mounted, so no
   * mount made in the sandbox reaches the host. 'slave' still receives host mounts.
   * @defaultValue 'private'
   */
  propagation?: 'private' | 'slave';
  /**
   * A new root (Linux 5.6+); without one the sandbox sees the host's tree (in its own namespace).
   * @defaultValue none
   */
  root?: MountRoot;
  /**
   * Mounts, links and directories, applied in order; targets are absolute paths in the
   * new root (or in the host's tree, in this namespace, without one: then iso creates
   * nothing, so targets must exist and `dir`/`symlink` entries are refused). At most 256.
   * Linux 5.6+.
   * @defaultValue []
   */
  entries?: readonly MountEntry[];
  /**
   * Docker's default masked paths (/proc/acpi, /proc/kcore, /proc/keys, /sys/firmware...:
   * files covered by /dev/null, directories by an empty read-only tmpfs) and read-only
   * paths (/proc/bus, /proc/fs, /proc/irq, /proc/sys, /proc/sysrq-trigger), applied after
   * every package has mounted (so over @iso/pid's fresh /proc). Missing ones are skipped.
   * Linux 5.6+.
   * @defaultValue true with a new root, else false
   */
  masks?: boolean;
  /**
   * How read-only (and nosuid, nodev, noexec) reaches the submounts of a recursive bind
   * (`ro-bind`, a `host-readonly` or `{ dir }` root, Docker's read-only paths):
   *
   * - `'setattr'`: `mount_setattr(AT_RECURSIVE)` on the detached copy, atomic and complete.
   *   Linux 5.12+; refused with ISO_UNSUPPORTED_KERNEL before.
   * - `'walk'`: the caller's `/proc/self/mountinfo` is read when the options are checked,
   *   and after each bind is attached every mount below its source is remounted by itself
   *   (`mount(NULL, ".", NULL, MS_REMOUNT|MS_BIND|MS_RDONLY|...)`), carrying the flags the
   *   kernel locks in a user namespace (nosuid, nodev, noexec, atime). A submount that is
   *   gone by then is skipped; one that appears on the host after the check is not
   *   covered, and a mount hidden under another one at the same place is not reachable
   *   by path, so it is left as is.
   * - `'auto'`: `'setattr'` on Linux 5.12+, else `'walk'`.
   *
   * @defaultValue 'auto'
   */
  recursiveReadonly?: 'auto' | 'setattr' | 'walk';
}

/**
 * `true`: a private mount namespace and nothing else (Linux 2.6.15+). `false`: none, which
 * is refused when another option needs one (`pid.mountProc`).
 * @defaultValue on (as `true`) when another option asks for a mount namespace (`pid.mountProc`,
 * `ipc.mqueue`), else off
 */
export type MountOption = boolean | MountOptions;

/** What normalizeMountOptions checks options against: the facts of the kernel and caller. */
export interface MountContext {
  /** The running kernel's release, as os.release() gives it. */
  kernelRelease: string;
  /** The caller's effective uid: idmapped mounts need root. */
  euid: number;
  /**
   * The caller's mount table, for `recursiveReadonly: 'walk'`.
   * @defaultValue read from /proc/self/mountinfo when a walk needs it
   */
  mountInfo?: readonly MountInfoEntry[];
}

/** What a new root gets beyond the caller's entries, when the sandbox composes mount. */
export interface RootDefaults {
  /** A minimal /dev, unless an entry is at or below /dev. */
  dev: boolean;
  /** Mount points other features mount on ('/proc'), each unless an entry is at or below it. */
  mountPoints: readonly string[];
}

/**
 * A mount to remount in `'walk'` mode: where it is, relative to the root of the bind that
 * holds it ('' for that root), and the MS_* flags it carries over (ro when the bind is not
 * made read-only, nosuid, nodev, noexec, atime and nosymfollow, as mountinfo shows them).
 */
export interface Remount {
  path: string;
  flags: number;
}

/** What `'walk'` mode remounts for one bind: its own root, then the mounts below it. */
export interface Walk {
  /** The flags of the host mount the bind's source lies on (the bind's own root). */
  rootFlags: number;
  submounts: readonly Remount[];
}

/** One name at the top level of the host's tree, for a `host-readonly` root built on a tmpfs. */
export type TopLevelEntry =
  | { name: string; kind: 'dir' | 'file'; walk: Walk | undefined }
  | { name: string; kind: 'symlink'; to: string };

/** A target, checked and split: '/a/b' is ['a', 'b']. */
export interface TargetPath {
  path: string;
  components: readonly string[];
}

interface EntryBase {
  /** Where the entry came from, for step names and errors: 'mount.entries[2]'. */
  origin: string;
  target: TargetPath;
}

export interface BindSettings extends EntryBase {
  type: 'bind';
  /** A host path, or, for `file` entries, the name of the content file in the scaffold. */
  source: { kind: 'host'; path: string } | { kind: 'scaffold'; name: string };
  /** 'dir' or 'file' when known in advance (files); 'auto' asks the source at run time. */
  kind: 'auto' | 'file';
  recursive: boolean;
  readonly: boolean;
  optional: boolean;
  attrs: { nosuid: boolean; nodev: boolean; noexec: boolean };
  idmap: { userns: string; slot: string } | undefined;
  /** In `'walk'` mode: the remounts after the attach. */
  walk: Walk | undefined;
}

export interface FsSettings extends EntryBase {
  type: 'tmpfs' | 'proc' | 'mqueue' | 'dev';
  readonly: boolean;
  optional: boolean;
  attrs: { nosuid: boolean; nodev: boolean; noexec: boolean };
  /** fsconfig string options, such as size and mode. */
  config: readonly (readonly [string, string])[];
  /** `dev` in `'walk'` mode: the flags of the host mount that holds the bound device nodes. */
  walk?: Walk | undefined;
  /** `dev`: the size of its /dev/shm tmpfs. */
  shmSize?: string;
}

export interface FileSettings {
  /** Name in the scaffold tmpfs. */
  name: string;
  content: Uint8Array;
  mode: number;
}

export interface LinkSettings extends EntryBase {
  type: 'symlink';
  to: string;
  optional: boolean;
}

export interface DirSettings extends EntryBase {
  type: 'dir';
  mode: number;
  optional: boolean;
}

export type EntrySettings = BindSettings | FsSettings | LinkSettings | DirSettings;

export type RootSettings =
  | {
      kind: 'host-readonly';
      /** Set when an entry needs a new top-level mount point: the root is a tmpfs with these, bound read-only. */
      top: readonly TopLevelEntry[] | undefined;
      /** In `'walk'` mode, for the clone of '/' (without `top`). */
      walk: Walk | undefined;
    }
  | { kind: 'dir'; dir: string; readonly: boolean; walk: Walk | undefined }
  | {
      kind: 'overlay';
      lower: readonly string[];
      /** 'lowerdir+' adds one layer per fsconfig call (Linux 6.8+); 'lowerdir' takes them joined with ':'. */
      lowerOption: 'lowerdir' | 'lowerdir+';
      upper: { kind: 'tmpfs'; size: string | undefined } | { kind: 'dir'; dir: string; work: string };
    };

/** The `mount` option, checked: what mountPlan() takes. */
export interface MountSettings {
  propagation: 'private' | 'slave';
  root: RootSettings | undefined;
  entries: readonly EntrySettings[];
  /** Contents of `file` entries, written to a private tmpfs and bound from there. */
  files: readonly FileSettings[];
  masks: boolean;
  /** How recursive read-only is applied: mount_setattr, or a remount walk (see MountOptions). */
  recursiveReadonly: 'setattr' | 'walk';
}
