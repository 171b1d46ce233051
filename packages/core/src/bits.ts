/**
 * 64-bit helpers. Guest registers and 64-bit architectural values are kept as two unsigned 32-bit halves
 * on the hot path (no BigInt allocation); the userspace ABI (device attributes, ONE_REG) uses `bigint`.
 *
 * @module
 */

const TWO32 = 4294967296;

/** Low 32 bits of a non-negative integer `v` (exact for v < 2^53). */
export function lo32(v: number): number {
  return v >>> 0 === v ? v : (v % TWO32) >>> 0;
}

/** High 32 bits of a non-negative integer `v` (exact for v < 2^53). */
export function hi32(v: number): number {
  return Math.floor(v / TWO32) >>> 0;
}

/** Joins two 32-bit halves into a number. Exact while `hi < 2^21`; callers needing all 64 bits use {@link toBig}. */
export function join64(lo: number, hi: number): number {
  return hi * TWO32 + (lo >>> 0);
}

/** Joins two 32-bit halves into a `bigint` (exact for all 64 bits). */
export function toBig(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Low 32 bits of a `bigint` as a number. */
export function bigLo(v: bigint): number {
  return Number(v & 0xffffffffn);
}

/** Bits [63:32] of a `bigint` as a number. */
export function bigHi(v: bigint): number {
  return Number((v >> 32n) & 0xffffffffn);
}

/** Extracts bits [hi:lo] (inclusive) of a `bigint` as a number (the field must be at most 53 bits wide). */
export function bigField(v: bigint, hi: number, lo: number): number {
  return Number((v >> BigInt(lo)) & ((1n << BigInt(hi - lo + 1)) - 1n));
}

/** Masks a `bigint` to an unsigned 64-bit value. */
export function u64(v: bigint): bigint {
  return BigInt.asUintN(64, v);
}

/** Extracts bits [hi:lo] of a 32-bit number. */
export function field32(v: number, hi: number, lo: number): number {
  const width = hi - lo + 1;
  return width >= 32 ? v >>> 0 : (v >>> lo) & (((1 << width) - 1) >>> 0);
}
