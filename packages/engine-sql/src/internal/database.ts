/**
 * The store's handle on its database: how a statement runs (prepared on the PostgreSQL driver's pool, or through
 * the `SqlClient`), driver errors as `StoreRejected` or `StoreUnavailable`, and the SQL fragments every part of the store shares.
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as SqlClient from "effect/sql/SqlClient"
import type * as SqlError from "effect/sql/SqlError"
import type * as Statement from "effect/sql/Statement"
import { WorkflowError, type WorkflowStore } from "@weft/workflow"
import type * as PgDriver from "../PgDriver.js"
import * as Pg from "./pgStatements.js"

type Failure = WorkflowError.WorkflowError

/** A statement's rows, to be decoded by `rows.ts`. */
export type Rows = Effect.Effect<ReadonlyArray<unknown>, Failure>

/** What every part of the store runs its statements with. */
export interface Database {
  readonly sql: SqlClient.SqlClient
  /** PostgreSQL: its statements are the prepared ones of `pgStatements`; else SQLite's, written here and there. */
  readonly isPg: boolean
  /** The engine's own PostgreSQL driver, when it was built with one. */
  readonly driver: Option.Option<PgDriver.Service>
  /** How long a claim holds without renewal, in milliseconds. */
  readonly leaseMs: number
  /** Whose clock starts a lease and tells whether one has lapsed: the database's, or the caller's `now`. */
  readonly leaseClock: LeaseClock
  /**
   * The lease end of a claim taken at `at` (a create that inserts its execution claimed), as PostgreSQL's
   * `create` statements take it: the end itself by the caller's clock, or minus the lease's length for the
   * database's clock at the statement (`Pg.leaseUntil`).
   */
  readonly leaseParam: (at: number) => number
  /** The same on SQLite, as SQL: `at` + the lease, or SQLite's own clock + the lease. */
  readonly leaseUntil: (at: number) => Statement.Fragment
  /** The services batches run with (group commit runs them on fibers of their own). */
  readonly context: Context.Context<never>
  /** A driver call; its errors become `StoreRejected` or `StoreUnavailable` (`failure`). */
  readonly q: <A>(effect: Effect.Effect<A, SqlError.SqlError>) => Effect.Effect<A, Failure>
  /**
   * Runs a statement; its rows. On PostgreSQL outside a transaction it runs unprepared on the engine's pool,
   * so a connection that goes silent fails it after `queryTimeoutMs` as it does the hot statements.
   */
  readonly rows: (statement: Statement.Statement<any>) => Rows
  /** A hot-path PostgreSQL statement; inside a transaction, as plain text on the transaction's connection. */
  readonly pg: (statement: PgDriver.Prepared, values: ReadonlyArray<unknown>) => Rows
  /** A hot-path PostgreSQL statement outside a transaction: prepared on the driver's pool, else plain text. */
  readonly pgOutside: (statement: PgDriver.Prepared, values: ReadonlyArray<unknown>) => Rows
  /** Whether this fiber is outside a transaction (a transactional activity's writes must use its connection). */
  readonly outsideTransaction: Effect.Effect<boolean>
  /** Runs `effect` in one transaction; a failed BEGIN or COMMIT is `StoreUnavailable`. */
  readonly inTransaction: <A>(effect: Effect.Effect<A, Failure>) => Effect.Effect<A, Failure>
  /** The fencing condition every write of a claimed execution carries, in the same statement. */
  readonly fenceHolds: (executionId: string, fence: number) => Statement.Fragment
  /**
   * 1 while `fence` still holds the execution, else 0: a fenced write that found its row already
   * written returns that row only to the live claim, so a superseded worker stops there too.
   */
  readonly held: (executionId: string, fence: number) => Statement.Fragment
  /** Whether `fence` still holds the execution (used only to explain a write that changed nothing). */
  readonly holds: (executionId: string, fence: number) => Effect.Effect<boolean, Failure>
  /** Appends to the event log (SQLite; PostgreSQL's statements log their own events). */
  readonly event: (executionId: string, kind: WorkflowStore.EventKind, at: number, detail?: string) => Rows
  /** An execution row's journal, as three JSON arrays: `SELECT c.*, ${journalColumns} FROM weft_executions c`. */
  readonly journalColumns: Statement.Fragment
}

/** SQLite's clock in milliseconds, as SQL. */
export const SQLITE_NOW = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"

/** Whose clock claims and renewals read: the database's at the statement, or the `now` the caller passes. */
export type LeaseClock = "database" | "caller"

/**
 * On SQLite, the journal of the execution row named `row`, as three JSON arrays (`c` for `journalColumns`;
 * `weft_executions` in an UPDATE's RETURNING, where an alias is not in scope of a subquery).
 */
export const sqliteJournal = (row: string): string => `
          (SELECT json_group_array(json_array(a.name, a.attempt, a.exit, a.started_at, a.completed_at))
             FROM (SELECT * FROM weft_attempts WHERE execution_id = ${row}.execution_id ORDER BY rowid) a) AS attempts,
          (SELECT json_group_array(json_array(d.name, d.exit, d.completed_at))
             FROM weft_deferreds d WHERE d.execution_id = ${row}.execution_id) AS deferreds,
          (SELECT json_group_array(json_array(k.name, k.wake_at, k.set_at))
             FROM weft_clocks k WHERE k.execution_id = ${row}.execution_id) AS clocks`

/** The database did not answer: `StoreUnavailable`. */
export const unavailable = (error: SqlError.SqlError | unknown) =>
  new WorkflowError.WorkflowError({
    reason: "StoreUnavailable",
    message: `The database did not answer: ${driverMessage(error)}`
  })

/**
 * A driver error as the engine's: one that retrying cannot fix (the database refused the statement's data or
 * text: PostgreSQL's SQLSTATE classes 22, 23, 42 and 54, SQLite's constraint, mismatch, too big, range and
 * generic errors) is `StoreRejected`, naming the driver's message; any other (no answer, a lost connection, a
 * lock, a serialization failure) is `StoreUnavailable`, retried.
 */
export const failure = (error: SqlError.SqlError | unknown): WorkflowError.WorkflowError => {
  const code = driverCode(error)
  if (code === undefined || !isRejection(code)) return unavailable(error)
  return new WorkflowError.WorkflowError({
    reason: "StoreRejected",
    message: `The database rejected the statement (${code}): ${driverMessage(error)}`
  })
}

/** Whether a driver's error code is one retrying cannot fix. */
const isRejection = (code: string): boolean =>
  /^[0-9A-Z]{5}$/.test(code)
    ? /^(22|23|42|54)/.test(code)
    : /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE|ERROR)(_|$)/.test(code)

/** The code the driver gave (a SQLSTATE, or SQLite's `SQLITE_…`), looked for through the error's causes. */
const driverCode = (error: unknown): string | undefined => {
  let current: unknown = error
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    const code = (current as { readonly code?: unknown }).code
    if (typeof code === "string") return code
    const next = current as { readonly reason?: unknown; readonly cause?: unknown }
    current = next.reason !== undefined && typeof next.reason === "object" ? next.reason : next.cause
  }
  return undefined
}

/** The innermost message of a driver error: the database's own words. */
const driverMessage = (error: unknown): string => {
  let message = error instanceof Error ? error.message : String(error)
  let current: unknown = error
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    if (current instanceof Error && current.message !== "") message = current.message
    const next = current as { readonly reason?: unknown; readonly cause?: unknown }
    current = next.reason !== undefined && typeof next.reason === "object" ? next.reason : next.cause
  }
  return message
}

/** A fenced write found the claim gone: `LeaseLost`. */
export const leaseLost = (executionId: string) =>
  new WorkflowError.WorkflowError({
    reason: "LeaseLost",
    executionId,
    message: `The claim on execution ${executionId} was lost to another worker`
  })

/** The handle over `sql` (and, on PostgreSQL, the engine's `driver` if any). */
export const make = (options: {
  readonly sql: SqlClient.SqlClient
  readonly driver: Option.Option<PgDriver.Service>
  readonly leaseMs: number
  readonly leaseClock: LeaseClock
  readonly context: Context.Context<never>
}): Database => {
  const { driver, sql } = options
  const isPg = sql.onDialectOrElse({ pg: () => true, orElse: () => false })

  const q = <A>(effect: Effect.Effect<A, SqlError.SqlError>): Effect.Effect<A, Failure> =>
    Effect.mapError(effect, failure)

  const outsideTransaction = Effect.map(Effect.serviceOption(sql.transactionService), Option.isNone)

  const rows = (statement: Statement.Statement<any>): Rows =>
    Option.isNone(driver)
      ? q(statement)
      : Effect.flatMap(outsideTransaction, (outside) => {
          if (!outside) return q(statement)
          const [text, values] = statement.compile()
          return q(driver.value.queryText(text, values))
        })

  const pgOutside = (statement: PgDriver.Prepared, values: ReadonlyArray<unknown>): Rows =>
    Option.isNone(driver)
      ? rows(sql.unsafe(statement.text, values as Array<any>))
      : q(driver.value.query(statement, values))

  const pg = (statement: PgDriver.Prepared, values: ReadonlyArray<unknown>): Rows =>
    Option.isNone(driver)
      ? pgOutside(statement, values)
      : Effect.flatMap(outsideTransaction, (outside) =>
          outside ? pgOutside(statement, values) : q(sql.unsafe(statement.text, values as Array<any>))
        )

  const inTransaction = <A>(effect: Effect.Effect<A, Failure>) =>
    Effect.mapError(sql.withTransaction(effect), (e) => (e instanceof WorkflowError.WorkflowError ? e : failure(e)))

  const fenceHolds = (executionId: string, fence: number) =>
    sql`EXISTS (SELECT 1 FROM weft_executions WHERE execution_id = ${executionId} AND fence = ${fence} AND owner IS NOT NULL)`

  const held = (executionId: string, fence: number) =>
    sql`(SELECT count(*) FROM weft_executions WHERE execution_id = ${executionId} AND fence = ${fence} AND owner IS NOT NULL)`

  const holds = (executionId: string, fence: number) =>
    Effect.map(
      isPg
        ? pg(Pg.holds, [executionId, fence])
        : rows(sql`SELECT 1 AS ok FROM weft_executions WHERE execution_id = ${executionId} AND fence = ${fence} AND owner IS NOT NULL`),
      (r) => r.length > 0
    )

  const event = (executionId: string, kind: WorkflowStore.EventKind, at: number, detail?: string) =>
    rows(sql`INSERT INTO weft_events (execution_id, kind, at, detail) VALUES (${executionId}, ${kind}, ${at}, ${detail ?? null})`)

  const journalColumns = isPg
    ? sql.literal(Pg.journalColumns)
    : sql.literal(sqliteJournal("c"))

  return {
    sql,
    isPg,
    driver,
    leaseMs: options.leaseMs,
    leaseClock: options.leaseClock,
    leaseParam: (at) => (options.leaseClock === "database" ? -options.leaseMs : at + options.leaseMs),
    leaseUntil: (at) =>
      options.leaseClock === "database"
        ? sql.literal(`(${SQLITE_NOW} + ${Math.trunc(options.leaseMs)})`)
        : sql`${at + options.leaseMs}`,
    context: options.context,
    q,
    rows,
    pg,
    pgOutside,
    outsideTransaction,
    inTransaction,
    fenceHolds,
    held,
    holds,
    event,
    journalColumns
  }
}
