// Where the CLI's commands reach a service: flags, else the sandbox workspace's files
// (workspace/sandbox_common: service_url, service_cert.pem, member0's identity). Mistakes in those
// files are reported with the flag and the file, not with the client SDK's option names.

import { createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { baseUrl, unendorsedNodeReason, type CocoClient } from '../client/coco-client.js';
import { isEncryptedPrivateKey, isKeyOfCertificate } from '../client/identity-check.js';
import { certificateDer } from '../crypto/x509.js';
import { CocoError } from '../errors.js';
import type { NodeInfo } from '../governance/builtin-tables.js';
import { publishedRpcAddresses } from '../node/service-nodes.js';
import { fileErrorReason } from './file-error.js';
import { sandboxNodeUrls } from './sandbox-nodes.js';

export interface ServiceEndpoint {
  url: string;
  caCertPem: string;
  /** The file `caCertPem` came from, to name it when the node does not match it. */
  caCertPath: string;
  /** The sandbox's `workspace/sandbox_common`, where the default identities are. */
  common: string;
}

export interface MemberIdentity {
  certPem: string;
  keyPem: string;
}

export function readPem(path: string, what: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new CocoError('FileUnreadable', `cannot read ${what} ${path}: ${fileErrorReason(cause)}; pass --${flag}, or --workspace DIR for a sandbox started with one, or start a sandbox first`, { cause });
  }
}

export function readCertificate(path: string, what: string, flag: string): string {
  const pem = readPem(path, what, flag);
  try {
    certificateDer(pem);
  } catch (error) {
    throw new CocoError('InvalidCertificate', `--${flag} ${path} is not a PEM certificate (${(error as Error).message}); pass the ${what}`);
  }
  return pem;
}

/** The service's URL and certificate from `--url`, `--cacert` and `--workspace`, with the sandbox's as defaults. */
export function serviceEndpoint(values: Record<string, string | boolean | undefined>): ServiceEndpoint {
  const common = join(resolve((values.workspace as string | undefined) ?? 'workspace'), 'sandbox_common');
  const urlFile = join(common, 'service_url');
  const url = (values.url as string | undefined) ?? (existsSync(urlFile) ? readFileSync(urlFile, 'utf8').trim() : 'https://127.0.0.1:8000');
  // A mistyped --url is a usage error (exit 2), found before any connection.
  if (values.url !== undefined) {
    try {
      baseUrl(url);
    } catch (error) {
      throw new CocoError('UsageError', `--url: ${(error as Error).message}`);
    }
  }
  const caCertPath = (values.cacert as string | undefined) ?? join(common, 'service_cert.pem');
  return { url, caCertPem: readCertificate(caCertPath, 'service certificate', 'cacert'), caCertPath, common };
}

/** How long a node has to accept a connection before the CLI tries the sandbox's next one. */
const CONNECT_PROBE_MS = 1000;

/**
 * serviceEndpoint (`endpoint`, when the caller read it already), but when its URL is the sandbox's
 * default (no `--url`) and that node does not accept connections (stopped, or killed and not
 * restarted), the first of the sandbox's other nodes that does: a service survives the loss of its
 * first node, and so should its CLI. Says so on stderr. Nothing is sent to probe a node: a request is never sent twice. When none accepts, a
 * 'ConnectionFailed' names them all and the ways on: the sandbox's nodes may all have been replaced
 * (a rolling replacement), and then only `--url` can name the service.
 */
export async function reachableEndpoint(values: Record<string, string | boolean | undefined>, endpoint = serviceEndpoint(values)): Promise<ServiceEndpoint> {
  if (values.url !== undefined || (await accepts(endpoint.url))) return endpoint;
  const workspace = dirname(endpoint.common);
  const tried = [endpoint.url];
  for (const url of sandboxNodeUrls(workspace)) {
    if (tried.includes(url)) continue;
    tried.push(url);
    if (!(await accepts(url))) continue;
    console.error(`coco: ${endpoint.url} does not answer; using ${url}, another node of the sandbox`);
    return { ...endpoint, url };
  }
  const hosts = tried.map((url) => new URL(url).host).join(', ');
  if (!existsSync(join(endpoint.common, 'service_url'))) {
    throw new CocoError('ConnectionFailed', `nothing accepts connections at ${hosts}, the default service URL (there is no sandbox in ${workspace}): pass --url https://HOST:PORT of a node of the service, or --workspace of its sandbox`);
  }
  throw new CocoError(
    'ConnectionFailed',
    `no node of the sandbox in ${workspace} accepts connections (tried ${hosts}): restart it (coco sandbox --workspace ${workspace}), or, if the service's nodes are elsewhere now (replaced by new ones, or moved), pass --url https://HOST:PORT of one of them`,
  );
}

/** How long the node asked has to list the service's nodes. */
const NODE_LIST_TIMEOUT_MS = 5_000;

/**
 * `https://host:port` of each node of the service but the one `client` talks to and retired ones,
 * as that node lists them (GET /node/network/nodes: the first RPC interface of each); when it
 * cannot, the sandbox's other nodes.
 */
export async function otherNodeUrls(client: CocoClient, endpoint: ServiceEndpoint): Promise<string[]> {
  let listed: unknown;
  try {
    listed = (await client.request('GET', '/node/network/nodes', { timeoutMs: NODE_LIST_TIMEOUT_MS })).json<{ nodes?: unknown } | null>()?.nodes;
  } catch (error) {
    if (!(error instanceof CocoError)) throw error;
  }
  // Each node listed as its record holds it (status, rpc_interfaces).
  const urls = Array.isArray(listed)
    ? (listed as unknown[]).filter((node): node is NodeInfo => typeof node === 'object' && node !== null && (node as NodeInfo).status !== 'Retired').flatMap((node) => {
        const address = publishedRpcAddresses(node).values().next().value;
        return address === undefined ? [] : [`https://${address}`];
      })
    : sandboxNodeUrls(dirname(endpoint.common));
  const origins = urls.flatMap((url) => {
    try {
      return [new URL(url).origin];
    } catch {
      return []; // an address no URL can hold: not a node to ask
    }
  });
  return [...new Set(origins)].filter((url) => url !== client.url);
}

/** Whether the node at `url` accepts a TCP connection within CONNECT_PROBE_MS. */
function accepts(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || 443), timeout: CONNECT_PROBE_MS });
    const done = (accepted: boolean) => {
      socket.destroy();
      resolve(accepted);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/**
 * The member identity from `--cert` and `--key` (default: the sandbox's member0), checked to be a
 * pair here: the SDK would refuse a mismatch only when signing, in its own options' names.
 */
export function memberIdentity(values: Record<string, string | boolean | undefined>, common: string): MemberIdentity {
  const certPath = (values.cert as string | undefined) ?? join(common, 'member0_cert.pem');
  const keyPath = (values.key as string | undefined) ?? join(common, 'member0_privk.pem');
  const certPem = readCertificate(certPath, 'member certificate', 'cert');
  const keyPem = readPem(keyPath, 'member private key', 'key');
  if (isEncryptedPrivateKey(keyPem)) {
    throw new CocoError(
      'InvalidKey',
      `--key ${keyPath} is an encrypted private key, and Coco takes no passphrase: pass it decrypted (openssl pkey -in ${keyPath} -out member_privk.pem), or leave it locked and sign where it is (an HSM, a key vault) with coco gov prepare, coco gov finish and coco gov submit (coco gov prepare --help)`,
    );
  }
  try {
    createPrivateKey(keyPem);
  } catch {
    throw new CocoError('InvalidKey', `--key ${keyPath} is not a PEM private key; pass the member's private key (NAME_privk.pem)`);
  }
  if (!isKeyOfCertificate(certPem, keyPem)) {
    throw new CocoError('InvalidKey', `--key ${keyPath} is not the private key of --cert ${certPath}; pass the key made with that certificate (NAME_privk.pem for NAME_cert.pem)`);
  }
  return { certPem, keyPem };
}

/**
 * Runs `use` against the service and restates a refused service certificate in the CLI's terms.
 * The SDK's advice for it names its `caCertPem` option; a CLI user set `--cacert` (or its default).
 */
export async function withService<T>(endpoint: ServiceEndpoint, use: () => Promise<T>): Promise<T> {
  try {
    return await use();
  } catch (error) {
    const reason = unendorsedNodeReason(error);
    if (reason !== undefined) {
      throw new CocoError(
        'TlsError',
        `the node at ${endpoint.url} is not endorsed by --cacert ${endpoint.caCertPath} (${reason}); pass that service's certificate (service_cert.pem, in workspace/sandbox_common for a sandbox)`,
        { cause: error },
      );
    }
    throw error;
  }
}
