// Reads and writes of cgroupfs files, with IsoErrors that name the file and the errno.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { IsoError } from '@iso/core';

/** The IsoError for a failed fs call on a cgroup file: the errno stays its code. */
export function fsError(error: unknown, step: string, syscall: string, path: string, what: string): IsoError {
  const { code = 'EIO', errno = -5 } = error as NodeJS.ErrnoException;
  const denied = code === 'EACCES' || code === 'EPERM';
  return new IsoError(denied ? 'ISO_NEEDS_PRIVILEGE' : 'ISO_SYSCALL_FAILED', `${step}: ${what} failed: ${code} (${(error as Error).message.split(':')[1]?.trim() ?? code})`, {
    errnoCode: code,
    errno,
    syscall,
    step,
    phase: 'in-process',
    path,
    cause: error,
  });
}

/** One cgroup file's text, or undefined when the file does not exist (a controller or kernel without it). */
export function readControl(dir: string, file: string): string | undefined {
  const path = `${dir}/${file}`;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fsError(error, 'cgroup.read', 'read', path, `reading ${path}`);
  }
}

/** One number from a file that holds just that ('max' reads as undefined). */
export function readNumber(dir: string, file: string): number | undefined {
  const text = readControl(dir, file)?.trim();
  return text === undefined || !/^-?\d+$/.test(text) ? undefined : Number(text);
}

/** The "key value" lines of a flat-keyed file (cpu.stat, memory.events, pids.events). */
export function readKeyed(dir: string, file: string): Map<string, number> | undefined {
  const text = readControl(dir, file);
  if (text === undefined) return undefined;
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^-?\d+$/.test(value)) values.set(key, Number(value));
  }
  return values;
}

/** Writes one value to a cgroup file; the kernel takes one value per write. */
export function writeControl(dir: string, file: string, value: string, step: string): void {
  const path = `${dir}/${file}`;
  try {
    writeFileSync(path, value);
  } catch (error) {
    throw fsError(error, step, 'write', path, `write("${path}", "${value.trim()}")`);
  }
}

export function hasControl(dir: string, file: string): boolean {
  return existsSync(`${dir}/${file}`);
}

/** The pids in a cgroup's cgroup.procs (empty when it is gone). */
export function readProcs(dir: string): number[] {
  const text = readControl(dir, 'cgroup.procs') ?? '';
  return text.split('\n').filter((line) => line !== '').map(Number);
}
