// The in-process API on the real kernel: v1 (hybrid) on this machine, v2 in kernel-lab.
// Every test checks from the host side that no cgroup is left below the caller's own.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, existsSync, rmSync } from 'node:fs';
import { guardNoLeaks, isAlive, waitFor } from '@iso/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { createCgroup, detectLayout, filesystemMagic, ownCgroups, probeCgroup, CGROUP2_SUPER_MAGIC } from '../src/index.js';
import type { Cgroup, CgroupEvent, CreateCgroupOptions } from '../src/index.js';

const probe = probeCgroup();
/** Delegated cgroup v2 tests name their parent (ISO_CGROUP_TEST_PARENT); otherwise the probe tells. */
const usable = process.env.ISO_CGROUP_TEST_PARENT !== undefined || probe.supported;
const PYTHON = '/usr/bin/python3';

/** Starts `script` under sh, held at a read until it is in the cgroup, so all it does is charged there. */
function held(cgroup: Cgroup, script: string): { child: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; output: () => string } {
  const child = spawn('/bin/sh', ['-c', `read go; ${script}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      resolve({ code, signal });
    });
  });
  cgroup.addProcess(child.pid!);
  child.stdin?.end('go\n');
  return { child, exited, output: () => output };
}

/** Every cgroup directory below the caller's own, in every hierarchy, read from the host side. */
function cgroupsBelowOwn(): string[] {
  const layout = detectLayout();
  const found: string[] = [];
  for (const h of layout.hierarchies) {
    const base = TEST_PARENT ?? h.own;
    const dir = `${h.mount}${base === '/' ? '' : base}`;
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory() && entry.name.startsWith('iso-')) found.push(`${dir}/${entry.name}`);
  }
  return found.sort();
}

let open: Cgroup[] = [];
/** Kills and removes what a test made; registered after guardNoLeaks, so it runs before its check. */
function cleanUp(): void {
  afterEach(async () => {
    for (const cgroup of open) {
      await cgroup.kill().catch(() => undefined);
      await cgroup.remove().catch(() => undefined);
    }
    open = [];
  });
}
/**
 * ISO_CGROUP_TEST_PARENT: a delegated cgroup without processes to create in (the kernel-lab
 * run as uid 65534 sets it, as systemd's Delegate=yes would hand one out).
 */
const TEST_PARENT = process.env.ISO_CGROUP_TEST_PARENT;
function make(options: CreateCgroupOptions = {}): Cgroup {
  const cgroup = createCgroup(TEST_PARENT === undefined ? options : { parent: TEST_PARENT, ...options });
  open.push(cgroup);
  return cgroup;
}

describe('cgroup detection', () => {
  it('tells the mode by statfs magic and finds the own cgroup of each hierarchy', () => {
    const layout = detectLayout();
    const top = filesystemMagic('/sys/fs/cgroup') === CGROUP2_SUPER_MAGIC;
    expect(layout.mode).toBe(top ? 'unified' : existsSync('/sys/fs/cgroup/unified') ? 'hybrid' : 'legacy');
    const own = ownCgroups(layout);
    for (const line of readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
      const [id, controllers = '', path] = line.split(':');
      if (id === '0') expect(own.unified).toBe(path);
      else for (const controller of controllers.split(',')) if (own[controller] !== undefined) expect(own[controller]).toBe(path);
    }
    expect(probe.mode).toBe(layout.mode);
    expect(probe.version).toBe(layout.mode === 'unified' ? 2 : 1);
    for (const state of Object.values(probe.controllers)) expect(state.usable || typeof state.reason === 'string').toBe(true);
  });
});

describe.runIf(!usable)('cgroup without privilege or delegation', () => {
  guardNoLeaks();
  it('refuses with ISO_NEEDS_PRIVILEGE, saying what to delegate, and creates nothing', () => {
    expect(probe.reasons.join('\n')).toMatch(/delegate/i);
    const before = cgroupsBelowOwn();
    expect(() => createCgroup({ limits: { memory: { max: '64M' } } })).toThrow(
      expect.objectContaining({ isoCode: 'ISO_NEEDS_PRIVILEGE', message: expect.stringMatching(/may not create cgroups in .*Delegate=yes.*systemd-run --user --scope -p Delegate=yes/) }),
    );
    expect(() => createCgroup()).toThrow(expect.objectContaining({ isoCode: 'ISO_NEEDS_PRIVILEGE' }));
    expect(cgroupsBelowOwn()).toEqual(before);
  });
});

describe.runIf(usable)('cgroup on the kernel', () => {
  guardNoLeaks();
  cleanUp();

  it('creates below the own cgroup in each hierarchy, moves a process in, and removes everything', async () => {
    const before = cgroupsBelowOwn();
    const cgroup = make({ limits: { pids: { max: 64 } } });
    const layout = detectLayout();
    const base = (own: string) => TEST_PARENT ?? own;
    for (const dir of cgroup.dirs) expect(layout.hierarchies.some((h) => dir.startsWith(`${h.mount}${base(h.own) === '/' ? '' : base(h.own)}/iso-`))).toBe(true);
    expect(cgroupsBelowOwn().length).toBeGreaterThan(before.length);
    const { child, exited } = held(cgroup, 'sleep 30');
    expect(cgroup.processes()).toContain(child.pid);
    const line = readFileSync(`/proc/${child.pid!}/cgroup`, 'utf8');
    expect(line).toContain(cgroup.path);
    await cgroup.kill();
    expect((await exited).signal).toBe('SIGKILL');
    await cgroup.remove();
    expect(cgroupsBelowOwn()).toEqual(before);
  });

  it('OOM-kills a memory hog at memory.max and counts the event', async () => {
    const cgroup = make({ limits: { memory: { max: '32M', ...(canLimitSwap() ? { swap: 0 } : {}) } } }).watch();
    const events: CgroupEvent[] = [];
    cgroup.on('oomKill', (event: CgroupEvent) => events.push(event));
    const { exited } = held(cgroup, 'exec tail /dev/zero');
    expect((await exited).signal).toBe('SIGKILL');
    await waitFor(() => events.length > 0, 'an oomKill event');
    expect(cgroup.events.oomKills).toBeGreaterThanOrEqual(1);
    expect(events[0]).toMatchObject({ type: 'oomKill', total: expect.any(Number) });
    if (cgroup.version === 1) await waitFor(() => (cgroup.check(), cgroup.events.oom >= 1), 'the eventfd of memory.oom_control');
    else expect(cgroup.events.oom).toBeGreaterThanOrEqual(1);
    const usage = cgroup.usage();
    expect(usage.memory.peak).toBeGreaterThan(16 * 1024 * 1024);
    expect(usage.memory.peak).toBeLessThanOrEqual(32 * 1024 * 1024);
  });

  it('a fork bomb under pids.max 32 gets EAGAIN, and the pids event is counted', async () => {
    const cgroup = make({ limits: { pids: { max: 32 } } }).watch();
    const events: CgroupEvent[] = [];
    cgroup.on('pidsMax', (event: CgroupEvent) => events.push(event));
    const bomb = `import os, errno, time
refused = 0
for i in range(200):
    try:
        if os.fork() == 0:
            time.sleep(2); os._exit(0)
    except OSError as e:
        assert e.errno == errno.EAGAIN
        refused += 1
print(refused)`;
    const { exited, output } = held(cgroup, `exec ${PYTHON} -c '${bomb}'`);
    expect((await exited).code).toBe(0);
    expect(Number(output().trim())).toBeGreaterThan(100);
    await waitFor(() => events.length > 0, 'a pidsMax event');
    expect(cgroup.events.pidsMax).toBeGreaterThan(100);
    const usage = cgroup.usage();
    if (usage.pids.peak !== undefined) expect(usage.pids.peak).toBe(32);
    await cgroup.kill();
  });

  it('a CPU quota throttles: the kernel counts throttled periods and time', async () => {
    const cgroup = make({ limits: { cpu: { cpus: 0.1, period: 10_000 } } });
    const { exited } = held(cgroup, 'while :; do :; done');
    // The kernel adds a period's throttled time when it unthrottles: wait for both counters.
    await waitFor(() => (cgroup.usage().cpu.throttledPeriods ?? 0) >= 5 && (cgroup.usage().cpu.throttledUsec ?? 0) > 0, 'throttled periods and time');
    const { cpu } = cgroup.usage();
    expect(cpu.throttledUsec).toBeGreaterThan(0);
    expect(cpu.periods).toBeGreaterThanOrEqual(cpu.throttledPeriods!);
    // The kernel splits CPU time into user and system by samples: only the total is sure to grow.
    expect(cpu.usageUsec).toBeGreaterThan(0);
    await cgroup.kill();
    expect((await exited).signal).toBe('SIGKILL');
  });

  it('updates limits live: a quota given later throttles a process already running', async () => {
    const cgroup = make();
    const { exited } = held(cgroup, 'while :; do :; done');
    await waitFor(() => cpuTime(cgroup) > 20_000, 'some CPU time');
    expect(cgroup.usage().cpu.throttledPeriods ?? 0).toBe(0);
    cgroup.update({ cpu: { cpus: 0.1, period: 10_000 }, pids: { max: 8 } });
    await waitFor(() => (cgroup.usage().cpu.throttledPeriods ?? 0) >= 3, 'throttling after the update');
    expect(readFileSync(`${cgroup.dirs.find((d) => existsSync(`${d}/pids.max`))!}/pids.max`, 'utf8').trim()).toBe('8');
    await cgroup.kill();
    expect((await exited).signal).toBe('SIGKILL');
  });

  it('kill ends the whole tree, including setsid and double-forked processes', async () => {
    const cgroup = make();
    const { exited } = held(cgroup, "setsid sh -c 'sleep 300 & sleep 300' & sh -c 'setsid sleep 300 & exit 0'; sh -c '(sleep 300 &) ; exit 0'; sleep 300");
    await waitFor(() => cgroup.processes().length >= 6, 'the tree in the cgroup');
    const pids = cgroup.processes();
    await cgroup.kill();
    expect(cgroup.processes()).toEqual([]);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect((await exited).signal).toBe('SIGKILL');
  });

  it('freeze stops CPU use, thaw resumes it', async () => {
    const cgroup = make();
    const { exited } = held(cgroup, 'while :; do :; done');
    await waitFor(() => cpuTime(cgroup) > 10_000, 'some CPU time');
    await cgroup.freeze();
    const frozenAt = cpuTime(cgroup);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(cpuTime(cgroup)).toBe(frozenAt);
    await cgroup.thaw();
    await waitFor(() => cpuTime(cgroup) > frozenAt + 10_000, 'CPU time after thaw');
    await cgroup.kill();
    await exited;
  });

  it('takes io limits by device path or major:minor, and counts io bytes and operations', async () => {
    const device = anyDevice();
    if (device === undefined) {
      // No block device at all: naming one is refused, as the table below shows.
      expect(() => createCgroup({ limits: { io: [{ device: '/dev/vda', readBps: '1M' }] } })).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS' }));
      return;
    }
    const cgroup = make({ limits: { io: [{ device: device.path, writeBps: '512M' }, { device: device.numbers, readIops: 100000 }] } });
    const dir = cgroup.dirs.find((d) => existsSync(`${d}/io.max`) || existsSync(`${d}/blkio.throttle.write_bps_device`))!;
    if (cgroup.version === 2) expect(readFileSync(`${dir}/io.max`, 'utf8')).toContain(`${device.numbers} rbps=max wbps=${512 * 1024 * 1024} riops=100000 wiops=max`);
    else {
      expect(readFileSync(`${dir}/blkio.throttle.write_bps_device`, 'utf8').trim()).toBe(`${device.numbers} ${512 * 1024 * 1024}`);
      expect(readFileSync(`${dir}/blkio.throttle.read_iops_device`, 'utf8').trim()).toBe(`${device.numbers} 100000`);
    }
    // Counting needs real writes to that disk: only where /var/tmp is on one.
    if (rootDevice() === undefined) return;
    const file = `/var/tmp/iso-cgroup-io-${process.pid}`;
    const { exited } = held(cgroup, `dd if=/dev/zero of=${file} bs=1M count=4 oflag=direct status=none`);
    expect((await exited).code).toBe(0);
    rmSync(file, { force: true });
    const { io } = cgroup.usage();
    expect(io.writeBytes).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    expect(io.writeOps).toBeGreaterThanOrEqual(1);
  });

  it('sets a cpuset within the parent, and memory, cpu and pids limits the files show', () => {
    const cgroup = make({ limits: { cpuset: { cpus: '0', mems: '0' }, memory: { max: '64M', high: '48M' }, cpu: { cpus: 0.5, weight: 100 }, pids: { max: 99 } } });
    const file = (name: string) => {
      const dir = cgroup.dirs.find((d) => existsSync(`${d}/${name}`));
      return dir === undefined ? undefined : readFileSync(`${dir}/${name}`, 'utf8').trim();
    };
    expect(file('cpuset.cpus')).toBe('0');
    expect(file('pids.max')).toBe('99');
    if (cgroup.version === 1) {
      expect(file('memory.limit_in_bytes')).toBe(String(64 * 1024 * 1024));
      expect(file('memory.soft_limit_in_bytes')).toBe(String(48 * 1024 * 1024));
      expect(file('cpu.cfs_quota_us')).toBe('50000');
      expect(file('cpu.shares')).toBe('1024');
    } else {
      expect(file('memory.max')).toBe(String(64 * 1024 * 1024));
      expect(file('memory.high')).toBe(String(48 * 1024 * 1024));
      expect(file('cpu.max')).toBe('50000 100000');
      expect(file('cpu.weight')).toBe('100');
    }
  });

  it('refuses malformed options with ISO_INVALID_OPTIONS and creates nothing', () => {
    const before = cgroupsBelowOwn();
    const table: [unknown, string][] = [
      [{ limits: { memory: { max: -1 } } }, 'limits.memory.max'],
      [{ limits: { memory: { max: '12Q' } } }, 'limits.memory.max'],
      [{ limits: { memory: { high: 'lots' } } }, 'limits.memory.high'],
      [{ limits: { memory: { max: 1.5 } } }, 'limits.memory.max'],
      [{ limits: { memory: { huge: 1 } } }, 'limits.memory.huge'],
      [{ limits: { cpu: { cpus: -0.5 } } }, 'limits.cpu.cpus'],
      [{ limits: { cpu: { cpus: 0.001 } } }, 'limits.cpu.cpus'],
      [{ limits: { cpu: { period: 10 } } }, 'limits.cpu.period'],
      [{ limits: { cpu: { weight: 0 } } }, 'limits.cpu.weight'],
      [{ limits: { pids: { max: -3 } } }, 'limits.pids.max'],
      [{ limits: { pids: { max: '10' } } }, 'limits.pids.max'],
      [{ limits: { io: [{ device: '/dev/does-not-exist', readBps: '1M' }] } }, 'limits.io[0].device'],
      [{ limits: { io: [{ device: '4095:4095', readBps: '1M' }] } }, 'limits.io[0].device'],
      [{ limits: { io: [{ device: '/etc/passwd', readBps: '1M' }] } }, 'limits.io[0].device'],
      ...(anyDevice() === undefined ? [] : [[{ limits: { io: [{ device: anyDevice()!.path }] } }, 'limits.io[0]'] as [unknown, string]]),
      [{ limits: { io: { device: 'x' } } }, 'limits.io'],
      [{ limits: { cpuset: { cpus: '0-4095' } } }, 'limits.cpuset.cpus'],
      [{ limits: { cpuset: { cpus: '3-1' } } }, 'limits.cpuset.cpus'],
      [{ limits: { cpuset: { mems: '' } } }, 'limits.cpuset.mems'],
      [{ limits: { swap: 1 } }, 'limits.swap'],
      [{ name: '../escape' }, 'name'],
      [{ name: 'a/b' }, 'name'],
      [{ parent: 'relative' }, 'parent'],
      [{ parent: '/a/../b' }, 'parent'],
      [{ parent: '/iso-no-such-parent', limits: { pids: { max: 4 } } }, 'parent'],
      [{ other: true }, 'other'],
    ];
    for (const [options, path] of table) expect(() => createCgroup(options as never), JSON.stringify(options)).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path }));
    const cgroup = make();
    expect(() => {
      cgroup.update({ memory: { max: '-5M' } });
    }).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'limits.memory.max' }));
    expect(cgroupsBelowOwn().length).toBe(before.length + cgroup.dirs.filter((d) => d.includes('/iso-')).length);
  });
});

/** All CPU time in microseconds, the kernel's exact total. */
function cpuTime(cgroup: Cgroup): number {
  return cgroup.usage().cpu.usageUsec ?? 0;
}

/** Whether this kernel accounts swap for a cgroup (v1 memsw files, v2 memory.swap.max). */
function canLimitSwap(): boolean {
  const layout = detectLayout();
  const memory = layout.hierarchies.find((h) => h.version === 2 || h.controllers.includes('memory'));
  if (memory === undefined) return false;
  const dir = `${memory.mount}${memory.own === '/' ? '' : memory.own}`;
  return memory.version === 1 ? existsSync(`${dir}/memory.memsw.limit_in_bytes`) : existsSync(`${dir}/memory.swap.max`) || memory.own === '/';
}

/** The whole disk that holds /var/tmp, as a path and as major:minor; undefined when it is not on a block device (kernel-lab's overlay). */
function rootDevice(): { path: string; numbers: string } | undefined {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n').map((line) => line.split(' '));
  const root = mounts.filter((fields) => fields[4] === '/' || fields[4] === '/var/tmp').at(-1);
  let numbers = root?.[2] ?? '0:0';
  if (!existsSync(`/sys/dev/block/${numbers}`)) return undefined;
  // A partition's rule belongs to its disk: blkio and io.max take whole devices.
  if (!existsSync(`/sys/dev/block/${numbers}/device`) && existsSync(`/sys/dev/block/${numbers}/../dev`)) numbers = readFileSync(`/sys/dev/block/${numbers}/../dev`, 'utf8').trim();
  return deviceOf(numbers);
}

function deviceOf(numbers: string): { path: string; numbers: string } {
  const name = /DEVNAME=(.*)/.exec(readFileSync(`/sys/dev/block/${numbers}/uevent`, 'utf8'))?.[1] ?? '';
  return { path: `/dev/${name}`, numbers };
}

/** Some block device of this machine (kernel-lab has loop and ram devices, but no disk). */
function anyDevice(): { path: string; numbers: string } | undefined {
  const disk = rootDevice();
  if (disk) return disk;
  const first = readdirSync('/sys/block').find((name) => existsSync(`/dev/${name}`));
  return first === undefined ? undefined : deviceOf(readFileSync(`/sys/block/${first}/dev`, 'utf8').trim());
}
