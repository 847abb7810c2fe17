import { defineConfig } from 'tsup';
import type { Options } from 'tsup';

// Every package builds the same way: its src/index.ts, as ESM with types, for Node 20.
export const packageBuildOptions: Options = {
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  target: 'node20',
  sourcemap: true,
};

export const packageBuild = defineConfig(packageBuildOptions);
