import { describeValue, invalidOptions } from '@iso/core';
import { BYTE_LIMITS, RLIMIT, RLIM_INFINITY, STRICT_RLIMITS, UNITS } from './consts.js';
import { RLIMIT_NAMES } from './options.js';
import type { RlimitName, RlimitSetting, RlimitValue, RlimitsOption, RlimitsSettings } from './options.js';
import { readRlimits } from './sys.js';

const SUFFIX: Readonly<Record<string, bigint>> = { k: 1024n, m: 1024n ** 2n, g: 1024n ** 3n };
const MAX_FINITE = RLIM_INFINITY - 1n;
const RANGES: Partial<Record<RlimitName, bigint>> = { nice: 40n, rtprio: 99n };

function amount(value: unknown, name: RlimitName, path: string): bigint {
  if (value === 'unlimited') return RLIM_INFINITY;
  let parsed: bigint | undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) parsed = BigInt(value);
  else if (typeof value === 'string' && BYTE_LIMITS.has(name)) {
    const match = /^(\d+)([kmg]?)$/i.exec(value);
    if (match) parsed = BigInt(match[1] ?? '0') * (SUFFIX[(match[2] ?? '').toLowerCase()] ?? 1n);
  }
  const sizes = BYTE_LIMITS.has(name) ? ", or a size like '64m'" : '';
  if (parsed === undefined || parsed > MAX_FINITE)
    throw invalidOptions(path, `expected a whole number of ${UNITS[name]}${sizes} or 'unlimited', got ${describeValue(value)}`);
  const top = RANGES[name];
  if (top !== undefined && parsed > top) throw invalidOptions(path, `expected ${UNITS[name]}, got ${parsed}`);
  return parsed;
}

function limit(value: RlimitValue, name: RlimitName): { soft: bigint; hard: bigint } {
  const path = `rlimits.${name}`;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const key of Object.keys(value)) if (key !== 'soft' && key !== 'hard') throw invalidOptions(`${path}.${key}`, 'unknown option');
    const soft = amount(value.soft, name, `${path}.soft`);
    const hard = amount(value.hard, name, `${path}.hard`);
    if (soft > hard) throw invalidOptions(path, `the soft limit ${soft} is above the hard limit ${hard}`);
    return { soft, hard };
  }
  const both = amount(value, name, path);
  return { soft: both, hard: both };
}

const shown = (n: bigint) => (n === RLIM_INFINITY ? 'unlimited' : String(n));

/**
 * Checks the `rlimits` option against the caller's own limits; undefined when it is off.
 * Throws ISO_INVALID_OPTIONS before anything is created, naming the limit: an unknown
 * name, a bad value, or a hard limit above the caller's (only privilege could raise it,
 * and the runner has none in the sandbox's user namespace).
 */
export function normalizeRlimitsOptions(option: RlimitsOption | undefined, own: Readonly<Record<RlimitName, { soft: bigint; hard: bigint }>> = readRlimits()): RlimitsSettings | undefined {
  if (option === undefined || option === false) return undefined;
  if (option !== true && (typeof option !== 'object' || option === null || Array.isArray(option)))
    throw invalidOptions('rlimits', `expected true, false or an object of limits by name, got ${describeValue(option)}`);
  const given = option === true ? {} : (option as Readonly<Record<string, unknown>>);
  for (const key of Object.keys(given))
    if (!(RLIMIT_NAMES as readonly string[]).includes(key)) throw invalidOptions(`rlimits.${key}`, `unknown limit; the names are ${RLIMIT_NAMES.join(', ')}`);
  const limits: RlimitSetting[] = [];
  for (const name of RLIMIT_NAMES) {
    const value = given[name] !== undefined ? given[name] : STRICT_RLIMITS[name];
    if (value === undefined || value === 'inherit') continue;
    const wanted = limit(value as RlimitValue, name);
    const ceiling = own[name].hard;
    // The strict defaults never raise a limit: above the caller's, they take the caller's.
    if (given[name] === undefined) {
      const hard = wanted.hard < ceiling ? wanted.hard : ceiling;
      const soft = wanted.soft < hard ? wanted.soft : hard;
      limits.push({ name, resource: RLIMIT[name], soft, hard });
      continue;
    }
    if (wanted.hard > ceiling)
      throw invalidOptions(
        `rlimits.${name}`,
        `the hard limit ${shown(wanted.hard)} is above this process's own (${shown(ceiling)}); a sandbox can only lower limits`,
      );
    limits.push({ name, resource: RLIMIT[name], ...wanted });
  }
  return { limits };
}
