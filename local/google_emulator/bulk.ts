/**
 * Synthetic grants for benchmarks: a batch of `count` grants is one small record, and each
 * grant's refresh token and email derive from (batch, index), so a benchmark can seed rows for
 * 100k grants without the emulator holding 100k records until they are used.
 *
 * @module
 */

/** One batch of synthetic grants. */
export interface BulkBatch {
  id: string;
  count: number;
  clientId: string;
  scopes: string[];
  createdAt: number;
  /** When unset, the tokens have no fixed end. */
  expiresAt: number | undefined;
  /** Treated as the last use of every token in the batch until it is used. */
  lastUsedAt: number;
}

const BATCH_ID = /^[a-z0-9]{1,32}$/;
const TOKEN = /^1\/\/bulk\.([a-z0-9]{1,32})\.(0|[1-9][0-9]{0,8})$/;

/** True for a usable batch id: 1-32 lower-case letters or digits. */
export function isBulkBatchId(id: string): boolean {
  return BATCH_ID.test(id);
}

/** The refresh token of grant `index` of batch `batchId`. */
export function bulkRefreshToken(batchId: string, index: number): string {
  return `1//bulk.${batchId}.${index}`;
}

/** The Google account of grant `index` of batch `batchId`. */
export function bulkEmail(batchId: string, index: number): string {
  return `bulk.${batchId}.${index}@example.com`;
}

/** The (batch, index) a bulk refresh token names, or undefined for any other string. */
export function parseBulkRefreshToken(
  token: string,
): { batchId: string; index: number } | undefined {
  const match = TOKEN.exec(token);
  if (match === null) return undefined;
  return { batchId: match[1] as string, index: Number(match[2]) };
}
