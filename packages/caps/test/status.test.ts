import { describe, expect, it } from 'vitest';
import { IsoError } from '@iso/core';
import { rawSyscall } from '@iso/core/native';
import { capNames, lastCap } from '../src/names.js';
import { parseCapStatus, readProcessCaps } from '../src/status.js';
import { capget, getNoNewPrivs } from '../src/sys.js';
import { probeCaps } from '../src/probe.js';
import { capshDecode, isRoot } from './helpers.js';

const PR_CAPBSET_READ = 23;

describe('process capability sets', () => {
  it("reads the caller's sets as capget(2) and PR_CAPBSET_READ report them", () => {
    const self = readProcessCaps('self');
    const kernel = capget(0);
    expect(self.effective.mask).toBe(kernel.effective);
    expect(self.permitted.mask).toBe(kernel.permitted);
    expect(self.inheritable.mask).toBe(kernel.inheritable);
    let bounding = 0n;
    for (let n = 0; n <= lastCap(); n++)
      if (rawSyscall('prctl', [PR_CAPBSET_READ, n], { step: 'test.capbsetRead' }) === 1) bounding |= 1n << BigInt(n);
    expect(self.bounding.mask).toBe(bounding);
    expect(self.noNewPrivs).toBe(getNoNewPrivs());
    // The rootless run drops everything with setpriv; as root the caller holds capabilities.
    if (isRoot) expect(self.effective.names).toContain('CAP_CHOWN');
    else expect(self.effective.mask).toBe(0n);
    expect(self.effective.names.map((name) => name.toLowerCase())).toEqual(capshDecode(self.effective.mask));
  });

  it('parses status text: masks, names, unnamed bits, no_new_privs and seccomp', () => {
    const text = [
      'Name:\tcat',
      'CapInh:\t0000000000000000',
      'CapPrm:\t00000000a80425fb',
      'CapEff:\t00000000a80425fb',
      'CapBnd:\t00000300a80425fb',
      'CapAmb:\t0000000000000400',
      'NoNewPrivs:\t1',
      'Seccomp:\t2',
      'Seccomp_filters:\t3',
      '',
    ].join('\n');
    const caps = parseCapStatus(text);
    expect(caps.effective.mask).toBe(0xa80425fbn);
    expect(caps.effective.names).toEqual(capNames(0xa80425fbn));
    expect(caps.bounding.unnamed).toEqual([41]);
    expect(caps.bounding.names).toContain('CAP_CHECKPOINT_RESTORE');
    expect(caps.ambient?.names).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(caps.noNewPrivs).toBe(true);
    expect(caps.seccomp).toBe('filter');
    expect(caps.seccompFilters).toBe(3);
    // A kernel before 4.3 has no CapAmb line, before 4.10 no NoNewPrivs.
    const old = parseCapStatus(text.replace(/^(CapAmb|NoNewPrivs|Seccomp|Seccomp_filters):.*$/gm, ''));
    expect(old.ambient).toBeUndefined();
    expect(old.noNewPrivs).toBeUndefined();
    expect(old.seccomp).toBeUndefined();
  });

  it('reports a missing or malformed set as a typed error', () => {
    expect(() => parseCapStatus('CapInh:\t0\nCapPrm:\t0\nCapEff:\t0\n')).toThrow(/no CapBnd line/);
    expect(() => parseCapStatus('CapInh:\tzz\n')).toThrow(IsoError);
    let caught: unknown;
    try {
      readProcessCaps(2 ** 22 + 12345);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(IsoError);
    expect((caught as IsoError).code).toBe('ENOENT');
    expect((caught as IsoError).step).toBe('caps.readProcessCaps');
  });

  it('probes the kernel: cap_last_cap, ambient support and the caller', () => {
    const probe = probeCaps();
    expect(probe.lastCap).toBe(lastCap());
    expect(probe.knownLastCap).toBe(40);
    expect(probe.ambient).toBe(true); // Linux 6.18 here
    expect(probe.self?.effective.mask).toBe(readProcessCaps('self').effective.mask);
    expect(probe.securebits).toBe(0);
    expect(probe.missing).toEqual([]);
    expect(probe.reasons).toEqual([]);
  });
});
