import { describe, expect, it } from 'vitest';
import { probeMount } from '../src/index.js';

describe('@iso/mount probe', () => {
  it('reports what this kernel and caller support', () => {
    const probe = probeMount();
    expect(probe).toMatchObject({ namespaces: true, entries: true, overlay: true, idmap: (process.geteuid?.() ?? 0) === 0 });
    expect(probe.reasons).toEqual(probe.idmap ? [] : ['idmapped mounts need a root caller (ISO_NEEDS_PRIVILEGE)']);
  });

  it('names the kernel an old one lacks', () => {
    const probe = probeMount('5.10.0-28-amd64');
    expect(probe).toMatchObject({ entries: false, overlay: false, idmap: false });
    expect(probe.reasons).toContain('mount.root, mount.entries and mount.masks need Linux 5.12+; this is 5.10.0-28-amd64 (ISO_UNSUPPORTED_KERNEL)');
  });
});
