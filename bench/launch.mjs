#!/usr/bin/env node
// Launch benchmark: how long it takes to start `/bin/true` in a sandbox and see it exit,
// for iso and its peers, side by side in one run.
//
// What one sample is: the wall time from the call (spawn()/run()) until Node has observed
// the exit, i.e. until the 'close' event (exit reaped and stdio closed), which is also what
// iso's run() waits for. Every launcher gets the same stdio as iso's run() default
// (stdin ignored, stdout and stderr piped) and the same small environment.
//
// How: each launcher is first tried once (a launcher that fails is listed as
// "unavailable: <reason>" instead of crashing the bench), then warmed up, then measured
// for N rounds. In every round each launcher runs once, one after another, and the order
// is rotated from round to round, so machine noise and "who ran just before" hit all of
// them alike. Every launch must exit 0 (iso: exitCode 0, no signal, no setup error);
// a failed launch is counted as a failure and never as a (fast) sample. A launch that
// has not ended after 10 s ends that launcher's part of the run (reported as unavailable).
//
// Launchers:
//   spawn    child_process.spawn('/bin/true'), the floor
//   iso      run('/bin/true', [], { preset: 'none', userns, pid, mount, uts, ipc, seccomp }) from the
//            built @iso/sandbox: five namespaces, no capability and the default seccomp profile
//   iso strict  run('/bin/true'): the strict default, no options at all (the five and a network
//            namespace, a read-only host root with a private /tmp and /dev, caps, seccomp, rlimits)
//   iso strict cgroup  run('/bin/true', [], { cgroup: CGROUP_LIMITS }): the strict default plus a
//            cgroup of its own with memory, CPU and pids limits and a cgroup namespace, the limits
//            a strict preset could carry; minus the `iso strict` row it is what the cgroup costs.
//            Where cgroups are not usable (rootless without delegation) it is unavailable.
//   iso warm, iso strict warm  the same two from createPool(): a runner spawned ahead of time
//            takes the launch. The refill (a spawn per launch) is awaited after each launch,
//            untimed, so that it never lands inside another launcher's sample; its CPU is
//            counted in the row's CPU per launch.
//   unshare  unshare --user --map-root-user --pid --fork --mount --mount-proc --uts --ipc /bin/true
//   bwrap    bwrap --unshare-user --unshare-pid --unshare-uts --unshare-ipc --dev-bind / / --proc /proc /bin/true
//   bwrap all  bwrap --unshare-all --ro-bind / / --proc /proc --dev /dev --tmpfs /tmp /bin/true: the
//            same work as iso strict (bar seccomp and rlimits), the ratio column's base
//   crun     crun run of a bundle made for the run (a rootfs of /bin/true and its libraries, a
//            read-only root, `crun spec --rootless`'s namespaces, masks and mounts, Podman's
//            seccomp profile turned into OCI form), with its cgroup manager disabled. crun
//            1.8 refuses a hybrid cgroup host, so it runs in a private mount namespace without
//            the cgroup2 mount: `unshare --mount sh -c 'umount ...; exec crun ...'`. Root only.
//   crun wrapper  that wrapper exec'ing /bin/true instead of crun: subtract it from crun's row
//
// Usage: node bench/launch.mjs [--rounds N] [--warmup N] [--json] [--baseline DIR]
//   --baseline DIR adds "iso@base", the same iso launch from another built checkout (a
//   release, or main before a change), so that a change is measured against it in one run.
//   (`npm run bench` runs scripts/setup.sh first, which builds the packages.)
// Reports median and p90 per launcher in ms, their ratios to spawn and to bwrap all, and the
// CPU time per launch: user + system of Node and of its reaped children (the runner reaps
// its own, so a sandbox's whole tree counts), from process.cpuUsage() and /proc/self/stat.
// Works as root and as an unprivileged user (rootless user namespaces).

import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const USAGE = 'usage: node bench/launch.mjs [--rounds N] [--warmup N] [--json] [--baseline DIR]';
const TARGET = '/bin/true';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const STDIO = ['ignore', 'pipe', 'pipe']; // what iso's run() uses by default
const ISO_OPTIONS = { preset: 'none', userns: true, pid: true, mount: true, uts: true, ipc: true, seccomp: true };
const CGROUP_LIMITS = { memory: { max: '1G' }, cpu: { cpus: 1 }, pids: { max: 1024 } };
const LAUNCH_LIMIT_MS = 10_000;
const PODMAN_SECCOMP = '/usr/share/containers/seccomp.json';
let hung = false; // a launch never ended; its process may hold the event loop open

function parseArgs(argv) {
  const opts = { rounds: 300, warmup: 30, json: false, baseline: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const count = (name) => {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < (name === 'warmup' ? 0 : 1)) {
        console.error(`--${name} needs a whole number${name === 'warmup' ? '' : ' above 0'}\n${USAGE}`);
        process.exit(2);
      }
      return value;
    };
    if (arg === '--rounds') opts.rounds = count('rounds');
    else if (arg === '--warmup') opts.warmup = count('warmup');
    else if (arg === '--json') opts.json = true;
    else if (arg === '--baseline') {
      opts.baseline = argv[++i];
      if (!opts.baseline) {
        console.error(`--baseline needs the directory of a built checkout\n${USAGE}`);
        process.exit(2);
      }
    }
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else {
      console.error(`unknown argument ${arg}\n${USAGE}`);
      process.exit(2);
    }
  }
  return opts;
}

/** A launch of an external command; resolves to null on success or to why it failed. */
function launchCommand(file, args, launcher) {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: STDIO, env: { PATH } });
    launcher.child = child; // so that a hung launch can be killed
    let stderr = '';
    child.stdout.resume();
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.once('error', (error) => resolve(error.message));
    child.once('close', (code, signal) => {
      if (code === 0) resolve(null);
      else resolve(`${file} exited ${signal ?? code}${stderr.trim() ? `: ${stderr.trim().split('\n')[0]}` : ''}`);
    });
  });
}

function commandPath(name) {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : null;
}

/** An iso launcher from the built @iso/sandbox at `url`. */
async function isoLauncher(name, url, where, options = ISO_OPTIONS, warm = false) {
  const shown = Object.keys(options).length === 0 ? `run('${TARGET}')` : `run('${TARGET}', [], ${JSON.stringify(options).replace(/"/g, '').replace(/,/g, ', ')})`;
  const iso = { name, describe: `${warm ? 'createPool({ size: 2 }).' : ''}${shown}${where}` };
  try {
    const module = await import(url);
    const { plan } = module;
    let run = module.run;
    if (warm) {
      const pool = module.createPool({ size: 2 });
      await pool.warm();
      run = pool.run;
      iso.settle = () => pool.warm();
      iso.close = () => pool.close();
    }
    iso.program = describeProgram(plan, options);
    iso.launch = async () => {
      try {
        const r = await run(TARGET, [], options);
        return r.exitCode === 0 && r.signal === null ? null : `exited ${r.signal ?? r.exitCode}${r.stderr ? `: ${r.stderr.trim()}` : ''}`;
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
    };
  } catch (error) {
    iso.unavailable = `cannot load ${url} (build it: pnpm turbo run build): ${error.message.split('\n')[0]}`;
  }
  return iso;
}

/** The launchers, in table order. `launch` resolves to null on success, or to why it failed. */
async function launchers(opts) {
  const list = [
    { name: 'spawn', describe: `child_process.spawn('${TARGET}')`, launch: () => launchCommand(TARGET, [], list[0]) },
  ];
  const built = new URL('../packages/sandbox/dist/index.js', import.meta.url).href;
  list.push(await isoLauncher('iso', built, ''));
  list.push(await isoLauncher('iso strict', built, '', {}));
  list.push(await isoLauncher('iso strict cgroup', built, '', { cgroup: CGROUP_LIMITS }));
  list.push(await isoLauncher('iso warm', built, '', ISO_OPTIONS, true));
  list.push(await isoLauncher('iso strict warm', built, '', {}, true));
  if (opts.baseline) {
    const dist = pathToFileURL(resolve(opts.baseline, 'packages/sandbox/dist/index.js')).href;
    list.push(await isoLauncher('iso@base', dist, ` from ${opts.baseline}`));
  }

  const unshareArgs = ['--user', '--map-root-user', '--pid', '--fork', '--mount', '--mount-proc', '--uts', '--ipc', TARGET];
  const bwrapArgs = ['--unshare-user', '--unshare-pid', '--unshare-uts', '--unshare-ipc', '--dev-bind', '/', '/', '--proc', '/proc', TARGET];
  const bwrapAllArgs = ['--unshare-all', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', TARGET];
  for (const [name, args] of [['unshare', unshareArgs], ['bwrap', bwrapArgs], ['bwrap all', bwrapAllArgs]]) {
    const command = name.split(' ')[0];
    const path = commandPath(command);
    const entry = { name, describe: `${command} ${args.join(' ')}` };
    if (path) entry.launch = () => launchCommand(path, args, entry);
    else entry.unavailable = `${command} is not on PATH (scripts/setup.sh installs it)`;
    list.push(entry);
  }

  list.push(...crunLaunchers());

  // One trial each: a launcher that cannot run here is reported, not measured.
  for (const l of list) {
    if (l.unavailable) continue;
    const { failure } = await timedLaunch(l);
    await l.settle?.();
    if (failure) l.unavailable = failure;
  }
  return list;
}

/** Docker's seccomp format (archMap, includes, excludes) as an OCI linux.seccomp, for x86_64 and `caps`. */
function ociSeccomp(profile, caps) {
  const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  const applies = (entry) => {
    const inc = entry.includes ?? {};
    const exc = entry.excludes ?? {};
    if (inc.arches?.length && !inc.arches.includes(arch)) return false;
    if (inc.caps?.length && !inc.caps.every((cap) => caps.includes(cap))) return false;
    if (exc.arches?.includes(arch)) return false;
    if (exc.caps?.some((cap) => caps.includes(cap))) return false;
    return true;
  };
  const archs = profile.archMap.find((a) => a.architecture === (arch === 'amd64' ? 'SCMP_ARCH_X86_64' : 'SCMP_ARCH_AARCH64'));
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet === undefined ? {} : { defaultErrnoRet: profile.defaultErrnoRet }),
    architectures: archs ? [archs.architecture, ...archs.subArchitectures] : [],
    syscalls: profile.syscalls.filter(applies).map((e) => ({ names: e.names, action: e.action, ...(e.errnoRet === undefined ? {} : { errnoRet: e.errnoRet }), ...(e.args?.length ? { args: e.args } : {}) })),
  };
}

/** crun and its wrapper's control row, with a bundle made now and removed at exit. */
function crunLaunchers() {
  const rows = [{ name: 'crun', describe: 'crun run (see the header of bench/launch.mjs)' }, { name: 'crun wrapper', describe: "unshare --mount sh -c 'umount /sys/fs/cgroup/unified; exec /bin/true'" }];
  const crun = commandPath('crun');
  const why = !crun ? 'crun is not on PATH (scripts/setup.sh installs it)' : process.getuid?.() !== 0 ? 'measured as root only (its wrapper unmounts a cgroup mount)' : !existsSync(PODMAN_SECCOMP) ? `${PODMAN_SECCOMP} is missing (scripts/setup.sh extracts it)` : undefined;
  if (why) {
    for (const row of rows) row.unavailable = why;
    return rows;
  }
  const bundle = mkdtempSync(join(tmpdir(), 'iso-bench-crun-'));
  process.once('exit', () => rmSync(bundle, { recursive: true, force: true }));
  const rootfs = join(bundle, 'rootfs');
  for (const dir of ['proc', 'dev', 'sys']) mkdirSync(join(rootfs, dir), { recursive: true });
  const libraries = spawnSync('ldd', [TARGET], { encoding: 'utf8' }).stdout.match(/\/[^\s]+/g) ?? [];
  for (const file of [TARGET, ...libraries]) {
    mkdirSync(join(rootfs, dirname(file)), { recursive: true });
    copyFileSync(file, join(rootfs, file));
  }
  spawnSync(crun, ['spec', '--rootless'], { cwd: bundle });
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  spec.process.args = [TARGET];
  spec.process.terminal = false;
  spec.process.env = [`PATH=${PATH}`];
  spec.mounts = spec.mounts.filter((m) => m.destination !== '/sys/fs/cgroup');
  spec.linux.seccomp = ociSeccomp(JSON.parse(readFileSync(PODMAN_SECCOMP, 'utf8')), spec.process.capabilities?.bounding ?? []);
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  const wrap = (command) => ['--mount', '--propagation', 'private', 'sh', '-c', `umount /sys/fs/cgroup/unified 2>/dev/null; exec ${command}`];
  let id = 0;
  rows[0].launch = () => launchCommand('unshare', wrap(`${crun} --cgroup-manager=disabled run --bundle ${bundle} iso-bench-${process.pid}-${id++}`), rows[0]);
  rows[1].launch = () => launchCommand('unshare', wrap(TARGET), rows[1]);
  return rows;
}

/** One launch, timed from the call until the exit is seen; a hung launch fails after the limit. */
async function timedLaunch(l) {
  let timer;
  const limit = new Promise((resolve) => {
    timer = setTimeout(() => resolve('hung'), LAUNCH_LIMIT_MS);
  });
  const start = performance.now();
  const outcome = await Promise.race([l.launch(), limit]);
  const ms = performance.now() - start;
  clearTimeout(timer);
  if (outcome !== 'hung') return { failure: outcome, ms };
  hung = true;
  l.child?.kill('SIGKILL');
  l.unavailable = `a launch did not end within ${LAUNCH_LIMIT_MS / 1000} s`;
  return { failure: l.unavailable, ms };
}

/**
 * What the iso launch does, since its defaults grow with the project: the program's size
 * and the features whose steps it runs, e.g. "70 steps, 6040 bytes: core, userns, ...".
 */
function describeProgram(plan, options) {
  try {
    const { program } = plan(TARGET, [], options);
    const features = [...new Set(program.steps.map((step) => step.name.split('.')[0]))];
    return `${program.steps.length} steps, ${program.bytes.length} bytes: ${features.join(', ')}`;
  } catch (error) {
    return `unknown (${error.message.split('\n')[0]})`;
  }
}

/** Quantile q (0..1) of sorted values, interpolating linearly between ranks. */
function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

async function measure(list, { rounds, warmup }) {
  const active = list.filter((l) => !l.unavailable);
  for (const l of active) {
    l.samples = [];
    l.cpuMs = 0;
    l.failures = 0;
    l.lastFailure = undefined;
  }
  for (let round = -warmup; round < rounds; round++) {
    for (let k = 0; k < active.length; k++) {
      const l = active[(((round % active.length) + active.length) % active.length + k) % active.length];
      if (l.unavailable) continue; // it hung earlier
      const cpuBefore = cpuMs();
      const { failure, ms } = await timedLaunch(l);
      await l.settle?.();
      if (round >= 0) l.cpuMs += cpuMs() - cpuBefore;
      if (round < 0) {
        if (failure) l.lastFailure = failure; // warm-up: not counted, but remembered
      } else if (failure) {
        l.failures++;
        l.lastFailure = failure;
      } else l.samples.push(ms);
    }
  }
  for (const l of active) {
    const sorted = [...l.samples].sort((a, b) => a - b);
    l.stats = {
      n: sorted.length,
      median: quantile(sorted, 0.5),
      p90: quantile(sorted, 0.9),
      min: sorted[0] ?? NaN,
      max: sorted[sorted.length - 1] ?? NaN,
      mean: sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1),
      cpu: l.cpuMs / rounds,
    };
    if (sorted.length === 0) l.unavailable ??= `every measured launch failed: ${l.lastFailure}`;
  }
}

const CLOCK_TICKS_PER_S = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU ms so far of Node and its reaped children (fields cutime and cstime of /proc/self/stat). */
function cpuMs() {
  const own = process.cpuUsage();
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const children = (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_S;
  return (own.user + own.system) / 1000 + children * 1000;
}

function ratio(a, b) {
  return b && Number.isFinite(a) && Number.isFinite(b) ? a / b : null;
}

function machine() {
  const cpuList = cpus();
  return {
    kernel: `${process.platform} ${release()} ${process.arch}`,
    node: process.version,
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    uid: process.getuid?.() ?? null,
  };
}

function buildRows(launchList) {
  const byName = Object.fromEntries(launchList.map((l) => [l.name, l]));
  const base = (name) => (byName[name] && !byName[name].unavailable ? byName[name].stats : null);
  const bwrapAll = base('bwrap all');
  const floor = base('spawn');
  return launchList.map((l) => {
    if (l.unavailable) return { name: l.name, command: l.describe, ...(l.program ? { program: l.program } : {}), available: false, reason: l.unavailable };
    const s = l.stats;
    return {
      name: l.name,
      command: l.describe,
      ...(l.program ? { program: l.program } : {}),
      available: true,
      samples: s.n,
      failures: l.failures,
      ...(l.failures ? { lastFailure: l.lastFailure } : {}),
      medianMs: s.median,
      p90Ms: s.p90,
      minMs: s.min,
      maxMs: s.max,
      meanMs: s.mean,
      cpuMsPerLaunch: s.cpu,
      vsBwrapAll: { median: ratio(s.median, bwrapAll?.median), p90: ratio(s.p90, bwrapAll?.p90) },
      vsSpawn: { median: ratio(s.median, floor?.median), p90: ratio(s.p90, floor?.p90) },
    };
  });
}

function table(rows) {
  const head = ['launcher', 'median ms', 'p90 ms', 'median/spawn', 'p90/spawn', 'median/bwrap all', 'CPU ms/launch', 'fails'];
  const fmt = (v, digits) => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits));
  const times = (v) => (v === null ? '-' : `${fmt(v, 2)}x`);
  const body = [];
  const notes = [];
  for (const r of rows) {
    if (!r.available) {
      body.push([r.name, `unavailable: ${r.reason}`]);
      continue;
    }
    body.push([
      r.name,
      fmt(r.medianMs, 2),
      fmt(r.p90Ms, 2),
      times(r.vsSpawn.median),
      times(r.vsSpawn.p90),
      times(r.vsBwrapAll.median),
      fmt(r.cpuMsPerLaunch, 2),
      String(r.failures),
    ]);
    if (r.failures) notes.push(`${r.name}: ${r.failures} failed launches (not counted), last: ${r.lastFailure}`);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.filter((b) => b.length > 2).map((b) => b[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const b of body) out.push(b.length === 2 ? `${b[0].padEnd(widths[0])}  ${b[1]}` : line(b));
  return out.concat(notes).join('\n');
}

const opts = parseArgs(process.argv.slice(2));
const loadBefore = loadavg()[0];
const list = await launchers(opts);
await measure(list, opts);
const rows = buildRows(list);
const info = { ...machine(), loadavg1m: { before: loadBefore, after: loadavg()[0] } };

if (opts.json) {
  console.log(JSON.stringify({ date: new Date().toISOString(), machine: info, target: TARGET, rounds: opts.rounds, warmup: opts.warmup, results: rows }, null, 2));
} else {
  console.log(`launch of ${TARGET}: ${opts.rounds} rounds after ${opts.warmup} warm-up rounds, interleaved round-robin`);
  console.log(`kernel ${info.kernel}, node ${info.node}, ${info.cpus} CPUs (${info.cpuModel}), uid ${info.uid}`);
  console.log(`load average (1 min) ${info.loadavg1m.before.toFixed(2)} before, ${info.loadavg1m.after.toFixed(2)} after: other work on the machine slows every launcher; compare ratios`);
  console.log('');
  console.log(table(rows));
  console.log('');
  for (const r of rows) {
    console.log(`  ${r.name.padEnd(15)} ${r.command}`);
    if (r.program) console.log(`  ${''.padEnd(15)} (child program: ${r.program})`);
  }
}
for (const l of list) await l.close?.();
if (hung) process.exit(0); // do not wait for a launch that never ended
