/**
 * Schema codecs compiled once per definition: payloads and stored Exits, in the stored form the effect 3
 * build wrote (`exitEncoding.ts`, `defects.ts`, `keyOrder.ts`), refused unless JSON data (`jsonData.ts`).
 *
 * A definition whose success, error or payload schema is effect 4's `Schema.Defect()` (what effect 3's
 * `Schema.Defect` became) stores values as effect 3's `Schema.Defect` did, as defects are stored: see
 * `legacyDefect`; one whose schema is `Schema.Void` stores what the body returned, as effect 3's `Schema.Void`
 * let through (effect 4's encodes every value as undefined): an activity typed `void` that returns a value
 * stores `{"_tag":"Success","value":…}` as before.
 */
import type * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { legacyDefect } from "./defects.js"
import * as ExitEncoding from "./exitEncoding.js"
import { parseOptions } from "./issues.js"
import { asJson } from "./jsonData.js"
import { keyOrder } from "./keyOrder.js"

/** Encoders and decoders for one payload / success / error triple. */
export interface Codec {
  readonly encodePayload: (payload: unknown) => Result.Result<unknown, Schema.SchemaError>
  readonly decodePayload: (encoded: unknown) => Result.Result<unknown, Schema.SchemaError>
  readonly encodeExit: (exit: Exit.Exit<unknown, unknown>) => Result.Result<unknown, Schema.SchemaError>
  readonly decodeExit: (encoded: unknown) => Result.Result<Exit.Exit<unknown, unknown>, Schema.SchemaError>
  /** The schemas it was compiled from (the payload's, when it has one), for discovery. */
  readonly schemas: {
    readonly payload: Schema.Top | undefined
    readonly success: Schema.Top
    readonly error: Schema.Top
  }
}

const byOutcome = new WeakMap<object, WeakMap<object, Codec>>()

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
    encodeExit: (exit) => ExitEncoding.encodeExit(exit, encodeSuccess, encodeError),
    decodeExit: (encoded) => ExitEncoding.decodeExit(encoded, decodeSuccess, decodeError),
    schemas: { payload, success, error }
  }
  if (payload === undefined) {
    let byError = byOutcome.get(success)
    if (byError === undefined) byOutcome.set(success, (byError = new WeakMap()))
    byError.set(error, codec)
  }
  return codec
}

/** A payload given as a struct's fields or as a schema, as a schema. */
export const payloadSchema = (input: Schema.Struct.Fields | Schema.Top): any =>
  Schema.isSchema(input) ? input : Schema.Struct(input as Schema.Struct.Fields)

/** An encoder whose output keeps effect 3's key order (`keyOrder`). */
const encoder = (schema: Schema.Top): ExitEncoding.Parser => {
  const encode = Schema.encodeUnknownResult(schema as unknown as Schema.Codec<unknown, unknown>, parseOptions)
  const reorder = keyOrder(schema.ast)
  return reorder === undefined ? encode : (input) => Result.map(encode(input), reorder)
}

const decoder = (schema: Schema.Top): ExitEncoding.Parser =>
  Schema.decodeUnknownResult(schema as unknown as Schema.Codec<unknown, unknown>, parseOptions)

/**
 * The schema a definition's values are stored with: its own, but effect 3's forms for `Schema.Defect()` and
 * `Schema.Void` (which let any value through, as `Schema.Unknown` does in effect 4).
 */
const stored = (schema: Schema.Top): Schema.Top =>
  schema === Schema.Void ? Schema.Unknown : schema === Schema.Defect() ? legacyDefect : schema
