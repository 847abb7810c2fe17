/**
 * The modes of the `net` key that exist today.
 * - `'none'`: a new network namespace (Linux 2.6.29+, CONFIG_NET_NS) with only a
 *   loopback interface, `lo`, brought up inside. Nothing outside is reachable: not the
 *   host's loopback servers, not its abstract unix sockets, and /proc/net lists only the
 *   sandbox's own sockets.
 * - `'host'`: no network namespace. The sandbox **shares the host's network**: its
 *   interfaces, its loopback servers, its abstract unix sockets, everything. Only ever on
 *   explicit request.
 */
export type NetMode = 'none' | 'host';

/**
 * Options of the `net` key. More modes (`'bridge'`, `'nat'`), port publishing and a domain
 * allowlist will come as more keys of this object; today they are refused with
 * ISO_INVALID_OPTIONS saying they are not built yet.
 */
export interface NetOptions {
  /**
   * `'none'`: an own network namespace with only `lo`, up. `'host'`: share the host's
   * network (no isolation at all).
   * @defaultValue 'none'
   */
  mode?: NetMode;
}

/** `true` is `'none'`; `false` or no key leaves the feature off (the caller's network, as with no sandbox). */
export type NetOption = boolean | NetMode | NetOptions;

/** The `net` option after checking. */
export interface NetSettings {
  readonly mode: NetMode;
}
