// Differential tests: iso's compiler against libseccomp 2.5 (the oracle), both filters run
// through iso's interpreter, with the policy's reference meaning as the third voice.
import { readFileSync } from 'node:fs';
import type { Arch } from '@iso/core';
import { DOCKER_DEFAULT_CAPS } from '@iso/caps';
import { dockerFormatProfiles } from '@iso/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { compilePolicy } from '../src/compile.js';
import { loadDockerProfile } from '../src/docker.js';
import { filterCost } from '../src/interpret.js';
import type { SeccompPolicy } from '../src/options.js';
import { abisOfArch, normalizePolicy } from '../src/policy.js';
import { defaultProfile } from '../src/profile.js';
import { ambiguousJumps, compareFilters, median, prng, randomPolicy } from './differential.js';
import { libseccompCompile, libseccompRuleVerdicts, libseccompVersion, libseccompView } from './libseccomp.js';

/** Docker's default capability set (the bounding set its profile's includes are checked against). */
const DOCKER_CAPS = DOCKER_DEFAULT_CAPS;

// Podman's profile always, Docker's own when the fixture beside the checkout is there.
const profiles = dockerFormatProfiles().map((file) => ({ ...file, json: JSON.parse(readFileSync(file.path, 'utf8')) as unknown }));

interface Row {
  name: string;
  arch: Arch;
  abi: string;
  iso: { instructions: number; median: number };
  libseccomp: { instructions: number; median: number };
}

const report: Row[] = [];

afterAll(() => {
  if (report.length === 0) return;
  const lines = report.map(
    (r) =>
      `${`${r.name} [${r.abi}]`.padEnd(52)} iso ${String(r.iso.instructions).padStart(5)} insns, median ${String(r.iso.median).padStart(4)} executed | libseccomp ${String(r.libseccomp.instructions).padStart(5)} insns, median ${String(r.libseccomp.median).padStart(4)}`,
  );
  console.log(`BPF size and cost, iso vs libseccomp ${libseccompVersion()} (median instructions executed over the ABI's syscalls):\n${lines.join('\n')}`);
});

/** Compiles with both, compares on every number and sampled arguments, records the costs. */
function differential(name: string, policy: SeccompPolicy, arch: Arch, seed: number, record = true) {
  const normalized = normalizePolicy(policy);
  const ours = compilePolicy(normalized, arch);
  const theirs = libseccompCompile(normalized, arch);
  const result = compareFilters(normalized, arch, ours, theirs.instructions, theirs.excluded, prng(seed));
  if (record)
    for (const abi of abisOfArch(arch).filter((a) => normalized.abis.includes(a))) {
      const a = filterCost(ours, abi);
      const b = filterCost(theirs.instructions, abi);
      report.push({
        name,
        arch,
        abi,
        iso: { instructions: a.instructions, median: a.median },
        libseccomp: { instructions: b.instructions, median: b.median },
      });
    }
  return { ours, theirs, result };
}

describe('differential against libseccomp', () => {
  it('uses libseccomp 2.5', () => {
    expect(libseccompVersion()).toMatch(/^2\.5\./);
  });

  for (const arch of ['x86_64', 'aarch64'] as const) {
    for (const { name, json } of profiles) {
      it(`${name}'s default profile with Docker's 14 caps agrees on every call (${arch})`, () => {
        const policy = loadDockerProfile(json, { keptCaps: DOCKER_CAPS, kernelRelease: '6.18.0' });
        const { ours, theirs, result } = differential(`${name}'s default, 14 caps`, policy, arch, 1);
        expect(result.mismatches.slice(0, 5)).toEqual([]);
        expect(result.calls).toBeGreaterThan(500);
        expect(theirs.mismatched).toEqual([]);
        // Names libseccomp 2.5.4 predates (mseal, the *xattrat family, ...): skipped for it, as runc does.
        if (arch === 'x86_64' && name === 'docker') expect(theirs.unknown.get('x86_64')).toContain('mseal');
        expect(ours.instructions.length).toBeLessThan(theirs.instructions.length);
      });

      it(`${name}'s default profile with CAP_SYS_ADMIN agrees on every call (${arch})`, () => {
        const policy = loadDockerProfile(json, { keptCaps: [...DOCKER_CAPS, 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'], kernelRelease: '6.18.0' });
        const { result } = differential(`${name}'s default, + SYS_ADMIN, SYS_PTRACE`, policy, arch, 2);
        expect(result.mismatches.slice(0, 5)).toEqual([]);
      });
    }

    it(`the built-in default profile agrees on every call (${arch})`, () => {
      const { ours, theirs, result } = differential('iso default profile, no caps', defaultProfile(), arch, 3);
      expect(result.mismatches.slice(0, 5)).toEqual([]);
      expect(ours.instructions.length).toBeLessThan(theirs.instructions.length);
      const all = defaultProfile({ keptCaps: ['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE', 'CAP_SYS_TIME', 'CAP_SYS_BOOT', 'CAP_SYS_MODULE'] });
      expect(differential('iso default profile, 5 caps', all, arch, 4).result.mismatches.slice(0, 5)).toEqual([]);
    });
  }

  it('200 random policies agree on every call and sampled arguments, on both machines', () => {
    const rng = prng(0x5ecc0);
    const sizes = { all: [] as number[], iso: [] as number[], libseccomp: [] as number[] };
    const executed = { iso: [] as number[], libseccomp: [] as number[] };
    let calls = 0;
    const oracleBugs = { merge: 0, stale: 0, examples: [] as string[] };
    let rules = 0;
    let conditional = 0;
    for (let i = 0; i < 200; i++) {
      const policy = randomPolicy(rng);
      rules += policy.rules?.length ?? 0;
      conditional += policy.rules?.filter((r) => r.args?.length).length ?? 0;
      for (const arch of ['x86_64', 'aarch64'] as const) {
        const { ours, theirs, result } = differential(`random #${i}`, policy, arch, 1000 + i, false);
        calls += result.calls;
        expect(ambiguousJumps(ours.instructions)).toEqual(new Set());
        // libseccomp disagrees, iso and the reference agree: a libseccomp bug only if its
        // own single-rule filters say no matching rule has the action it returned.
        const normalized = normalizePolicy(policy);
        for (const m of result.oracle) {
          if (m.abi === 'other-arch') {
            result.mismatches.push(m);
            continue;
          }
          const justified = libseccompRuleVerdicts(normalized, arch, m.abi, m.nr, m.args);
          if (justified.length === 0) justified.push(normalized.defaultAction);
          if (justified.includes(Number(m.reference)) && !justified.includes(Number(m.theirs))) {
            oracleBugs[m.staleAccumulator ? 'stale' : 'merge']++;
            if (oracleBugs.examples.length < 4) oracleBugs.examples.push(`policy ${i} ${m.abi} nr ${m.nr}${m.staleAccumulator ? ' (stale accumulator)' : ''}`);
          } else result.mismatches.push(m);
        }
        if (result.mismatches.length > 0)
          expect({ policy: i, arch, first: result.mismatches.slice(0, 3) }, JSON.stringify(policy, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))).toEqual({
            policy: i,
            arch,
            first: [],
          });
        // Sizes on equal input: the rules libseccomp could compile (it lacks newer syscalls).
        const same = compilePolicy(libseccompView(normalizePolicy(policy), theirs), arch);
        sizes.all.push(ours.instructions.length);
        sizes.iso.push(same.instructions.length);
        sizes.libseccomp.push(theirs.instructions.length);
        executed.iso.push(filterCost(same, arch).median);
        executed.libseccomp.push(filterCost(theirs.instructions, arch).median);
      }
    }
    const sum = (list: number[]) => list.reduce((s, v) => s + v, 0);
    console.log(
      `200 random policies (${rules} rules, ${conditional} with argument conditions), ${calls} calls compared:\n` +
        `  total instructions on the rules libseccomp knows: iso ${sum(sizes.iso)}, libseccomp ${sum(sizes.libseccomp)} (iso with every 6.18 name: ${sum(sizes.all)})\n` +
        `  median filter size: iso ${median(sizes.iso)}, libseccomp ${median(sizes.libseccomp)}\n` +
        `  median of per-filter median instructions executed per syscall: iso ${median(executed.iso)}, libseccomp ${median(executed.libseccomp)}\n` +
        `  libseccomp ${libseccompVersion()} contradicted its own single-rule filters on ${oracleBugs.stale + oracleBugs.merge} calls ` +
        `(${oracleBugs.stale} comparing a stale accumulator, ${oracleBugs.merge} skipping a rule's condition; e.g. ${oracleBugs.examples.join(', ') || 'none'})`,
    );
    expect(calls).toBeGreaterThan(200_000);
    expect(sum(sizes.iso)).toBeLessThanOrEqual(sum(sizes.libseccomp));
    expect(median(executed.iso)).toBeLessThanOrEqual(median(executed.libseccomp));
  });
});
