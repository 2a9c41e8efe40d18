// The TestScheduler every marble spec uses: errors compare by what an operator at 3 a.m. reads
// (name, message, code, host, exit status and the error tree), never by stack or cause chain.
import type { SchedulerLike } from 'rxjs';
import { TestScheduler, type RunHelpers } from 'rxjs/testing';
import { expect } from 'vitest';
import { isOrgalorgError } from '../../src/errors.js';
import type { LogEntry, LogHook } from '../../src/types.js';

/** Far past any diagram: a loop nobody stopped (a heartbeat) ends the run instead of hanging. */
const MAX_FRAMES = 10_000;

class BoundedTestScheduler extends TestScheduler {
  override run<T>(callback: (helpers: RunHelpers) => T): T {
    return super.run((helpers) => {
      // run() lifts the frame limit to Infinity before calling back; put a bound back.
      this.maxFrames = MAX_FRAMES;
      return callback(helpers);
    });
  }
}

export function createTestScheduler(): TestScheduler {
  return new BoundedTestScheduler((actual, expected) => {
    expect(comparable(actual)).toEqual(comparable(expected));
  });
}

/**
 * The value with every error in it (at any depth of arrays and plain objects) replaced by the
 * fields that matter, so that two errors built alike are equal.
 */
export function comparable(value: unknown): unknown {
  if (value instanceof Error) return errorFields(value);
  if (Array.isArray(value)) return value.map(comparable);
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, comparable(item)]));
  }
  return value;
}

function errorFields(error: Error): unknown {
  const { name, message } = error;
  if (!isOrgalorgError(error)) return { name, message };
  const { code, host, exitCode, children } = error;
  return { name, message, code, host, exitCode, children: children.map(comparable) };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** A log entry and the frame it was logged at. */
export type FramedLogEntry = LogEntry & { readonly frame: number };

/** A `log` hook that keeps every entry with its frame, and those entries. */
export function recordLog(scheduler: SchedulerLike): {
  log: LogHook;
  entries: FramedLogEntry[];
} {
  const entries: FramedLogEntry[] = [];
  return { entries, log: (entry) => entries.push({ ...entry, frame: scheduler.now() }) };
}
