// The changes one transaction makes to the store, per map, in the order CCF serializes them:
// reads (key, version), writes (key, value) and removes (key). Order is kept exactly as it was
// produced or parsed so that a parsed entry re-serializes to identical bytes.

export type Domain = 'public' | 'private';

export interface MapRead {
  key: Uint8Array;
  version: bigint;
}

export interface MapWrite {
  key: Uint8Array;
  value: Uint8Array;
}

export interface MapChanges {
  name: string;
  /** The version of the map the transaction read from (CCF writes it; 0 when unknown). */
  readVersion: bigint;
  reads: MapRead[];
  writes: MapWrite[];
  removes: Uint8Array[];
}

/** A write set: the map changes of one transaction, public maps and private maps apart. */
export interface WriteSet {
  public: MapChanges[];
  private: MapChanges[];
}

export const PUBLIC_MAP_PREFIX = 'public:';

export function domainOf(mapName: string): Domain {
  return mapName.startsWith(PUBLIC_MAP_PREFIX) ? 'public' : 'private';
}
