// `POST /app/ethereum`: Ethereum JSON-RPC 2.0 (single and batch) for the users of the service,
// authenticated like a CCF app endpoint with `user_cert` or `jwt` (a consortium is permissioned),
// once the service is Open. Reads are answered locally; a backup forwards each transaction to the
// primary over the node-to-node channel and relays the answer (the other elements of a batch are
// still answered locally, so a lost primary fails only the transactions). `GET /app/ethereum/receipt?hash=0x…` gives the Coco receipt that
// proves an Ethereum transaction offline.

import { fromHex, fromUtf8, toHex } from '../crypto/bytes.js';
import { keccak256 } from '../crypto/keccak.js';
import { CocoError } from '../errors.js';
import { parseTxId } from '../ledger/tx-id.js';
import type { Node } from '../node/node.js';
import { authenticate } from '../rpc/authentication.js';
import { acceptsCose } from '../rpc/accept-header.js';
import { RpcError } from '../rpc/rpc-error.js';
import type { RpcRequest, RpcServer } from '../rpc/rpc-server.js';
import { handleJsonRpc, JsonRpcError, requestScope, type JsonRpcMethod, type JsonRpcMethods, type JsonRpcTurns } from './json-rpc.js';

const POLICIES = ['user_cert', 'jwt'];

/** The methods that change the state, which only the primary executes. */
const WRITE_METHODS = ['eth_sendRawTransaction', 'eth_sendRawTransactionSync'];

/** `methods` with the writes run by the primary: locally on the primary, forwarded from a backup. */
export function primaryWrites(methods: JsonRpcMethods, node: Node, forward: (body: string) => Promise<string | undefined>): JsonRpcMethods {
  const writes: Record<string, JsonRpcMethod> = {};
  for (const method of WRITE_METHODS) {
    const local = methods[method];
    if (local === undefined) continue;
    writes[method] = async (params, scope) => {
      if (node.isPrimary) return local(params, scope);
      let reply: string | undefined;
      try {
        // The primary bounds the write's execution; waiting for it is not this node's work.
        reply = await scope.waitFor(() => forward(JSON.stringify({ jsonrpc: '2.0', id: 0, method, params })));
      } catch (error) {
        // The outcome may be open (no answer in time, the primary changed): the hash, as the
        // primary's own open-outcome answers give it, is what the caller looks it up by.
        if (error instanceof CocoError && error.code === 'NodeCannotHandleRequest') throw new JsonRpcError(-32000, error.message, rawTransactionHash(params[0]));
        throw error;
      }
      const answer = (reply === undefined ? undefined : JSON.parse(reply)) as { result?: unknown; error?: { code: number; message: string; data?: string } } | undefined;
      if (answer?.error !== undefined) throw new JsonRpcError(answer.error.code, answer.error.message, answer.error.data);
      if (answer === undefined || !('result' in answer)) throw new CocoError('InternalError', `the primary answered a forwarded ${method} with neither a result nor an error`);
      return answer.result;
    };
  }
  return { ...methods, ...writes };
}

/** The hash of a raw transaction parameter, if it is one. */
function rawTransactionHash(raw: unknown): string | undefined {
  return typeof raw === 'string' && /^0x(?:[0-9a-fA-F]{2})+$/.test(raw) ? `0x${toHex(keccak256(fromHex(raw.slice(2))))}` : undefined;
}

/** A user by ID, or a JWT's subject with its issuer. */
function callerName(caller: Record<string, unknown> | null): string {
  if (caller?.policy === 'user_cert') return `user ${String(caller.id)}`;
  const payload = (caller?.jwt as { payload?: { iss?: unknown; sub?: unknown } } | undefined)?.payload;
  return `jwt ${String(payload?.iss)} ${String(payload?.sub)}`;
}

export interface EthereumEndpointOptions {
  /** The node's methods, asked per request: a joiner has them only once it holds the service's settings (see ServiceChain). */
  methods: () => JsonRpcMethods;
  nowSeconds: () => number;
  /** How each request is bounded in time and gives the event loop turns (see handleJsonRpc). */
  turns?: JsonRpcTurns;
  /** On a backup, sends a request that writes to the primary and returns its answer. */
  forward?: (body: string) => Promise<string | undefined>;
}

export function addEthereumEndpoints(server: RpcServer, node: Node, options: EthereumEndpointOptions): void {
  const { nowSeconds, forward } = options;
  let served: { local: JsonRpcMethods; withWrites: JsonRpcMethods } | undefined;
  const methods = (): JsonRpcMethods => {
    const local = options.methods();
    if (served?.local !== local) served = { local, withWrites: forward === undefined ? local : primaryWrites(local, node, forward) };
    return served.withWrites;
  };
  /** Checks the caller is one of the service's users (the server keeps `/app` closed until the service is Open); who the caller is. */
  const admit = (request: RpcRequest): string =>
    node.execute((tx) => ({ result: callerName(authenticate({ tx, request, nowSeconds: nowSeconds() }, POLICIES)), applyWrites: false })).result;

  server.add('app', 'POST', '/ethereum', async (request) => {
    const caller = admit(request);
    const body = fromUtf8(request.body);
    // Ethereum clients do not follow redirects on POST: a backup forwards writes to the primary.
    const reply = await handleJsonRpc(body, methods(), options.turns, caller);
    // A request of notifications only has no answer.
    if (reply === undefined) return { status: 204 };
    return { body: reply, headers: { 'content-type': 'application/json' } };
  });

  server.add('app', 'GET', '/ethereum/receipt', async (request) => {
    admit(request);
    const hash = request.query.get('hash');
    if (hash === null) throw new RpcError(400, 'InvalidQueryParameterValue', 'query parameter hash is required: the 0x-prefixed hash of an Ethereum transaction');
    if (!/^0x[0-9a-fA-F]{64}$/.test(hash)) throw new RpcError(400, 'InvalidQueryParameterValue', `query parameter hash ${JSON.stringify(hash.slice(0, 80))} is not a transaction hash: 0x and 64 hex digits (32 bytes)`);
    const ethereumReceipt = (await methods().eth_getTransactionReceipt!([hash], requestScope())) as { cocoTransactionId?: string } | null;
    if (ethereumReceipt === null || ethereumReceipt.cocoTransactionId === undefined) {
      throw new RpcError(404, 'TransactionPendingOrUnknown', `no committed Ethereum transaction ${hash} on this node; a receipt exists once it is Committed`);
    }
    const txId = parseTxId(ethereumReceipt.cocoTransactionId);
    try {
      if (acceptsCose(request.headers.accept)) return { body: node.coseReceipt(txId), headers: { 'content-type': 'application/cose' } };
      // The transaction claims the Ethereum transaction's outcome (receipt-claims.ts): whoever verifies needs the receipt that states it.
      return { body: { ...node.receipt(txId), ethereum_receipt: ethereumReceipt } };
    } catch (error) {
      if (error instanceof CocoError) throw error;
      throw new CocoError('InternalError', `no receipt for ${ethereumReceipt.cocoTransactionId}: ${(error as Error).message}`);
    }
  });
}
