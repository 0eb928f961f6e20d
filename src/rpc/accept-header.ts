// CCF's content negotiation for its built-in JSON endpoints (src/http/http_accept.h and the JSON
// adapter): an Accept header must parse, each entry a MIME type with an optional ";q=" factor, and
// one of its entries must match application/json; no header, or an empty one, accepts anything.

import { RpcError } from './rpc-error.js';

/** Throws 400 InvalidHeaderValue for an Accept header CCF cannot parse, 406 when it accepts no JSON. */
export function checkAcceptsJson(accept: string | undefined): void {
  if (accept === undefined) return;
  const compact = accept.replaceAll(' ', '');
  if (compact === '') return;
  let json = false;
  for (const entry of compact.split(',')) {
    const at = entry.indexOf(';q=');
    const types = at === -1 ? entry : entry.slice(0, at);
    const slash = types.indexOf('/');
    const [type, subtype] = slash === -1 ? [types, ''] : [types.slice(0, slash), types.slice(slash + 1)];
    if (type === '' || subtype === '') throw new RpcError(400, 'InvalidHeaderValue', `Entry in Accept header is not a valid MIME type: ${entry}`);
    if (at !== -1 && !/^\s*[-+]?(\d+\.?\d*|\.\d+)/.test(entry.slice(at + 3))) {
      throw new RpcError(400, 'InvalidHeaderValue', `Could not parse q-factor from MIME type in Accept header: ${entry}`);
    }
    json ||= (type === '*' || type === 'application') && (subtype === '*' || subtype === 'json');
  }
  if (!json) throw new RpcError(406, 'UnsupportedContentType', `No supported content type in accept header: ${accept}\nOnly application/json is currently supported`);
}

/** Whether a request asks for a COSE answer (a receipt): as CCF, any Accept header that names application/cose. */
export function acceptsCose(accept: string | undefined): boolean {
  return (accept ?? '').includes('application/cose');
}
