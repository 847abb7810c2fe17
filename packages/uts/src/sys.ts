// Native calls of @iso/uts, through core's lazily loaded libc.
import { utsnameStruct } from '@iso/core';
import { checked, libc } from '@iso/core/native';

export interface Utsname {
  sysname: string;
  nodename: string;
  release: string;
  version: string;
  machine: string;
  domainname: string;
}

let unameFunction: ((buffer: Buffer) => number) | undefined;

/** uname(2) of the calling process's UTS namespace. */
export function uname(): Utsname {
  unameFunction ??= libc().func('int uname(void *buf)') as (buffer: Buffer) => number;
  const call = unameFunction;
  const buffer = Buffer.alloc(utsnameStruct.size);
  checked('uname', { step: 'uts.uname' }, () => call(buffer));
  return utsnameStruct.decode(buffer);
}
