import { IsoError, describeValue, invalidOptions } from '@iso/core';
import type { CapsKernel, CapsOption, CapsOptions, CapsPreset, CapsSettings, SecurebitName } from './options.js';
import type { CapName } from './names.js';
import { CAP_NAMES, capMask, capName, capNumber, capSince, fullCapMask } from './names.js';
import { currentCapsKernel } from './probe.js';
import { SECBIT } from './consts.js';

/** Docker's default capabilities (moby oci/caps/defaults.go). */
export const DOCKER_DEFAULT_CAPS: readonly CapName[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

const PRESETS: Record<CapsPreset, bigint> = {
  none: 0n,
  'docker-default': capMask(DOCKER_DEFAULT_CAPS),
};

const KEYS = new Set(['preset', 'add', 'drop', 'ambient', 'securebits', 'noNewPrivs']);

function unsupported(path: string, n: number, kernel: CapsKernel): IsoError {
  const name = capName(n) ?? String(n);
  const since = capSince(n);
  const last = capName(kernel.lastCap) ?? String(kernel.lastCap);
  return new IsoError(
    'ISO_UNSUPPORTED_KERNEL',
    `${path}: ${name}${since ? ` needs Linux ${since}+` : ' is not known to this kernel'}; the last capability here is ${kernel.lastCap} (${last})`,
    { phase: 'validate', path },
  );
}

function checkList(value: unknown, path: string): readonly unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidOptions(path, 'expected an array of capability names');
  // A dense copy: map() and forEach() would skip the holes of a sparse array unchecked.
  return Array.from(value as unknown[]);
}

/** Resolves one list entry; 'ALL' only where `allowAll`. Names past the kernel are refused where `strict`. */
function entry(value: unknown, path: string, kernel: CapsKernel, options: { allowAll: boolean; strict: boolean }): number | 'ALL' {
  if (typeof value !== 'string') throw invalidOptions(path, `expected a capability name, got ${describeValue(value)}`);
  if (value.toUpperCase() === 'ALL') {
    if (!options.allowAll) throw invalidOptions(path, "'ALL' is not allowed here; list the capabilities");
    return 'ALL';
  }
  const n = capNumber(value);
  if (n === undefined) throw invalidOptions(path, `unknown capability ${JSON.stringify(value)}; expected a name like 'CAP_NET_BIND_SERVICE'`);
  if (options.strict && n > kernel.lastCap) throw unsupported(path, n, kernel);
  return n;
}

const SECUREBIT_NAMES = Object.keys(SECBIT).map((name) => name.slice('SECBIT_'.length));

/**
 * Checks the `caps` option and resolves it against the running kernel. Undefined means
 * the target's default: no capabilities, an empty bounding set and no_new_privs.
 * Throws ISO_INVALID_OPTIONS naming the option path ('caps.add[2]'), or
 * ISO_UNSUPPORTED_KERNEL for a capability or feature this kernel lacks.
 */
export function normalizeCapsOptions(option: CapsOption | undefined, kernel: CapsKernel = currentCapsKernel()): CapsSettings {
  const given: unknown = typeof option === 'string' ? { preset: option } : option === undefined ? {} : option;
  if (typeof given !== 'object' || given === null || Array.isArray(given))
    throw invalidOptions('caps', "expected a preset name ('none', 'docker-default') or an object");
  for (const key of Object.keys(given)) if (!KEYS.has(key)) throw invalidOptions(`caps.${key}`, 'unknown option');
  const options = given as CapsOptions;
  const presetPath = typeof option === 'string' ? 'caps' : 'caps.preset';
  const preset = (options.preset ?? 'none') as unknown;
  if (typeof preset !== 'string' || !Object.hasOwn(PRESETS, preset))
    throw invalidOptions(presetPath, `expected 'none' or 'docker-default', got ${describeValue(preset)}`);
  const all = fullCapMask(kernel.lastCap);

  const add = checkList(options.add, 'caps.add').map((v, i) => entry(v, `caps.add[${i}]`, kernel, { allowAll: true, strict: true }));
  const drop = checkList(options.drop, 'caps.drop').map((v, i) => entry(v, `caps.drop[${i}]`, kernel, { allowAll: true, strict: false }));
  drop.forEach((d, i) => {
    if (add.includes(d)) {
      const name = d === 'ALL' ? "'ALL'" : (capName(d) ?? String(d));
      throw invalidOptions(`caps.drop[${i}]`, `${name} is also in caps.add; list it in one of them`);
    }
  });
  // Docker's rules: 'ALL' in add keeps everything but the drops; 'ALL' in drop keeps only the adds.
  const addMask = capMask(add.filter((a): a is number => a !== 'ALL'));
  const dropMask = capMask(drop.filter((d): d is number => d !== 'ALL'));
  let kept: bigint;
  if (add.includes('ALL')) kept = all & ~dropMask;
  else if (drop.includes('ALL')) kept = addMask;
  else kept = ((PRESETS[preset as CapsPreset] & ~dropMask) | addMask) & all;

  let ambient = 0n;
  const ambientList = checkList(options.ambient, 'caps.ambient');
  if (ambientList.length > 0 && !kernel.ambient)
    throw new IsoError('ISO_UNSUPPORTED_KERNEL', 'caps.ambient: ambient capabilities need Linux 4.3+', {
      phase: 'validate',
      path: 'caps.ambient',
    });
  ambientList.forEach((value, i) => {
    const path = `caps.ambient[${i}]`;
    const n = entry(value, path, kernel, { allowAll: false, strict: true }) as number;
    const bit = 1n << BigInt(n);
    if (!(kept & bit)) throw invalidOptions(path, `${CAP_NAMES[n] ?? n} is not kept; ambient capabilities must also be in the preset or caps.add`);
    ambient |= bit;
  });

  let securebits: number | undefined;
  if (options.securebits !== undefined) {
    if (!Array.isArray(options.securebits)) throw invalidOptions('caps.securebits', 'expected an array of secure bit names');
    securebits = 0;
    Array.from(options.securebits as unknown[]).forEach((value, i) => {
      const path = `caps.securebits[${i}]`;
      const name = typeof value === 'string' ? value.toUpperCase().replace(/^SECBIT_/, '') : undefined;
      if (name === undefined || !SECUREBIT_NAMES.includes(name))
        throw invalidOptions(path, `expected one of ${SECUREBIT_NAMES.join(', ')}, got ${describeValue(value)}`);
      if (name.startsWith('NO_CAP_AMBIENT_RAISE') && ambient !== 0n)
        throw invalidOptions(path, `${name} forbids the caps.ambient raises that run after it; drop one of them`);
      if (name.startsWith('NO_CAP_AMBIENT_RAISE') && !kernel.ambient)
        throw new IsoError('ISO_UNSUPPORTED_KERNEL', `${path}: ${name} needs Linux 4.3+`, { phase: 'validate', path });
      securebits = (securebits ?? 0) | SECBIT[`SECBIT_${name}` as `SECBIT_${SecurebitName}`];
    });
  }

  const noNewPrivs = options.noNewPrivs ?? true;
  if (typeof noNewPrivs !== 'boolean') throw invalidOptions('caps.noNewPrivs', 'expected a boolean');

  return { bounding: kept, effective: kept, permitted: kept, inheritable: ambient, ambient, securebits, noNewPrivs, lastCap: kernel.lastCap };
}
