// Every malformed option is refused before anything is created: spawn() throws
// ISO_INVALID_OPTIONS at once, run() rejects with it, and no runner, fd or mount is left.
import { isIsoError } from '@iso/core';
import { snapshotHost, leaksSince } from '@iso/test-kit';
import { describe, expect, it } from 'vitest';
import { run, spawn } from '../src/index.js';

const isRoot = process.getuid?.() === 0;

/** [what, file, args, options]: each one a mistake a plain-JavaScript caller can make. */
type Case = readonly [what: string, file: string, args: unknown, options: unknown];
const CASES: readonly Case[] = [
  ['options is null', 'true', [], null],
  ['options is a string', 'true', [], 'pid'],
  ['options is an array', 'true', [], [{ pid: true }]],
  ['an unknown option', 'true', [], { pdi: true }],
  ['file is a number', 5 as never, [], {}],
  ['file is empty', '', [], {}],
  ['file has a NUL', 'tr\0ue', [], {}],
  ['args is a string', 'true', '-l', {}],
  // eslint-disable-next-line no-sparse-arrays
  ['args has a hole (a sparse array)', 'true', ['a', , 'b'], {}],
  ['an arg is a number', 'true', [1], {}],
  ['an arg has a NUL', 'true', ['a\0b'], {}],
  ['cwd is relative', 'true', [], { cwd: 'tmp' }],
  ['cwd is a number', 'true', [], { cwd: 7 }],
  ['env is an array', 'true', [], { env: ['A=b'] }],
  ['env is a Map', 'true', [], { env: new Map([['A', 'b']]) }],
  ['env is a string', 'true', [], { env: 'A=b' }],
  ['an env value is a number', 'true', [], { env: { A: 1 } }],
  ['an env name has =', 'true', [], { env: { 'A=B': 'c' } }],
  ['inheritEnv is a string', 'true', [], { inheritEnv: 'HOME' }],
  ['inheritEnv lists a number', 'true', [], { inheritEnv: [1] }],
  ['stdio is a word it does not know', 'true', [], { stdio: 'piped' }],
  ['stdio has two entries', 'true', [], { stdio: ['pipe', 'pipe'] }],
  ['stdio has a negative fd', 'true', [], { stdio: ['pipe', -1, 'pipe'] }],
  ['stdio has an fd that is not open', 'true', [], { stdio: ['pipe', 9999, 'pipe'] }],
  ['input is a number', 'cat', [], { input: 5 }],
  ['input is an object', 'cat', [], { input: { text: 'x' } }],
  ['input with stdin inherited', 'cat', [], { input: 'x', stdio: 'inherit' }],
  ['timeout is zero', 'true', [], { timeout: 0 }],
  ['timeout is negative', 'true', [], { timeout: -5 }],
  ['timeout is a string', 'true', [], { timeout: '100' }],
  ['timeout is NaN', 'true', [], { timeout: Number.NaN }],
  ['timeout is past setTimeout', 'true', [], { timeout: 2 ** 31 }],
  ['signal is a string', 'true', [], { signal: 'SIGTERM' }],
  ['signal is a controller', 'true', [], { signal: new AbortController() }],
  ['killSignal is unknown', 'true', [], { killSignal: 'SIGFOO' }],
  ['killSignal is lower case', 'true', [], { killSignal: 'sigterm' }],
  ['killSignal is 0', 'true', [], { killSignal: 0 }],
  ['killSignal is 65', 'true', [], { killSignal: 65 }],
  ['forceKillAfterDelay is negative', 'true', [], { forceKillAfterDelay: -1 }],
  ['newSession is a string', 'true', [], { newSession: 'yes' }],
  ['maxBuffer is negative', 'true', [], { maxBuffer: -1 }],
  ['maxBuffer is a fraction', 'true', [], { maxBuffer: 1.5 }],
  ['maxBuffer is past a string', 'true', [], { maxBuffer: 2 ** 30 }],
  ['maxBuffer is a string', 'true', [], { maxBuffer: '1m' }],
  ['onMaxBuffer is unknown', 'true', [], { onMaxBuffer: 'ignore' }],
  ['buffer is a string', 'true', [], { buffer: 'no' }],
  ['encoding is latin1', 'true', [], { encoding: 'latin1' }],
  ['all is 1', 'true', [], { all: 1 }],
  ['pid is a string', 'true', [], { pid: 'yes' }],
  ['pid has an unknown key', 'true', [], { pid: { asPid: true } }],
  ['uts.hostname is too long', 'true', [], { uts: { hostname: 'x'.repeat(65) } }],
  ['uts.hostname is a number', 'true', [], { uts: { hostname: 5 } }],
  ['ipc is a number', 'true', [], { ipc: 1 }],
  ['mount.entries is an object', 'true', [], { mount: { entries: { type: 'tmpfs', target: '/tmp' } } }],
  ['a mount entry type it does not know', 'true', [], { mount: { entries: [{ type: 'nfs', target: '/x' }] } }],
  ['a mount target is relative', 'true', [], { mount: { entries: [{ type: 'tmpfs', target: 'tmp' }] } }],
  ['a tmpfs size with an unknown unit', 'true', [], { mount: { entries: [{ type: 'tmpfs', target: '/tmp', size: '10q' }] } }],
  ['mount.root is unknown', 'true', [], { mount: { root: 'host' } }],
  ['time.monotonic is a string', 'true', [], { time: { monotonic: '5' } }],
  ['userns.user is a fraction', 'true', [], { userns: { user: 1.5 } }],
  ['userns.join is 0', 'true', [], { userns: { join: 0 } }],
  ['userns.join is relative', 'true', [], { userns: { join: 'proc/1/ns/user' } }],
  ['userns.dangerouslyMapHostRoot is a string', 'true', [], { userns: { dangerouslyMapHostRoot: 'yes' } }],
  ['caps.add names an unknown capability', 'true', [], { caps: { add: ['CAP_FLY'] } }],
  ['caps.add is a string', 'true', [], { caps: { add: 'NET_ADMIN' } }],
  // eslint-disable-next-line no-sparse-arrays
  ['caps.add has a hole', 'true', [], { caps: { add: ['CAP_KILL', , 'CAP_CHOWN'] } }],
  // eslint-disable-next-line no-sparse-arrays
  ['caps.securebits has a hole', 'true', [], { caps: { securebits: ['NOROOT', , 'NOROOT'] } }],
  ['seccomp.profile is unknown', 'true', [], { seccomp: { profile: 'paranoid' } }],
  ['seccomp.notify without a handler', 'true', [], { seccomp: { notify: ['mkdir'] } }],
  ['seccomp.onNotify is not a function', 'true', [], { seccomp: { notify: ['mkdir'], onNotify: 5 } }],
  ['a program over 16 MiB', 'true', ['x'.repeat(17 * 1024 * 1024)], {}],
  ...(isRoot
    ? ([
        ['userns.hostIdsForRoot maps host root', 'true', [], { userns: { hostIdsForRoot: { uid: 0, gid: 0 } } }],
        ['userns.ranges map host root', 'true', [], { userns: { ranges: { uid: [{ inside: 0, outside: 0, count: 1 }], gid: [{ inside: 0, outside: 100000, count: 1 }] } } }],
      ] satisfies Case[])
    : ([['userns.hostIdsForRoot for a caller that is not root', 'true', [], { userns: { hostIdsForRoot: { uid: 100000, gid: 100000 } } }]] satisfies Case[])),
];

describe('malformed options', () => {
  it(`are ${CASES.length} cases, at least 60`, () => {
    expect(CASES.length).toBeGreaterThanOrEqual(60);
  });

  it.each(CASES)('%s: spawn() throws and run() rejects, ISO_INVALID_OPTIONS, and nothing is left', async (_what, file, args, options) => {
    const before = snapshotHost();
    let thrown: unknown;
    try {
      spawn(file, args as string[], options as never);
    } catch (error) {
      thrown = error;
    }
    expect(isIsoError(thrown) ? thrown.isoCode : thrown).toBe('ISO_INVALID_OPTIONS');
    await expect(run(file, args as string[], options as never)).rejects.toMatchObject({ isoCode: 'ISO_INVALID_OPTIONS' });
    expect(await leaksSince(before, 0)).toEqual([]);
  });
});
