// Test helpers: capsh as the oracle for masks, libcap through koffi as the oracle for
// text, and self-mapped user namespaces shaped for the cases here (an id other than 0,
// a network namespace), which the userns feature does not make.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLONE, execSteps, flags, prepareSteps, writeFileSteps } from '@iso/core';
import { koffi } from '@iso/core/native';
import type { ChildStep } from '@iso/core';
import { gid, uid } from '@iso/test-kit';
import type { CapSets } from '../src/text.js';

export { gid, isRoot, uid } from '@iso/test-kit';

/** capsh --decode=<hex>: libcap's names for a mask, lowercase, unknown bits as numbers. */
export function capshDecode(mask: bigint): string[] {
  const out = execFileSync('capsh', [`--decode=0x${mask.toString(16)}`], { encoding: 'utf8' }).trim();
  const names = out.slice(out.indexOf('=') + 1);
  return names === '' ? [] : names.split(',');
}

/** libcap 2 through koffi (tests only): cap_to_text and cap_from_text. */
export interface Libcap {
  toText(sets: CapSets): string;
  /** undefined where cap_from_text refuses the text. */
  fromText(text: string): CapSets | undefined;
}

let libcap: Libcap | undefined;

export function loadLibcap(): Libcap {
  if (libcap) return libcap;
  const k = koffi();
  const lib = k.load('libcap.so.2');
  const capInit = lib.func('void *cap_init()') as () => unknown;
  const capSetFlag = lib.func('int cap_set_flag(void *cap, int flag, int ncap, const int *caps, int value)') as (
    cap: unknown,
    flag: number,
    count: number,
    caps: number[],
    value: number,
  ) => number;
  const capGetFlag = lib.func('int cap_get_flag(void *cap, int value, int flag, _Out_ int *out)') as (
    cap: unknown,
    value: number,
    flag: number,
    out: number[],
  ) => number;
  const capToText = lib.func('void *cap_to_text(void *cap, void *len)') as (cap: unknown, len: null) => unknown;
  const capFromText = lib.func('void *cap_from_text(const char *text)') as (text: string) => unknown;
  const capFree = lib.func('int cap_free(void *p)') as (p: unknown) => number;
  // cap_flag_t: CAP_EFFECTIVE 0, CAP_PERMITTED 1, CAP_INHERITABLE 2.
  const order = [
    ['effective', 0],
    ['permitted', 1],
    ['inheritable', 2],
  ] as const;
  libcap = {
    toText(sets) {
      const cap = capInit();
      for (const [key, flag] of order) {
        const bits: number[] = [];
        for (let n = 0; n < 64; n++) if ((sets[key] >> BigInt(n)) & 1n) bits.push(n);
        if (bits.length && capSetFlag(cap, flag, bits.length, bits, 1) !== 0) throw new Error('cap_set_flag failed');
      }
      const text = capToText(cap, null);
      const result = k.decode(text, 'char', -1) as string;
      capFree(text);
      capFree(cap);
      return result;
    },
    fromText(text) {
      const cap = capFromText(text);
      if (cap === null) return undefined;
      const sets: CapSets = { effective: 0n, permitted: 0n, inheritable: 0n };
      for (const [key, flag] of order)
        for (let n = 0; n < 64; n++) {
          const out = [0];
          if (capGetFlag(cap, n, flag, out) === 0 && out[0] === 1) sets[key] |= 1n << BigInt(n);
        }
      capFree(cap);
      return sets;
    },
  };
  return libcap;
}

/** Launch-and-collect lives in the test kit. */
export { runProgram } from '@iso/test-kit';
export type { RunOutcome as RunResult } from '@iso/test-kit';

/**
 * A user namespace the program makes itself (rootless and as root): `inside` maps to
 * the caller's own ids, in one line, which the kernel lets any process write.
 */
export function selfMappedUserns(options: { inside?: number; net?: boolean } = {}): ChildStep[] {
  const inside = options.inside ?? 0;
  const flagsValue = CLONE.CLONE_NEWUSER | (options.net ? CLONE.CLONE_NEWNET : 0);
  return [
    { op: 'syscall', name: 'test.unshare', syscall: 'unshare', args: [flags(flagsValue, CLONE)] },
    ...writeFileSteps('test.setgroups', '/proc/self/setgroups', 'deny'),
    ...writeFileSteps('test.uidMap', '/proc/self/uid_map', `${inside} ${uid} 1\n`),
    ...writeFileSteps('test.gidMap', '/proc/self/gid_map', `${inside} ${gid} 1\n`),
  ];
}

/** A complete program: prepare, `middle`, then execve of `file`. */
export function programFor(middle: readonly ChildStep[], file: string, args: readonly string[]): ChildStep[] {
  return [
    ...prepareSteps(process.pid),
    ...middle,
    ...execSteps({ file, args, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, cwd: '/', newSession: false }),
  ];
}

const PROBE_SOURCE = String.raw`
/* iso caps test probe: one operation, then prints "ok" or "errno=N". */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int r = -1;
  if (argc == 3 && strcmp(argv[1], "bind") == 0) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(argv[2]));
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    r = s < 0 ? -1 : bind(s, (struct sockaddr *)&a, sizeof a);
  } else if (argc == 5 && strcmp(argv[1], "chown") == 0) {
    r = chown(argv[2], (uid_t)atoi(argv[3]), (gid_t)atoi(argv[4]));
  } else {
    fprintf(stderr, "usage: probe bind PORT | probe chown PATH UID GID\n");
    return 2;
  }
  if (r == 0) puts("ok");
  else printf("errno=%d\n", errno);
  return 0;
}
`;

/** Compiles the probe with cc -static into a fresh directory under os.tmpdir(). */
export function buildProbe(): { path: string; dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'iso-caps-test-'));
  const source = join(dir, 'probe.c');
  const path = join(dir, 'probe');
  writeFileSync(source, PROBE_SOURCE);
  execFileSync('cc', ['-static', '-O2', '-o', path, source], { stdio: 'pipe' });
  return {
    path,
    dir,
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
