import { featureContext } from '@iso/test-kit';
import { describe, expect, it } from 'vitest';
import { normalizeUtsOptions, probeUts, utsFeature, utsPlan } from '../src/index.js';

describe('@iso/uts options and plan', () => {
  it('checks names before anything runs', () => {
    expect(normalizeUtsOptions(true)).toEqual({});
    expect(normalizeUtsOptions({ hostname: 'h'.repeat(64) })).toEqual({ hostname: 'h'.repeat(64) });
    for (const [option, path] of [
      [{ hostname: 'h'.repeat(65) }, 'uts.hostname'],
      [{ hostname: 'é'.repeat(33) }, 'uts.hostname'],
      [{ domainname: 'a\0b' }, 'uts.domainname'],
      [{ hostname: 3 }, 'uts.hostname'],
      [{ nodename: 'x' }, 'uts.nodename'],
    ] as const)
      expect(() => normalizeUtsOptions(option as never)).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path }));
  });

  it('plans the namespace and the names', () => {
    const plan = utsPlan({ hostname: 'box', domainname: 'dom' });
    expect(plan.namespaces?.map((s) => s.name)).toEqual(['uts.unshare']);
    expect(plan.hostname?.map((s) => s.name)).toEqual(['uts.sethostname', 'uts.setdomainname']);
    expect(utsPlan({}).hostname).toEqual([]);
  });
});

describe('utsFeature', () => {
  it('is off unless asked for; on, it is a namespace', () => {
    const context = featureContext();
    expect(utsFeature.normalize(undefined, context)).toBeUndefined();
    expect(utsFeature.normalize(false, context)).toBeUndefined();
    const settings = utsFeature.normalize({ hostname: 'box' }, context)!;
    expect(utsFeature.facts!(settings, context)).toEqual({ namespaces: ['uts'] });
    expect(utsFeature.plan(settings, context).steps).toEqual(utsPlan({ hostname: 'box' }));
  });

  it('probes in the common shape', () => {
    expect(probeUts()).toMatchObject({ supported: true, reasons: [] });
    expect(probeUts().namespaceId).toBeGreaterThan(0);
  });
});
