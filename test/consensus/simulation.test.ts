import assert from 'node:assert/strict';
import test from 'node:test';
import type { TxId } from '../../src/ledger/tx-id.js';
import { SimNetwork, type Faults, type SimShape } from './sim-network.js';

const SEEDS_PER_SHAPE = 50;
const FAULT_STEPS = 5000;
const STATUS_CHECK_EVERY_STEPS = 100;
/** Rounds (deliver all, flush all, tick all) after healing within which a new proposal must commit everywhere. */
const LIVENESS_ROUNDS_MAX = 300;

const FAULTS: Faults = { lossRate: 0.1, duplicateRate: 0.05, partitionRate: 0.01, crashRate: 0.01 };

/** Heals everything, then requires a leader and a fresh signed proposal committed on every node of its configurations. */
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
    // Joiners not yet added and retired nodes need not hear of it.
    const members = new Set(leader.raft?.configurations.flat());
    const nodes = sim.live().filter((node) => members.has(node.id));
    if (nodes.every((node) => node.raft?.statusOf(target) === 'Committed')) {
      sim.checkStatuses();
      assert.ok(nodes.every((node) => (node.raft?.commitSeqno ?? 0) >= sim.committedSeqno), `seed ${sim.seed}: a node's commit is behind the committed log`);
      return;
    }
  }
  assert.fail(`seed ${sim.seed}: no proposal committed on every node within ${LIVENESS_ROUNDS_MAX} rounds after healing`);
}

function runSeed(seed: number, shape: SimShape): SimNetwork {
  const sim = new SimNetwork(seed, shape);
  try {
    for (let step = 0; step < FAULT_STEPS; step++) {
      sim.step(FAULTS);
      if (step % STATUS_CHECK_EVERY_STEPS === 0) sim.checkStatuses();
    }
    assertLiveness(sim);
  } catch (error) {
    if (error instanceof Error && !error.message.includes(`seed ${seed}`)) error.message = `seed ${seed} step ${sim.stepCount} (${JSON.stringify(shape)}): ${error.message}`;
    throw error;
  }
  assert.ok(sim.committedSeqno > 0, `seed ${seed}: nothing committed during the run`);
  return sim;
}

for (const size of [3, 5]) {
  test(`simulated ${size}-node networks under loss, duplication, reordering, partitions and crashes stay safe and live (${SEEDS_PER_SHAPE} seeds)`, () => {
    for (let seed = 1; seed <= SEEDS_PER_SHAPE; seed++) runSeed(size * 1000 + seed, { size, growing: false });
  });

  test(`simulated networks growing from 1 to ${size} nodes by joins, and retiring nodes, under the same faults stay safe and live (${SEEDS_PER_SHAPE} seeds)`, () => {
    const sims = Array.from({ length: SEEDS_PER_SHAPE }, (_, i) => runSeed(size * 1000 + 500 + i, { size, growing: true }));
    // The faults must not keep the runs from exercising what they are for.
    const grown = sims.filter((sim) => sim.largestCommittedConfiguration === size).length;
    const retiring = sims.filter((sim) => sim.retirementsCommitted > 0).length;
    assert.ok(grown >= SEEDS_PER_SHAPE / 2, `only ${grown} of ${SEEDS_PER_SHAPE} runs committed a ${size}-node configuration`);
    assert.ok(retiring >= SEEDS_PER_SHAPE / 4, `only ${retiring} of ${SEEDS_PER_SHAPE} runs committed a retirement`);
  });
}
