// CCF's NodeInfoNetwork_v2 (include/ccf/service/node_info_network.h) as a join request carries it:
// checked field by field before a node record stores it, so that what every node later reads back
// (addresses split into host and port, URLs built from them) is well formed. Fields CCF's schema
// does not know are dropped, as CCF's typed parsing drops them; a published address defaults to the
// bind address.

import type { NetInterfaceInfo } from '../governance/builtin-tables.js';
import { hostAndPort, OPERATOR_FEATURES } from '../node/node-config.js';
import { RpcError } from './rpc-error.js';

export interface NodeInfoNetwork {
  node_to_node_interface: NetInterfaceInfo;
  rpc_interfaces: Record<string, NetInterfaceInfo>;
}

const AUTHORITIES = ['Node', 'Service', 'ACME', 'Unsecured'];
const REDIRECTION_KINDS = ['NodeByRole', 'StaticAddress'];
/** CCF's http::ParserConfiguration: sizes ("1MB" or bytes) and counts. */
const HTTP_CONFIGURATION_FIELDS = ['max_body_size', 'max_header_size', 'max_headers_count', 'max_frame_size', 'max_concurrent_streams_count', 'max_initial_window_size'];

type Json = Record<string, unknown>;

function refuse(path: string, what: string): never {
  throw new RpcError(400, 'InvalidInput', `the join request's ${path} must be ${what}`);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function object(value: unknown, path: string): Json {
  return isObject(value) ? value : refuse(path, 'a JSON object');
}

/** `host:port`, as a node's configuration gives its addresses. */
function address(value: unknown, path: string): string {
  if (typeof value !== 'string' || hostAndPort(value) === undefined) refuse(path, `an address "host:port" (e.g. "10.0.0.1:8080"), not ${JSON.stringify(value)}`);
  return value;
}

function count(value: unknown, path: string): number {
  return Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : refuse(path, 'a non-negative integer');
}

function oneOf(value: unknown, allowed: readonly string[], path: string): string {
  return typeof value === 'string' && allowed.includes(value) ? value : refuse(path, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
}

function strings(value: unknown, path: string): string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : refuse(path, 'a list of strings');
}

function netInterface(value: unknown, path: string): NetInterfaceInfo {
  const json = object(value, path);
  const bind = address(json.bind_address, `${path}.bind_address`);
  const optional = <T>(field: string, check: (value: unknown, path: string) => T): T | undefined => (json[field] === undefined ? undefined : check(json[field], `${path}.${field}`));
  const text = (value: unknown, at: string) => (typeof value === 'string' ? value : refuse(at, 'a string'));
  const fields: Partial<NetInterfaceInfo> = {
    protocol: optional('protocol', text),
    app_protocol: optional('app_protocol', text),
    max_open_sessions_soft: optional('max_open_sessions_soft', count),
    max_open_sessions_hard: optional('max_open_sessions_hard', count),
    endorsement: optional('endorsement', (v, at) => ({ authority: oneOf(object(v, at).authority, AUTHORITIES, `${at}.authority`) })),
    http_configuration: optional('http_configuration', (v, at) =>
      Object.fromEntries(
        Object.entries(object(v, at)).map(([name, size]) => {
          oneOf(name, HTTP_CONFIGURATION_FIELDS, `${at} field name`);
          return [name, typeof size === 'string' ? size : count(size, `${at}.${name}`)];
        }),
      ),
    ),
    accepted_endpoints: optional('accepted_endpoints', strings),
    enabled_operator_features: optional('enabled_operator_features', (v, at) => strings(v, at).map((feature, i) => oneOf(feature, OPERATOR_FEATURES, `${at}[${i}]`))),
    redirections: optional('redirections', (v, at) =>
      Object.fromEntries(
        Object.entries(object(v, at)).map(([name, resolver]) => {
          oneOf(name, ['to_primary', 'to_backup'], `${at} field name`);
          const json = object(resolver, `${at}.${name}`);
          return [name, { kind: oneOf(json.kind, REDIRECTION_KINDS, `${at}.${name}.kind`), ...(json.target !== undefined && { target: json.target }) }];
        }),
      ),
    ),
  };
  return {
    bind_address: bind,
    published_address: json.published_address === undefined ? bind : address(json.published_address, `${path}.published_address`),
    ...Object.fromEntries(Object.entries(fields).filter(([, checked]) => checked !== undefined)),
  };
}

/** The node_info_network of a join request, checked against CCF's schema; a malformed one is refused 400 InvalidInput. */
export function parseNodeInfoNetwork(value: unknown): NodeInfoNetwork {
  const json = object(value, 'node_info_network');
  const interfaces = object(json.rpc_interfaces, 'node_info_network.rpc_interfaces');
  return {
    node_to_node_interface: netInterface(json.node_to_node_interface, 'node_info_network.node_to_node_interface'),
    rpc_interfaces: Object.fromEntries(Object.entries(interfaces).map(([name, iface]) => [name, netInterface(iface, `node_info_network.rpc_interfaces.${name}`)])),
  };
}
