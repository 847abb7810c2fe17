/**
 * Options of the `uts` key: a new UTS namespace (Linux 2.6.19+). Without names, the
 * sandbox starts with a copy of the host's, and changing them never reaches the host.
 */
export interface UtsOptions {
  /** Hostname inside, 1 to 64 bytes. @defaultValue the host's, copied */
  hostname?: string;
  /** NIS domain name inside, 1 to 64 bytes. @defaultValue the host's, copied */
  domainname?: string;
}

export type UtsOption = boolean | UtsOptions;

/** The `uts` option after checking: the names to set, if any. */
export type UtsSettings = UtsOptions;
