/**
 * Schema codecs compiled once per definition: payloads and stored Exits, with parse errors turned
 * into `WorkflowError`s that name the workflow and the offending field.
 */
import * as Either from "effect/Either"
import type * as Exit from "effect/Exit"
import * as ExitModule from "effect/Exit"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { WorkflowError } from "../WorkflowError.js"

/** Encoders and decoders for one payload / success / error triple. */
export interface Codec {
  readonly encodePayload: (payload: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly decodePayload: (encoded: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly encodeExit: (exit: Exit.Exit<unknown, unknown>) => Either.Either<unknown, ParseResult.ParseError>
  readonly decodeExit: (encoded: unknown) => Either.Either<Exit.Exit<unknown, unknown>, ParseResult.ParseError>
}

const byOutcome = new WeakMap<object, WeakMap<object, Codec>>()

/** Deeper than this an encoded value is taken for a cycle (JSON.stringify would throw on one). */
const MAX_DEPTH = 1_000

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

/** An encoding that succeeded, unless what it produced is not JSON data (then a parse error at that path). */
const asJson = <A>(encoded: Either.Either<A, ParseResult.ParseError>): Either.Either<A, ParseResult.ParseError> => {
  if (Either.isLeft(encoded)) return encoded
  const value = encoded.right
  // The common cases without a walk: a string, a boolean, null, a finite number; undefined is a void
  // result (the Exit's `value` property left out).
  if (typeof value === "string" || typeof value === "boolean" || value == null || Number.isFinite(value)) return encoded
  const issue = notJson(value, 0)
  if (issue === undefined) return encoded
  const message = `a value JSON can hold (the encoded value holds ${issue.found})`
  const type = new ParseResult.Type(Schema.Unknown.ast, value, message)
  const [head, ...tail] = issue.path
  return Either.left(ParseResult.parseError(head === undefined ? type : new ParseResult.Pointer([head, ...tail], value, type)))
}

/**
 * Compiles the codecs of a definition. Exit codecs are cached by schema identity, and successes
 * take a fast path through the success schema alone (the stored form is the same as `Schema.Exit`'s).
 */
export const make = (
  payload: Schema.Schema.All | undefined,
  success: Schema.Schema.All,
  error: Schema.Schema.All
): Codec => {
  if (payload === undefined) {
    const cached = byOutcome.get(success)?.get(error)
    if (cached !== undefined) return cached
  }
  const exit = Schema.Exit({ success, failure: error, defect: Schema.Defect }) as unknown as Schema.Schema<any, any, never>
  const p = (payload ?? Schema.Unknown) as Schema.Schema<any, any, never>
  const encodeFull = Schema.encodeEither(exit) as Codec["encodeExit"]
  const decodeFull = Schema.decodeUnknownEither(exit) as Codec["decodeExit"]
  const encodeSuccess = Schema.encodeEither(success as Schema.Schema<any, any, never>)
  const decodeSuccess = Schema.decodeUnknownEither(success as Schema.Schema<any, any, never>)
  const encodePayload = Schema.encodeEither(p)
  const codec: Codec = {
    encodePayload: (payload) => asJson(encodePayload(payload)),
    decodePayload: Schema.decodeUnknownEither(p),
    encodeExit: (value) => {
      if (value._tag === "Success") {
        const encoded = encodeSuccess(value.value)
        if (Either.isRight(encoded)) {
          const checked = asJson(encoded)
          return Either.isLeft(checked) ? checked : Either.right({ _tag: "Success", value: encoded.right })
        }
      }
      return asJson(encodeFull(value))
    },
    decodeExit: (encoded) => {
      if ((encoded as { _tag?: unknown } | undefined)?._tag === "Success") {
        const decoded = decodeSuccess((encoded as { value?: unknown }).value)
        if (Either.isRight(decoded)) return Either.right(ExitModule.succeed(decoded.right))
      }
      return decodeFull(encoded)
    }
  }
  if (payload === undefined) {
    let byError = byOutcome.get(success)
    if (byError === undefined) byOutcome.set(success, (byError = new WeakMap()))
    byError.set(error, codec)
  }
  return codec
}

/** A payload given as a struct's fields or as a schema, as a schema. */
export const payloadSchema = (input: Schema.Struct.Fields | Schema.Schema.All): any =>
  Schema.isSchema(input) ? input : Schema.Struct(input as Schema.Struct.Fields)

/** Turns a parse error into a typed error naming the workflow, the first bad field and what it expected. */
export const invalid = (
  reason: "InvalidPayload" | "InvalidResult",
  what: string,
  error: ParseResult.ParseError,
  context: { readonly workflow?: string | undefined; readonly executionId?: string | undefined }
): WorkflowError => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const first = issues[0]
  const field = first === undefined || first.path.length === 0 ? undefined : first.path.map(String).join(".")
  const expected = first?.message
  return new WorkflowError({
    reason,
    ...context,
    ...(field === undefined ? {} : { field }),
    ...(expected === undefined ? {} : { expected }),
    message: `${what}${context.workflow === undefined ? "" : ` of workflow "${context.workflow}"`}${
      field === undefined ? "" : ` at field "${field}"`
    } is invalid: ${expected ?? ParseResult.TreeFormatter.formatErrorSync(error)}`
  })
}

/** Whether an encoded failure Exit carries a defect rather than a typed error or an interrupt. */
export const isDefect = (encoded: unknown): boolean => {
  const exit = encoded as { readonly _tag?: string; readonly cause?: unknown } | undefined
  if (exit?._tag !== "Failure") return false
  const walk = (cause: any): boolean =>
    cause?._tag === "Die" ||
    ((cause?._tag === "Sequential" || cause?._tag === "Parallel") && (walk(cause.left) || walk(cause.right)))
  return walk(exit.cause)
}

/** Whether an encoded Exit is a success. */
export const isSuccess = (encoded: unknown): boolean => (encoded as { _tag?: string } | undefined)?._tag === "Success"

/** The stored marker of a deferred whose durable await timed out (not an Exit: checked before decoding). */
export const timedOut = { _tag: "TimedOut" } as const

/** Whether a stored deferred exit is the timeout marker. */
export const isTimedOut = (encoded: unknown): boolean => (encoded as { _tag?: string } | undefined)?._tag === "TimedOut"

export { Either }
