// CLIENT_ERROR_CODES is complete and documented: every code that the SDK's own modules (those the
// entry point reaches) throw is in it, and docs/client.md's table explains exactly those codes.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CLIENT_ERROR_CODES } from '../../src/client/error-codes.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const clientDir = join(repoRoot, 'src/client');

/** The SDK's own modules: src/client/index.ts and the src/client modules it imports, transitively. */
function sdkModules(): Map<string, string> {
  const modules = new Map<string, string>();
  const pending = ['index.ts'];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (modules.has(name)) continue;
    const source = readFileSync(join(clientDir, name), 'utf8');
    modules.set(name, source);
    for (const match of source.matchAll(/from '\.\/([a-z-]+)\.js'/g)) pending.push(`${match[1]}.ts`);
  }
  return modules;
}

describe('CLIENT_ERROR_CODES', () => {
  it('holds every code the SDK throws itself', () => {
    const known = new Set<string>(CLIENT_ERROR_CODES);
    for (const [name, source] of sdkModules()) {
      for (const match of source.matchAll(/CocoError\(\s*'([A-Za-z]+)'/g)) assert.ok(known.has(match[1]!), `${name} throws ${match[1]}, which CLIENT_ERROR_CODES lacks`);
    }
  });

  it("are the codes docs/client.md's error table explains", () => {
    const docs = readFileSync(join(repoRoot, 'docs/client.md'), 'utf8');
    const documented = [...docs.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((match) => match[1]);
    assert.deepEqual(documented, [...CLIENT_ERROR_CODES]);
  });
});
