import { featureContext } from '@iso/test-kit';
import { describe, expect, it } from 'vitest';
import { normalizePidOptions, pidFeature, pidPlan, probePid } from '../src/index.js';

describe('@iso/pid options and plan', () => {
  it('normalizes and rejects', () => {
    expect(normalizePidOptions(true)).toEqual({ asPid1: false, mountProc: true });
    expect(normalizePidOptions(false)).toBeUndefined();
    expect(() => normalizePidOptions({ asPid1: 'yes' } as never)).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'pid.asPid1' }));
    expect(() => normalizePidOptions({ nope: true } as never)).toThrow(expect.objectContaining({ path: 'pid.nope' }));
  });

  it('forks twice by default and once as PID 1', () => {
    const names = (plan: ReturnType<typeof pidPlan>) => Object.values(plan).flat().map((s) => s.name);
    expect(names(pidPlan({ asPid1: false, mountProc: true }))).toEqual([
      'pid.unshare', 'pid.fork', 'pid.dieWithSupervisor', 'pid.mountProc', 'pid.init', 'pid.dieWithInit',
    ]);
    expect(names(pidPlan({ asPid1: true, mountProc: false }))).toEqual(['pid.unshare', 'pid.fork', 'pid.dieWithSupervisor']);
  });
});

describe('@iso/pid feature', () => {
  const context = featureContext();

  it('is off unless asked for, and then asks for a mount namespace with /proc in it', () => {
    expect(pidFeature.key).toBe('pid');
    expect(pidFeature.normalize(undefined, context)).toBeUndefined();
    const settings = pidFeature.normalize(true, context)!;
    expect(pidFeature.facts!(settings, context)).toEqual({
      namespaces: ['pid'],
      requests: [{ namespace: 'mnt', by: 'pid.mountProc', required: true, mountPoints: ['/proc'] }],
    });
    expect(pidFeature.facts!(pidFeature.normalize({ mountProc: false }, context)!, context)).toEqual({ namespaces: ['pid'], requests: [] });
    expect(pidFeature.plan(settings, context).steps).toEqual(pidPlan(settings));
  });

  it('probes in the common shape', () => {
    const probe = probePid();
    expect(probe).toMatchObject({ supported: true, reasons: [] });
    expect(probe.namespaceId).toBeGreaterThan(0);
  });
});
