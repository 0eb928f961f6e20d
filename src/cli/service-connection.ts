// Where the CLI's commands reach a service: flags, else the sandbox workspace's files
// (workspace/sandbox_common: service_url, service_cert.pem, member0's identity).

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CocoError } from '../errors.js';

export function readPem(path: string, what: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new CocoError('FileUnreadable', `cannot read ${what} ${path}: pass --${flag} or start a sandbox first`);
  }
}

/** The service's URL and certificate from `--url`, `--cacert` and `--workspace`, with the sandbox's as defaults. */
export function serviceEndpoint(values: Record<string, string | boolean | undefined>): { url: string; caCertPem: string; common: string } {
  const common = join(resolve((values.workspace as string | undefined) ?? 'workspace'), 'sandbox_common');
  const urlFile = join(common, 'service_url');
  const url = (values.url as string | undefined) ?? (existsSync(urlFile) ? readFileSync(urlFile, 'utf8').trim() : 'https://127.0.0.1:8000');
  const caCertPem = readPem((values.cacert as string | undefined) ?? join(common, 'service_cert.pem'), 'service certificate', 'cacert');
  return { url, caCertPem, common };
}
