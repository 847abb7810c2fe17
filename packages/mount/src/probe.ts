import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { kernelAtLeast, kernelVersion, readNamespaceId } from '@iso/core';
import type { FeatureProbe } from '@iso/core';
import { KERNEL } from './consts.js';

export interface MountProbe extends FeatureProbe {
  /** Mount namespaces exist here, so the default (`mount: true`) works: the same as `namespaces`. */
  readonly supported: boolean;
  /** Mount namespaces exist here (/proc/self/ns/mnt). */
  readonly namespaces: boolean;
  /** The running kernel's release. */
  readonly kernel: string;
  /** A new root, mount entries and masks (Linux 5.6+: the new mount API and openat2). */
  readonly entries: boolean;
  /** How `recursiveReadonly: 'auto'` makes read-only reach submounts: mount_setattr (5.12+) or a remount walk. */
  readonly recursiveReadonly: 'setattr' | 'walk';
  /** overlayfs is available (in /proc/filesystems, or loadable) and can be mounted in a user namespace (5.11+). */
  readonly overlay: boolean;
  /** Idmapped bind entries and bindMount({ idmap }): Linux 5.12+ and a root caller. */
  readonly idmap: boolean;
  /** Why something above is missing, each with what it means. Empty when all is there. */
  readonly reasons: readonly string[];
}

function filesystems(): string[] {
  try {
    return readFileSync('/proc/filesystems', 'utf8')
      .split('\n')
      .map((line) => line.split('\t').at(-1) ?? '')
      .filter((name) => name !== '');
  } catch {
    return [];
  }
}

/**
 * What this kernel and caller support for mounts (for `kernelRelease`, the running kernel's
 * by default). Never throws on Linux.
 */
export function probeMount(kernelRelease: string = release()): MountProbe {
  const reasons: string[] = [];
  let namespaces = true;
  try {
    readNamespaceId('self', 'mnt');
  } catch {
    namespaces = false;
    reasons.push('no mount namespaces (/proc/self/ns/mnt is missing): the mount option is refused by the kernel');
  }
  const version = kernelVersion(kernelRelease) ?? [0, 0];
  const atLeast = (want: readonly [number, number]): boolean => kernelAtLeast(version, want);
  const entries = namespaces && atLeast(KERNEL.openat2);
  if (namespaces && !entries) reasons.push(`mount.root, mount.entries and mount.masks need Linux ${KERNEL.openat2.join('.')}+; this is ${kernelRelease} (ISO_UNSUPPORTED_KERNEL)`);
  const setattr = atLeast(KERNEL.mountSetattr);
  const recursiveReadonly = setattr ? 'setattr' : 'walk';
  if (entries && !setattr)
    reasons.push(
      `no mount_setattr before Linux ${KERNEL.mountSetattr.join('.')}: read-only binds reach their submounts by a remount walk of the mounts that exist when the options are checked (recursiveReadonly: 'walk'); idmapped mounts are refused (ISO_UNSUPPORTED_KERNEL)`,
    );
  // overlay may be a module that loads on first mount; then it is not listed yet.
  const listed = filesystems();
  const overlay = entries && atLeast(KERNEL.overlayInUserns) && (listed.length === 0 || listed.includes('overlay') || isModule('overlay'));
  if (entries && !overlay) reasons.push('no overlayfs in this kernel: mount.root.overlay fails with ENODEV');
  const root = (process.geteuid?.() ?? 0) === 0;
  const idmap = entries && setattr && root;
  if (entries && setattr && !root) reasons.push('idmapped mounts need a root caller (ISO_NEEDS_PRIVILEGE)');
  return { supported: namespaces, namespaces, kernel: kernelRelease, entries, recursiveReadonly, overlay, idmap, reasons };
}

function isModule(name: string): boolean {
  try {
    const version = release();
    return readFileSync(`/lib/modules/${version}/modules.dep`, 'utf8').includes(`/${name}.ko`);
  } catch {
    return false;
  }
}
