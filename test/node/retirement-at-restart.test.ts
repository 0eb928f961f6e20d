// Which restarts a node's disk forbids: one whose removal from the configuration committed (by its
// ledger's commit), one started from a snapshot that records it Retired, or one the service told
// that its removal committed (its retirement marker); never a joiner not yet in a configuration, nor
// a node whose removal is still uncommitted and that heard nothing of it.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { utf8 } from '../../src/crypto/bytes.js';
import { encodeJson, Tables } from '../../src/governance/builtin-tables.js';
import type { LogEntry } from '../../src/consensus/log-entry.js';
import { Store } from '../../src/kv/store.js';
import type { LoadedSnapshot } from '../../src/node/snapshot-directory.js';
import { describeRetirement, retirementOf } from '../../src/node/retirement-at-restart.js';
import { writeRetirementMarker } from '../../src/node/retirement-marker-file.js';

const SELF = 'self';

function configurationAt(seqno: number, nodes: string[], view = 2): LogEntry {
  return { seqno, view, data: new Uint8Array(), isSignature: false, configuration: nodes };
}

function storeWithStatus(status: string | undefined): Store {
  const store = new Store();
  if (status === undefined) return store;
  const tx = store.beginTransaction();
  tx.map(Tables.nodesInfo).set(utf8(SELF), encodeJson({ status }));
  store.commit(tx, 1n);
  return store;
}

const SNAPSHOT = { txId: { view: 4, seqno: 90 } } as LoadedSnapshot;

const dir = mkdtempSync(join(tmpdir(), 'coco-retirement-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const NO_MARKER = join(dir, 'none.retired.json');
const MARKER = join(dir, 'self.retired.json');
writeRetirementMarker(MARKER, { nodeId: SELF, learntFrom: 'node 5a3c lists it as removable' });
const OTHER_NODE_MARKER = join(dir, 'other.retired.json');
writeRetirementMarker(OTHER_NODE_MARKER, { nodeId: 'other', learntFrom: 'node 5a3c lists it as removable' });
const TOLD = ': the service told it its removal committed before it stopped (node 5a3c lists it as removable)';

const CASES: { name: string; base?: string[]; entries: LogEntry[]; commit: number; snapshot?: LoadedSnapshot; status?: string; marker?: string; retiredAt: string | undefined }[] = [
  { name: 'removed by a committed configuration', entries: [configurationAt(1, [SELF]), configurationAt(20, ['other'], 3)], commit: 21, retiredAt: ' at 3.20: its own ledger records its removal, committed' },
  { name: 'removed, then more configurations without it', entries: [configurationAt(1, [SELF, 'a']), configurationAt(20, ['a']), configurationAt(40, ['a', 'b'])], commit: 41, retiredAt: ' at 2.20: its own ledger records its removal, committed' },
  { name: 'its removal not committed yet', entries: [configurationAt(1, [SELF]), configurationAt(20, ['other'])], commit: 19, retiredAt: undefined },
  { name: 'still in the configuration', entries: [configurationAt(1, ['a']), configurationAt(20, ['a', SELF])], commit: 25, retiredAt: undefined },
  { name: 'a joiner in no configuration yet', entries: [configurationAt(1, ['a'])], commit: 5, status: 'Pending', retiredAt: undefined },
  { name: 'held by its snapshot, removed after it', base: [SELF, 'a'], snapshot: SNAPSHOT, entries: [configurationAt(95, ['a'], 4)], commit: 96, retiredAt: ' at 4.95: its own ledger records its removal, committed' },
  { name: 'started from a snapshot that records it Retired', base: ['a'], snapshot: SNAPSHOT, entries: [], commit: 90, status: 'Retired', retiredAt: ' before 4.90 (the snapshot it started from records it Retired): its own ledger records its removal, committed' },
  { name: 'started from a snapshot as a joiner', base: ['a'], snapshot: SNAPSHOT, entries: [], commit: 90, status: 'Pending', retiredAt: undefined },
  { name: 'its removal uncommitted here, but the service told it', entries: [configurationAt(1, [SELF]), configurationAt(20, ['other'])], commit: 19, marker: MARKER, retiredAt: ` at 2.20${TOLD}` },
  { name: 'told by the service, its removal not in its ledger', entries: [configurationAt(1, [SELF])], commit: 19, marker: MARKER, retiredAt: TOLD },
  { name: 'a marker left by another node', entries: [configurationAt(1, [SELF]), configurationAt(20, ['other'])], commit: 19, marker: OTHER_NODE_MARKER, retiredAt: undefined },
];

for (const c of CASES) {
  test(`at restart, ${c.name}: ${c.retiredAt === undefined ? 'no retirement' : `retired${c.retiredAt}`}`, () => {
    const ledger = { baseConfiguration: c.base ?? [], entries: c.entries, snapshot: c.snapshot, store: storeWithStatus(c.status) };
    const retirement = retirementOf(SELF, ledger, c.commit, c.marker ?? NO_MARKER);
    assert.equal(retirement && describeRetirement(retirement), c.retiredAt);
  });
}
