#!/usr/bin/env node
// Throughput and footprint of full sandboxes (the strict default, no options).
//
// Throughput: `--total` launches of /bin/true with `--inflight` of them in flight at any
// moment, cold (run()) and warm (a createPool of `--inflight` runners), and for scale the
// same with child_process.spawn. Reports sandboxes per second, and CPU per launch (Node
// plus its reaped children, the refills included).
//
// Footprint: `--hold` sandboxes of `sleep`, all running at once; for each, the
// proportional set size (Pss, /proc/<pid>/smaps_rollup) of iso's own processes, the
// runner, its supervisor and iso's init (not the target), and the Node heap per handle.
//
// Usage: node bench/throughput.mjs [--total N] [--inflight N] [--hold N] [--json]

import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';

const USAGE = 'usage: node bench/throughput.mjs [--total N] [--inflight N] [--hold N] [--json]';

function parseArgs(argv) {
  const opts = { total: 2000, inflight: 32, hold: 16, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const key = arg.replace(/^--/, '');
    if (arg === '--json') opts.json = true;
    else if (['total', 'inflight', 'hold'].includes(key)) {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 1) {
        console.error(`--${key} needs a whole number above 0\n${USAGE}`);
        process.exit(2);
      }
      opts[key] = value;
    } else {
      console.error(`${arg === '--help' || arg === '-h' ? '' : `unknown argument ${arg}\n`}${USAGE}`);
      process.exit(arg === '--help' || arg === '-h' ? 0 : 2);
    }
  }
  return opts;
}

const CLOCK_TICKS_PER_S = 100; // USER_HZ, fixed at 100 in the kernel's ABI

/** CPU ms so far of Node and its reaped children. */
function cpuMs() {
  const own = process.cpuUsage();
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (own.user + own.system) / 1000 + ((Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_S) * 1000;
}

function plainSpawn() {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/true', [], { stdio: ['ignore', 'pipe', 'pipe'], env: {} });
    child.stdout.resume();
    child.stderr.resume();
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
  });
}

/** `total` launches, `inflight` at a time; returns launches per second and CPU ms per launch. */
async function throughput(launchOne, { total, inflight }) {
  let started = 0;
  const cpuBefore = cpuMs();
  const t0 = performance.now();
  const lane = async () => {
    while (started < total) {
      started++;
      await launchOne();
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
  const seconds = (performance.now() - t0) / 1000;
  return { perSecond: total / seconds, cpuMsPerLaunch: (cpuMs() - cpuBefore) / total };
}

function pss(pid) {
  try {
    const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

function children(pid) {
  const out = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
    if (text) out.push(...text.split(/\s+/).map(Number));
  }
  return out;
}

/** iso's processes of each held sandbox (runner, supervisor, init: all but the target's `sleep`). */
async function footprint(sandbox, hold) {
  if (globalThis.gc) globalThis.gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const held = Array.from({ length: hold }, () => sandbox.spawn('sleep', ['30']));
  await Promise.all(held.map((h) => h.ready));
  await new Promise((resolve) => setTimeout(resolve, 100));
  const heapPerHandle = (process.memoryUsage().heapUsed - heapBefore) / hold / 1024;
  const perSandbox = held.map((h) => {
    const tree = [h.pid];
    for (let i = 0; i < tree.length; i++) tree.push(...children(tree[i]));
    const ours = tree.filter((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'sleep');
    return { processes: ours.length, pssKiB: ours.reduce((sum, pid) => sum + pss(pid), 0) };
  });
  for (const h of held) h.kill('SIGKILL');
  await Promise.all(held);
  const mean = (key) => perSandbox.reduce((sum, s) => sum + s[key], 0) / perSandbox.length;
  return { processesPerSandbox: mean('processes'), pssKiBPerSandbox: mean('pssKiB'), nodeHeapKiBPerHandle: heapPerHandle };
}

const opts = parseArgs(process.argv.slice(2));
const sandbox = await import(new URL('../packages/sandbox/dist/index.js', import.meta.url).href);
const pool = sandbox.createPool({ size: opts.inflight });
await pool.warm();
const loadBefore = loadavg()[0];
const rows = [];
const check = (r) => {
  if (r.exitCode !== 0) throw new Error(`a sandbox failed: ${r.stderr}`);
};
// A short warm-up of each, then the measured runs.
await throughput(plainSpawn, { total: 100, inflight: opts.inflight });
rows.push({ name: 'spawn', ...(await throughput(plainSpawn, opts)) });
await throughput(async () => check(await sandbox.run('/bin/true')), { total: 100, inflight: opts.inflight });
rows.push({ name: 'iso strict, cold', ...(await throughput(async () => check(await sandbox.run('/bin/true')), opts)) });
await pool.warm();
rows.push({ name: 'iso strict, warm pool', ...(await throughput(async () => check(await pool.run('/bin/true')), opts)), served: { ...pool.stats } });
await pool.close();
const memory = await footprint(sandbox, opts.hold);
const info = { kernel: `${release()} ${process.arch}`, node: process.version, cpus: cpus().length, uid: process.getuid?.() ?? null, loadavg1m: { before: loadBefore, after: loadavg()[0] } };

if (opts.json) {
  console.log(JSON.stringify({ date: new Date().toISOString(), machine: info, ...opts, throughput: rows, footprint: memory }, null, 2));
} else {
  console.log(`${opts.total} launches of /bin/true, ${opts.inflight} in flight; kernel ${info.kernel}, node ${info.node}, ${info.cpus} CPUs, uid ${info.uid}`);
  console.log(`load average (1 min) ${info.loadavg1m.before.toFixed(2)} before, ${info.loadavg1m.after.toFixed(2)} after`);
  for (const r of rows) console.log(`  ${r.name.padEnd(22)} ${r.perSecond.toFixed(0).padStart(5)} per second   ${r.cpuMsPerLaunch.toFixed(2)} CPU ms per launch${r.served ? `   (warm ${r.served.warm}, cold ${r.served.cold})` : ''}`);
  console.log(`footprint of ${opts.hold} running strict sandboxes: ${memory.processesPerSandbox.toFixed(1)} iso processes and ${memory.pssKiBPerSandbox.toFixed(0)} KiB Pss each (the target not counted), ${memory.nodeHeapKiBPerHandle.toFixed(1)} KiB of Node heap per handle`);
}
