import { getSystemErrorMap } from 'node:util';
import { linuxErrno, linuxErrnoNumber } from './errno.js';

/** Stable codes for failures that are iso's own rather than one syscall's. */
export type IsoErrorCode =
  | 'ISO_INVALID_OPTIONS'
  | 'ISO_UNSUPPORTED_KERNEL'
  | 'ISO_UNSUPPORTED_PLATFORM'
  | 'ISO_USERNS_DISABLED'
  | 'ISO_NEEDS_PRIVILEGE'
  | 'ISO_RUNNER_PROTOCOL'
  | 'ISO_RUNNER_MISSING'
  | 'ISO_RUNNER_UNSAFE'
  | 'ISO_SETUP_FAILED'
  | 'ISO_ABORTED'
  | 'ISO_SYSCALL_FAILED';

/** Where an error happened: checking options, in Node at a sync point, in the child, or probing. */
export type IsoErrorPhase = 'validate' | 'parent' | 'child' | 'probe' | 'in-process';

export interface IsoErrorDetails {
  /** The errno name, such as 'EPERM', when a syscall failed. */
  errnoCode?: string;
  /** Negative, as in Node's SystemError: -2 for ENOENT. */
  errno?: number;
  syscall?: string;
  /** The child step or in-process operation, such as 'uts.sethostname'. */
  step?: string;
  stepIndex?: number;
  phase: IsoErrorPhase;
  /** The option path for ISO_INVALID_OPTIONS, or a filesystem path. */
  path?: string;
  cause?: unknown;
}

/**
 * The one error type of iso. It has the shape of Node's SystemError: `code` is the errno
 * name when a syscall failed ('EPERM') and an ISO_* code otherwise; `isoCode` is always
 * an ISO_* code, so callers can branch on either without parsing messages.
 *
 * `instanceof IsoError` checks the `isIsoError` brand, not the class, so it holds when two
 * copies of @iso/core are installed (one per dependent package, say).
 */
export class IsoError extends Error {
  override name = 'IsoError';
  /** The brand that `instanceof` and isIsoError() check. */
  readonly isIsoError = true;
  readonly code: string;
  readonly isoCode: IsoErrorCode;
  readonly errno: number | undefined;
  readonly syscall: string | undefined;
  readonly step: string | undefined;
  readonly stepIndex: number | undefined;
  readonly phase: IsoErrorPhase;
  readonly path: string | undefined;

  constructor(isoCode: IsoErrorCode, message: string, details: IsoErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.isoCode = isoCode;
    this.code = details.errnoCode ?? isoCode;
    this.errno = details.errno;
    this.syscall = details.syscall;
    this.step = details.step;
    this.stepIndex = details.stepIndex;
    this.phase = details.phase;
    this.path = details.path;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    // Only IsoError itself goes by the brand; a subclass keeps the ordinary prototype check.
    return this === IsoError ? isIsoError(value) : Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

/** Whether `value` is an IsoError from any copy of @iso/core. */
export function isIsoError(value: unknown): value is IsoError {
  if (typeof value !== 'object' || value === null) return false;
  const branded = value as { isIsoError?: unknown; isoCode?: unknown };
  return branded.isIsoError === true && typeof branded.isoCode === 'string';
}

/** 'EACCES' and 'Permission denied' for 13. */
export function describeErrno(errno: number): { name: string; text: string } {
  const known = linuxErrno(errno);
  if (known) return known;
  const entry = getSystemErrorMap().get(-errno);
  if (entry) return { name: entry[0], text: entry[1].charAt(0).toUpperCase() + entry[1].slice(1) };
  return { name: `E${errno}`, text: 'Unknown error' };
}

/** The errno number for a name like 'ENOENT'. */
export function errnoNumber(name: string): number {
  const known = linuxErrnoNumber(name);
  if (known !== undefined) return known;
  for (const [negative, [entryName]] of getSystemErrorMap()) if (entryName === name) return -negative;
  throw new RangeError(`unknown errno name ${name}`);
}

/**
 * A syscall failed. The message reads
 * `mount.bind[3]: mount("/data" → "/data") failed: EACCES (Permission denied)`.
 */
export function syscallError(
  errno: number,
  where: { step: string; stepIndex?: number; syscall: string; call?: string; phase: IsoErrorPhase; path?: string },
): IsoError {
  const { name, text } = describeErrno(errno);
  const label = where.stepIndex === undefined ? where.step : `${where.step}[${where.stepIndex}]`;
  const details: IsoErrorDetails = {
    errnoCode: name,
    errno: -errno,
    syscall: where.syscall,
    step: where.step,
    phase: where.phase,
  };
  if (where.stepIndex !== undefined) details.stepIndex = where.stepIndex;
  if (where.path !== undefined) details.path = where.path;
  return new IsoError(
    where.phase === 'child' || where.phase === 'parent' ? 'ISO_SETUP_FAILED' : 'ISO_SYSCALL_FAILED',
    `${label}: ${where.call ?? `${where.syscall}()`} failed: ${name} (${text})`,
    details,
  );
}

/**
 * A value as an error message shows it. Never throws: JSON.stringify does for a bigint or
 * a cycle, and gives undefined for a function or a symbol, which plain-JS callers pass.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return value.toString();
  if (value === undefined) return 'undefined';
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return Array.isArray(value) ? 'an array' : 'an object';
  }
}

/**
 * `cause` with what the caller can act on after its message, under the code that fits:
 * its step, syscall, errno and path stay (crun's rule: add context, never replace it).
 */
export function withHint(cause: IsoError, isoCode: IsoErrorCode, hint: string): IsoError {
  return new IsoError(isoCode, `${cause.message}: ${hint}`, {
    // The errno name stays the code when a syscall failed; otherwise the new ISO_* code is.
    ...(cause.errno === undefined ? {} : { errno: cause.errno, errnoCode: cause.code }),
    ...(cause.syscall === undefined ? {} : { syscall: cause.syscall }),
    ...(cause.step === undefined ? {} : { step: cause.step }),
    ...(cause.stepIndex === undefined ? {} : { stepIndex: cause.stepIndex }),
    phase: cause.phase,
    ...(cause.path === undefined ? {} : { path: cause.path }),
    cause,
  });
}

/** Bad input, caught before anything is created. `path` names the option, like 'uts.hostname'. */
export function invalidOptions(path: string, problem: string): IsoError {
  return new IsoError('ISO_INVALID_OPTIONS', `invalid option ${path}: ${problem}`, { phase: 'validate', path });
}

export function unsupportedPlatform(): IsoError {
  return new IsoError('ISO_UNSUPPORTED_PLATFORM', `iso needs Linux on x86_64 or aarch64; this is ${process.platform}/${process.arch}`, {
    phase: 'probe',
  });
}
