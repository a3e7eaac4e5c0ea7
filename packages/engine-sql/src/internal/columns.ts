/**
 * Schemas of the store's column types, as each dialect's driver returns them: integers as numbers, bigints
 * or decimal text (PostgreSQL's int8), JSON as text or already parsed (json). Rows are only decoded.
 */
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as SchemaGetter from "effect/SchemaGetter"
import * as SchemaIssue from "effect/SchemaIssue"
import { WorkflowStore } from "@weft/workflow"

/** What a JSON column that holds no JSON says, after naming the column. */
export const NOT_JSON = "is not valid JSON"

/** Rows are only read: nothing is encoded back through these schemas. */
const readOnly = SchemaGetter.forbidden<any, any>(() => "a row is only read")

const toNumber = <S extends Schema.Top>(schema: S) =>
  schema.pipe(Schema.decodeTo(Schema.Number, { decode: SchemaGetter.transform(Number), encode: readOnly }))

/**
 * An integer: a number (SQLite, int4), a bigint (SQLite's safe integers) or decimal text (int8 through pg).
 * A number, the common case, decodes with no transformation.
 */
export const Int = Schema.Union([Schema.Number, toNumber(Schema.String), toNumber(Schema.BigInt)])

/** A nullable integer (a wake time, an aggregate over no rows): null as undefined. */
export const OptionalInt = Schema.NullishOr(Int).pipe(
  Schema.decodeTo(Schema.UndefinedOr(Schema.Number), {
    decode: SchemaGetter.transform((n) => n ?? undefined),
    encode: readOnly
  })
)

/** An integer used as a flag: 1 is true. */
export const Flag = Int.pipe(
  Schema.decodeTo(Schema.Boolean, { decode: SchemaGetter.transform((n) => n === 1), encode: readOnly })
)

/** A count used as a flag: more than 0 is true (whether a claim still holds, next to the row a write found). */
export const AtLeastOne = Int.pipe(
  Schema.decodeTo(Schema.Boolean, { decode: SchemaGetter.transform((n) => n > 0), encode: readOnly })
)

/**
 * JSON text, parsed; a value the driver parsed itself as it is. Text that is not JSON fails with `message`,
 * given the parser's error.
 */
const parse = (value: unknown, message: (error: unknown) => string): Exit.Exit<unknown, SchemaIssue.Issue> => {
  if (typeof value !== "string") return Exit.succeed(value)
  try {
    return Exit.succeed(JSON.parse(value))
  } catch (error) {
    return Exit.fail(new SchemaIssue.InvalidValue({ message: message(error) }, value))
  }
}

const notJson = () => NOT_JSON

/** A payload: JSON text, or the empty text for undefined (a `Schema.Void` payload), which JSON cannot hold. */
export const Payload = Schema.Unknown.pipe(
  Schema.decodeTo(Schema.Unknown, {
    decode: SchemaGetter.transformEffect((value) => (value === "" ? Exit.succeed(undefined) : parse(value, notJson))),
    encode: readOnly
  })
)

/** A payload as the column holds it: JSON text, and undefined as the empty text no JSON is. */
export const payloadText = (payload: unknown): string => JSON.stringify(payload) ?? ""

/** An execution's final result: JSON text, or null while it runs. */
export const Result = Schema.Unknown.pipe(
  Schema.decodeTo(Schema.Unknown, {
    decode: SchemaGetter.transformEffect((value) =>
      value === null || value === undefined ? Exit.succeed(undefined) : parse(value, notJson)
    ),
    encode: readOnly
  })
)

const parserMessage = (error: unknown) => (error instanceof Error ? error.message : String(error))

/**
 * JSON the database built (the journal's lists), holding `schema`; text that is not JSON fails with the
 * parser's error.
 */
export const JsonOf = <S extends Schema.Top>(schema: S) =>
  Schema.Unknown.pipe(
    Schema.decodeTo(schema, {
      decode: SchemaGetter.transformEffect(
        (value) => parse(value, parserMessage) as Exit.Exit<S["Encoded"], SchemaIssue.Issue>
      ),
      encode: readOnly
    })
  )

/** A stored Exit's text that is not JSON any more: `exitOf` makes it a marker naming its step. */
class NotJson {
  constructor(readonly text: string) {}
}

/** A stored Exit: JSON text, parsed. Text that is not JSON still decodes, as `NotJson`: see `exitOf`. */
export const StoredExit = Schema.Unknown.pipe(
  Schema.decodeTo(Schema.Unknown, {
    decode: SchemaGetter.transform((value) => {
      const parsed = parse(value, notJson)
      return Exit.isSuccess(parsed) ? parsed.value : new NotJson(value as string)
    }),
    encode: readOnly
  })
)

/**
 * A stored Exit that is not JSON any more stays readable as a marker the runtime's schema cannot
 * decode: the execution then fails with a `NonDeterminismError` naming the step, instead of every
 * claim of it failing (and being retried) forever. `where` names the step (its row does not repeat
 * its execution's id, so only the caller can).
 */
export const exitOf = (exit: unknown, where: () => string): unknown =>
  exit instanceof NotJson ? { _tag: "Undecodable", message: `${where()} ${NOT_JSON}`, text: exit.text } : exit

/** An execution's status. */
export const Status = Schema.Literals(WorkflowStore.statuses)
