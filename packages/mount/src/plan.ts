import { AT_FDCWD, CLONE, FixedFd, MS, flags, formatFlags, hostArch, imm, nullPointer, result, str, bytes } from '@iso/core';
import type { Arch, ArgSpec, ChildStep, ErrnoName, StagedSteps, SyscallName, SyscallStep } from '@iso/core';
import {
  F_GETFD,
  F_OK,
  FSCONFIG,
  FSMOUNT,
  FSOPEN,
  MOUNT_ATTR,
  MOVE_MOUNT,
  OPEN_FLAGS,
  OPEN_TREE,
  REMOUNT_MS,
  RESOLVE,
  S_IFREG,
  SETATTR_AT,
  UMOUNT,
} from './consts.js';
import type { OpenFlags } from './consts.js';
import type { BindSettings, EntrySettings, FsSettings, MountSettings, RootSettings, TargetPath, TopLevelEntry, Walk } from './options.js';
import { mountAttrStruct, openHowStruct } from './structs.js';

/** Docker's default masked paths (moby oci/defaults.go): files get /dev/null, directories an empty read-only tmpfs. */
export const MASKED_PATHS: readonly { path: string; kind: 'file' | 'dir' }[] = [
  { path: '/proc/acpi', kind: 'dir' },
  { path: '/proc/asound', kind: 'dir' },
  { path: '/proc/kcore', kind: 'file' },
  { path: '/proc/keys', kind: 'file' },
  { path: '/proc/latency_stats', kind: 'file' },
  { path: '/proc/timer_list', kind: 'file' },
  { path: '/proc/timer_stats', kind: 'file' },
  { path: '/proc/sched_debug', kind: 'file' },
  { path: '/proc/scsi', kind: 'dir' },
  { path: '/sys/firmware', kind: 'dir' },
  { path: '/sys/devices/virtual/powercap', kind: 'dir' },
];

/** Docker's default read-only paths: bound on themselves, read-only, submounts included. */
export const READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Host device nodes the `dev` entry binds in (a user namespace cannot mknod them). */
export const DEV_NODES: readonly string[] = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];
/** The links of the `dev` entry. */
export const DEV_LINKS: readonly (readonly [string, string])[] = [
  ['ptmx', 'pts/ptmx'],
  ['fd', '/proc/self/fd'],
  ['stdin', '/proc/self/fd/0'],
  ['stdout', '/proc/self/fd/1'],
  ['stderr', '/proc/self/fd/2'],
];

// Runner slots (fds kept between steps). Names are reused from entry to entry.
const SLOT = {
  umask: 'mount.umask',
  root: 'mount.root',
  devNull: 'mount.devNull',
  scaffold: 'mount.scaffold',
  fs: 'mount.fs',
  source: 'mount.source',
  parent: 'mount.parent',
  target: 'mount.target',
  mnt: 'mount.mnt',
  node: 'mount.node',
  walk: 'mount.walk',
  walkNode: 'mount.walk.node',
} as const;

/** Errnos a target may fail with that `optional` turns into a skip. */
const OPTIONAL_TARGET: ErrnoName[] = ['ENOENT', 'ENOTDIR', 'EROFS', 'EACCES'];
const OPTIONAL_SOURCE: ErrnoName[] = ['ENOENT', 'ENOTDIR'];

interface Pending {
  step: SyscallStep;
  /** Skip to the end of the entry when a tolerated errno happens. */
  toEnd: boolean;
}

/** Steps of one entry; `toEnd` steps skip the rest of the entry on a tolerated errno. */
class EntrySteps {
  private readonly pending: (Pending | ChildStep)[] = [];

  add(step: ChildStep): void {
    this.pending.push(step);
  }

  /** A step whose tolerated errnos skip everything after it in this entry. */
  addSkipping(step: SyscallStep): void {
    this.pending.push({ step, toEnd: true });
  }

  finish(): ChildStep[] {
    const out: ChildStep[] = [];
    this.pending.forEach((item, i) => {
      if ('toEnd' in item) {
        const rest = this.pending.length - 1 - i;
        out.push(rest > 0 ? { ...item.step, skipOnTolerated: rest } : item.step);
      } else {
        out.push(item);
      }
    });
    return out;
  }
}

function octal(mode: number): ArgSpec {
  return imm(mode, { as: 'octal' });
}

/**
 * The child steps of a mount namespace, by stage. Pure: settings and arch in, steps out.
 *
 * - prepare: idmapped mounts, made while the runner still has the caller's privileges
 *   (before the user namespace), kept as detached mounts in slots.
 * - namespaces: unshare(CLONE_NEWNS).
 * - rootfs: private propagation; then, with a root or entries, the new root is built as a
 *   detached mount and attached on top of '/' (absolute paths still resolve in the old
 *   root, so bind sources are host paths), every entry is mounted into it through fds
 *   (openat2 RESOLVE_IN_ROOT for targets, move_mount for attaching), and the runner
 *   pivot_root(".", ".")s into it. The old root stays stacked on '/' (unreachable by
 *   path) until mountsSeal, so that a later stage ('mounts') can still mount a fresh /proc
 *   in a user namespace (the kernel wants a fully visible proc in the namespace for that).
 * - mountsSeal (after every package's mounts): masked and read-only paths, then the old
 *   root is detached.
 */
export function mountPlan(settings: MountSettings, arch: Arch = hostArch()): StagedSteps {
  const O = OPEN_FLAGS[arch];
  const planner = new Planner(O, settings.recursiveReadonly);
  const propagation = settings.propagation === 'slave' ? MS.MS_SLAVE : MS.MS_PRIVATE;
  const mounts: ChildStep[] = [
    {
      op: 'syscall',
      name: 'mount.propagation',
      syscall: 'mount',
      args: [nullPointer(), str('/'), nullPointer(), flags(MS.MS_REC | propagation, MS), nullPointer()],
    },
  ];
  const plan: StagedSteps = {
    namespaces: [{ op: 'syscall', name: 'mount.unshare', syscall: 'unshare', args: [flags(CLONE.CLONE_NEWNS, CLONE)] }],
    rootfs: mounts,
  };
  const prepare = settings.entries.flatMap((entry) => (entry.type === 'bind' && entry.idmap ? planner.idmap(entry) : []));
  if (prepare.length > 0) plan.prepare = prepare;

  const building = settings.root !== undefined || settings.entries.length > 0;
  if (building) {
    mounts.push(planner.call('mount.umask', 'umask', [octal(0)], { saveAs: SLOT.umask }));
    if (settings.masks) mounts.push(planner.call('mount.devNull', 'openat', [planner.cwd, str('/dev/null'), planner.open(O.O_PATH | O.O_CLOEXEC)], { saveAs: SLOT.devNull }));
    if (settings.root) mounts.push(...planner.root(settings.root));
    else mounts.push(planner.call('mount.root', 'openat', [planner.cwd, str('/'), planner.open(O.O_PATH | O.O_DIRECTORY | O.O_CLOEXEC)], { saveAs: SLOT.root }));
    if (settings.files.length > 0) mounts.push(...planner.scaffold(settings));
    const create = settings.root !== undefined;
    for (const entry of settings.entries) mounts.push(...planner.entry(entry, create));
    if (settings.files.length > 0) mounts.push(...planner.dropScaffold());
    if (settings.root?.kind === 'host-readonly' && settings.root.top) mounts.push(...planner.sealTopLevel());
    if (settings.root) mounts.push(...planner.pivot());
    mounts.push(planner.call('mount.chdir', 'chdir', [str('/')]));
    mounts.push(planner.call('mount.umask', 'umask', [result(SLOT.umask)]));
    mounts.push(planner.call('mount.close', 'close', [result(SLOT.root)]));
  } else if (settings.masks) {
    mounts.push(planner.call('mount.devNull', 'openat', [planner.cwd, str('/dev/null'), planner.open(O.O_PATH | O.O_CLOEXEC)], { saveAs: SLOT.devNull }));
  }

  const seal: ChildStep[] = [];
  if (settings.masks) seal.push(...planner.masks());
  if (settings.root) seal.push(...planner.detachOldRoot());
  if (seal.length > 0) plan.mountsSeal = seal;
  return plan;
}

/** Builds the steps; holds the arch's open flags. */
class Planner {
  readonly cwd = flags(AT_FDCWD, { AT_FDCWD });
  private readonly resolveInRoot = RESOLVE.RESOLVE_IN_ROOT | RESOLVE.RESOLVE_NO_MAGICLINKS;
  /** For paths we know from the host's mount table, below a mount we hold: no link is followed. */
  private readonly resolveBeneath = RESOLVE.RESOLVE_BENEATH | RESOLVE.RESOLVE_NO_SYMLINKS | RESOLVE.RESOLVE_NO_MAGICLINKS;

  constructor(
    private readonly O: OpenFlags,
    private readonly mode: 'setattr' | 'walk' = 'setattr',
  ) {}

  get walking(): boolean {
    return this.mode === 'walk';
  }

  call(name: string, syscall: SyscallName, args: readonly ArgSpec[], extra: Partial<Pick<SyscallStep, 'saveAs' | 'tolerate' | 'skipOnTolerated'>> = {}): SyscallStep {
    return { op: 'syscall', name, syscall, args, ...extra };
  }

  open(value: number): ArgSpec {
    return flags(value, this.O);
  }

  /** struct open_how for openat2, shown by its flags. */
  private how(openFlags: number, resolve = this.resolveInRoot): ArgSpec {
    const label = `{flags=${formatFlags(openFlags, this.O)}, resolve=${formatFlags(resolve, RESOLVE)}}`;
    return openHowStruct.asBlock({ flags: BigInt(openFlags), mode: 0n, resolve: BigInt(resolve) }, {}, label);
  }

  /** openat2(dirfd, path, O_PATH..., RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS). */
  openBeneath(name: string, dirSlot: string, path: string, directory: boolean, saveAs: string): SyscallStep {
    const openFlags = this.O.O_PATH | this.O.O_CLOEXEC | (directory ? this.O.O_DIRECTORY : 0);
    return this.call(name, 'openat2', [result(dirSlot), str(path), this.how(openFlags, this.resolveBeneath), imm(openHowStruct.size)], { saveAs });
  }

  /**
   * 'walk' mode: remounts the mount whose root the O_PATH fd in `slot` is, with exactly
   * `ms` (MS_REMOUNT|MS_BIND added; MOUNT_ATTR_RDONLY/NOSUID/NODEV/NOEXEC have the values
   * of MS_RDONLY/NOSUID/NODEV/NOEXEC). mount(2) takes only a path, so the fd is named by
   * the magic link /proc/self/fd/100 (FixedFd.byPath), which leads to exactly that open file or
   * directory, whatever its name is now. (fchdir and "." would need search permission on
   * the directory, which a rootless sandbox lacks on the host's /root or /lost+found.)
   * `vanished` tolerates EINVAL: the place is no longer a mount root (the host unmounted
   * it after the options were checked).
   */
  remount(name: string, slot: string, ms: number, vanished: boolean): SyscallStep[] {
    const M = REMOUNT_MS;
    const value = M.MS_REMOUNT | M.MS_BIND | ms;
    return [
      this.call(name, 'dup3', [result(slot), imm(FixedFd.byPath), this.open(this.O.O_CLOEXEC)]),
      this.call(name, 'mount', [nullPointer(), str(`/proc/self/fd/${FixedFd.byPath}`), nullPointer(), flags(value, REMOUNT_MS), nullPointer()], vanished ? { tolerate: ['EINVAL'] } : {}),
      this.call(name, 'close', [imm(FixedFd.byPath)]),
    ];
  }

  /**
   * 'walk' mode, after a bind is attached: the bind's own root (the fd in `slot`, opened
   * through the attached mount), then each host mount below its source, opened beneath it
   * without following links. A submount that is gone is skipped (ENOENT, ENOTDIR, EINVAL).
   * `set` is the MS_RDONLY/NOSUID/NODEV/NOEXEC the bind asks for; each mount keeps the
   * flags it had (a user namespace locks them: dropping one fails with EPERM).
   */
  walk(name: string, slot: string, walk: Walk, set: number): SyscallStep[] {
    const steps = this.remount(name, slot, set | walk.rootFlags, false);
    for (const sub of walk.submounts) {
      const rest = [...this.remount(`${name}.submount`, SLOT.walkNode, set | sub.flags, true), this.close(`${name}.submount`, SLOT.walkNode)];
      const open = this.openBeneath(`${name}.submount`, slot, sub.path, false, SLOT.walkNode);
      steps.push({ ...open, tolerate: ['ENOENT', 'ENOTDIR'], skipOnTolerated: rest.length }, ...rest);
    }
    return steps;
  }

  /** openat2(dirfd, path, O_PATH..., RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS): symlinks resolve inside dirfd. */
  openInRoot(name: string, dirSlot: string, path: string, directory: boolean, saveAs: string): SyscallStep {
    const openFlags = this.O.O_PATH | this.O.O_CLOEXEC | (directory ? this.O.O_DIRECTORY : 0);
    return this.call(name, 'openat2', [result(dirSlot), str(path), this.how(openFlags), imm(openHowStruct.size)], { saveAs });
  }

  /** mount_setattr(fd, "", AT_EMPTY_PATH[|AT_RECURSIVE], {attr_set[, userns_fd]}); the namespace fd is a saved result. */
  setattr(name: string, slot: string, set: number, recursive: boolean, usernsSlot?: string): SyscallStep {
    const label = `{attr_set=${formatFlags(set, MOUNT_ATTR)}${usernsSlot === undefined ? '' : `, userns_fd=$${usernsSlot}`}}`;
    const attr = mountAttrStruct.asBlock({ attr_set: BigInt(set) }, {}, label, usernsSlot === undefined ? {} : { userns_fd: usernsSlot });
    const at = SETATTR_AT.AT_EMPTY_PATH | (recursive ? SETATTR_AT.AT_RECURSIVE : 0);
    return this.call(name, 'mount_setattr', [result(slot), str(''), flags(at, SETATTR_AT), attr, imm(mountAttrStruct.size)]);
  }

  /** move_mount(from, "", to, "", F_EMPTY_PATH|T_EMPTY_PATH): attach exactly on the opened target. */
  attach(name: string, from: string, to: string): SyscallStep {
    return this.call(name, 'move_mount', [
      result(from),
      str(''),
      result(to),
      str(''),
      flags(MOVE_MOUNT.MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT.MOVE_MOUNT_T_EMPTY_PATH, MOVE_MOUNT),
    ]);
  }

  /** move_mount(from, "", dirfd, name, F_EMPTY_PATH): one component below a directory we made; no symlink followed. */
  attachAt(name: string, from: string, dirSlot: string, child: string): SyscallStep {
    return this.call(name, 'move_mount', [result(from), str(''), result(dirSlot), str(child), flags(MOVE_MOUNT.MOVE_MOUNT_F_EMPTY_PATH, MOVE_MOUNT)]);
  }

  /** move_mount(from, "", AT_FDCWD, "/", F_EMPTY_PATH): on top of whatever is mounted on '/'. */
  attachOnSlash(name: string, from: string): SyscallStep {
    return this.call(name, 'move_mount', [result(from), str(''), this.cwd, str('/'), flags(MOVE_MOUNT.MOVE_MOUNT_F_EMPTY_PATH, MOVE_MOUNT)]);
  }

  close(name: string, slot: string): SyscallStep {
    return this.call(name, 'close', [result(slot)]);
  }

  /** fsopen, fsconfig strings, create, fsmount into `saveAs`, close the context. */
  newFs(name: string, fstype: string, config: readonly (readonly [string, string])[], attrs: number, saveAs: string): SyscallStep[] {
    return [
      this.call(`${name}.fsopen`, 'fsopen', [str(fstype), flags(FSOPEN.FSOPEN_CLOEXEC, FSOPEN)], { saveAs: SLOT.fs }),
      ...config.map(([key, value]) =>
        this.call(`${name}.fsconfig`, 'fsconfig', [result(SLOT.fs), imm(FSCONFIG.FSCONFIG_SET_STRING, { as: 'enum', table: FSCONFIG }), str(key), str(value), imm(0)]),
      ),
      this.call(`${name}.fsconfig`, 'fsconfig', [result(SLOT.fs), imm(FSCONFIG.FSCONFIG_CMD_CREATE, { as: 'enum', table: FSCONFIG }), nullPointer(), nullPointer(), imm(0)]),
      this.call(`${name}.fsmount`, 'fsmount', [result(SLOT.fs), flags(FSMOUNT.FSMOUNT_CLOEXEC, FSMOUNT), flags(attrs, MOUNT_ATTR)], { saveAs }),
      this.close(`${name}.close`, SLOT.fs),
    ];
  }

  /** The new root as a detached mount in SLOT.root, then attached on top of '/'. */
  root(root: RootSettings): ChildStep[] {
    const A = MOUNT_ATTR;
    const clone = OPEN_TREE.OPEN_TREE_CLONE | OPEN_TREE.OPEN_TREE_CLOEXEC | OPEN_TREE.AT_RECURSIVE;
    const steps: ChildStep[] = [];
    switch (root.kind) {
      case 'host-readonly': {
        if (root.top) return this.topLevelRoot(root.top);
        const set = A.MOUNT_ATTR_RDONLY | A.MOUNT_ATTR_NOSUID | A.MOUNT_ATTR_NODEV;
        steps.push(this.call('mount.root.clone', 'open_tree', [this.cwd, str('/'), flags(clone, OPEN_TREE)], { saveAs: SLOT.root }));
        if (!root.walk) {
          steps.push(this.setattr('mount.root.readonly', SLOT.root, set, true), this.attachOnSlash('mount.root.attach', SLOT.root));
          return steps;
        }
        // Only a mount of the caller's namespace can be remounted: attach first.
        steps.push(this.attachOnSlash('mount.root.attach', SLOT.root), ...this.walk('mount.root.readonly', SLOT.root, root.walk, set));
        return steps;
      }
      case 'dir': {
        const set = A.MOUNT_ATTR_NODEV | (root.readonly ? A.MOUNT_ATTR_RDONLY : 0);
        steps.push(this.call('mount.root.clone', 'open_tree', [this.cwd, str(root.dir), flags(clone, OPEN_TREE)], { saveAs: SLOT.root }));
        if (!root.walk) {
          steps.push(this.setattr('mount.root.attrs', SLOT.root, set, true), this.attachOnSlash('mount.root.attach', SLOT.root));
          return steps;
        }
        steps.push(this.attachOnSlash('mount.root.attach', SLOT.root), ...this.walk('mount.root.attrs', SLOT.root, root.walk, set));
        return steps;
      }
      case 'overlay': {
        let upper: string;
        let work: string;
        if (root.upper.kind === 'tmpfs') {
          // overlayfs takes the upper and work dirs by path, and (before Linux 6.15) only
          // from the caller's mount namespace: a tmpfs goes on top of '/' for the moment,
          // becomes the cwd so relative paths name it, and is detached once overlayfs holds
          // its private clone of it.
          const config: [string, string][] = [['mode', '0755']];
          if (root.upper.size !== undefined) config.push(['size', root.upper.size]);
          steps.push(...this.newFs('mount.root.upper', 'tmpfs', config, A.MOUNT_ATTR_NOSUID | A.MOUNT_ATTR_NODEV, SLOT.scaffold));
          steps.push(this.attachOnSlash('mount.root.upper.attach', SLOT.scaffold));
          steps.push(this.call('mount.root.upper.mkdir', 'mkdirat', [result(SLOT.scaffold), str('upper'), octal(0o755)]));
          steps.push(this.call('mount.root.upper.mkdir', 'mkdirat', [result(SLOT.scaffold), str('work'), octal(0o755)]));
          steps.push(this.call('mount.root.upper.chdir', 'fchdir', [result(SLOT.scaffold)]));
          upper = 'upper';
          work = 'work';
        } else {
          upper = root.upper.dir;
          work = root.upper.work;
        }
        steps.push(
          ...this.newFs(
            'mount.root.overlay',
            'overlay',
            [
              ...(root.lowerOption === 'lowerdir+' ? root.lower.map((dir) => ['lowerdir+', dir] as const) : [['lowerdir', root.lower.join(':')] as const]),
              ['upperdir', upper],
              ['workdir', work],
            ],
            A.MOUNT_ATTR_NODEV,
            SLOT.root,
          ),
        );
        if (root.upper.kind === 'tmpfs') {
          steps.push(this.call('mount.root.upper.detach', 'umount2', [str('.'), flags(UMOUNT.MNT_DETACH, UMOUNT)]));
          steps.push(this.close('mount.root.upper.close', SLOT.scaffold));
        }
        break;
      }
    }
    steps.push(this.attachOnSlash('mount.root.attach', SLOT.root));
    return steps;
  }

  /**
   * A host-readonly root on a tmpfs, for entries whose mount points are missing at the
   * host's top level: the tmpfs goes on top of '/' first (mounts can be attached only
   * below a mount of the caller's namespace before Linux 6.15), then each top-level
   * directory or file of the host is cloned with its submounts, made read-only, nosuid and
   * nodev, and attached on a mount point of the same kind; each symlink is made again.
   * A name that is gone since the options were checked is skipped. sealTopLevel makes the
   * tmpfs itself read-only once the entries are mounted.
   */
  private topLevelRoot(top: readonly TopLevelEntry[]): ChildStep[] {
    const A = MOUNT_ATTR;
    const set = A.MOUNT_ATTR_RDONLY | A.MOUNT_ATTR_NOSUID | A.MOUNT_ATTR_NODEV;
    const steps: ChildStep[] = [
      ...this.newFs('mount.root.tmpfs', 'tmpfs', [['mode', '0755'], ['size', '1m']], A.MOUNT_ATTR_NOSUID | A.MOUNT_ATTR_NODEV, SLOT.root),
      this.attachOnSlash('mount.root.attach', SLOT.root),
    ];
    const clone = OPEN_TREE.OPEN_TREE_CLONE | OPEN_TREE.OPEN_TREE_CLOEXEC | OPEN_TREE.AT_RECURSIVE;
    for (const item of top) {
      if (item.kind === 'symlink') {
        steps.push(this.call('mount.root.top.symlink', 'symlinkat', [str(item.to), result(SLOT.root), str(item.name)]));
        continue;
      }
      const rest: ChildStep[] = [];
      if (!item.walk) rest.push(this.setattr('mount.root.top.readonly', SLOT.source, set, true));
      rest.push(
        item.kind === 'dir'
          ? this.call('mount.root.top.mkdir', 'mkdirat', [result(SLOT.root), str(item.name), octal(0o755)])
          : this.call('mount.root.top.mknod', 'mknodat', [result(SLOT.root), str(item.name), octal(S_IFREG | 0o644), imm(0)]),
        this.attachAt('mount.root.top.attach', SLOT.source, SLOT.root, item.name),
        this.close('mount.root.top.close', SLOT.source),
      );
      if (item.walk) {
        rest.push(
          this.openBeneath('mount.root.top.readonly', SLOT.root, item.name, item.kind === 'dir', SLOT.walk),
          ...this.walk('mount.root.top.readonly', SLOT.walk, item.walk, set),
          this.close('mount.root.top.readonly', SLOT.walk),
        );
      }
      const tree = this.call('mount.root.top', 'open_tree', [this.cwd, str(`/${item.name}`), flags(clone, OPEN_TREE)], { saveAs: SLOT.source });
      steps.push({ ...tree, tolerate: ['ENOENT'], skipOnTolerated: rest.length }, ...rest);
    }
    return steps;
  }

  /** The tmpfs under a top-level root, read-only now that the entries' mount points exist (its binds and entries keep their own flags). */
  sealTopLevel(): ChildStep[] {
    const A = MOUNT_ATTR;
    const set = A.MOUNT_ATTR_RDONLY | A.MOUNT_ATTR_NOSUID | A.MOUNT_ATTR_NODEV;
    if (this.walking) return this.remount('mount.root.seal', SLOT.root, set, false);
    return [this.setattr('mount.root.seal', SLOT.root, set, false)];
  }

  /** A private tmpfs for `file` contents, on top of '/' until the entries are mounted. */
  scaffold(settings: MountSettings): ChildStep[] {
    const total = settings.files.reduce((sum, file) => sum + file.content.length + 4096, 0);
    const size = String(Math.ceil((total + 64 * 1024) / 4096) * 4096);
    const steps: ChildStep[] = [
      ...this.newFs('mount.files', 'tmpfs', [['mode', '0700'], ['size', size]], MOUNT_ATTR.MOUNT_ATTR_NOSUID | MOUNT_ATTR.MOUNT_ATTR_NODEV, SLOT.scaffold),
      this.attachOnSlash('mount.files.attach', SLOT.scaffold),
    ];
    const create = this.O.O_WRONLY | this.O.O_CREAT | this.O.O_EXCL | this.O.O_NOFOLLOW | this.O.O_CLOEXEC;
    for (const file of settings.files) {
      steps.push(this.call('mount.files.create', 'openat', [result(SLOT.scaffold), str(file.name), this.open(create), octal(file.mode)], { saveAs: SLOT.node }));
      if (file.content.length > 0)
        steps.push(this.call('mount.files.write', 'write', [result(SLOT.node), bytes(file.content, `<${file.content.length} bytes>`), imm(file.content.length)]));
      steps.push(this.close('mount.files.close', SLOT.node));
    }
    return steps;
  }

  /** Detaches the scaffold (its files live on in their binds). It is the top mount on '/'. */
  dropScaffold(): ChildStep[] {
    return [
      this.call('mount.files.chdir', 'fchdir', [result(SLOT.scaffold)]),
      this.call('mount.files.detach', 'umount2', [str('.'), flags(UMOUNT.MNT_DETACH, UMOUNT)]),
      this.close('mount.files.close', SLOT.scaffold),
    ];
  }

  /**
   * Missing parents of `target`, made one component at a time inside the root (openat2 the
   * parent in-root, mkdirat in it), then the target itself (kind 'dir', 'file', or
   * 'auto': whatever the bind source in SLOT.source is), then the target opened in-root
   * into SLOT.target.
   */
  target(
    out: EntrySteps,
    origin: string,
    target: TargetPath,
    kind: 'dir' | 'file' | 'auto' | 'existing',
    options: { create: boolean; optional: boolean; source?: string },
  ): void {
    const { create, optional } = options;
    const tolerateMkdir: ErrnoName[] = optional ? ['EEXIST', ...OPTIONAL_TARGET.filter((e) => e !== 'ENOTDIR')] : ['EEXIST'];
    const openParent = (upTo: number): void => {
      const step = this.openInRoot(`${origin}.parent`, SLOT.root, target.components.slice(0, upTo).join('/'), true, SLOT.parent);
      if (optional) out.addSkipping({ ...step, tolerate: OPTIONAL_TARGET });
      else out.add(step);
    };
    const parents = target.components.slice(0, -1);
    const name = target.components[target.components.length - 1] ?? '';
    if (create && kind !== 'existing') {
      parents.forEach((component, i) => {
        if (i === 0) {
          out.add(this.call(`${origin}.mkdir`, 'mkdirat', [result(SLOT.root), str(component), octal(0o755)], { tolerate: tolerateMkdir }));
          return;
        }
        openParent(i);
        out.add(this.call(`${origin}.mkdir`, 'mkdirat', [result(SLOT.parent), str(component), octal(0o755)], { tolerate: tolerateMkdir }));
        out.add(this.close(`${origin}.close`, SLOT.parent));
      });
      const parent = parents.length === 0 ? SLOT.root : SLOT.parent;
      if (parents.length > 0) openParent(parents.length);
      const mkdir = this.call(`${origin}.mkdir`, 'mkdirat', [result(parent), str(name), octal(0o755)], { tolerate: tolerateMkdir });
      const mknod = this.call(`${origin}.mknod`, 'mknodat', [result(parent), str(name), octal(S_IFREG | 0o644), imm(0)], { tolerate: tolerateMkdir });
      if (kind === 'dir') out.add(mkdir);
      else if (kind === 'file') out.add(mknod);
      else {
        // The source decides: "." resolves below a directory and fails with ENOTDIR below a
        // file. The runner only skips forward, so a step that always fails (close(-1))
        // jumps over the file branch.
        out.add(this.call(`${origin}.isDir`, 'faccessat', [result(options.source ?? SLOT.source), str('.'), imm(F_OK)], { tolerate: ['ENOTDIR'], skipOnTolerated: 2 }));
        out.add(mkdir);
        out.add(this.call(`${origin}.else`, 'close', [imm(-1)], { tolerate: ['EBADF'], skipOnTolerated: 1 }));
        out.add(mknod);
      }
      if (parents.length > 0) out.add(this.close(`${origin}.close`, SLOT.parent));
    }
    const open = this.openInRoot(`${origin}.target`, SLOT.root, target.components.join('/'), kind === 'dir', SLOT.target);
    if (optional) out.addSkipping({ ...open, tolerate: OPTIONAL_TARGET });
    else out.add(open);
  }

  /** The directory that will hold `target`, created if missing: SLOT.root at the top level, else SLOT.target. */
  private parentOf(out: EntrySteps, origin: string, target: TargetPath, create: boolean, optional: boolean): string {
    if (target.components.length === 1) return SLOT.root;
    const components = target.components.slice(0, -1);
    this.target(out, origin, { path: `/${components.join('/')}`, components }, 'dir', { create, optional });
    return SLOT.target;
  }

  entry(entry: EntrySettings, create: boolean): ChildStep[] {
    const out = new EntrySteps();
    switch (entry.type) {
      case 'bind':
        this.bind(out, entry, create);
        break;
      case 'tmpfs':
      case 'proc':
      case 'mqueue':
        this.fs(out, entry, create);
        break;
      case 'dev':
        this.dev(out, entry, create);
        break;
      case 'symlink':
      case 'dir': {
        const parent = this.parentOf(out, entry.origin, entry.target, create, entry.optional);
        const name = entry.target.components.at(-1) ?? '';
        const tolerate: ErrnoName[] = entry.optional ? ['EEXIST', 'EROFS', 'EACCES'] : ['EEXIST'];
        out.add(
          entry.type === 'symlink'
            ? this.call(`${entry.origin}.symlink`, 'symlinkat', [str(entry.to), result(parent), str(name)], { tolerate })
            : this.call(`${entry.origin}.mkdir`, 'mkdirat', [result(parent), str(name), octal(entry.mode)], { tolerate }),
        );
        if (parent !== SLOT.root) out.add(this.close(`${entry.origin}.close`, parent));
        break;
      }
    }
    return out.finish();
  }

  private attrBits(attrs: { nosuid: boolean; nodev: boolean; noexec: boolean }, readonly: boolean): number {
    const A = MOUNT_ATTR;
    return (readonly ? A.MOUNT_ATTR_RDONLY : 0) | (attrs.nosuid ? A.MOUNT_ATTR_NOSUID : 0) | (attrs.nodev ? A.MOUNT_ATTR_NODEV : 0) | (attrs.noexec ? A.MOUNT_ATTR_NOEXEC : 0);
  }

  private bind(out: EntrySteps, entry: BindSettings, create: boolean): void {
    const o = entry.origin;
    const set = this.attrBits(entry.attrs, entry.readonly);
    let source: string = SLOT.source;
    if (entry.idmap) {
      // Made in the prepare stage; with `optional`, a missing source left an errno there.
      source = entry.idmap.slot;
      if (entry.optional) out.addSkipping(this.call(`${o}.source`, 'fcntl', [result(source), imm(F_GETFD)], { tolerate: ['EBADF'] }));
    } else if (entry.source.kind === 'host') {
      const clone = OPEN_TREE.OPEN_TREE_CLONE | OPEN_TREE.OPEN_TREE_CLOEXEC | (entry.recursive ? OPEN_TREE.AT_RECURSIVE : 0);
      const step = this.call(`${o}.source`, 'open_tree', [this.cwd, str(entry.source.path), flags(clone, OPEN_TREE)], { saveAs: source });
      if (entry.optional) out.addSkipping({ ...step, tolerate: OPTIONAL_SOURCE });
      else out.add(step);
      if (set && !entry.walk) out.add(this.setattr(`${o}.attrs`, source, set, entry.recursive));
    } else {
      const clone = OPEN_TREE.OPEN_TREE_CLONE | OPEN_TREE.OPEN_TREE_CLOEXEC;
      out.add(this.call(`${o}.source`, 'open_tree', [result(SLOT.scaffold), str(entry.source.name), flags(clone, OPEN_TREE)], { saveAs: source }));
      if (set && !entry.walk) out.add(this.setattr(`${o}.attrs`, source, set, false));
    }
    this.target(out, o, entry.target, create ? entry.kind : 'existing', { create, optional: entry.optional, source });
    out.add(this.attach(`${o}.attach`, source, SLOT.target));
    out.add(this.close(`${o}.close`, SLOT.target));
    out.add(this.close(`${o}.close`, source));
    if (entry.walk && !entry.idmap) {
      // The target again, now through the attached mount: its root is the bind.
      out.add(this.openInRoot(`${o}.attrs`, SLOT.root, entry.target.components.join('/'), false, SLOT.walk));
      for (const step of this.walk(`${o}.attrs`, SLOT.walk, entry.walk, set)) out.add(step);
      out.add(this.close(`${o}.attrs`, SLOT.walk));
    }
  }

  private fs(out: EntrySteps, entry: FsSettings, create: boolean): void {
    const o = entry.origin;
    this.target(out, o, entry.target, 'dir', { create, optional: entry.optional });
    for (const step of this.newFs(o, entry.type, entry.config, this.attrBits(entry.attrs, entry.readonly), SLOT.mnt)) out.add(step);
    out.add(this.attach(`${o}.attach`, SLOT.mnt, SLOT.target));
    out.add(this.close(`${o}.close`, SLOT.mnt));
    out.add(this.close(`${o}.close`, SLOT.target));
  }

  private dev(out: EntrySteps, entry: FsSettings, create: boolean): void {
    const o = entry.origin;
    const A = MOUNT_ATTR;
    this.target(out, o, entry.target, 'dir', { create, optional: entry.optional });
    for (const step of this.newFs(o, 'tmpfs', [['mode', '0755'], ['size', '65536']], this.attrBits(entry.attrs, false), SLOT.mnt)) out.add(step);
    // Attached first: later binds go into it by fd, and before Linux 6.15 only a mount in
    // the caller's namespace can receive them.
    out.add(this.attach(`${o}.attach`, SLOT.mnt, SLOT.target));
    for (const node of DEV_NODES) {
      const clone = OPEN_TREE.OPEN_TREE_CLONE | OPEN_TREE.OPEN_TREE_CLOEXEC;
      const set = A.MOUNT_ATTR_NOSUID | A.MOUNT_ATTR_NOEXEC;
      const rest: ChildStep[] = [];
      if (!entry.walk) rest.push(this.setattr(`${o}.${node}`, SLOT.node, set, false));
      rest.push(
        this.call(`${o}.${node}`, 'mknodat', [result(SLOT.mnt), str(node), octal(S_IFREG | 0o666), imm(0)]),
        this.attachAt(`${o}.${node}`, SLOT.node, SLOT.mnt, node),
        this.close(`${o}.${node}`, SLOT.node),
      );
      if (entry.walk)
        rest.push(
          this.openBeneath(`${o}.${node}`, SLOT.mnt, node, false, SLOT.walk),
          ...this.walk(`${o}.${node}`, SLOT.walk, entry.walk, set),
          this.close(`${o}.${node}`, SLOT.walk),
        );
      const tree = this.call(`${o}.${node}`, 'open_tree', [this.cwd, str(`/dev/${node}`), flags(clone, OPEN_TREE)], { saveAs: SLOT.node });
      out.add({ ...tree, tolerate: ['ENOENT'], skipOnTolerated: rest.length });
      for (const step of rest) out.add(step);
    }
    out.add(this.call(`${o}.pts`, 'mkdirat', [result(SLOT.mnt), str('pts'), octal(0o755)]));
    for (const step of this.newFs(`${o}.pts`, 'devpts', [['ptmxmode', '0666'], ['mode', '0620']], A.MOUNT_ATTR_NOSUID | A.MOUNT_ATTR_NOEXEC, SLOT.node)) out.add(step);
    out.add(this.attachAt(`${o}.pts`, SLOT.node, SLOT.mnt, 'pts'));
    out.add(this.close(`${o}.pts`, SLOT.node));
    out.add(this.call(`${o}.shm`, 'mkdirat', [result(SLOT.mnt), str('shm'), octal(0o1777)]));
    for (const step of this.newFs(`${o}.shm`, 'tmpfs', [['mode', '1777'], ['size', entry.shmSize ?? '64m']], A.MOUNT_ATTR_NOSUID | A.MOUNT_ATTR_NODEV | A.MOUNT_ATTR_NOEXEC, SLOT.node)) out.add(step);
    out.add(this.attachAt(`${o}.shm`, SLOT.node, SLOT.mnt, 'shm'));
    out.add(this.close(`${o}.shm`, SLOT.node));
    out.add(this.call(`${o}.mqueue`, 'mkdirat', [result(SLOT.mnt), str('mqueue'), octal(0o755)]));
    for (const [link, to] of DEV_LINKS) out.add(this.call(`${o}.${link}`, 'symlinkat', [str(to), result(SLOT.mnt), str(link)]));
    if (entry.readonly) {
      if (this.walking) for (const step of this.remount(`${o}.readonly`, SLOT.mnt, A.MOUNT_ATTR_RDONLY | this.attrBits(entry.attrs, false), false)) out.add(step);
      else out.add(this.setattr(`${o}.readonly`, SLOT.mnt, A.MOUNT_ATTR_RDONLY, false));
    }
    out.add(this.close(`${o}.close`, SLOT.mnt));
    out.add(this.close(`${o}.close`, SLOT.target));
  }

  /**
   * pivot_root(".", ".") from inside the new root: the new root becomes '/', and the old
   * root ends up mounted on top of it, where no path reaches it (lookups start below it,
   * at the new root). It is detached in mountsSeal.
   */
  pivot(): ChildStep[] {
    return [
      this.call('mount.pivot.chdir', 'fchdir', [result(SLOT.root)]),
      this.call('mount.pivot', 'pivot_root', [str('.'), str('.')]),
    ];
  }

  /** Masked and read-only paths, resolved in the (new) root. Missing ones are skipped. */
  masks(): ChildStep[] {
    const A = MOUNT_ATTR;
    const O = this.O;
    const steps: ChildStep[] = [
      this.call('mount.seal.root', 'openat', [this.cwd, str('/'), this.open(O.O_PATH | O.O_DIRECTORY | O.O_CLOEXEC)], { saveAs: SLOT.root }),
    ];
    for (const { path, kind } of MASKED_PATHS) {
      const rel = path.slice(1);
      const open = this.openInRoot('mount.mask', SLOT.root, rel, kind === 'dir', SLOT.target);
      if (kind === 'file') {
        const clone = OPEN_TREE.OPEN_TREE_CLONE | OPEN_TREE.OPEN_TREE_CLOEXEC | OPEN_TREE.AT_EMPTY_PATH;
        steps.push(
          { ...open, tolerate: ['ENOENT'], skipOnTolerated: 4 },
          this.call('mount.mask', 'open_tree', [result(SLOT.devNull), str(''), flags(clone, OPEN_TREE)], { saveAs: SLOT.source }),
          this.attach('mount.mask', SLOT.source, SLOT.target),
          this.close('mount.mask', SLOT.source),
          this.close('mount.mask', SLOT.target),
        );
      } else {
        const fs = this.newFs('mount.mask', 'tmpfs', [], A.MOUNT_ATTR_RDONLY | A.MOUNT_ATTR_NOSUID | A.MOUNT_ATTR_NODEV | A.MOUNT_ATTR_NOEXEC, SLOT.mnt);
        const rest = [...fs, this.attach('mount.mask', SLOT.mnt, SLOT.target), this.close('mount.mask', SLOT.mnt), this.close('mount.mask', SLOT.target)];
        steps.push({ ...open, tolerate: ['ENOENT', 'ENOTDIR'], skipOnTolerated: rest.length }, ...rest);
      }
    }
    for (const path of READONLY_PATHS) {
      const clone = OPEN_TREE.OPEN_TREE_CLONE | OPEN_TREE.OPEN_TREE_CLOEXEC | OPEN_TREE.AT_EMPTY_PATH | OPEN_TREE.AT_RECURSIVE;
      const set = A.MOUNT_ATTR_RDONLY | A.MOUNT_ATTR_NOSUID | A.MOUNT_ATTR_NODEV | A.MOUNT_ATTR_NOEXEC;
      const rest: ChildStep[] = [this.call('mount.readonlyPath', 'open_tree', [result(SLOT.target), str(''), flags(clone, OPEN_TREE)], { saveAs: SLOT.source })];
      if (!this.walking) rest.push(this.setattr('mount.readonlyPath', SLOT.source, set, true));
      rest.push(this.attach('mount.readonlyPath', SLOT.source, SLOT.target), this.close('mount.readonlyPath', SLOT.source), this.close('mount.readonlyPath', SLOT.target));
      // 'walk' mode: the path's own mount. What lies below it is the fresh /proc of the
      // sandbox (no submounts), or a host-readonly root's /proc, whose submounts the root's
      // walk already made read-only, and the clone keeps that.
      if (this.walking)
        rest.push(
          this.openInRoot('mount.readonlyPath', SLOT.root, path.slice(1), false, SLOT.walk),
          ...this.remount('mount.readonlyPath', SLOT.walk, set, false),
          this.close('mount.readonlyPath', SLOT.walk),
        );
      const open = this.openInRoot('mount.readonlyPath', SLOT.root, path.slice(1), false, SLOT.target);
      steps.push({ ...open, tolerate: ['ENOENT'], skipOnTolerated: rest.length }, ...rest);
    }
    steps.push(this.close('mount.seal.close', SLOT.root), this.close('mount.seal.close', SLOT.devNull));
    return steps;
  }

  /** The old root is the topmost mount on '/', which umount2(".") reaches from cwd '/'. */
  detachOldRoot(): ChildStep[] {
    return [
      this.call('mount.oldRoot.chdir', 'chdir', [str('/')]),
      this.call('mount.oldRoot.detach', 'umount2', [str('.'), flags(UMOUNT.MNT_DETACH, UMOUNT)]),
      this.call('mount.oldRoot.chdir', 'chdir', [str('/')]),
    ];
  }

  /**
   * An idmapped detached mount, made before the user namespace (it needs CAP_SYS_ADMIN over
   * the source's filesystem). struct mount_attr carries the namespace as an fd number,
   * which a store step puts there from the saved openat result.
   */
  idmap(entry: BindSettings): ChildStep[] {
    if (!entry.idmap || entry.source.kind !== 'host') return [];
    const o = entry.origin;
    const clone = OPEN_TREE.OPEN_TREE_CLONE | OPEN_TREE.OPEN_TREE_CLOEXEC | (entry.recursive ? OPEN_TREE.AT_RECURSIVE : 0);
    const tree = this.call(`${o}.idmap.source`, 'open_tree', [this.cwd, str(entry.source.path), flags(clone, OPEN_TREE)], { saveAs: entry.idmap.slot });
    const rest: ChildStep[] = [
      this.call(`${o}.idmap.userns`, 'openat', [this.cwd, str(entry.idmap.userns), this.open(this.O.O_RDONLY | this.O.O_CLOEXEC)], { saveAs: SLOT.node }),
      this.setattr(`${o}.idmap`, entry.idmap.slot, this.attrBits(entry.attrs, entry.readonly) | MOUNT_ATTR.MOUNT_ATTR_IDMAP, entry.recursive, SLOT.node),
      this.close(`${o}.idmap.userns`, SLOT.node),
    ];
    return [entry.optional ? { ...tree, tolerate: OPTIONAL_SOURCE, skipOnTolerated: rest.length } : tree, ...rest];
  }
}
