import { buildProgram, explainProgram, orderSteps, validateProgram } from '@iso/core';
import type { ChildStep, SyscallStep } from '@iso/core';
import { featureContext } from '@iso/test-kit';
import { describe, expect, it } from 'vitest';
import { ACCESS_FS, FILE_RIGHTS, landlockFeature, landlockPlan, netPortAttrStruct, normalizeLandlockOptions, pathBeneathAttrStruct, rulesetAttrStruct } from '../src/index.js';
import type { LandlockOptions } from '../src/index.js';

const plan = (options: LandlockOptions, abi = 7) => landlockPlan(normalizeLandlockOptions(options, abi)!);
const names = (steps: readonly ChildStep[] | undefined) => (steps ?? []).map((step) => step.name);
const syscall = (step: ChildStep | undefined) => step as SyscallStep;
const blockOf = (step: ChildStep | undefined, at: number) => {
  const arg = syscall(step).args[at];
  if (arg?.kind !== 'block') throw new Error('not a block');
  return arg;
};

describe('@iso/landlock plan', () => {
  it('is one stage, lsm: the ruleset, the rules, restrict_self, close', () => {
    const staged = plan({ fs: { '/usr': 'rx', '/tmp': 'rwmd', '/etc/hosts': 'r' }, net: { connect: [443], bind: [8080] } });
    expect(Object.keys(staged)).toEqual(['lsm']);
    expect(names(staged.lsm)).toEqual([
      'landlock.ruleset',
      ...['landlock.fs.open', 'landlock.fs.rule', 'landlock.fs.dirRule', 'landlock.fs.close'],
      ...['landlock.fs.open', 'landlock.fs.rule', 'landlock.fs.dirRule', 'landlock.fs.close'],
      ...['landlock.fs.open', 'landlock.fs.rule', 'landlock.fs.dirRule', 'landlock.fs.close'],
      'landlock.net.rule',
      'landlock.net.rule',
      'landlock.restrict',
      'landlock.close',
    ]);
    const [ruleset, open, fileRule, dirRule] = staged.lsm ?? [];
    expect(syscall(ruleset)).toMatchObject({ syscall: 'landlock_create_ruleset', saveAs: 'landlock.ruleset' });
    expect(rulesetAttrStruct.decode(Buffer.from(blockOf(ruleset, 0).value))).toEqual({ handled_access_fs: 0xffffn, handled_access_net: 3n, scoped: 3n });
    expect(syscall(open)).toMatchObject({ syscall: 'openat', args: [{ value: -100 }, { kind: 'string', value: '/usr' }, { value: 0o10000000 | 0o2000000 }], saveAs: 'landlock.fs.fd' });
    expect(syscall(open).tolerate).toBeUndefined();
    // A file takes only file rights: those first, valid on both; the full set tolerates EINVAL.
    const beneath = (step: ChildStep | undefined) => pathBeneathAttrStruct.decode(Buffer.from(blockOf(step, 2).value)).allowed_access;
    expect(beneath(fileRule)).toBe(BigInt(ACCESS_FS.EXECUTE | ACCESS_FS.READ_FILE));
    expect(beneath(dirRule)).toBe(BigInt(ACCESS_FS.EXECUTE | ACCESS_FS.READ_FILE | ACCESS_FS.READ_DIR));
    expect(syscall(dirRule).tolerate).toEqual(['EINVAL']);
    expect(blockOf(fileRule, 2).results).toEqual([{ at: 8, name: 'landlock.fs.fd', size: 4 }]);
    const ports = (staged.lsm ?? []).filter((step) => step.name === 'landlock.net.rule').map((step) => netPortAttrStruct.decode(Buffer.from(blockOf(step, 2).value)));
    expect(ports).toEqual([
      { allowed_access: 2n, port: 443n }, // CONNECT_TCP
      { allowed_access: 1n, port: 8080n }, // BIND_TCP
    ]);
    expect(syscall(staged.lsm?.at(-2))).toMatchObject({ syscall: 'landlock_restrict_self', args: [{ kind: 'result', name: 'landlock.ruleset' }, { value: 0 }] });
  });

  it('rights only for directories get one rule, which fails on a file; file rights alone, one too', () => {
    expect(names(plan({ fs: { '/tmp': 'md' } }).lsm).filter((name) => name.includes('Rule') || name.endsWith('.rule'))).toEqual(['landlock.fs.dirRule']);
    expect(syscall(plan({ fs: { '/tmp': 'md' } }).lsm?.[2]).tolerate).toBeUndefined();
    expect(names(plan({ fs: { '/bin/sh': 'x' } }).lsm).slice(1, 4)).toEqual(['landlock.fs.open', 'landlock.fs.rule', 'landlock.fs.close']);
    expect(FILE_RIGHTS & ACCESS_FS.READ_DIR).toBe(0);
  });

  it('an optional path skips its rules and its close when it is missing', () => {
    const open = syscall(plan({ fs: { '/opt/x': { access: 'rx', optional: true } } }).lsm?.[1]);
    expect(open).toMatchObject({ tolerate: ['ENOENT', 'ENOTDIR'], skipOnTolerated: 3 });
    expect(syscall(plan({ fs: { '/opt/x': { access: 'x', optional: true } } }).lsm?.[1]).skipOnTolerated).toBe(2);
  });

  it('sizes the ruleset attribute for the ABI: 8 bytes to 3, 16 to 5, 24 from 6', () => {
    const size = (abi: number) => syscall(plan({ fs: {}, net: {}, bestEffort: true }, abi).lsm?.[0]).args[1];
    expect([1, 3, 4, 5, 6, 7].map((abi) => size(abi))).toEqual([8, 8, 16, 16, 24, 24].map((value) => ({ kind: 'immediate', value })));
    expect(blockOf(plan({ fs: {}, bestEffort: true }, 3).lsm?.[0], 0).value).toHaveLength(8);
  });

  it('plans nothing when nothing is enforced: an empty policy, or no Landlock with best effort', () => {
    expect(plan({ scope: false })).toEqual({});
    expect(plan({ fs: { '/usr': 'r' }, bestEffort: true }, 0)).toEqual({});
    expect(plan({ net: { connect: [1] }, scope: false, bestEffort: true }, 3)).toEqual({});
  });

  it('encodes into a valid program whose explain() shows the rules and what best effort dropped', () => {
    const staged = plan({ fs: { '/usr': 'rx', '/data': { access: 'rw', optional: true } }, net: { connect: [443] }, bestEffort: true }, 3);
    const program = buildProgram(orderSteps([staged]), 'x86_64');
    expect(validateProgram(program.bytes)).toEqual({ ok: true });
    expect(validateProgram(buildProgram(orderSteps([staged]), 'aarch64').bytes)).toEqual({ ok: true });
    const text = explainProgram(program);
    expect(text).toContain(
      'landlock_create_ruleset({handled_access_fs=EXECUTE|WRITE_FILE|READ_FILE|READ_DIR|REMOVE_DIR|REMOVE_FILE|MAKE_CHAR|MAKE_DIR|MAKE_REG|MAKE_SOCK|MAKE_FIFO|MAKE_BLOCK|MAKE_SYM|REFER|TRUNCATE} /* ABI 3, best effort: fs.ioctlDev, net, scope.abstractUnixSocket, scope.signal not enforced */, 8, 0)  = $landlock.ruleset',
    );
    expect(text).toMatch(/landlock\.fs\.open +openat\(AT_FDCWD, "\/data", O_PATH\|O_CLOEXEC\) += \$landlock\.fs\.fd; tolerate ENOENT,ENOTDIR; then skip 5/);
    expect(text).toMatch(/landlock_add_rule\(\$landlock\.ruleset, LANDLOCK_RULE_PATH_BENEATH, \{allowed_access=EXECUTE\|READ_FILE, parent_fd=\$landlock\.fs\.fd\}, 0\)/);
    expect(text).toMatch(/landlock\.restrict +landlock_restrict_self\(\$landlock\.ruleset, 0\)/);
    expect(text).not.toContain('LANDLOCK_RULE_NET_PORT');
    expect(explainProgram(buildProgram(orderSteps([plan({ net: { connect: [443] } })]), 'x86_64'))).toContain(
      'landlock_add_rule($landlock.ruleset, LANDLOCK_RULE_NET_PORT, {allowed_access=CONNECT_TCP, port=443}, 0)',
    );
  });

  it('a program at the most rules stays inside the runner limits', () => {
    const fs = Object.fromEntries(Array.from({ length: 256 }, (_, i) => [`/p${i}`, { access: 'rwxmd', optional: true }] as const));
    const net = { bind: Array.from({ length: 128 }, (_, i) => i + 1), connect: Array.from({ length: 128 }, (_, i) => i + 1000) };
    const program = buildProgram(orderSteps([plan({ fs, net })]), 'x86_64');
    expect(validateProgram(program.bytes)).toEqual({ ok: true });
    expect(program.steps.length).toBeLessThan(2048);
  });

  it('the feature object wires it up', () => {
    const context = featureContext({ noNewPrivs: true });
    const option: LandlockOptions = { fs: { '/usr': 'rx' }, bestEffort: true };
    const settings = landlockFeature.normalize(option, context)!;
    expect(landlockFeature.key).toBe('landlock');
    expect(landlockFeature.plan(settings, context)).toEqual({ steps: landlockPlan(settings) });
    expect('facts' in landlockFeature).toBe(false);
  });
});
