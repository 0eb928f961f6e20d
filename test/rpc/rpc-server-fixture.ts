// An RpcServer for tests: TLS with a test service's node identity, its own session counts under
// one interface, and whatever else a test sets.

import { virtualQuote } from '../../src/attestation/virtual-attestation.js';
import { generateKeyPair } from '../../src/crypto/signing.js';
import type { Node } from '../../src/node/node.js';
import type { OperatorFeature } from '../../src/node/node-config.js';
import { AppRuntime } from '../../src/rpc/app-runtime.js';
import { addBuiltinEndpoints } from '../../src/rpc/builtin-endpoints.js';
import { RpcServer, type RpcServerOptions } from '../../src/rpc/rpc-server.js';
import { SessionCounts, type SessionCaps } from '../../src/rpc/session-caps.js';
import type { ServiceIdentity } from '../client/tls-fixture.js';

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
