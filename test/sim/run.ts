// Entry point of `npm run sim` (see cli.ts). `node --test dist/test/` runs every file under that
// folder, this one too: without arguments it only prints its usage, so `npm test` stays quick.

import { main } from './cli.js';

const tty = process.stdout.isTTY === true;
let progressShown = false;

process.exitCode = main(process.argv.slice(2), {
  out: (line) => {
    if (progressShown) process.stdout.write('\n');
    progressShown = false;
    process.stdout.write(`${line}\n`);
  },
  progress: (line) => {
    // On a terminal the progress line rewrites itself; in a log, each is a line of its own.
    process.stdout.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    progressShown = tty;
  },
});
