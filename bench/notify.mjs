#!/usr/bin/env node
// Notify benchmark: what a syscall costs when seccomp sends it to a JavaScript handler,
// against the same call decided in the kernel, side by side in one run.
//
// One sample: a sandboxed dash runs `cd /nonexistent` CALLS times in a loop (a builtin, so
// one chdir() per turn and no fork), and we time the whole run; a run with 0 calls is
// subtracted, which leaves the loop's calls alone. Variants, one after another in every
// round, the order rotated from round to round:
//   none      no seccomp filter
//   kernel    iso's default profile: the kernel allows chdir
//   notify    the default profile with chdir notified; the handler answers 'continue'
// Reports the median cost per call in microseconds, and the ratios to `kernel`.
//
// Usage: node bench/notify.mjs [--rounds N] [--calls N] [--json]
//   (`npm run bench:notify` runs scripts/setup.sh first, which builds the packages.)

import { performance } from 'node:perf_hooks';
// The built package, as an app would load it (pnpm turbo run build).
const { run } = await import('../packages/sandbox/dist/index.js');

const USAGE = 'usage: node bench/notify.mjs [--rounds N] [--calls N] [--json]';
const args = process.argv.slice(2);
const settings = { rounds: 15, calls: 20_000, json: false };
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === '--json') settings.json = true;
  else if (arg === '--rounds' || arg === '--calls') {
    const value = Number(args[++i]);
    if (!Number.isInteger(value) || value < 1) throw new Error(USAGE);
    settings[arg.slice(2)] = value;
  } else throw new Error(USAGE);
}

const VARIANTS = {
  none: { seccomp: false },
  kernel: { seccomp: true },
  notify: { seccomp: { profile: 'default', notify: ['chdir'], onNotify: () => 'continue' } },
};

const loop = (calls) => `i=0; while [ $i -lt ${calls} ]; do cd /nonexistent 2>/dev/null; i=$((i+1)); done`;

async function timed(options, calls) {
  const started = performance.now();
  const result = await run('dash', ['-c', loop(calls)], options);
  const elapsed = performance.now() - started;
  if (result.exitCode !== 0) throw new Error(`dash exited ${result.exitCode}: ${result.stderr}`);
  return elapsed;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

const names = Object.keys(VARIANTS);
const perCall = Object.fromEntries(names.map((name) => [name, []]));
for (const name of names) await timed(VARIANTS[name], 100); // warm up
for (let round = 0; round < settings.rounds; round++) {
  const order = names.map((_, i) => names[(i + round) % names.length]);
  for (const name of order) {
    const base = await timed(VARIANTS[name], 0);
    const full = await timed(VARIANTS[name], settings.calls);
    perCall[name].push(((full - base) * 1000) / settings.calls);
  }
}

const report = Object.fromEntries(names.map((name) => [name, { medianMicroseconds: median(perCall[name]) }]));
const kernel = report.kernel.medianMicroseconds;
for (const name of names) report[name].ratioToKernel = report[name].medianMicroseconds / kernel;
if (settings.json) console.log(JSON.stringify({ calls: settings.calls, rounds: settings.rounds, report }, null, 2));
else {
  console.log(`cd /nonexistent in a dash loop, ${settings.calls} calls x ${settings.rounds} rounds; median per call (loop turn included)`);
  for (const name of names)
    console.log(`${name.padEnd(7)} ${report[name].medianMicroseconds.toFixed(2).padStart(8)} us   ${report[name].ratioToKernel.toFixed(2)}x kernel`);
}
