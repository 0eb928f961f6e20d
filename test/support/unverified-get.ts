// GET over TLS without checking the server's certificate: how an operator first reaches a node it
// has no certificate for (a Pending joiner serves its self-signed one).

import { get as httpsGet } from 'node:https';

export function getUnverified(url: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const request = httpsGet(url, { rejectUnauthorized: false }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
    });
    request.on('error', reject);
  });
}
