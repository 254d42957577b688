/**
 * @deprecated Use `node:assert/strict`. Kept only until tests/local_stack*_test.ts and
 * tests/google_emulator*_test.ts (owned elsewhere during issue 11) switch; then delete this file.
 */

export class AssertionError extends Error {
  override name = "AssertionError";
}

export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new AssertionError(`${message ? message + ": " : ""}expected ${e}, got ${a}`);
}

export function assertNotEquals<T>(actual: T, expected: T, message?: string): void {
  if (JSON.stringify(actual) === JSON.stringify(expected)) {
    throw new AssertionError(
      message ?? `expected something other than ${JSON.stringify(expected)}`,
    );
  }
}

export function assertMatch(actual: string, pattern: RegExp, message?: string): void {
  if (!pattern.test(actual)) {
    throw new AssertionError(message ?? `expected ${JSON.stringify(actual)} to match ${pattern}`);
  }
}

export async function assertRejects(
  fn: () => Promise<unknown>,
  check?: (error: unknown) => boolean,
  message = "expected a rejection",
): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    if (check && !check(error)) throw new AssertionError(`${message}: got ${error}`);
    return error;
  }
  throw new AssertionError(message);
}

export function assertThrows<E extends Error>(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  type: new (...args: any[]) => E,
  includes?: string,
): E {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof type)) throw new AssertionError(`expected ${type.name}, got ${error}`);
    if (includes && !error.message.includes(includes)) {
      throw new AssertionError(`expected "${includes}" in: ${error.message}`);
    }
    return error;
  }
  throw new AssertionError(`expected ${type.name} to be thrown`);
}
