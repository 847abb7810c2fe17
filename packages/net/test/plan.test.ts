import { buildProgram, composeFeatures, explainProgram, orderSteps, validateProgram } from '@iso/core';
import { featureContext } from '@iso/test-kit';
import { usernsFeature } from '@iso/userns';
import { describe, expect, it } from 'vitest';
import { ifreqStruct, netFeature, netPlan, normalizeNetOptions, probeNet } from '../src/index.js';

describe('@iso/net options', () => {
  it("is off unless asked for; true means 'none'; 'host' only when named", () => {
    expect(normalizeNetOptions(undefined)).toBeUndefined();
    expect(normalizeNetOptions(false)).toBeUndefined();
    expect(normalizeNetOptions(true)).toEqual({ mode: 'none' });
    expect(normalizeNetOptions('none')).toEqual({ mode: 'none' });
    expect(normalizeNetOptions({})).toEqual({ mode: 'none' });
    expect(normalizeNetOptions({ mode: 'none' })).toEqual({ mode: 'none' });
    expect(normalizeNetOptions('host')).toEqual({ mode: 'host' });
    expect(normalizeNetOptions({ mode: 'host' })).toEqual({ mode: 'host' });
  });

  it('refuses wrong types and unknown keys with ISO_INVALID_OPTIONS naming the option, also from plain JavaScript', () => {
    for (const [option, path] of [
      ['yes', 'net'],
      [1, 'net'],
      [null, 'net'],
      [[], 'net'],
      [() => 1, 'net'],
      [{ mode: 'HOST' }, 'net.mode'],
      [{ mode: 1 }, 'net.mode'],
      [{ mode: null }, 'net.mode'],
      [{ other: 1 }, 'net.other'],
    ] as const)
      expect(() => normalizeNetOptions(option as never)).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path, phase: 'validate' }));
  });

  it('gives every odd value from plain JavaScript a typed answer, at the key and at mode', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const weird: unknown[] = [10n, Symbol('s'), () => 1, cyclic, [], {}, null, Number.NaN, -1, '', '\0', 'x'.repeat(5000), 1.5, new Date(0), Object.create(null)];
    const answers = new Set<string>();
    for (const value of weird)
      for (const option of [value, { mode: value }]) {
        try {
          normalizeNetOptions(option as never);
          answers.add('accepted');
        } catch (error) {
          answers.add((error as { isoCode?: string }).isoCode ?? `untyped: ${String(error)}`);
        }
      }
    expect([...answers].sort()).toEqual(['ISO_INVALID_OPTIONS', 'accepted']);
  });

  it('refuses the modes and keys that are not built yet, saying so', () => {
    for (const [option, path] of [
      ['bridge', 'net'],
      ['nat', 'net'],
      [{ mode: 'bridge' }, 'net.mode'],
      [{ mode: 'nat' }, 'net.mode'],
      [{ publish: [8080] }, 'net.publish'],
      [{ allowDomains: ['example.org'] }, 'net.allowDomains'],
    ] as const) {
      expect(() => normalizeNetOptions(option as never)).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path }));
      expect(() => normalizeNetOptions(option as never)).toThrow(/not built yet/);
    }
  });
});

describe('@iso/net plan', () => {
  it("'none' unshares with the namespaces and brings lo up in plumbing, as three plain syscalls", () => {
    const plan = netPlan({ mode: 'none' });
    expect(Object.keys(plan)).toEqual(['namespaces', 'plumbing']);
    expect(plan.namespaces?.map((s) => s.name)).toEqual(['net.unshare']);
    expect(plan.plumbing?.map((s) => s.name)).toEqual(['net.loopback.socket', 'net.loopback.up', 'net.loopback.close']);
    const program = buildProgram(orderSteps([plan]), 'x86_64');
    expect(validateProgram(program.bytes)).toEqual({ ok: true });
    expect(explainProgram(program)).toContain('net.unshare          unshare(CLONE_NEWNET)');
    expect(explainProgram(program)).toContain('net.loopback.socket  socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC, 0)  = $net.loopback.socket');
    expect(explainProgram(program)).toContain('net.loopback.up      ioctl($net.loopback.socket, SIOCSIFFLAGS, {ifr_name="lo", ifr_flags=IFF_UP|IFF_LOOPBACK})');
    expect(buildProgram(orderSteps([plan]), 'aarch64').steps).toHaveLength(4);
  });

  it('lays out struct ifreq as the kernel reads it: 40 bytes, the name, then ifr_flags at 16', () => {
    expect(ifreqStruct.size).toBe(40);
    const bytes = ifreqStruct.encode({ name: 'lo', flags: 0x9 });
    expect(bytes.subarray(0, 3).toString('latin1')).toBe('lo\0');
    expect(bytes.readUInt16LE(16)).toBe(0x9);
  });

  it("'host' adds no step at all", () => {
    expect(netPlan({ mode: 'host' })).toEqual({});
  });

  it("the feature object: a network namespace fact for 'none' (so userns turns on), none for 'host'", () => {
    const context = featureContext();
    expect(netFeature.key).toBe('net');
    const none = netFeature.normalize(true, context)!;
    expect(netFeature.facts?.(none, context)).toEqual({ namespaces: ['net'] });
    expect(netFeature.plan(none, context).steps).toEqual(netPlan(none));
    const host = netFeature.normalize('host', context)!;
    expect(netFeature.facts?.(host, context)).toEqual({});
    const hostFacts = { uid: 1000, gid: 1000, isRoot: false, euid: 1000, pid: 4242, arch: 'x86_64', kernelRelease: '6.18.0', kernel: [6, 18] } as const;
    const composed = composeFeatures([netFeature, usernsFeature], { net: true }, hostFacts);
    expect(composed.enabled.map((e) => e.feature.key)).toEqual(['net', 'userns']);
    expect(composeFeatures([netFeature, usernsFeature], { net: 'host' }, hostFacts).enabled.map((e) => e.feature.key)).toEqual(['net']);
    expect(composeFeatures([netFeature, usernsFeature], {}, hostFacts).enabled).toEqual([]);
    expect(probeNet()).toMatchObject({ supported: true, reasons: [], modes: ['none', 'host'] });
  });

  it('refineError says what to change for the refusals the kernel can give', () => {
    const failed = (step: string, code: string) =>
      Object.assign(new Error('x'), { isIsoError: true, isoCode: 'ISO_SETUP_FAILED', code, step, errno: -1, syscall: 'unshare', phase: 'child', message: `${step}: failed: ${code}` });
    const settings = { mode: 'none' } as const;
    expect(netFeature.refineError?.(failed('net.unshare', 'EINVAL') as never, settings)).toMatchObject({ isoCode: 'ISO_UNSUPPORTED_KERNEL', code: 'EINVAL' });
    expect(netFeature.refineError?.(failed('net.unshare', 'EPERM') as never, settings)).toMatchObject({ isoCode: 'ISO_NEEDS_PRIVILEGE' });
    expect(netFeature.refineError?.(failed('net.loopback.up', 'EPERM') as never, settings)).toMatchObject({ isoCode: 'ISO_NEEDS_PRIVILEGE' });
  });
});
