/**
 * The `WorkflowStore` over any Effect SQL client (`effect/sql/SqlClient`): SQLite for one process, PostgreSQL
 * for many. Every fenced write is one statement whose WHERE checks the claim; a claim loads the journal in one read.
 *
 * Where things are: the journal's writes (a step's result, clocks, deferreds, completion) in `internal/journal.ts`;
 * creating, reading, waking and signalling executions in `internal/executions.ts`; claims and heartbeats in
 * `internal/claims.ts`; the queue in `internal/queue.ts`; `list` and `detail` in `internal/inspection.ts`; `purge` in
 * `internal/retention.ts`; `retry` and `fork` (an operator's retry and restart) in `internal/operator.ts`; rows and their Schemas in `internal/rows.ts`; PostgreSQL's prepared statements in
 * `internal/pgStatements.ts`; channel messages (`sendMessage`) in `internal/channels.ts`.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as SqlClient from "effect/sql/SqlClient"
import * as SqlError from "effect/sql/SqlError"
import { type WorkflowError, WorkflowStore } from "@weft/workflow"
import * as Channels from "./internal/channels.js"
import * as Claims from "./internal/claims.js"
import { PgDriver } from "./internal/driver.js"
import * as Database from "./internal/database.js"
import * as Executions from "./internal/executions.js"
import * as Inspection from "./internal/inspection.js"
import * as Journal from "./internal/journal.js"
import * as Migrations from "./internal/migrations.js"
import * as Notifications from "./internal/notifications.js"
import * as Operator from "./internal/operator.js"
import * as Queue from "./internal/queue.js"
import * as Retention from "./internal/retention.js"
import * as Rows from "./internal/rows.js"
import * as Schedules from "./internal/schedules.js"

/** Options of the SQL store. */
export interface Options {
  /** How long a claim holds without renewal, in milliseconds. Default 5,000. */
  readonly leaseMs?: number | undefined
  /**
   * Whose clock starts a lease and tells whether one has lapsed (claims, the heartbeat, `runnable`):
   * `"database"`, the database's clock at the statement, so a claim that waited for a connection still gets
   * a whole lease and workers' clocks need not agree; or `"caller"`, the `now` the engine passes (its `Clock`,
   * which tests may drive). Default `"database"` on PostgreSQL, `"caller"` on SQLite (one process, one clock).
   */
  readonly leaseClock?: "database" | "caller" | undefined
  /** How to retry reaching the database and migrating at start. Default: 5 tries, exponential from 200 ms. */
  readonly connectRetry?: Schedule.Schedule<unknown, unknown> | undefined
}

/** Builds the store on the `SqlClient` in context, migrating its schema first. */
export const make = (
  options: Options = {}
): Effect.Effect<WorkflowStore.Service, WorkflowError.WorkflowError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const isPg = sql.onDialectOrElse({ pg: () => true, orElse: () => false })
    const driver = isPg ? yield* Effect.serviceOption(PgDriver) : Option.none()

    yield* Migrations.run.pipe(
      Effect.retry(options.connectRetry ?? Schedule.max([Schedule.exponential("200 millis"), Schedule.recurs(5)])),
      Effect.mapError(Database.unavailable)
    )

    const context = yield* Effect.context<never>()
    const leaseClock = options.leaseClock ?? (isPg ? "database" : "caller")
    const db = Database.make({ sql, driver, leaseMs: options.leaseMs ?? 5_000, leaseClock, context })
    return {
      ...Executions.make(db),
      ...Claims.make(db),
      ...Journal.make(db),
      ...Queue.make(db),
      ...Inspection.make(db),
      ...Retention.make(db),
      ...Operator.make(db),
      ...Channels.make(db),
      ...Schedules.make(db),

      signingKey: (generate) =>
        Effect.gen(function* () {
          const generated = Buffer.from(generate()).toString("hex")
          yield* db.rows(sql`INSERT INTO weft_meta (key, value) VALUES ('signing_key', ${generated})
            ON CONFLICT DO NOTHING`)
          const [found] = yield* db.rows(sql`SELECT value FROM weft_meta WHERE key = 'signing_key'`)
          return new Uint8Array(Buffer.from(yield* Rows.meta(found), "hex"))
        }),

      transaction: (effect) =>
        Effect.mapError(sql.withTransaction(effect), (e) =>
          SqlError.isSqlError(e) ? Database.failure(e) : e
        ) as any,

      notifications: Option.isSome(driver) ? Notifications.listen(driver.value) : undefined
    }
  })

/** The store as a Layer over the `SqlClient` in context. */
export const layer = (
  options: Options = {}
): Layer.Layer<WorkflowStore.WorkflowStore, WorkflowError.WorkflowError, SqlClient.SqlClient> =>
  Layer.effect(WorkflowStore.WorkflowStore, make(options))
