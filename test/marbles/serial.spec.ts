import { BehaviorSubject, NEVER, Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { OrgalorgError } from '../../src/errors.js';
import type { Sink } from '../../src/sinks/output.js';
import { serial } from '../../src/sinks/serial.js';
import type { ExecEvent, HostEvent, HostSpec } from '../../src/types.js';
import { exit, stdout, testHost } from '../support/fake-transport.js';
import { createTestScheduler } from './test-scheduler.js';

const web1 = testHost('web1');
const web2 = testHost('web2');
const web3 = testHost('web3');

const tagged = (host: HostSpec, event: ExecEvent): HostEvent => ({ ...event, host });

const events = {
  a: tagged(web1, stdout('a1\n')),
  c: tagged(web1, stdout('a2\n')),
  x: tagged(web1, exit(0)),
  b: tagged(web2, stdout('b1\n')),
  d: tagged(web2, stdout('b2\n')),
  y: tagged(web2, exit(0)),
  e: tagged(web3, stdout('e1\n')),
  z: tagged(web3, exit(3)),
};

/** What reaches the sink behind `serial`, when `input` is written into it. */
function throughSerial(input: Observable<HostEvent>): Observable<HostEvent> {
  return new Observable<HostEvent>((subscriber) => {
    const sink: Sink = {
      paused: NEVER,
      next: (event) => subscriber.next(event),
      error: (error: unknown) => subscriber.error(error),
      complete: () => subscriber.complete(),
    };
    return input.subscribe(serial(sink));
  });
}

describe('serial', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  it('should write the first host whole, then each held host as one block', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const input = cold('   -abcd-x-----y|', events);
      const inputSubs = '    ^------------!';
      const expected = '     -a-c--(xbd)-y|';

      expectObservable(throughSerial(input)).toBe(expected, events);
      expectSubscriptions(input.subscriptions).toBe(inputSubs);
    });
  });

  it('should hand over to held hosts in the order they first wrote, skipping finished ones', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const input = cold('   -aebz-x------d-y|', events);
      const inputSubs = '    ^---------------!';
      const expected = '     -a----(xezb)-d-y|';

      expectObservable(throughSerial(input)).toBe(expected, events);
      expectSubscriptions(input.subscriptions).toBe(inputSubs);
    });
  });

  it('should write what it holds when the run completes', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const input = cold('   -ab-e|', events);
      const inputSubs = '    ^----!';
      const expected = '     -a---(be|)';

      expectObservable(throughSerial(input)).toBe(expected, events);
      expectSubscriptions(input.subscriptions).toBe(inputSubs);
    });
  });

  it('should write what it holds before the error when the run fails', () => {
    const failed = new OrgalorgError('[root@web1:22] heartbeat failed', {
      code: 'heartbeat.lost',
      exitCode: 2,
    });

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const input = cold('   -ab-#', events, failed);
      const inputSubs = '    ^---!';
      const expected = '     -a--(b#)';

      expectObservable(throughSerial(input)).toBe(expected, events, failed);
      expectSubscriptions(input.subscriptions).toBe(inputSubs);
    });
  });

  it('should pass the sink backpressure through', () => {
    const paused = new BehaviorSubject(false);
    const sink: Sink = {
      paused,
      next: () => undefined,
      error: () => undefined,
      complete: () => {},
    };

    expect(serial(sink).paused).toBe(paused);
  });
});
