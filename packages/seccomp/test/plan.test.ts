import { buildProgram, explainProgram } from '@iso/core';
import { describe, expect, it } from 'vitest';
import { decodeFilter } from '../src/bpf.js';
import { runFilter } from '../src/interpret.js';
import { SECCOMP_FILTER_FLAG } from '../src/consts.js';
import { normalizeSeccompOptions } from '../src/normalize.js';
import { seccompPlan, settingsPolicy } from '../src/plan.js';

const invalid = (option: unknown, path: string, message?: RegExp) => { expect(() => normalizeSeccompOptions(option as never)).toThrow(
    expect.objectContaining({ code: 'ISO_INVALID_OPTIONS', path, ...(message ? { message: expect.stringMatching(message) } : {}) }),
  ); };

describe('the seccomp option', () => {
  it('normalizes true, false, the default profile, a typed policy and a Docker profile', () => {
    // On by default: undefined is the default profile, as true is.
    expect(normalizeSeccompOptions(undefined)).toEqual({ source: { kind: 'default' }, log: false, specAllow: false, notify: false });
    expect(normalizeSeccompOptions(false)).toBeUndefined();
    expect(normalizeSeccompOptions(true)).toBe(normalizeSeccompOptions(undefined));
    expect(normalizeSeccompOptions({ profile: 'default', log: true })).toEqual({ source: { kind: 'default' }, log: true, specAllow: false, notify: false });
    const typed = normalizeSeccompOptions({ defaultAction: 'allow', rules: [{ names: ['mount'], action: 'kill-process' }], specAllow: true });
    expect(typed).toMatchObject({ source: { kind: 'policy', policy: { defaultAction: 'allow' } }, specAllow: true });
    const docker = normalizeSeccompOptions({ docker: '{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_LOG"]}' }, '5.10.0');
    expect(docker).toMatchObject({ source: { kind: 'docker', kernelRelease: '5.10.0' }, log: true });
  });

  it('checks everything before anything runs', () => {
    invalid({ rules: [{ names: ['mountt'], action: 'allow' }] }, 'seccomp.rules[0].names[0]');
    invalid({ rules: [{ names: ['read'], action: 'notify' }] }, 'seccomp.onNotify', /seccomp\.rules\[0\] sends calls to user space/);
    invalid({ docker: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_NOTIFY' }] } }, 'seccomp.onNotify', /seccomp\.docker\.syscalls\[0\]/);
    invalid({ profile: 'default', onNotify: () => 'deny' }, 'seccomp.onNotify', /never be called/);
    invalid({ profile: 'default', notify: ['mkdir'] }, 'seccomp.onNotify', /seccomp\.notify sends calls to user space/);
    invalid({ profile: 'default', notify: 'mkdir', onNotify: () => 'deny' }, 'seccomp.notify');
    invalid({ profile: 'default', notify: ['mkdir', 3], onNotify: () => 'deny' }, 'seccomp.notify[1]');
    invalid({ rules: [{ names: ['read'], action: 'notify' }], onNotify: 'deny' }, 'seccomp.onNotify', /a function/);
    invalid({ docker: '{' }, 'seccomp.docker', /malformed JSON/);
    invalid({ docker: {}, rules: [] }, 'seccomp.rules');
    invalid({ profile: 'strict' }, 'seccomp.profile');
    invalid({ log: 'yes' }, 'seccomp.log');
    invalid('default', 'seccomp');
  });

  it('plans one seccomp.load step in the seccomp stage: seccomp(SET_MODE_FILTER, flags, &fprog)', () => {
    const settings = normalizeSeccompOptions({ profile: 'default', log: true });
    if (!settings) throw new Error('no settings');
    const staged = seccompPlan(settings, 'x86_64', []);
    expect(Object.keys(staged)).toEqual(['seccomp']);
    const [step] = staged.seccomp ?? [];
    if (step?.op !== 'syscall') throw new Error('expected a syscall step');
    expect(step).toMatchObject({ name: 'seccomp.load', syscall: 'seccomp' });
    const [mode, flagArg, fprog] = step.args;
    expect(mode).toMatchObject({ kind: 'immediate', value: 1 });
    expect(flagArg).toMatchObject({ kind: 'immediate', value: SECCOMP_FILTER_FLAG.SECCOMP_FILTER_FLAG_LOG });
    if (fprog?.kind !== 'block') throw new Error('expected a block');
    const length = Buffer.from(fprog.value).readUInt16LE(0);
    expect(fprog.value.length).toBe(16);
    expect(fprog.pointers).toHaveLength(1);
    const pointer = fprog.pointers[0];
    expect(pointer?.at).toBe(8);
    if (pointer?.to.kind !== 'bytes') throw new Error('expected bytes');
    const filter = decodeFilter(pointer.to.value);
    expect(filter).toHaveLength(length);
    expect(runFilter(filter, { arch: 0xc000003e, nr: 165 }).action).toBe('errno'); // mount
    const text = explainProgram(buildProgram([step], 'x86_64'));
    expect(text).toMatch(/seccomp\.load {2}seccomp\(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_LOG, \{len=\d+, filter=<\d+ bytes>\}\)/);
  });

  it('with notify rules, loads with NEW_LISTENER and sends the listener to Node on the return channel', () => {
    const settings = normalizeSeccompOptions({ defaultAction: 'allow', rules: [{ names: ['mkdir'], action: 'notify' }], onNotify: () => 'deny' });
    if (!settings) throw new Error('no settings');
    expect(settings).toMatchObject({ notify: true, notifyPath: 'seccomp.rules[0]' });
    // The handler stays with the caller: settings are cached and must not hold it.
    expect(JSON.stringify(settings)).not.toContain('onNotify');
    const steps = seccompPlan(settings, 'x86_64', []).seccomp ?? [];
    expect(steps.map((step) => step.op)).toEqual(['syscall', 'syscall']);
    expect(steps[0]).toMatchObject({ saveAs: 'seccomp.listener' });
    if (steps[0]?.op !== 'syscall') throw new Error('expected the load first');
    expect(steps[0].args[1]).toMatchObject({ value: SECCOMP_FILTER_FLAG.SECCOMP_FILTER_FLAG_NEW_LISTENER });
    // An ordinary sendmsg on the return channel; a store step puts the listener into SCM_RIGHTS.
    expect(steps[1]).toMatchObject({ name: 'seccomp.sendListener', syscall: 'sendmsg', args: [{ value: 4 }, {}, {}] });
    const program = buildProgram(steps, 'x86_64');
    expect(program.steps.map((step) => step.op)).toEqual(['syscall', 'store', 'syscall']);
    expect(explainProgram(program)).toMatch(/sendmsg\(4, \{iov=\[\{"\\0", 1\}\], control=\{SOL_SOCKET, SCM_RIGHTS, \[\$seccomp\.listener\]\}\}, MSG_NOSIGNAL\)/);
  });

  it('moves the default profile’s notify names out of its rules into one notify rule', () => {
    const settings = normalizeSeccompOptions({ profile: 'default', notify: ['mkdir', 'socket', 'mount', 'mkdir'], onNotify: () => 'deny' });
    if (!settings) throw new Error('no settings');
    const policy = settingsPolicy(settings, []);
    const notifyRules = (policy.rules ?? []).filter((rule) => rule.action === 'notify');
    expect(notifyRules.map((rule) => rule.names)).toEqual([['mkdir', 'socket', 'mount']]);
    expect((policy.rules ?? []).filter((rule) => rule.action !== 'notify').some((rule) => rule.names.includes('socket'))).toBe(false);
    const step = seccompPlan(settings, 'x86_64', []).seccomp?.[0];
    if (step?.op !== 'syscall' || step.args[2]?.kind !== 'block' || step.args[2].pointers[0]?.to.kind !== 'bytes') throw new Error('bad step');
    const filter = step.args[2].pointers[0].to.value;
    expect(runFilter(filter, { arch: 0xc000003e, nr: 83 }).action).toBe('notify'); // mkdir
    expect(runFilter(filter, { arch: 0xc000003e, nr: 41, args: [38] }).action).toBe('notify'); // socket(AF_ALG)
    expect(runFilter(filter, { arch: 0xc000003e, nr: 0 }).action).toBe('allow'); // read
    expect(runFilter(filter, { arch: 0xc000003e, nr: 246 }).action).toBe('errno'); // kexec_load
  });

  it('lets kept capabilities change the default and Docker profiles', () => {
    const settings = normalizeSeccompOptions(true);
    if (!settings) throw new Error('no settings');
    const mount = (caps: string[]) => {
      const step = seccompPlan(settings, 'aarch64', caps).seccomp?.[0];
      if (step?.op !== 'syscall' || step.args[2]?.kind !== 'block' || step.args[2].pointers[0]?.to.kind !== 'bytes') throw new Error('bad step');
      return runFilter(step.args[2].pointers[0].to.value, { arch: 0xc00000b7, nr: 40 }).action;
    };
    expect(mount([])).toBe('errno');
    expect(mount(['CAP_SYS_ADMIN'])).toBe('allow');
    expect(settingsPolicy(settings, []).abis).toEqual(['x86_64', 'aarch64']);
  });
});
