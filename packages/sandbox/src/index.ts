export { createSandbox, explain, plan, run, spawn } from './sandbox.js';
export type { Sandbox } from './sandbox.js';
export { DEFAULT_PATH, planSandbox } from './compose.js';
export type { SandboxPlan } from './compose.js';
export { SandboxProcess } from './process.js';
export type { SandboxOptions, SandboxResult } from './options.js';
export { IsoError } from '@iso/core';
export type { IsoErrorCode } from '@iso/core';
export type { SeccompDecision, SeccompNotification, SeccompNotifyEvent, SeccompNotifyHandler } from '@iso/seccomp';
