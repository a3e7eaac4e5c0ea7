/**
 * Who runs what: finding runnable executions, claiming one with a lease (its whole journal in the same read),
 * renewing a worker's claims in one heartbeat, and giving a claim up.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { StoreRules, type WorkflowStore } from "@weft/workflow"
import { type Database, SQLITE_NOW, sqliteJournal } from "./database.js"
import * as Pg from "./pgStatements.js"
import * as Rows from "./rows.js"
import { admits, assignments, T } from "./sqlRules.js"

/** The claims' part of the store. */
export type Claims = Pick<
  WorkflowStore.Service,
  "claim" | "claimRunnable" | "release" | "renew" | "runnable" | "nextWakeAt" | "backlog"
>

/** The executions a claim may take: running ones. */
const CLAIMABLE = admits(T.claim)

/** The executions a due timer wakes: suspended ones. */
const SLEEPING = admits(T.timerFired)

/** The claimed row's journal, in the RETURNING of SQLite's claim. */
const SQLITE_JOURNAL = sqliteJournal("weft_executions")

/** What a fired timer does to its execution. */
const FIRE = assignments(T.timerFired)

/** The most claims one SQLite heartbeat statement renews (a heartbeat of more takes several). */
const RENEW_CHUNK = 500

/** A PostgreSQL claim's version filter as its two arrays (`Pg.RUNS_VERSION`): workflows and versions side by side. */
const pgRuns = (versions: WorkflowStore.Versions | undefined): [Array<string> | null, Array<number> | null] => {
  if (versions === undefined) return [null, null]
  const workflows: Array<string> = []
  const numbers: Array<number> = []
  for (const [workflow, listed] of versions) {
    for (const version of listed) {
      workflows.push(workflow)
      numbers.push(version)
    }
  }
  return [workflows, numbers]
}

/** The claims' statements over `db`. */
export const make = (db: Database): Claims => {
  const { driver, isPg, leaseMs, pg, q, rows, sql } = db
  const databaseClock = db.leaseClock === "database"
  /** The `now` a PostgreSQL statement's lease reads: null for the database's own clock. */
  const pgNow = (now: number) => (databaseClock ? null : now)
  /** The lease clock's time in a SQLite statement: the caller's `now`, or SQLite's own clock in milliseconds. */
  const sqliteNow = (now: number) =>
    databaseClock ? sql.literal(SQLITE_NOW) : sql`${now}`

  /** Fires the due timers of `names`: suspended executions whose wake time (the engine's clock) has come. */
  const fireDue = (now: number, workflows: ReadonlyArray<string>) =>
    rows(sql`UPDATE weft_executions SET ${sql.literal(FIRE)}, updated_at = ${now}
      WHERE ${sql.literal(SLEEPING)} AND wake_at <= ${now} AND workflow IN ${sql.in(workflows as Array<string>)}`)

  /**
   * A version filter (`WorkflowStore.runsVersion`) as plain SQL: the row's (workflow, version) is one `versions` lists.
   * SQLite's claims and both databases' `runnable` use it.
   */
  const versionsIn = (versions: WorkflowStore.Versions | undefined) =>
    versions === undefined
      ? sql.literal("1 = 1")
      : versions.size === 0
      ? sql.literal("0 = 1")
      : sql.or([...versions].map(([workflow, listed]) =>
        sql`(workflow = ${workflow} AND version IN ${sql.in(listed as Array<number>)})`
      ))

  /** The lapsed-lease condition of a row, by the lease clock. */
  const lapsed = (now: number) =>
    isPg ? (databaseClock ? sql.literal(Pg.leaseNow("NULL")) : sql`${now}`) : sqliteNow(now)

  return {
    claim: (executionId, owner, now, versions) => {
      // One statement on either database: the fence, the row and its journal come back from the UPDATE itself,
      // so a claim another process takes right after this one cannot hand its fence to this caller. A takeover
      // logs itself in it too: PostgreSQL's statement in a CTE, SQLite's by its trigger (`weft_taken_over`).
      const claimed = isPg
        ? pg(Pg.claim, [executionId, owner, pgNow(now), leaseMs, now, ...pgRuns(versions)])
        : rows(sql`UPDATE weft_executions SET owner = ${owner}, fence = fence + 1,
              lease_until = ${sqliteNow(now)} + ${leaseMs}, claimed_at = ${now}, in_flight = NULL
            WHERE execution_id = ${executionId} AND ${sql.literal(CLAIMABLE)}
              AND (owner IS NULL OR owner = ${owner} OR lease_until <= ${sqliteNow(now)}) AND ${versionsIn(versions)}
            RETURNING *, ${sql.literal(SQLITE_JOURNAL)}`)
      return Effect.flatMap(claimed, (r) =>
        r.length === 0 ? Effect.succeedNone : Effect.map(Rows.journal(r[0]), Option.some)
      )
    },

    claimRunnable: (owner, now, limit, workflows, versions) =>
      Effect.gen(function* () {
        if (workflows.length === 0 || limit <= 0) return []
        yield* fireDue(now, workflows)
        // One statement: on PostgreSQL the rows are locked SKIP LOCKED, so claimers meeting on a row never wait
        // for each other; SQLite's one writer makes its UPDATE of the picked rows atomic.
        const claimed = isPg
          ? yield* pg(Pg.claimRunnable, [owner, pgNow(now), limit, workflows, leaseMs, now, ...pgRuns(versions)])
          : yield* rows(sql`UPDATE weft_executions SET owner = ${owner}, fence = fence + 1,
                lease_until = ${sqliteNow(now)} + ${leaseMs}, claimed_at = ${now}, in_flight = NULL
              WHERE execution_id IN (
                SELECT execution_id FROM weft_executions
                WHERE ${sql.literal(CLAIMABLE)} AND workflow IN ${sql.in(workflows as Array<string>)}
                  AND (owner IS NULL OR lease_until <= ${sqliteNow(now)}) AND ${versionsIn(versions)}
                ORDER BY updated_at LIMIT ${limit})
              RETURNING *, ${sql.literal(SQLITE_JOURNAL)}`)
        return yield* Rows.all(claimed, Rows.journal)
      }),

    release: (executionId, fence) =>
      Effect.asVoid(
        isPg
          ? pg(Pg.release, [executionId, fence])
          : rows(sql`UPDATE weft_executions SET owner = NULL WHERE execution_id = ${executionId} AND fence = ${fence}`)
      ),

    renew: (owner, claims, now) => {
      if (claims.length === 0) return Effect.succeed([])
      // One statement for the whole heartbeat; a claim holds, and is extended, only if its row still names this
      // owner and fence (a fence the same owner superseded extends nothing). With it, what each run has in flight:
      // a later takeover names it.
      // On PostgreSQL with the driver, on a connection of its own: it must not queue behind the runs' writes.
      const ids = claims.map((c) => c.executionId)
      const fences = claims.map((c) => c.fence)
      const inFlight = claims.map((c) => (c.inFlight === undefined ? null : StoreRules.inFlightText(c.inFlight)))
      // PostgreSQL's array of them: '' for unknown (a client infers no type for an array of nulls only).
      const inFlightArray = inFlight.map((text) => text ?? "")
      const inFlightCases = claims.map((c, i) => sql`WHEN execution_id = ${c.executionId} THEN ${inFlight[i] ?? null}`)
      // SQLite: at most RENEW_CHUNK claims per statement (four bound values each; SQLite binds at most 32,766).
      const sqliteRenew = (from: number) =>
        rows(sql`UPDATE weft_executions SET lease_until = ${sqliteNow(now)} + ${leaseMs},
              in_flight = CASE ${sql.join(" ", false)(inFlightCases.slice(from, from + RENEW_CHUNK))} END
            WHERE owner = ${owner} AND ${
          sql.or(
            claims.slice(from, from + RENEW_CHUNK).map((c) => sql`(execution_id = ${c.executionId} AND fence = ${c.fence})`)
          )
        }
            RETURNING execution_id, fence, interrupt_requested`)
      const renewed = !isPg
        ? claims.length <= RENEW_CHUNK
          ? sqliteRenew(0)
          : Effect.map(
            Effect.forEach(Array.from({ length: Math.ceil(claims.length / RENEW_CHUNK) }, (_, i) => i * RENEW_CHUNK), sqliteRenew),
            (chunks) => chunks.flat()
          )
        : Option.isSome(driver)
        ? q(driver.value.queryOwn(Pg.renew, [owner, ids, fences, pgNow(now), leaseMs, inFlightArray]))
        : pg(Pg.renew, [owner, ids, fences, pgNow(now), leaseMs, inFlightArray])
      return Effect.flatMap(renewed, (r) =>
        Effect.map(Rows.all(r, Rows.renewed), (rows) => {
          const found = new Map(rows.map((row) => [row.execution_id, row]))
          return claims.map(({ executionId, fence }) => {
            const row = found.get(executionId)
            return row === undefined || row.fence !== fence
              ? { held: false, interruptRequested: false }
              : { held: true, interruptRequested: row.interrupt_requested }
          })
        })
      )
    },

    runnable: (now, limit, workflows, versions) =>
      Effect.gen(function* () {
        if (workflows.length === 0) return []
        const names = sql.in(workflows as Array<string>)
        yield* fireDue(now, workflows)
        // (`versionsIn` is plain SQL, the same on both databases; this read is not a prepared statement.)
        const ready = yield* rows(sql`SELECT execution_id, workflow FROM weft_executions
          WHERE ${sql.literal(CLAIMABLE)} AND workflow IN ${names} AND (owner IS NULL OR lease_until <= ${lapsed(now)})
            AND ${versionsIn(versions)}
          ORDER BY updated_at LIMIT ${limit}`)
        return yield* Rows.all(ready, Rows.runnable)
      }),

    // Not a hot-path statement: each engine samples it every `backlogIntervalMs`.
    backlog: (now, workflows) =>
      workflows.length === 0
        ? Effect.succeed([])
        : Effect.flatMap(
            rows(sql`SELECT workflow, count(*) AS runnable FROM weft_executions
              WHERE workflow IN ${sql.in(workflows as Array<string>)}
                AND ((${sql.literal(CLAIMABLE)} AND (owner IS NULL OR lease_until <= ${lapsed(now)}))
                  OR (${sql.literal(SLEEPING)} AND wake_at <= ${now}))
              GROUP BY workflow`),
            (found) => Rows.all(found, Rows.backlog)
          ),

    nextWakeAt: (workflows) =>
      workflows.length === 0
        ? Effect.succeedNone
        : Effect.flatMap(
            rows(sql`SELECT min(wake_at) AS next FROM weft_executions
              WHERE ${sql.literal(SLEEPING)} AND workflow IN ${sql.in(workflows as Array<string>)}`),
            (r) => (r.length === 0 ? Effect.succeedNone : Effect.map(Rows.nextWake(r[0]), Option.fromNullishOr))
          )
  }
}
