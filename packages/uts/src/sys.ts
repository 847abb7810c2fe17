// Native calls of @iso/uts, through core's lazily loaded koffi and libc.
import { checked, libc } from '@iso/core';

export interface Utsname {
  sysname: string;
  nodename: string;
  release: string;
  version: string;
  machine: string;
  domainname: string;
}

const FIELD = 65; // __NEW_UTS_LEN + 1
let unameFunction: ((buffer: Buffer) => number) | undefined;

/** uname(2) of the calling process's UTS namespace. */
export function uname(): Utsname {
  unameFunction ??= libc().func('int uname(void *buf)') as (buffer: Buffer) => number;
  const call = unameFunction;
  const buffer = Buffer.alloc(FIELD * 6);
  checked('uname', { step: 'uts.uname' }, () => call(buffer));
  const field = (i: number) => {
    const raw = buffer.subarray(i * FIELD, (i + 1) * FIELD);
    const end = raw.indexOf(0);
    return raw.subarray(0, end < 0 ? FIELD : end).toString('utf8');
  };
  return { sysname: field(0), nodename: field(1), release: field(2), version: field(3), machine: field(4), domainname: field(5) };
}
