import { describe, expect, it } from 'vitest';
import { probeMount } from '../src/index.js';

describe('@iso/mount probe', () => {
  it('reports what this kernel and caller support', () => {
    const probe = probeMount();
    expect(probe).toMatchObject({ supported: true, namespaces: true, entries: true, recursiveReadonly: 'setattr', overlay: true, idmap: (process.geteuid?.() ?? 0) === 0 });
    expect(probe.reasons).toEqual(probe.idmap ? [] : ['idmapped mounts need a root caller (ISO_NEEDS_PRIVILEGE)']);
  });

  it('names the kernel an old one lacks', () => {
    const old = probeMount('5.4.0-150-generic');
    expect(old).toMatchObject({ supported: true, entries: false, overlay: false, idmap: false });
    expect(old.reasons).toContain('mount.root, mount.entries and mount.masks need Linux 5.6+; this is 5.4.0-150-generic (ISO_UNSUPPORTED_KERNEL)');
    const walk = probeMount('5.10.0-28-amd64');
    expect(walk).toMatchObject({ entries: true, recursiveReadonly: 'walk', overlay: false, idmap: false });
    expect(walk.reasons.join('\n')).toMatch(/no mount_setattr before Linux 5\.12: .*remount walk/);
  });
});
