/** Host ids that back the sandbox's single mapping. */
export interface HostIds {
  uid: number;
  gid: number;
}

/**
 * Options of the `userns` key: a new user namespace with a single id mapping, rootless.
 * Needs Linux 3.8+ and unprivileged user namespaces for non-root callers (see probeUserns).
 */
export interface UsernsOptions {
  /**
   * Which id the sandbox runs as inside. 'root' maps the backing host id to 0, which gives
   * the setup steps the capabilities they need inside the namespace (and only there);
   * 'same' keeps the id number, so the target runs unprivileged.
   * @defaultValue 'root'
   */
  inside?: 'root' | 'same';
  /**
   * The host ids that back the sandbox when the caller is root. Mapping root to root would
   * keep host-root ownership of files (a write to /proc/sys/kernel/core_pattern succeeds),
   * so root callers get an unprivileged host id by default, as Docker's userns-remap does.
   * A non-root caller is always backed by its own ids; more needs newuidmap and subuid.
   * @defaultValue `{ uid: 65534, gid: 65534 }` (nobody)
   */
  hostIdsForRoot?: HostIds;
}

export type UsernsOption = boolean | UsernsOptions;

/** The options after checking, with the caller's ids resolved. */
export interface UsernsSettings {
  inside: 'root' | 'same';
  /** Host ids that back the sandbox. */
  host: HostIds;
  /** Ids inside. */
  ids: HostIds;
  /** The caller is root: the maps are written from Node and credentials switched inside. */
  callerIsRoot: boolean;
}
