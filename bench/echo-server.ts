// The reference for the service benchmark: a bare Node HTTPS server with the same TLS setup as a
// Coco node (P-384 certificate, client certificates requested, Coco's TLS_POLICY), answering each
// POST with its body.
// Run as its own process: node dist/bench/echo-server.js <dir with key.pem, cert.pem>.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { TLS_POLICY } from '../src/crypto/tls-policy.js';

const dir = process.argv[2]!;
const server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')), requestCert: true, rejectUnauthorized: false, ...TLS_POLICY }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => console.log(`listening on https://127.0.0.1:${(server.address() as AddressInfo).port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
