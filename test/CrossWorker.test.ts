/**
 * Two engines on one PostgreSQL database, with polling off (60 s), so only NOTIFY moves work along:
 * engine B (which only knows the definitions) interrupts an execution running on engine A, and waits
 * for executions A runs, and resumes one A runs. On SQLite, where nothing is announced, a waiter elsewhere learns by polling.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { PgEngine } from "@weft/engine-sql/pg"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import { Activity, DurableDeferred, Workflow, WorkflowEngine } from "@weft/workflow"
import * as Fiber from "effect/Fiber"
import pg from "pg"
import { testDatabase } from "./pg.js"
import { hasStatus, waitUntil } from "./util.js"

describe("across workers on PostgreSQL", () => {
  it.live("an interrupt requested by another worker stops the run where it runs and compensates it", () =>
    Effect.gen(function* () {
      const url = yield* testDatabase()
      const started = yield* Deferred.make<void>()
      const compensated: Array<string> = []
      const WorkerLive = Layer.provideMerge(
        Hold.toLayer(() =>
          Effect.gen(function* () {
            yield* Activity.make({ name: "reserve", execute: Effect.void }).pipe(
              Workflow.withCompensation(() => Effect.sync(() => void compensated.push("release")))
            )
            yield* Activity.make({ name: "wait", execute: Effect.andThen(Deferred.succeed(started, undefined), Effect.never) })
          })
        ),
        PgEngine.layer({ url, pollIntervalMs: 60_000 })
      )
      const worker = yield* Layer.build(WorkerLive)
      const db = yield* client(url)
      yield* listening(db, 1)
      const id = yield* Hold.execute({ id: "h1" }, { discard: true }).pipe(Effect.provide(worker))
      yield* Deferred.await(started)

      // Another process: it has the definition, not the body.
      const other = yield* Layer.build(PgEngine.layer({ url, acceptUnregistered: true, pollIntervalMs: 60_000 }))
      yield* Hold.interrupt(id).pipe(Effect.provide(other))

      yield* waitUntil(Effect.provide(hasStatus(id, "interrupted"), other), "interrupted on the worker")
      assert.deepStrictEqual(compensated, ["release"])
      const detail = yield* WorkflowEngine.detail(id).pipe(Effect.provide(other))
      assert.deepStrictEqual(
        detail._tag === "Some" ? detail.value.attempts.map((a) => a.name) : [],
        ["reserve", "@weft/compensation/0"]
      )
    }))
})

describe("waiting across workers on PostgreSQL", () => {
  it.live("a process waiting for an execution that another worker runs gets the result by NOTIFY", () =>
    Effect.gen(function* () {
      const url = yield* testDatabase()
      const open = yield* Deferred.make<void>()
      const WorkerLive = Layer.provideMerge(
        Gate.toLayer(({ id }) =>
          Activity.make({ name: "gate", success: Schema.String, execute: Effect.as(Deferred.await(open), `opened ${id}`) })
        ),
        PgEngine.layer({ url, pollIntervalMs: 60_000 })
      )
      const worker = yield* Layer.build(WorkerLive)
      const other = yield* Layer.build(PgEngine.layer({ url, acceptUnregistered: true, pollIntervalMs: 60_000 }))
      // With polling off, a wake-up or result announced before an engine listens would be missed.
      const db = yield* client(url)
      yield* listening(db, 2)

      // Started and run by the worker, then awaited from the other process; and submitted by the other process.
      yield* Gate.execute({ id: "joined" }, { discard: true }).pipe(Effect.provide(worker))
      const joined = yield* Effect.forkChild(Gate.execute({ id: "joined" }).pipe(Effect.provide(other)))
      const submitted = yield* Effect.forkChild(Gate.execute({ id: "submitted" }).pipe(Effect.provide(other)))
      const waiting = Effect.promise(() =>
        db.query(`SELECT count(*)::int AS n FROM weft_executions WHERE watched = 1 AND owner IS NOT NULL`)
      )
      yield* waitUntil(Effect.map(waiting, ({ rows }) => rows[0].n === 2), "both executions running and awaited")

      yield* Deferred.succeed(open, undefined)
      assert.strictEqual(yield* Fiber.join(joined), "opened joined")
      assert.strictEqual(yield* Fiber.join(submitted), "opened submitted")
    }))
})

describe("waiting across workers on PostgreSQL, after a suspension", () => {
  it.live("a waiter whose execution suspended here and ended on another worker gets the result by NOTIFY", () =>
    Effect.gen(function* () {
      const url = yield* testDatabase()
      const { body, fill, release } = yield* holding
      // A has room for one run; B runs whatever A leaves. Polling is off on both.
      const a = yield* Layer.build(Layer.provideMerge(body, PgEngine.layer({ url, maxRuns: 1, pollIntervalMs: 60_000 })))
      const b = yield* Layer.build(Layer.provideMerge(body, PgEngine.layer({ url, pollIntervalMs: 60_000 })))
      const db = yield* client(url)
      yield* listening(db, 2)

      // A creates and runs the execution, which suspends; A's one place is then taken by a held run.
      const waiter = yield* Effect.forkChild(Signalled.execute({ id: "s1" }).pipe(Effect.provide(a)))
      const id = yield* Signalled.executionId({ id: "s1" })
      yield* waitUntil(Effect.provide(hasStatus(id, "suspended"), a), "suspended on A")
      yield* fill(a)

      // B delivers the signal and, A being full, finishes the execution.
      const token = yield* DurableDeferred.tokenFor(Go, { workflow: Signalled.name, executionId: id }).pipe(Effect.provide(b))
      yield* DurableDeferred.succeed(Go, { token, value: { by: "b" } }).pipe(Effect.provide(b))
      assert.strictEqual(yield* Fiber.join(waiter), "went with b")
      yield* release
    }))
})

describe("interrupting a full worker on PostgreSQL", () => {
  it.live("an interrupt requested by another process gets into a worker with no room, at once", () =>
    Effect.gen(function* () {
      const url = yield* testDatabase()
      const { body, fill, release } = yield* holding
      const worker = yield* Layer.build(Layer.provideMerge(body, PgEngine.layer({ url, maxRuns: 1, pollIntervalMs: 60_000 })))
      const other = yield* Layer.build(PgEngine.layer({ url, acceptUnregistered: true, pollIntervalMs: 60_000 }))
      const db = yield* client(url)
      yield* listening(db, 2)
      const id = yield* Signalled.execute({ id: "stop-me" }, { discard: true }).pipe(Effect.provide(worker))
      yield* waitUntil(Effect.provide(hasStatus(id, "suspended"), worker), "suspended")
      yield* fill(worker)

      yield* Signalled.interrupt(id).pipe(Effect.provide(other))
      yield* waitUntil(Effect.provide(hasStatus(id, "interrupted"), other), "interrupted on the full worker")
      yield* release
    }))
})

describe("resuming from another process on PostgreSQL", () => {
  it.live("a resume requested by a process that only submits is run by the worker, which alone claims it", () =>
    Effect.gen(function* () {
      const url = yield* testDatabase()
      let fixed = false
      const worker = yield* Layer.build(
        Layer.provideMerge(
          Fragile.toLayer(() =>
            Activity.make({
              name: "finish",
              success: Schema.String,
              execute: Effect.suspend(() => (fixed ? Effect.succeed("fixed") : Effect.die(new Error("bug in finish"))))
            })
          ),
          PgEngine.layer({ url, pollIntervalMs: 60_000 })
        )
      )
      const other = yield* Layer.build(PgEngine.layer({ url, acceptUnregistered: true, pollIntervalMs: 60_000 }))
      const db = yield* client(url)
      yield* listening(db, 2)
      const id = yield* Fragile.execute({ id: "r1" }, { discard: true }).pipe(Effect.provide(worker))
      yield* waitUntil(Effect.provide(hasStatus(id, "failed"), other), "failed by a defect")

      fixed = true
      yield* Fragile.resume(id).pipe(Effect.provide(other))
      yield* waitUntil(Effect.provide(hasStatus(id, "succeeded"), other), "resumed on the worker")
      // Only the worker claimed it: at its start, then once for the resume.
      const { rows } = yield* Effect.promise(() => db.query(`SELECT fence FROM weft_executions WHERE execution_id = $1`, [id]))
      assert.strictEqual(Number(rows[0].fence), 2)
    }))
})

describe("waiting across workers on SQLite", () => {
  it.live("processes waiting for executions that another process runs get each result by polling", () =>
    Effect.gen(function* () {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "weft-cross-"))),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      )
      const filename = join(dir, "weft.db")
      const open = yield* Deferred.make<void>()
      const worker = yield* Layer.build(
        Layer.provideMerge(
          Gate.toLayer(({ id }) =>
            Activity.make({ name: "gate", success: Schema.String, execute: Effect.as(Deferred.await(open), `opened ${id}`) })
          ),
          SqliteEngine.layer({ filename })
        )
      )
      // Another engine on the same file, as another process would open it: it only knows the definition.
      const other = yield* Layer.build(SqliteEngine.layer({ filename, acceptUnregistered: true }))
      const keys = Array.from({ length: 25 }, (_, i) => `polled-${i}`)
      const ids = yield* Effect.forEach(keys, (id) => Gate.execute({ id }, { discard: true }).pipe(Effect.provide(worker)))
      const waiting = yield* Effect.forkChild(
        Effect.forEach(keys, (id) => Gate.execute({ id }).pipe(Effect.provide(other)), { concurrency: "unbounded" })
      )
      for (const id of ids) yield* waitUntil(Effect.provide(hasStatus(id, "running"), other), "running on the worker")
      yield* Deferred.succeed(open, undefined)
      assert.deepStrictEqual(yield* Fiber.join(waiting), keys.map((id) => `opened ${id}`))
    }))
})

/** A connection to `url` for the test's own queries, closed with the scope. */
const client = (url: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const db = new pg.Client({ connectionString: url })
      await db.connect()
      return db
    }),
    (db) => Effect.promise(() => db.end())
  )

/** Waits until `count` engines listen for wake-ups on this database. */
const listening = (db: pg.Client, count: number) =>
  waitUntil(
    Effect.map(
      Effect.promise(() =>
        db.query(`SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'weft-listen' AND query LIKE 'LISTEN%'`)
      ),
      ({ rows }) => rows[0].n >= count
    ),
    `${count} engine(s) listening`
  )

const Go = DurableDeferred.make("go", { success: Schema.Struct({ by: Schema.String }) })

const Signalled = Workflow.make({
  name: "Signalled",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

/**
 * `Signalled` (which awaits `Go`) and a `Gate` whose activity holds its run until released: `fill` takes a
 * worker's one place (`maxRuns: 1`) and returns once the held run is in it.
 */
const holding = Effect.gen(function* () {
  const held = yield* Deferred.make<void>()
  const released = yield* Deferred.make<void>()
  const body = Layer.mergeAll(
    Signalled.toLayer(() => Effect.map(DurableDeferred.await(Go), ({ by }) => `went with ${by}`)),
    Gate.toLayer(() =>
      Activity.make({
        name: "hold",
        success: Schema.String,
        execute: Effect.andThen(Deferred.succeed(held, undefined), Effect.as(Deferred.await(released), "released"))
      })
    )
  )
  const fill = (worker: Context.Context<WorkflowEngine.WorkflowEngine>) =>
    Effect.andThen(Gate.execute({ id: "busy" }, { discard: true }).pipe(Effect.provide(worker)), Deferred.await(held))
  return { body, fill, release: Deferred.succeed(released, undefined) }
})

const Gate = Workflow.make({
  name: "Gate",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const Fragile = Workflow.make({
  name: "Fragile",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const Hold = Workflow.make({ name: "Hold", payload: { id: Schema.String }, idempotencyKey: ({ id }) => id })
