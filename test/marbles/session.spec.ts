import { mergeMap, of } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { OrgalorgError } from '../../src/errors.js';
import { Session, session } from '../../src/session.js';
import { FakeTransport, testHost } from '../support/fake-transport.js';
import { createTestScheduler } from './test-scheduler.js';

const web1 = testHost('web1');

const lockLost = new OrgalorgError("[root@web1:22] heartbeat failed: can't receive heartbeat", {
  code: 'heartbeat.lost',
  host: web1,
  exitCode: 2,
});

describe('session', () => {
  let testScheduler: TestScheduler;
  let owner: Session;
  let transport: FakeTransport;

  beforeEach(() => {
    testScheduler = createTestScheduler();
    owner = new Session();
    transport = new FakeTransport(testScheduler);
  });

  it('should emit what the pipeline emits, then close the session when it completes', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const pipeline = cold('  -a-b|');
      const pipelineSubs = '   ^---!';
      const held = cold('      --------');
      const heldSubs = '       ^---!';
      const expected = '       -a-b|';

      owner.own(transport.connection(web1));
      owner.hold(held.subscribe());
      expectObservable(session(() => pipeline, owner)).toBe(expected);
      expectSubscriptions(pipeline.subscriptions).toBe(pipelineSubs);
      expectSubscriptions(held.subscriptions).toBe(heldSubs);
    });

    expect(transport.connection(web1).closedAt).toBe(4);
  });

  it('should give the pipeline the session it runs in', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const expected = '  (a|)';

      expectObservable(session((s) => cold('(a|)', { a: s }), owner)).toBe(expected, { a: owner });
    });
  });

  it('should error and close the session when a stage fails the session', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const pipeline = cold('  -a------');
      const pipelineSubs = '   ^--!';
      const held = cold('      --------');
      const heldSubs = '       ^--!';
      const fail = '           ---x';
      const expected = '       -a-#';

      owner.own(transport.connection(web1));
      owner.hold(held.subscribe());
      expectObservable(session(() => pipeline, owner)).toBe(expected, undefined, lockLost);
      expectSubscriptions(pipeline.subscriptions).toBe(pipelineSubs);
      expectSubscriptions(held.subscriptions).toBe(heldSubs);
      cold(fail).subscribe(() => owner.fail(lockLost));
    });

    expect(transport.connection(web1).closedAt).toBe(3);
  });

  it('should pass the pipeline error through and close the session', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const pipeline = cold('  -a-#', undefined, lockLost);
      const pipelineSubs = '   ^--!';
      const expected = '       -a-#';

      owner.own(transport.connection(web1));
      expectObservable(session(() => pipeline, owner)).toBe(expected, undefined, lockLost);
      expectSubscriptions(pipeline.subscriptions).toBe(pipelineSubs);
    });

    expect(transport.connection(web1).closedAt).toBe(3);
  });

  it('should close the session when unsubscribed early', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const pipeline = cold('  -a-b-c-|');
      const pipelineSubs = '   ^--!';
      const held = cold('      --------');
      const heldSubs = '       ^--!';
      const unsub = '          ---!';
      const expected = '       -a-';

      owner.own(transport.connection(web1));
      owner.hold(held.subscribe());
      expectObservable(
        session(() => pipeline, owner),
        unsub,
      ).toBe(expected);
      expectSubscriptions(pipeline.subscriptions).toBe(pipelineSubs);
      expectSubscriptions(held.subscriptions).toBe(heldSubs);
    });

    expect(transport.connection(web1).closedAt).toBe(3);
  });

  it('should not break the unsubscription chain when unsubscribed explicitly', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const pipeline = cold('  -a-b-c-|');
      const pipelineSubs = '   ^--!';
      const unsub = '          ---!';
      const expected = '       -a-';

      const result = session(() => pipeline.pipe(mergeMap((x) => of(x))), owner).pipe(
        mergeMap((x) => of(x)),
      );
      expectObservable(result, unsub).toBe(expected);
      expectSubscriptions(pipeline.subscriptions).toBe(pipelineSubs);
    });
  });
});
