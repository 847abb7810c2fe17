import { buildProgram, explainProgram, validateProgram } from '@iso/core';
import type { ArgSpec, ChildStep, SyscallStep } from '@iso/core';
import { describe, expect, it } from 'vitest';
import { mountPlan, normalizeMountOptions, openHowStruct, mountAttrStruct, parseMountInfo } from '../src/index.js';
import type { MountContext, MountOption, MountSettings } from '../src/index.js';
import { reachableMounts } from '../src/hosttree.js';

const NEW: MountContext = { kernelRelease: '6.18.44', euid: 0 };
const OLD: MountContext = { kernelRelease: '5.10.0-28-amd64', euid: 0 };
const USER: MountContext = { kernelRelease: '6.18.44', euid: 1000 };

function settings(option: MountOption, context: MountContext = NEW): MountSettings {
  const out = normalizeMountOptions(option, context);
  if (!out) throw new Error('off');
  return out;
}

function syscalls(steps: readonly ChildStep[] | undefined): SyscallStep[] {
  return (steps ?? []).filter((s): s is SyscallStep => s.op === 'syscall');
}

function blockOf(arg: ArgSpec | undefined): Buffer {
  if (arg?.kind !== 'block') throw new Error('not a block');
  return Buffer.from(arg.value);
}

const IN_ROOT = 0x10;
const NO_MAGICLINKS = 0x2;

describe('@iso/mount options', () => {
  it('keeps true as a private namespace only', () => {
    expect(normalizeMountOptions(true, NEW)).toEqual({ propagation: 'private', root: undefined, entries: [], files: [], masks: false, recursiveReadonly: 'setattr' });
    expect(normalizeMountOptions(false, NEW)).toBeUndefined();
    expect(normalizeMountOptions(true, OLD)).toMatchObject({ propagation: 'private' });
  });

  it('turns masks on with a new root only', () => {
    expect(settings({ root: 'host-readonly' }).masks).toBe(true);
    expect(settings({ root: 'host-readonly', masks: false }).masks).toBe(false);
    expect(settings({ entries: [{ type: 'tmpfs', target: '/tmp' }] }).masks).toBe(false);
  });

  it('normalizes targets and applies per-type defaults', () => {
    const s = settings({
      root: { dir: '/srv/root' },
      entries: [
        { type: 'ro-bind', source: '/usr', target: '//usr/./' },
        { type: 'bind', source: '/data', target: '/data', nosuid: false },
        { type: 'tmpfs', target: '/tmp', size: '64m', mode: 0o1777 },
        { type: 'proc', target: '/proc' },
        { type: 'file', target: '/etc/hostname', content: 'box\n' },
      ],
    });
    expect(s.entries[0]).toMatchObject({ type: 'bind', target: { path: '/usr', components: ['usr'] }, readonly: true, recursive: true, attrs: { nosuid: true, nodev: true, noexec: false } });
    expect(s.entries[1]).toMatchObject({ readonly: false, attrs: { nosuid: false, nodev: true } });
    expect(s.entries[2]).toMatchObject({ type: 'tmpfs', config: [['size', '64m'], ['mode', '1777']], attrs: { nosuid: true, nodev: true, noexec: false } });
    expect(s.entries[3]).toMatchObject({ type: 'proc', attrs: { nosuid: true, nodev: true, noexec: true } });
    expect(s.entries[4]).toMatchObject({ type: 'bind', source: { kind: 'scaffold', name: '0' }, kind: 'file', readonly: false });
    expect(s.files).toEqual([{ name: '0', content: new Uint8Array(Buffer.from('box\n')), mode: 0o644 }]);
  });

  it.each([
    [{ entries: [{ type: 'tmpfs', target: 'tmp' }] }, 'mount.entries[0].target', /absolute/],
    [{ root: 'host-readonly', entries: [{ type: 'tmpfs', target: '/tmp' }, { type: 'dir', target: '/x' }, { type: 'tmpfs', target: '/a/../../etc' }] }, 'mount.entries[2].target', /'\.\.'/],
    [{ root: 'host-readonly', entries: [{ type: 'tmpfs', target: '/' }] }, 'mount.entries[0].target', /root itself/],
    [{ entries: [{ type: 'tmpfs', target: '/t', recursive: true }] }, 'mount.entries[0].recursive', /does not apply to a tmpfs entry/],
    [{ entries: [{ type: 'dev', target: '/dev', nodev: false }] }, 'mount.entries[0].nodev', /does not apply to a dev entry/],
    [{ entries: [{ type: 'tmpfs', target: '/t', colour: 'red' }] }, 'mount.entries[0].colour', /unknown option/],
    [{ entries: [{ type: 'nfs', target: '/t' }] }, 'mount.entries[0].type', /expected one of/],
    [{ entries: ['tmpfs'] }, 'mount.entries[0]', /expected an object/],
    [{ entries: [{ type: 'bind', source: 'rel', target: '/x' }] }, 'mount.entries[0].source', /absolute/],
    [{ entries: [{ type: 'tmpfs', target: '/x', size: '10q' }] }, 'mount.entries[0].size', /'64m'/],
    [{ entries: [{ type: 'tmpfs', target: '/x', mode: 0o17777 }] }, 'mount.entries[0].mode', /0o7777/],
    [{ entries: [{ type: 'tmpfs', target: '/x', readonly: 'yes' }] }, 'mount.entries[0].readonly', /boolean/],
    [{ root: 'host-readonly', entries: [{ type: 'file', target: '/x', content: 5 }] }, 'mount.entries[0].content', /string or a Uint8Array/],
    [{ root: 'host-readonly', entries: [{ type: 'symlink', target: '/x' }] }, 'mount.entries[0].to', /non-empty/],
    [{ entries: [{ type: 'dir', target: '/x' }] }, 'mount.entries[0].type', /needs mount.root/],
    [{ entries: [{ type: 'symlink', target: '/x', to: 'y' }] }, 'mount.entries[0].type', /needs mount.root/],
    [{ entries: { type: 'tmpfs' } }, 'mount.entries', /array/],
    [{ root: 'host' }, 'mount.root', /'host-readonly'/],
    [{ root: { dir: 'rootfs' } }, 'mount.root.dir', /absolute/],
    [{ root: { dir: '/r', writable: true } }, 'mount.root.writable', /unknown option/],
    [{ root: { overlay: { lower: [] } } }, 'mount.root.overlay.lower', /1 to 500/],
    [{ root: { overlay: { lower: ['/a:b'] } } }, 'mount.root.overlay.lower[0]', /':'/],
    [{ root: { overlay: { lower: ['/a'], upper: { dir: '/u' } } } }, 'mount.root.overlay.upper.work', /absolute/],
    [{ root: { overlay: { lower: ['/a'], upper: { dir: '/u', work: '/w' }, size: '1m' } } }, 'mount.root.overlay.size', /tmpfs/],
    [{ masks: 'yes' }, 'mount.masks', /boolean/],
    [{ propagation: 'shared' }, 'mount.propagation', /'private' or 'slave'/],
    [{ extra: 1 }, 'mount.extra', /unknown option/],
    ['yes', 'mount', /true, false or an object/],
  ] as [unknown, string, RegExp][])('refuses %j at %s', (option, path, message) => {
    let error: unknown;
    try {
      normalizeMountOptions(option as MountOption, NEW);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ isoCode: 'ISO_INVALID_OPTIONS', path, phase: 'validate' });
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(`invalid option ${path}`);
  });

  it('refuses idmapped mounts to a non-root caller with ISO_NEEDS_PRIVILEGE', () => {
    const option: MountOption = { entries: [{ type: 'bind', source: '/data', target: '/data', idmap: { userns: 1234 } }] };
    expect(() => normalizeMountOptions(option, USER)).toThrow(
      expect.objectContaining({ isoCode: 'ISO_NEEDS_PRIVILEGE', path: 'mount.entries[0].idmap', message: expect.stringContaining('need root') }),
    );
    expect(settings(option).entries[0]).toMatchObject({ idmap: { userns: '/proc/1234/ns/user', slot: 'mount.idmap0' } });
  });

  it('names the kernel a new root or an entry needs', () => {
    const v54: MountContext = { kernelRelease: '5.4.0-150-generic', euid: 0, mountInfo: [] };
    for (const option of [{ root: 'host-readonly' }, { entries: [{ type: 'ro-bind', source: '/a', target: '/a' }] }, { masks: true }] as MountOption[]) {
      expect(() => normalizeMountOptions(option, v54)).toThrow(
        expect.objectContaining({ isoCode: 'ISO_UNSUPPORTED_KERNEL', message: expect.stringMatching(/need Linux 5\.6\+.*this is 5\.4\.0-150-generic/) }),
      );
    }
    // Below 5.12 there is no mount_setattr: 'auto' walks, 'setattr' and idmapped mounts are refused.
    expect(settings({ root: 'host-readonly' }, { ...OLD, mountInfo: [] }).recursiveReadonly).toBe('walk');
    expect(settings({ root: 'host-readonly' }).recursiveReadonly).toBe('setattr');
    expect(() => normalizeMountOptions({ root: 'host-readonly', recursiveReadonly: 'setattr' }, OLD)).toThrow(
      expect.objectContaining({ isoCode: 'ISO_UNSUPPORTED_KERNEL', path: 'mount.recursiveReadonly', message: expect.stringMatching(/5\.12\+.*'auto' or 'walk'/) }),
    );
    expect(() => normalizeMountOptions({ entries: [{ type: 'tmpfs', target: '/t' }, { type: 'bind', source: '/a', target: '/a', idmap: { userns: 1 } }] }, OLD)).toThrow(
      expect.objectContaining({ isoCode: 'ISO_UNSUPPORTED_KERNEL', path: 'mount.entries[1].idmap' }),
    );
    expect(() => normalizeMountOptions({ root: 'host-readonly', recursiveReadonly: 'yes' } as unknown as MountOption, NEW)).toThrow(
      expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'mount.recursiveReadonly' }),
    );
  });

  it('refuses a host-readonly target that would need a mount point below the top level', () => {
    const option: MountOption = {
      root: 'host-readonly',
      entries: [{ type: 'tmpfs', target: '/tmp' }, { type: 'dir', target: '/tmp/made' }, { type: 'symlink', target: '/usr/share/iso-missing/link', to: '/x' }],
    };
    expect(() => normalizeMountOptions(option, NEW)).toThrow(
      expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'mount.entries[2].target', message: expect.stringContaining('/usr/share/iso-missing does not exist on the host') }),
    );
    // Optional entries are skipped at run time instead; below an earlier entry is that entry's business.
    expect(settings({ root: 'host-readonly', entries: [{ type: 'tmpfs', target: '/usr/iso-missing', optional: true }] }).root).toMatchObject({ top: undefined });
    expect(settings({ root: 'host-readonly', entries: [{ type: 'tmpfs', target: '/usr' }, { type: 'dir', target: '/usr/iso-missing/d' }] }).root).toMatchObject({ top: undefined });
  });
});

describe('@iso/mount plan', () => {
  it('makes a private namespace for true, as before', () => {
    const plan = mountPlan(settings(true), 'x86_64');
    expect(plan.namespaces?.map((s) => s.name)).toEqual(['mount.unshare']);
    expect(plan.rootfs?.map((s) => s.name)).toEqual(['mount.propagation']);
    expect(plan.mountsSeal).toBeUndefined();
    const [step] = syscalls(mountPlan(settings({ propagation: 'slave' }), 'x86_64').rootfs);
    expect(step?.args[3]).toMatchObject({ value: 0x4000 | 0x80000 });
  });

  it('builds the root, pivots in mounts, and detaches the old root last in mountsSeal', () => {
    const plan = mountPlan(settings({ root: 'host-readonly', entries: [{ type: 'tmpfs', target: '/tmp' }] }), 'x86_64');
    const mounts = syscalls(plan.rootfs).map((s) => s.name);
    expect(mounts[0]).toBe('mount.propagation');
    expect(mounts.indexOf('mount.root.clone')).toBeLessThan(mounts.indexOf('mount.entries[0].attach'));
    expect(mounts.indexOf('mount.entries[0].attach')).toBeLessThan(mounts.indexOf('mount.pivot'));
    const seal = syscalls(plan.mountsSeal);
    expect(seal.at(-2)).toMatchObject({ name: 'mount.oldRoot.detach', syscall: 'umount2' });
    expect(seal.filter((s) => s.name === 'mount.mask')).not.toHaveLength(0);
    expect(mountPlan(settings({ root: 'host-readonly', masks: false }), 'x86_64').mountsSeal?.map((s) => s.name)).toEqual([
      'mount.oldRoot.chdir',
      'mount.oldRoot.detach',
      'mount.oldRoot.chdir',
    ]);
  });

  it('resolves every target inside the root and attaches through fds only', () => {
    const s = settings({
      root: { dir: '/srv/root' },
      entries: [
        { type: 'bind', source: '/data', target: '/a/b/c' },
        { type: 'tmpfs', target: '/a/t' },
        { type: 'dev', target: '/dev' },
        { type: 'file', target: '/etc/x', content: 'x' },
        { type: 'symlink', target: '/a/l', to: '/etc' },
        { type: 'dir', target: '/a/d/e' },
      ],
    });
    const steps = [...syscalls(mountPlan(s, 'x86_64').rootfs), ...syscalls(mountPlan(s, 'x86_64').mountsSeal)];
    const opens = steps.filter((st) => st.syscall === 'openat2');
    expect(opens.length).toBeGreaterThan(10);
    for (const st of opens) {
      const how = openHowStruct.decode(blockOf(st.args[2]));
      expect(how.resolve & BigInt(IN_ROOT | NO_MAGICLINKS)).toBe(BigInt(IN_ROOT | NO_MAGICLINKS));
      expect(st.args[0]?.kind).toBe('result');
    }
    // Nothing is created or mounted by a path from the cwd or the root, except the host
    // sources, which are read before the new root exists.
    for (const st of steps.filter((x) => ['mkdirat', 'mknodat', 'symlinkat'].includes(x.syscall))) {
      const dirfd = st.syscall === 'symlinkat' ? st.args[1] : st.args[0];
      expect(dirfd?.kind).toBe('result');
    }
    expect(steps.filter((st) => st.syscall === 'mount').map((st) => st.name)).toEqual(['mount.propagation']);
    for (const st of steps.filter((x) => x.syscall === 'move_mount')) {
      const target = st.args[3];
      const into = st.args[2];
      const onSlash = into?.kind === 'immediate' && target?.kind === 'string' && target.value === '/';
      const intoFd = into?.kind === 'result' && target?.kind === 'string' && !target.value.includes('/');
      expect(onSlash || intoFd).toBe(true);
    }
  });

  it('creates missing parents one component at a time', () => {
    const steps = syscalls(mountPlan(settings({ root: { dir: '/r' }, entries: [{ type: 'tmpfs', target: '/a/b/c' }] }), 'x86_64').rootfs);
    const made = steps.filter((s) => s.name.startsWith('mount.entries[0]') && ['mkdirat', 'openat2'].includes(s.syscall));
    expect(made.map((s) => `${s.syscall}:${s.args[1]?.kind === 'string' ? s.args[1].value : ''}`)).toEqual([
      'mkdirat:a',
      'openat2:a',
      'mkdirat:b',
      'openat2:a/b',
      'mkdirat:c',
      'openat2:a/b/c',
    ]);
    expect(steps.find((s) => s.syscall === 'mkdirat')?.tolerate).toEqual(['EEXIST']);
  });

  it('uses the open(2) flags of the target machine', () => {
    const s = settings({ root: { dir: '/r' }, entries: [{ type: 'tmpfs', target: '/t' }] });
    const flagsOf = (arch: 'x86_64' | 'aarch64') => {
      const open = syscalls(mountPlan(s, arch).rootfs).find((st) => st.name === 'mount.entries[0].target');
      return Number(openHowStruct.decode(blockOf(open?.args[2])).flags);
    };
    expect(flagsOf('x86_64')).toBe(0x200000 | 0x80000 | 0x10000);
    expect(flagsOf('aarch64')).toBe(0x200000 | 0x80000 | 0x4000);
  });

  it('skips the rest of an optional entry, and only that', () => {
    const s = settings({ root: { dir: '/r' }, entries: [{ type: 'bind', source: '/maybe', target: '/m/n', optional: true }, { type: 'tmpfs', target: '/t' }] });
    const steps = syscalls(mountPlan(s, 'x86_64').rootfs);
    const own = steps.filter((st) => st.name.startsWith('mount.entries[0]'));
    const last = steps.indexOf(own.at(-1)!);
    for (const st of own.filter((x) => x.skipOnTolerated !== undefined && x.name !== 'mount.entries[0].isDir' && x.name !== 'mount.entries[0].else')) {
      expect(steps.indexOf(st) + st.skipOnTolerated!).toBe(last);
    }
    expect(own[0]).toMatchObject({ syscall: 'open_tree', tolerate: ['ENOENT', 'ENOTDIR'] });
    expect(steps[last + 1]?.name.startsWith('mount.entries[1]')).toBe(true);
  });

  it('lets the source pick a file or directory mount point', () => {
    const steps = syscalls(mountPlan(settings({ root: { dir: '/r' }, entries: [{ type: 'bind', source: '/x', target: '/x' }] }), 'x86_64').rootfs);
    const names = steps.filter((s) => s.name.startsWith('mount.entries[0]')).map((s) => `${s.name.slice('mount.entries[0]'.length)} ${s.syscall}`);
    expect(names.slice(0, 6)).toEqual(['.source open_tree', '.attrs mount_setattr', '.isDir faccessat', '.mkdir mkdirat', '.else close', '.mknod mknodat']);
    expect(steps.find((s) => s.name === 'mount.entries[0].isDir')).toMatchObject({ tolerate: ['ENOTDIR'], skipOnTolerated: 2 });
    expect(steps.find((s) => s.name === 'mount.entries[0].else')).toMatchObject({ tolerate: ['EBADF'], skipOnTolerated: 1 });
  });

  it('makes idmapped mounts in the prepare stage, before the user namespace', () => {
    const s = settings({ entries: [{ type: 'ro-bind', source: '/data', target: '/data', idmap: { userns: '/run/ns/user' } }] });
    const plan = mountPlan(s, 'x86_64');
    const prepare = syscalls(plan.prepare);
    expect(prepare.map((st) => st.syscall)).toEqual(['open_tree', 'openat', 'mount_setattr', 'close']);
    const attr = mountAttrStruct.decode(blockOf(prepare[2]?.args[3]));
    expect(attr).toMatchObject({ attr_set: 0x100000n | 0x1n | 0x2n | 0x4n, userns_fd: 0n });
    // The namespace fd reaches struct mount_attr through a store step, not a fixed fd number.
    expect(prepare[2]?.args[3]).toMatchObject({ results: [{ at: mountAttrStruct.offsets.userns_fd, name: 'mount.node', size: 8 }] });
    const program = buildProgram(plan.prepare ?? [], 'x86_64');
    expect(program.steps.map((st) => st.op)).toEqual(['syscall', 'syscall', 'store', 'syscall', 'syscall']);
    const mounts = syscalls(plan.rootfs);
    expect(mounts.some((st) => st.name === 'mount.entries[0].source')).toBe(false);
    expect(mounts.find((st) => st.name === 'mount.entries[0].attach')?.args[0]).toEqual({ kind: 'result', name: 'mount.idmap0' });
  });

  it('writes file contents into a private tmpfs, never into the root', () => {
    const s = settings({ root: { dir: '/r' }, entries: [{ type: 'file', target: '/etc/motd', content: 'hello', mode: 0o600 }] });
    const steps = syscalls(mountPlan(s, 'x86_64').rootfs);
    const write = steps.find((st) => st.syscall === 'write');
    expect(write?.args[1]).toMatchObject({ kind: 'bytes', value: new Uint8Array(Buffer.from('hello')) });
    const create = steps.find((st) => st.name === 'mount.files.create');
    expect(create?.args[0]).toEqual({ kind: 'result', name: 'mount.scaffold' });
    expect(create?.args[3]).toMatchObject({ value: 0o600 });
    expect(steps.findIndex((st) => st.name === 'mount.files.detach')).toBeLessThan(steps.findIndex((st) => st.name === 'mount.pivot'));
  });

  it('encodes for both machines and explains itself', () => {
    const s = settings({
      root: { overlay: { lower: ['/a', '/b'], size: '16m' } },
      entries: [
        { type: 'ro-bind', source: '/usr', target: '/usr' },
        { type: 'dev', target: '/dev' },
        { type: 'proc', target: '/proc' },
        { type: 'mqueue', target: '/dev/mqueue' },
        { type: 'file', target: '/etc/x', content: new Uint8Array([0, 1, 2]) },
      ],
    });
    for (const arch of ['x86_64', 'aarch64'] as const) {
      const plan = mountPlan(s, arch);
      const steps = [...(plan.namespaces ?? []), ...(plan.rootfs ?? []), ...(plan.mountsSeal ?? [])];
      const program = buildProgram(steps, arch);
      expect(validateProgram(program.bytes)).toEqual({ ok: true });
      const text = explainProgram(program);
      expect(text).toContain('pivot_root(".", ".")');
      expect(text).toContain('fsconfig($mount.fs, FSCONFIG_SET_STRING, "lowerdir+", "/a", 0)\n');
      expect(text.indexOf('"lowerdir+", "/a"')).toBeLessThan(text.indexOf('"lowerdir+", "/b"'));
      expect(text).toMatch(/openat2\(\$mount\.root, "usr", \{flags=.*O_PATH.*, resolve=RESOLVE_NO_MAGICLINKS\|RESOLVE_IN_ROOT\}, 24\)/);
    }
  });

  it('joins the lower dirs before Linux 6.8, within fsconfig\'s 255 bytes', () => {
    const v61: MountContext = { kernelRelease: '6.1.0-18-amd64', euid: 0 };
    const steps = syscalls(mountPlan(settings({ root: { overlay: { lower: ['/a', '/b'] } } }, v61), 'x86_64').rootfs);
    const lowers = steps.filter((st) => st.syscall === 'fsconfig' && st.args[2]?.kind === 'string' && st.args[2].value.startsWith('lowerdir'));
    expect(lowers.map((st) => st.args.slice(2, 4))).toEqual([[{ kind: 'string', value: 'lowerdir' }, { kind: 'string', value: '/a:/b' }]]);
    const many = Array.from({ length: 30 }, (_, i) => `/layers/layer-${i}`);
    expect(settings({ root: { overlay: { lower: many } } }).root).toMatchObject({ lowerOption: 'lowerdir+' });
    expect(() => normalizeMountOptions({ root: { overlay: { lower: many } } }, v61)).toThrow(expect.objectContaining({ path: 'mount.root.overlay.lower', message: expect.stringContaining('255 bytes') }));
    expect(() => normalizeMountOptions({ root: { overlay: { lower: [`/${'x'.repeat(300)}`] } } }, NEW)).toThrow(expect.objectContaining({ path: 'mount.root.overlay.lower[0]' }));
  });

  it('refuses more steps than a program may have', () => {
    const entries = Array.from({ length: 200 }, (_, i) => ({ type: 'tmpfs' as const, target: `/${'d/'.repeat(30)}${i}` }));
    expect(() => normalizeMountOptions({ root: { dir: '/r' }, entries }, NEW)).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'mount.entries' }));
  });

  it('builds a host-readonly root on a tmpfs when a target is new at the top level', () => {
    const s = settings({ root: 'host-readonly', entries: [{ type: 'tmpfs', target: '/tmp' }, { type: 'bind', source: '/srv/project', target: '/iso-missing-top/work' }] });
    expect(s.root).toMatchObject({ kind: 'host-readonly', top: expect.arrayContaining([expect.objectContaining({ name: 'usr', kind: 'dir' })]) });
    const steps = syscalls(mountPlan(s, 'x86_64').rootfs);
    const names = steps.map((st) => st.name);
    expect(names).not.toContain('mount.root.clone');
    expect(steps.find((st) => st.syscall === 'fsopen')).toMatchObject({ name: 'mount.root.tmpfs.fsopen' });
    // Every top-level directory is a recursive, read-only clone attached by name into the tmpfs.
    const usr = steps.findIndex((st) => st.name === 'mount.root.top' && st.args[1]?.kind === 'string' && st.args[1].value === '/usr');
    expect(steps[usr]).toMatchObject({ syscall: 'open_tree', tolerate: ['ENOENT'], skipOnTolerated: 4 });
    expect(steps.slice(usr + 1, usr + 5).map((st) => st.syscall)).toEqual(['mount_setattr', 'mkdirat', 'move_mount', 'close']);
    // The tmpfs turns read-only after the entries, before the pivot.
    const seal = names.indexOf('mount.root.seal');
    expect(seal).toBeGreaterThan(names.lastIndexOf('mount.entries[1].attach'));
    expect(seal).toBeLessThan(names.indexOf('mount.pivot'));
    expect(mountAttrStruct.decode(blockOf(steps[seal]?.args[3]))).toMatchObject({ attr_set: 0x1n | 0x2n | 0x4n });
    expect(steps[seal]?.args[2]).toMatchObject({ value: 0x1000 });
  });

  it("walks the host's mounts below a read-only bind instead of mount_setattr", () => {
    const table = parseMountInfo(
      [
        '20 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw',
        '21 20 0:5 / /srv rw,nosuid,relatime - tmpfs tmpfs rw',
        '22 21 0:6 / /srv/data/cache ro,nodev,noatime - tmpfs tmpfs rw',
        '23 22 0:7 / /srv/data/cache/deep rw,noexec - tmpfs tmpfs rw',
        '24 20 0:8 / /elsewhere rw - tmpfs tmpfs rw',
      ].join('\n'),
    );
    const context: MountContext = { ...OLD, mountInfo: table };
    const s = settings({ entries: [{ type: 'ro-bind', source: '/srv/data', target: '/srv/data' }] }, context);
    expect(s.entries[0]).toMatchObject({ walk: { rootFlags: 0x2 | 0x200000, submounts: [{ path: 'cache', flags: 0x1 | 0x4 | 0x400 }, { path: 'cache/deep', flags: 0x8 }] } });
    const steps = syscalls(mountPlan(s, 'x86_64').rootfs);
    expect(steps.some((st) => st.syscall === 'mount_setattr')).toBe(false);
    const remounts = steps.filter((st) => st.syscall === 'mount' && st.name !== 'mount.propagation');
    const REMOUNT_BIND = 0x20 | 0x1000;
    const RO_NOSUID_NODEV = 0x1 | 0x2 | 0x4;
    expect(remounts.map((st) => [st.args[1], (st.args[3] as { value: number }).value, st.tolerate])).toEqual([
      [{ kind: 'string', value: '/proc/self/fd/100' }, REMOUNT_BIND | RO_NOSUID_NODEV | 0x200000, undefined],
      [{ kind: 'string', value: '/proc/self/fd/100' }, REMOUNT_BIND | RO_NOSUID_NODEV | 0x400, ['EINVAL']],
      [{ kind: 'string', value: '/proc/self/fd/100' }, REMOUNT_BIND | RO_NOSUID_NODEV | 0x8, ['EINVAL']],
    ]);
    // Submounts are opened beneath the bind's fresh fd, no link followed, and skipped when gone.
    const opens = steps.filter((st) => st.name === 'mount.entries[0].attrs.submount' && st.syscall === 'openat2');
    expect(opens.map((st) => [st.args[0], st.args[1], st.tolerate, st.skipOnTolerated])).toEqual([
      [{ kind: 'result', name: 'mount.walk' }, { kind: 'string', value: 'cache' }, ['ENOENT', 'ENOTDIR'], 4],
      [{ kind: 'result', name: 'mount.walk' }, { kind: 'string', value: 'cache/deep' }, ['ENOENT', 'ENOTDIR'], 4],
    ]);
    for (const st of opens) expect(openHowStruct.decode(blockOf(st.args[2])).resolve).toBe(BigInt(0x8 | 0x4 | 0x2));
    expect(steps.findIndex((st) => st.name === 'mount.entries[0].attach')).toBeLessThan(steps.indexOf(remounts[0]!));
    const program = buildProgram([...syscalls(mountPlan(s, 'x86_64').namespaces), ...steps], 'x86_64');
    expect(validateProgram(program.bytes)).toEqual({ ok: true });
    expect(explainProgram(program)).toContain('mount(NULL, "/proc/self/fd/100", NULL, MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC|MS_REMOUNT|MS_BIND, NULL)  tolerate EINVAL');
  });

  it('leaves out mounts a path cannot reach: stacked under another, or below a covered one', () => {
    const table = parseMountInfo(
      [
        '20 1 8:1 / / rw - ext4 /dev/sda1 rw',
        '21 20 0:5 / /dev rw - devtmpfs dev rw',
        '22 21 0:6 / /dev/shm rw - tmpfs shm rw',
        '23 22 0:7 / /dev/shm ro - tmpfs shm rw',
        '24 20 0:8 / /a rw - tmpfs a rw',
        '25 24 0:9 / /a/b rw - tmpfs b rw',
        '26 24 0:10 / /a rw - tmpfs a2 rw',
      ].join('\n'),
    );
    expect(reachableMounts(table).map((m) => m.mountId)).toEqual([20, 21, 23, 26]);
  });
});
