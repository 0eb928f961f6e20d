// Built-in endpoints of the `/app`, `/gov` and `/node` frontends: method, path template and handler.
// Matching returns the endpoint and its path parameters, or the methods the path allows (405); a
// parameter that is not valid percent-encoding is the client's error (400 InvalidInput).

import { CocoError } from '../errors.js';

export type Frontend = 'app' | 'gov' | 'node';

export interface Route<H> {
  method: string;
  /** Path under the frontend, e.g. `/network/nodes/{node_id}`. */
  path: string;
  handler: H;
  /** Answered whatever the request's Accept header says (see RpcServer.add). */
  ignoresAccept?: boolean;
}

export type RouteMatch<H> = { route: Route<H>; params: Record<string, string> } | { allowedMethods: string[] } | undefined;

interface CompiledRoute<H> {
  route: Route<H>;
  pattern: RegExp;
  names: string[];
  literal: boolean;
}

export class RouteTable<H> {
  private readonly routes: CompiledRoute<H>[] = [];

  add(route: Route<H>): void {
    const names: string[] = [];
    // `{name}` may fill a whole segment or part of one (`{proposalId}:withdraw`); IDs hold no ':'.
    const source = route.path
      .split(/(\{\w+\})/)
      .map((part) => {
        const param = /^\{(\w+)\}$/.exec(part);
        if (!param) return part.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');
        names.push(param[1]!);
        return '([^/:]+)';
      })
      .join('');
    this.routes.push({ route, pattern: new RegExp(`^${source}$`), names, literal: names.length === 0 });
    // Literal paths win over templates that would also match them.
    this.routes.sort((a, b) => Number(b.literal) - Number(a.literal));
  }

  match(method: string, path: string): RouteMatch<H> {
    const allowed = new Set<string>();
    for (const compiled of this.routes) {
      const found = compiled.pattern.exec(path);
      if (!found) continue;
      if (compiled.route.method !== method) {
        allowed.add(compiled.route.method);
        continue;
      }
      const params: Record<string, string> = {};
      compiled.names.forEach((name, i) => (params[name] = decodeParam(name, found[i + 1]!)));
      return { route: compiled.route, params };
    }
    return allowed.size > 0 ? { allowedMethods: [...allowed].sort() } : undefined;
  }

  list(): Route<H>[] {
    return this.routes.map((r) => r.route);
  }
}

function decodeParam(name: string, text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new CocoError('InvalidInput', `path parameter ${name} is not valid percent-encoding: ${text}`);
  }
}
