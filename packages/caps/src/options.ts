import type { CapNameInput } from './names.js';

/**
 * Starting points for the kept set.
 * - 'none': no capabilities at all, and an empty bounding set, so not even a setuid-root
 *   or file-capability binary can regain one. The default.
 * - 'docker-default': Docker's 14 (CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD, NET_RAW,
 *   SETGID, SETUID, SETFCAP, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, KILL, AUDIT_WRITE).
 */
export type CapsPreset = 'none' | 'docker-default';

/**
 * Secure bits (capabilities(7), PR_SET_SECUREBITS; Linux 2.6.26+, NO_CAP_AMBIENT_RAISE
 * 4.3+). Each `_LOCKED` bit makes its partner permanent for the target and everything it
 * starts. KEEP_CAPS itself is cleared by execve; only its lock survives.
 */
export type SecurebitName =
  | 'NOROOT'
  | 'NOROOT_LOCKED'
  | 'NO_SETUID_FIXUP'
  | 'NO_SETUID_FIXUP_LOCKED'
  | 'KEEP_CAPS'
  | 'KEEP_CAPS_LOCKED'
  | 'NO_CAP_AMBIENT_RAISE'
  | 'NO_CAP_AMBIENT_RAISE_LOCKED';

/** A capability name in any accepted spelling, or 'ALL' in add and drop lists. */
export type CapListEntry = CapNameInput | 'ALL' | 'all';

/**
 * Options of the `caps` key: what the target may do as far as capabilities decide. The
 * kept set is `preset`, plus `add`, minus `drop`; it becomes the bounding, permitted and
 * effective sets. A target that runs as uid 0 (the sandbox's default, inside its user
 * namespace) ends up with exactly the kept set. A non-root target keeps across execve
 * only the capabilities raised in `ambient`. Capabilities held in a user namespace act
 * only on that namespace and the resources it owns.
 */
export interface CapsOptions {
  /** Where the kept set starts. @defaultValue 'none' */
  preset?: CapsPreset;
  /**
   * Capabilities to keep beyond the preset. Names are case-insensitive, CAP_ optional:
   * 'CAP_NET_ADMIN' or 'net_admin'. 'ALL' keeps every capability the kernel has. A name
   * the running kernel lacks is refused (ISO_UNSUPPORTED_KERNEL).
   * @defaultValue []
   */
  add?: readonly CapListEntry[];
  /**
   * Capabilities to remove from the preset. 'ALL' starts from nothing, so only `add`
   * counts. A name may not be in both lists. Dropping one the kernel lacks is a no-op.
   * @defaultValue []
   */
  drop?: readonly CapListEntry[];
  /**
   * Ambient capabilities (Linux 4.3+): kept across execve by a target that is not uid 0,
   * without file capabilities. Each must be kept (preset or add); iso also puts them in
   * the inheritable set, which the kernel requires.
   * @defaultValue []
   */
  ambient?: readonly CapNameInput[];
  /**
   * Secure bits to set. Leaving it out keeps the bits the runner inherited (normally
   * none); giving a list sets exactly those. 'NOROOT' makes uid 0 ordinary: a root
   * target then keeps only its ambient capabilities across execve.
   * @defaultValue unchanged
   */
  securebits?: readonly SecurebitName[];
  /**
   * Set no_new_privs (Linux 3.5+), so execve can never grant privileges: setuid bits and
   * file capabilities are ignored. Seccomp filters need it unless the target holds
   * CAP_SYS_ADMIN.
   * @defaultValue true
   */
  noNewPrivs?: boolean;
}

/** A preset name alone, or options. */
export type CapsOption = CapsPreset | CapsOptions;

/** What the running kernel offers, as normalizeCapsOptions needs it (see probeCaps). */
export interface CapsKernel {
  /** /proc/sys/kernel/cap_last_cap. */
  lastCap: number;
  /** Ambient capabilities (Linux 4.3+). */
  ambient: boolean;
}

/** The `caps` option after checking, as masks (bit n is capability n). */
export interface CapsSettings {
  /** The bounding set after setup; every other set is a subset of it. */
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  /** Equal to `ambient`: the kernel only raises ambient caps that are inheritable. */
  inheritable: bigint;
  ambient: bigint;
  /** PR_SET_SECUREBITS value, or undefined to leave the bits alone. */
  securebits: number | undefined;
  noNewPrivs: boolean;
  /** The kernel's last capability: bounding drops cover 0..lastCap. */
  lastCap: number;
}

/**
 * The `caps` option as the sandbox applies it. A non-root caller without a user namespace
 * holds no capability to drop (and may not shrink its bounding set), so there only
 * no_new_privs is set.
 */
export interface CapsFeatureSettings {
  caps: CapsSettings;
  /** The capability steps run (a user namespace, or a root caller). */
  apply: boolean;
}
