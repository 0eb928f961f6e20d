// A stand-in for a ServerResponse that records what is written to it, turn by turn of the event
// loop (each piece also emitted as 'piece'), and whose socket is full after a given number of
// pieces until the test drains it.

import { EventEmitter } from 'node:events';
import { setImmediate as turn } from 'node:timers/promises';
import type { FileSink } from '../../src/rpc/file-body.js';

/** A response whose socket takes `room` pieces before it is full; `drain` empties it. */
export class FakeResponse extends EventEmitter implements FileSink {
  destroyed = false;
  readonly writes: Uint8Array[] = [];
  ended = false;
  /** Writes in the current turn of the event loop, and the most in any turn. */
  writesThisTurn = 0;
  maxWritesPerTurn = 0;

  constructor(private room: number) {
    super();
  }

  write(piece: Uint8Array): boolean {
    this.record(piece);
    this.room -= 1;
    return this.room > 0;
  }

  end(piece?: Uint8Array): void {
    if (piece !== undefined) this.record(piece);
    this.ended = true;
  }

  /** The client gone: as a ServerResponse whose socket closed. */
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }

  drain(room: number): void {
    this.room = room;
    this.emit('drain');
  }

  private record(piece: Uint8Array): void {
    this.writes.push(piece);
    this.emit('piece', piece);
    this.writesThisTurn += 1;
    this.maxWritesPerTurn = Math.max(this.maxWritesPerTurn, this.writesThisTurn);
  }
}

/** Turns of the event loop until `done()` (at most 10,000), counting writes per turn. */
export async function turnsUntil(response: FakeResponse, done: () => boolean): Promise<void> {
  for (let turns = 0; !done() && turns < 10_000; turns++) {
    response.writesThisTurn = 0;
    await turn();
  }
}
