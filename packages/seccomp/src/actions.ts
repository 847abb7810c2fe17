// SECCOMP_RET_* values: what a filter returns, how the kernel ranks them, and the typed
// policy's spelling of each.
import { describeErrno, errnoNumber, invalidOptions } from '@iso/core';
import type { SeccompAction } from './options.js';

/** Filter return values (include/uapi/linux/seccomp.h). The low 16 bits carry data. */
export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
  ACTION_FULL: 0xffff0000,
  DATA: 0x0000ffff,
} as const;

/** The kernel clamps an errno action's data to MAX_ERRNO. */
export const MAX_ERRNO = 4095;

export type SeccompActionName = 'kill-process' | 'kill-thread' | 'trap' | 'errno' | 'notify' | 'trace' | 'log' | 'allow';

/** A filter's return value, taken apart. */
export interface DecodedAction {
  action: SeccompActionName;
  /** SECCOMP_RET_DATA: the errno, the trace message or the trap's si_errno. */
  data: number;
  /** The raw 32-bit return value. */
  value: number;
}

/**
 * What the kernel does with `value`. An action it does not know is treated as
 * KILL_PROCESS (kernel/seccomp.c, the default branch of __seccomp_filter).
 */
export function decodeAction(value: number): DecodedAction {
  const raw = value >>> 0;
  const data = raw & SECCOMP_RET.DATA;
  const named = (action: SeccompActionName): DecodedAction => ({ action, data, value: raw });
  switch ((raw & SECCOMP_RET.ACTION_FULL) >>> 0) {
    case SECCOMP_RET.KILL_THREAD:
      return named('kill-thread');
    case SECCOMP_RET.TRAP:
      return named('trap');
    case SECCOMP_RET.ERRNO:
      return { action: 'errno', data: Math.min(data, MAX_ERRNO), value: raw };
    case SECCOMP_RET.USER_NOTIF:
      return named('notify');
    case SECCOMP_RET.TRACE:
      return named('trace');
    case SECCOMP_RET.LOG:
      return named('log');
    case SECCOMP_RET.ALLOW:
      return named('allow');
    default:
      return named('kill-process');
  }
}

/**
 * Rank of an action: lower is more restrictive. The kernel compares the action bits as a
 * signed 32-bit number when several filters answer (KILL_PROCESS is the most negative).
 */
export function actionPrecedence(value: number): number {
  return (value & SECCOMP_RET.ACTION_FULL) | 0;
}

/** 'errno EPERM (1)', 'kill-process', 'trace 7', 'allow'. */
export function formatAction(value: number): string {
  const decoded = decodeAction(value);
  switch (decoded.action) {
    case 'errno':
      return `errno ${describeErrno(decoded.data).name} (${decoded.data})`;
    case 'trace':
      return `trace ${decoded.data}`;
    case 'trap':
      return decoded.data === 0 ? 'trap' : `trap ${decoded.data}`;
    case 'kill-process':
    case 'kill-thread':
    case 'notify':
    case 'log':
    case 'allow':
      return decoded.action;
  }
}

export function errnoOf(value: unknown, path: string): number {
  if (typeof value === 'string') {
    try {
      return errnoNumber(value);
    } catch {
      throw invalidOptions(path, `unknown errno name ${JSON.stringify(value)}`);
    }
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_ERRNO)
    throw invalidOptions(path, `expected an errno name like 'EPERM' or a number from 0 to ${MAX_ERRNO}`);
  return value;
}

/** The 32-bit return value of a typed action. Throws ISO_INVALID_OPTIONS naming `path`. */
export function encodeAction(action: SeccompAction, path: string): number {
  if (typeof action === 'string') {
    switch (action) {
      case 'allow':
        return SECCOMP_RET.ALLOW;
      case 'kill-process':
        return SECCOMP_RET.KILL_PROCESS;
      case 'kill-thread':
        return SECCOMP_RET.KILL_THREAD;
      case 'trap':
        return SECCOMP_RET.TRAP;
      case 'log':
        return SECCOMP_RET.LOG;
      case 'notify':
        return SECCOMP_RET.USER_NOTIF;
    }
  }
  if (typeof action === 'object' && action !== null && !Array.isArray(action)) {
    const keys = Object.keys(action);
    if (keys.length === 1 && keys[0] === 'errno') return (SECCOMP_RET.ERRNO | errnoOf((action as { errno: unknown }).errno, `${path}.errno`)) >>> 0;
    if (keys.length === 1 && keys[0] === 'trace') {
      const data = (action as { trace: unknown }).trace;
      if (typeof data !== 'number' || !Number.isInteger(data) || data < 0 || data > SECCOMP_RET.DATA)
        throw invalidOptions(`${path}.trace`, 'expected a number from 0 to 65535');
      return (SECCOMP_RET.TRACE | data) >>> 0;
    }
  }
  throw invalidOptions(
    path,
    "expected 'allow', 'kill-process', 'kill-thread', 'trap', 'log', 'notify', { errno: number | 'EPERM' } or { trace: number }",
  );
}

/** The typed spelling of a return value, the inverse of encodeAction. */
export function actionOf(value: number): SeccompAction {
  const decoded = decodeAction(value);
  switch (decoded.action) {
    case 'errno':
      return { errno: decoded.data };
    case 'trace':
      return { trace: decoded.data };
    case 'kill-process':
    case 'kill-thread':
    case 'trap':
    case 'notify':
    case 'log':
    case 'allow':
      return decoded.action;
  }
}
