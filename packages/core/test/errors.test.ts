import { describe, expect, it } from 'vitest';
import { IsoError, describeValue, invalidOptions, isIsoError, syscallError, withHint } from '../src/index.js';

describe('IsoError across copies of @iso/core', () => {
  it('instanceof checks the brand, so an error from another copy (the built one here) is one', async () => {
    // The built package is a second copy of the class, as a second install of @iso/core would be.
    const built = (await import(new URL('../dist/index.js', import.meta.url).href)) as { IsoError: typeof IsoError; invalidOptions: typeof invalidOptions };
    expect(built.IsoError).not.toBe(IsoError);
    const foreign = built.invalidOptions('uts.hostname', 'too long');
    expect(foreign).toBeInstanceOf(IsoError);
    expect(isIsoError(foreign)).toBe(true);
    expect(invalidOptions('x', 'y')).toBeInstanceOf(built.IsoError);
    expect(foreign.isIsoError).toBe(true);
  });

  it('other values are not IsoErrors', () => {
    for (const value of [new Error('x'), { isoCode: 'ISO_INVALID_OPTIONS' }, { isIsoError: 'yes', isoCode: 'ISO_X' }, null, undefined, 'ISO_INVALID_OPTIONS', 42])
      expect(isIsoError(value)).toBe(false);
    expect(new Error('x') instanceof IsoError).toBe(false);
  });

  it('a subclass still checks its prototype, not the brand', () => {
    class SubError extends IsoError {}
    const plain = invalidOptions('a', 'b');
    expect(plain instanceof SubError).toBe(false);
    expect(new SubError('ISO_SETUP_FAILED', 'x', { phase: 'parent' }) instanceof SubError).toBe(true);
    expect(new SubError('ISO_SETUP_FAILED', 'x', { phase: 'parent' }) instanceof IsoError).toBe(true);
  });
});

describe('error helpers', () => {
  it('withHint appends to the message and keeps step, syscall and errno', () => {
    const cause = syscallError(2, { step: 'demo.open', stepIndex: 4, syscall: 'openat', call: 'openat("/x")', phase: 'child' });
    const hinted = withHint(cause, 'ISO_NEEDS_PRIVILEGE', 'do this');
    expect(hinted).toMatchObject({ isoCode: 'ISO_NEEDS_PRIVILEGE', code: 'ENOENT', errno: -2, step: 'demo.open', stepIndex: 4, syscall: 'openat', phase: 'child', cause });
    expect(hinted.message).toBe(`${cause.message}: do this`);
    // Without an errno the new ISO_* code is the code.
    const plain = withHint(invalidOptions('a', 'b'), 'ISO_UNSUPPORTED_KERNEL', 'c');
    expect(plain).toMatchObject({ code: 'ISO_UNSUPPORTED_KERNEL', isoCode: 'ISO_UNSUPPORTED_KERNEL', path: 'a' });
  });

  it('describeValue never throws, whatever a plain-JavaScript caller passes', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(describeValue(10n)).toBe('10n');
    expect(describeValue(Symbol('s'))).toBe('Symbol(s)');
    expect(describeValue(() => 1)).toBe('a function');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue(cycle)).toBe('an object');
    expect(describeValue([1, 2n])).toBe('an array');
    expect(describeValue('x'.repeat(200))).toHaveLength(80);
    expect(describeValue({ a: 1 })).toBe('{"a":1}');
  });
});
