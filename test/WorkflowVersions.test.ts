/**
 * Workflow versions: an execution records the version it started on and runs on that version's body to its end;
 * a start runs the newest version registered; a worker claims only versions it registered (others wait for a worker
 * that has them, and the engine says so); bad versions and payloads the newest version refuses write nothing.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { PgEngine } from "@weft/engine-sql/pg"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import {
  Activity,
  DurableDeferred,
  MemoryStore,
  Workflow,
  WorkflowEngine,
  WorkflowError,
  WorkflowShape,
  WorkflowStore
} from "@weft/workflow"
import { testDatabase } from "./pg.js"
import { record, suspended, waitUntil } from "./util.js"

const Go = DurableDeferred.make("go")

const payload = { id: Schema.String }
const key = ({ id }: { readonly id: string }) => id

const OrderV1 = Workflow.make({ name: "Order", payload, success: Schema.String, idempotencyKey: key })
const OrderV2 = Workflow.make({ name: "Order", version: 2, payload, success: Schema.String, idempotencyKey: key })

/** Version `tag`'s body: its own first step, then a wait, then a result naming the version that ran. */
const body = (tag: string, first: string) => ({ id }: { readonly id: string }) =>
  Effect.gen(function* () {
    yield* Activity.make({ name: first, execute: Effect.void })
    yield* DurableDeferred.await(Go)
    return `${tag}:${id}`
  })

const V1Live = OrderV1.toLayer(body("v1", "reserve"))
const V2Live = OrderV2.toLayer(body("v2", "reserve-stock"))

const go = (id: string) =>
  Effect.flatMap(DurableDeferred.tokenFor(Go, { workflow: "Order", executionId: id }), (token) =>
    DurableDeferred.succeed(Go, { token, value: undefined }))

const steps = (id: string) =>
  Effect.map(record(id), (d) => d.attempts.map((a) => a.name).filter((n) => !n.startsWith("@weft/")))

const ended = (id: string) =>
  Effect.map(WorkflowEngine.get(id), (r) => r.status === "succeeded" || r.status === "failed")

/** Warnings logged while `body` runs. */
const withWarnings = <A, E, R>(body: (warnings: () => ReadonlyArray<string>) => Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const seen: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => {
      if (logLevel === "Warn") seen.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
    })
    return body(() => [...seen]).pipe(Effect.provide(Logger.layer([logger])))
  })

describe("Workflow versions", () => {
  it("a version is a whole number from 1; anything else is refused when the workflow is defined, naming it", () => {
    for (const version of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 31, "2" as unknown as number]) {
      assert.throws(
        () => Workflow.make({ name: "Bad", version, payload, idempotencyKey: key }),
        /Workflow "Bad": version must be a whole number from 1 to 2147483647/
      )
    }
    assert.strictEqual(OrderV1.version, 1)
    assert.strictEqual(OrderV2.version, 2)
  })

  it.live("an execution in flight keeps its version's body across a deploy; new starts take the newest version", () =>
    Effect.gen(function* () {
      const old = yield* OrderV1.execute({ id: "old" }, { discard: true })
      yield* suspended(OrderV1, old)
      assert.strictEqual((yield* WorkflowEngine.get(old)).version, 1)

      // The deploy: version 2 is registered beside version 1.
      yield* Layer.build(V2Live)
      // Started through version 1's definition, it still runs the newest: version 2.
      const fresh = yield* OrderV1.execute({ id: "fresh" }, { discard: true })
      yield* suspended(OrderV1, fresh)
      assert.strictEqual((yield* WorkflowEngine.get(fresh)).version, 2)
      assert.deepStrictEqual(
        (yield* WorkflowEngine.versions()).map(({ version, suspended, registered }) => [version, suspended, registered]),
        [[1, 1, true], [2, 1, true]]
      )
      assert.deepStrictEqual((yield* WorkflowEngine.list({ version: 2 })).items.map((r) => r.executionId), [fresh])

      yield* go(old)
      yield* go(fresh)
      yield* waitUntil(Effect.zipWith(ended(old), ended(fresh), (a, b) => a && b), "both ended")
      assert.deepStrictEqual(yield* steps(old), ["reserve"])
      assert.deepStrictEqual(yield* steps(fresh), ["reserve-stock"])
      // The same payload joins: an execute through either definition gets the stored result.
      assert.strictEqual(yield* OrderV2.execute({ id: "old" }), "v1:old")
      assert.strictEqual(yield* OrderV1.execute({ id: "fresh" }), "v2:fresh")
      assert.deepStrictEqual(yield* WorkflowEngine.versions(), [])
    }).pipe(Effect.scoped, Effect.provide(Layer.provideMerge(V1Live, WorkflowEngine.layerMemory))))

  it.live("registration order does not matter: the newest version is the highest", () =>
    Effect.gen(function* () {
      const id = yield* OrderV1.execute({ id: "n" }, { discard: true })
      yield* suspended(OrderV1, id)
      assert.strictEqual((yield* WorkflowEngine.get(id)).version, 2)
    }).pipe(Effect.provide(Layer.provideMerge(Layer.mergeAll(V2Live, V1Live), WorkflowEngine.layerMemory))))

  it.live("a payload the newest version's schema refuses is a typed error naming the version and field; nothing is written", () => {
    const OrderV3 = Workflow.make({
      name: "Order",
      version: 3,
      payload: { id: Schema.String, region: Schema.String },
      success: Schema.String,
      idempotencyKey: key
    })
    const V3Live = OrderV3.toLayer(({ id, region }) => Effect.succeed(`v3:${id}:${region}`))
    return Effect.gen(function* () {
      const exit = yield* Effect.exit(OrderV1.execute({ id: "x" }))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? Option.getOrUndefined(Exit.findErrorOption(exit)) : undefined
      assert.instanceOf(error, WorkflowError.WorkflowError)
      const failure = error as WorkflowError.WorkflowError
      assert.strictEqual(failure.reason, "InvalidPayload")
      assert.strictEqual(failure.workflow, "Order")
      assert.strictEqual(failure.field, "region")
      assert.match(failure.message, /for version 3, the newest registered \(the caller's definition is version 1\)/)
      assert.deepStrictEqual((yield* WorkflowEngine.list()).items, [])
      // Through version 3's own definition it starts.
      assert.strictEqual(yield* OrderV3.execute({ id: "x", region: "eu" }), "v3:x:eu")
    }).pipe(Effect.provide(Layer.provideMerge(Layer.mergeAll(V1Live, V3Live), WorkflowEngine.layerMemory)))
  })

  it.live("a worker without an execution's version leaves it, says so, and a worker with it runs it on that version", () =>
    withWarnings((warnings) =>
      Effect.gen(function* () {
        const store = MemoryStore.make()
        const onStore = <A, E>(layer: Layer.Layer<A, E, WorkflowEngine.WorkflowEngine>) =>
          Layer.build(
            Layer.provideMerge(layer, WorkflowEngine.layer({ noWorkerWarningMs: 50 })).pipe(
              Layer.provide(Layer.succeed(WorkflowStore.WorkflowStore, store))
            )
          )
        // Yesterday's worker (version 1 only) starts it; it waits for a signal, and the worker stops.
        const old = yield* Effect.scoped(
          Effect.gen(function* () {
            const context = yield* onStore(V1Live)
            return yield* Effect.gen(function* () {
              const id = yield* OrderV1.execute({ id: "o" }, { discard: true })
              yield* suspended(OrderV1, id)
              return id
            }).pipe(Effect.provide(context))
          })
        )
        // Today's worker has only version 2: the signal wakes the execution, and it is not claimed here.
        const today = yield* onStore(V2Live)
        yield* Effect.gen(function* () {
          yield* waitUntil(Effect.sync(() => warnings().some((w) => w.includes("on version 1 (0 running, 1 suspended)"))), "the warning")
          assert.match(warnings().find((w) => w.includes("version 1"))!, /which this engine does not register \(it runs version 2\)/)
          const fresh = yield* OrderV2.execute({ id: "t" }, { discard: true })
          yield* go(old)
          yield* go(fresh)
          yield* waitUntil(ended(fresh), "today's execution ended")
          // The old one was woken, never claimed: still running, its journal as the old worker left it.
          const detail = yield* record(old)
          assert.strictEqual(detail.execution.status, "running")
          assert.deepStrictEqual(detail.attempts.map((a) => a.name), ["reserve"])
          assert.deepStrictEqual(
            (yield* WorkflowEngine.versions()).map(({ version, running, registered }) => [version, running, registered]),
            [[1, 1, false]]
          )
          // A caller here that joins it is told, once it has waited, why nobody here answers.
          const joined = yield* Effect.forkChild(OrderV2.execute({ id: "o" }))
          yield* waitUntil(Effect.sync(() => warnings().some((w) => w.includes(`execution ${old} of workflow "Order" has waited`))), "the caller's warning")
          assert.match(warnings().find((w) => w.includes(`execution ${old}`))!, /It runs on version 1, which this engine does not register \(it registers version 2\)/)
          yield* Fiber.interrupt(joined)
        }).pipe(Effect.provide(today))
        // A worker with both versions finishes it on version 1's body.
        const both = yield* onStore(Layer.mergeAll(V1Live, V2Live))
        yield* Effect.gen(function* () {
          yield* waitUntil(ended(old), "the old execution ended")
          assert.strictEqual(yield* OrderV2.execute({ id: "o" }), "v1:o")
          assert.deepStrictEqual(yield* steps(old), ["reserve"])
        }).pipe(Effect.provide(both))
      })
    ).pipe(Effect.scoped))

  it.live("restart keeps the source's version, or runs on the version it is given", () =>
    Effect.gen(function* () {
      const id = yield* OrderV1.execute({ id: "r" }, { discard: true })
      yield* suspended(OrderV1, id)
      yield* go(id)
      yield* waitUntil(ended(id), "ended")
      yield* Layer.build(V2Live)
      const same = yield* WorkflowEngine.restart(id)
      const onTwo = yield* WorkflowEngine.restart(id, { version: 2 })
      assert.notStrictEqual(same.executionId, onTwo.executionId)
      assert.strictEqual((yield* WorkflowEngine.get(same.executionId)).version, 1)
      assert.strictEqual((yield* WorkflowEngine.get(onTwo.executionId)).version, 2)
      for (const restarted of [same.executionId, onTwo.executionId]) {
        yield* suspended(OrderV1, restarted)
        yield* go(restarted)
        yield* waitUntil(ended(restarted), "restart ended")
      }
      assert.deepStrictEqual(yield* steps(same.executionId), ["reserve"])
      assert.deepStrictEqual(yield* steps(onTwo.executionId), ["reserve-stock"])
      const bad = yield* Effect.flip(WorkflowEngine.restart(id, { version: 0 }))
      assert.strictEqual(bad.reason, "InvalidPayload")
      assert.strictEqual(bad.field, "version")
      // A worker of the workflow refuses a version it does not register, rather than leave it waiting.
      const unknown = yield* Effect.flip(WorkflowEngine.restart(id, { version: 7 }))
      assert.strictEqual(unknown.reason, "InvalidPayload")
      assert.match(unknown.message, /on version 7: this engine registers version 1, 2 of it/)
      assert.deepStrictEqual((yield* WorkflowEngine.list({ version: 7 })).items, [])
    }).pipe(Effect.scoped, Effect.provide(Layer.provideMerge(V1Live, WorkflowEngine.layerMemory))))
})

describe("Workflow versions, described and keyed", () => {
  it.live("a restart on another version takes that version's deadline; a deadline given at the start is kept", () => {
    const Hour = Workflow.make({ name: "Timed", payload, idempotencyKey: key, deadline: "1 hour" })
    const Day = Workflow.make({ name: "Timed", version: 2, payload, idempotencyKey: key, deadline: "1 day" })
    const bodies = Hour.toLayer(() => DurableDeferred.await(Go))
    const deadlineOf = (id: string) =>
      Effect.map(record(id), (d) => {
        const clock = d.clocks.find((c) => c.name === "@weft/deadline")!
        return clock.wakeAt - d.execution.createdAt
      })
    return Effect.gen(function* () {
      // Started while only version 1 ran: its workflow's hour, and one with its own ten minutes.
      const plain = yield* Hour.execute({ id: "plain" }, { discard: true })
      const own = yield* Hour.execute({ id: "own" }, { discard: true, deadline: "10 minutes" })
      for (const id of [plain, own]) {
        yield* suspended(Hour, id)
        yield* Hour.interrupt(id)
        yield* waitUntil(Effect.map(WorkflowEngine.get(id), (r) => r.status === "interrupted"), "interrupted")
      }
      yield* Layer.build(Day.toLayer(() => DurableDeferred.await(Go)))
      const plainOnTwo = (yield* WorkflowEngine.restart(plain, { version: 2 })).executionId
      const ownOnTwo = (yield* WorkflowEngine.restart(own, { version: 2 })).executionId
      const plainOnOne = (yield* WorkflowEngine.restart(plain)).executionId
      for (const id of [plainOnTwo, ownOnTwo, plainOnOne]) yield* suspended(Hour, id)
      assert.strictEqual(yield* deadlineOf(plainOnTwo), 86_400_000)
      assert.strictEqual(yield* deadlineOf(ownOnTwo), 600_000)
      assert.strictEqual(yield* deadlineOf(plainOnOne), 3_600_000)
    }).pipe(Effect.scoped, Effect.provide(Layer.provideMerge(bodies, WorkflowEngine.layerMemory)))
  })

  it.live("describe describes the version of the definition it is given, not the newest", () =>
    Effect.gen(function* () {
      const one = yield* WorkflowShape.describe(OrderV1, { id: "d" }, { deferreds: [Go] })
      const two = yield* WorkflowShape.describe(OrderV2, { id: "d" }, { deferreds: [Go] })
      const activities = (shape: WorkflowShape.Shape) => shape.steps.flatMap((s) => (s._tag === "Activity" ? [s.name] : []))
      assert.deepStrictEqual(activities(one), ["reserve"])
      assert.deepStrictEqual(activities(two), ["reserve-stock"])
      const OrderV9 = Workflow.make({ name: "Order", version: 9, payload, success: Schema.String, idempotencyKey: key })
      const missing = yield* Effect.flip(WorkflowShape.describe(OrderV9, { id: "d" }))
      assert.strictEqual(missing.reason, "NotRegistered")
      assert.match(missing.message, /version 9 of workflow "Order": the engine in context registers only version 1, 2/)
    }).pipe(Effect.provide(Layer.provideMerge(Layer.mergeAll(V1Live, V2Live), WorkflowEngine.layerMemory))))

  it.live("the execution id comes from the key of the version that runs, whichever definition starts it", () => {
    // Version 2 keys by the id in upper case (a change of key function: every version should keep the same one).
    const Upper = Workflow.make({ name: "Upper", payload, success: Schema.String, idempotencyKey: key })
    const UpperV2 = Workflow.make({
      name: "Upper",
      version: 2,
      payload,
      success: Schema.String,
      idempotencyKey: ({ id }) => id.toUpperCase()
    })
    // A parent that starts it as a discarded child, through version 1's definition, and returns the child's id.
    const Parent = Workflow.make({ name: "UpperParent", payload, success: Schema.String, idempotencyKey: key })
    const layers = Layer.mergeAll(
      Upper.toLayer(({ id }) => Effect.succeed(`v1:${id}`)),
      UpperV2.toLayer(({ id }) => Effect.succeed(`v2:${id}`)),
      Parent.toLayer(({ id }) => Effect.orDie(Upper.execute({ id }, { discard: true })))
    )
    return Effect.gen(function* () {
      const one = yield* Upper.execute({ id: "k" }, { discard: true })
      const two = yield* UpperV2.execute({ id: "k" }, { discard: true })
      assert.strictEqual(one, two)
      assert.strictEqual((yield* WorkflowEngine.get(one)).idempotencyKey, "K")
      // The child's id, as its parent journals and returns it, is the execution's.
      const child = yield* Parent.execute({ id: "c" })
      assert.strictEqual((yield* WorkflowEngine.get(child)).idempotencyKey, "C")
    }).pipe(Effect.provide(Layer.provideMerge(layers, WorkflowEngine.layerMemory)))
  })
})

/** Two workers on one database at once: each claims only the versions it registered. */
const twoWorkers = (engine: (layer: Layer.Layer<never, never, WorkflowEngine.WorkflowEngine>) => Effect.Effect<
  Layer.Layer<WorkflowEngine.WorkflowEngine, unknown>,
  unknown,
  Scope.Scope
>) =>
  Effect.gen(function* () {
    const workerV1 = yield* Layer.build(yield* engine(V1Live))
    const workerV2 = yield* Layer.build(yield* engine(V2Live))
    // Each starts executions; workerV2's are version 2, workerV1's version 1 (each registers one).
    const ones = yield* Effect.forEach(["a", "b", "c"], (id) => OrderV1.execute({ id: `one-${id}` }, { discard: true })).pipe(
      Effect.provide(workerV1)
    )
    const twos = yield* Effect.forEach(["a", "b", "c"], (id) => OrderV2.execute({ id: `two-${id}` }, { discard: true })).pipe(
      Effect.provide(workerV2)
    )
    // Every signal goes through the version 2 worker: the wakes reach both workers, and only the right one runs each.
    yield* Effect.forEach([...ones, ...twos], (id) =>
      Effect.andThen(waitUntil(Effect.map(WorkflowEngine.get(id), (r) => r.status === "suspended"), `${id} suspended`), go(id))
    ).pipe(Effect.provide(workerV2))
    yield* Effect.forEach([...ones, ...twos], (id) => waitUntil(ended(id), `${id} ended`)).pipe(Effect.provide(workerV2))
    for (const id of ones) assert.match(JSON.stringify((yield* WorkflowEngine.get(id).pipe(Effect.provide(workerV2))).result), /v1:one/)
    for (const id of twos) assert.match(JSON.stringify((yield* WorkflowEngine.get(id).pipe(Effect.provide(workerV1))).result), /v2:two/)
    for (const id of ones) assert.deepStrictEqual(yield* steps(id).pipe(Effect.provide(workerV1)), ["reserve"])
    for (const id of twos) assert.deepStrictEqual(yield* steps(id).pipe(Effect.provide(workerV1)), ["reserve-stock"])
  })

describe("Workflow versions across workers", () => {
  it.live("on PostgreSQL, two workers of different versions each run only their own", () =>
    Effect.gen(function* () {
      const url = yield* testDatabase()
      yield* twoWorkers((registered) =>
        Effect.succeed(Layer.provideMerge(registered, PgEngine.layer({ url, pollIntervalMs: 100, heartbeatMs: 200 })))
      )
    }).pipe(Effect.scoped), { timeout: 60_000 })

  it.live("on SQLite, two engines of different versions on one file each run only their own", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "weft-versions-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const filename = join(dir, "weft.db")
      yield* twoWorkers((registered) =>
        Effect.succeed(Layer.provideMerge(registered, SqliteEngine.layer({ filename, pollIntervalMs: 50, heartbeatMs: 200 })))
      )
    }).pipe(Effect.scoped), { timeout: 60_000 })
})
