import { describe, expect, it } from 'vitest';
import { ChecksumMismatchError, sha256Hex, verifySha256 } from '../src/checksum';

const ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

describe('model checksum', () => {
  it('computes SHA-256 as lowercase hex', async () => {
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe(ABC);
  });

  it('accepts bytes that match the listing', async () => {
    await expect(verifySha256(new TextEncoder().encode('abc'), ABC)).resolves.toBeUndefined();
    await expect(verifySha256(new TextEncoder().encode('abc'), ABC.toUpperCase())).resolves.toBeUndefined();
  });

  it('refuses bytes that differ by one bit, saying the model will not be run', async () => {
    const tampered = new TextEncoder().encode('abc');
    tampered[0] = (tampered[0] ?? 0) ^ 1;
    const check = verifySha256(tampered, ABC);
    await expect(check).rejects.toBeInstanceOf(ChecksumMismatchError);
    await expect(check).rejects.toThrow(/does not match its published checksum.*will not be run/);
  });
});
