export { IsoError, describeErrno, describeValue, errnoNumber, invalidOptions, isIsoError, syscallError, unsupportedPlatform, withHint } from './errors.js';
export type { IsoErrorCode, IsoErrorDetails, IsoErrorPhase } from './errors.js';
export type { ErrnoName } from './errno.js';
export { AT_FDCWD, CLONE, MS, O, PR, formatFlags } from './consts.js';
export type { FlagTable } from './consts.js';
export { X32_SYSCALL_BIT, hostArch, syscallName, syscallNumber, syscallTable } from './syscalls/index.js';
export type { Arch, SyscallAbi, SyscallName } from './syscalls/index.js';
export { block, buildProgram, bytes, flags, imm, nullPointer, result, str, strings } from './program/build.js';
export type { Program } from './program/build.js';
export { explainProgram, formatCall, signalName } from './program/explain.js';
export { validateProgram } from './program/validate.js';
export type { Verdict } from './program/validate.js';
export { STAGES } from './program/types.js';
export { FixedFd } from './wire.js';
export type {
  AnnounceExecStep,
  ArgSpec,
  BlockPointer,
  BlockResult,
  ChildStep,
  DieWithParentStep,
  ForkStep,
  HookContext,
  ImmediateFormat,
  ParentHook,
  ProgramStep,
  Stage,
  StagedSteps,
  StoreStep,
  SyncStep,
  SyscallStep,
} from './program/types.js';
export { corePlan, execCandidates, execSteps, execveSteps, prepareSteps, refineCoreError, sendFdStep, sessionSteps, writeFileSteps } from './plan.js';
export type { ExecSpec } from './plan.js';
export { launch, prespawnRunner, runnerPath, sealedRunner } from './engine.js';
export type { IdleRunner, Launch, LaunchOptions, StdioEntry } from './engine.js';
export * as wire from './wire.js';
export { readNamespaceId, readProcFile, readStatusField } from './proc.js';
export type { NamespaceKind, ProcessRef } from './proc.js';
export { capDataStruct, capHeaderStruct, defineStruct, iovecStruct, msghdrStruct, rightsCmsgStruct, sockFprogStruct, utsnameStruct } from './structs.js';
export type { FieldType, StructLayout, StructValues } from './structs.js';
export { FEATURE_END_REASONS, composeFeatures, currentHost, defineFeature, kernelAtLeast, kernelVersion, orderSteps } from './feature.js';
export type {
  AnyFeature,
  Composition,
  EnabledFeature,
  Feature,
  FeatureContext,
  FeatureEndReason,
  FeatureEnding,
  FeatureFacts,
  FeaturePlan,
  FeatureProbe,
  FeatureRequest,
  FeatureRun,
  FeatureSession,
  FeatureUsage,
  FeatureVerdict,
  HostFacts,
  OptionOf,
  ResultOf,
} from './feature.js';
