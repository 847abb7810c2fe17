/**
 * The five rights a path rule grants, each a group of Landlock's filesystem rights:
 * - 'read' (`r`): open files for reading, list directories (READ_FILE, READ_DIR);
 * - 'write' (`w`): open files for writing, truncate them (ABI 3), ioctl on devices
 *   opened there (ABI 5) (WRITE_FILE, TRUNCATE, IOCTL_DEV);
 * - 'execute' (`x`): execve files, and load them as an ELF interpreter (EXECUTE);
 * - 'make' (`m`): create files, directories, symlinks, sockets, fifos and device nodes
 *   in a directory, and link or rename entries into it from another directory (ABI 2)
 *   (MAKE_*, REFER);
 * - 'remove' (`d`, delete): unlink files and remove directories in a directory, which
 *   renaming out of it also needs (REMOVE_FILE, REMOVE_DIR).
 */
export type LandlockAccessName = 'read' | 'write' | 'execute' | 'make' | 'remove';

type Maybe<Letter extends string> = Letter | '';
/** Rights as letters, in the order r w x m d: 'r', 'rx', 'rw', 'rwmd'... */
export type LandlockAccessLetters = Exclude<`${Maybe<'r'>}${Maybe<'w'>}${Maybe<'x'>}${Maybe<'m'>}${Maybe<'d'>}`, ''>;

/** What a path rule grants: letters ('rx') or names (['read', 'execute']). */
export type LandlockAccess = LandlockAccessLetters | readonly LandlockAccessName[];

/** A path rule with its modifiers. */
export interface LandlockPathRule {
  access: LandlockAccess;
  /**
   * Go on without the rule when the path does not exist inside the sandbox (ENOENT or
   * ENOTDIR when it is opened). Otherwise a missing path fails the launch, naming it.
   * @defaultValue false
   */
  optional?: boolean;
}

/** TCP ports the target may use (Landlock ABI 4, Linux 6.7). */
export interface LandlockNetOptions {
  /** Ports the target may bind(2) a TCP socket to; 0 allows an ephemeral port. @defaultValue [] */
  bind?: readonly number[];
  /** Ports the target may connect(2) a TCP socket to, on any address. @defaultValue [] */
  connect?: readonly number[];
}

/** IPC the target may not reach outside its own Landlock domain (ABI 6, Linux 6.12). */
export interface LandlockScopeOptions {
  /** Connecting to abstract unix sockets (`@name`) made outside the domain is refused (EPERM). @defaultValue true */
  abstractUnixSocket?: boolean;
  /** Sending signals to processes outside the domain is refused (EPERM). @defaultValue true */
  signal?: boolean;
}

/**
 * Options of the `landlock` key: Landlock (Linux 5.13+, the `landlock` LSM enabled), an
 * unprivileged access-control layer that the target cannot lift, applied in the target
 * right before exec (after the mounts, no_new_privs and the session steps; before seccomp).
 * Each part restricts only when given: with `fs`, every filesystem access outside the
 * listed paths is denied; with `net`, every TCP bind and connect outside the listed ports.
 * Scoping is on by default.
 */
export interface LandlockOptions {
  /**
   * Paths the target may reach, each with the rights it grants beneath it (a directory
   * covers everything under it; a file only itself). Absolute paths, opened inside the
   * sandbox, so they name its own tree when it has a mount namespace. Any access not
   * granted here is denied (EACCES), including to the target's own binary and libraries:
   * grant 'rx' to /usr (or wherever it lives). `{}` denies the whole filesystem.
   * @defaultValue not restricted
   */
  fs?: Readonly<Record<string, LandlockAccess | LandlockPathRule>>;
  /**
   * TCP ports (ABI 4, Linux 6.7). Given, bind and connect are both restricted: a list
   * left out allows no port. UDP and other protocols are not covered by Landlock.
   * @defaultValue not restricted
   */
  net?: LandlockNetOptions;
  /**
   * Scoping (ABI 6, Linux 6.12): `true` both, `false` none, or each on its own.
   * @defaultValue true
   */
  scope?: boolean | LandlockScopeOptions;
  /**
   * What to do on a kernel whose Landlock ABI cannot enforce all of the policy. `false`:
   * refuse (ISO_UNSUPPORTED_KERNEL) before anything runs, naming what is missing.
   * `true`: enforce what the running ABI can and report the rest in `result.landlock.dropped`
   * and in explain(). Strict by default: a policy that silently stops covering truncation,
   * device ioctls, TCP or signals is weaker than its author believes.
   * @defaultValue false
   */
  bestEffort?: boolean;
}

/** `false` (or leaving the key out) is off; an object is on. */
export type LandlockOption = false | LandlockOptions;

/** A restriction the policy asked for that the running ABI cannot enforce. */
export interface LandlockDrop {
  /** 'fs.refer', 'fs.truncate', 'fs.ioctlDev', 'net', 'scope.abstractUnixSocket', 'scope.signal' or 'landlock' (all of it). */
  readonly what: string;
  /** The ABI that has it. */
  readonly abi: number;
  /** What the target can or cannot do because of it. */
  readonly effect: string;
}

/** One path rule after checking: Landlock's bits at the planned ABI. */
export interface LandlockPathSetting {
  readonly path: string;
  /** Rights granted beneath a directory. */
  readonly access: number;
  readonly optional: boolean;
}

/** One TCP port with its rights (BIND_TCP, CONNECT_TCP). */
export interface LandlockPortSetting {
  readonly port: number;
  readonly access: number;
}

/** The `landlock` option after checking, downgraded to the running ABI. */
export interface LandlockSettings {
  /** The running kernel's Landlock ABI (0: none). */
  readonly abi: number;
  /** The ABI the ruleset is built for: the running one, at most the newest iso knows. */
  readonly rulesetAbi: number;
  readonly handledFs: number;
  readonly handledNet: number;
  readonly scoped: number;
  readonly paths: readonly LandlockPathSetting[];
  readonly ports: readonly LandlockPortSetting[];
  readonly bestEffort: boolean;
  /** What the policy asked for that this ABI cannot enforce (empty unless bestEffort). */
  readonly dropped: readonly LandlockDrop[];
}

/** The feature's part of the sandbox result, `result.landlock`. */
export interface LandlockResult {
  /** The running kernel's Landlock ABI (0: none). */
  readonly abi: number;
  /** The ABI the ruleset was built for. */
  readonly rulesetAbi: number;
  /** A ruleset was applied to the target (false when best effort dropped everything). */
  readonly enforced: boolean;
  /** What was asked for and not enforced here. */
  readonly dropped: readonly LandlockDrop[];
}
