// A stand-in node over real HTTPS, for CLI tests of sequences a real service produces only by chance
// (an election rolling back a change, a node that never hears of a commit): it presents a node
// certificate endorsed by the service identity and answers each request with what the test's route
// returns (404 ResourceNotFound to anything else), so the CLI runs unchanged against it.

import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import { createNodeIdentity, endorseNode, type ServiceIdentity } from '../../src/node/identities.js';

const SANS = { ip: ['127.0.0.1'] };

export interface StandInAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type StandInRoute = (method: string, path: string) => StandInAnswer | undefined;

/** A stand-in node of `service` listening on 127.0.0.1:`port`. */
export async function standInNode(service: ServiceIdentity, port: number, route: StandInRoute): Promise<Server> {
  const identity = createNodeIdentity(SANS, new Date(), 1);
  const server = createServer({ key: identity.keyPair.privateKeyPem, cert: endorseNode(identity, service, SANS, new Date(), 1) }, (request, response) => {
    request.resume();
    request.on('end', () => {
      const answer = route(request.method!, request.url!) ?? { status: 404, body: { error: { code: 'ResourceNotFound', message: 'not here' } } };
      response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      response.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return server;
}
