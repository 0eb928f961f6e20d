// freePort hands out ports that are free and claimed by no other process: a fresh claim keeps a
// port from everyone else, a lapsed one is taken over, and processes drawing at once from a small
// range get distinct ports.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { CLAIM_LIFETIME_MS, freePort } from '../../src/cli/free-port.js';

const HOST = '127.0.0.1';
const root = mkdtempSync(join(tmpdir(), 'coco-free-port-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Two adjacent ports free now, below the ephemeral range. */
async function freePair(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await Promise.all([port, port + 1].map((p) => new Promise<boolean>((resolve) => {
      const server = createServer().once('error', () => resolve(false));
      server.listen(p, HOST, () => server.close(() => resolve(true)));
    })));
    if (free.every(Boolean)) return port;
  }
}

test('a port another process claimed is not handed out; the claim is written for the port that is', async () => {
  const claims = mkdtempSync(join(root, 'claims-'));
  const port = await freePair();
  writeFileSync(join(claims, String(port)), '');
  const range = [port, port + 2] as const;
  assert.equal(await freePort(HOST, { claimsDirectory: claims, range }), port + 1);
  assert.ok(existsSync(join(claims, String(port + 1))));
  // Both ports are claimed now (the second by the draw above), though both are still free.
  await assert.rejects(freePort(HOST, { claimsDirectory: claims, range }), { code: 'NoFreePort' });
});

test('a lapsed claim is taken over', async () => {
  const claims = mkdtempSync(join(root, 'claims-'));
  const port = await freePair();
  const file = join(claims, String(port));
  writeFileSync(file, '');
  const old = (Date.now() - CLAIM_LIFETIME_MS - 60_000) / 1000;
  utimesSync(file, old, old);
  assert.equal(await freePort(HOST, { claimsDirectory: claims, range: [port, port + 1] }), port);
});

test('a port in use is not handed out even without a claim', async () => {
  const claims = mkdtempSync(join(root, 'claims-'));
  const port = await freePair();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, HOST, resolve));
  try {
    await assert.rejects(freePort(HOST, { claimsDirectory: claims, range: [port, port + 1] }), { code: 'NoFreePort' });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('processes drawing at once from two ports get one each', async () => {
  const claims = mkdtempSync(join(root, 'claims-'));
  const port = await freePair();
  const module = new URL('../../src/cli/free-port.js', import.meta.url).href;
  const script = `import { freePort } from ${JSON.stringify(module)}; console.log(await freePort('${HOST}', { claimsDirectory: ${JSON.stringify(claims)}, range: [${port}, ${port + 2}] }));`;
  const run = () => promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]).then(({ stdout }) => Number(stdout.trim()));
  const got = await Promise.all([run(), run()]);
  assert.deepEqual(got.sort(), [port, port + 1]);
});
