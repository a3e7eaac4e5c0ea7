/**
 * Schema codecs compiled once per definition: payloads and stored Exits, with schema errors turned
 * into `WorkflowError`s that name the workflow and the offending field.
 *
 * The stored form of an Exit is the JSON that effect 3's `Schema.Exit({ success, failure, defect:
 * Schema.Defect })` wrote, byte for byte: `{"_tag":"Success","value":…}` or `{"_tag":"Failure","cause":…}`,
 * a cause being `{"_tag":"Empty"}`, `{"_tag":"Fail","error":…}`, `{"_tag":"Die","defect":…}`,
 * `{"_tag":"Interrupt","fiberId":…}` or `{"_tag":"Sequential"|"Parallel","left":…,"right":…}`. Effect 4's
 * Cause is a flat list of reasons, so this module maps between the two itself:
 * - writing, no reason is `Empty`, one reason is its leaf, several are a left-nested `Sequential` tree
 *   in reason order (`[a, b, c]` is `Sequential(Sequential(a, b), c)`: what effect 3 wrote for a failure
 *   followed by finalizer or compensation defects, the usual several-reason end; effect 4 keeps no
 *   order-versus-concurrency distinction to write a `Parallel` from). An interrupt by fiber `n` is
 *   `{"_tag":"Runtime","id":n,"startTimeMillis":0}` (effect 4 keeps no start time), one without a
 *   fiber `{"_tag":"None"}`.
 * - reading, a tree is flattened left to right into reasons (`Sequential` and `Parallel` alike, `Empty`
 *   adding none); a `Runtime` fiber id gives its `id`, `None` no fiber, a `Composite` one interrupt per
 *   `Runtime` fiber in it (one without a fiber if it holds none).
 * - a defect is written as effect 3's `Schema.Defect` wrote it: an `Error` as `{"name","message"}` (no
 *   stack, no cause), a string as itself, anything else as its `toString()` if it has its own, else its
 *   JSON text; it is read back as effect 3 read it: an object with a string `message` as an `Error`
 *   (its `name`, its `stack` or "", the stored object as `cause`), anything else as a string.
 * - a tagged class (`Schema.TaggedError`, `Schema.TaggedClass`) is written with `_tag` last, where effect 3
 *   put it (effect 4 puts it first): see `keyOrder`.
 * - a definition whose success, error or payload schema is effect 4's `Schema.Defect()` (what effect 3's
 *   `Schema.Defect` became) stores values as effect 3's `Schema.Defect` did, as defects are stored: see
 *   `legacyDefect`; one whose schema is `Schema.Void` stores what the body returned, as effect 3's `Schema.Void`
 *   let through (effect 4's encodes every value as undefined): an activity typed `void` that returns a value
 *   stores `{"_tag":"Success","value":…}` as before.
 */
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Formatter from "effect/Formatter"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import * as SchemaIssue from "effect/SchemaIssue"
import * as SchemaTransformation from "effect/SchemaTransformation"
import { WorkflowError } from "../WorkflowError.js"

/** Encoders and decoders for one payload / success / error triple. */
export interface Codec {
  readonly encodePayload: (payload: unknown) => Result.Result<unknown, Schema.SchemaError>
  readonly decodePayload: (encoded: unknown) => Result.Result<unknown, Schema.SchemaError>
  readonly encodeExit: (exit: Exit.Exit<unknown, unknown>) => Result.Result<unknown, Schema.SchemaError>
  readonly decodeExit: (encoded: unknown) => Result.Result<Exit.Exit<unknown, unknown>, Schema.SchemaError>
}

/** The stored form of an Exit (effect 3's `Schema.Exit` encoding). */
export type ExitEncoded =
  | { readonly _tag: "Success"; readonly value?: unknown }
  | { readonly _tag: "Failure"; readonly cause: CauseEncoded }

/** The stored form of a Cause (effect 3's `Schema.Cause` encoding). */
export type CauseEncoded =
  | { readonly _tag: "Empty" }
  | { readonly _tag: "Fail"; readonly error?: unknown }
  | { readonly _tag: "Die"; readonly defect?: unknown }
  | { readonly _tag: "Interrupt"; readonly fiberId: FiberIdEncoded }
  | { readonly _tag: "Sequential" | "Parallel"; readonly left: CauseEncoded; readonly right: CauseEncoded }

/** The stored form of a fiber id (effect 3's `Schema.FiberId` encoding). */
export type FiberIdEncoded =
  | { readonly _tag: "None" }
  | { readonly _tag: "Runtime"; readonly id: number; readonly startTimeMillis: number }
  | { readonly _tag: "Composite"; readonly left: FiberIdEncoded; readonly right: FiberIdEncoded }

const byOutcome = new WeakMap<object, WeakMap<object, Codec>>()

/** Deeper than this an encoded value is taken for a cycle (JSON.stringify would throw on one). */
const MAX_DEPTH = 1_000

/** Parse options of every codec: issues keep the input, so a message can say what was found. */
const parseOptions = { reportInput: true } as const

type Parser = (input: unknown) => Result.Result<unknown, Schema.SchemaError>

/** An encoder whose output keeps effect 3's key order (`keyOrder`). */
const encoder = (schema: Schema.Top): Parser => {
  const encode = Schema.encodeUnknownResult(schema as unknown as Schema.Codec<unknown, unknown>, parseOptions)
  const reorder = keyOrder(schema.ast)
  return reorder === undefined ? encode : (input) => Result.map(encode(input), reorder)
}

const decoder = (schema: Schema.Top): Parser =>
  Schema.decodeUnknownResult(schema as unknown as Schema.Codec<unknown, unknown>, parseOptions)

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
const asJson = <A>(encoded: Result.Result<A, Schema.SchemaError>): Result.Result<A, Schema.SchemaError> => {
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

/**
 * Compiles the codecs of a definition. Exit codecs are cached by schema identity, and successes
 * take a fast path through the success schema alone.
 */
export const make = (payload: Schema.Top | undefined, success: Schema.Top, error: Schema.Top): Codec => {
  if (payload === undefined) {
    const cached = byOutcome.get(success)?.get(error)
    if (cached !== undefined) return cached
  }
  const encodeSuccess = encoder(stored(success))
  const decodeSuccess = decoder(stored(success))
  const encodeError = encoder(stored(error))
  const decodeError = decoder(stored(error))
  const encodePayload = encoder(stored(payload ?? Schema.Unknown))
  const codec: Codec = {
    encodePayload: (payload) => asJson(encodePayload(payload)),
    decodePayload: decoder(stored(payload ?? Schema.Unknown)),
    encodeExit: (exit) => {
      if (Exit.isSuccess(exit)) {
        // Encoding errors name fields from the value (and from the cause's root below), as effect 3's did.
        const encoded = asJson(encodeSuccess(exit.value))
        return Result.isFailure(encoded) ? encoded : Result.succeed({ _tag: "Success", value: encoded.success })
      }
      const cause = encodeCause(exit.cause, encodeError)
      return Result.isFailure(cause) ? cause : asJson(Result.succeed({ _tag: "Failure", cause: cause.success }))
    },
    decodeExit: (encoded) => {
      if (!isRecord(encoded)) return Result.fail(new Schema.SchemaError(notAn("an encoded Exit", encoded)))
      switch (encoded._tag) {
        case "Success": {
          const value = decodeSuccess(encoded.value)
          return Result.isFailure(value)
            ? Result.fail(at(["value"], value.failure))
            : Result.succeed(Exit.succeed(value.success))
        }
        case "Failure": {
          if (!("cause" in encoded)) {
            return Result.fail(new Schema.SchemaError(new SchemaIssue.Pointer(["cause"], new SchemaIssue.MissingKey(undefined))))
          }
          const cause = decodeCause(encoded.cause, decodeError)
          return Result.isFailure(cause)
            ? Result.fail(at(["cause"], cause.failure))
            : Result.succeed(Exit.failCause(cause.success))
        }
        default:
          return Result.fail(at(["_tag"], new Schema.SchemaError(notAn(`"Success" or "Failure"`, encoded._tag))))
      }
    }
  }
  if (payload === undefined) {
    let byError = byOutcome.get(success)
    if (byError === undefined) byOutcome.set(success, (byError = new WeakMap()))
    byError.set(error, codec)
  }
  return codec
}

/**
 * Writes a Cause in its stored form, each typed error through `encodeError`: no reason is `Empty`, one
 * is its leaf, several a left-nested `Sequential` tree in reason order.
 */
export const encodeCause = (
  cause: Cause.Cause<unknown>,
  encodeError: (error: unknown) => Result.Result<unknown, Schema.SchemaError>
): Result.Result<CauseEncoded, Schema.SchemaError> => {
  const reasons = cause.reasons
  if (reasons.length === 0) return Result.succeed({ _tag: "Empty" })
  let tree: CauseEncoded | undefined
  for (let i = 0; i < reasons.length; i++) {
    const reason = reasons[i]!
    let leaf: CauseEncoded
    switch (reason._tag) {
      case "Fail": {
        const error = encodeError(reason.error)
        if (Result.isFailure(error)) {
          // Its path in the tree: the first reason is the leftmost leaf, each later one a right branch.
          const path: Array<PropertyKey> = Array(reasons.length - 1 - (i === 0 ? 0 : i)).fill("left")
          if (i > 0) path.push("right")
          return Result.fail(at([...path, "error"], error.failure))
        }
        leaf = { _tag: "Fail", error: error.success }
        break
      }
      case "Die":
        leaf = { _tag: "Die", defect: encodeDefect(reason.defect) }
        break
      case "Interrupt":
        leaf = {
          _tag: "Interrupt",
          fiberId: reason.fiberId === undefined
            ? { _tag: "None" }
            : { _tag: "Runtime", id: reason.fiberId, startTimeMillis: 0 }
        }
        break
    }
    tree = tree === undefined ? leaf : { _tag: "Sequential", left: tree, right: leaf }
  }
  return Result.succeed(tree!)
}

/**
 * Reads a stored Cause, each typed error through `decodeError`: the tree flattened left to right into
 * reasons (`Empty` adds none). Errors name their path from the cause (`left.error`, ...).
 */
export const decodeCause = (
  encoded: unknown,
  decodeError: (error: unknown) => Result.Result<unknown, Schema.SchemaError>
): Result.Result<Cause.Cause<unknown>, Schema.SchemaError> => {
  const reasons: Array<Cause.Reason<unknown>> = []
  const path: Array<PropertyKey> = []
  const walk = (node: unknown): Schema.SchemaError | undefined => {
    if (path.length > MAX_DEPTH) return issueAt(path, notAn(`a cause nested at most ${MAX_DEPTH} levels`, node))
    if (!isRecord(node)) return issueAt(path, notAn("an encoded Cause", node))
    switch (node._tag) {
      case "Empty":
        return undefined
      case "Fail": {
        const error = decodeError(node.error)
        if (Result.isFailure(error)) return at([...path, "error"], error.failure)
        reasons.push(Cause.makeFailReason(error.success))
        return undefined
      }
      case "Die":
        reasons.push(Cause.makeDieReason(decodeDefect(node.defect)))
        return undefined
      case "Interrupt": {
        const ids: Array<number> = []
        path.push("fiberId")
        const bad = fiberIds(node.fiberId, path, ids)
        path.pop()
        if (bad !== undefined) return bad
        if (ids.length === 0) reasons.push(Cause.makeInterruptReason())
        for (const id of ids) reasons.push(Cause.makeInterruptReason(id))
        return undefined
      }
      case "Sequential":
      case "Parallel": {
        for (const side of ["left", "right"] as const) {
          path.push(side)
          const bad = walk(node[side])
          path.pop()
          if (bad !== undefined) return bad
        }
        return undefined
      }
      default:
        return issueAt([...path, "_tag"], notAn(`"Empty", "Fail", "Die", "Interrupt", "Sequential" or "Parallel"`, node._tag))
    }
  }
  const bad = walk(encoded)
  return bad === undefined ? Result.succeed(Cause.fromReasons(reasons)) : Result.fail(bad)
}

/** The runtime fiber ids of a stored fiber id, in order, into `ids`; an error if it is malformed. */
const fiberIds = (node: unknown, path: Array<PropertyKey>, ids: Array<number>): Schema.SchemaError | undefined => {
  if (path.length > MAX_DEPTH) return issueAt(path, notAn(`a fiber id nested at most ${MAX_DEPTH} levels`, node))
  if (!isRecord(node)) return issueAt(path, notAn("an encoded FiberId", node))
  switch (node._tag) {
    case "None":
      return undefined
    case "Runtime": {
      for (const key of ["id", "startTimeMillis"] as const) {
        if (!Number.isSafeInteger(node[key])) return issueAt([...path, key], notAn("an integer", node[key]))
      }
      ids.push(node.id as number)
      return undefined
    }
    case "Composite": {
      for (const side of ["left", "right"] as const) {
        path.push(side)
        const bad = fiberIds(node[side], path, ids)
        path.pop()
        if (bad !== undefined) return bad
      }
      return undefined
    }
    default:
      return issueAt([...path, "_tag"], notAn(`"None", "Runtime" or "Composite"`, node._tag))
  }
}

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

/**
 * The schema a definition's values are stored with: its own, but effect 3's forms for `Schema.Defect()` and
 * `Schema.Void` (which let any value through, as `Schema.Unknown` does in effect 4).
 */
const stored = (schema: Schema.Top): Schema.Top =>
  schema === Schema.Void ? Schema.Unknown : schema === Schema.Defect() ? legacyDefect : schema

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

type Reorder = (encoded: unknown) => unknown

const reorders = new WeakMap<SchemaAST.AST, Reorder | null>()

/**
 * What puts the encoded form of `ast` in effect 3's key order, or undefined if it already is: effect 4's
 * tagged classes (`Schema.TaggedError`, `Schema.TaggedClass`: a class over a struct whose first field is
 * `_tag`) encode `_tag` first, effect 3's wrote it after the fields. Such a class anywhere in the schema
 * (a field, an element, a union member, a suspended schema) has its `_tag` moved last; nothing else moves.
 * Decoding does not care for key order. (A `Schema.Class` that declares `_tag` as its first field is taken
 * for a tagged class too: effect 3 would have kept it first.)
 */
export const keyOrder = (ast: SchemaAST.AST): Reorder | undefined => {
  const building = new Map<SchemaAST.AST, { f: Reorder | undefined }>()
  const build = (ast: SchemaAST.AST): Reorder | undefined => {
    const cached = reorders.get(ast)
    if (cached !== undefined) return cached ?? undefined
    const open = building.get(ast)
    // A recursive schema met again while its reorder is built: look it up when a value comes.
    if (open !== undefined) return (v) => (open.f === undefined ? v : open.f(v))
    const cell: { f: Reorder | undefined } = { f: undefined }
    building.set(ast, cell)
    cell.f = compile(ast)
    building.delete(ast)
    reorders.set(ast, cell.f ?? null)
    return cell.f
  }
  const compile = (ast: SchemaAST.AST): Reorder | undefined => {
    if (ast.encoding !== undefined) {
      const to = ast.encoding[ast.encoding.length - 1]!.to
      const inner = build(to)
      const tagged = SchemaAST.isDeclaration(ast) && SchemaAST.isObjects(to) && to.encoding === undefined &&
        to.propertySignatures.length > 1 && to.propertySignatures[0]!.name === "_tag"
      if (!tagged) return inner
      return inner === undefined ? tagLast : (v) => tagLast(inner(v))
    }
    switch (ast._tag) {
      case "Objects": {
        const fields: Array<readonly [PropertyKey, Reorder]> = []
        for (const ps of ast.propertySignatures) {
          const f = build(ps.type)
          if (f !== undefined) fields.push([ps.name, f])
        }
        const named = new Set(ast.propertySignatures.map((ps) => ps.name))
        const rest = ast.indexSignatures.map((is) => build(is.type)).find((f) => f !== undefined)
        if (fields.length === 0 && rest === undefined) return undefined
        return (v) => {
          if (!isRecord(v)) return v
          const out: Record<PropertyKey, unknown> = { ...v }
          for (const [name, f] of fields) if (name in out && out[name as string] !== undefined) out[name as string] = f(out[name as string])
          if (rest !== undefined) for (const key of Object.keys(out)) if (!named.has(key)) out[key] = rest(out[key])
          return out
        }
      }
      case "Arrays": {
        const elements = ast.elements.map(build)
        const rest = ast.rest.length > 0 ? build(ast.rest[0]!) : undefined
        if (rest === undefined && elements.every((f) => f === undefined)) return undefined
        return (v) =>
          Array.isArray(v) ? v.map((item, i) => {
            const f = i < elements.length ? elements[i] : rest
            return f === undefined ? item : f(item)
          }) : v
      }
      case "Union": {
        const members = ast.types.map((member) => ({ f: build(member), is: lazyIs(member) }))
        if (members.every((m) => m.f === undefined)) return undefined
        return (v) => {
          const member = members.find((m) => m.is()(v))
          return member?.f === undefined ? v : member.f(v)
        }
      }
      case "Suspend":
        return build(ast.thunk())
      default:
        return undefined
    }
  }
  return build(ast)
}

/** A guard for the encoded form of `ast`, compiled on first use. */
const lazyIs = (ast: SchemaAST.AST) => {
  let is: ((u: unknown) => boolean) | undefined
  return () => (is ??= Schema.is(Schema.make(SchemaAST.toEncoded(ast))))
}

/** An object with its `_tag` key moved last. */
const tagLast = (v: unknown): unknown => {
  if (!isRecord(v) || !("_tag" in v)) return v
  const { _tag, ...rest } = v
  return { ...rest, _tag }
}

/** A payload given as a struct's fields or as a schema, as a schema. */
export const payloadSchema = (input: Schema.Struct.Fields | Schema.Top): any =>
  Schema.isSchema(input) ? input : Schema.Struct(input as Schema.Struct.Fields)

/**
 * Messages as effect 3's formatter wrote them where effect 4's differ: a missing key "is missing", a
 * wrong value "Expected …, actual …".
 */
const formatter = SchemaIssue.makeFormatterStandardSchemaV1({
  leafHook: (issue) => {
    if (issue._tag === "MissingKey") return "is missing"
    const message = SchemaIssue.defaultLeafHook(issue)
    if (!SchemaIssue.hasInput(issue)) return message
    const got = `, got ${Formatter.format(issue.input)}`
    return message.endsWith(got) ? `${message.slice(0, -got.length)}, actual ${Formatter.format(issue.input)}` : message
  }
})

/** Turns a schema error into a typed error naming the workflow, the first bad field and what it expected. */
export const invalid = (
  reason: "InvalidPayload" | "InvalidResult",
  what: string,
  error: Schema.SchemaError,
  context: { readonly workflow?: string | undefined; readonly executionId?: string | undefined }
): WorkflowError => {
  const first = formatter(error.issue).issues[0]
  const path = first?.path?.map((segment) => (typeof segment === "object" ? segment.key : segment))
  const field = path === undefined || path.length === 0 ? undefined : path.map(String).join(".")
  const expected = first?.message
  return new WorkflowError({
    reason,
    ...context,
    ...(field === undefined ? {} : { field }),
    ...(expected === undefined ? {} : { expected }),
    message: `${what}${context.workflow === undefined ? "" : ` of workflow "${context.workflow}"`}${
      field === undefined ? "" : ` at field "${field}"`
    } is invalid: ${expected ?? error.message}`
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

const isObject = (u: unknown): u is object => (typeof u === "object" && u !== null) || typeof u === "function"

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** An issue saying what was expected where `found` is. */
const notAn = (expected: string, found: unknown): SchemaIssue.Issue =>
  new SchemaIssue.InvalidValue({ expected }, found, parseOptions)

const issueAt = (path: ReadonlyArray<PropertyKey>, issue: SchemaIssue.Issue): Schema.SchemaError =>
  new Schema.SchemaError(path.length === 0 ? issue : new SchemaIssue.Pointer([...path], issue))

/** A schema error moved under `path`. */
const at = (path: ReadonlyArray<PropertyKey>, error: Schema.SchemaError): Schema.SchemaError =>
  issueAt(path, error.issue)
