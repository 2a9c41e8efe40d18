import { PassThrough, type Readable } from 'node:stream';

/**
 * Copies one readable (a file, a pipe) into `count` streams, one per host, reading it once: it
 * reads on only when every copy has taken the last chunk, so the slowest host sets the pace and
 * memory stays bounded.
 */
export function fanOut(source: Readable, count: number): Readable[] {
  const copies = Array.from({ length: count }, () => new PassThrough());
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
