// Checking limits: every value is resolved to what the kernel files take, and anything
// malformed is refused with ISO_INVALID_OPTIONS before a cgroup is created.
import { existsSync, statSync } from 'node:fs';
import { describeValue, invalidOptions } from '@iso/core';
import type { CgroupLimits, LimitValue, NormalizedLimits } from './options.js';

const UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
/** The kernel's largest limit value (PAGE_COUNTER_MAX pages is below it on 64-bit). */
const MAX_BYTES = Number.MAX_SAFE_INTEGER;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(value: unknown, keys: readonly string[], path: string): Record<string, unknown> {
  if (!isObject(value)) throw invalidOptions(path, `expected an object, got ${describeValue(value)}`);
  for (const key of Object.keys(value)) if (!keys.includes(key)) throw invalidOptions(`${path}.${key}`, 'unknown option');
  return value;
}

/** Bytes from a ByteSize: 1048576, '1M', '1MiB', '1.5G', or 'max'. */
export function parseByteSize(value: unknown, path: string): LimitValue {
  if (value === 'max') return 'max';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw invalidOptions(path, `expected a whole number of bytes from 0, got ${describeValue(value)}`);
    return value;
  }
  if (typeof value !== 'string') throw invalidOptions(path, `expected bytes (a number, '512M' or 'max'), got ${describeValue(value)}`);
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = match?.[2]?.toLowerCase().replace(/i?b$/, '') ?? '';
  const factor = match ? (match[2]?.toLowerCase() === 'b' ? 1 : UNITS[unit]) : undefined;
  if (!match || factor === undefined) throw invalidOptions(path, `expected a size such as '512M' (units B, K, M, G, T), got ${describeValue(value)}`);
  const bytes = Math.floor(Number(match[1]) * factor);
  if (bytes > MAX_BYTES) throw invalidOptions(path, `${value} is more than the kernel can count`);
  return bytes;
}

function wholeNumber(value: unknown, path: string, min: number, max: number, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw invalidOptions(path, `expected ${what} from ${min} to ${max}, got ${describeValue(value)}`);
  return value;
}

/** The CPUs or memory nodes of a list such as '0-3,6' (the kernel's cpulist format). */
export function parseCpuList(text: string, path: string): Set<number> {
  const members = new Set<number>();
  if (text.trim() === '') return members;
  for (const part of text.trim().split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    const from = Number(match?.[1]);
    const to = match?.[2] === undefined ? from : Number(match[2]);
    if (!match || to < from || to > 8191) throw invalidOptions(path, `expected a list such as '0-1,3', got ${describeValue(text)}`);
    for (let n = from; n <= to; n++) members.add(n);
  }
  return members;
}

/** major:minor of a block device given by path or as 'major:minor'; ISO_INVALID_OPTIONS when there is none. */
export function blockDevice(device: unknown, path: string): { major: number; minor: number } {
  if (typeof device !== 'string' || device === '') throw invalidOptions(path, `expected a device path or 'major:minor', got ${describeValue(device)}`);
  const numbers = /^(\d+):(\d+)$/.exec(device);
  if (numbers) {
    const found = { major: Number(numbers[1]), minor: Number(numbers[2]) };
    if (!existsSync(`/sys/dev/block/${device}`)) throw invalidOptions(path, `there is no block device ${device} here (/sys/dev/block/${device})`);
    return found;
  }
  let rdev: bigint;
  try {
    const stat = statSync(device, { bigint: true });
    if (!stat.isBlockDevice()) throw invalidOptions(path, `${device} is not a block device`);
    rdev = stat.rdev;
  } catch (error) {
    if ((error as { isoCode?: string }).isoCode !== undefined) throw error;
    throw invalidOptions(path, `there is no block device ${device} here (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  // The kernel's dev_t encoding (new_decode_dev, glibc's gnu_dev_major/minor).
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { major, minor };
}

/** What normalizing limits may read of the cgroup they go below. */
export interface LimitFacts {
  /** The CPUs and memory nodes the parent offers (its effective cpuset); undefined where it cannot be read. */
  parentCpuset(): { cpus: string; mems: string } | undefined;
}

const PERIOD_DEFAULT = 100_000;
/** The kernel's NR_CPUS limit (CONFIG_NR_CPUS is at most 8192). */
const MAX_CPUS = 8192;

/**
 * Checks limits given as `value` (from any caller, typed or not) at option path `path`.
 * Throws ISO_INVALID_OPTIONS for anything malformed: a negative or non-numeric value, an
 * unknown unit, an unknown device, a cpuset not within the parent's.
 */
export function normalizeLimits(value: unknown, path: string, facts: LimitFacts): NormalizedLimits {
  const given = checkKeys(value, ['memory', 'cpu', 'pids', 'io', 'cpuset'], path) as CgroupLimits;
  const limits: NormalizedLimits = {};
  if (given.memory !== undefined) {
    const memory = checkKeys(given.memory, ['max', 'high', 'swap'], `${path}.memory`);
    const out: NonNullable<NormalizedLimits['memory']> = {};
    for (const key of ['max', 'high', 'swap'] as const) if (memory[key] !== undefined) out[key] = parseByteSize(memory[key], `${path}.memory.${key}`);
    limits.memory = out;
  }
  if (given.cpu !== undefined) {
    const cpu = checkKeys(given.cpu, ['cpus', 'period', 'weight'], `${path}.cpu`);
    const out: NonNullable<NormalizedLimits['cpu']> = {};
    const period = cpu.period === undefined ? undefined : wholeNumber(cpu.period, `${path}.cpu.period`, 1000, 1_000_000, 'microseconds');
    if (cpu.cpus !== undefined) {
      if (cpu.cpus === 'max') out.quota = 'max';
      else {
        if (typeof cpu.cpus !== 'number' || !Number.isFinite(cpu.cpus) || cpu.cpus <= 0 || cpu.cpus > MAX_CPUS)
          throw invalidOptions(`${path}.cpu.cpus`, `expected a number of CPUs above 0 and at most ${MAX_CPUS} (0.5 for half of one), got ${describeValue(cpu.cpus)}`);
        const quota = Math.round(cpu.cpus * (period ?? PERIOD_DEFAULT));
        // The kernel's floor for cfs_quota_us and cpu.max is 1 ms.
        if (quota < 1000) throw invalidOptions(`${path}.cpu.cpus`, `${cpu.cpus} CPUs is a quota of ${quota} µs per period, below the kernel's 1000 µs`);
        out.quota = quota;
      }
      out.period = period ?? PERIOD_DEFAULT;
    } else if (period !== undefined) out.period = period;
    if (cpu.weight !== undefined) out.weight = wholeNumber(cpu.weight, `${path}.cpu.weight`, 1, 10_000, 'a weight');
    limits.cpu = out;
  }
  if (given.pids !== undefined) {
    const pids = checkKeys(given.pids, ['max'], `${path}.pids`);
    if (pids.max !== undefined) limits.pids = { max: pids.max === 'max' ? 'max' : wholeNumber(pids.max, `${path}.pids.max`, 0, 4_194_304, 'a number of tasks') };
    else limits.pids = {};
  }
  if (given.io !== undefined) {
    if (!Array.isArray(given.io)) throw invalidOptions(`${path}.io`, `expected a list of { device, readBps?, writeBps?, readIops?, writeIops? }, got ${describeValue(given.io)}`);
    limits.io = (given.io as unknown[]).map((entry, i) => {
      const at = `${path}.io[${i}]`;
      const device = checkKeys(entry, ['device', 'readBps', 'writeBps', 'readIops', 'writeIops'], at);
      const numbers = blockDevice(device.device, `${at}.device`);
      const out: NonNullable<NormalizedLimits['io']>[number] = { device: `${numbers.major}:${numbers.minor}`, ...numbers };
      if (device.readBps !== undefined) out.readBps = parseByteSize(device.readBps, `${at}.readBps`);
      if (device.writeBps !== undefined) out.writeBps = parseByteSize(device.writeBps, `${at}.writeBps`);
      if (device.readIops !== undefined) out.readIops = device.readIops === 'max' ? 'max' : wholeNumber(device.readIops, `${at}.readIops`, 1, Number.MAX_SAFE_INTEGER, 'operations per second');
      if (device.writeIops !== undefined) out.writeIops = device.writeIops === 'max' ? 'max' : wholeNumber(device.writeIops, `${at}.writeIops`, 1, Number.MAX_SAFE_INTEGER, 'operations per second');
      if (Object.keys(out).length === 3) throw invalidOptions(at, 'names a device but no limit');
      return out;
    });
  }
  if (given.cpuset !== undefined) {
    const cpuset = checkKeys(given.cpuset, ['cpus', 'mems'], `${path}.cpuset`);
    const out: NonNullable<NormalizedLimits['cpuset']> = {};
    const parent = cpuset.cpus !== undefined || cpuset.mems !== undefined ? facts.parentCpuset() : undefined;
    for (const key of ['cpus', 'mems'] as const) {
      const text = cpuset[key];
      if (text === undefined) continue;
      const at = `${path}.cpuset.${key}`;
      if (typeof text !== 'string') throw invalidOptions(at, `expected a list such as '0-1,3', got ${describeValue(text)}`);
      const wanted = parseCpuList(text, at);
      if (wanted.size === 0) throw invalidOptions(at, 'must not be empty');
      if (parent !== undefined) {
        const offered = parseCpuList(parent[key], at);
        const outside = [...wanted].filter((n) => !offered.has(n));
        if (outside.length > 0) throw invalidOptions(at, `${text} is not a subset of the parent's ${parent[key].trim() || '(none)'} (${outside.join(',')} outside)`);
      }
      out[key] = [...wanted].sort((a, b) => a - b).join(',');
    }
    limits.cpuset = out;
  }
  return limits;
}

/** Which controllers limits need, by generic name ('io' is blkio on v1). */
export function controllersFor(limits: NormalizedLimits): ('memory' | 'cpu' | 'pids' | 'io' | 'cpuset')[] {
  const needed: ('memory' | 'cpu' | 'pids' | 'io' | 'cpuset')[] = [];
  if (limits.memory && Object.keys(limits.memory).length > 0) needed.push('memory');
  if (limits.cpu && Object.keys(limits.cpu).length > 0) needed.push('cpu');
  if (limits.pids && Object.keys(limits.pids).length > 0) needed.push('pids');
  if (limits.io && limits.io.length > 0) needed.push('io');
  if (limits.cpuset && Object.keys(limits.cpuset).length > 0) needed.push('cpuset');
  return needed;
}
