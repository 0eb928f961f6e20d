// A keep-alive HTTPS client in a process of its own (so that its reads and writes race the
// server's event loop as a real client's do): ROUNDS times, one POST of BODY_BYTES in one write,
// then its whole answer read before the next. Prints one JSON line: each answer's status line and
// body length. Run: node large-answer-client.js PORT ROUNDS BODY_BYTES, the CA PEM in COCO_TEST_CA.

import { connect, type TLSSocket } from 'node:tls';

/** Reads one answer with a content-length from `socket`, keeping what follows it in `buffered`. */
function readAnswer(socket: TLSSocket, buffered: { bytes: Buffer }): Promise<{ status: string; bodyBytes: number }> {
  return new Promise((resolve, reject) => {
    const parsed = (): boolean => {
      const headEnd = buffered.bytes.indexOf('\r\n\r\n');
      if (headEnd < 0) return false;
      const head = buffered.bytes.subarray(0, headEnd).toString('latin1');
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
      if (buffered.bytes.length < headEnd + 4 + length) return false;
      buffered.bytes = buffered.bytes.subarray(headEnd + 4 + length);
      resolve({ status: head.split('\r\n')[0]!, bodyBytes: length });
      return true;
    };
    const onData = (chunk: Buffer): void => {
      buffered.bytes = Buffer.concat([buffered.bytes, chunk]);
      if (parsed()) stop();
    };
    const onClose = (): void => {
      stop();
      reject(new Error(`closed before an answer: ${JSON.stringify(buffered.bytes.subarray(0, 300).toString('latin1'))}`));
    };
    const stop = (): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    if (parsed()) return;
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

const [port, rounds, bodyBytes] = process.argv.slice(2).map(Number) as [number, number, number];
const socket = connect({ host: '127.0.0.1', port, ca: process.env.COCO_TEST_CA, servername: '127.0.0.1' });
await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
const answers: { status: string; bodyBytes: number }[] = [];
const buffered = { bytes: Buffer.alloc(0) };
const body = 'b'.repeat(bodyBytes);
try {
  for (let round = 0; round < rounds; round++) {
    socket.write(`POST /node/large HTTP/1.1\r\nhost: x\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    answers.push(await readAnswer(socket, buffered));
  }
} catch (error) {
  answers.push({ status: (error as Error).message, bodyBytes: 0 });
}
socket.destroy();
process.stdout.write(`${JSON.stringify(answers)}\n`);
