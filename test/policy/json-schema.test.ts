import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { policyJsonSchema } from '../../src/cli/commands/config.js';

describe('published JSON Schema', () => {
  it('schema/drydock.schema.json matches the policy schema (regenerate: drydock config schema > schema/drydock.schema.json)', () => {
    const published = JSON.parse(
      readFileSync(resolve(import.meta.dirname, '../../schema/drydock.schema.json'), 'utf8'),
    ) as unknown;
    expect(published).toEqual(JSON.parse(JSON.stringify(policyJsonSchema())));
  });
});
