/**
 * Store faults inside a run, on every engine (memory, SQLite, PostgreSQL): a finished activity's result whose
 * write the database did not answer is written again (its body is not run again), within a bound after which
 * the run stops and is run again later; a write the database refuses ends the execution failed with a defect
 * naming the cause, resumable, and stops nobody else. On PostgreSQL and SQLite, which driver errors are which.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { SqlStore } from "@weft/engine-sql"
import { PgDriver } from "@weft/engine-sql/pg"
import { SqliteClient } from "@weft/engine-sql/sqlite"
import { Activity, DurableClock, MemoryStore, Workflow, WorkflowEngine, WorkflowError, WorkflowStore } from "@weft/workflow"
import { testDatabase } from "./pg.js"
import { Counter, hasStatus, record, waitUntil } from "./util.js"

const KINDS = ["memory", "sqlite", "pg"] as const
type Kind = (typeof KINDS)[number]

/** What a faulty store does to one write: pass it on, fail before it, fail after it committed, or alter it. */
type Fault<A> =
  | { readonly _tag: "pass" }
  | { readonly _tag: "before"; readonly error: WorkflowError.WorkflowError }
  | { readonly _tag: "after"; readonly error: WorkflowError.WorkflowError }
  | { readonly _tag: "alter"; readonly value: A }

/** Faults of `recordAttempt` (by attempt) and of `complete` (by completion). */
interface Faults {
  readonly attempt?: (attempt: WorkflowStore.ActivityAttempt) => Fault<WorkflowStore.ActivityAttempt>
  readonly complete?: (completion: WorkflowStore.Completion) => Fault<WorkflowStore.Completion>
}

const PASS = { _tag: "pass" } as const

/** `write(value)` with `fault` applied. */
const applyFault = <A, B>(
  fault: Fault<A>,
  value: A,
  write: (value: A) => Effect.Effect<B, WorkflowError.WorkflowError>
): Effect.Effect<B, WorkflowError.WorkflowError> => {
  switch (fault._tag) {
    case "pass":
      return write(value)
    case "before":
      return Effect.fail(fault.error)
    case "after":
      return Effect.andThen(write(value), Effect.fail(fault.error))
    case "alter":
      return write(fault.value)
  }
}

/** The store in context with `faults` applied; `tries` counts `recordAttempt` calls by activity, and `complete` calls. */
const faulty = (faults: Faults, tries: Counter) =>
  Layer.effect(
    WorkflowStore.WorkflowStore,
    Effect.map(WorkflowStore.WorkflowStore, (store): WorkflowStore.Service => ({
      ...store,
      recordAttempt: (executionId, fence, attempt) =>
        Effect.andThen(tries.bump(attempt.name), () =>
          applyFault(faults.attempt?.(attempt) ?? PASS, attempt, (a) => store.recordAttempt(executionId, fence, a))
        ),
      complete: (executionId, fence, completion) =>
        Effect.andThen(tries.bump("complete"), () =>
          applyFault(faults.complete?.(completion) ?? PASS, completion, (c) => store.complete(executionId, fence, c))
        )
    }))
  )

const unavailable = () =>
  new WorkflowError.WorkflowError({ reason: "StoreUnavailable", message: "The database did not answer: test" })

/** The store of `kind`, fresh. */
const baseStore = (kind: Kind): Layer.Layer<WorkflowStore.WorkflowStore, unknown> => {
  switch (kind) {
    case "memory":
      return MemoryStore.layer({ leaseMs: 3_000 })
    case "sqlite":
      return SqlStore.layer({ leaseMs: 3_000 }).pipe(Layer.provide(SqliteClient.layer({ filename: ":memory:" })))
    case "pg":
      return SqlStore.layer({ leaseMs: 3_000 }).pipe(
        Layer.provide(
          Layer.unwrap(
            Effect.map(testDatabase(), (url) =>
              PgDriver.layer({ url, maxConnections: 4 }))
          )
        )
      )
  }
}

/** An engine of `kind` over the faulty store, with the workflows of this file registered. */
const engine = (kind: Kind, faults: Faults, tries: Counter, ran: Counter) =>
  Layer.mergeAll(
    TwoSteps.toLayer(({ id }) =>
      Effect.gen(function* () {
        const a = yield* Activity.make({ name: "first", success: Schema.String, execute: Effect.as(ran.bump(`first ${id}`), "a") })
        const b = yield* Activity.make({ name: "second", success: Schema.String, execute: Effect.as(ran.bump(`second ${id}`), "b") })
        return `${a}${b}`
      })
    ),
    Napper.toLayer(({ id }) =>
      Effect.as(DurableClock.sleep({ name: "nap", duration: Duration.millis(100), inMemoryThreshold: 0 }), `woke ${id}`)
    )
  ).pipe(
    Layer.provideMerge(
      WorkflowEngine.layer({ heartbeatMs: 500, storeRetryMs: 20, pollIntervalMs: 100 }).pipe(
        Layer.provideMerge(faulty(faults, tries).pipe(Layer.provideMerge(baseStore(kind))))
      )
    )
  )

describe.each(KINDS)("a step's store write on %s", (kind) => {
  it.live("a finished activity's result whose write the database did not answer is written again: the body runs once", () =>
    Effect.gen(function* () {
      const tries = new Counter()
      const ran = new Counter()
      let failures = 3
      const fault = (attempt: WorkflowStore.ActivityAttempt): Fault<WorkflowStore.ActivityAttempt> =>
        attempt.name === "first" && failures-- > 0 ? { _tag: "before", error: unavailable() } : { _tag: "pass" }
      const result = yield* TwoSteps.execute({ id: "t1" }).pipe(Effect.provide(engine(kind, { attempt: fault }, tries, ran)))
      assert.strictEqual(result, "ab")
      assert.strictEqual(ran.get("first t1"), 1)
      assert.strictEqual(ran.get("second t1"), 1)
      assert.strictEqual(tries.get("first"), 4)
    }))

  it.live("a result write that committed but whose answer was lost is tried again and finds its row: one body run, one attempt", () =>
    Effect.gen(function* () {
      const tries = new Counter()
      const ran = new Counter()
      let failures = 2
      const fault = (attempt: WorkflowStore.ActivityAttempt): Fault<WorkflowStore.ActivityAttempt> =>
        attempt.name === "first" && failures-- > 0 ? { _tag: "after", error: unavailable() } : { _tag: "pass" }
      const layer = engine(kind, { attempt: fault }, tries, ran)
      const attempts = yield* Effect.gen(function* () {
        assert.strictEqual(yield* TwoSteps.execute({ id: "t2" }), "ab")
        return (yield* record(Workflow.executionIdFor("TwoSteps", "t2"))).attempts
      }).pipe(Effect.provide(layer))
      assert.strictEqual(ran.get("first t2"), 1)
      assert.strictEqual(tries.get("first"), 3)
      assert.deepStrictEqual(attempts.map((a) => `${a.name}#${a.attempt}`), ["first#1", "second#1"])
    }))

  it.live("a result write that fails past the bound stops the run; the run loop runs it again later (the body runs again)", () =>
    Effect.gen(function* () {
      const tries = new Counter()
      const ran = new Counter()
      let down = true
      // Failed tries of the write while the body had run once: more than one shows the write was tried again.
      let triesInFirstRun = 0
      const fault = (attempt: WorkflowStore.ActivityAttempt): Fault<WorkflowStore.ActivityAttempt> => {
        if (attempt.name !== "first" || !down) return { _tag: "pass" }
        if (ran.get("first t3") === 1) triesInFirstRun++
        return { _tag: "before", error: unavailable() }
      }
      yield* Effect.gen(function* () {
        const id = yield* TwoSteps.execute({ id: "t3" }, { discard: true })
        // The bound (two heartbeats, 1 s here) passed: the run stopped and the run loop ran the body again.
        yield* waitUntil(Effect.sync(() => ran.get("first t3") >= 2), "the body run again after the run stopped")
        down = false
        yield* waitUntil(hasStatus(id, "succeeded"), "succeeded once the database answers")
        assert.deepStrictEqual((yield* record(id)).execution.result, { _tag: "Success", value: "ab" })
      }).pipe(Effect.provide(engine(kind, { attempt: fault }, tries, ran)))
      assert.isAbove(triesInFirstRun, 1)
      assert.isAbove(ran.get("first t3"), 1)
      assert.strictEqual(ran.get("second t3"), 1)
    }))

  it.live("a write the database refuses ends the execution failed with a defect naming the cause, resumable; other timers still fire", () =>
    Effect.gen(function* () {
      const tries = new Counter()
      const ran = new Counter()
      let broken = true
      // Memory keeps any value: there the refusal is simulated. SQL: a NULL in a NOT NULL column, refused for real.
      const fault = (attempt: WorkflowStore.ActivityAttempt): Fault<WorkflowStore.ActivityAttempt> =>
        attempt.name !== "second" || !broken
          ? { _tag: "pass" }
          : kind === "memory"
          ? {
            _tag: "before",
            error: new WorkflowError.WorkflowError({
              reason: "StoreRejected",
              message: "The database rejected the statement (23502): null value"
            })
          }
          : { _tag: "alter", value: { ...attempt, completedAt: null as unknown as number } }
      yield* Effect.gen(function* () {
        const id = yield* TwoSteps.execute({ id: "t4" }, { discard: true })
        const napper = yield* Napper.execute({ id: "n4" }, { discard: true })
        yield* waitUntil(hasStatus(id, "failed"), "failed by the refused write")
        const detail = yield* record(id)
        const stored = JSON.stringify(detail.execution.result)
        assert.include(stored, "StoreRejected")
        assert.include(stored, id)
        assert.include(stored, "TwoSteps")
        assert.include(stored, kind === "sqlite" ? "NOT NULL constraint failed" : kind === "pg" ? "null value" : "23502")
        // Tried once: a refusal is not retried, and the execution is not run again.
        assert.strictEqual(tries.get("second"), 1)
        assert.strictEqual(ran.get("second t4"), 1)
        assert.deepStrictEqual(detail.attempts.map((a) => a.name), ["first"])
        yield* waitUntil(hasStatus(napper, "succeeded"), "the other execution's timer fired")

        // Once the cause is fixed, `resume` runs the step again and the execution ends.
        broken = false
        yield* (yield* WorkflowEngine.WorkflowEngine).resume(id)
        yield* waitUntil(hasStatus(id, "succeeded"), "succeeded after resume")
        assert.strictEqual(ran.get("first t4"), 1)
        assert.strictEqual(ran.get("second t4"), 2)
      }).pipe(Effect.provide(engine(kind, { attempt: fault }, tries, ran)))
    }))

  it.live("an end whose write committed but whose answer was lost is read back: the caller gets the stored result", () =>
    Effect.gen(function* () {
      const tries = new Counter()
      const ran = new Counter()
      let failures = 1
      const faults: Faults = {
        complete: () => (failures-- > 0 ? { _tag: "after", error: unavailable() } : PASS)
      }
      const result = yield* TwoSteps.execute({ id: "t5" }).pipe(Effect.provide(engine(kind, faults, tries, ran)))
      assert.strictEqual(result, "ab")
      assert.strictEqual(tries.get("complete"), 2)
      assert.strictEqual(ran.get("first t5") + ran.get("second t5"), 2)
    }))

  it.live("an end the database refuses is stored as a failure naming the cause, and the caller gets that failure", () =>
    Effect.gen(function* () {
      const tries = new Counter()
      const ran = new Counter()
      // SQL: a NULL time, refused for real (NOT NULL); memory keeps anything, so there the refusal is simulated.
      const faults: Faults = {
        complete: (completion) =>
          completion.status !== "succeeded"
            ? PASS
            : kind === "memory"
            ? { _tag: "before", error: new WorkflowError.WorkflowError({ reason: "StoreRejected", message: "refused: test" }) }
            : { _tag: "alter", value: { ...completion, at: null as unknown as number } }
      }
      const [exit, status] = yield* Effect.gen(function* () {
        const exit = yield* Effect.exit(TwoSteps.execute({ id: "t6" }))
        return [exit, (yield* record(Workflow.executionIdFor("TwoSteps", "t6"))).execution.status] as const
      }).pipe(Effect.provide(engine(kind, faults, tries, ran)))
      assert.strictEqual(status, "failed")
      assert.isTrue(exit._tag === "Failure")
      const text = JSON.stringify(exit).concat(String(exit._tag === "Failure" ? exit.cause : ""))
      assert.include(text, "StoreRejected")
      assert.strictEqual(tries.get("complete"), 2)
      assert.strictEqual(ran.get("first t6") + ran.get("second t6"), 2)
    }))
})

describe("driver errors, classified", () => {
  const T = 1_700_000_000_000
  const newExecution = (executionId: string): WorkflowStore.NewExecution => ({
    executionId,
    workflow: "W",
    payload: { executionId },
    parent: undefined,
    at: T
  })

  const stores = {
    sqlite: () => SqlStore.layer({ leaseMs: 3_000 }).pipe(Layer.provide(SqliteClient.layer({ filename: ":memory:" }))),
    "pg over the PgDriver": () => baseStore("pg"),
    "pg over a plain PgClient": () =>
      SqlStore.layer({ leaseMs: 3_000 }).pipe(
        Layer.provide(
          Layer.unwrap(
            Effect.map(testDatabase(), (url) =>
              PgClient.layer({ url: Redacted.make(url), maxConnections: 2 }))
          )
        )
      )
  }

  for (const [name, layer] of Object.entries(stores)) {
    it.live(`${name}: a value the database refuses fails that write with StoreRejected, not retryable, in the driver's words; other writes go on`, () =>
      Effect.gen(function* () {
        const store = yield* WorkflowStore.WorkflowStore
        for (const id of ["good", "bad"]) yield* store.create(newExecution(id))
        const good = yield* Effect.flatMap(store.claim("good", "w", T), Effect.fromOption)
        const bad = yield* Effect.flatMap(store.claim("bad", "w", T), Effect.fromOption)
        const attempt = (name: string, n: number): WorkflowStore.ActivityAttempt => ({
          name,
          attempt: n,
          exit: { _tag: "Success", value: n },
          startedAt: T,
          completedAt: T + 1
        })
        // Written together (PostgreSQL batches concurrent attempts): only the bad one fails.
        const writes = yield* Effect.all(
          [
            ...Array.from({ length: 6 }, (_, i) => store.recordAttempt("good", good.fence, attempt(`step-${i}`, 1))),
            store.recordAttempt("bad", bad.fence, { ...attempt("step", 1), completedAt: null as unknown as number })
          ].map(Effect.result),
          { concurrency: "unbounded" }
        )
        const failed = writes.flatMap((w) => (Result.isFailure(w) ? [w.failure] : []))
        assert.strictEqual(failed.length, 1)
        const error = failed[0]!
        assert.strictEqual(error.reason, "StoreRejected")
        assert.isFalse(error.isRetryable)
        assert.match(error.message, name === "sqlite" ? /NOT NULL constraint failed/ : /null value in column "completed_at"/)
        if (name !== "sqlite") {
          // Text PostgreSQL cannot keep (a NUL), in a name: refused as data (SQLSTATE class 22), not a lost connection.
          const nul = yield* Effect.result(store.recordClock("bad", bad.fence, { name: "nap\u0000", wakeAt: T + 1 }))
          assert.isTrue(Result.isFailure(nul) && nul.failure.reason === "StoreRejected" && /\(22/.test(nul.failure.message))
        }
        // The store goes on: the bad execution's claim still holds and a good write goes through.
        assert.deepStrictEqual(yield* store.recordAttempt("bad", bad.fence, attempt("step", 1)), attempt("step", 1))
        assert.strictEqual((yield* store.detail("good")).pipe((d) => (d._tag === "Some" ? d.value.attempts.length : -1)), 6)
      }).pipe(Effect.provide(layer())))
  }
})

// ---------------------------------------------------------------------------------------------------------
// Fixtures

const TwoSteps = Workflow.make({
  name: "TwoSteps",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const Napper = Workflow.make({
  name: "Napper",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})
