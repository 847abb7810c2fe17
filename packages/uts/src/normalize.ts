import { invalidOptions } from '@iso/core';
import type { UtsOption, UtsSettings } from './options.js';

/** The kernel's limit for both names (__NEW_UTS_LEN). */
export const MAX_NAME_BYTES = 64;

function checkName(value: unknown, path: string): string {
  if (typeof value !== 'string') throw invalidOptions(path, 'expected a string');
  const size = Buffer.byteLength(value);
  if (size === 0 || size > MAX_NAME_BYTES) throw invalidOptions(path, `must be 1 to ${MAX_NAME_BYTES} bytes, got ${size}`);
  if (/[\0\n/]/.test(value)) throw invalidOptions(path, 'must not contain NUL, newline or "/"');
  return value;
}

/** Checks the `uts` option; undefined when it is off. Throws ISO_INVALID_OPTIONS. */
export function normalizeUtsOptions(option: UtsOption | undefined): UtsSettings | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return {};
  if (typeof option !== 'object' || option === null) throw invalidOptions('uts', 'expected true, false or an object');
  const out: UtsSettings = {};
  for (const [key, value] of Object.entries(option)) {
    if (key === 'hostname') out.hostname = checkName(value, 'uts.hostname');
    else if (key === 'domainname') out.domainname = checkName(value, 'uts.domainname');
    else throw invalidOptions(`uts.${key}`, 'unknown option');
  }
  return out;
}
