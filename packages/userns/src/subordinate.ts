// Subordinate ids (/etc/subuid, /etc/subgid, or an NSS module through getsubids) and the
// setuid helpers that use them (newuidmap, newgidmap from shadow's uidmap package). Reads
// files and runs getsubids; no koffi.
import { execFileSync } from 'node:child_process';
import { accessSync, constants as fs, readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';

/** One delegated block of host ids: `count` ids from `start`. */
export interface SubordinateRange {
  start: number;
  count: number;
}

/** Who the ranges are for: shadow matches a line by user name, then by uid. */
export interface SubordinateOwner {
  uid: number;
  /** The user name from the passwd database; undefined when the uid has no entry. */
  name: string | undefined;
}

export type SubordinateKind = 'uid' | 'gid';

export const SUBORDINATE_FILES: Readonly<Record<SubordinateKind, string>> = { uid: '/etc/subuid', gid: '/etc/subgid' };

/** How many subordinate ids `ranges: 'subordinate'` maps (inside 1 to 65536). */
export const SUBORDINATE_COUNT = 65536;

const NUMBER = /^\d+$/;

/**
 * The ranges of `owner` in the text of /etc/subuid or /etc/subgid (`name:start:count`
 * lines): lines naming the user first, then lines giving its uid, each in file order, as
 * shadow's newuidmap looks them up. Malformed lines are skipped, as shadow skips them.
 */
export function parseSubordinateFile(text: string, owner: SubordinateOwner): SubordinateRange[] {
  const byName: SubordinateRange[] = [];
  const byUid: SubordinateRange[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(':');
    if (fields.length !== 3) continue;
    const [who, start, count] = fields as [string, string, string];
    if (!NUMBER.test(start) || !NUMBER.test(count)) continue;
    const range = { start: Number(start), count: Number(count) };
    if (range.count < 1 || range.start + range.count > 2 ** 32) continue;
    if (owner.name !== undefined && who === owner.name) byName.push(range);
    else if (NUMBER.test(who) && Number(who) === owner.uid) byUid.push(range);
  }
  return [...byName, ...byUid];
}

export const NSSWITCH_FILE = '/etc/nsswitch.conf';

/**
 * The NSS module shadow's libsubid reads subordinate ids from (`subid: sss` in
 * nsswitch.conf), or undefined when they come from /etc/subuid and /etc/subgid: no
 * `subid:` line, or `subid: files`. libsubid uses one module, the first listed.
 */
export function subidModule(nsswitch = NSSWITCH_FILE): string | undefined {
  let text: string;
  try {
    text = readFileSync(nsswitch, 'utf8');
  } catch {
    return undefined;
  }
  for (const raw of text.split('\n')) {
    const match = /^\s*subid\s*:\s*([^\s#]+)/.exec(raw);
    if (match) return match[1] === 'files' ? undefined : match[1];
  }
  return undefined;
}

/** The ranges in getsubids output (`0: name start count` lines, in libsubid's order). */
export function parseGetsubidsOutput(text: string): SubordinateRange[] {
  const ranges: SubordinateRange[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*\d+:\s+\S+\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (!match) continue;
    const range = { start: Number(match[1]), count: Number(match[2]) };
    if (range.count >= 1 && range.start + range.count <= 2 ** 32) ranges.push(range);
  }
  return ranges;
}

export interface SubordinateSource {
  /** nsswitch.conf, which says whether an NSS module provides the ids. @defaultValue NSSWITCH_FILE */
  nsswitch?: string;
  /** Where to look for getsubids. @defaultValue the standard directories, then PATH */
  helperDirs?: readonly string[];
}

/**
 * Reads the ranges of `owner`: from the system file, or, when nsswitch.conf names a
 * `subid` module, through shadow's getsubids, which asks that module as newuidmap will.
 * An unreadable file, a missing getsubids or a failing module gives none.
 */
export function readSubordinateRanges(
  kind: SubordinateKind,
  owner: SubordinateOwner,
  file = SUBORDINATE_FILES[kind],
  source: SubordinateSource = {},
): SubordinateRange[] {
  if (file === SUBORDINATE_FILES[kind] && subidModule(source.nsswitch) !== undefined) {
    const getsubids = findHelper('getsubids', source.helperDirs);
    if (getsubids === undefined) return [];
    try {
      const args = [...(kind === 'gid' ? ['-g'] : []), owner.name ?? String(owner.uid)];
      return parseGetsubidsOutput(execFileSync(getsubids, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }));
    } catch {
      return []; // getsubids exits 1 for a user without ranges
    }
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return parseSubordinateFile(text, owner);
}

/** The caller as shadow sees it: its uid and user name. */
export function currentOwner(uid: number = process.getuid?.() ?? 0): SubordinateOwner {
  if (uid === (process.getuid?.() ?? 0)) {
    try {
      return { uid, name: userInfo().username };
    } catch {
      return { uid, name: undefined };
    }
  }
  return { uid, name: lookupUserName(uid) };
}

function lookupUserName(uid: number): string | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const fields = line.split(':');
      if (fields.length >= 3 && fields[2] === String(uid)) return fields[0];
    }
  } catch {
    // no passwd file: fall through
  }
  return undefined;
}

/**
 * A free block to suggest in an error: 65536 ids from the first multiple of 65536 at
 * or above both 100000 (useradd's SUB_UID_MIN) rounded up and the end of every line
 * already in the file.
 */
export function suggestRange(kind: SubordinateKind, file = SUBORDINATE_FILES[kind]): SubordinateRange {
  let end = 100000;
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [, start, count] = line.trim().split(':');
      if (start !== undefined && count !== undefined && NUMBER.test(start) && NUMBER.test(count))
        end = Math.max(end, Number(start) + Number(count));
    }
  } catch {
    // no file yet
  }
  return { start: Math.ceil(end / SUBORDINATE_COUNT) * SUBORDINATE_COUNT, count: SUBORDINATE_COUNT };
}

/** "nobody (uid 65534)", or "uid 1234" without a passwd entry. */
export function describeOwner(owner: SubordinateOwner): string {
  return owner.name === undefined ? `uid ${owner.uid}` : `${owner.name} (uid ${owner.uid})`;
}

/** The message for a missing entry: which file, which line to add, and the usermod command. */
export function missingEntryMessage(kind: SubordinateKind, owner: SubordinateOwner, source: SubordinateSource = {}): string {
  const file = SUBORDINATE_FILES[kind];
  const module = subidModule(source.nsswitch);
  if (module !== undefined) {
    const where = `subordinate ${kind}s come from the NSS module "${module}" (subid: in ${source.nsswitch ?? NSSWITCH_FILE})`;
    if (findHelper('getsubids', source.helperDirs) === undefined)
      return `${where}, and getsubids, which reads them, is not installed: apt-get install uidmap (Debian, Ubuntu), dnf install shadow-utils-subid (Fedora)`;
    return `${where}, and it has none for ${describeOwner(owner)}: ask for a range where that module keeps them, or give explicit ranges`;
  }
  const { start, count } = suggestRange(kind);
  const who = owner.name ?? String(owner.uid);
  const flag = kind === 'uid' ? '--add-subuids' : '--add-subgids';
  return (
    `no ${file} entry for ${describeOwner(owner)}: as root, add a line such as "${who}:${start}:${count}" to ${file} ` +
    `(usermod ${flag} ${start}-${start + count - 1} ${who})`
  );
}

const HELPER_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin', '/run/wrappers/bin'];

/** Where newuidmap or newgidmap is installed, or undefined. By default standard directories first, then PATH. */
export function findHelper(
  name: 'newuidmap' | 'newgidmap' | 'getsubids',
  dirs: readonly string[] = [...HELPER_DIRS, ...(process.env.PATH ?? '').split(':').filter((dir) => dir.startsWith('/'))],
): string | undefined {
  for (const dir of dirs) {
    const path = `${dir.replace(/\/+$/, '')}/${name}`;
    try {
      if (!statSync(path).isFile()) continue;
      accessSync(path, fs.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Whether `path` is setuid root (how Debian and Ubuntu ship the helpers; Fedora uses file capabilities). */
export function isSetuidRoot(path: string): boolean {
  try {
    const stat = statSync(path);
    return stat.uid === 0 && (stat.mode & 0o4000) !== 0; // S_ISUID
  } catch {
    return false;
  }
}
