import { IsoError, readProcFile } from '@iso/core';
import type { ProcessRef } from '@iso/core';
import type { CapName } from './names.js';
import { CAP_LAST_KNOWN, capNames, capNumbers } from './names.js';

/** One capability set of a process. */
export interface CapSetView {
  /** Bit n is capability n, exactly as /proc shows it. */
  mask: bigint;
  names: CapName[];
  /** Set bits past CAP_LAST_KNOWN, which only a newer kernel has; they have no name here. */
  unnamed: number[];
}

export type SeccompMode = 'disabled' | 'strict' | 'filter';

/** The capability-related lines of /proc/<pid>/status. */
export interface ProcessCaps {
  inheritable: CapSetView;
  permitted: CapSetView;
  effective: CapSetView;
  bounding: CapSetView;
  /** Linux 4.3+; undefined on older kernels, which have no ambient set. */
  ambient: CapSetView | undefined;
  /** The no_new_privs bit (the line exists since Linux 4.10). */
  noNewPrivs: boolean | undefined;
  /** The seccomp mode (the line exists since Linux 3.8 with CONFIG_SECCOMP). */
  seccomp: SeccompMode | undefined;
  /** How many seccomp filters are attached (Linux 5.9+). */
  seccompFilters: number | undefined;
}

/** A view of one mask: its names, and the numbers of any bits this table cannot name. */
export function capSetView(mask: bigint): CapSetView {
  return { mask, names: capNames(mask), unnamed: capNumbers(mask).filter((n) => n > CAP_LAST_KNOWN) };
}

const SECCOMP_MODES: readonly SeccompMode[] = ['disabled', 'strict', 'filter'];

/**
 * Parses the text of a /proc/<pid>/status file (read here, or printed by a process
 * inside a sandbox with `cat /proc/self/status`). Throws when a set every Linux has
 * (CapInh, CapPrm, CapEff, CapBnd) is missing or malformed.
 */
export function parseCapStatus(text: string, source = 'status'): ProcessCaps {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  const mask = (key: string): bigint | undefined => {
    const value = fields.get(key);
    if (value === undefined) return undefined;
    if (!/^[0-9a-fA-F]{1,16}$/.test(value))
      throw new IsoError('ISO_SYSCALL_FAILED', `caps.status: ${source} has a malformed ${key} line: ${JSON.stringify(value)}`, {
        phase: 'in-process',
        path: source,
      });
    return BigInt(`0x${value}`);
  };
  const required = (key: string): CapSetView => {
    const value = mask(key);
    if (value === undefined)
      throw new IsoError('ISO_SYSCALL_FAILED', `caps.status: ${source} has no ${key} line`, { phase: 'in-process', path: source });
    return capSetView(value);
  };
  const number = (key: string): number | undefined => {
    const value = fields.get(key);
    return value === undefined || !/^\d+$/.test(value) ? undefined : Number(value);
  };
  const ambient = mask('CapAmb');
  const noNewPrivs = number('NoNewPrivs');
  const seccomp = number('Seccomp');
  return {
    inheritable: required('CapInh'),
    permitted: required('CapPrm'),
    effective: required('CapEff'),
    bounding: required('CapBnd'),
    ambient: ambient === undefined ? undefined : capSetView(ambient),
    noNewPrivs: noNewPrivs === undefined ? undefined : noNewPrivs === 1,
    seccomp: seccomp === undefined ? undefined : SECCOMP_MODES[seccomp],
    seccompFilters: number('Seccomp_filters'),
  };
}

/**
 * The five capability sets of a process, with no_new_privs and its seccomp mode, from
 * /proc/<pid>/status. Capabilities are per thread: this reads the thread-group leader
 * (for 'self', Node's main thread) unless `tid` names another thread of `pid`.
 */
export function readProcessCaps(pid: ProcessRef = 'self', tid?: number): ProcessCaps {
  const rest = tid === undefined ? 'status' : `task/${tid}/status`;
  const text = readProcFile(pid, rest, 'caps.readProcessCaps');
  return parseCapStatus(text, `/proc/${String(pid)}/${rest}`);
}
