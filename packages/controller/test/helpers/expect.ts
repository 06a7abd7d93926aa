import assert from 'node:assert/strict';
import { ApiError, type ApiErrorCode } from '@buildmesh/protocol';

/** Awaits the promise and asserts it rejected with the catalogue error `code`. */
export async function rejectsWith(promise: Promise<unknown>, code: ApiErrorCode, what = ''): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ApiError, `${what}: expected ApiError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, `${what}: expected ${code}, got ${err.code} (${err.message})`);
    return true;
  });
}

/** Awaits the promise and returns the ApiError it rejected with (for assertions on its code, status or message). */
export async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const err = await promise.then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApiError, String(err));
  return err;
}
