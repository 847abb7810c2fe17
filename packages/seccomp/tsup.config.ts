import { defineConfig } from 'tsup';

export const config = defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  target: 'node20',
  sourcemap: true,
});
// tsup reads the default export.
export default config;
