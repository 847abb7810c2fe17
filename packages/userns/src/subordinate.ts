// Subordinate ids (/etc/subuid, /etc/subgid) and the setuid helpers that use them
// (newuidmap, newgidmap from shadow's uidmap package). Reads files; no koffi.
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

/** Reads the ranges of `owner` from the system file; an unreadable or missing file has none. */
export function readSubordinateRanges(kind: SubordinateKind, owner: SubordinateOwner, file = SUBORDINATE_FILES[kind]): SubordinateRange[] {
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
export function missingEntryMessage(kind: SubordinateKind, owner: SubordinateOwner): string {
  const file = SUBORDINATE_FILES[kind];
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
  name: 'newuidmap' | 'newgidmap',
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
