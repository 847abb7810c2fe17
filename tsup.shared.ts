import { defineConfig } from 'tsup';

// Every package builds the same way: its src/index.ts, as ESM with types, for Node 20.
export const packageBuild = defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  target: 'node20',
  sourcemap: true,
});
