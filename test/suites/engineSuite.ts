/**
 * The engine suite: every durable rule of DESIGN.md, run against one engine Layer. The memory
 * engine runs it in test/Workflow.test.ts; the SQL engines run the same suite.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import { TestClock } from "effect/testing"
import {
  Activity,
  DurableClock,
  DurableDeferred,
  DurableQueue,
  TestHooks,
  Workflow,
  WorkflowEngine,
  WorkflowError,
  type WorkflowStore
} from "@weft/workflow"
import { attempts, Counter, hasStatus, record, suspended, waitUntil } from "../util.js"

/** Builds a fresh engine (and its store) with optional test hooks below it and engine options. */
export type MakeEngine = (
  hooks?: Layer.Layer<TestHooks.TestHooks>,
  options?: WorkflowEngine.Options
) => Layer.Layer<WorkflowEngine.WorkflowEngine | WorkflowStore.WorkflowStore, unknown>

export const engineSuite = (name: string, makeEngine: MakeEngine) => {
  const run = <A, E>(
    effect: Effect.Effect<A, E, any>,
    hooks?: Layer.Layer<TestHooks.TestHooks>,
    options?: WorkflowEngine.Options
  ): Effect.Effect<A, unknown, never> =>
    effect.pipe(Effect.provide(Layer.provideMerge(Fixtures, makeEngine(hooks, options)))) as Effect.Effect<A, unknown, never>

  describe(`engine: ${name}`, () => {
    it.effect("replays after a deferred: every completed activity body ran exactly once and the result is unchanged", () =>
      run(
        Effect.gen(function* () {
          const id = yield* Onboard.execute({ id: "r1" }, { discard: true })
          yield* suspended(Onboard, id)
          assert.strictEqual(counter.get("r1:create-account"), 1)
          assert.strictEqual(counter.get("r1:activate"), 0)
          const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Onboard.name, executionId: id })
          yield* Effect.forkChild(DurableDeferred.succeed(Approval, { token, value: { by: "ops" } }))
          const result = yield* Onboard.execute({ id: "r1" })
          assert.strictEqual(result, "acct-r1/mail-r1/ops/active-r1")
          for (const step of ["create-account", "send-email", "activate"]) assert.strictEqual(counter.get(`r1:${step}`), 1)
          assert.deepStrictEqual(yield* attempts(id), ["create-account#1", "send-email#1", "activate#1"])
          const events = (yield* record(id)).events.map((e) => e.kind)
          assert.deepStrictEqual(events, ["started", "suspended", "signal-received", "completed"])
        })
      ))

    it.effect("derives the execution id from name and idempotency key, with fixed vectors", () =>
      Effect.gen(function* () {
        assert.strictEqual(Workflow.executionIdFor("Onboard", "r1"), "0b77d2aa08a95251eb217f2398ebb0f8")
        assert.strictEqual(Workflow.executionIdFor("Onboard", ""), "9bc72858b87d853a9f815ba9b35848b4")
        assert.strictEqual(Workflow.executionIdFor("übung", "κλειδί/1"), "ad3c8061636cfce5f2a3a059ff5c0a0e")
        assert.strictEqual(yield* Onboard.executionId({ id: "r1" }), Workflow.executionIdFor("Onboard", "r1"))
        // Lone surrogates hash as their own WTF-8 bytes (ED A0 80 for U+D800), not as U+FFFD.
        assert.strictEqual(Workflow.executionIdFor("Onboard", "a\ud800"), "0304b5aee07f4a32b1196794e4cec230")
        assert.strictEqual(Workflow.executionIdFor("Onboard", "a\udc00"), "2bc792e416f706e5e6d37144ba4b7790")
        assert.strictEqual(Workflow.executionIdFor("Onboard", "a\ufffd"), "6c7dd1925bd1f1b3cc3054236cc7dde5")
        assert.strictEqual(Workflow.executionIdFor("Onboard", "a\u0000"), "627347660894999f22a9987ee86f232d")
        assert.strictEqual(Workflow.executionIdFor("Onboard", "\ud83d\ude00"), "471731a29f9120373e98574ff2bdc190")
        assert.strictEqual(Workflow.executionIdFor("Onboard", "\ude00\ud83d"), "29a6f3d3817e6dd3cd1397898a535fe6")
      }))

    it.effect("gives different keys different ids: lone surrogates, U+FFFD, NUL and a surrogate pair", () =>
      Effect.sync(() => {
        const keys = ["a\ud800", "a\udc00", "a\ufffd", "a\u0000", "a", "a\ud800\udc00", "a\udc00\ud800", "a\ufffd\ufffd"]
        const ids = keys.map((key) => Workflow.executionIdFor("Onboard", key))
        assert.strictEqual(new Set(ids).size, keys.length)
      }))

    it.effect("runs at most maxRuns executions at once; the rest wait in the store, each completes once, an interrupt gets in", () =>
      run(
        Effect.gen(function* () {
          const open = yield* Deferred.make<void>()
          let live = 0
          let most = 0
          gate = Effect.acquireUseRelease(
            Effect.sync(() => {
              most = Math.max(most, ++live)
            }),
            () => Deferred.await(open),
            () => Effect.sync(() => void live--)
          )
          // Six at once (concurrent creates must not all claim), then a seventh while the engine is full.
          const first = yield* Effect.forEach(
            Array.from({ length: 6 }, (_, i) => `m${i}`),
            (id) => Gated.execute({ id }, { discard: true }),
            { concurrency: "unbounded" }
          )
          const ids = [...first, yield* Gated.execute({ id: "m6" }, { discard: true })]
          yield* waitUntil(Effect.sync(() => live === 2), "two gated runs")
          const engine = yield* WorkflowEngine.WorkflowEngine
          assert.strictEqual(engine.activeRuns(), 2)
          const waiting = (yield* WorkflowEngine.list({ workflow: Gated.name, status: "running" })).items.length
          assert.strictEqual(waiting, 7)
          // An interrupt does not wait for room: m6 ends (never having run its activity) while the engine is full.
          const m6 = ids[6]!
          yield* Gated.interrupt(m6)
          yield* waitUntil(hasStatus(m6, "interrupted"), "m6 interrupted")
          assert.strictEqual(live, 2)
          yield* Deferred.succeed(open, undefined)
          for (const id of ids.slice(0, 6)) yield* waitUntil(hasStatus(id, "succeeded"), `${id} succeeded`)
          assert.strictEqual(most, 2)
          for (let i = 0; i < 6; i++) assert.strictEqual(counter.get(`m${i}:gated`), 1)
          assert.strictEqual(counter.get("m6:gated"), 0)
        }),
        undefined,
        { maxRuns: 2 }
      ))

    it.effect("joins the run in flight and returns the stored result without running anything again", () =>
      run(
        Effect.gen(function* () {
          const first = yield* Effect.forkChild(Onboard.execute({ id: "j1" }))
          const second = yield* Effect.forkChild(Onboard.execute({ id: "j1" }))
          const id = yield* Onboard.executionId({ id: "j1" })
          yield* suspended(Onboard, id)
          const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Onboard.name, executionId: id })
          yield* DurableDeferred.succeed(Approval, { token, value: { by: "ops" } })
          assert.strictEqual(yield* Fiber.join(first), "acct-j1/mail-j1/ops/active-j1")
          assert.strictEqual(yield* Fiber.join(second), "acct-j1/mail-j1/ops/active-j1")
          assert.strictEqual(yield* Onboard.execute({ id: "j1" }), "acct-j1/mail-j1/ops/active-j1")
          assert.strictEqual(yield* Onboard.execute({ id: "j1" }, { discard: true }), id)
          assert.strictEqual(counter.get("j1:create-account"), 1)
          assert.strictEqual(counter.get("j1:activate"), 1)
          assert.strictEqual((yield* WorkflowEngine.list({ workflow: Onboard.name })).items.length, 1)
        })
      ))

    it.effect("retries durably: success on attempt 3 leaves attempts 1-3 with their errors in the journal", () =>
      run(
        Effect.gen(function* () {
          const fiber = yield* Effect.forkChild(Flaky.execute({ id: "t1", failures: 2, retryable: true, times: 5 }))
          const id = yield* Flaky.executionId({ id: "t1", failures: 2, retryable: true, times: 5 })
          yield* waitUntil(retryTimersStored(id, 1), "the first retry's timer")
          yield* TestClock.adjust("1 minute")
          yield* waitUntil(retryTimersStored(id, 2), "the second retry's timer")
          yield* TestClock.adjust("1 minute")
          assert.strictEqual(yield* Fiber.join(fiber), "ok after 3")
          const detail = yield* record(id)
          assert.deepStrictEqual(
            detail.attempts.map((a) => [a.attempt, (a.exit as any)._tag]),
            [[1, "Failure"], [2, "Failure"], [3, "Success"]]
          )
          assert.deepStrictEqual((detail.attempts[0]!.exit as any).cause.error, { _tag: "Declined", attempt: 1, retryable: true })
          assert.strictEqual(counter.get("t1:charge"), 3)
        })
      ))

    it.effect("surfaces the typed error when retries are exhausted", () =>
      run(
        Effect.gen(function* () {
          const payload = { id: "t2", failures: 10, retryable: true, times: 2 }
          const fiber = yield* Effect.forkChild(Effect.flip(Flaky.execute(payload)))
          const id = yield* Flaky.executionId(payload)
          yield* waitUntil(retryTimersStored(id, 1), "the first retry's timer")
          yield* TestClock.adjust("1 minute")
          yield* waitUntil(retryTimersStored(id, 2), "the second retry's timer")
          yield* TestClock.adjust("1 minute")
          const error = yield* Fiber.join(fiber)
          assert.instanceOf(error, Declined)
          assert.strictEqual(error.attempt, 3)
          assert.strictEqual(counter.get("t2:charge"), 3)
        })
      ))

    it.effect("stops at once on a non-retryable error", () =>
      run(
        Effect.gen(function* () {
          const payload = { id: "t3", failures: 10, retryable: false, times: 5 }
          const error = yield* Effect.flip(Flaky.execute(payload))
          assert.instanceOf(error, Declined)
          assert.strictEqual(error.attempt, 1)
          assert.deepStrictEqual(yield* attempts(yield* Flaky.executionId(payload)), ["charge#1"])
        })
      ))

    it.effect("gives the activity its attempt number and an idempotency key equal across attempts", () =>
      run(
        Effect.gen(function* () {
          const payload = { id: "t4", failures: 1, retryable: true, times: 1 }
          const fiber = yield* Effect.forkChild(Flaky.execute(payload))
          yield* waitUntil(retryTimersStored(yield* Flaky.executionId(payload), 1), "the first retry's timer")
          yield* TestClock.adjust("1 minute")
          yield* Fiber.join(fiber)
          assert.strictEqual(keys.length, 2)
          assert.strictEqual(keys[0], keys[1])
          keys.length = 0
        })
      ))

    it.effect("suspends a 3-day durable sleep, holding no fiber, and resumes when the time comes", () =>
      run(
        Effect.gen(function* () {
          const id = yield* Sleeper.execute({ id: "s1", duration: "3 days" }, { discard: true })
          yield* suspended(Sleeper, id)
          const engine = yield* WorkflowEngine.WorkflowEngine
          assert.strictEqual(engine.activeRuns(), 0)
          assert.strictEqual(counter.get("s1:after"), 0)
          yield* TestClock.adjust("2 days")
          assert.isTrue(yield* hasStatus(id, "suspended"))
          yield* TestClock.adjust("1 day")
          yield* waitUntil(hasStatus(id, "succeeded"), "woken by the timer")
          assert.strictEqual(yield* Sleeper.execute({ id: "s1", duration: "3 days" }), "slept")
          assert.strictEqual(counter.get("s1:before"), 1)
          assert.strictEqual(counter.get("s1:after"), 1)
        })
      ))

    it.effect("keeps a 1-second sleep in the fiber without suspending", () =>
      run(
        Effect.gen(function* () {
          const fiber = yield* Effect.forkChild(Sleeper.execute({ id: "s2", duration: "1 second" }))
          const id = yield* Sleeper.executionId({ id: "s2", duration: "1 second" })
          yield* waitUntil(Effect.map(attempts(id), (a) => a.length === 1), "before the sleep")
          yield* waitUntil(Effect.map(record(id), (r) => r.clocks.length === 1), "the clock stored")
          yield* TestClock.adjust("1 second")
          assert.strictEqual(yield* Fiber.join(fiber), "slept")
          const events = (yield* record(id)).events.map((e) => e.kind)
          assert.notInclude(events, "suspended")
        })
      ))

    it.effect("stores a sub-millisecond sleep's wake time as a whole millisecond, rounded up, and wakes then", () =>
      run(
        Effect.gen(function* () {
          const fiber = yield* Effect.forkChild(Sleeper.execute({ id: "s-micros", duration: "2500 micros" }))
          const id = yield* Sleeper.executionId({ id: "s-micros", duration: "2500 micros" })
          yield* waitUntil(Effect.map(attempts(id), (a) => a.length === 1), "before the sleep")
          yield* waitUntil(Effect.map(record(id), (r) => r.clocks.length === 1), "the clock stored")
          const [clock] = (yield* record(id)).clocks
          const started = (yield* record(id)).execution.createdAt
          assert.strictEqual(clock!.wakeAt, started + 3)
          yield* TestClock.adjust("3 millis")
          assert.strictEqual(yield* Fiber.join(fiber), "slept")
        })
      ))

    it.effect("suspends an infinite sleep with the latest wake time a store keeps, until it is interrupted", () =>
      run(
        Effect.gen(function* () {
          const id = yield* Sleeper.execute({ id: "s-forever", duration: "forever" }, { discard: true })
          yield* suspended(Sleeper, id)
          assert.deepStrictEqual((yield* record(id)).clocks.map((c) => c.wakeAt), [Number.MAX_SAFE_INTEGER])
          yield* TestClock.adjust("1000 days")
          assert.isTrue(yield* hasStatus(id, "suspended"))
          yield* Sleeper.interrupt(id)
          yield* waitUntil(hasStatus(id, "interrupted"), "interrupted")
          assert.strictEqual(counter.get("s-forever:after"), 0)
        })
      ))

    it.effect("keeps a completion that arrives before anyone awaits", () =>
      run(
        Effect.gen(function* () {
          const gate = yield* Deferred.make<void>()
          gates.set("e1", gate)
          const fiber = yield* Effect.forkChild(Onboard.execute({ id: "e1" }))
          const id = yield* Onboard.executionId({ id: "e1" })
          yield* waitUntil(Effect.sync(() => counter.get("e1:gate") === 1), "waiting at the gate")
          const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Onboard.name, executionId: id })
          yield* DurableDeferred.succeed(Approval, { token, value: { by: "early" } })
          yield* Deferred.succeed(gate, undefined)
          assert.strictEqual(yield* Fiber.join(fiber), "acct-e1/mail-e1/early/active-e1")
          assert.notInclude((yield* record(id)).events.map((e) => e.kind), "suspended")
        })
      ))

    it.effect("reports a second completion without applying it", () =>
      run(
        Effect.gen(function* () {
          const id = yield* Onboard.execute({ id: "e2" }, { discard: true })
          yield* suspended(Onboard, id)
          const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Onboard.name, executionId: id })
          yield* DurableDeferred.succeed(Approval, { token, value: { by: "first" } })
          yield* DurableDeferred.succeed(Approval, { token, value: { by: "second" } })
          assert.strictEqual(yield* Onboard.execute({ id: "e2" }), "acct-e2/mail-e2/first/active-e2")
          const events = (yield* record(id)).events.map((e) => e.kind)
          assert.include(events, "signal-ignored")
        })
      ))

    it.effect("fires a durable await timeout, and a later signal changes nothing", () =>
      run(
        Effect.gen(function* () {
          const id = yield* Timeout.execute({ id: "o1" }, { discard: true })
          yield* suspended(Timeout, id)
          yield* TestClock.adjust("2 hours")
          yield* waitUntil(hasStatus(id, "succeeded"), "timed out")
          assert.strictEqual(yield* Timeout.execute({ id: "o1" }), "timed out")
          const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Timeout.name, executionId: id })
          yield* DurableDeferred.succeed(Approval, { token, value: { by: "late" } })
          assert.strictEqual(yield* Timeout.execute({ id: "o1" }), "timed out")
        })
      ))

    it.effect("returns the signal when it beats the durable timeout", () =>
      run(
        Effect.gen(function* () {
          const id = yield* Timeout.execute({ id: "o2" }, { discard: true })
          yield* suspended(Timeout, id)
          const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Timeout.name, executionId: id })
          yield* DurableDeferred.succeed(Approval, { token, value: { by: "quick" } })
          assert.strictEqual(yield* Timeout.execute({ id: "o2" }), "approved by quick")
          yield* TestClock.adjust("2 hours")
          assert.strictEqual(yield* Timeout.execute({ id: "o2" }), "approved by quick")
        })
      ))

    it.effect("replays the stored winner of raceAll without racing again", () =>
      run(
        Effect.gen(function* () {
          const id = yield* Racer.execute({ id: "x1" }, { discard: true })
          yield* suspended(Racer, id)
          assert.strictEqual(counter.get("x1:fast"), 1)
          const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Racer.name, executionId: id })
          yield* DurableDeferred.succeed(Approval, { token, value: { by: "ops" } })
          assert.strictEqual(yield* Racer.execute({ id: "x1" }), "fast")
          assert.strictEqual(counter.get("x1:fast"), 1)
          assert.strictEqual(counter.get("x1:slow"), 0)
        })
      ))

    it.effect("runs concurrent activities beside a suspension, then replays without deadlock or re-running a body", () =>
      run(
        Effect.gen(function* () {
          const id = yield* Parallel.execute({ id: "p1" }, { discard: true })
          yield* suspended(Parallel, id)
          const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Parallel.name, executionId: id })
          yield* DurableDeferred.succeed(Approval, { token, value: { by: "ops" } })
          assert.strictEqual(yield* Parallel.execute({ id: "p1" }), "a,b,c,ops,d")
          for (const step of ["a", "b", "c", "d"]) assert.strictEqual(counter.get(`p1:${step}`), 1)
        })
      ))

    it.effect("hands 20 workflows' items to a queue worker of concurrency 4 and returns each result", () =>
      run(
        Effect.gen(function* () {
          const gate = yield* Deferred.make<void>()
          queueStats.gate = gate
          yield* Effect.addFinalizer(() => Effect.sync(() => (queueStats.gate = undefined)))
          const all = yield* Effect.forkChild(
            Effect.forEach(
              Array.from({ length: 20 }, (_, i) => i),
              (n) => Resize.execute({ id: `q${n}`, size: n }),
              { concurrency: "unbounded" }
            )
          )
          yield* waitUntil(Effect.sync(() => queueStats.active === 4), "four items in the handler at once")
          yield* Deferred.succeed(gate, undefined)
          const results = yield* Fiber.join(all)
          assert.deepStrictEqual(results, Array.from({ length: 20 }, (_, i) => `thumb-${i}`))
          assert.strictEqual(queueStats.max, 4)
        }).pipe(Effect.provide(ResizeWorker))
      ))

    it.effect("gives a queue handler its item's scope: what it acquires is released once the item is answered", () =>
      run(
        Effect.gen(function* () {
          const before = queueStats.released
          assert.strictEqual(yield* Resize.execute({ id: "qs1", size: 7 }), "thumb-7")
          yield* waitUntil(Effect.sync(() => queueStats.released === before + 1), "the handler's resource released")
          assert.strictEqual(queueStats.acquired, queueStats.released)
        }).pipe(Effect.provide(ResizeWorker))
      ))

    it.effect("surfaces a failing queue handler's typed error in the workflow", () =>
      run(
        Effect.gen(function* () {
          const error = yield* Effect.flip(Resize.execute({ id: "q-bad", size: -1 }))
          assert.instanceOf(error, ResizeFailed)
          assert.strictEqual((error as ResizeFailed).size, -1)
        }).pipe(Effect.provide(ResizeWorker))
      ))

    it.effect("runs compensations newest first, exactly once, when a later activity fails", () =>
      run(
        Effect.gen(function* () {
          const error = yield* Effect.flip(Trip.execute({ id: "c1", failAt: "pay" }))
          assert.instanceOf(error, TripFailed)
          assert.strictEqual((error as TripFailed).step, "pay")
          assert.deepStrictEqual(compensated.get("c1"), ["car", "hotel", "flight"])
          const names = yield* attempts(yield* Trip.executionId({ id: "c1", failAt: "pay" }))
          assert.deepStrictEqual(names.filter((n) => n.startsWith("@weft/compensation")).length, 3)
        })
      ))

    it.effect("does not compensate a successful execution", () =>
      run(
        Effect.gen(function* () {
          assert.strictEqual(yield* Trip.execute({ id: "c2", failAt: "none" }), "booked")
          assert.isUndefined(compensated.get("c2"))
        })
      ))

    it.effect("interrupting a suspended execution runs its compensations and ends it as interrupted", () =>
      run(
        Effect.gen(function* () {
          const payload = { id: "c3", failAt: "wait" }
          const id = yield* Trip.execute(payload, { discard: true })
          yield* suspended(Trip, id)
          yield* Trip.interrupt(id)
          yield* waitUntil(hasStatus(id, "interrupted"), "interrupted")
          assert.deepStrictEqual(compensated.get("c3"), ["car", "hotel", "flight"])
          const polled = yield* Trip.poll(id)
          assert.isTrue(Option.isSome(polled) && polled.value._tag === "Complete" && isInterrupted(polled.value.exit))
          assert.strictEqual(counter.get("c3:pay"), 0)
        })
      ))

    it.effect("interrupting a running execution stops its activity at once", () =>
      run(
        Effect.gen(function* () {
          const payload = { id: "c4", failAt: "hang" }
          const id = yield* Trip.execute(payload, { discard: true })
          yield* waitUntil(Effect.sync(() => counter.get("c4:hang") === 1), "hanging")
          yield* Trip.interrupt(id)
          yield* waitUntil(hasStatus(id, "interrupted"), "interrupted")
          assert.deepStrictEqual(compensated.get("c4"), ["car", "hotel", "flight"])
        })
      ))

    it.effect("rejects a payload that fails its schema with a typed error naming the field, storing nothing", () =>
      run(
        Effect.gen(function* () {
          const error = yield* Effect.flip(Onboard.execute({ id: 42 } as any))
          assert.instanceOf(error, WorkflowError.WorkflowError)
          assert.strictEqual(error.reason, "InvalidPayload")
          assert.strictEqual(error.workflow, "Onboard")
          assert.strictEqual(error.field, "id")
          assert.include(error.message, "Expected string")
          assert.strictEqual((yield* WorkflowEngine.list({})).items.length, 0)
        })
      ))

    it.effect("runs a workflow whose payload is void (no JSON value at all), read back after it suspends", () =>
      run(
        Effect.gen(function* () {
          const id = yield* Tick.execute(undefined, { discard: true })
          yield* suspended(Tick, id)
          const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Tick.name, executionId: id })
          yield* DurableDeferred.succeed(Approval, { token, value: { by: "clock" } })
          assert.strictEqual(yield* Tick.execute(undefined), "tick by clock")
          assert.isUndefined((yield* record(id)).execution.payload)
        })
      ))

    it.effect("rejects a payload whose encoded form JSON cannot hold (bigint, NaN, Date), naming the field, storing nothing", () =>
      run(
        Effect.gen(function* () {
          for (const [payload, field, holds] of [
            [{ id: "b1", amount: 5n, ratio: 1 }, "amount", "a bigint"],
            [{ id: "b2", amount: 5, ratio: Number.NaN }, "ratio", "the number NaN"],
            [{ id: "b4", amount: 5, ratio: 1, at: new Date(0) }, "at", "an instance of Date"]
          ] as const) {
            const error = yield* Effect.flip(Ledger.execute(payload as any))
            assert.instanceOf(error, WorkflowError.WorkflowError)
            assert.strictEqual(error.reason, "InvalidPayload")
            assert.strictEqual(error.workflow, "Ledger")
            assert.strictEqual(error.field, field)
            assert.include(error.message, holds)
          }
          assert.strictEqual((yield* WorkflowEngine.list({})).items.length, 0)
          assert.strictEqual(counter.get("b1:total"), 0)
        })
      ))

    it.effect("fails an execution whose activity result JSON cannot hold, naming the activity; the body ran once", () =>
      run(
        Effect.gen(function* () {
          const exit = yield* Effect.exit(Ledger.execute({ id: "b3", amount: 5, ratio: 1 }))
          const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
          // Read back from the store, the defect keeps the error's name and message.
          assert.strictEqual((defect as Error | undefined)?.name, "WorkflowError")
          assert.include(String((defect as any).message), `the result of activity "total" of workflow "Ledger"`)
          assert.include(String((defect as any).message), "a bigint")
          const [execution] = (yield* WorkflowEngine.list({ workflow: Ledger.name })).items
          assert.strictEqual(execution?.status, "failed")
          const detail = yield* record(execution!.executionId)
          assert.deepStrictEqual(detail.attempts.map((a) => a.name), ["total"])
          assert.strictEqual(counter.get("b3:total"), 1)
          // The same value is refused as a deferred's value, before anything is written.
          const token = yield* DurableDeferred.tokenFor(Counted, { workflow: Ledger.name, executionId: execution!.executionId })
          const refused = yield* Effect.flip(DurableDeferred.succeed(Counted, { token, value: 1n }))
          assert.strictEqual(refused.reason, "InvalidPayload")
          assert.strictEqual((yield* record(execution!.executionId)).deferreds.length, 0)
        })
      ))

    it.effect("fails clearly, without hanging or storing, for a workflow that is not registered", () =>
      run(
        Effect.gen(function* () {
          const error = yield* Effect.flip(Unregistered.execute({ id: "u1" }))
          assert.strictEqual(error.reason, "NotRegistered")
          assert.include(error.message, "Unregistered")
          assert.strictEqual((yield* WorkflowEngine.list({})).items.length, 0)
        })
      ))

    it.effect("rejects a forged or tampered token and writes nothing", () =>
      run(
        Effect.gen(function* () {
          const id = yield* Onboard.execute({ id: "k1" }, { discard: true })
          yield* suspended(Onboard, id)
          const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Onboard.name, executionId: id })
          const [v, keyId, body, signature] = token.split(".")
          const head = `${v}.${keyId}`
          const forged = `${head}.${Buffer.from(JSON.stringify(["Onboard", id, "approval"])).toString("base64url")}.AAAA`
          const tampered = `${head}.${body}.${signature!.slice(0, -2)}${signature!.endsWith("xx") ? "yy" : "xx"}`
          // The same signature bytes spelled otherwise: base64's last character has two spare bits.
          const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
          const last = alphabet.indexOf(signature!.slice(-1))
          const respelled = `${head}.${body}.${signature!.slice(0, -1)}${alphabet[last ^ 1]}`
          assert.deepStrictEqual(Buffer.from(respelled.split(".")[3]!, "base64url"), Buffer.from(signature!, "base64url"))
          for (const bad of [forged, tampered, respelled, "garbage", ""]) {
            const error = yield* Effect.flip(DurableDeferred.succeed(Approval, { token: bad, value: { by: "mallory" } }))
            assert.strictEqual(error.reason, "InvalidToken")
          }
          const wrongValue = yield* Effect.flip(DurableDeferred.succeed(Approval, { token, value: { by: 7 } as any }))
          assert.strictEqual(wrongValue.reason, "InvalidPayload")
          assert.strictEqual(wrongValue.field, "by")
          assert.strictEqual((yield* record(id)).deferreds.length, 0)
          assert.isTrue(yield* hasStatus(id, "suspended"))
        })
      ))

    it.effect("fails with a NonDeterminismError when a replay skips a journaled activity", () =>
      run(
        Effect.gen(function* () {
          versions.set("n1", 1)
          const id = yield* Evolving.execute({ id: "n1" }, { discard: true })
          yield* suspended(Evolving, id)
          versions.set("n1", 2)
          const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Evolving.name, executionId: id })
          yield* DurableDeferred.succeed(Approval, { token, value: { by: "ops" } })
          yield* waitUntil(hasStatus(id, "failed"), "failed")
          const polled = yield* Evolving.poll(id)
          assert.isTrue(Option.isSome(polled) && polled.value._tag === "Complete")
          const exit = (polled as any).value.exit as Exit.Exit<unknown, unknown>
          assert.isTrue(Exit.isFailure(exit))
          const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
          assert.include(String((defect as any)?.message), `"legacy-step"`)
          assert.include(String((defect as any)?.message), id)
        })
      ))

    it.effect("fails with a NonDeterminismError when a stored result no longer decodes with the activity's schema", () =>
      run(
        Effect.gen(function* () {
          versions.set("n2", 1)
          const id = yield* Evolving.execute({ id: "n2" }, { discard: true })
          yield* suspended(Evolving, id)
          versions.set("n2", 3)
          const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Evolving.name, executionId: id })
          yield* DurableDeferred.succeed(Approval, { token, value: { by: "ops" } })
          yield* waitUntil(hasStatus(id, "failed"), "failed")
          const polled = yield* Evolving.poll(id)
          const exit = Option.isSome(polled) && polled.value._tag === "Complete" ? polled.value.exit : undefined
          const defect = exit !== undefined && Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
          assert.include(String((defect as any)?.message), `"kept-step"`)
          assert.include(String((defect as any)?.message), "no longer decodes")
          assert.strictEqual(counter.get("n2:kept-step"), 1)
        })
      ))

    it.effect("resumes an execution that failed by a defect once the cause is fixed", () =>
      run(
        Effect.gen(function* () {
          versions.set("d1", 1)
          const id = yield* Buggy.execute({ id: "d1" }, { discard: true })
          yield* waitUntil(hasStatus(id, "failed"), "failed by a defect")
          versions.set("d1", 2)
          yield* Buggy.resume(id)
          yield* waitUntil(hasStatus(id, "succeeded"), "resumed")
          assert.strictEqual(yield* Buggy.execute({ id: "d1" }), "fixed")
          assert.strictEqual(counter.get("d1:prepare"), 1)
        })
      ))

    it.effect("runs a child workflow linked to its parent, which suspends until the child completes", () =>
      run(
        Effect.gen(function* () {
          const parentId = yield* Parent.execute({ id: "w1" }, { discard: true })
          const childId = yield* Onboard.executionId({ id: "w1-child" })
          yield* suspended(Onboard, childId)
          yield* suspended(Parent, parentId)
          const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Onboard.name, executionId: childId })
          yield* DurableDeferred.succeed(Approval, { token, value: { by: "ops" } })
          assert.strictEqual(yield* Parent.execute({ id: "w1" }), "parent of acct-w1-child/mail-w1-child/ops/active-w1-child")
          assert.strictEqual(counter.get("w1-child:create-account"), 1)
        })
      ))

    it.effect("interrupting a parent interrupts the child it awaits; a child started with discard goes on", () =>
      run(
        Effect.gen(function* () {
          const parentId = yield* Guardian.execute({ id: "g1" }, { discard: true })
          const childId = yield* Onboard.executionId({ id: "g1-child" })
          const strayId = yield* Onboard.executionId({ id: "g1-stray" })
          yield* suspended(Onboard, childId)
          yield* suspended(Onboard, strayId)
          yield* suspended(Guardian, parentId)
          yield* Guardian.interrupt(parentId)
          yield* waitUntil(hasStatus(parentId, "interrupted"), "parent interrupted")
          yield* waitUntil(hasStatus(childId, "interrupted"), "child interrupted")
          assert.isTrue(yield* hasStatus(strayId, "suspended"))
          const parent = yield* Guardian.poll(parentId)
          assert.isTrue(Option.isSome(parent) && parent.value._tag === "Complete" && isInterrupted(parent.value.exit))
          // A signal for the interrupted child changes nothing.
          const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Onboard.name, executionId: childId })
          yield* Effect.ignore(DurableDeferred.succeed(Approval, { token, value: { by: "late" } }))
          assert.isTrue(yield* hasStatus(childId, "interrupted"))
          assert.strictEqual(counter.get("g1-child:activate"), 0)
        })
      ))

    it.effect("a parent that fails by a defect leaves its child waiting; once fixed and resumed it gets the child's result", () =>
      run(
        Effect.gen(function* () {
          versions.set("m1", 1)
          // The check waits for the gate, so it dies only once the child waits for its approval.
          const gate = yield* Deferred.make<void>()
          gates.set("m1", gate)
          const parentId = yield* Mentor.execute({ id: "m1" }, { discard: true })
          const childId = yield* Onboard.executionId({ id: "m1-child" })
          yield* waitUntil(hasStatus(childId, "suspended"), "child waiting for its approval")
          yield* Deferred.succeed(gate, undefined)
          yield* waitUntil(hasStatus(parentId, "failed"), "parent failed by its defect")
          yield* suspended(Onboard, childId)
          versions.set("m1", 2)
          yield* Mentor.resume(parentId)
          yield* suspended(Mentor, parentId)
          const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Onboard.name, executionId: childId })
          yield* DurableDeferred.succeed(Approval, { token, value: { by: "ops" } })
          assert.strictEqual(yield* Mentor.execute({ id: "m1" }), "acct-m1-child/mail-m1-child/ops/active-m1-child + checked")
          assert.strictEqual(counter.get("m1-child:create-account"), 1)
          assert.strictEqual(counter.get("m1:check"), 2)
        })
      ))

    for (const point of ["before-await", "before-suspend", "after-suspend"] as const) {
      it.effect(`never loses a wake-up: a completion ${point} still finishes the execution`, () => {
        const key = `l-${point}`
        const complete = Effect.gen(function* () {
          const id = yield* Onboard.executionId({ id: key })
          const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Onboard.name, executionId: id })
          yield* DurableDeferred.succeed(Approval, { token, value: { by: point } })
        })
        let fired = false
        const hooks = TestHooks.layer((at, _executionId, detail) =>
          (point === "before-await" && at === "activity-recorded" && detail === "send-email") || at === point
            ? fired
              ? Effect.void
              : Effect.suspend(() => {
                  fired = true
                  return complete.pipe(Effect.provide(engineRef.layer!), Effect.orDie)
                })
            : Effect.void
        )
        return run(
          Effect.gen(function* () {
            engineRef.layer = Layer.succeedContext(yield* Effect.context<WorkflowEngine.WorkflowEngine>())
            const result = yield* Onboard.execute({ id: key })
            assert.isTrue(fired)
            assert.strictEqual(result, `acct-${key}/mail-${key}/${point}/active-${key}`)
            assert.strictEqual(counter.get(`${key}:activate`), 1)
          }),
          hooks
        )
      })
    }

    it.effect("releases every caller waiting on a result when the engine's Layer closes: each ends interrupted, none hangs", () =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(
          Layer.provideMerge(Fixtures, makeEngine(undefined, { acceptUnregistered: true })),
          scope
        )
        const inEngine = <A, E>(effect: Effect.Effect<A, E, any>) =>
          Effect.provideContext(effect, context) as Effect.Effect<A, E>
        // One waits on a suspended execution, one on a running one, one on an execution no worker here runs.
        const callers: Array<Fiber.Fiber<unknown, unknown>> = [
          yield* Effect.forkChild(inEngine(Onboard.execute({ id: "sd1" }))),
          yield* Effect.forkChild(inEngine(Trip.execute({ id: "sd2", failAt: "hang" }))),
          yield* Effect.forkChild(inEngine(Unregistered.execute({ id: "sd3" })))
        ]
        const sd1 = yield* Onboard.executionId({ id: "sd1" })
        const sd3 = yield* Unregistered.executionId({ id: "sd3" })
        yield* inEngine(waitUntil(hasStatus(sd1, "suspended"), "sd1 suspended"))
        yield* waitUntil(Effect.sync(() => counter.get("sd2:hang") === 1), "sd2 running its activity")
        yield* inEngine(waitUntil(hasStatus(sd3, "running"), "sd3 stored"))
        // And a loop that polls until the suspended one completes.
        const polling = yield* Effect.forkChild(
          inEngine(
            Effect.repeat(Effect.tap(Onboard.poll(sd1), () => Effect.yieldNow), {
              until: (polled) => Option.isSome(polled) && polled.value._tag === "Complete"
            })
          )
        )
        callers.push(polling)
        yield* Scope.close(scope, Exit.void)
        yield* waitUntil(Effect.sync(() => callers.every((fiber) => fiber.pollUnsafe() !== undefined)), "every caller released")
        for (const fiber of callers) assert.isTrue(isInterrupted(fiber.pollUnsafe()!))
        // A call that comes after the engine closed does not wait either.
        const late = yield* Effect.forkChild(inEngine(Onboard.execute({ id: "sd1" })))
        yield* waitUntil(Effect.sync(() => late.pollUnsafe() !== undefined), "the late caller released")
        assert.isTrue(isInterrupted(late.pollUnsafe()!))
      }))

    it.effect("an interrupt wins over a signal that lands before the interrupt's run: interrupted, compensated, the signal ignored", () => {
      const key = "li1"
      const release = Deferred.makeUnsafe<void>()
      let held = false
      // The run that suspends keeps its place until released, so the interrupt's run comes after the signal.
      const hooks = TestHooks.layer((at, executionId) =>
        at === "after-suspend" && executionId === Workflow.executionIdFor(Booking.name, key) && !held
          ? Effect.suspend(() => {
              held = true
              return Deferred.await(release)
            })
          : Effect.void
      )
      return run(
        Effect.gen(function* () {
          const id = yield* Booking.execute({ id: key }, { discard: true })
          yield* waitUntil(Effect.sync(() => held), "the first run suspended")
          yield* Booking.interrupt(id)
          const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Booking.name, executionId: id })
          yield* DurableDeferred.succeed(Approval, { token, value: { by: "late" } })
          yield* Deferred.succeed(release, undefined)
          yield* waitUntil(Effect.map(record(id), (r) => r.execution.status !== "running"), "ended")
          const detail = yield* record(id)
          assert.strictEqual(detail.execution.status, "interrupted")
          const polled = yield* Booking.poll(id)
          assert.isTrue(Option.isSome(polled) && polled.value._tag === "Complete" && isInterrupted(polled.value.exit))
          assert.strictEqual(counter.get(`${key}:release`), 1)
          const events = detail.events.map((e) => e.kind)
          assert.include(events, "signal-ignored")
          assert.notInclude(events, "signal-received")
          assert.deepStrictEqual(detail.deferreds, [])
        }),
        hooks
      )
    })

    for (const shape of ["all", "race"] as const) {
      it.effect(`stores and returns exactly the body's own failure when it fails beside a suspended sibling (${shape}): no interrupt of another fiber`, () =>
        run(
          Effect.gen(function* () {
            const payload = { id: `cf-${shape}`, shape }
            const exit = yield* Effect.exit(Clash.execute(payload))
            assert.deepStrictEqual(exit, Exit.fail("boom"))
            const detail = yield* record(yield* Clash.executionId(payload))
            assert.strictEqual(detail.execution.status, "failed")
            assert.deepStrictEqual(detail.execution.result, { _tag: "Failure", cause: { _tag: "Fail", error: "boom" } })
            assert.notInclude(JSON.stringify(detail), '"_tag":"Interrupt"')
          })
        ))
    }

    it.effect("an activity that interrupts itself is a failed attempt, retried by its policy: the execution succeeds", () =>
      run(
        Effect.gen(function* () {
          const payload = { id: "si1", times: 2 }
          const fiber = yield* Effect.forkChild(Quitter.execute(payload))
          const id = yield* Quitter.executionId(payload)
          const retryingOrEnded = Effect.map(WorkflowEngine.detail(id), (detail) =>
            Option.isSome(detail) && (detail.value.clocks.length > 0 || detail.value.execution.status !== "running")
          )
          yield* waitUntil(retryingOrEnded, "the retry's timer, or the end")
          assert.strictEqual((yield* record(id)).execution.status, "running")
          yield* TestClock.adjust("1 minute")
          assert.strictEqual(yield* Fiber.join(fiber), "ok on attempt 2")
          const detail = yield* record(id)
          assert.strictEqual(detail.execution.status, "succeeded")
          assert.deepStrictEqual(detail.attempts.map((a) => [a.name, a.attempt, (a.exit as any)._tag]), [
            ["quit", 1, "Failure"],
            ["quit", 2, "Success"]
          ])
          assert.notInclude(JSON.stringify(detail.attempts), '"_tag":"Interrupt"')
          assert.strictEqual(counter.get("si1:quit"), 2)
        })
      ))

    it.effect("an activity that interrupts itself, with no retry left, fails the execution with a defect naming it, never as interrupted", () =>
      run(
        Effect.gen(function* () {
          const payload = { id: "si2", times: 0 }
          const exit = yield* Effect.exit(Quitter.execute(payload))
          const id = yield* Quitter.executionId(payload)
          const detail = yield* record(id)
          assert.strictEqual(detail.execution.status, "failed")
          assert.isTrue(Exit.isFailure(exit) && !isInterrupted(exit) && Cause.hasDies(exit.cause))
          const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
          assert.include(String((defect as any)?.message), `"quit"`)
          assert.include(String((defect as any)?.message), id)
          assert.deepStrictEqual(yield* attempts(id), ["quit#1"])
          assert.notInclude(JSON.stringify(detail), '"_tag":"Interrupt"')
        })
      ))

    it.effect("fails an execution that yields two different activities under one name, naming workflow, execution and activity, never returning the first one's result", () =>
      run(
        Effect.gen(function* () {
          const payload = { id: "dn1", items: ["a", "b"], shape: "loop" }
          const exit = yield* Effect.exit(Batch.execute(payload))
          const id = yield* Batch.executionId(payload)
          assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
          const message = String((Exit.isFailure(exit) ? (Cause.squash(exit.cause) as any) : undefined)?.message)
          for (const part of [`"Batch"`, id, `"process"`, "unique name"]) assert.include(message, part)
          assert.strictEqual((yield* record(id)).execution.status, "failed")
          assert.strictEqual(counter.get("dn1:process"), 1)
        })
      ))

    it.effect("tells two activities under one name apart on replay too: the second, after a suspension, fails the execution", () =>
      run(
        Effect.gen(function* () {
          const payload = { id: "dn2", items: ["a", "b"], shape: "wait-between" }
          const id = yield* Batch.execute(payload, { discard: true })
          yield* suspended(Batch, id)
          const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Batch.name, executionId: id })
          yield* DurableDeferred.succeed(Approval, { token, value: { by: "ops" } })
          const exit = yield* Effect.exit(Batch.execute(payload))
          assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
          const message = String((Exit.isFailure(exit) ? (Cause.squash(exit.cause) as any) : undefined)?.message)
          for (const part of [`"Batch"`, id, `"process"`, "unique name"]) assert.include(message, part)
          assert.strictEqual(counter.get("dn2:process"), 1)
        })
      ))

    it.effect("re-yielding the same activity value returns its stored result without running it again", () =>
      run(
        Effect.gen(function* () {
          const payload = { id: "dn3", items: [], shape: "same-value" }
          assert.deepStrictEqual(yield* Batch.execute(payload), ["done once", "done once"])
          assert.strictEqual(counter.get("dn3:process"), 1)
        })
      ))

    it.effect("closes a body's scope once, with the execution's Exit, when the execution ends: not when it suspends", () =>
      run(
        Effect.gen(function* () {
          const id = yield* Scoped.execute({ id: "sc1", mode: "wait" }, { discard: true })
          yield* suspended(Scoped, id)
          assert.strictEqual(counter.get("sc1:release"), 0)
          assert.deepStrictEqual(endsOf("sc1"), [])
          const token: DurableDeferred.Token = yield* DurableDeferred.tokenFor(Approval, { workflow: Scoped.name, executionId: id })
          yield* DurableDeferred.succeed(Approval, { token, value: { by: "ops" } })
          assert.strictEqual(yield* Scoped.execute({ id: "sc1", mode: "wait" }), "scoped by ops")
          // Each run replays the body, so the acquisition ran twice; the release once, at the end.
          assert.strictEqual(counter.get("sc1:acquire"), 2)
          assert.strictEqual(counter.get("sc1:release"), 1)
          assert.deepStrictEqual(endsOf("sc1"), ["success"])
        })
      ))

    it.effect("closes the scope of a failed execution with its failure and of an interrupted one with the interrupt", () =>
      run(
        Effect.gen(function* () {
          assert.strictEqual(yield* Effect.flip(Scoped.execute({ id: "sc2", mode: "fail" })), "boom")
          assert.strictEqual(counter.get("sc2:release"), 1)
          assert.deepStrictEqual(endsOf("sc2"), ["failure"])
          const id = yield* Scoped.execute({ id: "sc3", mode: "wait" }, { discard: true })
          yield* suspended(Scoped, id)
          yield* Scoped.interrupt(id)
          yield* waitUntil(hasStatus(id, "interrupted"), "sc3 interrupted")
          assert.strictEqual(counter.get("sc3:release"), 1)
          assert.deepStrictEqual(endsOf("sc3"), ["interrupted"])
        })
      ))

    it.effect("leaves a running execution's scope open when the engine's Layer closes: nothing is released at shutdown", () =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(Layer.provideMerge(Fixtures, makeEngine()), scope)
        const id = yield* Effect.provideContext(Scoped.execute({ id: "sc4", mode: "hang" }, { discard: true }), context)
        yield* waitUntil(Effect.sync(() => counter.get("sc4:hang") === 1), "sc4 running its activity")
        yield* Scope.close(scope, Exit.void)
        assert.strictEqual(counter.get("sc4:acquire"), 1)
        assert.strictEqual(counter.get("sc4:release"), 0)
        assert.deepStrictEqual(endsOf("sc4"), [])
        assert.isString(id)
      }))

    it.effect("does not let a finalizer that never ends hold up the engine's shutdown", () =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(Layer.provideMerge(Fixtures, makeEngine()), scope)
        yield* Effect.provideContext(Scoped.execute({ id: "sc5", mode: "stuck" }, { discard: true }), context)
        yield* waitUntil(Effect.sync(() => counter.get("sc5:stuck") === 1), "sc5's finalizer running")
        yield* Scope.close(scope, Exit.void)
        assert.strictEqual(counter.get("sc5:stuck"), 1)
      }))

    it.effect("starts a woken execution's activities at attempt 1, whatever the attempt of the step that woke it", () =>
      run(
        Effect.gen(function* () {
          const id = yield* Attempted.execute({ id: "at1" }, { discard: true })
          yield* suspended(Attempted, id)
          yield* Nudger.execute({ id: "at1" })
          assert.strictEqual(yield* Attempted.execute({ id: "at1" }), 1)
        })
      ))

    it.effect("lists executions by workflow and status, and shows one in detail", () =>
      run(
        Effect.gen(function* () {
          yield* Trip.execute({ id: "i1", failAt: "none" })
          const id = yield* Onboard.execute({ id: "i2" }, { discard: true })
          yield* suspended(Onboard, id)
          const page = yield* WorkflowEngine.list({ status: "suspended" })
          assert.deepStrictEqual(page.items.map((r) => r.executionId), [id])
          const trips = yield* WorkflowEngine.list({ workflow: Trip.name })
          assert.strictEqual(trips.items.length, 1)
          assert.strictEqual(trips.items[0]!.status, "succeeded")
          const detail = yield* record(id)
          assert.deepStrictEqual(detail.execution.payload, { id: "i2" })
          assert.isAbove(detail.attempts[0]!.completedAt, -1)
        })
      ))
  })
}

// Fixtures ------------------------------------------------------------------------------------

/** Whether an execution ended by interruption alone (v3's `Exit.isInterrupted`: a failure whose cause holds only interrupts). */
const isInterrupted = (exit: Exit.Exit<unknown, unknown>): boolean => Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)

/**
 * Whether the backoff timers before attempts 2 .. count + 1 are stored. A retry stores its wake time before it
 * sleeps, so a later `TestClock.adjust` fires it (or leaves it already due). Effect 4's `adjust` does not wait
 * for a run blocked on store I/O to sleep again, so one adjust cannot carry a chain of retries over SQL.
 */
const retryTimersStored = (executionId: string, count: number) =>
  Effect.map(WorkflowEngine.detail(executionId), (detail) => Option.isSome(detail) && detail.value.clocks.length >= count)

const counter = new Counter()
const gates = new Map<string, Deferred.Deferred<void>>()
const versions = new Map<string, number>()
const compensated = new Map<string, Array<string>>()
const keys: Array<string> = []
const queueStats: {
  active: number
  max: number
  gate: Deferred.Deferred<void> | undefined
  acquired: number
  released: number
} = {
  active: 0,
  max: 0,
  gate: undefined,
  acquired: 0,
  released: 0
}
const engineRef: { layer: Layer.Layer<WorkflowEngine.WorkflowEngine> | undefined } = { layer: undefined }

const step = (id: string, name: string, value: string) =>
  Activity.make({ name, success: Schema.String, execute: Effect.as(counter.bump(`${id}:${name}`), value) })

const Approval = DurableDeferred.make("approval", { success: Schema.Struct({ by: Schema.String }) })

const Onboard = Workflow.make({
  name: "Onboard",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const OnboardLive = Onboard.toLayer(({ id }) =>
  Effect.gen(function* () {
    const account = yield* step(id, "create-account", `acct-${id}`)
    const mail = yield* step(id, "send-email", `mail-${id}`)
    const gate = gates.get(id)
    if (gate !== undefined) {
      yield* Activity.make({
        name: "gate",
        execute: Effect.andThen(counter.bump(`${id}:gate`), Deferred.await(gate))
      })
    }
    const { by } = yield* DurableDeferred.await(Approval)
    const active = yield* step(id, "activate", `active-${id}`)
    return `${account}/${mail}/${by}/${active}`
  })
)

class Declined extends Schema.TaggedError<Declined>()("Declined", { attempt: Schema.Number, retryable: Schema.Boolean }) {}

const Flaky = Workflow.make({
  name: "Flaky",
  payload: { id: Schema.String, failures: Schema.Number, retryable: Schema.Boolean, times: Schema.Number },
  success: Schema.String,
  error: Declined,
  idempotencyKey: ({ id }) => id
})

const FlakyLive = Flaky.toLayer(({ id, failures, retryable, times }) =>
  Activity.retry(
    Activity.make({
      name: "charge",
      success: Schema.String,
      error: Declined,
      execute: Effect.gen(function* () {
        const attempt = yield* Activity.CurrentAttempt
        yield* counter.bump(`${id}:charge`)
        if (id === "t4") keys.push(yield* Activity.idempotencyKey("charge"))
        if (attempt <= failures) return yield* Effect.fail(new Declined({ attempt, retryable }))
        return `ok after ${attempt}`
      })
    }),
    { times, schedule: Schedule.exponential("1 second"), while: (e) => e.retryable }
  )
)

const Sleeper = Workflow.make({
  name: "Sleeper",
  payload: { id: Schema.String, duration: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const SleeperLive = Sleeper.toLayer(({ id, duration }) =>
  Effect.gen(function* () {
    yield* step(id, "before", "")
    yield* DurableClock.sleep({ name: "nap", duration: duration === "forever" ? Duration.infinity : (duration as Duration.Input) })
    yield* step(id, "after", "")
    return "slept"
  })
)

const Timeout = Workflow.make({
  name: "Timeout",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const TimeoutLive = Timeout.toLayer(() =>
  Effect.map(DurableDeferred.await(Approval, { timeout: "1 hour" }), (approval) =>
    Option.match(approval, { onNone: () => "timed out", onSome: ({ by }) => `approved by ${by}` })
  )
)

const Racer = Workflow.make({ name: "Racer", payload: { id: Schema.String }, success: Schema.String, idempotencyKey: ({ id }) => id })

const RacerLive = Racer.toLayer(({ id }) =>
  Effect.gen(function* () {
    const winner = yield* DurableDeferred.raceAll({
      name: "fastest",
      success: Schema.String,
      error: Schema.Never,
      effects: [
        step(id, "fast", "fast"),
        Effect.andThen(Effect.never, step(id, "slow", "slow"))
      ]
    })
    yield* DurableDeferred.await(Approval)
    return winner
  })
)

const Parallel = Workflow.make({
  name: "Parallel",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const ParallelLive = Parallel.toLayer(({ id }) =>
  Effect.gen(function* () {
    const [a, bc, approval] = yield* Effect.all(
      [
        step(id, "a", "a"),
        Effect.zipWith(step(id, "b", "b"), step(id, "c", "c"), (b, c) => `${b},${c}`),
        DurableDeferred.await(Approval)
      ],
      { concurrency: "unbounded" }
    )
    const d = yield* step(id, "d", "d")
    return `${a},${bc},${approval.by},${d}`
  })
)

class ResizeFailed extends Schema.TaggedError<ResizeFailed>()("ResizeFailed", { size: Schema.Number }) {}

const Thumbnails = DurableQueue.make({
  name: "thumbnails",
  payload: { size: Schema.Number },
  success: Schema.String,
  error: ResizeFailed,
  idempotencyKey: ({ size }) => String(size)
})

const Resize = Workflow.make({
  name: "Resize",
  payload: { id: Schema.String, size: Schema.Number },
  success: Schema.String,
  error: ResizeFailed,
  idempotencyKey: ({ id }) => id
})

const ResizeLive = Resize.toLayer(({ size }) => DurableQueue.process(Thumbnails, { size }))

const ResizeWorker = DurableQueue.worker(
  Thumbnails,
  ({ size }) =>
    Effect.gen(function* () {
      yield* Effect.acquireRelease(
        Effect.sync(() => queueStats.acquired++),
        () => Effect.sync(() => queueStats.released++)
      )
      queueStats.active++
      queueStats.max = Math.max(queueStats.max, queueStats.active)
      if (queueStats.gate !== undefined) yield* Deferred.await(queueStats.gate)
      queueStats.active--
      if (size < 0) return yield* Effect.fail(new ResizeFailed({ size }))
      return `thumb-${size}`
    }),
  { concurrency: 4 }
)

class TripFailed extends Schema.TaggedError<TripFailed>()("TripFailed", { step: Schema.String }) {}

const Trip = Workflow.make({
  name: "Trip",
  payload: { id: Schema.String, failAt: Schema.String },
  success: Schema.String,
  error: TripFailed,
  idempotencyKey: ({ id }) => id
})

const TripLive = Trip.toLayer(({ id, failAt }) =>
  Effect.gen(function* () {
    for (const item of ["flight", "hotel", "car"]) {
      yield* step(id, item, item).pipe(
        Workflow.withCompensation(() =>
          Effect.sync(() => {
            const list = compensated.get(id) ?? []
            compensated.set(id, [...list, item])
          })
        )
      )
    }
    if (failAt === "wait") yield* DurableDeferred.await(Approval)
    if (failAt === "hang") yield* Activity.make({ name: "hang", execute: Effect.andThen(counter.bump(`${id}:hang`), Effect.never) })
    yield* Activity.make({
      name: "pay",
      error: TripFailed,
      execute: Effect.andThen(
        counter.bump(`${id}:pay`),
        failAt === "pay" ? Effect.fail(new TripFailed({ step: "pay" })) : Effect.void
      )
    })
    return "booked"
  })
)

/** Reserves (undone by a compensation), then waits for the approval: nothing runs after the wait. */
const Booking = Workflow.make({
  name: "Booking",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const BookingLive = Booking.toLayer(({ id }) =>
  Effect.gen(function* () {
    yield* step(id, "reserve", "reserved").pipe(Workflow.withCompensation(() => counter.bump(`${id}:release`)))
    const { by } = yield* DurableDeferred.await(Approval)
    return `booked by ${by}`
  })
)

const Clash = Workflow.make({
  name: "Clash",
  payload: { id: Schema.String, shape: Schema.String },
  success: Schema.String,
  error: Schema.String,
  idempotencyKey: ({ id }) => id
})

/**
 * Fails with "boom" beside a branch that waits for the approval (all), or in a race whose other contender stops
 * itself by an interrupt (race). The failing branch takes a few scheduler turns and, once started, runs to its
 * end (as a finalizer or an uninterruptible region does), so the run stops to suspend while it fails.
 */
const ClashLive = Clash.toLayer(({ shape }) => {
  const boom = Effect.uninterruptible(Effect.andThen(Effect.repeat(Effect.yieldNow, { times: 4 }), Effect.fail("boom")))
  return shape === "all"
    ? Effect.map(Effect.all([DurableDeferred.await(Approval), boom], { concurrency: "unbounded" }), ([{ by }]) => by)
    : DurableDeferred.raceAll({
        name: "clash",
        success: Schema.String,
        error: Schema.String,
        effects: [boom, Effect.andThen(Effect.yieldNow, Effect.interrupt)]
      })
})

const Quitter = Workflow.make({
  name: "Quitter",
  payload: { id: Schema.String, times: Schema.Number },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

/** Its activity interrupts itself on its first attempt (nobody asked for an interrupt); `times` retries it. */
const QuitterLive = Quitter.toLayer(({ id, times }) => {
  const quit = Activity.make({
    name: "quit",
    success: Schema.String,
    execute: Effect.gen(function* () {
      const attempt = yield* Activity.CurrentAttempt
      yield* counter.bump(`${id}:quit`)
      if (attempt === 1) return yield* Effect.interrupt
      return `ok on attempt ${attempt}`
    })
  })
  return times === 0 ? quit : Activity.retry(quit, { times, schedule: Schedule.spaced("1 second") })
})

const Batch = Workflow.make({
  name: "Batch",
  payload: { id: Schema.String, items: Schema.Array(Schema.String), shape: Schema.String },
  success: Schema.Array(Schema.String),
  idempotencyKey: ({ id }) => id
})

/**
 * Processes each item under one activity name (loop; wait-between waits for the approval between items), or
 * yields one activity value twice (same-value).
 */
const BatchLive = Batch.toLayer(({ id, items, shape }) =>
  Effect.gen(function* () {
    const process = (item: string) =>
      Activity.make({ name: "process", success: Schema.String, execute: Effect.as(counter.bump(`${id}:process`), `done ${item}`) })
    if (shape === "same-value") {
      const once = process("once")
      return [yield* once, yield* once]
    }
    const out: Array<string> = []
    for (const [i, item] of items.entries()) {
      if (shape === "wait-between" && i > 0) yield* DurableDeferred.await(Approval)
      out.push(yield* process(item))
    }
    return out
  })
)

const Evolving = Workflow.make({
  name: "Evolving",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const EvolvingLive = Evolving.toLayer(({ id }) =>
  Effect.gen(function* () {
    if (versions.get(id) === 1) yield* step(id, "legacy-step", "")
    if (versions.get(id) === 3) {
      // Version 3 changed the result type of a step the journal already holds.
      yield* Activity.make({ name: "kept-step", success: Schema.Number, execute: Effect.succeed(0) })
    } else {
      yield* step(id, "kept-step", "")
    }
    yield* DurableDeferred.await(Approval)
    return "done"
  })
)

const Buggy = Workflow.make({ name: "Buggy", payload: { id: Schema.String }, success: Schema.String, idempotencyKey: ({ id }) => id })

const BuggyLive = Buggy.toLayer(({ id }) =>
  Effect.gen(function* () {
    yield* step(id, "prepare", "")
    return yield* Activity.make({
      name: "finish",
      success: Schema.String,
      execute: Effect.suspend(() => (versions.get(id) === 1 ? Effect.die(new Error("bug in finish")) : Effect.succeed("fixed")))
    })
  })
)

const Parent = Workflow.make({ name: "Parent", payload: { id: Schema.String }, success: Schema.String, idempotencyKey: ({ id }) => id })

const ParentLive = Parent.toLayer(({ id }) =>
  Effect.map(Effect.orDie(Onboard.execute({ id: `${id}-child` })), (result) => `parent of ${result}`)
)

/** Starts one child it never waits for and one it awaits. */
const Guardian = Workflow.make({ name: "Guardian", payload: { id: Schema.String }, success: Schema.String, idempotencyKey: ({ id }) => id })

const GuardianLive = Guardian.toLayer(({ id }) =>
  Effect.andThen(
    Effect.orDie(Onboard.execute({ id: `${id}-stray` }, { discard: true })),
    Effect.map(Effect.orDie(Onboard.execute({ id: `${id}-child` })), (result) => `guardian of ${result}`)
  )
)

/**
 * Awaits a child beside an activity that dies while `versions` says 1 (a bug, fixed by setting 2), once
 * the gate under its id (if any) opens.
 */
const Mentor = Workflow.make({ name: "Mentor", payload: { id: Schema.String }, success: Schema.String, idempotencyKey: ({ id }) => id })

const MentorLive = Mentor.toLayer(({ id }) =>
  Effect.map(
    Effect.all(
      [
        Effect.orDie(Onboard.execute({ id: `${id}-child` })),
        Activity.make({
          name: "check",
          success: Schema.String,
          execute: Effect.andThen(
            counter.bump(`${id}:check`),
            Effect.suspend(() =>
              Effect.andThen(
                gates.get(id) === undefined ? Effect.void : Deferred.await(gates.get(id)!),
                versions.get(id) === 1 ? Effect.die(new Error("a bug")) : Effect.succeed("checked")
              )
            )
          )
        })
      ],
      { concurrency: "unbounded" }
    ),
    ([child, check]) => `${child} + ${check}`
  )
)

const Unregistered = Workflow.make({ name: "Unregistered", payload: { id: Schema.String }, idempotencyKey: ({ id }) => id })

/** What the gated activity waits on: set by the test that runs `Gated`. */
let gate: Effect.Effect<void> = Effect.void

const Gated = Workflow.make({ name: "Gated", payload: { id: Schema.String }, idempotencyKey: ({ id }) => id })

const GatedLive = Gated.toLayer(({ id }) =>
  Activity.make({ name: "gated", execute: Effect.andThen(Effect.suspend(() => gate), counter.bump(`${id}:gated`)) })
)

// An activity whose success schema encodes to a bigint: a value no store can keep as JSON.
const Counted = DurableDeferred.make("counted", { success: Schema.BigInt })
const Ledger = Workflow.make({
  name: "Ledger",
  payload: {
    id: Schema.String,
    amount: Schema.Union([Schema.Number, Schema.BigInt]),
    ratio: Schema.Number,
    at: Schema.optional(Schema.Date)
  },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})
const LedgerLive = Ledger.toLayer(({ id }) =>
  Effect.as(
    Activity.make({ name: "total", success: Schema.BigInt, execute: Effect.as(counter.bump(`${id}:total`), 5n) }),
    "done"
  )
)

/** No payload: every call is the same execution. */
const Tick = Workflow.make({ name: "Tick", payload: Schema.Void, success: Schema.String, idempotencyKey: () => "tick" })
const TickLive = Tick.toLayer(() => Effect.map(DurableDeferred.await(Approval), ({ by }) => `tick by ${by}`))

/** What the finalizers of each `Scoped` execution saw, in order. */
const ends = new Map<string, Array<string>>()
const endsOf = (id: string): Array<string> => ends.get(id) ?? []

const Scoped = Workflow.make({
  name: "Scoped",
  payload: { id: Schema.String, mode: Schema.String },
  success: Schema.String,
  error: Schema.String,
  idempotencyKey: ({ id }) => id
})

const ScopedLive = Scoped.toLayer(({ id, mode }) =>
  Effect.gen(function* () {
    yield* Effect.acquireRelease(counter.bump(`${id}:acquire`), () => counter.bump(`${id}:release`))
    yield* Workflow.addFinalizer((exit) =>
      Effect.sync(() => {
        const seen = Exit.isSuccess(exit) ? "success" : Cause.hasInterruptsOnly(exit.cause) ? "interrupted" : "failure"
        ends.set(id, [...endsOf(id), seen])
      })
    )
    if (mode === "stuck") yield* Workflow.addFinalizer(() => Effect.andThen(counter.bump(`${id}:stuck`), Effect.never))
    if (mode === "fail") return yield* Effect.fail("boom")
    if (mode === "hang") {
      yield* Activity.make({ name: "hang", execute: Effect.andThen(counter.bump(`${id}:hang`), Effect.never) })
    }
    if (mode === "stuck") return "stuck"
    const { by } = yield* DurableDeferred.await(Approval)
    return `scoped by ${by}`
  })
)

/** Waits for an approval, then reports its first activity's attempt number. */
const Attempted = Workflow.make({
  name: "Attempted",
  payload: { id: Schema.String },
  success: Schema.Number,
  idempotencyKey: ({ id }) => id
})

const AttemptedLive = Attempted.toLayer(() =>
  Effect.andThen(
    DurableDeferred.await(Approval),
    Activity.make({ name: "first", success: Schema.Number, execute: Effect.gen(function* () {
      return yield* Activity.CurrentAttempt
    }) })
  )
)

/** Approves `Attempted` from the second attempt of an activity. */
const Nudger = Workflow.make({ name: "Nudger", payload: { id: Schema.String }, idempotencyKey: ({ id }) => id })

const NudgerLive = Nudger.toLayer(({ id }) =>
  Activity.retry(
    Activity.make({
      name: "nudge",
      execute: Effect.gen(function* () {
        if ((yield* Activity.CurrentAttempt) === 1) return yield* Effect.die("not yet")
        const executionId = yield* Attempted.executionId({ id })
        const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Attempted.name, executionId })
        yield* DurableDeferred.succeed(Approval, { token, value: { by: "nudger" } })
      }).pipe(Effect.orDie)
    }),
    { times: 1, schedule: Schedule.recurs(1) }
  )
)

const Fixtures = Layer.mergeAll(
  ScopedLive,
  AttemptedLive,
  NudgerLive,
  TickLive,
  LedgerLive,
  MentorLive,
  GuardianLive,
  OnboardLive,
  GatedLive,
  FlakyLive,
  SleeperLive,
  TimeoutLive,
  RacerLive,
  ParallelLive,
  ResizeLive,
  TripLive,
  BookingLive,
  ClashLive,
  QuitterLive,
  BatchLive,
  EvolvingLive,
  BuggyLive,
  ParentLive
)
