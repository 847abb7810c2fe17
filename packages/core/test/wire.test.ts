import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderWireHeader } from '../src/wire.js';

const headerPath = new URL('../runner/wire.h', import.meta.url);

describe('wire format', () => {
  it('runner/wire.h is rendered from src/wire.ts (run `pnpm gen:wire` after changing it)', () => {
    const rendered = renderWireHeader();
    if (process.env.ISO_WRITE_WIRE_H === '1') writeFileSync(headerPath, rendered);
    expect(readFileSync(headerPath, 'utf8')).toBe(rendered);
  });
});
