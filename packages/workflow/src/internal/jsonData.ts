/**
 * JSON-safety of encoded values: every store keeps them as JSON text, so a value JSON would change on the
 * way (NaN, a Date, an array's undefined, a class instance) is refused before it is written.
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { MAX_DEPTH, parseOptions } from "./issues.js"

/**
 * Where an encoded value stops being JSON data (what every store keeps: a SQL store writes it with
 * `JSON.stringify`): the path there, innermost last, and what it holds. JSON would turn NaN into null,
 * a Date into a string and drop an array's undefined: the value read back would not be the one written,
 * so it is refused up front. An object property that is undefined is allowed (an optional field left out).
 */
const notJson = (v: unknown, depth: number): { path: Array<PropertyKey>; readonly found: string } | undefined => {
  switch (typeof v) {
    case "string":
    case "boolean":
      return undefined
    case "number":
      return Number.isFinite(v) ? undefined : { path: [], found: `the number ${v}` }
    case "undefined":
      return { path: [], found: "undefined" }
    case "bigint":
      return { path: [], found: "a bigint" }
    case "object": {
      if (v === null) return undefined
      if (depth > MAX_DEPTH) return { path: [], found: `nesting deeper than ${MAX_DEPTH} levels (a cycle?)` }
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          const issue = notJson(v[i], depth + 1)
          if (issue !== undefined) return (issue.path.unshift(i), issue)
        }
        return undefined
      }
      const proto = Object.getPrototypeOf(v)
      if (proto !== Object.prototype && proto !== null) {
        return { path: [], found: `an instance of ${(v.constructor as { name?: string } | undefined)?.name || "a class"}` }
      }
      for (const key in v) {
        const field = (v as Record<string, unknown>)[key]
        if (field === undefined) continue
        const issue = notJson(field, depth + 1)
        if (issue !== undefined) return (issue.path.unshift(key), issue)
      }
      return undefined
    }
    default:
      return { path: [], found: `a ${typeof v}` }
  }
}

/** An encoding that succeeded, unless what it produced is not JSON data (then a schema error at that path). */
export const asJson = <A>(encoded: Result.Result<A, Schema.SchemaError>): Result.Result<A, Schema.SchemaError> => {
  if (Result.isFailure(encoded)) return encoded
  const value = encoded.success
  // The common cases without a walk: a string, a boolean, null, a finite number; undefined is a void
  // result (the Exit's `value` property left out).
  if (typeof value === "string" || typeof value === "boolean" || value == null || Number.isFinite(value)) return encoded
  const issue = notJson(value, 0)
  if (issue === undefined) return encoded
  const message = `a value JSON can hold (the encoded value holds ${issue.found})`
  const leaf = new SchemaIssue.InvalidValue({ message }, value, parseOptions)
  return Result.fail(new Schema.SchemaError(issue.path.length === 0 ? leaf : new SchemaIssue.Pointer(issue.path, leaf)))
}
