// CCF's serialization of one security domain of a write set: a sequence of maps, each
// `name, read_version, reads, writes, removes` with u64 little-endian counts and lengths.
// Decoding then encoding any CCF entry yields the identical bytes.

import { fromUtf8, isValidUtf8, utf8 } from '../crypto/bytes.js';
import type { ByteReader } from './byte-reader.js';
import type { ByteWriter } from './byte-writer.js';
import type { MapChanges, MapRead, MapWrite } from './write-set.js';

export function encodeMapChanges(writer: ByteWriter, maps: readonly MapChanges[]): void {
  for (const map of maps) {
    writer.sizedBytes(utf8(map.name));
    writer.i64(map.readVersion);
    writer.u64(map.reads.length);
    for (const read of map.reads) writer.sizedBytes(read.key).i64(read.version);
    writer.u64(map.writes.length);
    for (const write of map.writes) writer.sizedBytes(write.key).sizedBytes(write.value);
    writer.u64(map.removes.length);
    for (const key of map.removes) writer.sizedBytes(key);
  }
}

/** Reads maps until the reader's end. Keys and values are views into the reader's bytes. */
export function decodeMapChanges(reader: ByteReader): MapChanges[] {
  const maps: MapChanges[] = [];
  while (!reader.atEnd) {
    const nameBytes = reader.sizedBytes('map name');
    if (nameBytes.length === 0 || !isValidUtf8(nameBytes)) reader.failField('map name is empty or not UTF-8');
    const name = fromUtf8(nameBytes);
    const readVersion = reader.i64(`read version of ${name}`);
    const readCount = reader.u64Size(`read count of ${name}`);
    const reads: MapRead[] = [];
    for (let i = 0; i < readCount; i++) {
      reads.push({ key: reader.sizedBytes(`read key of ${name}`), version: reader.i64(`read version of ${name}`) });
    }
    const writeCount = reader.u64Size(`write count of ${name}`);
    const writes: MapWrite[] = [];
    for (let i = 0; i < writeCount; i++) {
      writes.push({ key: reader.sizedBytes(`write key of ${name}`), value: reader.sizedBytes(`write value of ${name}`) });
    }
    const removeCount = reader.u64Size(`remove count of ${name}`);
    const removes: Uint8Array[] = [];
    for (let i = 0; i < removeCount; i++) removes.push(reader.sizedBytes(`remove key of ${name}`));
    maps.push({ name, readVersion, reads, writes, removes });
  }
  return maps;
}
