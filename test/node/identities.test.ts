// The names a node's certificate holds, from its configuration.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeSubjectAltNames } from '../../src/node/identities.js';
import { parseNodeConfig } from '../../src/node/node-config.js';

const START = {
  type: 'Start',
  service_certificate_file: 'service_cert.pem',
  start: { members: [{ certificate_file: 'member0_cert.pem' }], constitution_files: ['constitution.js'] },
};

test('a node certificate names every bound and published host: IP addresses (IPv6 without brackets) as IP names, the rest as DNS names', () => {
  const config = parseNodeConfig(
    {
      network: {
        rpc_interfaces: {
          primary: { bind_address: '[::1]:8000', published_address: '[2001:db8::7]:443' },
          operator: { bind_address: '127.0.0.1:8001', published_address: 'node0.example:8001' },
        },
        node_to_node_interface: { bind_address: '0.0.0.0:8002', published_address: '10.0.0.4:8002' },
      },
      command: START,
    },
    '/tmp/config.json',
  );
  const { ip, dns } = nodeSubjectAltNames(config);
  assert.deepEqual(new Set(ip), new Set(['::1', '2001:db8::7', '127.0.0.1', '0.0.0.0', '10.0.0.4']));
  assert.deepEqual(new Set(dns), new Set(['localhost', 'node0.example']));
});
