import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedTestConfig } from '../../vitest.shared.js';

// One file at a time: the leak checks look at every cgroup below the caller's own, so a
// cgroup another file has open would look like a leak.
export const config = mergeConfig(sharedTestConfig, defineConfig({ test: { fileParallelism: false } }));
// vitest reads the default export.
export default config;
