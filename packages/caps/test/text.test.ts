import { describe, expect, it } from 'vitest';
import { IsoError } from '@iso/core';
import { lastCap } from '../src/names.js';
import type { CapSets } from '../src/text.js';
import { formatCapText, parseCapText } from '../src/text.js';
import { loadLibcap } from './helpers.js';

// A seeded generator, so a failing case can be replayed.
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomSets(next: () => number, highBits: boolean): CapSets {
  const sets: CapSets = { effective: 0n, permitted: 0n, inheritable: 0n };
  // Skewed toward a dominant combination, as real processes are.
  const dominant = Math.floor(next() * 8);
  const skew = next();
  const top = highBits ? 64 : lastCap() + 1;
  for (let n = 0; n < top; n++) {
    const flagsValue = next() < skew ? dominant : Math.floor(next() * 8);
    if (n > lastCap() && next() < 0.8) continue;
    const bit = 1n << BigInt(n);
    if (flagsValue & 1) sets.effective |= bit;
    if (flagsValue & 2) sets.permitted |= bit;
    if (flagsValue & 4) sets.inheritable |= bit;
  }
  return sets;
}

const EMPTY: CapSets = { effective: 0n, permitted: 0n, inheritable: 0n };
const full = (1n << BigInt(lastCap() + 1)) - 1n;

describe('libcap text form', () => {
  const libcap = loadLibcap();

  it('formats exactly as cap_to_text and parses back, for edge cases', () => {
    const cases: CapSets[] = [
      EMPTY,
      { effective: full, permitted: full, inheritable: 0n },
      { effective: full, permitted: full, inheritable: full },
      { effective: 0n, permitted: 0n, inheritable: full },
      { effective: 0x400n, permitted: 0x400n, inheritable: 0n },
      { effective: 0x400n, permitted: 0x400n, inheritable: 0x400n },
      { effective: 0xa80425fbn, permitted: 0xa80425fbn, inheritable: 0n },
      { effective: full & ~1n, permitted: full, inheritable: 0n },
      { effective: 0n, permitted: 0x1n, inheritable: 0x2n },
      { effective: 1n << 41n, permitted: 3n << 41n, inheritable: 0n },
      { effective: full | (1n << 63n), permitted: full, inheritable: 0n },
    ];
    for (const sets of cases) {
      const text = formatCapText(sets);
      expect(text, JSON.stringify(sets, (_, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v))).toBe(libcap.toText(sets));
      expect(parseCapText(text)).toEqual(sets);
      expect(libcap.fromText(text)).toEqual(sets);
    }
    expect(formatCapText(EMPTY)).toBe('=');
    expect(formatCapText({ effective: 0x400n, permitted: 0x400n, inheritable: 0n })).toBe('cap_net_bind_service=ep');
  });

  it('round-trips 2000 random sets with libcap in both directions', () => {
    const next = random(20261129);
    for (let i = 0; i < 2000; i++) {
      const sets = randomSets(next, i % 4 === 0);
      const ours = formatCapText(sets);
      expect(ours, `case ${i}`).toBe(libcap.toText(sets));
      expect(parseCapText(ours), `case ${i}: ${ours}`).toEqual(sets);
      expect(libcap.fromText(ours), `case ${i}: ${ours}`).toEqual(sets);
    }
  });

  it('parses hand-written text as cap_from_text does', () => {
    const texts = [
      'cap_net_bind_service+ep',
      '=ep',
      '=',
      'all=ep cap_chown-e',
      'cap_chown,cap_kill+eip',
      'cap_chown,cap_kill=eip cap_kill-i',
      '  cap_setuid+e   cap_setgid+p  ',
      'cap_chown=p+e-p',
      'cap_chown=+ep',
      'cap_chown+ep cap_chown=-e',
      'CAP_CHOWN+ep',
      'all=',
      'ALL+i',
      '=eip cap_sys_admin,cap_sys_module-eip',
      '0+e 0x29+p 010+i 41+e',
      'cap_chown=pie',
      '=e cap_chown=',
      '=p cap_kill+',
      '\tcap_chown+e\ncap_kill+p\r',
      '0x+e',
      '00+e 007+p 0X1f+i',
      'cap_chown,all-e',
    ];
    for (const text of texts) {
      const expected = libcap.fromText(text);
      if (expected === undefined) {
        expect(() => parseCapText(text), text).toThrow(IsoError);
      } else {
        expect(parseCapText(text), text).toEqual(expected);
      }
    }
  });

  it('refuses what cap_from_text refuses, with ISO_INVALID_OPTIONS naming the column', () => {
    const bad = [
      'cap_chown',
      'cap_nope+e',
      '+e',
      '-e',
      'cap_chown+',
      'cap_chown+x',
      'cap_chown+E',
      '=+e',
      'cap_chown,+e',
      'cap_chown+e-',
      'cap_chown+ecap_kill+e',
      '64+e',
      'cap_chown2+e',
    ];
    for (const text of bad) {
      expect(libcap.fromText(text), `libcap accepts ${text}`).toBeUndefined();
      let caught: unknown;
      try {
        parseCapText(text, { path: 'caps.text' });
      } catch (error) {
        caught = error;
      }
      expect(caught, text).toBeInstanceOf(IsoError);
      expect((caught as IsoError).code).toBe('ISO_INVALID_OPTIONS');
      expect((caught as IsoError).path).toBe('caps.text');
      expect((caught as IsoError).message).toMatch(/at column \d+/);
    }
  });

  it('honours an explicit lastCap for all and the base clause', () => {
    expect(parseCapText('all=ep', { lastCap: 37 })).toEqual({ effective: (1n << 38n) - 1n, permitted: (1n << 38n) - 1n, inheritable: 0n });
    expect(formatCapText({ effective: (1n << 38n) - 1n, permitted: (1n << 38n) - 1n, inheritable: 0n }, { lastCap: 37 })).toBe('=ep');
  });
});
