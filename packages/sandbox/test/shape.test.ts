// The shape every feature package shares, and the sandbox's one place for feature names,
// checked rather than agreed (docs/architecture.md, "The feature contract").
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FEATURES, probe } from '../src/index.js';

const packages = fileURLToPath(new URL('../../', import.meta.url));
const docs = fileURLToPath(new URL('../../../docs/', import.meta.url));
const SHAPE = ['index', 'options', 'normalize', 'plan', 'sys', 'probe', 'feature'];
const README_SECTIONS = ['Requirements', 'Privileges', 'Options', 'Errors', 'Examples'];

describe('every feature package has the same shape', () => {
  it.each(FEATURES.map((feature) => [feature.key]))('%s', (key) => {
    const dir = `${packages}${key}`;
    for (const file of SHAPE) expect(existsSync(`${dir}/src/${file}.ts`), `${key}/src/${file}.ts`).toBe(true);
    const index = readFileSync(`${dir}/src/index.ts`, 'utf8');
    expect(index.startsWith(`export { ${key}Feature } from './feature.js';`), `${key}/src/index.ts exports ${key}Feature first`).toBe(true);
    const readme = readFileSync(`${dir}/README.md`, 'utf8');
    expect(readme.match(/^## .*$/gm)?.map((line) => line.slice(3))).toEqual(README_SECTIONS);
    expect(existsSync(`${docs}${key}.md`), `docs/${key}.md`).toBe(true);
    const tests = readdirSync(`${dir}/test`).filter((name) => name.endsWith('.test.ts'));
    expect(tests.some((name) => !name.endsWith('.kernel.test.ts')), `${key} has pure tests`).toBe(true);
    expect(tests.some((name) => name.endsWith('.kernel.test.ts')), `${key} has kernel tests`).toBe(true);
  });

  it('keys are unique, and each names its package', () => {
    const keys = FEATURES.map((feature) => feature.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const key of keys) expect(JSON.parse(readFileSync(`${packages}${key}/package.json`, 'utf8'))).toMatchObject({ name: `@iso/${key}` });
  });

  it('every probe has the common shape, and the sandbox aggregates them', () => {
    const all = probe();
    expect(Object.keys(all.features).sort()).toEqual(FEATURES.map((feature) => feature.key).sort());
    for (const [key, featureProbe] of Object.entries(all.features)) {
      expect(typeof featureProbe.supported, key).toBe('boolean');
      expect(Array.isArray(featureProbe.reasons), key).toBe(true);
      for (const reason of featureProbe.reasons) expect(all.reasons).toContain(`${key}: ${reason}`);
    }
    expect(all.supported).toBe(Object.values(all.features).every((p) => p.supported));
  });
});

describe('the sandbox names features in one place', () => {
  it('only src/features.ts imports a feature package', () => {
    const src = fileURLToPath(new URL('../src/', import.meta.url));
    const keys = FEATURES.map((feature) => feature.key);
    for (const file of readdirSync(src)) {
      if (file === 'features.ts') continue;
      const text = readFileSync(`${src}${file}`, 'utf8');
      for (const key of keys) expect(text.includes(`'@iso/${key}'`), `${file} imports @iso/${key}`).toBe(false);
    }
  });
});
