/**
 * Crash recovery with real worker processes: a worker is SIGKILLed at a named fault point and a
 * fresh one, built from the same engine Layer, finishes the execution. Runs on SQLite and PostgreSQL.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as SqlClient from "effect/sql/SqlClient"
import { PgEngine } from "@weft/engine-sql/pg"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import { DurableDeferred, type Workflow, WorkflowEngine, type WorkflowStore } from "@weft/workflow"
import {
  Approval,
  Approve,
  type BodyRun,
  bodyRuns,
  Family,
  Ledger,
  ledgerTable,
  Flaky,
  Nap,
  napMillis,
  scenarios,
  Stall,
  Steps
} from "./crash/fixtures.js"
import { completedIn, killed, type Worker } from "./crash/workers.js"
import * as Workers from "./crash/workers.js"
import { testDatabase } from "./pg.js"
import { attempts, hasStatus, record, waitUntil } from "./util.js"

const dir = mkdtempSync(join(tmpdir(), "weft-crash-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0

type Services = WorkflowEngine.WorkflowEngine | SqlClient.SqlClient

/** A database the test and its workers share: how workers reach it, and the test's own engine on it. */
interface Database {
  readonly spec: string
  readonly layer: Layer.Layer<Services | WorkflowStore.WorkflowStore, unknown>
  /** Whether wake-ups between processes arrive by LISTEN/NOTIFY (else by polling). */
  readonly notifies: boolean
}

const backends: ReadonlyArray<{ readonly name: string; readonly database: Effect.Effect<Database, never, Scope.Scope> }> = [
  {
    name: "sqlite",
    database: Effect.sync(() => {
      const filename = join(dir, `crash-${n++}.db`)
      return { spec: `sqlite:${filename}`, layer: SqliteEngine.layer({ filename }), notifies: false }
    })
  },
  {
    name: "postgres",
    database: Effect.map(testDatabase(), (url) => ({
      spec: `pg:${url}`,
      layer: PgEngine.layer({ url, maxConnections: 2 }),
      notifies: true
    }))
  }
]

for (const backend of backends) {
  // Every test has its own database and workers, so they run concurrently: each starts child processes (tsx compiles
  // them), so on a loaded two-core machine a test can take past the default 60 s.
  describe.concurrent(`crash recovery: ${backend.name}`, { timeout: 120_000 }, () => {
    /** Runs `test` with a fresh database, the test's engine on it, and a fresh body-run log. */
    const withDatabase = <A, E>(test: (db: Database, log: string) => Effect.Effect<A, E, Services | Scope.Scope>) =>
      Effect.flatMap(backend.database, (db) => Effect.provide(test(db, join(dir, `runs-${n++}.log`)), db.layer))

    it.effect("a new process finishes a killed run on start-up without execute: steps 1–2 ran once, 3–5 once", () =>
      withDatabase((db, log) =>
        Effect.gen(function* () {
          const id = yield* Steps.executionId({ id: "s1" })
          const first = yield* worker(db, log, "steps", "s1", { start: true, kill: "activity-recorded:step-2" })
          yield* killed(first)
          assert.deepStrictEqual(names(bodyRuns(log)), ["step-1", "step-2"])
          assert.deepStrictEqual(yield* attempts(id), ["step-1#1", "step-2#1"])
          assert.strictEqual((yield* record(id)).execution.status, "running")

          const second = yield* worker(db, log, "steps", "s1")
          yield* completedIn(second)
          const runs = bodyRuns(log)
          assert.deepStrictEqual(runs, [
            { name: "step-1", pid: first.pid },
            { name: "step-2", pid: first.pid },
            { name: "step-3", pid: second.pid },
            { name: "step-4", pid: second.pid },
            { name: "step-5", pid: second.pid }
          ])
          assert.deepStrictEqual(yield* attempts(id), ["step-1#1", "step-2#1", "step-3#1", "step-4#1", "step-5#1"])
          assert.deepStrictEqual(yield* result(Steps, id), Exit.succeed("s1/s2/s3/s4/s5"))
        })
      ))

    it.effect("a kill during activity 3 re-runs only activity 3: its body ran twice, every other body once", () =>
      withDatabase((db, log) =>
        Effect.gen(function* () {
          const id = yield* Steps.executionId({ id: "s2" })
          const first = yield* worker(db, log, "steps", "s2", { start: true, kill: "activity-ran:step-3" })
          yield* killed(first)
          assert.deepStrictEqual(names(bodyRuns(log)), ["step-1", "step-2", "step-3"])
          assert.deepStrictEqual(yield* attempts(id), ["step-1#1", "step-2#1"])

          const second = yield* worker(db, log, "steps", "s2")
          yield* completedIn(second)
          assert.deepStrictEqual(bodyRuns(log), [
            { name: "step-1", pid: first.pid },
            { name: "step-2", pid: first.pid },
            { name: "step-3", pid: first.pid },
            { name: "step-3", pid: second.pid },
            { name: "step-4", pid: second.pid },
            { name: "step-5", pid: second.pid }
          ])
          assert.deepStrictEqual(yield* attempts(id), ["step-1#1", "step-2#1", "step-3#1", "step-4#1", "step-5#1"])
          assert.deepStrictEqual(yield* result(Steps, id), Exit.succeed("s1/s2/s3/s4/s5"))
        })
      ))

    it.effect("the trace shows a takeover: the killed worker, the one that took over, and the activity in flight that ran again", () =>
      withDatabase((db, log) =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const id = yield* Stall.executionId({ id: "r1" })
          const first = yield* worker(db, log, "stall", "r1", { start: true })
          const lost = yield* ownerOf(first)
          // Killed once a heartbeat has kept the hanging activity with the claim (waited on, not timed).
          yield* waitUntil(
            Effect.map(
              sql<{ readonly in_flight: string | null }>`SELECT in_flight FROM weft_executions WHERE execution_id = ${id}`,
              (rows) => rows[0]?.in_flight?.includes(`"stall"`) === true
            ),
            "the hanging activity recorded in flight"
          )
          process.kill(first.pid, "SIGKILL")
          yield* killed(first)
          assert.deepStrictEqual(names(bodyRuns(log)), ["prepare", "stall"])

          const second = yield* worker(db, log, "stall", "r1")
          const took = yield* ownerOf(second)
          yield* completedIn(second)
          assert.notStrictEqual(took, lost)
          assert.deepStrictEqual(bodyRuns(log), [
            { name: "prepare", pid: first.pid },
            { name: "stall", pid: first.pid },
            { name: "stall", pid: second.pid },
            { name: "finish", pid: second.pid }
          ])
          assert.deepStrictEqual(yield* result(Stall, id), Exit.succeed("prepared/unstuck/finished"))

          const trace = Option.getOrThrow(yield* WorkflowEngine.trace(id))
          const takeovers = trace.entries.flatMap((e) => (e.kind === "takeover" ? [e] : []))
          assert.deepStrictEqual(
            takeovers.map(({ from, inFlight, to }) => ({ from, to, inFlight })),
            [{ from: lost, to: took, inFlight: [{ name: "stall", attempt: 1 }] }]
          )
          assert.isAtMost(takeovers[0]!.leaseEndedAt, takeovers[0]!.at)
          assert.deepStrictEqual(
            trace.entries.flatMap((e) => (e.kind === "activity" ? [[e.name, e.attempt, e.ranAgain]] : [])),
            [
              ["prepare", 1, undefined],
              ["stall", 1, { from: lost, to: took }],
              ["finish", 1, undefined]
            ]
          )
          // Logged once, in the claim's own write: the execution's log has exactly one.
          const events = (yield* record(id)).events.map((e) => e.kind)
          assert.deepStrictEqual(events.filter((kind) => kind === "taken-over"), ["taken-over"])
        })
      ))

    it.effect("an operator's retry from another process reaches a worker; killed mid-retry, another finishes it once", () =>
      withDatabase((db, log) =>
        Effect.gen(function* () {
          const id = yield* Flaky.executionId({ id: "retry-1" })
          const first = yield* worker(db, log, "flaky", "retry-1", { start: true })
          yield* completedIn(first, "failed")
          assert.deepStrictEqual(names(bodyRuns(log)), ["prepare", "settle"])

          // The test's engine runs no workflow: it stores the retry; a worker picks it up.
          const second = yield* worker(db, log, "flaky", "retry-1")
          assert.deepStrictEqual((yield* WorkflowEngine.retry(id)).activities, ["settle"])
          yield* waitUntil(Effect.sync(() => names(bodyRuns(log)).length === 3), "the retried activity running")
          process.kill(second.pid, "SIGKILL")
          yield* killed(second)

          const third = yield* worker(db, log, "flaky", "retry-1")
          yield* completedIn(third)
          assert.deepStrictEqual(bodyRuns(log), [
            { name: "prepare", pid: first.pid },
            { name: "settle", pid: first.pid },
            { name: "settle", pid: second.pid },
            { name: "settle", pid: third.pid }
          ])
          assert.deepStrictEqual(yield* result(Flaky, id), Exit.succeed("prepared/settled"))
          // The failed attempt, the operator's marker, the attempt that finished; the killed one left no row.
          assert.deepStrictEqual(yield* attempts(id), ["prepare#1", "settle#1", "settle#2", "settle#3"])
          const events = (yield* record(id)).events.map((e) => e.kind)
          assert.deepStrictEqual(events.filter((kind) => kind === "retried" || kind === "failed"), ["failed", "retried"])
          assert.strictEqual(events.at(-1), "completed")
        })
      ))

    it.effect("a durable timer outlives its process: a new one wakes it on time and runs the next activity once", () =>
      withDatabase((db, log) =>
        Effect.gen(function* () {
          const id = yield* Nap.executionId({ id: "t1" })
          // The second worker is up first, idle: it must wait for the timer, not find it due when it starts.
          const second = yield* worker(db, log, "nap", "t1")
          yield* second.line("ready")
          const first = yield* worker(db, log, "nap", "t1", { start: true, kill: "after-suspend" })
          yield* killed(first)
          const asleep = yield* record(id)
          assert.strictEqual(asleep.execution.status, "suspended")
          assert.deepStrictEqual(names(bodyRuns(log)), ["before"])
          const wakeAt = asleep.clocks.find((clock) => clock.name === "@weft/clock/nap")!.wakeAt
          assert.strictEqual(asleep.execution.wakeAt, wakeAt)
          assert.isBelow(readyAt(second), wakeAt, "the second worker was ready only after the timer was due")

          yield* completedIn(second)
          assert.deepStrictEqual(bodyRuns(log), [
            { name: "before", pid: first.pid },
            { name: "after", pid: second.pid }
          ])
          const done = yield* record(id)
          const after = done.attempts.find((attempt) => attempt.name === "after")!
          assert.isAtLeast(after.startedAt, wakeAt)
          assert.isAtLeast(wakeAt - done.execution.createdAt, napMillis)
          assert.deepStrictEqual(yield* attempts(id), ["before#1", "after#1"])
          assert.deepStrictEqual(yield* result(Nap, id), Exit.succeed("before/after"))
        })
      ))

    it.effect(
      `a deferred completed by token from another process wakes the waiting worker, which finishes without a restart (${
        backend.name === "postgres" ? "LISTEN/NOTIFY" : "polling"
      })`,
      () =>
        withDatabase((db, log) =>
          Effect.gen(function* () {
            const id = yield* Approve.executionId({ id: "d1" })
            // On PostgreSQL the worker never polls during the test, so only a NOTIFY can wake it.
            const waiting = yield* worker(db, log, "approve", "d1", {
              start: true,
              ...(db.notifies ? { pollIntervalMs: 60_000 } : {})
            })
            yield* waiting.line("hook after-suspend")
            assert.strictEqual((yield* record(id)).execution.status, "suspended")
            assert.deepStrictEqual(names(bodyRuns(log)), ["before"])

            const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Approve.name, executionId: id })
            yield* DurableDeferred.succeed(Approval, { token, value: { by: "ops" } })
            yield* completedIn(waiting)
            // Two claims, both the worker's: the run that suspended and the run that finished. The test's engine has
            // not registered the workflow, so completing the deferred leaves the run to the worker, never claims it.
            const sql = yield* SqlClient.SqlClient
            const claims = yield* sql<{ readonly fence: unknown }>`
              SELECT fence FROM weft_executions WHERE execution_id = ${id}`
            assert.strictEqual(Number(claims[0]!.fence), 2)
            assert.deepStrictEqual(bodyRuns(log), [
              { name: "before", pid: waiting.pid },
              { name: "after", pid: waiting.pid }
            ])
            const done = yield* record(id)
            assert.deepStrictEqual(done.deferreds.map((d) => d.name), [Approval.name])
            assert.includeMembers(done.events.map((e) => e.kind), ["suspended", "signal-received", "completed"])
            assert.deepStrictEqual(yield* result(Approve, id), Exit.succeed("approved by ops"))
          })
        )
    )

    it.effect("a kill after an interrupted parent asked its child to stop, before it ended: a new worker ends both", () =>
      withDatabase((db, log) =>
        Effect.gen(function* () {
          const parentId = yield* Family.executionId({ id: "f1" })
          const childId = yield* Approve.executionId({ id: "f1-child" })
          const first = yield* worker(db, log, "family", "f1", { start: true, kill: "before-complete" })
          yield* first.line("hook after-suspend")
          yield* waitUntil(hasStatus(childId, "suspended"), "child suspended")
          yield* Family.interrupt(parentId)
          yield* killed(first)
          // The parent died between asking its child to stop and storing its own end.
          assert.strictEqual((yield* record(parentId)).execution.status, "running")
          const child = (yield* record(childId)).execution
          assert.isTrue(child.interruptRequested || child.status === "interrupted")

          const second = yield* worker(db, log, "family", "f1")
          yield* completedIn(second, "interrupted")
          assert.strictEqual((yield* record(childId)).execution.status, "interrupted")
          // The child's body ran its first activity once and never got past its wait.
          assert.deepStrictEqual(names(bodyRuns(log)), ["before"])
          const parent = yield* result(Family, parentId)
          assert.isTrue(Exit.hasInterrupts(parent))
        })
      ))

    it.effect("a kill after a child was created but before the parent recorded its start: an interrupt still stops both", () =>
      withDatabase((db, log) =>
        Effect.gen(function* () {
          const parentId = yield* Family.executionId({ id: "f2" })
          const childId = yield* Approve.executionId({ id: "f2-child" })
          const first = yield* worker(db, log, "family", "f2", {
            start: true,
            kill: `activity-ran:@weft/start/${Approve.name}/${childId}`
          })
          yield* killed(first)
          // The child exists, linked to its parent; the parent's journal does not know it started one.
          assert.strictEqual((yield* record(childId)).execution.parent?.executionId, parentId)
          assert.deepStrictEqual(yield* attempts(parentId), [])
          yield* Family.interrupt(parentId)

          const second = yield* worker(db, log, "family", "f2")
          yield* completedIn(second, "interrupted")
          assert.strictEqual((yield* record(childId)).execution.status, "interrupted")
          assert.notInclude(names(bodyRuns(log)), "after")
          assert.isTrue(Exit.hasInterrupts(yield* result(Family, parentId)))
        })
      ))

    it.effect("a kill between a transactional activity's insert and its commit leaves one row after recovery", () =>
      withDatabase((db, log) =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* sql`CREATE TABLE ${sql(ledgerTable)} (execution_id TEXT NOT NULL, pid INTEGER NOT NULL)`
          const rows = sql<{ readonly pid: number }>`SELECT pid FROM ${sql(ledgerTable)}`
          const id = yield* Ledger.executionId({ id: "x1" })
          const first = yield* worker(db, log, "ledger", "x1", { start: true, kill: "activity-ran:insert-row" })
          yield* killed(first)
          // The body's INSERT ran (it logs after the statement), but nothing of it committed.
          assert.deepStrictEqual(names(bodyRuns(log)), ["prepare", "insert-row"])
          assert.deepStrictEqual(yield* rows, [])
          assert.deepStrictEqual(yield* attempts(id), ["prepare#1"])

          const second = yield* worker(db, log, "ledger", "x1")
          yield* completedIn(second)
          assert.deepStrictEqual(bodyRuns(log), [
            { name: "prepare", pid: first.pid },
            { name: "insert-row", pid: first.pid },
            { name: "insert-row", pid: second.pid },
            { name: "finish", pid: second.pid }
          ])
          assert.deepStrictEqual((yield* rows).map((row) => Number(row.pid)), [second.pid])
          assert.deepStrictEqual(yield* attempts(id), ["prepare#1", "insert-row#1", "finish#1"])
          assert.deepStrictEqual(yield* result(Ledger, id), Exit.succeed("inserted/finished"))
        })
      ))
  })
}

/** Starts a worker on `db` (see crash/workers.ts). */
const worker = (
  db: Database,
  log: string,
  scenario: keyof typeof scenarios,
  key: string,
  options: Parameters<typeof Workers.worker>[4] = {}
) => Workers.worker(db.spec, log, scenario, key, options)

/** When the worker was ready, by its own clock (its `ready-at` line). */
const readyAt = (worker: Worker): number => {
  const line = /^ready-at (\d+)$/m.exec(worker.output())
  assert.isNotNull(line, `worker ${worker.pid} did not say when it was ready:\n${worker.output()}`)
  return Number(line![1])
}

/** The worker's name in claims (its `owner` line). */
const ownerOf = (worker: Worker) =>
  Effect.map(
    waitUntil(Effect.sync(() => OWNER.test(worker.output())), `worker ${worker.pid} named its owner`),
    () => OWNER.exec(worker.output())![1]!
  )

const OWNER = /^owner (\S+)$/m

const names = (runs: ReadonlyArray<BodyRun>) => runs.map((run) => run.name)

/** The stored result of a complete execution. */
const result = (workflow: Workflow.Any, executionId: string) =>
  Effect.flatMap(workflow.poll(executionId), (polled) =>
    Option.isSome(polled) && polled.value._tag === "Complete"
      ? Effect.succeed(polled.value.exit)
      : Effect.fail(new Error(`execution ${executionId} is not complete`))
  )
