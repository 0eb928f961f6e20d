// CCF's KV access matrix: which maps JavaScript may read or write in each execution context.
// Map names fall into namespaces (`public:` prefix = public domain; `ccf.gov.` = governance,
// `ccf.internal.` = internal, any other `ccf.` name reserved, the rest the application's), and the
// context decides the access per namespace and domain (ccf-compat.md §3). Coco's own state (the
// Ethereum adapter's `coco.ethereum.*`) is internal too: an app that could write it would mint
// balances or unfreeze accounts past governance.

export type KvContext =
  /** A `readwrite` application endpoint. */
  | 'application'
  /** A `readonly` or `historical` application endpoint: CCF's read-only application context. */
  | 'application-readonly'
  /** Ballots, `validate` and `resolve` of the constitution. */
  | 'governance-readonly'
  /** The constitution's `apply`, after a proposal was accepted. */
  | 'governance-apply';

/** 'write': write-only, as `apply` has public application maps (it may set them, not read them). */
export type MapAccess = 'none' | 'read' | 'write' | 'readwrite';

export type MapNamespace = 'internal' | 'governance' | 'application' | 'reserved';

export interface MapCategory {
  domain: 'public' | 'private';
  namespace: MapNamespace;
}

const PUBLIC_PREFIX = 'public:';
/** Maps Coco itself keeps, beside CCF's. */
const COCO_PREFIX = 'coco.';

export function categorizeMap(mapName: string): MapCategory {
  const isPublic = mapName.startsWith(PUBLIC_PREFIX);
  const name = isPublic ? mapName.slice(PUBLIC_PREFIX.length) : mapName;
  let namespace: MapNamespace = 'application';
  if (name.startsWith('ccf.internal.') || name.startsWith(COCO_PREFIX)) namespace = 'internal';
  else if (name.startsWith('ccf.gov.')) namespace = 'governance';
  else if (name.startsWith('ccf.')) namespace = 'reserved';
  return { domain: isPublic ? 'public' : 'private', namespace };
}

type Row = Record<'internal' | 'governance' | 'application', { public: MapAccess; private: MapAccess }>;

/**
 * CCF's matrix as its code (src/js/permissions_checks.h) and its current documentation
 * (doc/audit/read_write_restrictions.rst, since 6.0.8) have it: `apply` may write public
 * application maps but not read them (governance may bootstrap or correct an app's public state,
 * without decisions depending on it), and private maps are the application's alone: no context
 * reads private internal or governance maps. (Older CCF documentation, and ccf-compat.md §3, let
 * applications read those and `apply` read public application maps.) Pre-approval governance reads
 * public application maps, as CCF's code lets it.
 */
const MATRIX: Record<KvContext, Row> = {
  application: {
    internal: { public: 'read', private: 'none' },
    governance: { public: 'read', private: 'none' },
    application: { public: 'readwrite', private: 'readwrite' },
  },
  'application-readonly': {
    internal: { public: 'read', private: 'none' },
    governance: { public: 'read', private: 'none' },
    application: { public: 'read', private: 'read' },
  },
  'governance-readonly': {
    internal: { public: 'read', private: 'none' },
    governance: { public: 'read', private: 'none' },
    application: { public: 'read', private: 'none' },
  },
  'governance-apply': {
    internal: { public: 'read', private: 'none' },
    governance: { public: 'readwrite', private: 'none' },
    application: { public: 'write', private: 'none' },
  },
};

export function mapAccess(context: KvContext, mapName: string): MapAccess {
  const { domain, namespace } = categorizeMap(mapName);
  if (namespace === 'reserved') return 'none';
  return MATRIX[context][namespace][domain];
}

/** How error messages name a context, e.g. "read-only application". */
export function describeKvContext(context: KvContext): string {
  switch (context) {
    case 'application':
      return 'application';
    case 'application-readonly':
      return 'read-only application';
    case 'governance-readonly':
      return 'read-only governance';
    case 'governance-apply':
      return 'read-write governance';
  }
}
