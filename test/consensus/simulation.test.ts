import assert from 'node:assert/strict';
import test from 'node:test';
import type { TxId } from '../../src/ledger/tx-id.js';
import { SimNetwork, type Faults } from './sim-network.js';

const SEEDS_PER_SIZE = 30;
const FAULT_STEPS = 5000;
const STATUS_CHECK_EVERY_STEPS = 100;
/** Rounds (deliver all, flush all, tick all) after healing within which a new proposal must commit everywhere. */
const LIVENESS_ROUNDS_MAX = 300;

const FAULTS: Faults = { lossRate: 0.1, duplicateRate: 0.05, partitionRate: 0.01, crashRate: 0.01 };

/** Heals everything, then requires a leader and a fresh signed proposal committed on every node. */
function assertLiveness(sim: SimNetwork): void {
  sim.healAll();
  let marker: TxId | undefined;
  for (let round = 0; round < LIVENESS_ROUNDS_MAX; round++) {
    sim.round();
    const leader = sim.leadersNow()[0];
    if (leader === undefined) continue;
    if (marker === undefined || leader.raft?.statusOf(marker) === 'Invalid') {
      marker = sim.propose(leader).at(-1);
      if (marker && leader.raft?.entry(marker.seqno)?.isSignature !== true) {
        marker = leader.raft?.propose([{ data: new Uint8Array([1]), isSignature: true }])[0];
        sim.drain(leader);
      }
      continue;
    }
    const target = marker;
    if (sim.live().every((node) => node.raft?.statusOf(target) === 'Committed')) {
      sim.checkStatuses();
      assert.ok(sim.live().every((node) => (node.raft?.commitSeqno ?? 0) >= sim.committedSeqno), `seed ${sim.seed}: a node's commit is behind the committed log`);
      return;
    }
  }
  assert.fail(`seed ${sim.seed}: no proposal committed on every node within ${LIVENESS_ROUNDS_MAX} rounds after healing`);
}

function runSeed(seed: number, nodeCount: number): void {
  const sim = new SimNetwork(seed, nodeCount);
  try {
    for (let step = 0; step < FAULT_STEPS; step++) {
      sim.step(FAULTS);
      if (step % STATUS_CHECK_EVERY_STEPS === 0) sim.checkStatuses();
    }
    assertLiveness(sim);
  } catch (error) {
    if (error instanceof Error && !error.message.includes(`seed ${seed}`)) error.message = `seed ${seed} step ${sim.stepCount} (N=${nodeCount}): ${error.message}`;
    throw error;
  }
  assert.ok(sim.committedSeqno > 0, `seed ${seed}: nothing committed during the run`);
}

for (const nodeCount of [3, 5]) {
  test(`simulated ${nodeCount}-node networks under loss, duplication, reordering, partitions and crashes stay safe and live (${SEEDS_PER_SIZE} seeds)`, () => {
    for (let seed = 1; seed <= SEEDS_PER_SIZE; seed++) runSeed(nodeCount * 1000 + seed, nodeCount);
  });
}
