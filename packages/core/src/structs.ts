import type { ArgSpec, BlockPointer, BlockResult } from './program/types.js';

// One definition per kernel struct, used by both faces: in-process code decodes the
// Buffer that a koffi call filled, and plans encode the same layout into the arena.
// x86_64 and aarch64 share these layouts (LP64, little-endian, natural alignment).

export type FieldType = 'u8' | 'u16' | 'u32' | 'i32' | 'u64' | 'i64' | 'pointer' | { chars: number };

type FieldValue<T extends FieldType> = T extends { chars: number } ? string : T extends 'u64' | 'i64' ? bigint : T extends 'pointer' ? never : number;

export type StructValues<F extends readonly (readonly [string, FieldType])[]> = {
  [K in F[number] as K[0]]: FieldValue<K[1]>;
};

const sizes = { u8: 1, u16: 2, u32: 4, i32: 4, u64: 8, i64: 8, pointer: 8 } as const;

function sizeOf(type: FieldType): number {
  return typeof type === 'object' ? type.chars : sizes[type];
}
function alignOf(type: FieldType): number {
  return typeof type === 'object' ? 1 : sizes[type];
}

export interface StructLayout<F extends readonly (readonly [string, FieldType])[]> {
  readonly name: string;
  readonly size: number;
  readonly offsets: Readonly<Record<F[number][0], number>>;
  /** Bytes for the given values; pointer fields stay zero (see asBlock). */
  encode(values: Partial<StructValues<F>>): Buffer;
  decode(buffer: Buffer, at?: number): StructValues<F>;
  /**
   * An arena argument: the struct, with pointer fields aimed at other arena data, and
   * `results` fields (an fd, say) filled with an earlier step's saved result right before
   * the step runs.
   */
  asBlock(
    values: Partial<StructValues<F>>,
    pointers: Partial<Record<F[number][0], BlockPointer['to']>>,
    label?: string,
    results?: Partial<Record<F[number][0], string>>,
  ): Extract<ArgSpec, { kind: 'block' }>;
}

export function defineStruct<const F extends readonly (readonly [string, FieldType])[]>(name: string, fields: F): StructLayout<F> {
  const offsets: Record<string, number> = {};
  let size = 0;
  let alignment = 1;
  for (const [field, type] of fields) {
    const align = alignOf(type);
    size = Math.ceil(size / align) * align;
    offsets[field] = size;
    size += sizeOf(type);
    alignment = Math.max(alignment, align);
  }
  size = Math.ceil(size / alignment) * alignment;
  const types = new Map<string, FieldType>(fields.map(([field, type]) => [field, type]));

  const encode = (values: Partial<StructValues<F>>): Buffer => {
    const buffer = Buffer.alloc(size);
    for (const [field, value] of Object.entries(values as Record<string, unknown>)) {
      const type = types.get(field);
      const at = offsets[field];
      if (type === undefined || at === undefined) throw new RangeError(`${name} has no field ${field}`);
      if (typeof type === 'object') {
        const text = Buffer.from(String(value), 'utf8');
        if (text.length >= type.chars) throw new RangeError(`${name}.${field} holds at most ${type.chars - 1} bytes`);
        text.copy(buffer, at);
        continue;
      }
      switch (type) {
        case 'u8':
          buffer.writeUInt8(Number(value), at);
          break;
        case 'u16':
          buffer.writeUInt16LE(Number(value), at);
          break;
        case 'u32':
          buffer.writeUInt32LE(Number(value), at);
          break;
        case 'i32':
          buffer.writeInt32LE(Number(value), at);
          break;
        case 'u64':
          buffer.writeBigUInt64LE(BigInt(value as number | bigint), at);
          break;
        case 'i64':
          buffer.writeBigInt64LE(BigInt(value as number | bigint), at);
          break;
        case 'pointer':
          throw new RangeError(`${name}.${field} is a pointer; give it through asBlock`);
      }
    }
    return buffer;
  };

  const decode = (buffer: Buffer, base = 0): StructValues<F> => {
    const out: Record<string, unknown> = {};
    for (const [field, type] of fields) {
      const at = base + (offsets[field] ?? 0);
      if (typeof type === 'object') {
        const raw = buffer.subarray(at, at + type.chars);
        const end = raw.indexOf(0);
        out[field] = raw.subarray(0, end < 0 ? raw.length : end).toString('utf8');
        continue;
      }
      switch (type) {
        case 'u8':
          out[field] = buffer.readUInt8(at);
          break;
        case 'u16':
          out[field] = buffer.readUInt16LE(at);
          break;
        case 'u32':
          out[field] = buffer.readUInt32LE(at);
          break;
        case 'i32':
          out[field] = buffer.readInt32LE(at);
          break;
        case 'u64':
          out[field] = buffer.readBigUInt64LE(at);
          break;
        case 'i64':
          out[field] = buffer.readBigInt64LE(at);
          break;
        case 'pointer':
          break; // addresses mean nothing to JS
      }
    }
    return out as StructValues<F>;
  };

  const asBlock: StructLayout<F>['asBlock'] = (values, pointers, label, results = {}) => {
    const blockPointers: BlockPointer[] = [];
    for (const [field, to] of Object.entries(pointers as Record<string, BlockPointer['to'] | undefined>)) {
      if (to === undefined) continue;
      if (types.get(field) !== 'pointer') throw new RangeError(`${name}.${field} is not a pointer field`);
      blockPointers.push({ at: offsets[field] ?? 0, to });
    }
    const blockResults: BlockResult[] = [];
    for (const [field, result] of Object.entries(results as Record<string, string | undefined>)) {
      if (result === undefined) continue;
      const type = types.get(field);
      if (type !== 'u32' && type !== 'i32' && type !== 'u64' && type !== 'i64') throw new RangeError(`${name}.${field} cannot hold a saved result`);
      blockResults.push({ at: offsets[field] ?? 0, name: result, size: sizes[type] });
    }
    return {
      kind: 'block',
      value: encode(values),
      pointers: blockPointers,
      ...(blockResults.length === 0 ? {} : { results: blockResults }),
      ...(label === undefined ? {} : { label }),
    };
  };

  return { name, size, offsets: offsets as Record<F[number][0], number>, encode, decode, asBlock };
}

/** struct utsname (uname(2)): six fields of __NEW_UTS_LEN + 1 bytes. */
export const utsnameStruct = defineStruct('utsname', [
  ['sysname', { chars: 65 }],
  ['nodename', { chars: 65 }],
  ['release', { chars: 65 }],
  ['version', { chars: 65 }],
  ['machine', { chars: 65 }],
  ['domainname', { chars: 65 }],
] as const);

/** struct sock_fprog (seccomp(2), SO_ATTACH_FILTER): a count and a pointer to sock_filter[]. */
export const sockFprogStruct = defineStruct('sock_fprog', [
  ['len', 'u16'],
  ['filter', 'pointer'],
] as const);

/** struct __user_cap_header_struct (capget/capset). */
export const capHeaderStruct = defineStruct('cap_user_header', [
  ['version', 'u32'],
  ['pid', 'i32'],
] as const);

/** struct __user_cap_data_struct: one of two 32-bit halves of the v3 sets. */
export const capDataStruct = defineStruct('cap_user_data', [
  ['effective', 'u32'],
  ['permitted', 'u32'],
  ['inheritable', 'u32'],
] as const);

/** struct iovec: one buffer for readv/writev/sendmsg. */
export const iovecStruct = defineStruct('iovec', [
  ['iov_base', 'pointer'],
  ['iov_len', 'u64'],
] as const);

/** struct msghdr (sendmsg/recvmsg) on 64-bit Linux. */
export const msghdrStruct = defineStruct('msghdr', [
  ['msg_name', 'pointer'],
  ['msg_namelen', 'u32'],
  ['msg_iov', 'pointer'],
  ['msg_iovlen', 'u64'],
  ['msg_control', 'pointer'],
  ['msg_controllen', 'u64'],
  ['msg_flags', 'i32'],
] as const);

/** One SCM_RIGHTS control message holding one fd: struct cmsghdr, then the int, padded (CMSG_SPACE(4)). */
export const rightsCmsgStruct = defineStruct('cmsghdr_rights', [
  ['cmsg_len', 'u64'],
  ['cmsg_level', 'i32'],
  ['cmsg_type', 'i32'],
  ['fd', 'i32'],
  ['pad', 'u32'],
] as const);
