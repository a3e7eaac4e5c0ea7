/**
 * An operator's second chances, on every engine: `retry` re-runs a failed execution where it stands (the failed
 * activity again, completed steps from the journal), `restart` starts a new execution from a copy of the journal
 * up to a step. Both journaled; both refuse, naming what to do instead, what they cannot do faithfully.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { PgEngine } from "@weft/engine-sql/pg"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import {
  Activity,
  DurableDeferred,
  Workflow,
  WorkflowEngine,
  WorkflowError,
  WorkflowStore
} from "@weft/workflow"
import { testDatabase } from "./pg.js"
import { hasStatus, record, suspended, waitUntil } from "./util.js"

class Declined extends Schema.TaggedError<Declined>()("Declined", { why: Schema.String }) {}

/** What the activities did, and what they are told to do: each test gets its own. */
class World {
  readonly runs = new Map<string, number>()
  declines = 0
  shipBroken = false
  ran(name: string): number {
    const n = (this.runs.get(name) ?? 0) + 1
    this.runs.set(name, n)
    return n
  }
  count(name: string): number {
    return this.runs.get(name) ?? 0
  }
}

const Order = Workflow.make({
  name: "Order",
  payload: { id: Schema.String },
  success: Schema.String,
  error: Declined,
  idempotencyKey: ({ id }) => id
})

const Pay = Workflow.make({
  name: "Pay",
  payload: { id: Schema.String },
  success: Schema.String,
  error: Declined,
  idempotencyKey: ({ id }) => id
})

const Approval = DurableDeferred.make("approval", { success: Schema.String })

const Approve = Workflow.make({
  name: "Approve",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const Lookup = Workflow.make({
  name: "Lookup",
  payload: { id: Schema.String },
  success: Schema.String,
  error: Declined,
  idempotencyKey: ({ id }) => id
})

const Saga = Workflow.make({
  name: "Saga",
  payload: { id: Schema.String },
  error: Declined,
  idempotencyKey: ({ id }) => id
})

/** Charges, and on a decline tells someone (a step after the failure) before failing. */
const Notify = Workflow.make({
  name: "Notify",
  payload: { id: Schema.String },
  success: Schema.String,
  error: Declined,
  idempotencyKey: ({ id }) => id
})

/** A parent that starts a child it awaits (`Approve`) or one it lets go (`discard`), then settles. */
const Parent = Workflow.make({
  name: "Parent",
  payload: { id: Schema.String, discard: Schema.Boolean },
  success: Schema.String,
  error: Declined,
  idempotencyKey: ({ id }) => id
})

const bodies = (world: World) => {
  const reserve = Activity.make({ name: "reserve", success: Schema.Number, execute: Effect.sync(() => world.ran("reserve")) })
  const charge = Activity.make({
    name: "charge",
    success: Schema.Number,
    error: Declined,
    execute: Effect.suspend(() => {
      const n = world.ran("charge")
      if (world.declines > 0) {
        world.declines--
        return Effect.fail(new Declined({ why: `declined #${n}` }))
      }
      return Effect.succeed(n)
    })
  })
  const ship = Activity.make({
    name: "ship",
    success: Schema.Number,
    execute: Effect.suspend(() => {
      const n = world.ran("ship")
      return world.shipBroken ? Effect.die(new Error(`ship broken #${n}`)) : Effect.succeed(n)
    })
  })
  const pay = Activity.retry(
    Activity.make({
      name: "pay",
      success: Schema.Number,
      error: Declined,
      execute: Effect.suspend(() => {
        const n = world.ran("pay")
        if (world.declines > 0) {
          world.declines--
          return Effect.fail(new Declined({ why: `declined #${n}` }))
        }
        return Effect.succeed(n)
      })
    }),
    { times: 1, schedule: Schedule.spaced("1 millis") }
  )
  const prepare = Activity.make({ name: "prepare", execute: Effect.sync(() => void world.ran("prepare")) })
  const lookup = Activity.make({
    name: "lookup",
    success: Schema.String,
    error: Declined,
    execute: Effect.suspend(() => {
      world.ran("lookup")
      return Effect.fail(new Declined({ why: "no record" }))
    })
  })
  const fallback = Activity.make({ name: "fallback", success: Schema.String, execute: Effect.sync(() => (world.ran("fallback"), "default")) })
  const undo = Activity.make({ name: "book", execute: Effect.sync(() => void world.ran("book")) })
  return Layer.mergeAll(
    Order.toLayer(({ id }) =>
      Effect.gen(function* () {
        yield* reserve
        const charged = yield* charge
        yield* Workflow.note("charged", { charged })
        const shipped = yield* ship
        return `order ${id}: charge #${charged}, ship #${shipped}`
      })
    ),
    Pay.toLayer(({ id }) => Effect.map(pay, (n) => `paid ${id} on run #${n}`)),
    Approve.toLayer(({ id }) =>
      Effect.gen(function* () {
        yield* prepare
        const by = yield* DurableDeferred.await(Approval)
        const shipped = yield* ship
        return `${id} approved by ${by}, ship #${shipped}`
      })
    ),
    Lookup.toLayer(({ id }) =>
      Effect.gen(function* () {
        const found = yield* Effect.catch(lookup, () => fallback)
        const charged = yield* charge
        return `${id}: ${found}, charge #${charged}`
      })
    ),
    Parent.toLayer(({ discard, id }) =>
      Effect.gen(function* () {
        if (discard) yield* Effect.orDie(Approve.execute({ id: `${id}-child` }, { discard: true }))
        else yield* Effect.forkChild(Effect.orDie(Approve.execute({ id: `${id}-child` })))
        yield* Effect.yieldNow
        const charged = yield* charge
        return `${id}: charge #${charged}`
      })
    ),
    Notify.toLayer(({ id }) =>
      Effect.map(
        charge.pipe(
          Effect.tapError(() => Activity.make({ name: "tell", execute: Effect.sync(() => void world.ran("tell")) }))
        ),
        (n) => `${id}: charge #${n}`
      )
    ),
    Saga.toLayer(() =>
      Effect.gen(function* () {
        yield* undo.pipe(Workflow.withCompensation(() => Effect.sync(() => void world.ran("unbook"))))
        yield* charge
      })
    )
  )
}

const dir = mkdtempSync(join(tmpdir(), "weft-operator-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0

const engines = {
  memory: () => Effect.succeed(WorkflowEngine.layerMemory),
  sqlite: () => Effect.succeed(SqliteEngine.layer({ filename: join(dir, `operator-${files++}.db`) })),
  postgres: () => Effect.map(testDatabase(), (url) => PgEngine.layer({ url, maxConnections: 4 }))
} as const

type Backend = keyof typeof engines

/** Runs `body` on a fresh engine of `backend` with the bodies of `world`. */
const on = <A, E>(
  backend: Backend,
  world: World,
  body: Effect.Effect<A, E, WorkflowEngine.WorkflowEngine | WorkflowStore.WorkflowStore>
) =>
  Effect.gen(function* () {
    const engine = yield* engines[backend]()
    const context = yield* Layer.build(Layer.provideMerge(bodies(world), engine))
    return yield* Effect.provide(body, context)
  })

const events = (executionId: string) => Effect.map(record(executionId), (d) => d.events.map((e) => `${e.kind}${e.detail === undefined ? "" : `: ${e.detail}`}`))

const attemptsOf = (executionId: string) =>
  Effect.map(record(executionId), (d) =>
    d.attempts
      .filter((a) => !a.name.startsWith("@weft/"))
      .map((a) => `${a.name}#${a.attempt}${WorkflowStore.isRetriedMarker(a.exit) ? " retried" : ""}`)
      .sort()
  )

const ended = (executionId: string) =>
  Effect.flatMap(WorkflowEngine.result(executionId), (r) =>
    Option.isSome(r) ? Effect.succeed(r.value) : Effect.die(new Error(`no end of ${executionId}`))
  )

const reasonOf = <A>(effect: Effect.Effect<A, WorkflowError.WorkflowError, any>) =>
  Effect.map(Effect.flip(effect), (error) => ({ reason: error.reason, message: error.message, field: error.field, expected: error.expected }))

describe("WorkflowEngine.retry", () => {
  for (const backend of ["memory", "sqlite", "postgres"] as const) {
    it.live(`runs the activity whose typed failure ended the execution again; completed steps keep their results (${backend})`, () => {
      const world = new World()
      world.declines = 1
      return on(backend, world, Effect.gen(function* () {
        const first = yield* Effect.exit(Order.execute({ id: "o1" }))
        assert.isTrue(Exit.isFailure(first))
        const id = yield* Order.executionId({ id: "o1" })
        assert.isTrue(yield* hasStatus(id, "failed"))

        // The execution keeps the key its id derives from; list finds it by prefix.
        assert.strictEqual((yield* WorkflowEngine.get(id)).idempotencyKey, "o1")
        assert.deepStrictEqual((yield* WorkflowEngine.list({ idempotencyKeyPrefix: "o" })).items.map((r) => r.executionId), [id])
        const retried = yield* WorkflowEngine.retry(id)
        assert.deepStrictEqual(retried.activities, ["charge"])
        const end = yield* ended(id)
        assert.strictEqual(end.status, "succeeded")
        assert.deepStrictEqual(yield* Workflow.result(Order, id), Option.some(Exit.succeed("order o1: charge #2, ship #1")))
        assert.deepStrictEqual([world.count("reserve"), world.count("charge"), world.count("ship")], [1, 2, 1])
        assert.deepStrictEqual(yield* attemptsOf(id), ["charge#1", "charge#2 retried", "charge#3", "reserve#1", "ship#1"])
        // The trace shows the runs, not the marker; the retried event stands for the operator's act.
        const trace = Option.getOrThrow(yield* WorkflowEngine.trace(id))
        assert.deepStrictEqual(
          trace.entries.flatMap((e) => (e.kind === "activity" ? [`${e.name}#${e.attempt} ${e.outcome}`] : [])),
          ["reserve#1 success", "charge#1 failure", "charge#3 success", "ship#1 success"]
        )
        assert.isTrue(trace.entries.some((e) => e.kind === "event" && e.event === "retried"))
        const log = yield* events(id)
        assert.deepStrictEqual(log.filter((e) => !e.startsWith("signal")), [
          "started",
          "failed",
          "retried: again: \"charge\"",
          "completed"
        ])
      }))
    })

    it.live(`restarts from a step: the steps before it are copied, it and the rest run again under a new id (${backend})`, () => {
      const world = new World()
      world.shipBroken = true
      return on(backend, world, Effect.gen(function* () {
        yield* Effect.exit(Order.execute({ id: "o2" }))
        const id = yield* Order.executionId({ id: "o2" })
        assert.isTrue(yield* hasStatus(id, "failed"))
        world.shipBroken = false

        const restarted = yield* WorkflowEngine.restart(id, { fromStep: "charge" })
        assert.notStrictEqual(restarted.executionId, id)
        assert.strictEqual(restarted.restartedFrom, id)
        assert.strictEqual(restarted.copiedSteps, 1)
        assert.isTrue(restarted.created)
        const end = yield* ended(restarted.executionId)
        assert.strictEqual(end.status, "succeeded")
        assert.deepStrictEqual(
          yield* Workflow.result(Order, restarted.executionId),
          Option.some(Exit.succeed("order o2: charge #2, ship #2"))
        )
        assert.deepStrictEqual([world.count("reserve"), world.count("charge"), world.count("ship")], [1, 2, 2])
        // The old execution is left as it ended, with a pointer to the new one; the new one points back.
        assert.strictEqual((yield* WorkflowEngine.get(id)).status, "failed")
        assert.deepStrictEqual((yield* events(id)).at(-1), `restarted: as ${restarted.executionId} from step "charge"`)
        assert.deepStrictEqual((yield* events(restarted.executionId))[0], `started: restart of ${id} from step "charge"`)
        assert.deepStrictEqual(yield* attemptsOf(restarted.executionId), ["charge#1", "reserve#1", "ship#1"])
        assert.isUndefined((yield* WorkflowEngine.get(restarted.executionId)).idempotencyKey)
      }))
    })
  }

  it.live("after a defect, the activity that died runs again", () => {
    const world = new World()
    world.shipBroken = true
    return on("memory", world, Effect.gen(function* () {
      yield* Effect.exit(Order.execute({ id: "d" }))
      const id = yield* Order.executionId({ id: "d" })
      world.shipBroken = false
      assert.deepStrictEqual((yield* WorkflowEngine.retry(id)).activities, ["ship"])
      assert.strictEqual((yield* ended(id)).status, "succeeded")
      assert.deepStrictEqual([world.count("reserve"), world.count("charge"), world.count("ship")], [1, 1, 2])
    }))
  })

  it.live("the activity's retry policy counts afresh from the retry", () => {
    const world = new World()
    world.declines = 3
    return on("memory", world, Effect.gen(function* () {
      // Attempt 1 and its one retry fail: the execution fails.
      yield* Effect.exit(Pay.execute({ id: "p" }))
      const id = yield* Pay.executionId({ id: "p" })
      assert.isTrue(yield* hasStatus(id, "failed"))
      assert.strictEqual(world.count("pay"), 2)
      // After the retry: a first attempt (fails), and one retry by the policy again (succeeds).
      yield* WorkflowEngine.retry(id)
      assert.strictEqual((yield* ended(id)).status, "succeeded")
      assert.deepStrictEqual(yield* Workflow.result(Pay, id), Option.some(Exit.succeed("paid p on run #4")))
      assert.deepStrictEqual(yield* attemptsOf(id), ["pay#1", "pay#2", "pay#3 retried", "pay#4", "pay#5"])
    }))
  })

  it.live("a failure the body caught and went on from is history: only the failure that ended it runs again", () => {
    const world = new World()
    world.declines = 1
    return on("memory", world, Effect.gen(function* () {
      yield* Effect.exit(Lookup.execute({ id: "l" }))
      const id = yield* Lookup.executionId({ id: "l" })
      assert.deepStrictEqual((yield* WorkflowEngine.retry(id)).activities, ["charge"])
      assert.deepStrictEqual(yield* Workflow.result(Lookup, id), Option.some(Exit.succeed("l: default, charge #2")))
      assert.deepStrictEqual([world.count("lookup"), world.count("fallback"), world.count("charge")], [1, 1, 2])
    }))
  })

  it.live("two retries at once: one writes; the other finds it running (or refused, saying so); one marker, one retried event", () => {
    const world = new World()
    world.declines = 1
    return on("sqlite", world, Effect.gen(function* () {
      yield* Effect.exit(Order.execute({ id: "twice" }))
      const id = yield* Order.executionId({ id: "twice" })
      const results = yield* Effect.all([WorkflowEngine.retry(id), WorkflowEngine.retry(id)].map(Effect.result), { concurrency: 2 })
      const outcomes = results.map((r) =>
        r._tag === "Success" ? r.success.activities.join(",") : `${r.failure.reason}: ${r.failure.message.includes("is running") || r.failure.message.includes("is succeeded")}`
      )
      assert.strictEqual(outcomes.filter((o) => o === "charge").length, 1)
      assert.isTrue(outcomes.every((o) => o === "charge" || o === "" || o === "InvalidState: true"), outcomes.join(" | "))
      assert.strictEqual((yield* ended(id)).status, "succeeded")
      assert.strictEqual((yield* events(id)).filter((e) => e.startsWith("retried")).length, 1)
      assert.strictEqual((yield* attemptsOf(id)).filter((a) => a.endsWith("retried")).length, 1)
    }))
  })

  it.live("refuses what it cannot do faithfully, naming what to do instead, and writes nothing", () => {
    const world = new World()
    world.declines = 2
    return on("memory", world, Effect.gen(function* () {
      yield* Order.execute({ id: "fine" }).pipe(Effect.exit)
      const failedId = yield* Order.executionId({ id: "fine" })
      world.declines = 0
      yield* Order.execute({ id: "ok" })
      const ok = yield* Order.executionId({ id: "ok" })
      const notDone = yield* reasonOf(WorkflowEngine.retry(ok))
      assert.strictEqual(notDone.reason, "InvalidState")
      assert.match(notDone.message, /is succeeded: only a failed execution is retried/)

      const parked = yield* Approve.execute({ id: "parked" }, { discard: true })
      yield* suspended(Approve, parked)
      assert.match((yield* reasonOf(WorkflowEngine.retry(parked))).message, /is suspended: .*has not ended/)
      yield* Approve.interrupt(parked)
      yield* waitUntil(hasStatus(parked, "interrupted"), "interrupted")
      assert.match((yield* reasonOf(WorkflowEngine.retry(parked))).message, /interrupted.*restart it/)

      assert.strictEqual((yield* reasonOf(WorkflowEngine.retry("no-such-id"))).reason, "ExecutionNotFound")
      const engine = yield* WorkflowEngine.WorkflowEngine
      assert.strictEqual((yield* reasonOf(engine.retry(failedId, "Pay"))).reason, "ExecutionNotFound")

      // Its compensations undid a booking: going on would act as if it were still booked.
      world.declines = 1
      yield* Saga.execute({ id: "s" }).pipe(Effect.exit)
      const saga = yield* Saga.executionId({ id: "s" })
      const before = yield* record(saga)
      const compensated = yield* reasonOf(WorkflowEngine.retry(saga))
      assert.strictEqual(compensated.reason, "InvalidState")
      assert.match(compensated.message, /ran its compensations.*restart/)
      assert.deepStrictEqual(yield* record(saga), before)
      assert.strictEqual(world.count("unbook"), 1)
    }))
  })
})

describe("WorkflowEngine.retry, more cases", () => {
  it.live("the body went on after the failure (tapError told someone): the activity that failed with its error runs again", () => {
    const world = new World()
    world.declines = 1
    return on("memory", world, Effect.gen(function* () {
      yield* Effect.exit(Notify.execute({ id: "n" }))
      const id = yield* Notify.executionId({ id: "n" })
      assert.deepStrictEqual((yield* WorkflowEngine.retry(id)).activities, ["charge"])
      assert.deepStrictEqual(yield* Workflow.result(Notify, id), Option.some(Exit.succeed("n: charge #2")))
      assert.deepStrictEqual([world.count("charge"), world.count("tell")], [2, 1])
    }))
  })

  it.live("a restart asked twice is one execution; the restarted source is not retried (the steps would run twice)", () => {
    const world = new World()
    world.declines = 1
    return on("memory", world, Effect.gen(function* () {
      yield* Effect.exit(Order.execute({ id: "twice-restart" }))
      const id = yield* Order.executionId({ id: "twice-restart" })
      const [a, b] = yield* Effect.all([WorkflowEngine.restart(id, { fromStep: "charge" }), WorkflowEngine.restart(id, { fromStep: "charge" })])
      assert.strictEqual(a.executionId, b.executionId)
      assert.deepStrictEqual([a.created, b.created].sort(), [false, true])
      assert.strictEqual((yield* ended(a.executionId)).status, "succeeded")
      assert.strictEqual(world.count("charge"), 2)
      const refused = yield* reasonOf(WorkflowEngine.retry(id))
      assert.strictEqual(refused.reason, "InvalidState")
      assert.match(refused.message, /was restarted \(as \w+ from step "charge"\): retrying it too would run its steps a second time/)
    }))
  })

  it.live("a child whose parent already holds its failure is not retried: the parent is", () => {
    const world = new World()
    world.declines = 1
    const Kid = Workflow.make({ name: "Kid", payload: { id: Schema.String }, success: Schema.Number, error: Declined, idempotencyKey: ({ id }) => id })
    const Mom = Workflow.make({ name: "Mom", payload: { id: Schema.String }, success: Schema.Number, idempotencyKey: ({ id }) => id })
    return Effect.gen(function* () {
      const context = yield* Layer.build(
        Layer.mergeAll(
          Kid.toLayer(() => Activity.make({ name: "charge", success: Schema.Number, error: Declined, execute: Effect.suspend(() => world.declines-- > 0 ? Effect.fail(new Declined({ why: "no" })) : Effect.succeed(1)) })),
          Mom.toLayer(({ id }) => Effect.orDie(Kid.execute({ id: `${id}-kid` })))
        ).pipe(Layer.provideMerge(WorkflowEngine.layerMemory))
      )
      yield* Effect.gen(function* () {
        yield* Effect.exit(Mom.execute({ id: "m" }))
        const kid = yield* Kid.executionId({ id: "m-kid" })
        const refused = yield* reasonOf(WorkflowEngine.retry(kid))
        assert.strictEqual(refused.reason, "InvalidState")
        assert.include(refused.message, "which already holds its failure")
      }).pipe(Effect.provide(context))
    })
  })
})

describe("WorkflowEngine.retry and children", () => {
  it.live("a child started with discard is not the parent's: the parent is retried; a child its failure stopped refuses", () => {
    const world = new World()
    world.declines = 1
    return on("memory", world, Effect.gen(function* () {
      // Discarded child: it goes on alone (waiting for approval); the parent's failure does not touch it.
      yield* Effect.exit(Parent.execute({ id: "free", discard: true }))
      const free = yield* Parent.executionId({ id: "free", discard: true })
      assert.isTrue(yield* hasStatus(free, "failed"))
      assert.deepStrictEqual((yield* WorkflowEngine.retry(free)).activities, ["charge"])
      assert.strictEqual((yield* ended(free)).status, "succeeded")

      // Awaited child: the parent's typed failure interrupts it; a retry would find it interrupted.
      world.declines = 1
      yield* Effect.exit(Parent.execute({ id: "tied", discard: false }))
      const tied = yield* Parent.executionId({ id: "tied", discard: false })
      const child = yield* Approve.executionId({ id: "tied-child" })
      yield* waitUntil(hasStatus(child, "interrupted"), "the child stopped with its parent")
      const refused = yield* reasonOf(WorkflowEngine.retry(tied))
      assert.strictEqual(refused.reason, "InvalidState")
      assert.include(refused.message, `stopped its child execution(s) ${child}`)
    }))
  })
})

describe("WorkflowEngine.restart", () => {
  it.live("an unknown step is a typed error naming the field and the steps there are; nothing is written", () => {
    const world = new World()
    world.declines = 1
    return on("memory", world, Effect.gen(function* () {
      yield* Effect.exit(Order.execute({ id: "u" }))
      const id = yield* Order.executionId({ id: "u" })
      const before = (yield* WorkflowEngine.list()).items.length
      const error = yield* reasonOf(WorkflowEngine.restart(id, { fromStep: "chrage" }))
      assert.strictEqual(error.reason, "InvalidPayload")
      assert.strictEqual(error.field, "fromStep")
      assert.strictEqual(error.expected, `one of "reserve", "charge"`)
      assert.match(error.message, /has no activity "chrage" to restart from; its activities: "reserve", "charge"/)
      assert.strictEqual((yield* WorkflowEngine.list()).items.length, before)
    }))
  })

  it.live("refuses a live execution (its steps would run twice at once); an idempotency key restarts once", () => {
    const world = new World()
    return on("memory", world, Effect.gen(function* () {
      const parked = yield* Approve.execute({ id: "live" }, { discard: true })
      yield* suspended(Approve, parked)
      const live = yield* reasonOf(WorkflowEngine.restart(parked))
      assert.strictEqual(live.reason, "InvalidState")
      assert.match(live.message, /Interrupt it first/)

      yield* Order.execute({ id: "done" })
      const done = yield* Order.executionId({ id: "done" })
      const a = yield* WorkflowEngine.restart(done, { idempotencyKey: "ticket-7" })
      const b = yield* WorkflowEngine.restart(done, { idempotencyKey: "ticket-7" })
      assert.strictEqual(a.executionId, b.executionId)
      assert.deepStrictEqual([a.created, b.created], [true, false])
      assert.strictEqual((yield* ended(a.executionId)).status, "succeeded")
      // From the beginning: every step ran again.
      assert.deepStrictEqual([world.count("reserve"), world.count("charge"), world.count("ship")], [2, 2, 2])
      assert.strictEqual((yield* events(done)).filter((e) => e.startsWith("restarted")).length, 1)
    }))
  })

  it.live("a signal received before the step is kept: the new execution does not wait for it again", () => {
    const world = new World()
    world.shipBroken = true
    return on("memory", world, Effect.gen(function* () {
      const id = yield* Approve.execute({ id: "a" }, { discard: true })
      yield* suspended(Approve, id)
      const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Approve.name, executionId: id })
      yield* DurableDeferred.succeed(Approval, { token, value: "ada" })
      yield* waitUntil(hasStatus(id, "failed"), "failed at ship")
      world.shipBroken = false
      const restarted = yield* WorkflowEngine.restart(id, { fromStep: "ship" })
      assert.deepStrictEqual(
        yield* Workflow.result(Approve, restarted.executionId),
        Option.some(Exit.succeed("a approved by ada, ship #2"))
      )
      assert.strictEqual(world.count("prepare"), 1)
    }))
  })
})
