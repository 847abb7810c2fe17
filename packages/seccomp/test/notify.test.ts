import { describe, expect, it } from 'vitest';
import { normalizeDecision } from '../src/notify.js';

describe('notify decisions', () => {
  it('map onto the kernel’s three responses', () => {
    expect(normalizeDecision('continue')).toEqual({ kind: 'continue' });
    expect(normalizeDecision('allow')).toEqual({ kind: 'allow', value: 0n });
    expect(normalizeDecision({ allow: 42 })).toEqual({ kind: 'allow', value: 42n });
    expect(normalizeDecision({ allow: -1n })).toEqual({ kind: 'allow', value: -1n });
    expect(normalizeDecision({ allow: 2n ** 64n - 1n })).toEqual({ kind: 'allow', value: -1n });
    expect(normalizeDecision({ allow: -(2n ** 63n) })).toEqual({ kind: 'allow', value: -(2n ** 63n) });
    expect(normalizeDecision('deny')).toEqual({ kind: 'deny', errno: 1, errnoCode: 'EPERM' });
    expect(normalizeDecision({ deny: 'EROFS' })).toEqual({ kind: 'deny', errno: 30, errnoCode: 'EROFS' });
    expect(normalizeDecision({ deny: 13 })).toEqual({ kind: 'deny', errno: 13, errnoCode: 'EACCES' });
    expect(normalizeDecision({ fd: 7 })).toEqual({ kind: 'fd', fd: 7, cloexec: false });
    expect(normalizeDecision({ fd: 7, cloexec: true })).toEqual({ kind: 'fd', fd: 7, cloexec: true });
  });

  it('refuse anything else with a typed error', () => {
    for (const bad of ['yes', undefined, null, 1, {}, { deny: 'ENOPE' }, { deny: 0 }, { deny: 5000 }, { allow: 1.5 }, { allow: 1, deny: 1 }, { fd: -1 }, { fd: '3' }, { fd: 3, cloexec: 1 }, { fd: 3, deny: 1 }, { allow: 2n ** 64n }, { allow: -(2n ** 63n) - 1n }, { allow: '1' }, { allow: Number.MAX_SAFE_INTEGER + 1 }, { deny: 'eperm' }, { deny: Symbol('EPERM') }, Object.create({ deny: 1 }), ['deny']]) {
      expect(() => normalizeDecision(bad)).toThrow(expect.objectContaining({ code: 'ISO_INVALID_OPTIONS' }));
    }
  });
});
