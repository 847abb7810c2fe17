import { IsoError } from '@iso/core';
import type { FeatureProbe } from '@iso/core';
import type { CapName } from './names.js';
import { CAP_LAST_KNOWN, CAP_NAMES, lastCap } from './names.js';
import type { CapsKernel } from './options.js';
import type { ProcessCaps } from './status.js';
import { readProcessCaps } from './status.js';
import { ambientSupported, getNoNewPrivs, getSecurebits } from './sys.js';

export interface CapsProbe extends FeatureProbe {
  /** Capabilities can be read and shaped here (cap_last_cap is readable, no_new_privs exists). */
  readonly supported: boolean;
  /** The kernel's highest capability (/proc/sys/kernel/cap_last_cap), if readable. */
  lastCap: number | undefined;
  /** The highest capability iso's table names (CAP_CHECKPOINT_RESTORE, 40). */
  knownLastCap: number;
  /** Capabilities this kernel has past iso's table: usable by number, not by name. */
  unnamed: number[];
  /** Names in iso's table this kernel lacks (older kernels); options using them are refused. */
  missing: CapName[];
  /** Ambient capabilities (Linux 4.3+). */
  ambient: boolean;
  /** Node's own state: its five sets (main thread), no_new_privs and seccomp mode. */
  self: ProcessCaps | undefined;
  /** Node's main thread's secure bits. */
  securebits: number | undefined;
  /** Why something above is missing, each with what it means. Empty when all is there. */
  readonly reasons: string[];
}

/** The running kernel as normalizeCapsOptions needs it. Throws off Linux. */
export function currentCapsKernel(): CapsKernel {
  return { lastCap: lastCap(), ambient: ambientSupported() };
}

/** What this kernel supports for capabilities, and the caller's own state. Never throws on Linux. */
export function probeCaps(): CapsProbe {
  const reasons: string[] = [];
  let last: number | undefined;
  try {
    last = lastCap();
  } catch (error) {
    reasons.push(error instanceof IsoError ? error.message : String(error));
  }
  let self: ProcessCaps | undefined;
  try {
    self = readProcessCaps('self');
  } catch (error) {
    reasons.push(error instanceof IsoError ? error.message : String(error));
  }
  const ambient = ambientSupported();
  if (!ambient) reasons.push('no ambient capabilities (needs Linux 4.3+): caps.ambient is refused, so a non-root target keeps no capability across execve');
  let securebits: number | undefined;
  try {
    securebits = getSecurebits();
  } catch (error) {
    reasons.push(error instanceof IsoError ? error.message : String(error));
  }
  let noNewPrivs = true;
  try {
    getNoNewPrivs();
  } catch {
    noNewPrivs = false;
    reasons.push('no no_new_privs (needs Linux 3.5+): set caps.noNewPrivs to false');
  }
  const unnamed: number[] = [];
  const missing: CapName[] = [];
  if (last !== undefined) {
    for (let n = CAP_LAST_KNOWN + 1; n <= last; n++) unnamed.push(n);
    CAP_NAMES.forEach((name, n) => {
      if (n > last) missing.push(name);
    });
    if (missing.length) reasons.push(`this kernel lacks ${missing.join(', ')}; options naming them are refused`);
  }
  return { supported: last !== undefined && noNewPrivs, reasons, lastCap: last, knownLastCap: CAP_LAST_KNOWN, unnamed, missing, ambient, self, securebits };
}
