// Starts real `coco node` processes on loopback for end-to-end tests: a temporary directory with a
// member certificate, a constitution and a configuration; waits for the node to listen; stops it
// with SIGTERM (and SIGKILL if it hangs) and removes the directory.

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '../../src/crypto/signing.js';
import { createSelfSignedCertificate } from '../../src/crypto/x509.js';
import { spawnNode } from '../../src/cli/node-process.js';

export interface NodeProcess {
  url: string;
  dir: string;
  serviceCertPem: string;
  child: ChildProcess;
  output: () => string;
  stop(): Promise<number | null>;
}

export async function writeNodeConfig(dir: string, overrides: Record<string, unknown> = {}): Promise<string> {
  const member = generateKeyPair('P-384');
  const memberCert = createSelfSignedCertificate({ subjectCn: 'member0', keyPair: member, validFrom: new Date(), validityDays: 10, isCa: false });
  writeFileSync(join(dir, 'member0_cert.pem'), memberCert);
  writeFileSync(join(dir, 'member0_privk.pem'), member.privateKeyPem);
  // The least a node accepts as a constitution: the three functions governance calls.
  writeFileSync(
    join(dir, 'constitution.js'),
    'export function validate(input) { return { valid: true, description: "" }; }\nexport function resolve() { return "Open"; }\nexport function apply() {}\n',
  );
  const config = {
    network: { rpc_interfaces: { primary: { bind_address: '127.0.0.1:0' } } },
    ledger: { directory: 'ledger' },
    command: {
      type: 'Start',
      service_certificate_file: 'service_cert.pem',
      start: { members: [{ certificate_file: 'member0_cert.pem' }], constitution_files: ['constitution.js'] },
    },
    ...overrides,
  };
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

export async function startNode(overrides: Record<string, unknown> = {}): Promise<NodeProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'coco-node-'));
  const configPath = await writeNodeConfig(dir, overrides);
  const node = await spawnNode(configPath, dir);
  return { ...node, dir, serviceCertPem: readFileSync(join(dir, 'service_cert.pem'), 'utf8') };
}

export function removeNodeDir(node: NodeProcess): void {
  rmSync(node.dir, { recursive: true, force: true });
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test responses are checked field by field
  json: () => any;
}

/** One HTTPS request over a fresh connection, trusting only `caPem`. */
export function call(url: string, caPem: string, method: string, path: string, options: { body?: string | Buffer; headers?: Record<string, string>; cert?: string; key?: string } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    // Node sends a GET body without framing unless told its length.
    const headers = { ...options.headers, ...(options.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(options.body)) }) };
    const req = httpsRequest(new URL(path, url), { method, ca: caPem, cert: options.cert, key: options.key, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body) });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
