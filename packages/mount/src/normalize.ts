// Checks the `mount` option against the kernel and the caller, and fills in defaults:
// options in, settings out, or a typed error before anything exists. It reads the host's
// top level and mount table only when the settings must hold them (hosttree.ts).
import { release } from 'node:os';
import { IsoError, describeValue, invalidOptions, kernelAtLeast, kernelVersion } from '@iso/core';
import type { HostFacts } from '@iso/core';
import { FSCONFIG_STRING_MAX, KERNEL, REMOUNT_MS } from './consts.js';
import { onHost, onHostTopLevel, reachableMounts, readTopLevel, walkOf } from './hosttree.js';
import { readMountInfo } from './mountinfo.js';
import type { MountInfoEntry } from './mountinfo.js';
import type {
  BindSettings,
  EntrySettings,
  Walk,
  FileSettings,
  FsSettings,
  MountContext,
  MountEntry,
  MountOption,
  MountSettings,
  RootDefaults,
  RootSettings,
  TargetPath,
} from './options.js';
import { mountPlan } from './plan.js';

export const MAX_ENTRIES = 256;
/** Idmapped entries each hold a prepared mount in a runner slot until the rootfs stage. */
export const MAX_IDMAP_ENTRIES = 4;
/** All `file` contents together; they travel in the program, which is at most 16 MiB. */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;
const MAX_OVERLAY_LOWER = 500;
/** The share of a program's 4096 steps the mount stages may take; the rest is for the other packages. */
export const MAX_MOUNT_STEPS = 3000;
const NAME_MAX = 255;
const PATH_MAX = 4095;

/** No entries beyond the caller's: what normalizeMountOptions() adds on its own. */
const NO_DEFAULTS: RootDefaults = { dev: false, mountPoints: [] };

/** The running kernel and caller, as normalizeMountOptions checks options against them. */
export function currentMountContext(): MountContext {
  return { kernelRelease: release(), euid: process.geteuid?.() ?? 0 };
}

/**
 * The MountContext of a feature context's host. HostFacts hold the real uid, and idmapped
 * mounts depend on the effective one, which only this process can tell: it is read when
 * the facts are this process's, else the real uid stands in.
 */
export function mountContextOf(host: HostFacts): MountContext {
  return { kernelRelease: host.kernelRelease, euid: host.euid };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  return describeValue(value);
}

function checkKeys(value: Record<string, unknown>, path: string, allowed: ReadonlySet<string>, other?: (key: string) => string | undefined): void {
  for (const key of Object.keys(value)) {
    if (allowed.has(key)) continue;
    throw invalidOptions(`${path}.${key}`, other?.(key) ?? 'unknown option');
  }
}

function checkBoolean(value: unknown, path: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidOptions(path, `expected a boolean, got ${describe(value)}`);
  return value;
}

/** An absolute host path (a bind source, a root directory). */
function checkHostPath(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '') throw invalidOptions(path, `expected an absolute path, got ${describe(value)}`);
  if (value.includes('\0')) throw invalidOptions(path, 'must not contain a NUL byte');
  if (!value.startsWith('/')) throw invalidOptions(path, `must be an absolute path, got ${describe(value)}`);
  if (Buffer.byteLength(value) > PATH_MAX) throw invalidOptions(path, `is longer than ${PATH_MAX} bytes`);
  return value;
}

/**
 * A target in the new root: absolute, no '..', not the root itself. '.' components and
 * repeated or trailing slashes are dropped: '//a/./b/' is 'a/b'.
 */
export function checkTarget(value: unknown, path: string): TargetPath {
  if (typeof value !== 'string' || value === '') throw invalidOptions(path, `expected an absolute path, got ${describe(value)}`);
  if (value.includes('\0')) throw invalidOptions(path, 'must not contain a NUL byte');
  if (!value.startsWith('/')) throw invalidOptions(path, `must be an absolute path in the new root, got ${describe(value)}`);
  const components = value.split('/').filter((c) => c !== '' && c !== '.');
  if (components.includes('..')) throw invalidOptions(path, `must not contain '..' components, got ${describe(value)}`);
  if (components.length === 0) throw invalidOptions(path, 'must not be the root itself');
  for (const component of components)
    if (Buffer.byteLength(component) > NAME_MAX) throw invalidOptions(path, `has a component longer than ${NAME_MAX} bytes`);
  const normalized = `/${components.join('/')}`;
  if (Buffer.byteLength(normalized) > PATH_MAX) throw invalidOptions(path, `is longer than ${PATH_MAX} bytes`);
  return { path: normalized, components };
}

function checkMode(value: unknown, path: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0o7777)
    throw invalidOptions(path, `expected a mode from 0 to 0o7777, got ${describe(value)}`);
  return value;
}

/** A tmpfs size as fsconfig takes it: bytes, or a number with k, m, g or %. */
/** Docker's --shm-size default: /dev/shm pages belong to no process, so the OOM killer cannot free them. */
const DEFAULT_SHM_SIZE = '64m';

function checkSize(value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return String(value);
  if (typeof value === 'string' && /^[1-9]\d*[kmgKMG%]?$/.test(value)) return value;
  throw invalidOptions(path, `expected a positive number of bytes or a string like '64m', got ${describe(value)}`);
}

/** overlayfs splits lowerdir at ':' and the legacy option parser splits at ','; fsconfig takes 255 bytes. */
function checkOverlayPath(value: unknown, path: string): string {
  const dir = checkHostPath(value, path);
  if (/[:,\\\n]/.test(dir)) throw invalidOptions(path, `overlay paths must not contain ':', ',', '\\' or a newline, got ${describe(dir)}`);
  if (Buffer.byteLength(dir) > FSCONFIG_STRING_MAX) throw invalidOptions(path, `overlay paths are at most ${FSCONFIG_STRING_MAX} bytes (fsconfig's limit)`);
  return dir;
}

const ROOT_KEYS = new Set(['dir', 'readonly']);
const OVERLAY_KEYS = new Set(['lower', 'upper', 'size']);

function checkRoot(value: unknown, kernel: readonly [number, number]): RootSettings {
  if (value === 'host-readonly') return { kind: 'host-readonly', top: undefined, walk: undefined };
  if (!isObject(value)) throw invalidOptions('mount.root', `expected 'host-readonly', { dir } or { overlay }, got ${describe(value)}`);
  if ('overlay' in value) {
    checkKeys(value, 'mount.root', new Set(['overlay']));
    const overlay = value.overlay;
    if (!isObject(overlay)) throw invalidOptions('mount.root.overlay', 'expected { lower, upper?, size? }');
    checkKeys(overlay, 'mount.root.overlay', OVERLAY_KEYS);
    const lower = overlay.lower;
    if (!Array.isArray(lower) || lower.length === 0 || lower.length > MAX_OVERLAY_LOWER)
      throw invalidOptions('mount.root.overlay.lower', `expected 1 to ${MAX_OVERLAY_LOWER} absolute paths`);
    // Array.from visits the holes of a sparse array, which map() would skip.
    const lowers = Array.from(lower as unknown[], (dir, i) => checkOverlayPath(dir, `mount.root.overlay.lower[${i}]`));
    const lowerOption = kernelAtLeast(kernel, KERNEL.overlayLowerAppend) ? 'lowerdir+' : 'lowerdir';
    if (lowerOption === 'lowerdir' && Buffer.byteLength(lowers.join(':')) > FSCONFIG_STRING_MAX)
      throw invalidOptions('mount.root.overlay.lower', `before Linux 6.8 the lower dirs joined with ':' must fit in ${FSCONFIG_STRING_MAX} bytes (fsconfig's limit)`);
    const upper = overlay.upper === undefined ? 'tmpfs' : overlay.upper;
    const size = checkSize(overlay.size, 'mount.root.overlay.size');
    if (upper === 'tmpfs') return { kind: 'overlay', lower: lowers, lowerOption, upper: { kind: 'tmpfs', size } };
    if (!isObject(upper)) throw invalidOptions('mount.root.overlay.upper', `expected 'tmpfs' or { dir, work }, got ${describe(upper)}`);
    checkKeys(upper, 'mount.root.overlay.upper', new Set(['dir', 'work']));
    if (size !== undefined) throw invalidOptions('mount.root.overlay.size', "applies only to upper: 'tmpfs'");
    return {
      kind: 'overlay',
      lower: lowers,
      lowerOption,
      upper: { kind: 'dir', dir: checkOverlayPath(upper.dir, 'mount.root.overlay.upper.dir'), work: checkOverlayPath(upper.work, 'mount.root.overlay.upper.work') },
    };
  }
  checkKeys(value, 'mount.root', ROOT_KEYS, () => "unknown option; expected 'host-readonly', { dir, readonly? } or { overlay }");
  return { kind: 'dir', dir: checkHostPath(value.dir, 'mount.root.dir'), readonly: checkBoolean(value.readonly, 'mount.root.readonly', false), walk: undefined };
}

type EntryType = 'bind' | 'ro-bind' | 'tmpfs' | 'proc' | 'dev' | 'mqueue' | 'file' | 'symlink' | 'dir';

const FLAG_KEYS = ['readonly', 'optional', 'nosuid', 'nodev', 'noexec'] as const;
/** The keys each entry type takes, beyond `type` and `target`. */
const ENTRY_KEYS: Record<EntryType, readonly string[]> = {
  bind: ['source', 'recursive', 'idmap', ...FLAG_KEYS],
  'ro-bind': ['source', 'recursive', 'idmap', ...FLAG_KEYS],
  tmpfs: ['size', 'mode', ...FLAG_KEYS],
  proc: FLAG_KEYS,
  dev: ['shmSize', 'readonly', 'optional', 'nosuid', 'noexec'],
  mqueue: FLAG_KEYS,
  file: ['content', 'mode', ...FLAG_KEYS],
  symlink: ['to', 'optional'],
  dir: ['mode', 'optional'],
};
const ENTRY_TYPES = Object.keys(ENTRY_KEYS) as EntryType[];
const ALL_ENTRY_KEYS = new Set(ENTRY_TYPES.flatMap((type) => ENTRY_KEYS[type]));

/** Attribute defaults: nosuid and nodev on, noexec off; proc and mqueue get all three, dev keeps devices. */
const ATTR_DEFAULTS: Record<'bind' | 'tmpfs' | 'proc' | 'dev' | 'mqueue' | 'file', { nosuid: boolean; nodev: boolean; noexec: boolean }> = {
  bind: { nosuid: true, nodev: true, noexec: false },
  tmpfs: { nosuid: true, nodev: true, noexec: false },
  proc: { nosuid: true, nodev: true, noexec: true },
  dev: { nosuid: true, nodev: false, noexec: true },
  mqueue: { nosuid: true, nodev: true, noexec: true },
  file: { nosuid: true, nodev: true, noexec: false },
};

function checkIdmap(value: unknown, path: string, context: MountContext): string {
  if (!isObject(value)) throw invalidOptions(path, 'expected { userns: pid | path }');
  checkKeys(value, path, new Set(['userns']));
  const userns = value.userns;
  let nsPath: string;
  if (typeof userns === 'number') {
    if (!Number.isInteger(userns) || userns <= 0) throw invalidOptions(`${path}.userns`, `expected a pid or a path, got ${describe(userns)}`);
    nsPath = `/proc/${userns}/ns/user`;
  } else {
    nsPath = checkHostPath(userns, `${path}.userns`);
  }
  if (context.euid !== 0)
    throw new IsoError(
      'ISO_NEEDS_PRIVILEGE',
      `${path}: idmapped mounts need root (CAP_SYS_ADMIN over the source's filesystem, in the initial user namespace); the caller is uid ${context.euid}`,
      { phase: 'validate', path },
    );
  return nsPath;
}

interface Collected {
  files: FileSettings[];
  fileBytes: number;
  idmaps: number;
}

/** One entry; `origin` names it in step names and errors ('mount.entries[2]'). */
function checkEntry(value: unknown, origin: string, context: MountContext, withRoot: boolean, collected: Collected): EntrySettings {
  if (!isObject(value)) throw invalidOptions(origin, 'expected an object with a type');
  const type = value.type;
  if (typeof type !== 'string' || !ENTRY_TYPES.includes(type as EntryType))
    throw invalidOptions(`${origin}.type`, `expected one of ${ENTRY_TYPES.map((t) => `'${t}'`).join(', ')}, got ${describe(type)}`);
  const entryType = type as EntryType;
  const allowed = new Set(['type', 'target', ...ENTRY_KEYS[entryType]]);
  checkKeys(value, origin, allowed, (key) => (ALL_ENTRY_KEYS.has(key) ? `does not apply to a ${entryType} entry` : undefined));
  const target = checkTarget(value.target, `${origin}.target`);
  const optional = checkBoolean(value.optional, `${origin}.optional`, false);

  if (!withRoot && (entryType === 'dir' || entryType === 'symlink'))
    throw invalidOptions(`${origin}.type`, `a ${entryType} entry needs mount.root: without a new root iso creates nothing in the host's tree`);

  const attrsOf = (kind: keyof typeof ATTR_DEFAULTS) => {
    const defaults = ATTR_DEFAULTS[kind];
    return {
      nosuid: checkBoolean(value.nosuid, `${origin}.nosuid`, defaults.nosuid),
      nodev: checkBoolean(value.nodev, `${origin}.nodev`, defaults.nodev),
      noexec: checkBoolean(value.noexec, `${origin}.noexec`, defaults.noexec),
    };
  };

  switch (entryType) {
    case 'bind':
    case 'ro-bind': {
      const source = checkHostPath(value.source, `${origin}.source`);
      const recursive = checkBoolean(value.recursive, `${origin}.recursive`, true);
      let idmap: BindSettings['idmap'];
      if (value.idmap !== undefined) {
        if (collected.idmaps >= MAX_IDMAP_ENTRIES) throw invalidOptions(`${origin}.idmap`, `at most ${MAX_IDMAP_ENTRIES} entries may be idmapped`);
        idmap = { userns: checkIdmap(value.idmap, `${origin}.idmap`, context), slot: `mount.idmap${collected.idmaps}` };
        collected.idmaps++;
      }
      return {
        type: 'bind',
        origin,
        target,
        source: { kind: 'host', path: source },
        kind: 'auto',
        recursive,
        readonly: checkBoolean(value.readonly, `${origin}.readonly`, entryType === 'ro-bind'),
        optional,
        attrs: attrsOf('bind'),
        idmap,
        walk: undefined,
      };
    }
    case 'file': {
      const content = value.content;
      let data: Uint8Array;
      if (typeof content === 'string') data = new Uint8Array(Buffer.from(content, 'utf8'));
      else if (content instanceof Uint8Array) data = Uint8Array.from(content);
      else throw invalidOptions(`${origin}.content`, `expected a string or a Uint8Array, got ${describe(content)}`);
      collected.fileBytes += data.length;
      if (collected.fileBytes > MAX_FILE_BYTES) throw invalidOptions(`${origin}.content`, `file contents together exceed ${MAX_FILE_BYTES} bytes`);
      const name = String(collected.files.length);
      collected.files.push({ name, content: data, mode: checkMode(value.mode, `${origin}.mode`, 0o644) });
      return {
        type: 'bind',
        origin,
        target,
        source: { kind: 'scaffold', name },
        kind: 'file',
        recursive: false,
        readonly: checkBoolean(value.readonly, `${origin}.readonly`, false),
        optional,
        attrs: attrsOf('file'),
        idmap: undefined,
        walk: undefined,
      };
    }
    case 'tmpfs':
    case 'proc':
    case 'dev':
    case 'mqueue': {
      const config: [string, string][] = [];
      if (entryType === 'tmpfs') {
        const size = checkSize(value.size, `${origin}.size`);
        if (size !== undefined) config.push(['size', size]);
        config.push(['mode', checkMode(value.mode, `${origin}.mode`, 0o755).toString(8).padStart(4, '0')]);
      }
      const settings: FsSettings = {
        type: entryType,
        origin,
        target,
        readonly: checkBoolean(value.readonly, `${origin}.readonly`, false),
        optional,
        attrs: attrsOf(entryType),
        config,
      };
      if (entryType === 'dev') settings.shmSize = checkSize(value.shmSize, `${origin}.shmSize`) ?? DEFAULT_SHM_SIZE;
      return settings;
    }
    case 'symlink': {
      const to = value.to;
      if (typeof to !== 'string' || to === '') throw invalidOptions(`${origin}.to`, `expected a non-empty string, got ${describe(to)}`);
      if (to.includes('\0')) throw invalidOptions(`${origin}.to`, 'must not contain a NUL byte');
      if (Buffer.byteLength(to) > PATH_MAX) throw invalidOptions(`${origin}.to`, `is longer than ${PATH_MAX} bytes`);
      return { type: 'symlink', origin, target, to, optional };
    }
    case 'dir':
      return { type: 'dir', origin, target, mode: checkMode(value.mode, `${origin}.mode`, 0o755), optional };
  }
}

/**
 * With a host-readonly root, every target must exist on the host or be made where a mount
 * point can be made: at the top level (then the root is built on a tmpfs, and this
 * returns true), or below an earlier entry's target. A missing target deeper in the
 * host's read-only tree is refused here, before anything exists. Optional entries are
 * skipped at run time instead.
 */
function checkHostReadonlyTargets(entries: readonly EntrySettings[]): boolean {
  let topLevel = false;
  const earlier: (readonly string[])[] = [];
  for (const entry of entries) {
    const c = entry.target.components;
    const covered = earlier.some((t) => t.length <= c.length && t.every((x, i) => x === c[i]));
    earlier.push(c);
    if (covered) continue;
    if (!onHostTopLevel(c[0] ?? '')) {
      topLevel = true;
      continue;
    }
    if (entry.optional) continue;
    for (let i = 1; i <= c.length; i++) {
      const path = `/${c.slice(0, i).join('/')}`;
      if (onHost(path)) continue;
      throw invalidOptions(
        `${entry.origin}.target`,
        `${path} does not exist on the host, and a host-readonly root can get new mount points only at its top level (iso never writes the host's tree); ` +
          `use a top-level target (such as /${c.at(-1) ?? ''}), mount a tmpfs entry on a parent first, or use an overlay root`,
      );
    }
  }
  return topLevel;
}

/** The per-mount flags of a bind: what mount_setattr would set, as MS_* for a remount. */
function msBits(attrs: { nosuid: boolean; nodev: boolean; noexec: boolean }): number {
  const M = REMOUNT_MS;
  return (attrs.nosuid ? M.MS_NOSUID : 0) | (attrs.nodev ? M.MS_NODEV : 0) | (attrs.noexec ? M.MS_NOEXEC : 0);
}

/** Fills in what 'walk' mode remounts, from the caller's mount table. */
function planWalks(root: RootSettings | undefined, entries: EntrySettings[], mounts: readonly MountInfoEntry[]): { root: RootSettings | undefined; entries: EntrySettings[] } {
  const walk = (path: string): Walk => walkOf(path, mounts);
  let newRoot = root;
  if (root?.kind === 'host-readonly')
    newRoot = root.top
      ? { ...root, top: root.top.map((entry) => (entry.kind === 'symlink' ? entry : { ...entry, walk: walk(`/${entry.name}`) })) }
      : { ...root, walk: walk('/') };
  else if (root?.kind === 'dir') newRoot = { ...root, walk: walk(root.dir) };
  const out = entries.map((entry): EntrySettings => {
    if (entry.type === 'dev') return { ...entry, walk: { rootFlags: walk('/dev/null').rootFlags, submounts: [] } };
    if (entry.type !== 'bind' || entry.idmap) return entry;
    if (!entry.readonly && msBits(entry.attrs) === 0) return entry;
    if (entry.source.kind === 'scaffold') return { ...entry, walk: { rootFlags: REMOUNT_MS.MS_NOSUID | REMOUNT_MS.MS_NODEV, submounts: [] } };
    return { ...entry, walk: entry.recursive ? walk(entry.source.path) : { ...walk(entry.source.path), submounts: [] } };
  });
  return { root: newRoot, entries: out };
}

/** The target lies at `dir` or below it. */
function atOrBelow(target: TargetPath, dir: TargetPath): boolean {
  return dir.components.length <= target.components.length && dir.components.every((c, i) => c === target.components[i]);
}

/**
 * What a new root gets beyond the caller's entries: a minimal /dev unless an entry is at
 * or below /dev, and a directory for each mount point unless an entry is at or below it.
 * They come after the caller's entries, named `mount.defaults[i]`, so the caller's indexes
 * in errors stay put.
 */
function defaultEntries(entries: readonly EntrySettings[], defaults: RootDefaults): { origin: string; entry: MountEntry }[] {
  const covered = entries.map((e) => e.target);
  const wanted: { origin: string; entry: MountEntry }[] = [];
  const want = (entry: MountEntry) => {
    const origin = `mount.defaults[${wanted.length}]`;
    const place = checkTarget(entry.target, `${origin}.target`);
    if (covered.some((target) => atOrBelow(target, place))) return;
    covered.push(place);
    wanted.push({ origin, entry });
  };
  if (defaults.dev) want({ type: 'dev', target: '/dev' });
  for (const path of defaults.mountPoints) want({ type: 'dir', target: path });
  return wanted;
}

/**
 * Checks the `mount` option against the kernel and the caller; returns undefined when the
 * feature is off. Every problem is thrown here, before anything is created:
 * ISO_INVALID_OPTIONS naming the option ('mount.entries[2].target'), ISO_UNSUPPORTED_KERNEL,
 * or ISO_NEEDS_PRIVILEGE (idmapped mounts for a non-root caller). Adds no entries of its
 * own: the sandbox's defaults for a new root come with mountFeature.
 */
export function normalizeMountOptions(option: MountOption | undefined, context: MountContext = currentMountContext()): MountSettings | undefined {
  return normalizeWithDefaults(option, context, NO_DEFAULTS);
}

/** normalizeMountOptions, plus `defaults` for a new root (see defaultEntries). */
export function normalizeWithDefaults(option: MountOption | undefined, context: MountContext, defaults: RootDefaults): MountSettings | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return { propagation: 'private', root: undefined, entries: [], files: [], masks: false, recursiveReadonly: 'setattr' };
  if (!isObject(option)) throw invalidOptions('mount', 'expected true, false or an object');
  checkKeys(option, 'mount', new Set(['propagation', 'root', 'entries', 'masks', 'recursiveReadonly']));
  const propagation = option.propagation === undefined ? 'private' : option.propagation;
  if (propagation !== 'private' && propagation !== 'slave')
    throw invalidOptions('mount.propagation', `expected 'private' or 'slave', got ${describe(propagation)}`);
  const kernel = kernelVersion(context.kernelRelease) ?? [0, 0];
  let root = option.root === undefined ? undefined : checkRoot(option.root, kernel);
  const list: unknown = option.entries === undefined ? [] : option.entries;
  if (!Array.isArray(list)) throw invalidOptions('mount.entries', 'expected an array of entries');
  if (list.length > MAX_ENTRIES) throw invalidOptions('mount.entries', `at most ${MAX_ENTRIES} entries`);
  const collected: Collected = { files: [], fileBytes: 0, idmaps: 0 };
  // Array.from visits the holes of a sparse array, which map() would skip.
  let entries = Array.from(list as unknown[], (entry, i) => checkEntry(entry, `mount.entries[${i}]`, context, root !== undefined, collected));
  if (root !== undefined)
    for (const { origin, entry } of defaultEntries(entries, defaults)) entries.push(checkEntry(entry, origin, context, true, collected));
  const masks = checkBoolean(option.masks, 'mount.masks', root !== undefined);
  const mode = option.recursiveReadonly === undefined ? 'auto' : option.recursiveReadonly;
  if (mode !== 'auto' && mode !== 'setattr' && mode !== 'walk')
    throw invalidOptions('mount.recursiveReadonly', `expected 'auto', 'setattr' or 'walk', got ${describe(mode)}`);
  const hasSetattr = kernelAtLeast(kernel, KERNEL.mountSetattr);
  const recursiveReadonly = mode === 'auto' ? (hasSetattr ? 'setattr' : 'walk') : mode;

  if (root !== undefined || entries.length > 0 || masks) {
    const what = root !== undefined ? 'mount.root' : entries.length > 0 ? 'mount.entries' : 'mount.masks';
    const need = KERNEL.openat2;
    if (!kernelAtLeast(kernel, need))
      throw new IsoError(
        'ISO_UNSUPPORTED_KERNEL',
        `${what}: a new root, mount entries and masks need Linux ${need.join('.')}+ (open_tree, move_mount and fsmount, and openat2 with RESOLVE_IN_ROOT for safe targets); this is ${context.kernelRelease}`,
        { phase: 'validate', path: what },
      );
    if (recursiveReadonly === 'setattr' && !hasSetattr)
      throw new IsoError(
        'ISO_UNSUPPORTED_KERNEL',
        `mount.recursiveReadonly: 'setattr' needs Linux ${KERNEL.mountSetattr.join('.')}+ (mount_setattr); this is ${context.kernelRelease}; use 'auto' or 'walk'`,
        { phase: 'validate', path: 'mount.recursiveReadonly' },
      );
    const idmapped = entries.find((entry) => entry.type === 'bind' && entry.idmap !== undefined);
    if (idmapped && !hasSetattr)
      throw new IsoError(
        'ISO_UNSUPPORTED_KERNEL',
        `${idmapped.origin}.idmap: idmapped mounts need Linux ${KERNEL.mountSetattr.join('.')}+ (mount_setattr with MOUNT_ATTR_IDMAP); this is ${context.kernelRelease}`,
        { phase: 'validate', path: `${idmapped.origin}.idmap` },
      );
  }
  if (root?.kind === 'host-readonly' && checkHostReadonlyTargets(entries)) root = { ...root, top: readTopLevel() };
  if (recursiveReadonly === 'walk' && (root !== undefined || entries.length > 0)) {
    const walked = planWalks(root, entries, reachableMounts(context.mountInfo ?? readMountInfo()));
    root = walked.root;
    entries = walked.entries;
  }
  const settings: MountSettings = { propagation, root, entries, files: collected.files, masks, recursiveReadonly };
  const steps = Object.values(mountPlan(settings, 'x86_64')).reduce((sum, stage) => sum + stage.length, 0);
  if (steps > MAX_MOUNT_STEPS)
    throw invalidOptions(
      'mount.entries',
      `these entries take ${steps} runner steps, more than the ${MAX_MOUNT_STEPS} a program leaves for mounts; use fewer entries or shallower targets` +
        (recursiveReadonly === 'walk' ? " (recursiveReadonly: 'walk' remounts every host mount below each read-only bind, 4 steps each)" : ''),
    );
  return settings;
}
