// The process options (everything but the features' keys), checked before anything is
// created: in plain JavaScript a wrong type must get ISO_INVALID_OPTIONS here, never a
// TypeError from a timer or a stream once the runner is running.
import { fstatSync } from 'node:fs';
import { constants } from 'node:os';
import { describeValue, invalidOptions } from '@iso/core';
import type { StdioEntry } from '@iso/core';
import type { OutputEncoding, SandboxOptions } from './options.js';

export type Stdio = [StdioEntry, StdioEntry, StdioEntry];

/** execa's default: enough for any sane output, far below what a string can hold. */
export const DEFAULT_MAX_BUFFER = 100_000_000;
/** A Buffer of more than this cannot become one string (V8's limit is about 2^29 characters). */
const MAX_BUFFER_LIMIT = 2 ** 29 - 24;
const DEFAULT_FORCE_KILL_AFTER_MS = 2000;

const STDIO_WORDS = new Set(['pipe', 'inherit', 'ignore', 'overlapped']);
const SIGNAL_NAMES = new Set(Object.keys(constants.signals));

/** What the handle does with its output and how it ends the target, all checked. */
export interface HandleSettings {
  readonly stdio: Stdio;
  readonly input: string | Uint8Array | undefined;
  readonly timeout: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly killSignal: NodeJS.Signals | number;
  readonly forceKillAfterDelay: number;
  readonly maxBuffer: number;
  readonly onMaxBuffer: 'kill' | 'truncate';
  readonly buffer: boolean;
  readonly encoding: OutputEncoding;
  readonly all: boolean;
}

function checkStdioEntry(entry: unknown, path: string): StdioEntry {
  if (typeof entry === 'string' && STDIO_WORDS.has(entry)) return entry as StdioEntry;
  if (typeof entry === 'number' && Number.isInteger(entry) && entry >= 0) {
    // Node's spawn would fail later with EBADF, once the runner's fds exist.
    try {
      fstatSync(entry);
    } catch {
      throw invalidOptions(path, `fd ${entry} is not open`);
    }
    return entry;
  }
  if (entry !== null && typeof entry === 'object' && typeof (entry as { pipe?: unknown }).pipe === 'function') return entry as StdioEntry;
  throw invalidOptions(path, `expected 'pipe', 'inherit', 'ignore', an fd or a stream, got ${describeValue(entry)}`);
}

function normalizeStdio(options: SandboxOptions, stdinDefault: StdioEntry): Stdio {
  const { stdio } = options;
  let entries: Stdio;
  if (stdio === undefined) entries = [stdinDefault, 'pipe', 'pipe'];
  else if (Array.isArray(stdio)) {
    if (stdio.length !== 3) throw invalidOptions('stdio', 'expected one entry for each of fds 0, 1 and 2');
    entries = [checkStdioEntry(stdio[0], 'stdio[0]'), checkStdioEntry(stdio[1], 'stdio[1]'), checkStdioEntry(stdio[2], 'stdio[2]')];
  } else {
    const entry = checkStdioEntry(stdio, 'stdio');
    entries = [entry, entry, entry];
  }
  if (options.input !== undefined) {
    if (typeof options.input !== 'string' && !(options.input instanceof Uint8Array))
      throw invalidOptions('input', `expected a string or a Uint8Array, got ${describeValue(options.input)}`);
    if (stdio !== undefined && entries[0] !== 'pipe') throw invalidOptions('input', "needs stdin to be 'pipe'");
    entries[0] = 'pipe';
  }
  return entries;
}

function milliseconds(value: unknown, path: string): number | undefined {
  if (value === undefined) return undefined;
  // setTimeout's own limit: past it Node fires at once, with a warning.
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 2 ** 31 - 1)
    throw invalidOptions(path, `expected a positive number of milliseconds up to 2^31-1, got ${describeValue(value)}`);
  return value;
}

function killSignal(value: unknown): NodeJS.Signals | number {
  if (value === undefined) return 'SIGTERM';
  if (typeof value === 'string' && SIGNAL_NAMES.has(value)) return value as NodeJS.Signals;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 64) return value;
  throw invalidOptions('killSignal', `expected a signal name such as 'SIGTERM' or a number from 1 to 64, got ${describeValue(value)}`);
}

function abortSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (value instanceof AbortSignal) return value;
  throw invalidOptions('signal', `expected an AbortSignal (new AbortController().signal), got ${describeValue(value)}`);
}

function boolean(value: unknown, path: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidOptions(path, `expected a boolean, got ${describeValue(value)}`);
  return value;
}

function oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value))
    throw invalidOptions(path, `expected ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${describeValue(value)}`);
  return value as T;
}

function maxBuffer(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_BUFFER;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_BUFFER_LIMIT)
    throw invalidOptions('maxBuffer', `expected a whole number of bytes from 0 to ${MAX_BUFFER_LIMIT}, got ${describeValue(value)}`);
  return value;
}

/** Checks the options that shape the handle; throws ISO_INVALID_OPTIONS before anything is spawned. */
export function handleSettings(options: SandboxOptions, stdinDefault: StdioEntry): HandleSettings {
  const given = options as Readonly<Record<string, unknown>>;
  return {
    stdio: normalizeStdio(options, stdinDefault),
    input: options.input,
    timeout: milliseconds(given.timeout, 'timeout'),
    signal: abortSignal(given.signal),
    killSignal: killSignal(given.killSignal),
    forceKillAfterDelay: milliseconds(given.forceKillAfterDelay, 'forceKillAfterDelay') ?? DEFAULT_FORCE_KILL_AFTER_MS,
    maxBuffer: maxBuffer(given.maxBuffer),
    onMaxBuffer: oneOf(given.onMaxBuffer, 'onMaxBuffer', ['kill', 'truncate'], 'kill'),
    buffer: boolean(given.buffer, 'buffer', true),
    encoding: oneOf(given.encoding, 'encoding', ['utf8', 'buffer'], 'utf8'),
    all: boolean(given.all, 'all', false),
  };
}
