// A snapshot: the whole key-value state at one seqno, as one ledger entry of type Snapshot in CCF's
// layout, public maps in clear and private maps encrypted with the ledger secret for that seqno.
// Decoding authenticates the entry first and then checks every length, version and padding, so a
// snapshot that decodes is exactly what was encoded; the Merkle tree restored from it continues
// the ledger after the snapshot.
//
// Layout (CCF 6.x: src/kv/snapshot.h StoreSnapshot::serialise, src/kv/generic_serialise_wrapper.h,
// src/kv/raw_serialise.h, src/kv/untyped_map.h Map::Snapshot, src/ds/champ_map.h and
// src/kv/map_serializers.h; reader: python/src/ccf/ledger.py PublicDomain._read_snapshot_header).
// All integers little-endian; a "vector" is a u64 byte length then the bytes.
//   entry header, 8 bytes: format 1, flags 0, u48 size of what follows
//   GCM tag (16); GCM IV (12): u64 seqno, u32 view field = 0x80000000 (view 0, snapshot bit; CCF
//     serialises a snapshot with TxID {0, seqno} and sets the IV's snapshot bit)
//   u64 public domain size, public domain, then the encrypted private domain (public domain = AAD)
//   public domain: u8 entry type 1, i64 seqno, i64 max_conflict_version 0 (no claims, no commit
//     evidence), vector hash_at_snapshot (32 bytes: the Merkle leaf of the transaction at seqno),
//     vector view history (u64 per view: entry i = first seqno of view i + 1; a view without
//     transactions repeats the start of the next), then the public maps
//   private domain: the private maps
//   map: vector name, i64 map version (its last change), vector state; the state is, per key,
//     u64 key length, key, zeros to the next multiple of 8, u64 (8 + value length), i64 version,
//     value, zeros to the next multiple of 8. A negative version is a deleted key (CCF keeps such
//     tombstones; its value is empty): decoding drops it.
// The tree: CCF takes snapshots at signature transactions, so the state holds
// `public:ccf.internal.tree` with the tree of every leaf before the snapshot; appending
// hash_at_snapshot to it continues the tree (src/node/history.h init_from_snapshot).
// Where Coco differs: CCF orders a map's keys by their hash (CHAMP), Coco in byte order (so every
// node encodes the same bytes; readers accept any order); Coco refuses tombstones in its own input
// (its store has none).

import { AesGcmEncryption, aesGcmDecrypt } from '../crypto/aes-gcm.js';
import { compareBytes, concatBytes, equalBytes, fromUtf8, isValidUtf8, utf8 } from '../crypto/bytes.js';
import { Sha256Hasher, sha256 } from '../crypto/hash.js';
import { CocoError, invariant } from '../errors.js';
import { ByteReader } from '../kv/byte-reader.js';
import { ByteWriter } from '../kv/byte-writer.js';
import { keyBytes, keyString } from '../kv/sorted-keys.js';
import { CommittedEntry, type CommittedMapState, type SnapshotEntry, type SnapshotMap } from '../kv/store.js';
import { domainOf, type Domain } from '../kv/write-set.js';
import { PieceReader, PieceWriter, type U64Slot } from './byte-pieces.js';
import { DIGEST_BYTES, decodeEntry, encodeIv, entryPieces, EntryType, writePublicDomain, type LedgerEntry } from './entry.js';
import { viewStartVector, type ViewStart } from './ledger-writer.js';
import { MerkleTree } from './merkle-tree.js';
import { decodePrimarySignature, SIGNATURES_MAP, SINGLETON_KEY, TREE_MAP } from './signature.js';
import type { TxId } from './tx-id.js';

/** A map to encode: a decoded snapshot's (keys as bytes) or the store's own (keys as key strings). */
type MapState = SnapshotMap | CommittedMapState;

/** Entry type, seqno and max_conflict_version precede the snapshot header in the public domain. */
const PUBLIC_HEADER_BYTES = 1 + 8 + 8;
/** Keys and values are padded to this alignment in a map's state. */
const STATE_ALIGNMENT = 8;
const VERSION_BYTES = 8;
const ZERO_PADDING = new Uint8Array(STATE_ALIGNMENT);

export interface SnapshotInput {
  txId: TxId;
  /** Every map (see Store.snapshotMaps: keys as key strings); keys are written in the order given. */
  maps: readonly MapState[];
  /** Where each view with transactions starts, oldest first; the last is txId's view. */
  viewHistory: readonly ViewStart[];
  /** The Merkle leaf of the transaction at txId.seqno (a signature transaction). */
  hashAtSnapshot: Uint8Array;
  /** The ledger secret that applies to txId.seqno. */
  key: Uint8Array;
}

export interface DecodedSnapshot {
  /** The seqno, and the view of its transaction (from the view history). */
  txId: TxId;
  /** Every map, sorted by name; keys and values view the snapshot's (or its decryption's) bytes. */
  maps: SnapshotMap[];
  viewHistory: ViewStart[];
  hashAtSnapshot: Uint8Array;
  /** The tree of leaves 0 to seqno (history before the last signature flushed): append the next leaf. */
  tree: MerkleTree;
}

/** Encodes a snapshot in one go (see SnapshotEncoder for one in steps). */
export function encodeSnapshot(input: SnapshotInput): Uint8Array {
  const encoder = new SnapshotEncoder(input);
  while (!encoder.step(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
  return concatBytes(...encoder.finish().pieces);
}

/** A snapshot entry as the pieces it is made of, in order, and its digest (snapshotDigest). */
export interface EncodedSnapshot {
  pieces: Uint8Array[];
  digest: Uint8Array;
}

/** What the encoder does next: write the keys, authenticate the public domain, encrypt the private one, hash the entry. */
type Phase =
  | { name: 'keys' }
  | { name: 'authenticate'; publicDomain: Uint8Array[]; reader: PieceReader; privateDomain: Uint8Array[]; encryption: AesGcmEncryption }
  | { name: 'encrypt'; publicDomain: Uint8Array[]; reader: PieceReader; encrypted: Uint8Array[]; encryption: AesGcmEncryption }
  | { name: 'hash'; pieces: Uint8Array[]; reader: PieceReader; hasher: Sha256Hasher }
  | { name: 'done'; encoded: EncodedSnapshot };

/**
 * Encodes a snapshot a bounded amount at a time, so that a node with a large state can write one
 * between other work: `step(keys, bytes)` until it says done, then `finish()`. Each step writes at
 * most `keys` keys and stops once it wrote `bytes` (the key it is at is written whole), or
 * authenticates, encrypts or hashes at most `bytes`. The maps' entries must not change until the
 * pieces are no longer used (those of Store.snapshotMaps never do). The entry is never joined into
 * one array, and values of KEPT_AS_IS_BYTES_MIN or more are never copied: they are pieces of the
 * public domain, or encrypted as they are.
 */
export class SnapshotEncoder {
  readonly #input: SnapshotInput;
  /** Public maps first: the public domain is the private domain's additional authenticated data. */
  readonly #maps: MapState[];
  readonly #header: Uint8Array;
  readonly #domains: Record<Domain, PieceWriter> = { public: new PieceWriter(), private: new PieceWriter() };
  readonly #gcmIv: Uint8Array;
  #mapIndex = 0;
  #entryIndex = 0;
  /** Where the size of the state of the map being written goes, once it is known, and where the state starts. */
  #state: { size: U64Slot; start: number } | undefined;
  #phase: Phase = { name: 'keys' };
  #handledBytes = 0;

  constructor(input: SnapshotInput) {
    const { txId, hashAtSnapshot } = input;
    if (!Number.isSafeInteger(txId?.seqno) || txId.seqno < 1) badInput(`txId.seqno must be a positive integer, got ${txId?.seqno}`);
    if (!(hashAtSnapshot instanceof Uint8Array) || hashAtSnapshot.length !== DIGEST_BYTES) {
      badInput(`hashAtSnapshot must be the ${DIGEST_BYTES}-byte Merkle leaf of seqno ${txId.seqno}`);
    }
    const views = viewStarts(input.viewHistory, txId.seqno, badInput);
    const lastView = (input.viewHistory.at(-1) as ViewStart).view;
    if (txId.view !== lastView) badInput(`txId.view is ${txId.view}, but the view history ends in view ${lastView}`);
    const maps = sortedByName([...input.maps], badInput);
    restoreTree(maps, txId.seqno, hashAtSnapshot, badInput);
    for (const map of maps) {
      if (typeof map.version !== 'bigint' || map.version < 1n || map.version > BigInt(txId.seqno)) {
        badInput(`map '${map.name}' has version ${String(map.version)}, outside 1 to ${txId.seqno}`);
      }
    }
    this.#maps = [...maps.filter((map) => domainOf(map.name) === 'public'), ...maps.filter((map) => domainOf(map.name) === 'private')];
    const header = new ByteWriter(64 + views.length * 8);
    writePublicDomain(header, { entryType: EntryType.Snapshot, seqno: txId.seqno, maps: [] }).sizedBytes(hashAtSnapshot).u64(views.length * 8);
    for (const start of views) header.u64(start);
    this.#header = header.finish();
    this.#gcmIv = encodeIv({ view: 0, seqno: txId.seqno }, true);
    this.#input = input;
  }

  /** Bytes handled so far: written, then authenticated and encrypted, then hashed. */
  get handledBytes(): number {
    return this.#handledBytes;
  }

  /** One more bounded step (see the class); true once `finish` may be called. */
  step(maxKeys: number, maxBytes: number): boolean {
    invariant(maxKeys >= 1 && maxBytes >= 1, 'a snapshot step writes at least a key or a byte');
    const phase = this.#phase;
    if (phase.name === 'keys') this.#writeKeys(maxKeys, maxBytes);
    else if (phase.name === 'authenticate') this.#authenticate(phase, maxBytes);
    else if (phase.name === 'encrypt') this.#encrypt(phase, maxBytes);
    else if (phase.name === 'hash') this.#hash(phase, maxBytes);
    return this.#phase.name === 'done';
  }

  /** The views of the next `maxBytes` at most of `reader`'s pieces, counted as handled. */
  #read(reader: PieceReader, maxBytes: number): Uint8Array[] {
    const before = reader.bytesRead;
    const views = reader.read(maxBytes);
    this.#handledBytes += reader.bytesRead - before;
    return views;
  }

  #authenticate(phase: Extract<Phase, { name: 'authenticate' }>, maxBytes: number): void {
    const { publicDomain, reader, privateDomain, encryption } = phase;
    for (const view of this.#read(reader, maxBytes)) encryption.authenticate(view);
    if (reader.atEnd) this.#phase = { name: 'encrypt', publicDomain, reader: new PieceReader(privateDomain), encrypted: [], encryption };
  }

  #encrypt(phase: Extract<Phase, { name: 'encrypt' }>, maxBytes: number): void {
    const { publicDomain, reader, encrypted, encryption } = phase;
    const ciphertexts = this.#read(reader, maxBytes).map((view) => encryption.update(view));
    // One piece per step: a state of small keys would otherwise leave a piece per chunk of them.
    if (ciphertexts.length > 0) encrypted.push(ciphertexts.length === 1 ? (ciphertexts[0] as Uint8Array) : concatBytes(...ciphertexts));
    if (!reader.atEnd) return;
    const entry = entryPieces({ flags: 0, gcmTag: encryption.final(), gcmIv: this.#gcmIv, publicDomain, encryptedPrivateDomain: encrypted });
    this.#phase = { name: 'hash', pieces: entry, reader: new PieceReader(entry), hasher: new Sha256Hasher() };
  }

  #hash(phase: Extract<Phase, { name: 'hash' }>, maxBytes: number): void {
    const { pieces, reader, hasher } = phase;
    for (const view of this.#read(reader, maxBytes)) hasher.update(view);
    if (reader.atEnd) this.#phase = { name: 'done', encoded: { pieces, digest: hasher.digest() } };
  }

  #writeKeys(maxKeys: number, maxBytes: number): void {
    let keys = 0;
    const startBytes = this.#handledBytes;
    while (this.#mapIndex < this.#maps.length && keys < maxKeys && this.#handledBytes - startBytes < maxBytes) {
      const map = this.#maps[this.#mapIndex] as MapState;
      const domain = this.#domains[domainOf(map.name)];
      const before = domain.size;
      if (this.#state === undefined) {
        // The state's size is written once the state is: its keys go straight into the domain.
        domain.sizedBytes(utf8(map.name)).i64(map.version);
        this.#state = { size: domain.u64Slot(), start: domain.size };
      }
      if (this.#entryIndex < map.entries.length) {
        writeKey(domain, map, map.entries[this.#entryIndex] as MapState['entries'][number]);
        this.#entryIndex += 1;
        keys += 1;
      }
      if (this.#entryIndex === map.entries.length) {
        domain.setU64(this.#state.size, domain.size - this.#state.start);
        this.#state = undefined;
        this.#mapIndex += 1;
        this.#entryIndex = 0;
      }
      this.#handledBytes += domain.size - before;
    }
    if (this.#mapIndex < this.#maps.length) return;
    const publicDomain = [this.#header, ...this.#domains.public.finish()];
    const encryption = new AesGcmEncryption(this.#input.key, this.#gcmIv);
    this.#phase = { name: 'authenticate', publicDomain, reader: new PieceReader(publicDomain), privateDomain: this.#domains.private.finish(), encryption };
  }

  /** The snapshot entry's pieces and digest; `step` must have said it is ready. */
  finish(): EncodedSnapshot {
    invariant(this.#phase.name === 'done', 'a snapshot is finished after its last step');
    return this.#phase.encoded;
  }
}

/** What the snapshot evidence records and the evidence transaction's claims digest: SHA-256 of the whole entry. */
export function snapshotDigest(snapshot: Uint8Array): Uint8Array {
  return sha256(snapshot);
}

/**
 * Authenticates and decodes a snapshot entry (exactly one entry: a committed file's receipt must be
 * split off first). `keyFor(seqno)` gives the ledger secret for the snapshot's seqno; with
 * `'public only'` the private domain is neither decrypted nor authenticated (the caller has checked
 * the snapshot's digest, as a committed snapshot's receipt does) and only the public maps are
 * decoded. Throws SnapshotMalformed or DecryptionFailed, naming what is wrong.
 */
export function decodeSnapshot(bytes: Uint8Array, keyFor: ((seqno: number) => Uint8Array) | 'public only'): DecodedSnapshot {
  const { entry, next } = decodeSnapshotEntry(bytes);
  if (next !== bytes.length) malformed(`${bytes.length - next} bytes follow the snapshot entry (a committed file? split its receipt off first)`);
  const seqno = entry.txId.seqno;
  let privateDomain: Uint8Array | undefined;
  try {
    if (keyFor !== 'public only') privateDomain = aesGcmDecrypt(keyFor(seqno), entry.gcmIv, entry.encryptedPrivateDomain, entry.gcmTag, entry.publicDomain);
  } catch (cause) {
    if (!(cause instanceof CocoError && cause.code === 'DecryptionFailed')) throw cause;
    throw new CocoError(
      'DecryptionFailed',
      `snapshot at seqno ${seqno} does not decrypt with the ledger secret for seqno ${seqno} (wrong secret, or the snapshot was altered)`,
      { cause },
    );
  }

  const pub = new ByteReader(entry.publicDomain, 'SnapshotMalformed', `snapshot at seqno ${seqno}`, PUBLIC_HEADER_BYTES);
  const hashAtSnapshot = pub.sizedBytes('hash at snapshot');
  if (hashAtSnapshot.length !== DIGEST_BYTES) pub.failField(`hash at snapshot is ${hashAtSnapshot.length} bytes, not ${DIGEST_BYTES}`);
  const viewBytes = pub.sizedBytes('view history');
  if (viewBytes.length % 8 !== 0) pub.failField(`view history is ${viewBytes.length} bytes, not a whole number of u64 seqnos`);
  const viewHistory = viewHistoryOf(viewBytes, seqno);
  const privateMaps = privateDomain === undefined ? [] : readMaps(new ByteReader(privateDomain, 'SnapshotMalformed', `private domain of the snapshot at seqno ${seqno}`), 'private', seqno);
  const maps = sortedByName([...readMaps(pub, 'public', seqno), ...privateMaps], malformed);
  const tree = restoreTree(maps, seqno, hashAtSnapshot, malformed);
  const view = (viewHistory.at(-1) as ViewStart).view;
  return { txId: { view, seqno }, maps, viewHistory, hashAtSnapshot, tree };
}

/** The snapshot entry at the start of `bytes` and the offset just past it, after structural checks. */
export function decodeSnapshotEntry(bytes: Uint8Array): { entry: LedgerEntry; next: number } {
  let decoded: { entry: LedgerEntry; next: number };
  try {
    decoded = decodeEntry(bytes);
  } catch (cause) {
    if (!(cause instanceof CocoError && cause.code === 'LedgerEntryMalformed')) throw cause;
    throw new CocoError('SnapshotMalformed', `snapshot entry is malformed: ${cause.message}`, { cause });
  }
  const { entry } = decoded;
  if (entry.entryType !== EntryType.Snapshot) malformed(`the entry has type ${EntryType[entry.entryType]}, not Snapshot`);
  if (!entry.isSnapshotIv || entry.txId.view !== 0) malformed('the GCM IV must carry the snapshot bit and view 0');
  // The entry header is outside the authenticated data: only the value CCF writes is accepted.
  if (entry.flags !== 0) malformed(`entry flags are 0x${entry.flags.toString(16)}; a snapshot has none`);
  return decoded;
}

/** CCF's view history vector from view starts, checking that they are in order and end by `seqno`. */
function viewStarts(history: readonly ViewStart[], seqno: number, fail: (reason: string) => never): number[] {
  if (!Array.isArray(history) || history.length === 0) fail('the view history must list at least the view of the snapshot');
  let previous: ViewStart | undefined;
  for (const start of history) {
    const { view, fromSeqno } = start;
    if (!Number.isSafeInteger(view) || view < 1 || !Number.isSafeInteger(fromSeqno) || fromSeqno < 1 || fromSeqno > seqno) {
      fail(`view start ${JSON.stringify(start)} needs a view from 1 and a first seqno from 1 to ${seqno}`);
    }
    if (previous !== undefined && (view <= previous.view || fromSeqno <= previous.fromSeqno)) {
      fail(`view starts must rise in both view and seqno: ${JSON.stringify(start)} follows ${JSON.stringify(previous)}`);
    }
    previous = start;
  }
  return viewStartVector(history);
}

/** View starts from CCF's vector: views that repeat the next one's start hold no transactions. */
function viewHistoryOf(bytes: Uint8Array, seqno: number): ViewStart[] {
  const reader = new ByteReader(bytes, 'SnapshotMalformed', `view history of the snapshot at seqno ${seqno}`);
  const starts: number[] = [];
  while (!reader.atEnd) {
    const start = reader.u64(`start of view ${starts.length + 1}`);
    const previous = starts.at(-1) ?? 1;
    if (start < BigInt(previous) || start > BigInt(seqno)) {
      reader.failField(`view ${starts.length + 1} starts at seqno ${start}, outside ${previous} to ${seqno}`);
    }
    starts.push(Number(start));
  }
  if (starts.length === 0) malformed('the view history is empty: it must include the view of the snapshot');
  const history: ViewStart[] = [];
  starts.forEach((fromSeqno, i) => {
    if (starts[i + 1] !== fromSeqno) history.push({ view: i + 1, fromSeqno });
  });
  return history;
}

/** Sorts `maps` in place by name (UTF-8 byte order, as CCF's store orders them), refusing a name twice. */
function sortedByName<M extends { name: string }>(maps: M[], fail: (reason: string) => never): M[] {
  maps.sort((a, b) => compareBytes(utf8(a.name), utf8(b.name)));
  for (let i = 1; i < maps.length; i++) {
    const name = (maps[i] as M).name;
    if (name === (maps[i - 1] as M).name) fail(`map '${name}' appears twice`);
  }
  return maps;
}

function writeKey(writer: PieceWriter, map: MapState, entry: SnapshotEntry | CommittedEntry): void {
  const { key, version } = entry;
  if (typeof version !== 'bigint' || version < 1n || version > map.version) {
    badInput(`a key of map '${map.name}' has version ${String(version)}, outside 1 to the map's ${map.version}`);
  }
  // The store keeps keys and short values as latin1 strings, one char per byte: written as they are, never converted.
  const value = entry instanceof CommittedEntry ? entry.data : entry.value;
  writeBytesOrLatin1(writer.u64(key.length), key).bytes(ZERO_PADDING.subarray(0, padding(key.length)));
  writeBytesOrLatin1(writer.u64(VERSION_BYTES + value.length).i64(version), value).bytes(ZERO_PADDING.subarray(0, padding(value.length)));
}

function writeBytesOrLatin1(writer: PieceWriter, data: Uint8Array | string): PieceWriter {
  return typeof data === 'string' ? writer.latin1(data) : writer.bytes(data);
}

function readMaps(reader: ByteReader, domain: Domain, seqno: number): SnapshotMap[] {
  const maps: SnapshotMap[] = [];
  while (!reader.atEnd) {
    const nameBytes = reader.sizedBytes('map name');
    if (nameBytes.length === 0 || !isValidUtf8(nameBytes)) reader.failField('map name is empty or not UTF-8');
    const name = fromUtf8(nameBytes);
    if (domainOf(name) !== domain) reader.fail(`map '${name}' is in the ${domain} domain but is not ${domain}`);
    const version = reader.i64(`version of map '${name}'`);
    if (version < 1n || version > BigInt(seqno)) reader.failField(`map '${name}' has version ${version}, outside 1 to ${seqno}`);
    const state = new ByteReader(reader.sizedBytes(`state of map '${name}'`), 'SnapshotMalformed', `state of map '${name}'`);
    maps.push({ name, version, entries: readEntries(state, name, version) });
  }
  return maps;
}

function readEntries(state: ByteReader, name: string, mapVersion: bigint): SnapshotEntry[] {
  const entries: SnapshotEntry[] = [];
  const seen = new Set<string>();
  while (!state.atEnd) {
    const key = state.sizedBytes('key');
    readPadding(state, key.length);
    const size = state.u64Size('value size');
    if (size < VERSION_BYTES) state.failField(`value size ${size} is smaller than its ${VERSION_BYTES}-byte version`);
    const version = state.i64('key version');
    const value = state.bytesView(size - VERSION_BYTES, 'value');
    readPadding(state, value.length);
    const k = keyString(key);
    if (seen.has(k)) state.fail(`map '${name}' holds a key twice`);
    seen.add(k);
    const written = version < 0n ? -version : version;
    if (written < 1n || written > mapVersion) state.fail(`a key has version ${version}, outside 1 to the map's ${mapVersion}`);
    if (version < 0n) {
      if (value.length !== 0) state.fail(`a deleted key (version ${version}) carries a value`);
      continue;
    }
    entries.push({ key, value, version });
  }
  return entries;
}

function readPadding(reader: ByteReader, length: number): void {
  const pad = reader.bytesView(padding(length), 'padding');
  if (pad.some((byte) => byte !== 0)) reader.failField('padding bytes must be zero');
}

function padding(length: number): number {
  return (STATE_ALIGNMENT - (length % STATE_ALIGNMENT)) % STATE_ALIGNMENT;
}

/**
 * The tree after the snapshot: the tree the signature at `seqno` stored (leaves 0 to seqno - 1,
 * signed by that signature) with `hashAtSnapshot` appended as leaf `seqno`.
 */
function restoreTree(maps: readonly MapState[], seqno: number, hashAtSnapshot: Uint8Array, fail: (reason: string) => never): MerkleTree {
  const treeValue = singletonValue(maps, TREE_MAP);
  const signatureValue = singletonValue(maps, SIGNATURES_MAP);
  if (treeValue === undefined || signatureValue === undefined) {
    fail(`the state has no ${TREE_MAP} or ${SIGNATURES_MAP}: snapshots are taken at signature transactions, which write both`);
  }
  let tree: MerkleTree;
  let signature: ReturnType<typeof decodePrimarySignature>;
  try {
    tree = MerkleTree.deserialize(treeValue);
    signature = decodePrimarySignature(signatureValue);
  } catch (cause) {
    if (!(cause instanceof CocoError)) throw cause;
    fail(`the signature tables do not decode: ${cause.message}`);
  }
  if (signature.json.seqno !== seqno || tree.size !== seqno) {
    fail(`the last signature is at seqno ${signature.json.seqno} over ${tree.size} leaves, not at the snapshot's seqno ${seqno} over ${seqno}`);
  }
  if (!equalBytes(tree.rootAt(seqno), signature.root)) fail(`the tree in ${TREE_MAP} does not have the root the signature at seqno ${seqno} signed`);
  tree.append(hashAtSnapshot);
  return tree;
}

function singletonValue(maps: readonly MapState[], name: string): Uint8Array | undefined {
  const entries = maps.find((map) => map.name === name)?.entries;
  const entry = entries?.length === 1 ? entries[0] : undefined;
  if (entry === undefined) return undefined;
  const key = typeof entry.key === 'string' ? keyBytes(entry.key) : entry.key;
  return equalBytes(key, SINGLETON_KEY) ? entry.value : undefined;
}

function malformed(reason: string): never {
  throw new CocoError('SnapshotMalformed', `snapshot is malformed: ${reason}`);
}

function badInput(reason: string): never {
  throw new CocoError('InvalidArgument', `cannot encode the snapshot: ${reason}`);
}
