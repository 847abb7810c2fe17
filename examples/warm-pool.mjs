// A warm pool: runners spawned ahead of time, so that each launch skips Node's spawn.
// Every launch still gets a sandbox of its own (the strict default here), and nothing is
// reused between two launches. Run: node examples/warm-pool.mjs
import { createPool, run } from '@iso/sandbox';

const pool = createPool({ size: 4 });
try {
  await pool.warm(); // optional: launches before this are served cold
  console.log(`waiting runners: ${pool.idle}`);

  // Four sandboxes at once, each with its own PID and network namespace.
  const ids = await Promise.all(
    [1, 2, 3, 4].map(async (n) => {
      const r = await pool.run('sh', ['-c', 'echo "$(readlink /proc/self/ns/pid) $(readlink /proc/self/ns/net); read x"'], { input: 'go\n', env: { N: String(n) } });
      return r.stdout.trim();
    }),
  );
  console.log(`distinct namespaces: ${new Set(ids).size} of ${ids.length}`);

  // The same launch, cold and warm: the same program, so the same isolation.
  console.log(`same program as a cold launch: ${pool.explain('id') === (await import('@iso/sandbox')).explain('id')}`);
  const timed = async (launch) => {
    const started = performance.now();
    const r = await launch();
    if (r.exitCode !== 0) throw new Error(r.stderr);
    return performance.now() - started;
  };
  const cold = [];
  const warm = [];
  for (let i = 0; i < 50; i++) {
    cold.push(await timed(() => run('/bin/true')));
    warm.push(await timed(() => pool.run('/bin/true')));
    await pool.warm(); // let the refill finish, so it is not inside the next sample
  }
  const median = (list) => list.sort((a, b) => a - b)[list.length >> 1].toFixed(2);
  console.log(`median launch-to-exit of /bin/true: cold ${median(cold)} ms, warm ${median(warm)} ms`);
  console.log(`launches served warm: ${pool.stats.warm}, cold: ${pool.stats.cold}`);
} finally {
  await pool.close();
}
