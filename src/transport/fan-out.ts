import { PassThrough, type Readable } from 'node:stream';

/**
 * Copies one readable (a file, a pipe) into `count` streams, one per host, reading it once: it
 * reads on only when every copy has taken the last chunk, so the slowest host sets the pace and
 * memory stays bounded.
 */
export function fanOut(source: Readable, count: number): Readable[] {
  // A copy may fail before its host's channel reads it: the error stays on the copy
  // (`errored`) for the reader to find, instead of crashing the process as an unhandled event.
  const copies = Array.from({ length: count }, () =>
    new PassThrough().on('error', () => undefined),
  );
  let waiting = 0;
  const resume = () => {
    waiting -= 1;
    if (waiting === 0) source.resume();
  };
  source.on('data', (chunk: Buffer) => {
    for (const copy of copies) {
      if (!copy.write(chunk)) {
        waiting += 1;
        copy.once('drain', resume);
      }
    }
    if (waiting > 0) source.pause();
  });
  source.on('end', () => copies.forEach((copy) => copy.end()));
  source.on('error', (error) => copies.forEach((copy) => copy.destroy(error)));
  if (count === 0) source.resume();
  return copies;
}
