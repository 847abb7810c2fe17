// Sandboxes of the real pid, mount and userns features on the real kernel, as root and as
// uid 65534 (the suite runs both ways). Each test checks what the target sees, and from the
// host that nothing leaked: the files, processes, fds and the host's mount table.
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MS, flags, nullPointer, str } from '@iso/core';
import type { ChildStep } from '@iso/core';
import { describe, expect, it } from 'vitest';
import { DEV_NODES, mountFeature, mountTmpfs, normalizeMountOptions, readMountInfo, unmount } from '../src/index.js';
import type { MountEntry, MountOptions } from '../src/index.js';
import { SANDBOX_ROOT, USR_ENTRIES, giveToSandbox, guardHost, hostMounts, isRoot, mountFeatureWith, runSandbox, setupError } from './helpers.js';

const scratch = guardHost();

const usr = USR_ENTRIES as unknown as MountEntry[];

/** A host mount two levels below / (sysfs on /sys, then a mount on /sys/fs/cgroup). */
const SUBMOUNT = '/sys/fs/cgroup';

/** Lines of "<path>: <error>" for writes that fail, "<path>: ok" for those that work. */
function tryWrites(paths: readonly string[]): string {
  return paths.map((p) => `if out=$( (echo x > '${p}') 2>&1); then echo '${p}: ok'; else echo "${p}: $out"; fi`).join('; ');
}

describe('@iso/mount: a new root', () => {
  it('host-readonly: writes fail with EROFS, in submounts too, and host files are visible', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'marker'), 'from the host\n');
    chmodSync(join(dir, 'marker'), 0o644);
    // /sys/fs/cgroup is a submount of /sys, which is a submount of /. The sandbox's own
    // minimal /dev (a default of a new root) has a writable /dev/shm that is not the host's.
    const script = `cat ${dir}/marker; ${tryWrites([`${dir}/marker`, `${dir}/new`, '/iso-new', `${SUBMOUNT}/iso-new`, '/dev/shm/iso-new'])}`;
    const { stdout, code } = await runSandbox({ root: 'host-readonly' }, script);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toEqual([
      'from the host',
      ...[`${dir}/marker`, `${dir}/new`, '/iso-new', `${SUBMOUNT}/iso-new`].map((p) => `${p}: /bin/sh: 1: cannot create ${p}: Read-only file system`),
      '/dev/shm/iso-new: ok',
    ]);
    expect(readFileSync(join(dir, 'marker'), 'utf8')).toBe('from the host\n');
    expect(existsSync(join(dir, 'new'))).toBe(false);
    expect(existsSync('/dev/shm/iso-new')).toBe(false);
  });

  it('ro-bind: read-only holds in a submount of the source; bind stays writable', async () => {
    const ro = scratch();
    const rw = scratch();
    mkdirSync(join(ro, 'sub'));
    writeFileSync(join(ro, 'file'), 'ro\n');
    chmodSync(rw, 0o777);
    // A submount inside the source, made in the runner's own namespace (never on the host).
    const before: ChildStep[] = [
      { op: 'syscall', name: 'test.private', syscall: 'mount', args: [nullPointer(), str('/'), nullPointer(), flags(MS.MS_REC | MS.MS_PRIVATE, MS), nullPointer()] },
      { op: 'syscall', name: 'test.submount', syscall: 'mount', args: [str('tmpfs'), str(join(ro, 'sub')), str('tmpfs'), flags(0, MS), str('mode=0777')] },
    ];
    const options: MountOptions = {
      root: 'host-readonly',
      entries: [
        { type: 'tmpfs', target: '/tmp' },
        { type: 'ro-bind', source: ro, target: '/tmp/ro' },
        { type: 'bind', source: rw, target: '/tmp/rw' },
      ],
    };
    const script = `${tryWrites(['/tmp/ro/file', '/tmp/ro/sub/file', '/tmp/rw/file', '/tmp/scratch'])}; grep -c ' /tmp/ro/sub ro,' /proc/self/mountinfo`;
    const { stdout } = await runSandbox(options, script, { before });
    expect(stdout.trim().split('\n')).toEqual([
      '/tmp/ro/file: /bin/sh: 1: cannot create /tmp/ro/file: Read-only file system',
      '/tmp/ro/sub/file: /bin/sh: 1: cannot create /tmp/ro/sub/file: Read-only file system',
      '/tmp/rw/file: ok',
      '/tmp/scratch: ok',
      '1',
    ]);
    expect(readFileSync(join(rw, 'file'), 'utf8')).toBe('x\n');
    expect(readFileSync(join(ro, 'file'), 'utf8')).toBe('ro\n');
    expect(readdirSync(join(ro, 'sub'))).toEqual([]);
  });

  it('read-only is locked in a nested namespace; a target keeping CAP_SYS_ADMIN here can remount (docs/security-model.md)', async () => {
    const ro = scratch();
    chmodSync(ro, 0o777);
    const options: MountOptions = { root: 'host-readonly', entries: [{ type: 'dev', target: '/dev' }, { type: 'tmpfs', target: '/tmp' }, { type: 'ro-bind', source: ro, target: '/tmp/ro' }] };
    const script = [
      'unshare --user --map-root-user --mount sh -c "mount -o remount,rw,bind /tmp/ro 2>/dev/null && echo nested: remounted || echo nested: locked"',
      'mount -o remount,rw,bind /tmp/ro && echo here: remounted',
    ].join('; ');
    const { stdout } = await runSandbox(options, script, { pid: true });
    expect(stdout.trim().split('\n')).toEqual(['nested: locked', 'here: remounted']);
  });

  it('a rootfs directory: host files outside the binds are invisible; /dev and /proc come by default', async () => {
    const root = scratch();
    const elsewhere = scratch();
    writeFileSync(join(elsewhere, 'secret'), 'host only\n');
    const options: MountOptions = { root: { dir: root }, entries: [...usr, { type: 'tmpfs', target: '/tmp' }] };
    const script = `ls -A /; test -e ${elsewhere}/secret && echo visible || echo invisible; ls -A /tmp | wc -l; cut -d' ' -f5 /proc/self/mountinfo | grep -v '^/proc/'`;
    const { stdout } = await runSandbox(options, script, { pid: true });
    const lines = stdout.trim().split('\n');
    const listing = ['bin', 'dev', 'lib', 'lib64', 'proc', 'sbin', 'tmp', 'usr'];
    expect(lines.slice(0, listing.length)).toEqual(listing);
    expect(lines.slice(listing.length, listing.length + 2)).toEqual(['invisible', '0']);
    // The root, /usr, /tmp, the default /dev and pid's /proc (and the masks below /proc):
    // nothing else of the host's table.
    const devNodes = DEV_NODES.filter((node) => existsSync(`/dev/${node}`)).map((node) => `/dev/${node}`);
    expect(lines.slice(listing.length + 2)).toEqual(['/', '/usr', '/tmp', '/dev', ...devNodes, '/dev/pts', '/dev/shm', '/proc']);
    // The mount points were made in the rootfs, and nothing else.
    expect(readdirSync(root).sort()).toEqual(listing);
  });

  it('an overlay root: writes never reach the lower dir', async () => {
    const lower = scratch();
    writeFileSync(join(lower, 'keep'), 'lower\n');
    writeFileSync(join(lower, 'gone'), 'lower\n');
    // Files the sandbox's root may change, so that only the overlay keeps them from changing.
    giveToSandbox(join(lower, 'keep'), join(lower, 'gone'));
    const listing = readdirSync(lower).sort();
    const script = 'echo changed > /keep && rm /gone && echo new > /new && mkdir /made && cat /keep && ls -A / | tr "\\n" " "; echo';
    const { stdout } = await runSandbox({ root: { overlay: { lower: [lower], size: '8m' } }, entries: usr }, script);
    expect(stdout.split('\n')).toEqual(['changed', 'bin dev keep lib lib64 made new sbin usr ', '']);
    expect(readdirSync(lower).sort()).toEqual(listing);
    expect(readFileSync(join(lower, 'keep'), 'utf8')).toBe('lower\n');
  });

  it('an overlay root with a directory upper: writes land in the upper dir only', async () => {
    const lower = scratch();
    const layers = scratch();
    mkdirSync(join(layers, 'upper'));
    mkdirSync(join(layers, 'work'));
    // overlayfs writes the upper layer with the credentials of the sandbox's root.
    giveToSandbox(join(layers, 'upper'), join(layers, 'work'));
    writeFileSync(join(lower, 'keep'), 'lower\n');
    giveToSandbox(join(lower, 'keep'));
    const options: MountOptions = { root: { overlay: { lower: [lower], upper: { dir: join(layers, 'upper'), work: join(layers, 'work') } } }, entries: usr };
    expect(await runSandbox(options, 'echo changed > /keep && echo new > /new')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(readFileSync(join(lower, 'keep'), 'utf8')).toBe('lower\n');
    expect(readdirSync(lower)).toEqual(['keep']);
    expect(readFileSync(join(layers, 'upper', 'keep'), 'utf8')).toBe('changed\n');
    expect(readFileSync(join(layers, 'upper', 'new'), 'utf8')).toBe('new\n');
  });

  it('injected files have the given content and mode, and never touch the root', async () => {
    const root = scratch();
    const options: MountOptions = {
      root: { dir: root },
      entries: [
        ...usr,
        { type: 'file', target: '/etc/iso/hello', content: 'hello, box\n', mode: 0o640 },
        { type: 'file', target: '/etc/iso/run', content: new Uint8Array(Buffer.from('#!/bin/sh\necho ran\n')), mode: 0o755 },
        { type: 'file', target: '/etc/iso/empty', content: '', mode: 0o600, readonly: true },
      ],
    };
    const script = `stat -c '%n %a %s %u' /etc/iso/hello /etc/iso/run /etc/iso/empty; cat /etc/iso/hello; /etc/iso/run; ${tryWrites(['/etc/iso/hello', '/etc/iso/empty'])}; cat /etc/iso/hello`;
    const { stdout } = await runSandbox(options, script);
    expect(stdout.trim().split('\n')).toEqual([
      '/etc/iso/hello 640 11 0',
      '/etc/iso/run 755 19 0',
      '/etc/iso/empty 600 0 0',
      'hello, box',
      'ran',
      '/etc/iso/hello: ok',
      '/etc/iso/empty: /bin/sh: 1: cannot create /etc/iso/empty: Read-only file system',
      'x',
    ]);
    // In the rootfs only empty mount points were made; the content lived in a private tmpfs.
    expect(statSync(join(root, 'etc/iso/hello')).size).toBe(0);
    expect(readdirSync(join(root, 'etc/iso')).sort()).toEqual(['empty', 'hello', 'run']);
  });

  it('/dev holds exactly the listed nodes, and they work', async () => {
    const script = [
      'ls -A /dev | tr "\\n" " "; echo',
      'echo discard > /dev/null && echo null-ok',
      'head -c 3 /dev/zero | od -An -tx1',
      'stat -f -c %T /dev/pts /dev/shm',
      'test -c /dev/pts/ptmx && echo ptmx-ok',
      'echo x > /dev/shm/f && echo shm-ok',
      'readlink /dev/fd /dev/stdin',
    ].join('; ');
    const { stdout } = await runSandbox({ root: 'host-readonly', entries: [{ type: 'dev', target: '/dev' }] }, script, { pid: true });
    expect(stdout.trim().split('\n').map((l) => l.trim())).toEqual([
      'fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero',
      'null-ok',
      '00 00 00',
      'devpts',
      'tmpfs',
      'ptmx-ok',
      'shm-ok',
      '/proc/self/fd',
      '/proc/self/fd/0',
    ]);
  });

  it('masked paths read empty or are denied, and /proc/sys is read-only', async () => {
    const files = ['/proc/keys', '/proc/timer_list', '/proc/kcore', '/proc/sched_debug'];
    const dirs = ['/proc/acpi', '/proc/scsi', '/sys/firmware'];
    const script = [
      ...files.map((f) => `if [ -e ${f} ]; then echo "${f} $(cat ${f} 2>&1 | wc -c)"; else echo "${f} missing"; fi`),
      ...dirs.map((d) => `if [ -e ${d} ]; then echo "${d} $(ls -A ${d} 2>&1 | wc -l)"; else echo "${d} missing"; fi`),
      tryWrites(['/proc/sys/kernel/ns_last_pid']),
      'if [ -e /proc/sysrq-trigger ]; then echo h > /proc/sysrq-trigger; fi',
      "grep -E ' /proc/(sys|bus|fs|irq|sysrq-trigger) ' /proc/self/mountinfo | grep -c ' ro,'",
    ].join('; ');
    const { stdout, stderr } = await runSandbox({ root: 'host-readonly', entries: [{ type: 'dev', target: '/dev' }] }, script, { pid: true });
    const lines = stdout.trim().split('\n');
    for (const line of lines.slice(0, files.length + dirs.length)) expect(line).toMatch(/ (0|missing)$/);
    // This machine has these, so the masks were really applied (not just skipped).
    expect(lines).toContain('/proc/keys 0');
    expect(lines).toContain('/sys/firmware 0');
    const readonlyPaths = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'].filter((p) => existsSync(p));
    expect(lines.slice(files.length + dirs.length)).toEqual([
      '/proc/sys/kernel/ns_last_pid: /bin/sh: 1: cannot create /proc/sys/kernel/ns_last_pid: Read-only file system',
      String(readonlyPaths.length),
    ]);
    if (existsSync('/proc/sysrq-trigger')) expect(stderr).toContain('cannot create /proc/sysrq-trigger: Read-only file system');
  });

  it('the host\'s processes do not lead back into its tree through /proc/<pid>/root', async () => {
    // Without a PID namespace /proc shows the host's processes; the user namespace still
    // denies the ptrace access that /proc/<pid>/root, cwd and environ need.
    const paths = ['root/', 'cwd/', 'environ'].map((p) => `/proc/${process.pid}/${p}`);
    const probe = (p: string) => `if out=$(${p.endsWith('/') ? 'ls' : 'cat'} ${p} 2>&1); then echo '${p}: open'; else echo '${p}: denied'; fi`;
    const { stdout } = await runSandbox({ root: 'host-readonly' }, [...paths, '/proc/self/root/'].map(probe).join('; '));
    expect(stdout.trim().split('\n')).toEqual([...paths.map((p) => `${p}: denied`), '/proc/self/root/: open']);
  });

  it('masks: false leaves /proc as mounted', async () => {
    const script = `grep -c ' /proc/' /proc/self/mountinfo; ${tryWrites(['/proc/sys/kernel/ns_last_pid'])}`;
    const { stdout } = await runSandbox({ root: 'host-readonly', masks: false }, script, { pid: true });
    const [submounts, write] = stdout.trim().split('\n');
    expect(submounts).toBe('0');
    expect(write).not.toContain('Read-only file system');
  });
});

describe('@iso/mount: entries and failures', () => {
  it('skips optional entries whose source or target is missing', async () => {
    const missing = join(scratch(), 'missing');
    const options: MountOptions = {
      root: 'host-readonly',
      entries: [
        { type: 'ro-bind', source: missing, target: '/tmp', optional: true },
        { type: 'tmpfs', target: '/usr/no/such/dir', optional: true },
        { type: 'tmpfs', target: '/tmp' },
      ],
    };
    const { stdout } = await runSandbox(options, 'test -e /usr/no && echo made || echo skipped; stat -f -c %T /tmp');
    expect(stdout.trim().split('\n')).toEqual(['skipped', 'tmpfs']);
  });

  it('a missing source or an impossible target is a typed error naming the entry, and leaves nothing behind', async () => {
    const missing = join(scratch(), 'missing');
    const noSource = await setupError({ root: 'host-readonly', entries: [{ type: 'tmpfs', target: '/tmp' }, { type: 'bind', source: missing, target: '/tmp/x' }] });
    expect(noSource).toMatchObject({ isoCode: 'ISO_SETUP_FAILED', code: 'ENOENT', syscall: 'open_tree', step: 'mount.entries[1].source', phase: 'child' });
    expect(noSource.message).toMatch(/^mount\.entries\[1\]\.source\[\d+\]: open_tree\(AT_FDCWD, ".*missing", OPEN_TREE_CLONE\|AT_RECURSIVE\|OPEN_TREE_CLOEXEC\) failed: ENOENT/);
    // Below an earlier read-only bind no mount point can be made: the kernel says so.
    const readOnly = await setupError({ root: 'host-readonly', entries: [{ type: 'tmpfs', target: '/tmp' }, { type: 'ro-bind', source: scratch(), target: '/tmp/ro' }, { type: 'tmpfs', target: '/tmp/ro/x' }] });
    expect(readOnly).toMatchObject({ isoCode: 'ISO_SETUP_FAILED', code: 'EROFS', syscall: 'mkdirat', step: 'mount.entries[2].mkdir' });
  });

  it('without a new root: entries go on existing host paths, in the sandbox only', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'host-file'), 'host\n');
    const { stdout } = await runSandbox({ entries: [{ type: 'tmpfs', target: dir }] }, `ls -A ${dir} | wc -l; echo x > ${dir}/inside && echo wrote`);
    expect(stdout.trim().split('\n')).toEqual(['0', 'wrote']);
    expect(readdirSync(dir)).toEqual(['host-file']);
    // A file entry goes over an existing file; masks work on the host's view too.
    const file = join(dir, 'host-file');
    const masked = await runSandbox({ entries: [{ type: 'file', target: file, content: 'inside\n' }], masks: true }, `cat ${file}; wc -c < /proc/keys; grep -c ' /proc/keys ' /proc/self/mountinfo`, { pid: true });
    expect(masked.stdout.trim().split('\n')).toEqual(['inside', '0', '1']);
    expect(readFileSync(file, 'utf8')).toBe('host\n');
    // Nothing is created in the host's tree: a missing target fails.
    const error = await setupError({ entries: [{ type: 'tmpfs', target: join(dir, 'absent') }] });
    expect(error).toMatchObject({ code: 'ENOENT', step: 'mount.entries[0].target' });
  });

  it.runIf(isRoot)("a root caller's sandbox writes as nobody: a root-owned directory refuses it, one nobody owns does not", async () => {
    const rootOwned = scratch({ owner: 'caller' });
    const nobodys = scratch();
    expect(SANDBOX_ROOT).toEqual({ uid: 65534, gid: 65534 });
    const options: MountOptions = { root: 'host-readonly', entries: [{ type: 'bind', source: rootOwned, target: rootOwned }, { type: 'bind', source: nobodys, target: nobodys }] };
    const { stdout } = await runSandbox(options, `${tryWrites([`${rootOwned}/x`, `${nobodys}/x`])}; stat -c %u ${rootOwned} ${nobodys}`);
    expect(stdout.trim().split('\n')).toEqual([`${rootOwned}/x: /bin/sh: 1: cannot create ${rootOwned}/x: Permission denied`, `${nobodys}/x: ok`, '65534', '0']);
    expect(readdirSync(rootOwned)).toEqual([]);
    expect(statSync(join(nobodys, 'x')).uid).toBe(65534);
  });

  it('slave propagation works with a new root', async () => {
    const { stdout } = await runSandbox({ propagation: 'slave', root: 'host-readonly' }, "grep -c ' / .* master:' /proc/self/mountinfo || true");
    // The host here shares nothing, so there is no master; the point is that pivot_root accepts it.
    expect(stdout.trim()).toMatch(/^\d+$/);
  });

  it('mount: true is still a private namespace only', async () => {
    const { stdout } = await runSandbox(true, "grep -c ' /proc ' /proc/self/mountinfo", { pid: true });
    expect(Number(stdout.trim())).toBe(2);
  });
});

describe('@iso/mount: symlinks in the root cannot redirect to the host', () => {
  function rootWithLink(victim: string): string {
    const root = scratch();
    symlinkSync(victim, join(root, 'etc'));
    symlinkSync(`../../../../../../../..${victim}`, join(root, 'up'));
    return root;
  }

  it.each([
    ['an absolute link', 'etc'],
    ['a relative link climbing out', 'up'],
  ])('%s is resolved inside the root and refused with a typed error', async (_, link) => {
    const victim = scratch();
    writeFileSync(join(victim, 'canary'), 'untouched\n');
    const root = rootWithLink(victim);
    const kinds: MountEntry[] = [
      { type: 'tmpfs', target: `/${link}/t` },
      { type: 'bind', source: '/usr', target: `/${link}/b` },
      { type: 'file', target: `/${link}/f`, content: 'x' },
      { type: 'dir', target: `/${link}/d` },
      { type: 'symlink', target: `/${link}/l`, to: '/x' },
      { type: 'tmpfs', target: `/${link}` },
    ];
    for (const entry of kinds) {
      const error = await setupError({ root: { dir: root }, entries: [...usr, entry] });
      expect(error).toMatchObject({ isoCode: 'ISO_SETUP_FAILED', code: expect.stringMatching(/^(ENOENT|ENOTDIR)$/) });
      expect(error.step).toMatch(/^mount\.entries\[5\]\.(parent|target)$/);
    }
    expect(readdirSync(victim)).toEqual(['canary']);
    expect(readFileSync(join(victim, 'canary'), 'utf8')).toBe('untouched\n');
  });

  it('a link whose in-root counterpart exists lands inside the root', async () => {
    const victim = scratch();
    writeFileSync(join(victim, 'canary'), 'untouched\n');
    const root = rootWithLink(victim);
    mkdirSync(join(root, victim), { recursive: true });
    // Each component, so that the sandbox's root may make mount points in them.
    const parts = victim.split('/').filter(Boolean);
    giveToSandbox(...parts.map((_, i) => join(root, ...parts.slice(0, i + 1))));
    const { stdout } = await runSandbox({ root: { dir: root }, entries: [...usr, { type: 'tmpfs', target: '/etc/t' }, { type: 'dir', target: '/up/d' }] }, `stat -f -c %T ${victim}/t; ls -A ${victim} | tr "\\n" " "`);
    expect(stdout.trim().split('\n')).toEqual(['tmpfs', 'd t']);
    expect(readdirSync(victim)).toEqual(['canary']);
    expect(readdirSync(join(root, victim)).sort()).toEqual(['d', 't']);
  });
});

describe('@iso/mount: new mount points on a host-readonly root', () => {
  // A top-level name the host does not have, so the root is built on a tmpfs.
  const project = `/iso-project-${process.pid}`;

  it('binds a project at a new top-level path: writable, the rest read-only, host symlinks kept', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'README'), 'the project\n');
    const ro = scratch();
    const options: MountOptions = {
      root: 'host-readonly',
      entries: [
        { type: 'dev', target: '/dev' },
        { type: 'tmpfs', target: '/tmp' },
        { type: 'bind', source: dir, target: project },
        { type: 'ro-bind', source: ro, target: `${project}-ro/nested` },
      ],
    };
    const script = [
      `cd ${project} && cat README && echo built > out && echo "wrote $(cat out)"`,
      tryWrites(['/etc/iso-new', '/iso-new', '/tmp/scratch', `${project}-ro/nested/x`, `${project}-ro/x`]),
      'stat -f -c %T /',
      'for l in bin lib sbin; do if [ -L /$l ]; then echo "$l -> $(readlink /$l)"; fi; done',
      '/bin/sh -c "echo via /bin"',
      `ls -A / | grep -vx 'iso-project-${process.pid}.*' | tr "\\n" " "; echo`,
    ].join('; ');
    const { stdout, code } = await runSandbox(options, script, { pid: true });
    expect(code).toBe(0);
    const links = ['bin', 'lib', 'sbin'].filter((l) => { try { return readlinkSync(`/${l}`) !== ''; } catch { return false; } });
    expect(stdout.trim().split('\n')).toEqual([
      'the project',
      'wrote built',
      '/etc/iso-new: /bin/sh: 1: cannot create /etc/iso-new: Read-only file system',
      '/iso-new: /bin/sh: 1: cannot create /iso-new: Read-only file system',
      '/tmp/scratch: ok',
      `${project}-ro/nested/x: /bin/sh: 1: cannot create ${project}-ro/nested/x: Read-only file system`,
      `${project}-ro/x: /bin/sh: 1: cannot create ${project}-ro/x: Read-only file system`,
      'tmpfs',
      ...links.map((l) => `${l} -> ${readlinkSync(`/${l}`)}`),
      'via /bin',
      readdirSync('/').sort().join(' '),
    ]);
    // The write went to the project on the host, and nothing was made in the host's tree.
    expect(readFileSync(join(dir, 'out'), 'utf8')).toBe('built\n');
    expect(existsSync(project)).toBe(false);
    expect(existsSync(`${project}-ro`)).toBe(false);
  });

  it('a read-only project at a new top-level path refuses writes', async () => {
    const dir = scratch();
    const { stdout } = await runSandbox({ root: 'host-readonly', entries: [{ type: 'bind', source: dir, target: project, readonly: true }] }, tryWrites([`${project}/x`]));
    expect(stdout.trim()).toBe(`${project}/x: /bin/sh: 1: cannot create ${project}/x: Read-only file system`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a missing target below the host\'s top level is refused before anything exists, naming the entry', async () => {
    const before = hostMounts();
    const error = await setupError({ root: 'host-readonly', entries: [{ type: 'tmpfs', target: '/tmp' }, { type: 'tmpfs', target: '/tmp/under-a-tmpfs' }, { type: 'bind', source: scratch(), target: '/usr/share/iso-new-dir' }] });
    expect(error).toMatchObject({ isoCode: 'ISO_INVALID_OPTIONS', phase: 'validate', path: 'mount.entries[2].target' });
    expect(error.message).toMatch(/\/usr\/share\/iso-new-dir does not exist on the host.*top-level target \(such as \/iso-new-dir\).*tmpfs entry on a parent.*overlay root/);
    expect(hostMounts()).toBe(before);
    expect(existsSync('/usr/share/iso-new-dir')).toBe(false);
  });
});

describe("@iso/mount: recursiveReadonly: 'walk' (the path below Linux 5.12, forced here)", () => {
  it(`host-readonly: a host submount (${SUBMOUNT}) is read-only; the default /dev keeps its own flags`, async () => {
    const script = `${tryWrites([`${SUBMOUNT}/iso-walk`, '/iso-walk', '/dev/shm/iso-walk'])}; grep -c ' ${SUBMOUNT} ro,' /proc/self/mountinfo; echo discard > /dev/null && echo null-ok`;
    const { stdout, code } = await runSandbox({ root: 'host-readonly', recursiveReadonly: 'walk' }, script);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toEqual([
      `${SUBMOUNT}/iso-walk: /bin/sh: 1: cannot create ${SUBMOUNT}/iso-walk: Read-only file system`,
      '/iso-walk: /bin/sh: 1: cannot create /iso-walk: Read-only file system',
      '/dev/shm/iso-walk: ok',
      '1',
      'null-ok',
    ]);
    expect(existsSync('/dev/shm/iso-walk')).toBe(false);
  });

  it('ro-bind: a submount of the source is read-only; a bind stays writable; a top-level mount point works too', async () => {
    const rw = scratch();
    const options: MountOptions = {
      root: 'host-readonly',
      recursiveReadonly: 'walk',
      entries: [
        { type: 'tmpfs', target: '/tmp' },
        { type: 'ro-bind', source: '/dev', target: '/tmp/dev' },
        { type: 'bind', source: rw, target: `/iso-walk-${process.pid}` },
        { type: 'file', target: '/tmp/file', content: 'x\n', readonly: true },
      ],
    };
    const script = tryWrites(['/tmp/dev/shm/iso-walk', '/tmp/dev/iso-walk', `/iso-walk-${process.pid}/ok`, '/tmp/file', '/iso-new', '/tmp/scratch']);
    const { stdout } = await runSandbox(options, script);
    expect(stdout.trim().split('\n')).toEqual([
      '/tmp/dev/shm/iso-walk: /bin/sh: 1: cannot create /tmp/dev/shm/iso-walk: Read-only file system',
      '/tmp/dev/iso-walk: /bin/sh: 1: cannot create /tmp/dev/iso-walk: Read-only file system',
      `/iso-walk-${process.pid}/ok: ok`,
      '/tmp/file: /bin/sh: 1: cannot create /tmp/file: Read-only file system',
      '/iso-new: /bin/sh: 1: cannot create /iso-new: Read-only file system',
      '/tmp/scratch: ok',
    ]);
    expect(readFileSync(join(rw, 'ok'), 'utf8')).toBe('x\n');
  });

  it('a submount that is gone by the time the runner walks is skipped', async () => {
    const table = readMountInfo();
    const root = table.find((m) => m.mountPoint === '/');
    if (!root) throw new Error('no root mount in mountinfo');
    // Mounts the host "had" when the options were checked, and no longer has: one whose
    // mount point is gone too (ENOENT), one whose directory is still there (EINVAL).
    const gone = [
      { ...root, mountId: 999_998, parentId: root.mountId, mountPoint: '/dev/iso-gone-mount', mountOptions: ['rw', 'nosuid'] },
      { ...root, mountId: 999_999, parentId: root.mountId, mountPoint: '/etc', mountOptions: ['rw', 'nosuid'] },
    ];
    const context = { kernelRelease: '6.18.0', euid: process.geteuid?.() ?? 0, mountInfo: [...table, ...gone] };
    // Checked against that table, without the sandbox's defaults: the host's /dev stays in view.
    const feature = mountFeatureWith((option) => normalizeMountOptions(option, context));
    const { stdout, code } = await runSandbox({ root: 'host-readonly', recursiveReadonly: 'walk' }, tryWrites(['/dev/shm/iso-walk']), { feature });
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/Read-only file system$/);
  });

  it('with the kernel of Linux 5.10, auto walks: read-only holds in submounts', async () => {
    const feature = mountFeatureWith((option, context) => mountFeature.normalize(option, { ...context, host: { ...context.host, kernelRelease: '5.10.0-28-amd64', kernel: [5, 10] } }));
    const options: MountOptions = { root: 'host-readonly', entries: [{ type: 'tmpfs', target: '/tmp' }, { type: 'ro-bind', source: '/dev', target: '/tmp/dev' }] };
    const { stdout } = await runSandbox(options, tryWrites([`${SUBMOUNT}/iso-walk`, '/tmp/dev/shm/iso-walk']), { feature });
    expect(stdout.trim().split('\n')).toEqual([
      `${SUBMOUNT}/iso-walk: /bin/sh: 1: cannot create ${SUBMOUNT}/iso-walk: Read-only file system`,
      '/tmp/dev/shm/iso-walk: /bin/sh: 1: cannot create /tmp/dev/shm/iso-walk: Read-only file system',
    ]);
  });

  it.skipIf(!isRoot)('a submount the test mounts on the host, below a ro-bind source (root only: a rootless caller cannot mount on the host)', async () => {
    const source = scratch();
    mkdirSync(join(source, 'sub'));
    mountTmpfs(join(source, 'sub'), { mode: 0o777, nosuid: true, nodev: true, noexec: true });
    try {
      const options: MountOptions = { root: 'host-readonly', recursiveReadonly: 'walk', entries: [{ type: 'tmpfs', target: '/tmp' }, { type: 'ro-bind', source, target: '/tmp/ro' }] };
      const { stdout } = await runSandbox(options, `${tryWrites(['/tmp/ro/sub/file', '/tmp/ro/file'])}; grep ' /tmp/ro/sub ' /proc/self/mountinfo | cut -d' ' -f6`);
      expect(stdout.trim().split('\n')).toEqual([
        '/tmp/ro/sub/file: /bin/sh: 1: cannot create /tmp/ro/sub/file: Read-only file system',
        '/tmp/ro/file: /bin/sh: 1: cannot create /tmp/ro/file: Read-only file system',
        // its own flags kept (noexec is not asked for by the bind), read-only added
        'ro,nosuid,nodev,noexec,relatime',
      ]);
      expect(readdirSync(join(source, 'sub'))).toEqual([]);
    } finally {
      unmount(join(source, 'sub'));
    }
  });
});
