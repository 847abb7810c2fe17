import type { FeatureProbe } from '@iso/core';
import { ABI_KERNEL, NEWEST_KNOWN_ABI } from './consts.js';
import { landlockAvailability } from './sys.js';

export interface LandlockProbe extends FeatureProbe {
  /** This kernel's Landlock ABI; 0 when Landlock is missing or disabled. */
  readonly abi: number;
  /** The errata this kernel has fixed (a bitmask; 0 where it cannot say). */
  readonly errata: number;
  /** The newest ABI iso knows; a newer kernel is used at this level. */
  readonly newestKnownAbi: number;
}

const WHY_MISSING: Readonly<Record<string, string>> = {
  ENOSYS: 'this kernel has no Landlock (Linux 5.13+ built with CONFIG_SECURITY_LANDLOCK)',
  EOPNOTSUPP: 'Landlock is built in but not enabled: add landlock to the lsm= boot parameter (or CONFIG_LSM)',
};

/**
 * What this kernel supports of Landlock. `supported`: every option can be enforced here
 * (ABI 6 or newer covers all of iso's); `reasons` name what an older ABI lacks. Never throws on Linux.
 */
export function probeLandlock(): LandlockProbe {
  let abi = 0;
  let errata = 0;
  let missing: string | undefined = 'ENOSYS';
  try {
    ({ abi, errata, missing } = landlockAvailability());
  } catch {
    // off Linux (ISO_UNSUPPORTED_PLATFORM) the probe still answers
  }
  const reasons: string[] = [];
  if (abi < 1) reasons.push(WHY_MISSING[missing ?? 'ENOSYS'] ?? `Landlock cannot be asked here (${missing ?? '?'})`);
  else {
    const lacks: string[] = [];
    if (abi < 3) lacks.push('truncate rights (ABI 3)');
    if (abi < 4) lacks.push('TCP port rules (ABI 4)');
    if (abi < 5) lacks.push('device ioctl rights (ABI 5)');
    if (abi < 6) lacks.push('scoping of abstract unix sockets and signals (ABI 6)');
    if (lacks.length > 0)
      reasons.push(`Landlock ABI ${abi} (Linux ${ABI_KERNEL[abi] ?? '?'}) lacks ${lacks.join(', ')}: policies that need them are refused unless landlock.bestEffort is true`);
  }
  return { supported: abi >= 6, reasons, abi, errata, newestKnownAbi: NEWEST_KNOWN_ABI };
}
