import { createHash } from "node:crypto";

/** SHA-256 of a file's bytes, lower-case hex: what the history table stores. */
export function checksum(bytes: Uint8Array): string {
  // Synchronous on purpose: hashing small files is cheaper than a promise per file.
  return createHash("sha256").update(bytes).digest("hex");
}
