// @iso/core/native: the native layer, koffi and libc, for the feature packages' src/sys.ts
// files and nothing else (a lint rule holds every other file to that). koffi and libc load
// on first use, so importing this never loads native code.
export { checked, koffi, lastErrno, libc, rawSyscall, receiveFd, socketPair } from './sys.js';
export type { CallSite, SyscallArgument } from './sys.js';
