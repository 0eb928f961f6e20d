// An RpcServer for tests: TLS with a test service's node identity, its own session counts under
// one interface, and whatever else a test sets; and raw TLS connections to speak HTTP to it by hand.

import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { virtualQuote } from '../../src/attestation/virtual-attestation.js';
import { generateKeyPair } from '../../src/crypto/signing.js';
import type { Node } from '../../src/node/node.js';
import type { OperatorFeature } from '../../src/node/node-config.js';
import { AppRuntime } from '../../src/rpc/app-runtime.js';
import { addBuiltinEndpoints } from '../../src/rpc/builtin-endpoints.js';
import { RpcServer, type RpcServerOptions } from '../../src/rpc/rpc-server.js';
import { SessionCounts, type SessionCaps } from '../../src/rpc/session-caps.js';
import { CocoClient } from '../../src/client/coco-client.js';
import { createService, type ServiceIdentity } from '../client/tls-fixture.js';
import { startInProcessNode, type InProcessNode } from '../support/in-process-node.js';
import { encodeJson, readServiceInfo, SINGLETON, Tables } from '../../src/governance/builtin-tables.js';
import { bundleToKvWrites, type AppBundle } from '../../src/js/app-bundle.js';
import type { JsHost } from '../../src/js/js-host.js';
import type { Transaction } from '../../src/kv/transaction.js';
import { appEndpointLookup, appRequestHandler } from '../../src/rpc/app-endpoints.js';

export interface TestRpcServerOptions extends Partial<Omit<RpcServerOptions, 'sessions' | 'keyPem' | 'certPem'>> {
  currentTxId: RpcServerOptions['currentTxId'];
  /** The interface's session caps (default: more than any test opens). */
  caps?: SessionCaps;
}

/** The server, and the session counts it reports to (under `options.interfaceName`, 'primary' by default). */
export function testRpcServer(service: ServiceIdentity, options: TestRpcServerOptions): { server: RpcServer; sessions: SessionCounts } {
  const { caps = { soft: 1000, hard: 1010 }, interfaceName = 'primary', maxBodyBytes = 1024, ...rest } = options;
  const sessions = new SessionCounts();
  sessions.addInterface(interfaceName, caps);
  const server = new RpcServer({ ...rest, sessions, interfaceName, maxBodyBytes, keyPem: service.node.keyPem, certPem: service.node.certPem });
  return { server, sessions };
}

/** The node's built-in endpoints on `server`, for an interface `primary` with no primary elsewhere and no operator feature unless given. */
export function addTestBuiltinEndpoints(server: RpcServer, node: Node, sessions: SessionCounts, appRuntime = new AppRuntime(), operatorFeatures: ReadonlySet<OperatorFeature> = new Set()): void {
  addBuiltinEndpoints(server, node, {
    version: 'test',
    primaryUrl: () => undefined,
    interfaceName: 'primary',
    operatorFeatures,
    sessions,
    appRuntime,
    selfSignedCertPem: '',
    quoteInfo: virtualQuote(generateKeyPair('P-384').publicKeyPem, new Uint8Array(32)),
    jwtRefreshMetrics: { attempts: 0, successes: 0, failures: 0 },
  });
}

/** A node in this process serving its built-in endpoints over TLS on 127.0.0.1 (see builtinEndpointsServer). */
export interface BuiltinEndpointsServer {
  inProcess: InProcessNode;
  server: RpcServer;
  /** `https://127.0.0.1:<port>`. */
  origin: string;
  tls: ServiceIdentity;
  /** A client trusting the service certificate, without an identity. */
  client: CocoClient;
  close(): Promise<void>;
}

/**
 * `inProcess` (a node in this process) with its built-in endpoints on a TLS server listening on
 * 127.0.0.1, and a client of it; `server` options and operator features as a test needs them.
 */
export async function builtinEndpointsServer(
  inProcess: InProcessNode,
  options: Partial<TestRpcServerOptions> & { operatorFeatures?: ReadonlySet<OperatorFeature> } = {},
): Promise<BuiltinEndpointsServer> {
  const { operatorFeatures, ...serverOptions } = options;
  const tls = await createService();
  const built = testRpcServer(tls, { currentTxId: () => inProcess.node.lastTxId, ...serverOptions });
  addTestBuiltinEndpoints(built.server, inProcess.node, built.sessions, new AppRuntime(), operatorFeatures);
  const { port } = await built.server.listen('127.0.0.1', 0);
  const origin = `https://127.0.0.1:${port}`;
  const client = new CocoClient({ url: origin, caCertPem: tls.certPem });
  return {
    inProcess,
    server: built.server,
    origin,
    tls,
    client,
    async close() {
      client.close();
      await built.server.close();
      await inProcess.close();
    },
  };
}

/**
 * A node in this process with `bundle` installed, the service open and `setUp`'s writes made in the
 * same transaction, serving its built-in endpoints and the app's over TLS (see builtinEndpointsServer);
 * `runtime` runs the app and is disposed with the server.
 */
export async function appServer(bundle: AppBundle, setUp: (tx: Transaction) => void = () => undefined, serverOptions: Partial<TestRpcServerOptions> = {}): Promise<BuiltinEndpointsServer> {
  const inProcess = startInProcessNode();
  const { node } = inProcess;
  node.execute((tx) => {
    for (const write of bundleToKvWrites(bundle)) tx.map(write.map).set(write.key, write.value);
    setUp(tx);
    tx.map(Tables.serviceInfo).set(SINGLETON, encodeJson({ ...readServiceInfo(tx), status: 'Open' }));
    return { result: undefined, applyWrites: true };
  });
  const runtime = new AppRuntime();
  const host: JsHost = { monotonicMs: () => performance.now(), untrustedNowMs: () => Date.now(), log: () => undefined };
  const served = await builtinEndpointsServer(inProcess, {
    ...serverOptions,
    appDefines: appEndpointLookup(node),
    appFallback: appRequestHandler(node, runtime, host, () => Math.floor(Date.now() / 1000), { primaryUrl: () => undefined, backupUrl: () => undefined }),
  });
  return {
    ...served,
    async close() {
      runtime.dispose();
      await served.close();
    },
  };
}

/** A TLS connection to 127.0.0.1:`port`, trusting `caCertPem`, resolved once the handshake is done. */
export async function tlsConnection(port: number, caCertPem: string, options: ConnectionOptions = {}): Promise<TLSSocket> {
  const socket = connect({ host: '127.0.0.1', port, ca: caCertPem, servername: '127.0.0.1', ...options });
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  return socket;
}

/** Writes raw HTTP (then ends the client's side, with `end`) and collects everything the server sends until it closes the connection. */
export async function exchange(socket: TLSSocket, request: string, { end = false } = {}): Promise<string> {
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (text += chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  if (end) socket.end(request);
  else socket.write(request);
  await closed;
  return text;
}
