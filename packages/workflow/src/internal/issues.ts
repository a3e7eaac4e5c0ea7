/**
 * Schema issues built by hand, for the readers and checks that walk stored JSON themselves (the Exit and
 * Cause trees, JSON-safety): what was expected, where, and the input found there.
 */
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"

/** Parse options of every codec: issues keep the input, so a message can say what was found. */
export const parseOptions = { reportInput: true } as const

/** Deeper than this an encoded value is taken for a cycle (JSON.stringify would throw on one). */
export const MAX_DEPTH = 1_000

/** An issue saying what was expected where `found` is. */
export const notAn = (expected: string, found: unknown): SchemaIssue.Issue =>
  new SchemaIssue.InvalidValue({ expected }, found, parseOptions)

/** A schema error holding `issue` at `path`. */
export const issueAt = (path: ReadonlyArray<PropertyKey>, issue: SchemaIssue.Issue): Schema.SchemaError =>
  new Schema.SchemaError(path.length === 0 ? issue : new SchemaIssue.Pointer([...path], issue))

/** A schema error moved under `path`. */
export const at = (path: ReadonlyArray<PropertyKey>, error: Schema.SchemaError): Schema.SchemaError =>
  issueAt(path, error.issue)

/** Whether a value is an object or a function (what can carry properties). */
export const isObject = (u: unknown): u is object => (typeof u === "object" && u !== null) || typeof u === "function"

/** Whether a value is a plain record (an object that is not an array). */
export const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)
