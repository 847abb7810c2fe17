export { createSandbox, explain, plan, probe, run, spawn } from './sandbox.js';
export type { Sandbox, SandboxProbe } from './sandbox.js';
export { DEFAULT_PATH, planSandbox, planWithFeatures } from './compose.js';
export type { SandboxPlan } from './compose.js';
export { SandboxProcess } from './process.js';
export { createPool, DEFAULT_POOL_SIZE, MAX_POOL_SIZE } from './pool.js';
export type { PoolOptions, SandboxPool } from './pool.js';
export type { EndReason, ExitReason, ExitReport, ExitReportField, FeatureOptions, FeatureResults, OutputEncoding, OutputOf, ProcessOptions, ProcessResult, SandboxOptions, SandboxResult } from './options.js';
export { FEATURES } from './features.js';
export { DEFAULT_PRESET, withPreset } from './presets.js';
export type { PresetName } from './presets.js';
export type {
  CapsOption,
  IpcOption,
  MountOption,
  PidOption,
  SeccompDecision,
  SeccompNotification,
  SeccompNotifyEvent,
  SeccompNotifyHandler,
  SeccompOption,
  SeccompResult,
  TimeOption,
  UsernsOption,
  UtsOption,
} from './features.js';
export { IsoError, isIsoError } from '@iso/core';
export type { IsoErrorCode } from '@iso/core';
