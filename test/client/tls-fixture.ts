// Real HTTPS servers for the client SDK's tests: a service CA that endorses node certificates (SAN
// 127.0.0.1), member identities like `coco keygen` makes, and node:https servers on 127.0.0.1 port 0
// that ask for client certificates and record every request (body, client certificate, connection).

import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { utf8 } from '../../src/crypto/bytes.js';
import { certificateId } from '../../src/crypto/entity-id.js';
import { generateKeyPair, type CurveName, type KeyPair } from '../../src/crypto/signing.js';
import { createCsr, createSelfSignedCertificate, issueCertificate } from '../../src/crypto/x509.js';

const HOUR_MS = 3_600_000;
const VALIDITY_DAYS = 2;

export interface Identity {
  certPem: string;
  keyPem: string;
  id: string;
}

export interface ServiceIdentity {
  certPem: string;
  keyPair: KeyPair;
  /** A node certificate endorsed by this service, for 127.0.0.1. */
  node: { certPem: string; keyPem: string };
}

/** Certificates valid from an hour ago, so that TLS (which checks dates against now) accepts them. */
function validFrom(): Date {
  return new Date(Date.now() - HOUR_MS);
}

/** A service and its node; `from` moves their certificates' start (to make ones out of date now). */
export async function createService(from: Date = validFrom()): Promise<ServiceIdentity> {
  const keyPair = generateKeyPair('P-384');
  const certPem = await createSelfSignedCertificate({ subjectCn: 'CCF Service', keyPair, validFrom: from, validityDays: VALIDITY_DAYS, isCa: true });
  const nodeKeys = generateKeyPair('P-384');
  const nodeCertPem = await issueCertificate({
    csrPem: await createCsr({ subjectCn: 'CCF Node', keyPair: nodeKeys }),
    issuerCertPem: certPem,
    issuerKeyPair: keyPair,
    validFrom: from,
    validityDays: VALIDITY_DAYS,
    isCa: false,
    sans: { ip: ['127.0.0.1'] },
  });
  return { certPem, keyPair, node: { certPem: nodeCertPem, keyPem: nodeKeys.privateKeyPem } };
}

export async function createIdentity(name: string, curve: CurveName = 'P-384'): Promise<Identity> {
  const keyPair = generateKeyPair(curve);
  const certPem = await createSelfSignedCertificate({ subjectCn: name, keyPair, validFrom: validFrom(), validityDays: VALIDITY_DAYS, isCa: false });
  return { certPem, keyPem: keyPair.privateKeyPem, id: certificateId(certPem) };
}

export interface ReceivedRequest {
  method: string;
  /** Path and query as sent. */
  path: string;
  url: URL;
  headers: IncomingHttpHeaders;
  body: Uint8Array;
  /** SHA-256 of the client certificate's DER, when the client presented one. */
  clientCertId: string | undefined;
}

export type Handler = (request: ReceivedRequest, response: ServerResponse) => void | Promise<void>;

export interface TestServer {
  url: string;
  requests: ReceivedRequest[];
  /** TLS connections accepted so far. */
  connections: number;
  /** TCP connections open now. */
  openConnections: number;
  close(): Promise<void>;
}

export interface ServerOptions {
  /** Refuse, in the TLS handshake, clients without a certificate issued by (or equal to) one of these. */
  requireClientCertFrom?: string[];
  /** The node certificate and key to serve (default: the service's node). */
  node?: { certPem: string; keyPem: string };
}

export async function startServer(service: ServiceIdentity, handler: Handler, options: ServerOptions = {}): Promise<TestServer> {
  const node = options.node ?? service.node;
  const required = options.requireClientCertFrom;
  const server = https.createServer({
    cert: node.certPem,
    key: node.keyPem,
    requestCert: true,
    rejectUnauthorized: required !== undefined,
    ...(required !== undefined && { ca: required }),
  });
  const state: TestServer = {
    url: '',
    requests: [],
    connections: 0,
    openConnections: 0,
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (!server.listening) return resolve();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
  server.on('secureConnection', () => state.connections++);
  server.on('connection', (socket: Socket) => {
    state.openConnections++;
    socket.on('close', () => state.openConnections--);
  });
  server.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      const raw = peer && 'raw' in peer ? peer.raw : undefined;
      const received: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        url: new URL(req.url ?? '/', 'https://127.0.0.1'),
        headers: req.headers,
        body: new Uint8Array(Buffer.concat(chunks)),
        clientCertId: raw === undefined ? undefined : certificateId(new Uint8Array(new X509Certificate(raw).raw)),
      };
      state.requests.push(received);
      Promise.resolve(handler(received, res)).catch((error: unknown) => {
        reply(res, 500, { error: { code: 'TestHandlerFailed', message: String(error) } });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

/** Sends a JSON body (objects), text (strings) or bytes, with extra headers. */
export function reply(res: ServerResponse, status: number, body?: object | string | Uint8Array, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  let bytes: Uint8Array = new Uint8Array();
  let contentType: string | undefined;
  if (body instanceof Uint8Array) {
    bytes = body;
    contentType = 'application/octet-stream';
  } else if (typeof body === 'string') {
    bytes = utf8(body);
    contentType = 'text/plain';
  } else if (body !== undefined) {
    bytes = utf8(JSON.stringify(body));
    contentType = 'application/json';
  }
  res.writeHead(status, { ...(contentType && { 'content-type': contentType }), 'content-length': bytes.length, ...headers });
  res.end(bytes);
}

export function ccfError(res: ServerResponse, status: number, code: string, message: string): void {
  reply(res, status, { error: { code, message } }, { 'x-ms-error-code': code });
}
