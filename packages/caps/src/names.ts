import { readFileSync } from 'node:fs';
import { IsoError, unsupportedPlatform } from '@iso/core';
import type { FlagTable } from '@iso/core';

/**
 * Every capability, by number (include/uapi/linux/capability.h, Linux 6.18). The index is
 * the capability's number. Kept in kernel order: never sort or insert.
 */
export const CAP_NAMES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

/** A capability's canonical name, as the kernel headers and the OCI spec spell it. */
export type CapName = (typeof CAP_NAMES)[number];
/** A name without the CAP_ prefix, as Docker's --cap-add takes it: 'NET_ADMIN'. */
export type ShortCapName = CapName extends `CAP_${infer Rest}` ? Rest : never;
/** Every spelling options accept: 'CAP_NET_ADMIN', 'NET_ADMIN', 'cap_net_admin' or 'net_admin'. */
export type CapNameInput = CapName | ShortCapName | Lowercase<CapName> | Lowercase<ShortCapName>;

/** The highest capability number this table names (CAP_CHECKPOINT_RESTORE). */
export const CAP_LAST_KNOWN = CAP_NAMES.length - 1;

/** Name → number, for explain() and for code that wants constants. */
export const CAP: Readonly<Record<CapName, number>> & FlagTable = Object.freeze(
  Object.fromEntries(CAP_NAMES.map((name, n) => [name, n])) as Record<CapName, number>,
);

/** The first kernel with each capability added after Linux 2.6.24 (for error messages). */
const SINCE: Partial<Record<CapName, string>> = {
  CAP_MAC_OVERRIDE: '2.6.25',
  CAP_MAC_ADMIN: '2.6.25',
  CAP_SYSLOG: '2.6.37',
  CAP_WAKE_ALARM: '3.0',
  CAP_BLOCK_SUSPEND: '3.5',
  CAP_AUDIT_READ: '3.16',
  CAP_PERFMON: '5.8',
  CAP_BPF: '5.8',
  CAP_CHECKPOINT_RESTORE: '5.9',
};

const byName = new Map<string, number>();
CAP_NAMES.forEach((name, n) => {
  byName.set(name, n);
  byName.set(name.slice(4), n);
});

/**
 * The number of a capability in any accepted spelling (case-insensitive, CAP_ prefix
 * optional), or undefined for an unknown name.
 */
export function capNumber(name: string): number | undefined {
  return byName.get(name.toUpperCase());
}

/** The canonical name of capability `n`, or undefined past CAP_LAST_KNOWN. */
export function capName(n: number): CapName | undefined {
  return CAP_NAMES[n];
}

/** The first Linux version with capability `n` ('5.8' for CAP_BPF), for the newer ones. */
export function capSince(n: number): string | undefined {
  const name = CAP_NAMES[n];
  return name === undefined ? undefined : SINCE[name];
}

/** A mask with one bit per capability; numbers must be 0 to 63. */
export function capMask(caps: Iterable<CapNameInput | number>): bigint {
  let mask = 0n;
  for (const cap of caps) {
    const n = typeof cap === 'number' ? cap : capNumber(cap);
    if (n === undefined || !Number.isInteger(n) || n < 0 || n > 63) throw new RangeError(`not a capability: ${String(cap)}`);
    mask |= 1n << BigInt(n);
  }
  return mask;
}

/** The numbers of the bits set in a 64-bit mask, lowest first. */
export function capNumbers(mask: bigint): number[] {
  const out: number[] = [];
  for (let n = 0; n < 64; n++) if ((mask >> BigInt(n)) & 1n) out.push(n);
  return out;
}

/** The names of the capabilities in a mask; bits past CAP_LAST_KNOWN have none (see capNumbers). */
export function capNames(mask: bigint): CapName[] {
  return capNumbers(mask).flatMap((n) => CAP_NAMES[n] ?? []);
}

/** Every capability from 0 to `last`. */
export function fullCapMask(last: number): bigint {
  return (1n << BigInt(last + 1)) - 1n;
}

let cachedLastCap: number | undefined;

/**
 * The running kernel's highest capability number, from /proc/sys/kernel/cap_last_cap
 * (Linux 3.2+). Read once. 40 on Linux 5.9 and later.
 */
export function lastCap(): number {
  if (cachedLastCap !== undefined) return cachedLastCap;
  if (process.platform !== 'linux') throw unsupportedPlatform();
  const path = '/proc/sys/kernel/cap_last_cap';
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new IsoError('ISO_UNSUPPORTED_KERNEL', `caps.lastCap: cannot read ${path} (needs Linux 3.2+ with /proc mounted)`, {
      phase: 'probe',
      path,
      cause: error,
    });
  }
  const value = Number(text.trim());
  if (!Number.isInteger(value) || value < 0 || value > 63)
    throw new IsoError('ISO_UNSUPPORTED_KERNEL', `caps.lastCap: unexpected ${path}: ${JSON.stringify(text)}`, { phase: 'probe', path });
  cachedLastCap = value;
  return value;
}
