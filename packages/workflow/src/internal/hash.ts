/**
 * The execution-ID algorithm (part of the durable contract, checked by fixed vectors):
 * the first 32 hex digits of SHA-256 over UTF-8 `name`, a zero byte, UTF-8 `key`.
 */
import { createHash } from "node:crypto"

/** A stable id for (name, key): the same pair gives the same id in every process and version. */
export const stableId = (name: string, key: string): string =>
  createHash("sha256").update(name, "utf8").update("\u0000", "utf8").update(key, "utf8").digest("hex").slice(0, 32)
