/**
 * Options of the `pid` key: a new PID namespace (Linux 3.8+ rootless) with its own /proc.
 * The target's process tree can see and signal only itself, and ends as a whole.
 */
export interface PidOptions {
  /**
   * Run the target as PID 1 itself. By default iso's tiny init is PID 1: it reaps orphans
   * and forwards signals, and the target is PID 2. A target that is PID 1 must reap its
   * own orphans, and ignores signals it has no handler for.
   * @defaultValue false
   */
  asPid1?: boolean;
  /**
   * Mount a fresh /proc for the new namespace (needs a mount namespace, which the sandbox
   * then creates). Without it, /proc still shows the host's processes.
   * @defaultValue true
   */
  mountProc?: boolean;
}

export type PidOption = boolean | PidOptions;

/** The `pid` option after checking. */
export type PidSettings = Required<PidOptions>;
