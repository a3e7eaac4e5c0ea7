/**
 * Defects as effect 3's `Schema.Defect` stored them: an `Error` as its name and message, anything else as
 * text; read back as effect 3 read them. Also the schema that stands in for effect 4's `Schema.Defect()`.
 */
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"
import { isObject } from "./issues.js"

/**
 * A defect in its stored form, as effect 3's `Schema.Defect` wrote it: an `Error` as its name and message
 * (no stack: it may reveal too much), a string as itself, another value as its own `toString()`, else as
 * JSON text (a value met twice left out, as a cycle would be).
 */
export const encodeDefect = (defect: unknown): unknown => {
  if (defect instanceof Error) return { name: defect.name, message: defect.message }
  return prettyErrorMessage(defect)
}

/**
 * A stored defect read back as effect 3's `Schema.Defect` read it: an object with a string `message`
 * is an `Error` (its `name`, its `stack` or "", the stored object as its `cause`), anything else a string.
 */
export const decodeDefect = (encoded: unknown): unknown => {
  if (isObject(encoded) && "message" in encoded && typeof encoded.message === "string") {
    const error = new Error(encoded.message, { cause: encoded })
    if ("name" in encoded && typeof encoded.name === "string") error.name = encoded.name
    error.stack = "stack" in encoded && typeof encoded.stack === "string" ? encoded.stack : ""
    return error
  }
  return prettyErrorMessage(encoded)
}

/**
 * effect 3's `Schema.Defect` as an effect 4 schema: `encodeDefect` / `decodeDefect`. Stands in for effect 4's
 * `Schema.Defect()` in a definition, whose encoding differs (it writes non-`Error` values as JSON rather than
 * text, and an `Error`'s `cause`): values stored before keep reading the same, new ones are stored the same.
 */
export const legacyDefect: Schema.Codec<unknown, unknown> = Schema.Unknown.pipe(
  Schema.decodeTo(Schema.Unknown, SchemaTransformation.transform({ decode: decodeDefect, encode: encodeDefect }))
)

/** effect 3's rendering of a defect that is not an `Error` as text (undefined stays undefined). */
const prettyErrorMessage = (u: unknown): string => {
  if (typeof u === "string") return u
  if (u instanceof Error) return u.message
  try {
    if (isObject(u) && "toString" in u) {
      const toString = (u as { toString: unknown }).toString
      if (typeof toString === "function" && toString !== Object.prototype.toString && toString !== Array.prototype.toString) {
        return toString.call(u)
      }
    }
  } catch {
    // something's off: fall back to JSON, as effect 3 did
  }
  const seen: Array<unknown> = []
  try {
    return JSON.stringify(u, (_key, value) =>
      typeof value === "object" && value !== null ? (seen.includes(value) ? undefined : (seen.push(value), value)) : value
    )
  } catch {
    // A bigint inside: effect 3's encoder threw here; the defect is still worth keeping as text.
    return String(u)
  }
}
