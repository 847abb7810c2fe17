import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Tests run on src through the "source" export condition, so no build is needed for TS.
// The cache lives in the temp dir because the rootless run (uid 65534) cannot write the repo.
export const sharedTestConfig = defineConfig({
  cacheDir: join(tmpdir(), `iso-vitest-${String(process.getuid?.() ?? 0)}`),
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
