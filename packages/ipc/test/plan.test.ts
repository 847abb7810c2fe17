import { featureContext } from '@iso/test-kit';
import { describe, expect, it } from 'vitest';
import { ipcFeature, ipcPlan, normalizeIpcOptions, probeIpc } from '../src/index.js';

describe('@iso/ipc options and plan', () => {
  it('plans the namespace and mqueue', () => {
    expect(normalizeIpcOptions(true)).toEqual({ mqueue: true, mqueueMountPoint: '/dev/mqueue' });
    expect(() => normalizeIpcOptions({ mqueueMountPoint: 'rel' })).toThrow(expect.objectContaining({ path: 'ipc.mqueueMountPoint' }));
    expect(() => normalizeIpcOptions({ mqueue: 'yes' } as never)).toThrow(expect.objectContaining({ path: 'ipc.mqueue' }));
    const plan = ipcPlan({ mqueue: true, mqueueMountPoint: '/dev/mqueue' }, true);
    expect(plan.mounts?.map((s) => s.name)).toEqual(['ipc.mqueue']);
    expect(plan.mounts?.[0]).toMatchObject({ tolerate: ['ENOENT'] });
    expect(ipcPlan({ mqueue: true, mqueueMountPoint: '/x' }, true).mounts?.[0]).not.toHaveProperty('tolerate');
    expect(ipcPlan({ mqueue: true, mqueueMountPoint: '/dev/mqueue' }, false).mounts).toBeUndefined();
  });
});

describe('ipcFeature', () => {
  it('asks for a mount namespace for mqueue, but can go without one', () => {
    const context = featureContext();
    expect(ipcFeature.normalize(undefined, context)).toBeUndefined();
    const settings = ipcFeature.normalize(true, context)!;
    expect(ipcFeature.facts!(settings, context)).toEqual({ namespaces: ['ipc'], requests: [{ namespace: 'mnt', by: 'ipc.mqueue', required: false }] });
    expect(ipcFeature.facts!(ipcFeature.normalize({ mqueue: false }, context)!, context)).toEqual({ namespaces: ['ipc'], requests: [] });
    // The mqueue mount is planned only when a mount namespace is there.
    expect(ipcFeature.plan(settings, featureContext({ namespaces: new Set(['ipc', 'mnt']) })).steps.mounts?.map((s) => s.name)).toEqual(['ipc.mqueue']);
    expect(ipcFeature.plan(settings, featureContext({ namespaces: new Set(['ipc']) })).steps.mounts).toBeUndefined();
  });

  it('probes in the common shape', () => {
    expect(probeIpc()).toMatchObject({ supported: true });
    expect(probeIpc().namespaceId).toBeGreaterThan(0);
  });
});
