import { CLONE, defineStruct, flags, result } from '@iso/core';
import type { FlagTable, StagedSteps } from '@iso/core';
import type { NetSettings } from './options.js';

/** struct ifreq (include/uapi/linux/if.h): the name, then a 24-byte union whose first field here is ifr_flags. */
export const ifreqStruct = defineStruct('ifreq', [
  ['name', { chars: 16 }],
  ['flags', 'u16'],
  ['rest', { chars: 22 }],
] as const);

const AF = { AF_INET: 2 } as const satisfies FlagTable;
const SOCK = { SOCK_DGRAM: 2, SOCK_CLOEXEC: 0o2000000 } as const satisfies FlagTable;
const IOCTL = { SIOCSIFFLAGS: 0x8914 } as const satisfies FlagTable;
/** lo's flags in a new namespace are IFF_LOOPBACK only; SIOCSIFFLAGS replaces the settable ones, so LOOPBACK stays and UP is added. */
const LO_FLAGS = { IFF_UP: 0x1, IFF_LOOPBACK: 0x8 } as const satisfies FlagTable;

/**
 * `'none'`: unshare(CLONE_NEWNET) with the other namespaces, after the user namespace, so
 * it owns the new one and the runner holds CAP_NET_ADMIN there even when rootless. Then,
 * in 'plumbing', `lo` goes up the way ifconfig does it: an ioctl on any socket of the new
 * namespace, no netlink, so the runner needs no reply parsing. `'host'`: nothing at all.
 */
export function netPlan(settings: NetSettings): StagedSteps {
  switch (settings.mode) {
    case 'host':
      return {};
    case 'none': {
      const socket = 'net.loopback.socket';
      return {
        namespaces: [{ op: 'syscall', name: 'net.unshare', syscall: 'unshare', args: [flags(CLONE.CLONE_NEWNET, CLONE)] }],
        plumbing: [
          { op: 'syscall', name: 'net.loopback.socket', syscall: 'socket', args: [flags(AF.AF_INET, AF), flags(SOCK.SOCK_DGRAM | SOCK.SOCK_CLOEXEC, SOCK), flags(0, {})], saveAs: socket },
          {
            op: 'syscall',
            name: 'net.loopback.up',
            syscall: 'ioctl',
            args: [
              result(socket),
              { kind: 'immediate', value: IOCTL.SIOCSIFFLAGS, format: { as: 'enum', table: IOCTL } },
              ifreqStruct.asBlock({ name: 'lo', flags: LO_FLAGS.IFF_UP | LO_FLAGS.IFF_LOOPBACK }, {}, '{ifr_name="lo", ifr_flags=IFF_UP|IFF_LOOPBACK}'),
            ],
          },
          { op: 'syscall', name: 'net.loopback.close', syscall: 'close', args: [result(socket)] },
        ],
      };
    }
  }
}
