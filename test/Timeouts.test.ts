/**
 * Durable timeouts. An activity's `timeout` bounds each attempt: past it the attempt is interrupted and journaled
 * as failed (`ActivityTimedOut`, naming the activity, attempt and bound), and the retry policy tries again. A
 * workflow's `deadline` interrupts an execution that has not ended in time wherever it is (running, sleeping,
 * waiting): its compensations run and it ends interrupted; the deadline is stored, so a restart keeps it.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { TestClock } from "effect/testing"
import * as Option from "effect/Option"
import { Activity, DurableClock, DurableDeferred, MemoryStore, Workflow, WorkflowEngine, WorkflowStore } from "@weft/workflow"
import { hasStatus, record, suspended, waitUntil } from "./util.js"

const Fetch = Workflow.make({
  name: "Fetch",
  payload: { id: Schema.String, hangs: Schema.Number },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

/** `fetch` hangs on its first `hangs` attempts (until its timeout stops it), then answers. */
const bodies = (runs: Array<number>, retried: boolean) =>
  Fetch.toLayer(({ hangs }) => {
    const fetch = Activity.make({
      name: "fetch",
      success: Schema.String,
      timeout: "5 seconds",
      execute: Effect.flatMap(Activity.CurrentAttempt, (attempt) => {
        runs.push(attempt)
        return attempt <= hangs ? Effect.never : Effect.succeed(`fetched on attempt ${attempt}`)
      })
    })
    return retried ? Activity.retry(fetch, { times: 2, schedule: Schedule.spaced("1 second") }) : fetch
  })

/** Runs `execute` in a fiber and moves the test clock a second at a time until it ends. */
const driven = <A, E, R>(execute: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(Effect.exit(execute))
    yield* waitUntil(
      Effect.gen(function* () {
        yield* TestClock.adjust("1 second")
        return fiber.pollUnsafe() !== undefined
      }),
      "the execution ended"
    )
    return yield* Fiber.join(fiber)
  })

describe("Activity timeout", () => {
  it.effect("an attempt past its timeout is journaled as failed, naming the bound, and the policy tries again", () => {
    const runs: Array<number> = []
    return Effect.gen(function* () {
      const exit = yield* driven(Fetch.execute({ id: "a", hangs: 2 }))
      assert.deepStrictEqual(exit, Exit.succeed("fetched on attempt 3"))
      assert.deepStrictEqual(runs, [1, 2, 3])
      const detail = yield* record(yield* Fetch.executionId({ id: "a", hangs: 2 }))
      const stored = detail.attempts.map((a) => {
        const cause = (a.exit as { cause?: { defect?: { name?: string; message?: string } } }).cause
        return [a.name, a.attempt, cause?.defect?.name ?? "ok", a.completedAt - a.startedAt] as const
      })
      assert.deepStrictEqual(stored, [
        ["fetch", 1, "ActivityTimedOut", 5_000],
        ["fetch", 2, "ActivityTimedOut", 5_000],
        ["fetch", 3, "ok", 0]
      ])
      const message = (detail.attempts[0]!.exit as { cause: { defect: { message: string } } }).cause.defect.message
      assert.match(message, /Activity "fetch" of workflow "Fetch" \(execution \w+\) timed out on attempt 1: it ran past its timeout of 5000 ms/)
    }).pipe(Effect.provide(Layer.provideMerge(bodies(runs, true), WorkflowEngine.layerMemory)))
  })

  it.effect("without retries left, the execution fails with the timeout's defect (retry or resume it once fixed)", () => {
    const runs: Array<number> = []
    return Effect.gen(function* () {
      const exit = yield* driven(Fetch.execute({ id: "b", hangs: 1 }))
      assert.isTrue(Exit.hasDies(exit))
      const id = yield* Fetch.executionId({ id: "b", hangs: 1 })
      assert.strictEqual((yield* WorkflowEngine.get(id)).status, "failed")
      // The cause is gone (the remote answers now): a retry runs the timed-out activity again.
      assert.deepStrictEqual((yield* WorkflowEngine.retry(id)).activities, ["fetch"])
      const ended = yield* WorkflowEngine.result(id)
      assert.strictEqual(ended._tag === "Some" ? ended.value.status : "none", "succeeded")
      assert.deepStrictEqual(runs, [1, 3])
    }).pipe(Effect.provide(Layer.provideMerge(bodies(runs, false), WorkflowEngine.layerMemory)))
  })

  it("a timeout that is not a finite duration above zero is refused where the activity is defined", () => {
    for (const timeout of [0, -1, "0 millis", Number.POSITIVE_INFINITY] as const) {
      assert.throws(
        () => Activity.make({ name: "bad", execute: Effect.void, timeout }),
        /Activity "bad": timeout must be a finite duration above zero/
      )
    }
  })
})

/** Where a `Trip` body spends its time after booking (with a compensation): working, sleeping, waiting or done. */
const Trip = Workflow.make({
  name: "Trip",
  payload: { id: Schema.String, then: Schema.Literals(["work", "sleep", "wait", "finish"]) },
  success: Schema.String,
  idempotencyKey: ({ id }) => id,
  deadline: "1 hour"
})

const Go = DurableDeferred.make("go")

const tripBodies = (log: Array<string>) =>
  Trip.toLayer(({ then }) =>
    Effect.gen(function* () {
      yield* Activity.make({ name: "book", execute: Effect.sync(() => void log.push("book")) }).pipe(
        Workflow.withCompensation(() => Effect.sync(() => void log.push("unbook")))
      )
      if (then === "work") yield* Activity.make({ name: "work", execute: Effect.never })
      if (then === "sleep") yield* DurableClock.sleep({ name: "nap", duration: "2 hours" })
      if (then === "wait") yield* DurableDeferred.await(Go)
      return "done"
    })
  )

const interruptedByDeadline = (id: string) =>
  Effect.gen(function* () {
    const detail = yield* record(id)
    assert.strictEqual(detail.execution.status, "interrupted")
    const requested = detail.events.filter((e) => e.kind === "interrupt-requested")
    assert.strictEqual(requested.length, 1)
    assert.match(requested[0]!.detail ?? "", /^deadline passed \(3600000 ms after the start, at /)
    const deadline = detail.clocks.find((c) => c.name === "@weft/deadline")!
    assert.strictEqual(deadline.wakeAt, detail.execution.createdAt + 3_600_000)
  })

describe("Workflow deadline", () => {
  for (const then of ["work", "sleep", "wait"] as const) {
    it.effect(`interrupts an execution that is still ${then === "work" ? "running" : then === "sleep" ? "sleeping" : "waiting"} when it passes; compensations run`, () => {
      const log: Array<string> = []
      return Effect.gen(function* () {
        const id = yield* Trip.execute({ id: then, then }, { discard: true })
        if (then === "work") yield* waitUntil(Effect.sync(() => log.length === 1), "booked and working")
        else yield* suspended(Trip, id)
        yield* TestClock.adjust("59 minutes")
        assert.isFalse(yield* hasStatus(id, "interrupted"))
        yield* TestClock.adjust("1 minute")
        yield* waitUntil(hasStatus(id, "interrupted"), "interrupted at the deadline")
        assert.deepStrictEqual(log, ["book", "unbook"])
        yield* interruptedByDeadline(id)
        const trace = Option.getOrThrow(yield* WorkflowEngine.trace(id))
        assert.isTrue(trace.entries.some((e) => e.kind === "deadline"))
      }).pipe(Effect.provide(Layer.provideMerge(tripBodies(log), WorkflowEngine.layerMemory)))
    })
  }

  it.effect("an execution that ends in time is not touched; its deadline is stored once", () => {
    const log: Array<string> = []
    return Effect.gen(function* () {
      assert.strictEqual(yield* Trip.execute({ id: "quick", then: "finish" }), "done")
      yield* TestClock.adjust("2 hours")
      const detail = yield* record(yield* Trip.executionId({ id: "quick", then: "finish" }))
      assert.strictEqual(detail.execution.status, "succeeded")
      assert.deepStrictEqual(log, ["book"])
      assert.deepStrictEqual(detail.clocks.map((c) => c.name), ["@weft/deadline"])
      assert.isFalse(detail.events.some((e) => e.kind === "interrupt-requested"))
    }).pipe(Effect.provide(Layer.provideMerge(tripBodies(log), WorkflowEngine.layerMemory)))
  })

  it.effect("is kept across a restart: a new engine on the same store interrupts it at the stored time", () => {
    const log: Array<string> = []
    const store = MemoryStore.make()
    const engineOn = () =>
      Layer.provideMerge(tripBodies(log), WorkflowEngine.layer().pipe(Layer.provide(Layer.succeed(WorkflowStore.WorkflowStore, store))))
    return Effect.gen(function* () {
      // The first engine starts it and is gone; the execution waits in the store.
      const id = yield* Effect.scoped(
        Effect.flatMap(Layer.build(engineOn()), (context) =>
          Effect.gen(function* () {
            const id = yield* Trip.execute({ id: "restart", then: "wait" }, { discard: true })
            yield* suspended(Trip, id)
            return id
          }).pipe(Effect.provide(context)))
      )
      yield* TestClock.adjust("30 minutes")
      // A new engine (a restart, half an hour later): the deadline is the stored one, an hour after the start.
      yield* Effect.scoped(
        Effect.flatMap(Layer.build(engineOn()), (context) =>
          Effect.gen(function* () {
            yield* TestClock.adjust("29 minutes")
            assert.isFalse(yield* hasStatus(id, "interrupted"))
            yield* TestClock.adjust("1 minute")
            yield* waitUntil(hasStatus(id, "interrupted"), "interrupted at the stored deadline")
            yield* interruptedByDeadline(id)
          }).pipe(Effect.provide(context)))
      )
      assert.deepStrictEqual(log, ["book", "unbook"])
    })
  })

  it.effect("a deadline given at the start is the execution's own: stored with it, replacing the workflow's", () => {
    const log: Array<string> = []
    const Errand = Workflow.make({ name: "Errand", payload: { id: Schema.String }, idempotencyKey: ({ id }) => id })
    const ErrandLive = Errand.toLayer(() =>
      Effect.gen(function* () {
        yield* Activity.make({ name: "go-out", execute: Effect.sync(() => void log.push("out")) }).pipe(
          Workflow.withCompensation(() => Effect.sync(() => void log.push("back")))
        )
        yield* DurableDeferred.await(Go)
      })
    )
    return Effect.gen(function* () {
      // A workflow with no deadline of its own, given one at its start.
      const errand = yield* Errand.execute({ id: "e" }, { discard: true, deadline: "10 minutes" })
      yield* suspended(Errand, errand)
      const stored = (yield* record(errand)).clocks.find((c) => c.name === "@weft/deadline")!
      assert.strictEqual(stored.wakeAt, (yield* WorkflowEngine.get(errand)).createdAt + 600_000)
      // A start that joins keeps the deadline the execution has.
      assert.strictEqual(yield* Errand.execute({ id: "e" }, { discard: true, deadline: "1 minute" }), errand)
      // Trip's own deadline is an hour; this one is given five minutes.
      const trip = yield* Trip.execute({ id: "short", then: "wait" }, { discard: true, deadline: "5 minutes" })
      yield* suspended(Trip, trip)
      yield* TestClock.adjust("4 minutes")
      assert.isFalse(yield* hasStatus(trip, "interrupted"))
      yield* TestClock.adjust("1 minute")
      yield* waitUntil(hasStatus(trip, "interrupted"), "the trip interrupted at its own deadline")
      assert.isFalse(yield* hasStatus(errand, "interrupted"))
      yield* TestClock.adjust("5 minutes")
      yield* waitUntil(hasStatus(errand, "interrupted"), "the errand interrupted at its deadline")
      // Each compensated at its own deadline.
      assert.deepStrictEqual(log, ["out", "book", "unbook", "back"])
      const requested = (yield* record(errand)).events.filter((e) => e.kind === "interrupt-requested")
      assert.match(requested[0]!.detail ?? "", /^deadline passed \(600000 ms after the start, at /)
      // A restart keeps the execution's own deadline, counted from the restart's start.
      yield* TestClock.adjust("1 minute")
      const restarted = (yield* WorkflowEngine.restart(errand)).executionId
      yield* suspended(Errand, restarted)
      const again = (yield* record(restarted)).clocks.filter((c) => c.name === "@weft/deadline")
      assert.deepStrictEqual(again.map((c) => c.wakeAt), [(yield* WorkflowEngine.get(restarted)).createdAt + 600_000])
      // A bad deadline at the start is a typed error naming the field; nothing is written.
      for (const deadline of [0, -5, Number.POSITIVE_INFINITY]) {
        const error = yield* Effect.flip(Errand.execute({ id: "bad" }, { deadline }))
        assert.strictEqual(error.reason, "InvalidPayload")
        assert.strictEqual((error as { readonly field?: string }).field, "deadline")
      }
      assert.isFalse((yield* WorkflowEngine.list({ workflow: "Errand" })).items.some((r) => r.idempotencyKey === "bad"))
    }).pipe(Effect.provide(Layer.provideMerge(Layer.mergeAll(tripBodies(log), ErrandLive), WorkflowEngine.layerMemory)))
  })

  it("a deadline that is not a finite duration above zero is refused where the workflow is defined", () => {
    for (const deadline of [0, -1, Number.POSITIVE_INFINITY] as const) {
      assert.throws(
        () => Workflow.make({ name: "Bad", payload: {}, idempotencyKey: () => "b", deadline }),
        /Workflow "Bad": deadline must be a finite duration above zero/
      )
    }
  })
})
