// Checks the `userns` option against the caller and the host, before anything is created.
// Reads process state and /etc/subuid, /etc/subgid and /proc/<pid>; creates nothing.
import { closeSync, openSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { IsoError, describeValue, invalidOptions } from '@iso/core';
import type { IdMapRange } from './maps.js';
import { mapToInside, mapToOutside, readIdMaps } from './maps.js';
import type { HostIds, IdRange, UsernsCredentials, UsernsJoin, UsernsOption, UsernsOptions, UsernsRanges, UsernsSettings } from './options.js';
import { probeSubordinateIds } from './probe.js';
import type { SubordinateProbe } from './probe.js';
import type { SubordinateRange } from './subordinate.js';
import { SUBORDINATE_COUNT, SUBORDINATE_FILES, describeOwner } from './subordinate.js';

const NOBODY: HostIds = { uid: 65534, gid: 65534 };
const MAX_ID = 0xfffffffe; // (uid_t)-1 is "no id"
/** End (exclusive) of a map line: first + count must not wrap a u32. */
const MAX_END = 0xffffffff;
/** Lines per map since Linux 4.15 (5 before). */
export const MAX_MAP_LINES = 340;
/** NGROUPS_MAX. */
const MAX_GROUPS = 65536;

const KEYS = new Set<string>(['inside', 'hostIdsForRoot', 'dangerouslyMapHostRoot', 'ranges', 'user', 'group', 'supplementaryGroups', 'disableNested', 'join']);

/**
 * Host root backs nothing in a sandbox unless the caller said so by name: a target backed
 * by host uid 0 owns what root owns (core_pattern, every root-owned file through a bind).
 */
function refuseHostRoot(ranges: readonly IdRange[], kind: 'uid' | 'gid', path: string, allowed: boolean): void {
  if (allowed) return;
  const covering = ranges.findIndex((r) => r.outside === 0);
  if (covering !== -1)
    throw invalidOptions(
      ranges.length === 1 && path.endsWith('hostIdsForRoot') ? `${path}.${kind}` : `${path}[${covering}]`,
      `maps host ${kind} 0 into the sandbox, so its files would be host root's; use another host id, or set userns.dangerouslyMapHostRoot if you really mean it`,
    );
}

function checkId(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_ID)
    throw invalidOptions(path, `expected an integer id from 0 to ${MAX_ID}, got ${describeValue(value)}`);
  return value;
}

function needsPrivilege(path: string, problem: string): IsoError {
  return new IsoError('ISO_NEEDS_PRIVILEGE', `${path}: ${problem}`, { phase: 'validate', path });
}

/** The ids the namespace maps, and whether setgroups(2) works there; undefined parts are unknown. */
interface Mapped {
  uid?: readonly IdMapRange[];
  gid?: readonly IdMapRange[];
  setgroups?: 'allow' | 'deny';
  /** Why setgroups is denied, for the error. */
  denyReason?: string;
}

const describeRanges = (ranges: readonly IdMapRange[]) =>
  ranges.map((r) => (r.count === 1 ? `${r.inside} → host ${r.outside}` : `${r.inside}-${r.inside + r.count - 1} → host ${r.outside}-${r.outside + r.count - 1}`)).join(', ');

function checkMapped(id: number, ranges: readonly IdMapRange[] | undefined, { kind, path }: { kind: 'uid' | 'gid'; path: string }): void {
  if (ranges === undefined || mapToOutside(ranges, id) !== undefined) return;
  throw invalidOptions(
    path,
    `${kind} ${id} is not mapped in the sandbox's user namespace (it maps ${describeRanges(ranges) || 'nothing'})` +
      (ranges.length === 1 && ranges[0]?.count === 1 ? '; userns.ranges maps more ids' : ''),
  );
}

/** user, group and supplementaryGroups: checked against what is mapped. */
function credentials(given: UsernsOptions, mapped: Mapped, callerIsRoot: boolean): UsernsCredentials | undefined {
  const result: UsernsCredentials = {};
  if (given.user !== undefined) {
    result.user = checkId(given.user, 'userns.user');
    checkMapped(result.user, mapped.uid, { kind: 'uid', path: 'userns.user' });
  }
  if (given.group !== undefined) {
    result.group = checkId(given.group, 'userns.group');
    checkMapped(result.group, mapped.gid, { kind: 'gid', path: 'userns.group' });
  }
  if (given.supplementaryGroups !== undefined) {
    const list: unknown = given.supplementaryGroups;
    if (!Array.isArray(list)) throw invalidOptions('userns.supplementaryGroups', 'expected an array of gids');
    if (list.length > MAX_GROUPS) throw invalidOptions('userns.supplementaryGroups', `at most ${MAX_GROUPS} groups (NGROUPS_MAX)`);
    // Array.from visits the holes of a sparse array, which map() would skip and keep.
    const groups = Array.from(list as unknown[], (gid, i) => checkId(gid, `userns.supplementaryGroups[${i}]`));
    groups.forEach((gid, i) => { checkMapped(gid, mapped.gid, { kind: 'gid', path: `userns.supplementaryGroups[${i}]` }); });
    if (mapped.setgroups === 'deny')
      throw invalidOptions('userns.supplementaryGroups', `setting supplementary groups needs setgroups(2), which ${mapped.denyReason ?? 'this user namespace denies'}`);
    result.groups = groups;
  } else if (!callerIsRoot && mapped.setgroups === 'allow') {
    // The runner still holds the caller's host groups; the target gets none of them.
    result.groups = [];
  }
  return Object.keys(result).length > 0 ? result : undefined;
}

/** An explicit map: 1 to 340 lines of integers, no line wrapping, no overlap inside or outside. */
function checkRanges(value: unknown, path: string): IdRange[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_MAP_LINES)
    throw invalidOptions(path, `expected 1 to ${MAX_MAP_LINES} ranges { inside, outside, count }`);
  const ranges = Array.from(value as unknown[], (entry, i) => {
    const at = `${path}[${i}]`;
    if (typeof entry !== 'object' || entry === null) throw invalidOptions(at, 'expected { inside, outside, count }');
    for (const key of Object.keys(entry)) if (key !== 'inside' && key !== 'outside' && key !== 'count') throw invalidOptions(`${at}.${key}`, 'unknown option');
    const { inside, outside, count } = entry as Record<string, unknown>;
    const range = { inside: checkId(inside, `${at}.inside`), outside: checkId(outside, `${at}.outside`), count: 0 };
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1)
      throw invalidOptions(`${at}.count`, `expected a positive integer, got ${describeValue(count)}`);
    if (range.inside + count > MAX_END || range.outside + count > MAX_END)
      throw invalidOptions(`${at}.count`, `the range ends past id ${MAX_ID}`);
    range.count = count;
    return range;
  });
  for (const side of ['inside', 'outside'] as const) {
    const sorted = [...ranges].sort((a, b) => a[side] - b[side]);
    for (const [i, next] of sorted.entries()) {
      const before = sorted[i - 1];
      if (before && before[side] + before.count > next[side])
        throw invalidOptions(path, `ranges overlap ${side} the namespace at ${next[side]}; the kernel refuses overlapping lines`);
    }
  }
  return ranges;
}

/** Every host id of `ranges` is the caller's own id (one, as the kernel and newuidmap allow) or delegated to it. */
function checkDelegated(ranges: readonly IdRange[], { kind, own }: { kind: 'uid' | 'gid'; own: number }, probe: SubordinateProbe): void {
  const delegated = kind === 'uid' ? probe.subuid : probe.subgid;
  const path = `userns.ranges.${kind}`;
  const file = SUBORDINATE_FILES[kind];
  for (const [i, r] of ranges.entries()) {
    if (r.count === 1 && r.outside === own) continue;
    if (delegated.some((d) => r.outside >= d.start && r.outside + r.count <= d.start + d.count)) continue;
    const yours = delegated.length === 0 ? 'none' : delegated.map((d) => `${d.start}-${d.start + d.count - 1}`).join(', ');
    throw needsPrivilege(
      `${path}[${i}]`,
      `${r.count === 1 ? `host ${kind} ${r.outside} is` : `host ${kind}s ${r.outside}-${r.outside + r.count - 1} are`} neither your own ${kind} ${own} nor delegated to ` +
        `${describeOwner(probe.owner)} in ${file} (yours: ${yours}); only root can map other ids`,
    );
  }
}

/** Whether any gid range uses a subordinate block: newgidmap then leaves setgroups allowed. */
const usesSubordinate = (ranges: readonly IdRange[], own: number) => ranges.some((r) => !(r.count === 1 && r.outside === own));

function overlapsHost(sub: IdRange, host: number): boolean {
  return host >= sub.outside && host < sub.outside + sub.count;
}

/** `ranges`: resolved to map lines, with the setup ids and who writes the maps. */
function resolveRanges(
  given: UsernsOptions,
  base: { inside: 'root' | 'same'; host: HostIds; callerIsRoot: boolean },
  caller: HostIds,
): { ranges: UsernsRanges; host: HostIds; ids: HostIds; mapped: Mapped } {
  const { callerIsRoot } = base;
  const probe = probeSubordinateIds(caller.uid);
  const writer = callerIsRoot ? 'parent' : 'newidmap';
  const helpers = (): Pick<UsernsRanges, 'newuidmap' | 'newgidmap'> => {
    const blockers = probe.reasons.filter((r) => !r.startsWith('no /etc/sub'));
    const { newuidmap, newgidmap } = probe;
    if (blockers.length > 0 || newuidmap === undefined || newgidmap === undefined)
      throw needsPrivilege('userns.ranges', blockers.join('; ') || 'newuidmap and newgidmap are not installed: apt-get install uidmap');
    return { newuidmap, newgidmap };
  };

  if (given.ranges === 'subordinate') {
    if (base.inside === 'same')
      throw invalidOptions('userns.inside', "'same' is for the single mapping; with userns.ranges, choose the target's ids with userns.user and userns.group");
    if (!probe.usable) throw needsPrivilege('userns.ranges', probe.reasons.join('; '));
    const line = (kind: 'uid' | 'gid', sub: SubordinateRange[]): IdRange[] => {
      const [first] = sub;
      if (!first) throw needsPrivilege('userns.ranges', probe.reasons.join('; '));
      const subordinate = { inside: 1, outside: first.start, count: Math.min(first.count, SUBORDINATE_COUNT) };
      const lines = [{ inside: 0, outside: base.host[kind], count: 1 }, subordinate];
      if (overlapsHost(subordinate, base.host[kind]))
        throw invalidOptions(
          callerIsRoot ? 'userns.hostIdsForRoot' : 'userns.ranges',
          `host ${kind} ${base.host[kind]} backs inside 0 and also lies in the subordinate range ${first.start}-${first.start + first.count - 1} of ${SUBORDINATE_FILES[kind]}`,
        );
      return lines;
    };
    const uid = line('uid', probe.subuid);
    const gid = line('gid', probe.subgid);
    const ranges: UsernsRanges = { uid, gid, writer, ...(callerIsRoot ? {} : helpers()) };
    return { ranges, host: base.host, ids: { uid: 0, gid: 0 }, mapped: { uid, gid, setgroups: 'allow' } };
  }

  const explicit: unknown = given.ranges;
  if (typeof explicit !== 'object' || explicit === null || Array.isArray(explicit))
    throw invalidOptions('userns.ranges', "expected 'subordinate' or { uid: [...], gid: [...] }");
  for (const key of Object.keys(explicit)) if (key !== 'uid' && key !== 'gid') throw invalidOptions(`userns.ranges.${key}`, 'unknown option');
  if (given.inside !== undefined) throw invalidOptions('userns.inside', 'explicit userns.ranges decide the inside ids; leave userns.inside out');
  if (given.hostIdsForRoot !== undefined)
    throw invalidOptions('userns.hostIdsForRoot', 'explicit userns.ranges name every host id; leave userns.hostIdsForRoot out');
  const uid = checkRanges((explicit as Record<string, unknown>).uid, 'userns.ranges.uid');
  const gid = checkRanges((explicit as Record<string, unknown>).gid, 'userns.ranges.gid');
  refuseHostRoot(uid, 'uid', 'userns.ranges.uid', given.dangerouslyMapHostRoot === true);
  refuseHostRoot(gid, 'gid', 'userns.ranges.gid', given.dangerouslyMapHostRoot === true);

  if (callerIsRoot) {
    // The runner switches to 0 inside at once, so no later step runs as host root.
    const root = (kind: 'uid' | 'gid', ranges: readonly IdRange[]): number => {
      const outside = mapToOutside(ranges, 0);
      if (outside === undefined)
        throw invalidOptions(`userns.ranges.${kind}`, `must map inside ${kind} 0: a root caller's runner switches to it before any other step`);
      return outside;
    };
    const host = { uid: root('uid', uid), gid: root('gid', gid) };
    return { ranges: { uid, gid, writer }, host, ids: { uid: 0, gid: 0 }, mapped: { uid, gid, setgroups: 'allow' } };
  }
  checkDelegated(uid, { kind: 'uid', own: caller.uid }, probe);
  checkDelegated(gid, { kind: 'gid', own: caller.gid }, probe);
  // The runner keeps the caller's host ids, so they must be mapped: setup runs as whatever they map to.
  const ids = { uid: mapToInside(uid, caller.uid), gid: mapToInside(gid, caller.gid) };
  if (ids.uid === undefined) throw invalidOptions('userns.ranges.uid', `must map your own uid ${caller.uid}: the runner keeps it while it sets up`);
  if (ids.gid === undefined) throw invalidOptions('userns.ranges.gid', `must map your own gid ${caller.gid}: the runner keeps it while it sets up`);
  const setgroups = usesSubordinate(gid, caller.gid) ? 'allow' : 'deny';
  return {
    ranges: { uid, gid, writer, ...helpers() },
    host: caller,
    ids: { uid: ids.uid, gid: ids.gid },
    mapped: { uid, gid, setgroups, denyReason: 'newgidmap denies when the gid map holds only your own gid; add a range from /etc/subgid' },
  };
}

function joinFailure(path: string, join: UsernsJoin, error: NodeJS.ErrnoException): IsoError {
  const what = join.pid === undefined ? join.path : `the user namespace of process ${join.pid}`;
  switch (error.code) {
    case 'ENOENT':
    case 'ESRCH':
      return invalidOptions(path, join.pid === undefined ? `${join.path} does not exist` : `process ${join.pid} is gone (no ${join.path})`);
    case 'EACCES':
    case 'EPERM':
      return needsPrivilege(
        path,
        `cannot open ${join.path} (${error.code}): ${join.pid === undefined ? 'it' : `process ${join.pid}`} belongs to another user ` +
          `or is protected (opening it needs ptrace read access); only root or the owner of ${what} can join it`,
      );
    default:
      return invalidOptions(path, `cannot open ${join.path}: ${error.code ?? String(error)}`);
    case undefined:
      return invalidOptions(path, `cannot open ${join.path}: ${error.message}`);
  }
}

/** A process whose user namespace is the nsfs inode `ino`, or undefined; what /proc lets this caller see. */
function processInNamespace(ino: number, dev: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ns = statSync(`/proc/${entry}/ns/user`);
      if (ns.ino === ino && ns.dev === dev) return Number(entry);
    } catch {
      // gone, or not ours to see
    }
  }
  return undefined;
}

/** `join`: which namespace file, checked for access; its maps when they can be read. */
function resolveJoin(given: UsernsOptions, caller: HostIds): { join: UsernsJoin; host: HostIds; mapped: Mapped } {
  for (const key of ['ranges', 'hostIdsForRoot', 'inside', 'disableNested'] as const)
    if (given[key] !== undefined && !(key === 'disableNested' && !given.disableNested))
      throw invalidOptions(`userns.${key}`, 'cannot be combined with userns.join: a joined user namespace keeps its own maps and limits');
  const target: unknown = given.join;
  let join: UsernsJoin;
  if (typeof target === 'number') {
    if (!Number.isInteger(target) || target < 1) throw invalidOptions('userns.join', `expected a pid (a positive integer), got ${target}`);
    join = { path: `/proc/${target}/ns/user`, pid: target };
  } else if (typeof target === 'string') {
    if (!target.startsWith('/') || target.includes('\0'))
      throw invalidOptions('userns.join', `expected an absolute path of a user namespace file such as /proc/1234/ns/user, got ${JSON.stringify(target)}`);
    const pid = /^\/proc\/(\d+)\/ns\/user$/.exec(target)?.[1];
    join = pid === undefined ? { path: target } : { path: target, pid: Number(pid) };
  } else {
    throw invalidOptions('userns.join', 'expected a pid or the path of a user namespace file such as /proc/1234/ns/user');
  }

  let ino: number;
  try {
    closeSync(openSync(join.path, 'r'));
    ino = statSync(join.path).ino;
  } catch (error) {
    throw joinFailure('userns.join', join, error as NodeJS.ErrnoException);
  }
  let link: string | undefined;
  try {
    link = readlinkSync(join.path);
  } catch {
    link = undefined; // a bind-mounted namespace file is not a link
  }
  const self = statSync('/proc/self/ns/user');
  if (link !== undefined ? !link.startsWith('user:[') : statSync(join.path).dev !== self.dev)
    throw invalidOptions('userns.join', `${join.path} is not a user namespace file${link === undefined ? '' : ` (it is ${link})`}`);
  if (ino === self.ino) throw invalidOptions('userns.join', `this process is already in the user namespace of ${join.path}; there is nothing to join`);

  const callerIsRoot = caller.uid === 0;
  // The maps belong to the namespace, not to the path's spelling: find a process in it.
  // For a root caller this decides whether the sandbox would be host root, so a namespace
  // whose maps cannot be read is refused.
  const member = join.pid ?? processInNamespace(ino, self.dev);
  if (member === undefined) {
    if (callerIsRoot)
      throw invalidOptions(
        'userns.join',
        `no process is in the user namespace of ${join.path}, so its id maps cannot be read to check that its 0 is not host root; join it through a process in it (a pid)`,
      );
    return { join, host: caller, mapped: {} };
  }
  join.pid = member;
  let maps;
  try {
    maps = readIdMaps(member);
  } catch (error) {
    throw joinFailure('userns.join', join, { name: 'Error', message: String(error), code: (error as IsoError).code });
  }
  join.maps = maps;
  const root = (kind: 'uid' | 'gid'): number => {
    const outside = mapToOutside(maps[kind], 0);
    if (outside === undefined)
      throw invalidOptions('userns.join', `the user namespace of process ${join.pid} does not map ${kind} 0, which the runner switches to after joining`);
    if (callerIsRoot && outside === 0 && given.dangerouslyMapHostRoot !== true)
      throw invalidOptions(
        'userns.join',
        `${kind} 0 of the user namespace of process ${join.pid} is host ${kind} 0: the sandbox would run as host root ` +
          '(owner of every root file); join a namespace whose 0 maps to an unprivileged id, or set userns.dangerouslyMapHostRoot',
      );
    return outside;
  };
  const host = { uid: root('uid'), gid: root('gid') };
  return {
    join,
    host,
    mapped: { uid: maps.uid, gid: maps.gid, setgroups: maps.setgroups, denyReason: `process ${join.pid}'s user namespace denies (its /proc/${join.pid}/setgroups is 'deny')` },
  };
}

/**
 * Checks the `userns` option against the caller; undefined when the feature is off.
 * Throws ISO_INVALID_OPTIONS naming the option path, or ISO_NEEDS_PRIVILEGE when what
 * the options ask for needs a delegation this caller lacks (a /etc/subuid line, the
 * uidmap package, another user's namespace). Reads /etc/subuid, /etc/subgid and /proc.
 */
export function normalizeUsernsOptions(
  option: UsernsOption | undefined,
  caller: HostIds = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
): UsernsSettings | undefined {
  if (option === undefined || option === false) return undefined;
  const given: unknown = option === true ? {} : option;
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw invalidOptions('userns', 'expected true, false or an object');
  for (const key of Object.keys(given)) if (!KEYS.has(key)) throw invalidOptions(`userns.${key}`, 'unknown option');
  const options = given as UsernsOptions;
  if (options.disableNested !== undefined && typeof options.disableNested !== 'boolean')
    throw invalidOptions('userns.disableNested', 'expected a boolean');
  const callerIsRoot = caller.uid === 0;

  if (options.join !== undefined) {
    const { join, host, mapped } = resolveJoin(options, caller);
    const settings: UsernsSettings = { inside: 'root', host, ids: { uid: 0, gid: 0 }, callerIsRoot, join };
    const creds = credentials(options, mapped, callerIsRoot);
    if (creds) settings.credentials = creds;
    return settings;
  }

  const inside = options.inside ?? 'root';
  if (inside !== 'root' && inside !== 'same')
    throw invalidOptions('userns.inside', `expected 'root' or 'same', got ${describeValue(inside)}`);
  if (options.hostIdsForRoot !== undefined && !callerIsRoot)
    throw invalidOptions('userns.hostIdsForRoot', 'only a root caller can choose the backing ids; others are backed by their own');
  const chosen: unknown = options.hostIdsForRoot ?? NOBODY;
  if (typeof chosen !== 'object' || chosen === null) throw invalidOptions('userns.hostIdsForRoot', 'expected { uid, gid }');
  for (const key of Object.keys(chosen))
    if (key !== 'uid' && key !== 'gid') throw invalidOptions(`userns.hostIdsForRoot.${key}`, 'unknown option');
  const backing = chosen as Record<string, unknown>;
  const host = callerIsRoot
    ? { uid: checkId(backing.uid, 'userns.hostIdsForRoot.uid'), gid: checkId(backing.gid, 'userns.hostIdsForRoot.gid') }
    : caller;
  const hostRootAllowed = options.dangerouslyMapHostRoot ?? false;
  if (typeof hostRootAllowed !== 'boolean')
    throw invalidOptions('userns.dangerouslyMapHostRoot', `expected a boolean, got ${describeValue(hostRootAllowed)}`);
  for (const kind of ['uid', 'gid'] as const)
    refuseHostRoot([{ inside: 0, outside: host[kind], count: 1 }], kind, 'userns.hostIdsForRoot', hostRootAllowed || !callerIsRoot);

  let settings: UsernsSettings;
  let mapped: Mapped;
  if (options.ranges !== undefined) {
    const resolved = resolveRanges(options, { inside, host, callerIsRoot }, caller);
    settings = { inside, host: resolved.host, ids: resolved.ids, callerIsRoot, ranges: resolved.ranges };
    mapped = resolved.mapped;
  } else {
    const ids = inside === 'root' ? { uid: 0, gid: 0 } : host;
    settings = { inside, host, ids, callerIsRoot };
    mapped = {
      uid: [{ inside: ids.uid, outside: host.uid, count: 1 }],
      gid: [{ inside: ids.gid, outside: host.gid, count: 1 }],
      setgroups: callerIsRoot ? 'allow' : 'deny',
      denyReason:
        "the kernel denies in the rootless single mapping (a non-root process may write its own gid_map only after writing 'deny' " +
        "to /proc/self/setgroups); use userns.ranges: 'subordinate', whose maps newgidmap writes from /etc/subgid",
    };
  }
  if (options.disableNested === true) settings.disableNested = true;
  const creds = credentials(options, mapped, callerIsRoot);
  if (creds) settings.credentials = creds;
  return settings;
}
