/**
 * The stored form of an Exit: the JSON that effect 3's `Schema.Exit({ success, failure, defect: Schema.Defect })`
 * wrote, byte for byte, written and read here with the success, error and defect codecs given.
 *
 * `{"_tag":"Success","value":…}` or `{"_tag":"Failure","cause":…}`, a cause being `{"_tag":"Empty"}`,
 * `{"_tag":"Fail","error":…}`, `{"_tag":"Die","defect":…}`, `{"_tag":"Interrupt","fiberId":…}` or
 * `{"_tag":"Sequential"|"Parallel","left":…,"right":…}`. Effect 4's Cause is a flat list of reasons, so this
 * module maps between the two itself:
 * - writing, no reason is `Empty`, one reason is its leaf, several are a left-nested `Sequential` tree
 *   in reason order (`[a, b, c]` is `Sequential(Sequential(a, b), c)`: what effect 3 wrote for a failure
 *   followed by finalizer or compensation defects, the usual several-reason end; effect 4 keeps no
 *   order-versus-concurrency distinction to write a `Parallel` from). An interrupt by fiber `n` is
 *   `{"_tag":"Runtime","id":n,"startTimeMillis":0}` (effect 4 keeps no start time), one without a
 *   fiber `{"_tag":"None"}`.
 * - reading, a tree is flattened left to right into reasons (`Sequential` and `Parallel` alike, `Empty`
 *   adding none); a `Runtime` fiber id gives its `id`, `None` no fiber, a `Composite` one interrupt per
 *   `Runtime` fiber in it (one without a fiber if it holds none).
 * - defects go through `defects.ts`, the key order of tagged classes through `keyOrder.ts`.
 */
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { decodeDefect, encodeDefect } from "./defects.js"
import { at, isRecord, issueAt, MAX_DEPTH, notAn } from "./issues.js"
import { asJson } from "./jsonData.js"

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

/** Encodes or decodes one value against a schema. */
export type Parser = (input: unknown) => Result.Result<unknown, Schema.SchemaError>

/** Writes an Exit in its stored form; what is written must be JSON data (`jsonData.ts`). */
export const encodeExit = (
  exit: Exit.Exit<unknown, unknown>,
  encodeSuccess: Parser,
  encodeError: Parser
): Result.Result<unknown, Schema.SchemaError> => {
  if (Exit.isSuccess(exit)) {
    // Encoding errors name fields from the value (and from the cause's root below), as effect 3's did.
    const encoded = asJson(encodeSuccess(exit.value))
    return Result.isFailure(encoded) ? encoded : Result.succeed({ _tag: "Success", value: encoded.success })
  }
  const cause = encodeCause(exit.cause, encodeError)
  return Result.isFailure(cause) ? cause : asJson(Result.succeed({ _tag: "Failure", cause: cause.success }))
}

/** Reads a stored Exit; errors name their path from the Exit (`value`, `cause.left.error`, ...). */
export const decodeExit = (
  encoded: unknown,
  decodeSuccess: Parser,
  decodeError: Parser
): Result.Result<Exit.Exit<unknown, unknown>, Schema.SchemaError> => {
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

/**
 * Writes a Cause in its stored form, each typed error through `encodeError`: no reason is `Empty`, one
 * is its leaf, several a left-nested `Sequential` tree in reason order.
 */
export const encodeCause = (
  cause: Cause.Cause<unknown>,
  encodeError: Parser
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
  decodeError: Parser
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
