// Native calls of @iso/landlock, in-process: the only file of the package that may reach
// @iso/core/native. It only asks the kernel which ABI it has: creating, filling or applying
// a ruleset from Node is never done here (landlock_restrict_self binds only the calling
// thread and needs no_new_privs on it, which is per-thread state; docs/landlock.md).
import { rawSyscall } from '@iso/core/native';
import { CREATE_RULESET } from './consts.js';

/** Whether this kernel has Landlock, at which ABI, and why not. */
export interface LandlockAvailability {
  readonly abi: number;
  readonly errata: number;
  /** The errno name when the kernel refused the query ('ENOSYS', 'EOPNOTSUPP'). */
  readonly missing: string | undefined;
}

let known: LandlockAvailability | undefined;

function query(flag: number, step: string): number {
  return rawSyscall('landlock_create_ruleset', [null, 0, flag], { step, call: `landlock_create_ruleset(NULL, 0, ${flag === CREATE_RULESET.LANDLOCK_CREATE_RULESET_VERSION ? 'LANDLOCK_CREATE_RULESET_VERSION' : 'LANDLOCK_CREATE_RULESET_ERRATA'})` });
}

/**
 * This kernel's Landlock ABI and errata, asked once (they cannot change while it runs).
 * landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) creates nothing.
 */
export function landlockAvailability(): LandlockAvailability {
  if (known !== undefined) return known;
  let abi = 0;
  let missing: string | undefined;
  try {
    abi = query(CREATE_RULESET.LANDLOCK_CREATE_RULESET_VERSION, 'landlock.abi');
  } catch (error) {
    // ENOSYS: not built in; EOPNOTSUPP: not enabled at boot; anything else (a seccomp
    // filter around Node, say) also means this process cannot know it has Landlock.
    missing = (error as { code?: string }).code ?? 'ENOSYS';
  }
  let errata = 0;
  if (abi > 0)
    try {
      errata = query(CREATE_RULESET.LANDLOCK_CREATE_RULESET_ERRATA, 'landlock.errata');
    } catch {
      errata = 0; // a kernel without the errata query (EINVAL)
    }
  known = { abi, errata, missing };
  return known;
}

/** This kernel's Landlock ABI version: 1 (Linux 5.13) to 7 (6.15) and on; 0 when Landlock is missing or disabled. */
export function landlockAbi(): number {
  return landlockAvailability().abi;
}

/** The bitmask of Landlock errata this kernel has fixed (LANDLOCK_CREATE_RULESET_ERRATA); 0 where it cannot say. */
export function landlockErrata(): number {
  return landlockAvailability().errata;
}
