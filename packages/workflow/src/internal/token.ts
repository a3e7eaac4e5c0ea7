/**
 * Signed deferred tokens: `v1.<base64url JSON [workflow, execution, deferred]>.<base64url HMAC-SHA256>`.
 * A token cannot be made from a workflow name and execution id without the engine's key.
 */
import { createHmac, timingSafeEqual } from "node:crypto"

/** What a token names. */
export interface TokenClaims {
  readonly workflow: string
  readonly executionId: string
  readonly deferred: string
}

/** Signs claims with `key`. */
export const sign = (key: Uint8Array, claims: TokenClaims): string => {
  const body = Buffer.from(JSON.stringify([claims.workflow, claims.executionId, claims.deferred]), "utf8").toString(
    "base64url"
  )
  return `v1.${body}.${createHmac("sha256", key).update(body).digest("base64url")}`
}

/** The claims of a well-formed token signed with `key`, or a reason it is not one. */
export const verify = (key: Uint8Array, token: string): TokenClaims | string => {
  const parts = token.split(".")
  if (parts.length !== 3 || parts[0] !== "v1") return "it is not a Weft token (expected v1.<body>.<signature>)"
  const body = parts[1]!
  // Compared as text: decoding first would accept other spellings of the same bytes (base64's last
  // character carries spare bits), so a token with its signature changed could still pass.
  const given = Buffer.from(parts[2]!, "utf8")
  const expected = Buffer.from(createHmac("sha256", key).update(body).digest("base64url"), "utf8")
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "its signature does not match"
  try {
    const value: unknown = JSON.parse(Buffer.from(body, "base64url").toString("utf8"))
    if (Array.isArray(value) && value.length === 3 && value.every((v) => typeof v === "string")) {
      return { workflow: value[0], executionId: value[1], deferred: value[2] }
    }
  } catch {
    // fall through: a signed body that does not parse is as bad as a forged one
  }
  return "its body is malformed"
}
