export { IsoError, describeErrno, errnoNumber, invalidOptions, syscallError, unsupportedPlatform } from './errors.js';
export type { IsoErrorCode, IsoErrorDetails, IsoErrorPhase } from './errors.js';
export { checked, koffi, lastErrno, libc, rawSyscall, receiveFd } from './sys.js';
export type { CallSite, SyscallArgument } from './sys.js';
export { AT_FDCWD, CLONE, MS, O, PR, formatFlags } from './consts.js';
export type { FlagTable } from './consts.js';
export { X32_SYSCALL_BIT, hostArch, syscallName, syscallNumber, syscallTable } from './syscalls/index.js';
export type { Arch, SyscallAbi } from './syscalls/index.js';
export { block, buildProgram, bytes, flags, imm, nullPointer, result, str, strings } from './program/build.js';
export type { Program } from './program/build.js';
export { explainProgram, formatCall, signalName } from './program/explain.js';
export { validateProgram } from './program/validate.js';
export type { Verdict } from './program/validate.js';
export { STAGES } from './program/types.js';
export type {
  AnnounceExecStep,
  ArgSpec,
  BlockPointer,
  ChildStep,
  DieWithParentStep,
  ForkStep,
  HelperStep,
  HookContext,
  ImmediateFormat,
  ParentHook,
  SendFdStep,
  Stage,
  StagedSteps,
  SyncStep,
  SyscallStep,
} from './program/types.js';
export { corePlan, execCandidates, execSteps, execveSteps, prepareSteps, sessionSteps, writeFileSteps } from './plan.js';
export type { ExecSpec } from './plan.js';
export { launch, runnerPath } from './engine.js';
export type { Launch, LaunchOptions, StdioEntry } from './engine.js';
export * as wire from './wire.js';
export { readNamespaceId, readProcFile, readStatusField } from './proc.js';
export type { NamespaceKind, ProcessRef } from './proc.js';
export { capDataStruct, capHeaderStruct, defineStruct, sockFprogStruct, utsnameStruct } from './structs.js';
export type { FieldType, StructLayout, StructValues } from './structs.js';
