/**
 * Options of the `mount` key. Minimal for now: a private mount namespace. Mount entries,
 * a new root and pivot_root come with the full @iso/mount.
 */
export interface MountOptions {
  /**
   * Propagation of every mount, set recursively on `/` before anything is mounted, so no
   * mount made in the sandbox reaches the host. 'slave' still receives host mounts.
   * @defaultValue 'private'
   */
  propagation?: 'private' | 'slave';
}

export type MountOption = boolean | MountOptions;
