import { describe, expect, it } from 'vitest';
import { buildProgram, bytes, capDataStruct, defineStruct, sockFprogStruct, utsnameStruct, validateProgram } from '../src/index.js';

describe('struct definitions', () => {
  it('lays out fields with C alignment', () => {
    expect(sockFprogStruct.size).toBe(16);
    expect(sockFprogStruct.offsets).toEqual({ len: 0, filter: 8 });
    expect(utsnameStruct.size).toBe(390);
    expect(capDataStruct.size).toBe(12);
    const mixed = defineStruct('mixed', [['a', 'u8'], ['b', 'u32'], ['c', 'u16'], ['d', 'u64']] as const);
    expect(mixed.offsets).toEqual({ a: 0, b: 4, c: 8, d: 16 });
    expect(mixed.size).toBe(24);
  });

  it('round-trips values and refuses what does not fit', () => {
    const encoded = capDataStruct.encode({ effective: 1, permitted: 0xffffffff, inheritable: 2 });
    expect(capDataStruct.decode(encoded)).toEqual({ effective: 1, permitted: 0xffffffff, inheritable: 2 });
    const name = utsnameStruct.encode({ nodename: 'box' });
    expect(utsnameStruct.decode(name).nodename).toBe('box');
    expect(() => utsnameStruct.encode({ nodename: 'x'.repeat(65) })).toThrow(RangeError);
    expect(() => sockFprogStruct.asBlock({ len: 1 }, { len: bytes(new Uint8Array(8)) })).toThrow(/not a pointer/);
  });

  it('points a block field at other arena data, relocated by the runner', () => {
    const filter = new Uint8Array(16).fill(7);
    const arg = sockFprogStruct.asBlock({ len: 2 }, { filter: bytes(filter) }, 'fprog');
    const program = buildProgram([{ op: 'syscall', name: 't.write', syscall: 'write', args: [{ kind: 'immediate', value: 1 }, arg] }], 'x86_64');
    expect(validateProgram(program.bytes)).toEqual({ ok: true });
    const view = program.bytes;
    const relocOffset = view.readUInt32LE(16);
    expect(view.readUInt32LE(20)).toBe(1); // one relocation: the filter pointer
    const arenaOffset = view.readUInt32LE(24);
    const fieldAt = view.readUInt32LE(relocOffset);
    const target = Number(view.readBigUInt64LE(arenaOffset + fieldAt));
    expect([...view.subarray(arenaOffset + target, arenaOffset + target + 16)]).toEqual([...filter]);
    expect(view.readUInt16LE(arenaOffset + fieldAt - 8)).toBe(2);
  });
});

describe('builder edge cases', () => {
  it('gives empty data an offset inside the arena', () => {
    const program = buildProgram([{ op: 'syscall', name: 't.write', syscall: 'write', args: [{ kind: 'immediate', value: 1 }, bytes(new Uint8Array(0))] }], 'x86_64');
    expect(validateProgram(program.bytes)).toEqual({ ok: true });
  });

  it('refuses a signal the runner would refuse', () => {
    expect(() => buildProgram([{ op: 'dieWithParent', name: 't.die', signal: 65 }], 'x86_64')).toThrow(RangeError);
  });
});
