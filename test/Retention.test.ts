/**
 * Retention: `WorkflowEngine.purge` and the engine's `retention` option delete ended executions older than a bound,
 * counted by status; a purged key starts anew; a child outlives its purged parent; a waiter's watch never re-creates
 * a purged execution; on PostgreSQL one purger at a time, and two never delete the same execution.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { TestClock } from "effect/testing"
import pg from "pg"
import { SqlStore } from "@weft/engine-sql"
import { PgDriver } from "@weft/engine-sql/pg"
import {
  DurableDeferred,
  DurableQueue,
  MemoryStore,
  Workflow,
  WorkflowEngine,
  WorkflowError,
  WorkflowMetrics,
  WorkflowStore
} from "@weft/workflow"
import * as Engine from "../packages/workflow/src/internal/engine.js"
import * as Results from "../packages/workflow/src/internal/results.js"
import * as Retention from "../packages/workflow/src/internal/retention.js"
import * as Signals from "../packages/workflow/src/internal/signals.js"
import * as Starts from "../packages/workflow/src/internal/starts.js"
import { testDatabase } from "./pg.js"
import { Counter, hasStatus, suspended, waitUntil } from "./util.js"

const engineOf = (context: Context.Context<WorkflowEngine.WorkflowEngine>) =>
  Engine.of(Context.get(context, WorkflowEngine.WorkflowEngine))

const purgedCount = (status: WorkflowStore.TerminalStatus) =>
  Effect.map(Metric.value(WorkflowMetrics.purgedWith(status)), (state) => state.count)

const exists = (executionId: string) => Effect.map(WorkflowEngine.detail(executionId), Option.isSome)

describe("WorkflowEngine.purge", () => {
  it.effect("deletes only ended executions that ended before the bound, counted by status; never a live one", () =>
    Effect.gen(function* () {
      const okBefore = yield* purgedCount("succeeded")
      const failedBefore = yield* purgedCount("failed")
      yield* Greet.execute({ name: "old" })
      const old = yield* Greet.executionId({ name: "old" })
      yield* Effect.exit(Refuse.execute({ id: "old" }))
      const refused = yield* Refuse.executionId({ id: "old" })
      const parked = yield* Parked.execute({ id: "p" }, { discard: true })
      yield* suspended(Parked, parked)
      yield* TestClock.adjust("31 days")
      yield* Greet.execute({ name: "recent" })
      const recent = yield* Greet.executionId({ name: "recent" })

      assert.strictEqual(yield* WorkflowEngine.purge({ olderThan: "30 days", status: ["failed"] }), 1)
      assert.isFalse(yield* exists(refused))
      assert.isTrue(yield* exists(old))
      assert.strictEqual(yield* WorkflowEngine.purge({ olderThan: "30 days" }), 1)
      assert.isFalse(yield* exists(old))
      assert.isTrue(yield* exists(recent))
      assert.isTrue(yield* hasStatus(parked, "suspended"))
      // The parked one has waited far longer than any bound: it is live, so it stays.
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* WorkflowEngine.purge({ olderThan: 0 }), 1)
      assert.isTrue(yield* hasStatus(parked, "suspended"))
      assert.deepStrictEqual((yield* WorkflowEngine.list()).items.map((r) => r.executionId), [parked])

      assert.strictEqual((yield* purgedCount("succeeded")) - okBefore, 2)
      assert.strictEqual((yield* purgedCount("failed")) - failedBefore, 1)
    }).pipe(Effect.provide(Layer.provideMerge(Bodies, WorkflowEngine.layerMemory))))

  it.effect("after a purge the same idempotency key starts a new execution, whose body runs again", () =>
    Effect.gen(function* () {
      const counter = new Counter()
      const engine = yield* Layer.build(Layer.provideMerge(greetLive(counter), WorkflowEngine.layerMemory))
      const id = yield* Greet.executionId({ name: "ada" })
      assert.strictEqual(yield* Greet.execute({ name: "ada" }).pipe(Effect.provide(engine)), "hello ada")
      assert.strictEqual(yield* Greet.execute({ name: "ada" }).pipe(Effect.provide(engine)), "hello ada")
      assert.strictEqual(counter.get("ada"), 1)
      const first = yield* WorkflowEngine.get(id).pipe(Effect.provide(engine))

      yield* TestClock.adjust("2 days")
      assert.strictEqual(yield* WorkflowEngine.purge({ olderThan: "1 day" }).pipe(Effect.provide(engine)), 1)
      assert.strictEqual(yield* Greet.execute({ name: "ada" }).pipe(Effect.provide(engine)), "hello ada")
      assert.strictEqual(counter.get("ada"), 2)
      const second = yield* WorkflowEngine.get(id).pipe(Effect.provide(engine))
      assert.isAbove(second.createdAt, first.createdAt)
    }))

  it.effect("bad input is an InvalidPayload naming the field, and nothing is deleted", () =>
    Effect.gen(function* () {
      yield* Greet.execute({ name: "kept" })
      yield* TestClock.adjust("10 days")
      const cases: ReadonlyArray<readonly [WorkflowEngine.PurgeOptions, string]> = [
        [{ olderThan: -1 }, "olderThan"],
        [{ olderThan: "-1 days" }, "olderThan"],
        [{ olderThan: "Infinity" }, "olderThan"],
        [{ olderThan: "1 day", status: ["running" as any] }, "status"],
        [{ olderThan: "1 day", status: ["succeeded", "suspended" as any] }, "status"],
        [{ olderThan: "1 day", status: [] }, "status"]
      ]
      for (const [options, field] of cases) {
        const error = yield* Effect.flip(WorkflowEngine.purge(options))
        assert.instanceOf(error, WorkflowError.WorkflowError)
        assert.strictEqual(error.reason, "InvalidPayload")
        assert.strictEqual(error.field, field, JSON.stringify(options))
      }
      assert.strictEqual((yield* WorkflowEngine.list()).items.length, 1)
    }).pipe(Effect.provide(Layer.provideMerge(Bodies, WorkflowEngine.layerMemory))))

  it.effect("deletes in batches until none is left", () =>
    Effect.gen(function* () {
      const calls: Array<number> = []
      const inner = MemoryStore.make()
      const store: WorkflowStore.Service = {
        ...inner,
        purge: (filter) => Effect.tap(inner.purge!(filter), (purged) => Effect.sync(() => void calls.push(purged.length)))
      }
      const engine = yield* Layer.build(
        Layer.provideMerge(Bodies, WorkflowEngine.layer()).pipe(Layer.provide(Layer.succeed(WorkflowStore.WorkflowStore, store)))
      )
      for (let i = 0; i < 7; i++) yield* Greet.execute({ name: `n${i}` }).pipe(Effect.provide(engine))
      yield* TestClock.adjust("1 second")
      const deleted = yield* Retention.purge(engineOf(engine), { olderThan: 0 }, 3)
      assert.strictEqual(deleted, 7)
      assert.deepStrictEqual(calls, [3, 3, 1])
    }))
})

describe("the retention option", () => {
  it.effect("purges at start and then every period by the Clock; a failed round is logged and the next one purges", () =>
    Effect.gen(function* () {
      const inner = MemoryStore.make()
      let failNext = false
      let rounds = 0
      const store: WorkflowStore.Service = {
        ...inner,
        purge: (filter) =>
          Effect.suspend(() => {
            rounds++
            if (failNext) {
              failNext = false
              return Effect.fail(new WorkflowError.WorkflowError({ reason: "StoreUnavailable", message: "down" }))
            }
            return inner.purge!(filter)
          })
      }
      const warnings: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        if (logLevel === "Warn") warnings.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
      })
      const engine = yield* Layer.build(
        Layer.provideMerge(Bodies, WorkflowEngine.layer({ retention: { olderThan: "1 day", every: "1 hour" } })).pipe(
          Layer.provide(Layer.succeed(WorkflowStore.WorkflowStore, store)),
          Layer.provide(Logger.layer([logger]))
        )
      )
      yield* waitUntil(Effect.sync(() => rounds === 1), "the round at start")
      yield* Greet.execute({ name: "a" }).pipe(Effect.provide(engine))
      const id = yield* Greet.executionId({ name: "a" })
      // A day later the next round fails: logged, and the engine goes on.
      failNext = true
      yield* TestClock.adjust("1 day")
      yield* waitUntil(Effect.sync(() => warnings.some((w) => w.includes("periodic purge failed"))), "the failed round logged")
      assert.isTrue(yield* exists(id).pipe(Effect.provide(engine)))
      yield* TestClock.adjust("1 hour")
      yield* waitUntil(Effect.map(exists(id).pipe(Effect.provide(engine)), (e) => !e), "purged by the next round")
      // The engine still runs workflows.
      assert.strictEqual(yield* Greet.execute({ name: "b" }).pipe(Effect.provide(engine)), "hello b")
    }))

  it.effect("a bad option is refused when the engine is built, naming the option", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        Layer.build(WorkflowEngine.layerMemoryWith({ retention: { olderThan: "1 day", every: 0 } }))
      )
      assert.isTrue(exit._tag === "Failure")
      assert.match(String(exit._tag === "Failure" ? exit.cause : ""), /retention\.every/)
    }))
})

describe("purge and the runtime", () => {
  it.effect("a child whose parent was purged ends normally; its report to the missing parent is logged, not retried", () =>
    Effect.gen(function* () {
      const infos: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        if (logLevel === "Info") infos.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
      })
      const counted = MemoryStore.make()
      let signalsToParent = 0
      const store: WorkflowStore.Service = {
        ...counted,
        completeDeferred: (executionId, deferred) =>
          Effect.suspend(() => {
            if (executionId === parentId) signalsToParent++
            return counted.completeDeferred(executionId, deferred)
          })
      }
      let parentId = ""
      const engine = yield* Layer.build(
        Layer.provideMerge(Bodies, WorkflowEngine.layer()).pipe(
          Layer.provide(Layer.succeed(WorkflowStore.WorkflowStore, store)),
          Layer.provide(Logger.layer([logger]))
        )
      )
      const live = engineOf(engine)
      // A parent that failed while its child runs (a defect leaves its children running).
      yield* Effect.exit(Refuse.execute({ id: "parent" }).pipe(Effect.provide(engine)))
      parentId = yield* Refuse.executionId({ id: "parent" })
      const { executionId: childId } = yield* Starts.start(live, live.registry.get(Parked.name)!.def, { id: "child" }, {
        parent: { executionId: parentId, deferred: "child-result" }
      })
      yield* Effect.provide(suspended(Parked, childId), engine)

      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* WorkflowEngine.purge({ olderThan: 0 }).pipe(Effect.provide(engine)), 1)
      const token = yield* DurableDeferred.tokenFor(Go, { workflow: Parked.name, executionId: childId }).pipe(
        Effect.provide(engine)
      )
      yield* DurableDeferred.succeed(Go, { token, value: "on its own" }).pipe(Effect.provide(engine))
      yield* Effect.provide(waitUntil(hasStatus(childId, "succeeded"), "the child succeeded"), engine)
      yield* waitUntil(Effect.sync(() => live.activeRuns() === 0), "no run left")
      assert.strictEqual(signalsToParent, 1)
      assert.isTrue(infos.some((m) => m.includes(childId) && m.includes("no longer exists")))
      assert.isTrue(Option.isNone(yield* store.get(parentId)))
      // Time passes: nobody tries the report again.
      yield* TestClock.adjust("1 hour")
      assert.strictEqual(signalsToParent, 1)
    }))

  it.effect("a queue item whose execution was purged is handled once and removed, not taken again", () =>
    Effect.gen(function* () {
      let handled = 0
      const acked: Array<boolean> = []
      const inner = MemoryStore.make()
      const store: WorkflowStore.Service = {
        ...inner,
        ackQueueItem: (queue, itemId, owner) =>
          Effect.tap(inner.ackQueueItem(queue, itemId, owner), (ok) => Effect.sync(() => void acked.push(ok)))
      }
      const base = yield* Layer.build(
        Layer.provideMerge(Bodies, WorkflowEngine.layer()).pipe(Layer.provide(Layer.succeed(WorkflowStore.WorkflowStore, store)))
      )
      const gone = "0".repeat(32)
      yield* store.enqueue({
        queue: Mail.name,
        itemId: `${gone}/k`,
        payload: { to: "ada" },
        token: Signals.sign(engineOf(base), "Gone", gone, "queue-result"),
        enqueuedAt: 0
      })
      yield* Layer.build(
        DurableQueue.worker(Mail, () => Effect.sync(() => void handled++)).pipe(Layer.provide(Layer.succeedContext(base)))
      )
      yield* waitUntil(Effect.sync(() => acked.length === 1), "the item acked")
      assert.deepStrictEqual(acked, [true])
      assert.strictEqual(handled, 1)
      assert.deepStrictEqual(yield* store.claimQueueItems(Mail.name, "someone-else", 10, Number.MAX_SAFE_INTEGER), [])
      assert.isTrue(Option.isNone(yield* store.get(gone)))
    }))

  for (const backend of ["memory", "postgres"] as const) {
    it.effect(`a waiter's watch after a purge never brings the execution back (${backend})`, () =>
      Effect.gen(function* () {
        const layer = backend === "memory"
          ? WorkflowEngine.layerMemory
          : WorkflowEngine.layer().pipe(Layer.provideMerge(pgStore(yield* testDatabase())))
        const engine = yield* Layer.build(Layer.provideMerge(Bodies, layer))
        const live = engineOf(engine)
        yield* Greet.execute({ name: "w" }).pipe(Effect.provide(engine))
        const id = yield* Greet.executionId({ name: "w" })
        const record = yield* WorkflowEngine.get(id).pipe(Effect.provide(engine))
        yield* TestClock.adjust("1 second")
        assert.strictEqual(yield* WorkflowEngine.purge({ olderThan: 0 }).pipe(Effect.provide(engine)), 1)

        // A waiter that read the record before the purge now marks it watched: nothing is created.
        const waiter = live.results.join(id)
        yield* Results.watchElsewhere(live, { ...record, status: "running", result: undefined })
        assert.isTrue(Option.isNone(yield* WorkflowEngine.detail(id).pipe(Effect.provide(engine))))
        const error = yield* Effect.flip(Deferred.await(waiter.done))
        assert.strictEqual(error.reason, "ExecutionNotFound")
      }))
  }
})

const pgStore = (url: string) =>
  SqlStore.layer({ leaseMs: 5_000, leaseClock: "caller" }).pipe(Layer.provide(PgDriver.layer({ url, maxConnections: 4 })))

describe("purge on PostgreSQL", () => {
  it.effect("deletes nothing while another worker purges, and two purgers never delete one execution twice", () =>
    Effect.gen(function* () {
      const url = yield* testDatabase()
      const a = yield* Layer.build(pgStore(url))
      const b = yield* Layer.build(pgStore(url))
      const storeA = Context.get(a, WorkflowStore.WorkflowStore)
      const storeB = Context.get(b, WorkflowStore.WorkflowStore)
      const T = 1_700_000_000_000
      const ids = Array.from({ length: 40 }, (_, i) => `e${String(i).padStart(2, "0")}`)
      for (const id of ids) {
        const { fence } = yield* storeA.create({ executionId: id, workflow: "W", payload: {}, parent: undefined, at: T, claimFor: "w" })
        yield* storeA.complete(id, fence!, { status: "succeeded", result: { _tag: "Success", value: 1 }, at: T })
      }
      const filter = { before: T + 1, statuses: ["succeeded"] as const, limit: 5 }

      // Another connection holds the purge lock: a purge meanwhile deletes nothing.
      const other = new pg.Client({ connectionString: url })
      yield* Effect.promise(() => other.connect())
      yield* Effect.promise(() => other.query("BEGIN"))
      yield* Effect.promise(() => other.query("SELECT pg_advisory_xact_lock(hashtext('weft'), hashtext('purge'))"))
      assert.deepStrictEqual(yield* storeA.purge!(filter), [])
      yield* Effect.promise(() => other.query("COMMIT"))
      yield* Effect.promise(() => other.end())

      const drain = (store: WorkflowStore.Service) =>
        Effect.gen(function* () {
          const deleted: Array<string> = []
          for (;;) {
            const batch = yield* store.purge!(filter)
            deleted.push(...batch.map((p) => p.executionId))
            if (batch.length < filter.limit) return deleted
          }
        })
      const [byA, byB] = yield* Effect.all([drain(storeA), drain(storeB)], { concurrency: 2 })
      const all = [...byA, ...byB].sort()
      assert.deepStrictEqual(all, ids)
      assert.deepStrictEqual((yield* storeA.list({})).items, [])
    }))
})

const Greet = Workflow.make({
  name: "Greet",
  payload: { name: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ name }) => name
})

const greetLive = (counter: Counter) =>
  Greet.toLayer(({ name }) => Effect.as(counter.bump(name), `hello ${name}`))

class Declined extends Schema.TaggedError<Declined>()("Declined", { why: Schema.String }) {}

const Refuse = Workflow.make({
  name: "Refuse",
  payload: { id: Schema.String },
  error: Declined,
  idempotencyKey: ({ id }) => id
})

const Go = DurableDeferred.make("go", { success: Schema.String })

const Mail = DurableQueue.make({ name: "mail", payload: { to: Schema.String }, idempotencyKey: ({ to }) => to })

const Parked = Workflow.make({
  name: "Parked",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const Bodies = Layer.mergeAll(
  greetLive(new Counter()),
  Refuse.toLayer(({ id }) => Effect.die(new Declined({ why: id }))),
  Parked.toLayer(({ id }) => Effect.map(DurableDeferred.await(Go), (by) => `parked ${id}: ${by}`))
)
