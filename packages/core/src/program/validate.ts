import {
  ArgKind,
  HEADER_SIZE,
  HeaderField,
  MAX_ERRNO,
  MAX_PROGRAM_SIZE,
  MAX_SLOTS,
  MAX_STEPS,
  MAX_TOLERATED,
  NO_SLOT,
  Op,
  ProtocolError,
  STEP_SIZE,
  StepField,
  StepFlag,
  WIRE_MAGIC,
  WIRE_VERSION,
  opRule,
} from '../wire.js';
import type { ProtocolErrorCode } from '../wire.js';

export type Verdict = { ok: true } | { ok: false; code: ProtocolErrorCode; index: number };

const fail = (code: ProtocolErrorCode, index = 0): Verdict => ({ ok: false, code, index });

/**
 * The runner's validation rules in the same order as runner.c's check_header and
 * check_body: the per-op rules come from OP_RULES, as the runner's do. The fuzz test uses
 * it as the oracle for the runner.
 */
export function validateProgram(data: Uint8Array): Verdict {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < HEADER_SIZE) return fail(ProtocolError.truncated);
  const u32 = (o: number) => buf.readUInt32LE(o);
  const magic = u32(HeaderField.magic);
  const version = buf.readUInt16LE(HeaderField.version);
  const headerSize = buf.readUInt16LE(HeaderField.headerSize);
  const total = u32(HeaderField.totalSize);
  const stepCount = u32(HeaderField.stepCount);
  const relocOffset = u32(HeaderField.relocOffset);
  const relocCount = u32(HeaderField.relocCount);
  const arenaOffset = u32(HeaderField.arenaOffset);
  const arenaSize = u32(HeaderField.arenaSize);
  if (magic !== WIRE_MAGIC) return fail(ProtocolError.magic);
  if (version !== WIRE_VERSION) return fail(ProtocolError.version);
  if (headerSize !== HEADER_SIZE) return fail(ProtocolError.header);
  if (total < HEADER_SIZE || total > MAX_PROGRAM_SIZE) return fail(ProtocolError.size);
  if (stepCount === 0 || stepCount > MAX_STEPS) return fail(ProtocolError.layout);
  if (relocOffset !== HEADER_SIZE + stepCount * STEP_SIZE) return fail(ProtocolError.layout);
  if (relocCount > MAX_PROGRAM_SIZE / 4) return fail(ProtocolError.layout);
  const relocsEnd = relocOffset + relocCount * 4;
  if (arenaOffset !== Math.ceil(relocsEnd / 8) * 8) return fail(ProtocolError.layout);
  if (arenaOffset + arenaSize !== total) return fail(ProtocolError.layout);
  if (buf.length < total) return fail(ProtocolError.truncated);

  for (let i = 0; i < relocCount; i++) {
    const off = u32(relocOffset + 4 * i);
    if (off % 8 !== 0 || arenaSize < 8 || off > arenaSize - 8) return fail(ProtocolError.reloc, i);
    if (i > 0 && off <= u32(relocOffset + 4 * (i - 1))) return fail(ProtocolError.reloc, i);
    if (buf.readBigUInt64LE(arenaOffset + off) >= BigInt(arenaSize)) return fail(ProtocolError.reloc, i);
  }

  let defined = 0;
  let helperEnd = 0;
  for (let i = 0; i < stepCount; i++) {
    const at = HEADER_SIZE + i * STEP_SIZE;
    const op = buf.readUInt16LE(at + StepField.op);
    const flags = buf.readUInt16LE(at + StepField.flags);
    const resultSlot = buf.readUInt16LE(at + StepField.resultSlot);
    const skip = buf.readUInt16LE(at + StepField.skip);
    const nr = u32(at + StepField.nr);
    const kinds = u32(at + StepField.argKinds);
    const tolerated = [0, 1, 2, 3].map((t) => buf.readUInt16LE(at + StepField.tolerated + 2 * t));
    const left = stepCount - 1 - i;
    if (helperEnd && i > helperEnd) helperEnd = 0;
    const rule = opRule(op);
    if (!rule) return fail(ProtocolError.op, i);
    if ((flags & ~rule.flags) !== 0) return fail(ProtocolError.step, i);
    if (helperEnd && !rule.inHelper) return fail(ProtocolError.step, i);
    if (nr < rule.nrMin || nr > rule.nrMax) return fail(ProtocolError.step, i);
    if (!rule.saves && resultSlot !== NO_SLOT) return fail(ProtocolError.step, i);
    if (!rule.tolerates && (skip !== 0 || tolerated[0] !== 0)) return fail(ProtocolError.step, i);
    if ((flags & StepFlag.helper) !== 0) {
      if (nr === 0 || nr > left) return fail(ProtocolError.step, i);
      helperEnd = i + nr;
    } else if (op === Op.fork && nr !== 0) {
      return fail(ProtocolError.step, i);
    }
    if (kinds >>> 24 !== 0) return fail(ProtocolError.arg, i);
    for (let a = 0; a < 6; a++) {
      const kind = (kinds >>> (4 * a)) & 0xf;
      const value = buf.readBigUInt64LE(at + StepField.args + 8 * a);
      if ((((rule.args[a] ?? 0) >> kind) & 1) === 0) return fail(ProtocolError.arg, i);
      if (kind === ArgKind.none && value !== 0n) return fail(ProtocolError.arg, i);
      if (kind === ArgKind.arena && (value >= BigInt(arenaSize) || (rule.writesNr && BigInt(nr) > BigInt(arenaSize) - value))) return fail(ProtocolError.arg, i);
      if (kind === ArgKind.slot && (value >= BigInt(MAX_SLOTS) || (defined & (1 << Number(value))) === 0)) return fail(ProtocolError.slot, i);
    }
    if (resultSlot !== NO_SLOT && resultSlot >= MAX_SLOTS) return fail(ProtocolError.slot, i);
    let ended = false;
    for (let t = 0; t < MAX_TOLERATED; t++) {
      const e = tolerated[t] ?? 0;
      if (e === 0) ended = true;
      else if (ended || e > MAX_ERRNO) return fail(ProtocolError.step, i);
    }
    if (skip !== 0 && (tolerated[0] === 0 || skip > left)) return fail(ProtocolError.step, i);
    if (skip !== 0 && helperEnd && i + skip > helperEnd) return fail(ProtocolError.step, i);
    if (resultSlot !== NO_SLOT) defined |= 1 << resultSlot;
  }
  return { ok: true };
}
