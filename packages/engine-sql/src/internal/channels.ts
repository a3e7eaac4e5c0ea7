/**
 * Channel messages (`sendMessage`): a message is stored as deferred `<prefix><index>`, the index one more than the
 * largest stored under the prefix, with the wake-up and `signal-received` of an applied signal, atomically.
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { WorkflowError, WorkflowStore } from "@weft/workflow"
import type { Prepared } from "../PgDriver.js"
import * as Column from "./columns.js"
import type { Database } from "./database.js"
import * as Pg from "./pgStatements.js"
import { admits, assignments, eventKind, kindOf, LIVE, T } from "./sqlRules.js"

/** The channels' part of the store. */
export type Channels = Required<Pick<WorkflowStore.Service, "sendMessage">>

/**
 * A send tried again at most this often: each try that finds its index taken lost it to a write that committed
 * meanwhile (another send, or a receive's timeout marker), so every retry follows another write's progress.
 */
const MAX_TRIES = 1_000

/**
 * PostgreSQL, one statement: $1 execution, $2 prefix, $3 exit, $4 sent at, $5 the prefix's length in characters.
 * The execution's row is locked first (an interrupt request or another send waits, or is waited for). The index
 * is read from the statement's snapshot: a send that committed while this one waited for the lock is not in it,
 * so the INSERT finds its name taken and inserts nothing (`name` null) and the caller sends again. No row: no
 * such execution.
 */
const sendMessagePg: Prepared = {
  name: "weft_send_message",
  text: `WITH target AS (
     SELECT execution_id, status, interrupt_requested FROM weft_executions WHERE execution_id = $1::text
     FOR NO KEY UPDATE),
   next AS (
     SELECT coalesce(max(substr(d.name, $5::int + 1)::bigint), 0) + 1 AS idx FROM weft_deferreds d
     WHERE d.execution_id = $1::text AND left(d.name, $5::int) = $2::text
       AND substr(d.name, $5::int + 1) ~ '^[0-9]{1,15}$'),
   inserted AS (
     INSERT INTO weft_deferreds (execution_id, name, exit, completed_at)
     SELECT target.execution_id, $2::text || next.idx::text, $3::text, $4::bigint FROM target, next
     WHERE target.interrupt_requested = 0 AND target.${LIVE}
     ON CONFLICT DO NOTHING RETURNING name),
   logged AS (
     INSERT INTO weft_events (execution_id, kind, at, detail)
     SELECT $1::text, ${eventKind(T.signalApplied)}, $4::bigint, name FROM inserted),
   ${Pg.SIGNAL_WAKES}
   SELECT target.status, target.interrupt_requested, (SELECT name FROM inserted) AS name,
     (SELECT count(*) FROM announced)::int AS announced
   FROM target`
}

const SentRow = Schema.Struct({
  status: Column.Status,
  interrupt_requested: Column.Flag,
  name: Schema.optional(Schema.NullishOr(Schema.String))
})
const decodeSent = Schema.decodeUnknownResult(SentRow)
const IndexRow = Schema.Struct({ idx: Column.Int })
const decodeIndex = Schema.decodeUnknownResult(IndexRow)

const decoded = <A>(result: Result.Result<A, Schema.SchemaError>): Effect.Effect<A, WorkflowError.WorkflowError> =>
  Result.isSuccess(result)
    ? Effect.succeed(result.success)
    : Effect.fail(
      new WorkflowError.WorkflowError({
        reason: "InvalidResult",
        message: `A stored row no longer decodes: a channel send's answer: ${result.failure.message}`
      })
    )

const noExecution = (executionId: string) =>
  new WorkflowError.WorkflowError({
    reason: "ExecutionNotFound",
    executionId,
    message: `No execution ${executionId} to send a message to`
  })

type Failure = WorkflowError.WorkflowError

/** One try: the index it stored the message under, none when that index was taken meanwhile (try again). */
type Try = WorkflowStore.MessageSent | undefined

/** The channels' statements over `db`. */
export const make = (db: Database): Channels => {
  const { event, inTransaction, isPg, pg, rows, sql } = db

  const tryPg = (executionId: string, message: WorkflowStore.ChannelMessage): Effect.Effect<Try, Failure> =>
    Effect.gen(function* () {
      const found = yield* pg(sendMessagePg, [
        executionId,
        message.prefix,
        JSON.stringify(message.exit),
        message.sentAt,
        codePoints(message.prefix)
      ])
      if (found.length === 0) return yield* Effect.fail(noExecution(executionId))
      const row = yield* decoded(decodeSent(found[0]))
      return outcome(row, message)
    })

  // A lone writer: nothing can take the index between the read and the INSERT of one transaction. The first
  // statement writes (a no-op on the row), so the transaction holds the write lock before it reads anything: another
  // process's write waits for it (the busy timeout) instead of invalidating what it read.
  const trySqlite = (executionId: string, message: WorkflowStore.ChannelMessage): Effect.Effect<Try, Failure> =>
    inTransaction(
      Effect.gen(function* () {
        const found = yield* rows(sql`UPDATE weft_executions SET wake_seq = wake_seq WHERE execution_id = ${executionId}
          RETURNING status, interrupt_requested`)
        if (found.length === 0) return yield* Effect.fail(noExecution(executionId))
        const row = yield* decoded(decodeSent(found[0]))
        if (!isOpen(row)) return outcome(row, message)
        const length = codePoints(message.prefix)
        const [next] = yield* rows(sql`SELECT coalesce(max(CAST(substr(name, ${length + 1}) AS INTEGER)), 0) + 1 AS idx
          FROM weft_deferreds WHERE execution_id = ${executionId} AND substr(name, 1, ${length}) = ${message.prefix}
            AND length(substr(name, ${length + 1})) BETWEEN 1 AND 15
            AND substr(name, ${length + 1}) NOT GLOB '*[^0-9]*'`)
        const { idx } = yield* decoded(decodeIndex(next))
        const name = `${message.prefix}${idx}`
        const inserted = yield* rows(sql`INSERT INTO weft_deferreds (execution_id, name, exit, completed_at)
          VALUES (${executionId}, ${name}, ${JSON.stringify(message.exit)}, ${message.sentAt})
          ON CONFLICT DO NOTHING RETURNING name`)
        if (inserted.length === 0) return undefined
        yield* event(executionId, kindOf(T.signalApplied), message.sentAt, name)
        yield* rows(sql`UPDATE weft_executions
          SET ${sql.literal(assignments(T.signalApplied))}, updated_at = ${message.sentAt}
          WHERE execution_id = ${executionId} AND ${sql.literal(admits(T.signalApplied))}`)
        return outcome({ ...row, name }, message)
      })
    )

  return {
    sendMessage: (executionId, message) =>
      Effect.gen(function* () {
        for (let tries = 0; tries < MAX_TRIES; tries++) {
          const sent = isPg ? yield* tryPg(executionId, message) : yield* trySqlite(executionId, message)
          if (sent !== undefined) return sent
        }
        return yield* Effect.fail(
          new WorkflowError.WorkflowError({
            reason: "StoreUnavailable",
            executionId,
            message: `A message to execution ${executionId} found its index taken ${MAX_TRIES} times in a row`
          })
        )
      })
  }
}

type Sent = typeof SentRow.Type

const isOpen = (row: Sent): boolean => !row.interrupt_requested && WorkflowStore.live.has(row.status)

/** What a try did: refused, stored under its name's index, or undefined when the index was taken meanwhile. */
const outcome = (row: Sent, message: WorkflowStore.ChannelMessage): Try => {
  if (!isOpen(row)) return { _tag: "Refused", status: row.status, interruptRequested: row.interrupt_requested }
  if (row.name === undefined || row.name === null) return undefined
  return {
    _tag: "Sent",
    index: Number(row.name.slice(message.prefix.length)),
    record: { name: row.name, exit: message.exit, completedAt: message.sentAt }
  }
}

/** Characters as PostgreSQL's `left` and SQLite's `substr` count them: code points. */
const codePoints = (text: string): number => [...text].length
