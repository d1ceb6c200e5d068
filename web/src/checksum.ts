/** SHA-256 of a model file with Web Crypto, and the check that refuses a file that differs. */

export class ChecksumMismatchError extends Error {
  override name = 'ChecksumMismatchError';
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      `The downloaded model does not match its published checksum (expected SHA-256 ` +
        `${expected.slice(0, 12)}…, got ${actual.slice(0, 12)}…). It was refused and will not be run.`,
    );
  }
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  if (typeof crypto === 'undefined' || !('subtle' in crypto)) {
    throw new Error(
      'This browser cannot check model checksums (Web Crypto needs a secure origin: https or localhost).',
    );
  }
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Resolve when the bytes hash to `expected` (64 lowercase hex), else throw ChecksumMismatchError. */
export async function verifySha256(bytes: Uint8Array, expected: string): Promise<void> {
  const actual = await sha256Hex(bytes);
  if (actual !== expected.toLowerCase()) {
    throw new ChecksumMismatchError(expected.toLowerCase(), actual);
  }
}
