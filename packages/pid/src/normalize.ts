import { invalidOptions } from '@iso/core';
import type { PidOption, PidSettings } from './options.js';

/** Checks the `pid` option; undefined when it is off. Throws ISO_INVALID_OPTIONS. */
export function normalizePidOptions(option: PidOption | undefined): PidSettings | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return { asPid1: false, mountProc: true };
  if (typeof option !== 'object' || option === null) throw invalidOptions('pid', 'expected true, false or an object');
  for (const [key, value] of Object.entries(option)) {
    if (key !== 'asPid1' && key !== 'mountProc') throw invalidOptions(`pid.${key}`, 'unknown option');
    if (typeof value !== 'boolean') throw invalidOptions(`pid.${key}`, 'expected a boolean');
  }
  return { asPid1: option.asPid1 ?? false, mountProc: option.mountProc ?? true };
}
