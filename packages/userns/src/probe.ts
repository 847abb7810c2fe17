import { readFileSync } from 'node:fs';
import { CLONE, IsoError, buildProgram, flags, hostArch, launch } from '@iso/core';
import type { FeatureProbe } from '@iso/core';
import type { SubordinateOwner, SubordinateRange } from './subordinate.js';
import { currentOwner, findHelper, isSetuidRoot, missingEntryMessage, readSubordinateRanges } from './subordinate.js';

export interface UsernsProbe extends FeatureProbe {
  /** Whether this caller can create a user namespace, as far as the sysctls tell. */
  readonly supported: boolean;
  /** What stands in the way, each with what to change. Empty when supported. */
  readonly reasons: string[];
  sysctls: {
    maxUserNamespaces?: number;
    unprivilegedUsernsClone?: number;
    apparmorRestrictUnprivilegedUserns?: number;
  };
}

function readNumber(path: string): number | undefined {
  try {
    return Number(readFileSync(path, 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** Reads the knobs that govern user namespaces here, and says which one blocks this caller. */
export function probeUserns(uid: number = process.getuid?.() ?? 0): UsernsProbe {
  const sysctls: UsernsProbe['sysctls'] = {};
  const max = readNumber('/proc/sys/user/max_user_namespaces');
  const clone = readNumber('/proc/sys/kernel/unprivileged_userns_clone');
  const apparmor = readNumber('/proc/sys/kernel/apparmor_restrict_unprivileged_userns');
  if (max !== undefined) sysctls.maxUserNamespaces = max;
  if (clone !== undefined) sysctls.unprivilegedUsernsClone = clone;
  if (apparmor !== undefined) sysctls.apparmorRestrictUnprivilegedUserns = apparmor;
  const reasons: string[] = [];
  if (max === undefined) reasons.push('this kernel has no user namespaces (/proc/sys/user/max_user_namespaces is missing; needs CONFIG_USER_NS)');
  else if (max === 0) reasons.push('user.max_user_namespaces is 0; set it above 0 (sysctl -w user.max_user_namespaces=15000)');
  if (uid !== 0 && clone === 0)
    reasons.push('kernel.unprivileged_userns_clone is 0, so only root may create user namespaces; set it to 1 or run as root');
  if (uid !== 0 && apparmor === 1)
    reasons.push(
      "kernel.apparmor_restrict_unprivileged_userns is 1 (Ubuntu): give node an AppArmor profile with the 'userns,' rule, or set the sysctl to 0",
    );
  return { supported: reasons.length === 0, reasons, sysctls };
}

/** Tries it for real: the runner creates a user namespace and exits. Resolves to the errno or 0. */
export async function tryUserns(): Promise<{ supported: boolean; errno: number; code: string | undefined }> {
  const program = buildProgram(
    [{ op: 'syscall', name: 'userns.unshare', syscall: 'unshare', args: [flags(CLONE.CLONE_NEWUSER, CLONE)] }],
    hostArch(),
  );
  const { child, ready } = launch(program, { stdio: ['ignore', 'ignore', 'ignore'] });
  const exited = new Promise<void>((resolve) => child.once('close', () => { resolve(); }));
  try {
    await ready;
    await exited;
    return { supported: true, errno: 0, code: undefined };
  } catch (error) {
    await exited;
    if (error instanceof IsoError && error.errno !== undefined) return { supported: false, errno: error.errno, code: error.code };
    throw error;
  }
}

/** ISO_USERNS_DISABLED for a failed userns.unshare step, naming the knob to turn. */
export function usernsDisabledError(cause: IsoError): IsoError {
  const probe = probeUserns();
  const why = probe.reasons.length
    ? probe.reasons.join('; ')
    : 'no sysctl explains it: a seccomp filter (a container runtime) or a chroot may forbid it';
  return new IsoError('ISO_USERNS_DISABLED', `user namespaces are not available to this process: ${why} (${cause.message})`, {
    ...(cause.errno === undefined ? {} : { errno: cause.errno, errnoCode: cause.code }),
    syscall: 'unshare',
    step: cause.step ?? 'userns.unshare',
    ...(cause.stepIndex === undefined ? {} : { stepIndex: cause.stepIndex }),
    phase: 'child',
    cause,
  });
}

/** What `ranges: 'subordinate'` needs here, and what is missing. */
export interface SubordinateProbe {
  /** Whether multi-range maps can work for this caller, as far as files and process state tell. */
  usable: boolean;
  /** What stands in the way, each saying what to do. Empty when usable. */
  reasons: string[];
  owner: SubordinateOwner;
  /** The caller's lines in /etc/subuid and /etc/subgid, in the order newuidmap uses them. */
  subuid: SubordinateRange[];
  subgid: SubordinateRange[];
  /** The setuid helpers; a root caller needs neither (Node writes its maps). */
  newuidmap?: string;
  newgidmap?: string;
}

const CAP_DAC_OVERRIDE = 1;
const CAP_SETGID = 6;
const CAP_SETUID = 7;
const CAP_SYS_ADMIN = 21;

interface HelperBlockers {
  noNewPrivs: boolean;
  /** Capabilities missing from this process's bounding set that a setuid-root helper may need. */
  missing: string[];
}

/** What keeps a setuid-root helper started by this process from gaining privilege. */
function helperBlockers(): HelperBlockers {
  let status = '';
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return { noNewPrivs: false, missing: [] };
  }
  const field = (name: string) => status.split('\n').find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1).trim();
  const bounding = BigInt(`0x${field('CapBnd') ?? 'ffffffffffffffff'}`);
  const missing = (
    [
      ['CAP_SETUID', CAP_SETUID],
      ['CAP_SETGID', CAP_SETGID],
      ['CAP_SYS_ADMIN', CAP_SYS_ADMIN],
      ['CAP_DAC_OVERRIDE', CAP_DAC_OVERRIDE],
    ] as const
  )
    .filter(([, bit]) => ((bounding >> BigInt(bit)) & 1n) === 0n)
    .map(([name]) => name);
  return { noNewPrivs: field('NoNewPrivs') === '1', missing };
}

/**
 * Why a setuid-root newuidmap started by this process may get no privilege, or undefined.
 * Debian's build needs CAP_SETUID (CAP_SETGID for newgidmap), CAP_SYS_ADMIN and
 * CAP_DAC_OVERRIDE, and a process can never gain a capability outside its bounding set.
 */
export function helperPrivilegeHint(): string | undefined {
  const { noNewPrivs, missing } = helperBlockers();
  if (noNewPrivs) return 'this process runs with no_new_privs, so setuid programs such as newuidmap gain no privilege';
  if (missing.length > 0)
    return (
      `this process's capability bounding set lacks ${missing.join(', ')}, so the setuid-root newuidmap and newgidmap ` +
      'cannot gain what they need to write the maps (setpriv --bounding-set=-all or a container dropped them; ' +
      'keep the full bounding set for the Node process)'
    );
  return undefined;
}

/**
 * Reads what multi-range maps need for `uid` (by default the caller): its ranges (lines
 * in /etc/subuid and /etc/subgid, or, when nsswitch.conf names a `subid` module, what
 * getsubids reports) and, for non-root callers, newuidmap and newgidmap (looked up in
 * `helperDirs`, by default the standard directories, then PATH) and whether this process
 * may gain privilege through them. Reads files, and may run getsubids.
 */
export function probeSubordinateIds(uid: number = process.getuid?.() ?? 0, options: { helperDirs?: readonly string[]; nsswitch?: string } = {}): SubordinateProbe {
  const owner = currentOwner(uid);
  const source = { ...(options.nsswitch === undefined ? {} : { nsswitch: options.nsswitch }), ...(options.helperDirs === undefined ? {} : { helperDirs: options.helperDirs }) };
  const subuid = readSubordinateRanges('uid', owner, undefined, source);
  const subgid = readSubordinateRanges('gid', owner, undefined, source);
  const reasons: string[] = [];
  if (subuid.length === 0) reasons.push(missingEntryMessage('uid', owner, source));
  if (subgid.length === 0) reasons.push(missingEntryMessage('gid', owner, source));
  const probe: SubordinateProbe = { usable: false, reasons, owner, subuid, subgid };
  if (uid !== 0) {
    const newuidmap = findHelper('newuidmap', options.helperDirs);
    const newgidmap = findHelper('newgidmap', options.helperDirs);
    if (newuidmap) probe.newuidmap = newuidmap;
    if (newgidmap) probe.newgidmap = newgidmap;
    const absent = [newuidmap ? undefined : 'newuidmap', newgidmap ? undefined : 'newgidmap'].filter((n) => n !== undefined);
    if (absent.length > 0)
      reasons.push(
        `${absent.join(' and ')} ${absent.length > 1 ? 'are' : 'is'} not installed, and a non-root process needs ` +
          'them to map more than its own id: apt-get install uidmap (Debian, Ubuntu), dnf install shadow-utils (Fedora)',
      );
    if (owner.name === undefined) reasons.push(`uid ${uid} has no passwd entry, and newuidmap refuses a user without a name`);
    const { noNewPrivs, missing } = helperBlockers();
    const setuid = [newuidmap, newgidmap].some((path) => path !== undefined && isSetuidRoot(path));
    // Without CAP_SETUID or CAP_SETGID in the bounding set no build can work; the rest is a hint on failure.
    const fatal = missing.filter((name) => name === 'CAP_SETUID' || name === 'CAP_SETGID');
    if (noNewPrivs || (setuid && fatal.length > 0)) reasons.push(helperPrivilegeHint() ?? 'newuidmap cannot gain privilege here');
  }
  probe.usable = reasons.length === 0;
  return probe;
}
