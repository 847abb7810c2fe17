import { describeValue, invalidOptions } from '@iso/core';
import type { NetMode, NetOption, NetSettings } from './options.js';

export const NET_MODES: readonly NetMode[] = ['none', 'host'];
/** Modes and keys that are planned but not built: refused by name, never half-done. */
const LATER_MODES = new Set(['bridge', 'nat']);
const LATER_KEYS = new Set(['publish', 'allowDomains']);
const KEYS = new Set(['mode']);

function checkMode(value: unknown, path: string): NetMode {
  if ((NET_MODES as readonly unknown[]).includes(value)) return value as NetMode;
  if (typeof value === 'string' && LATER_MODES.has(value))
    throw invalidOptions(path, `mode '${value}' is not built yet; the modes today are 'none' (loopback only) and 'host' (the host's network)`);
  throw invalidOptions(path, `expected 'none' or 'host', got ${describeValue(value)}`);
}

/**
 * Checks the `net` option; undefined when it is off. `true` means `'none'`. Throws
 * ISO_INVALID_OPTIONS naming the option path, before anything is created.
 */
export function normalizeNetOptions(option: NetOption | undefined): NetSettings | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return { mode: 'none' };
  if (typeof option === 'string') return { mode: checkMode(option, 'net') };
  if (typeof option !== 'object' || option === null || Array.isArray(option))
    throw invalidOptions('net', `expected true, false, 'none', 'host' or an object, got ${describeValue(option)}`);
  for (const key of Object.keys(option)) {
    if (LATER_KEYS.has(key)) throw invalidOptions(`net.${key}`, 'is not built yet');
    if (!KEYS.has(key)) throw invalidOptions(`net.${key}`, 'unknown option');
  }
  const given = option as Record<string, unknown>;
  return { mode: given.mode === undefined ? 'none' : checkMode(given.mode, 'net.mode') };
}
