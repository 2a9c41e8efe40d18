import type { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, it } from 'vitest';
import { lines } from '../../src/operators/lines.js';
import type { HostEvent } from '../../src/types.js';
import { exit, stderr, stdout, testHost } from '../support/fake-transport.js';
import { createTestScheduler } from './test-scheduler.js';

const web1 = testHost('web1');
const web2 = testHost('web2');
const on = (host: typeof web1, event: ReturnType<typeof stdout>): HostEvent => ({ ...event, host });

const events = {
  a: on(web1, stdout('one\ntw')),
  b: on(web2, stdout('alpha\n')),
  c: on(web1, stdout('o\nthree')),
  d: on(web1, exit(0)),
  e: on(web2, stderr('oops\n')),
  f: { kind: 'stdout', host: web1, data: Buffer.from('é\n').subarray(0, 1) } as HostEvent,
  g: { kind: 'stdout', host: web1, data: Buffer.from('é\n').subarray(1) } as HostEvent,
  x: on(web2, exit(1)),
};
const out = {
  o: { host: web1, stream: 'stdout', text: 'one' },
  t: { host: web1, stream: 'stdout', text: 'two' },
  h: { host: web1, stream: 'stdout', text: 'three' },
  A: { host: web2, stream: 'stdout', text: 'alpha' },
  E: { host: web2, stream: 'stderr', text: 'oops' },
  é: { host: web1, stream: 'stdout', text: 'é' },
};

describe('lines', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  it('should emit each complete line per host, and a last partial line at exit', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-b-c-e-d-x|', events);
      const sourceSubs = '   ^-----------!';
      const expected = '     -o-A-t-E-h--|';

      expectObservable(source.pipe(lines())).toBe(expected, out);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should drop a partial line when unsubscribed before its host exits', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-c-d|', events);
      const sourceSubs = '   ^--!';
      const unsub = '        ^--!';
      const expected = '     -o--';

      expectObservable(source.pipe(lines()), unsub).toBe(expected, out);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should decode a character split between two chunks whole', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -f-g-|', events);
      const sourceSubs = '   ^----!';
      const expected = '     ---é-|';

      expectObservable(source.pipe(lines())).toBe(expected, out);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should pass an error through', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-#', events);
      const sourceSubs = '   ^--!';
      const expected = '     -o-#';

      expectObservable(source.pipe(lines())).toBe(expected, out);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });
});
