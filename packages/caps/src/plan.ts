import { bytes, flags, imm } from '@iso/core';
import type { ChildStep, ErrnoName, FlagTable, StagedSteps } from '@iso/core';
import type { CapsSettings } from './options.js';
import { CAP, fullCapMask } from './names.js';
import { LINUX_CAPABILITY_VERSION_3, PR, PR_CAP_AMBIENT, SECBIT } from './consts.js';
import { formatCapText } from './text.js';

/** A prctl step; `tables` name the arguments for explain(). */
function prctl(name: string, args: readonly number[], tables: readonly FlagTable[], tolerate?: readonly ErrnoName[]): ChildStep {
  const step: ChildStep = {
    op: 'syscall',
    name,
    syscall: 'prctl',
    args: args.map((value, i) => {
      const table = tables[i];
      return table === undefined ? imm(value) : imm(value, { as: 'enum', table });
    }),
  };
  return tolerate === undefined ? step : { ...step, tolerate };
}

/** struct __user_cap_header_struct for capset(2): version 3, pid 0 (the caller). */
export function capHeader(): Uint8Array {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, 0);
  header.writeInt32LE(0, 4);
  return header;
}

/**
 * struct __user_cap_data_struct[2]: {effective, permitted, inheritable}, low 32 bits
 * first. Little-endian, like both architectures iso runs on.
 */
export function capData(sets: { effective: bigint; permitted: bigint; inheritable: bigint }): Uint8Array {
  const data = Buffer.alloc(24);
  for (const [half, shift] of [
    [0, 0n],
    [1, 32n],
  ] as const) {
    const word = (mask: bigint) => Number((mask >> shift) & 0xffffffffn);
    data.writeUInt32LE(word(sets.effective), 12 * half);
    data.writeUInt32LE(word(sets.permitted), 12 * half + 4);
    data.writeUInt32LE(word(sets.inheritable), 12 * half + 8);
  }
  return data;
}

/**
 * What the process must hold in its permitted set when stage 'capabilities' starts:
 * every kept capability (capset only ever lowers), plus CAP_SETPCAP when bounding bits
 * are dropped or secure bits set. Root of a fresh user namespace holds them all.
 */
export function capsStageNeeds(settings: CapsSettings): bigint {
  const setpcap = settings.bounding !== fullCapMask(settings.lastCap) || settings.securebits !== undefined;
  return settings.permitted | (setpcap ? 1n << BigInt(CAP.CAP_SETPCAP) : 0n);
}

function capset(name: string, sets: { effective: bigint; permitted: bigint; inheritable: bigint }, lastCap: number): ChildStep {
  return {
    op: 'syscall',
    name,
    syscall: 'capset',
    args: [bytes(capHeader(), '{_LINUX_CAPABILITY_VERSION_3, pid=0}'), bytes(capData(sets), `{${formatCapText(sets, { lastCap })}}`)],
  };
}

/**
 * The child steps for `caps`. Stage 'capabilities', in this order, because each step
 * needs what the next one takes away:
 * 1. caps.prepare: capset effective = permitted = capsStageNeeds(). This re-raises an
 *    effective set that an earlier uid change cleared (PR_SET_KEEPCAPS keeps only the
 *    permitted set), and fails at once, with EPERM, if the process lacks a kept
 *    capability;
 * 2. caps.bounding: PR_CAPBSET_DROP every capability 0..lastCap not kept (needs
 *    CAP_SETPCAP; EINVAL, a capability this kernel lacks, is tolerated);
 * 3. caps.securebits: PR_SET_SECUREBITS (needs CAP_SETPCAP), when asked for;
 * 4. caps.capset: effective = permitted = kept, inheritable = ambient;
 * 5. caps.ambient: clear the ambient set, then raise each ambient capability.
 * Stage 'noNewPrivs': PR_SET_NO_NEW_PRIVS unless turned off.
 */
export function capsPlan(settings: CapsSettings): StagedSteps {
  const needs = capsStageNeeds(settings);
  const capabilities: ChildStep[] = [capset('caps.prepare', { effective: needs, permitted: needs, inheritable: 0n }, settings.lastCap)];
  for (let n = 0; n <= settings.lastCap; n++) {
    if ((settings.bounding >> BigInt(n)) & 1n) continue;
    capabilities.push(prctl('caps.bounding', [PR.PR_CAPBSET_DROP, n], [PR, CAP], ['EINVAL']));
  }
  if (settings.securebits !== undefined)
    capabilities.push({
      op: 'syscall',
      name: 'caps.securebits',
      syscall: 'prctl',
      args: [imm(PR.PR_SET_SECUREBITS, { as: 'enum', table: PR }), flags(settings.securebits, SECBIT)],
    });
  capabilities.push(capset('caps.capset', settings, settings.lastCap));
  // Tolerated: before Linux 4.3 there is no ambient set to clear (raises were refused earlier).
  capabilities.push(
    prctl('caps.ambient', [PR.PR_CAP_AMBIENT, PR_CAP_AMBIENT.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0], [PR, PR_CAP_AMBIENT], ['EINVAL']),
  );
  for (let n = 0; n <= settings.lastCap; n++) {
    if (!((settings.ambient >> BigInt(n)) & 1n)) continue;
    capabilities.push(prctl('caps.ambient', [PR.PR_CAP_AMBIENT, PR_CAP_AMBIENT.PR_CAP_AMBIENT_RAISE, n, 0, 0], [PR, PR_CAP_AMBIENT, CAP]));
  }
  const noNewPrivs: ChildStep[] = settings.noNewPrivs ? [prctl('caps.noNewPrivs', [PR.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0], [PR])] : [];
  return { capabilities, noNewPrivs };
}
