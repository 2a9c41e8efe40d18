import { mergeMap, toArray, type MonoTypeOperatorFunction } from 'rxjs';

/**
 * A cluster-wide join: holds every value until the source completes, then emits them all in
 * order. "Every host is connected and locked before anything runs" is `allHosts()` between the
 * lock and the command.
 *
 * Errors as soon as the source errors, emitting nothing; unsubscribing drops what it holds.
 *
 * @example
 * hosts$.pipe(connect(config), lock(config), allHosts(), exec(config));
 */
export function allHosts<T>(): MonoTypeOperatorFunction<T> {
  return (source) =>
    source.pipe(
      toArray(),
      mergeMap((values) => values),
    );
}
