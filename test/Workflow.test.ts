import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Activity, DurableClock, DurableDeferred, MemoryStore, Workflow, WorkflowEngine, WorkflowStore } from "@weft/workflow"
import { engineSuite } from "./suites/engineSuite.js"
import { hasStatus, record, suspended, waitUntil } from "./util.js"

engineSuite("memory", (hooks, options) => WorkflowEngine.layerMemoryWith(options).pipe(Layer.provide(hooks ?? Layer.empty)))

describe("engine: capacity and due timers", () => {
  /** A memory engine with `maxRuns` whose store counts timer-loop look-ups; a napper that suspends and a holder that holds its place. */
  const setUp = (maxRuns: number, leaseMs: number, holderFirst: boolean) =>
    Effect.gen(function* () {
      const inner = MemoryStore.make({ leaseMs })
      const counts = { lookups: 0 }
      const store: WorkflowStore.Service = {
        ...inner,
        runnable: (now, limit, workflows) => Effect.suspend(() => (counts.lookups++, inner.runnable(now, limit, workflows))),
        nextWakeAt: (workflows) => Effect.suspend(() => (counts.lookups++, inner.nextWakeAt(workflows)))
      }
      const release = yield* Deferred.make<void>()
      const held = yield* Deferred.make<void>()
      const engine = yield* Layer.build(
        Layer.mergeAll(
          Napper.toLayer(() => DurableClock.sleep({ name: "nap", duration: "300 millis", inMemoryThreshold: 0 })),
          Holder.toLayer(() =>
            Activity.make({ name: "hold", execute: Effect.andThen(Deferred.succeed(held, undefined), Deferred.await(release)) })
          )
        ).pipe(
          Layer.provideMerge(WorkflowEngine.layer({ maxRuns })),
          Layer.provide(Layer.succeed(WorkflowStore.WorkflowStore, store))
        )
      )
      // The holder takes a place and the nap suspends (in either order); the nap's timer falls due meanwhile.
      const hold = Effect.andThen(Holder.execute({ id: "h" }, { discard: true }), Deferred.await(held))
      if (holderFirst) yield* Effect.provide(hold, engine)
      const nap = yield* Napper.execute({ id: "n" }, { discard: true }).pipe(Effect.provide(engine))
      yield* Effect.provide(
        holderFirst ? waitUntil(hasStatus(nap, "suspended"), "the nap suspended") : suspended(Napper, nap),
        engine
      )
      if (!holderFirst) yield* Effect.provide(hold, engine)
      yield* waitUntil(
        Effect.map(inner.nextWakeAt([Napper.name]), (next) => Option.isNone(next) || next.value < Date.now()),
        "the nap due"
      )
      return { engine, nap, release, counts }
    })

  it.live("a full engine does not spin on a due timer it has no room for, and fires it once a run ends", () =>
    Effect.gen(function* () {
      const { counts, engine, nap, release } = yield* setUp(1, 5_000, false)
      const before = counts.lookups
      for (let i = 0; i < 300; i++) yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      assert.isAtMost(counts.lookups - before, 2)
      assert.strictEqual((yield* Effect.provide(record(nap), engine)).execution.status, "suspended")
      yield* Deferred.succeed(release, undefined)
      yield* waitUntil(Effect.provide(hasStatus(nap, "succeeded"), engine), "the nap fired")
    }))

  it.live("executing one left runnable in the store runs it at once in the engine's last free place", () =>
    Effect.gen(function* () {
      const store = MemoryStore.make()
      const engine = yield* Layer.build(
        Holder.toLayer(() => Activity.make({ name: "hold", execute: Effect.void })).pipe(
          Layer.provideMerge(WorkflowEngine.layer({ maxRuns: 1 })),
          Layer.provide(Layer.succeed(WorkflowStore.WorkflowStore, store))
        )
      )
      // The timer loop has looked once and waits: nothing else will look again (no poll, no runs).
      for (let i = 0; i < 50; i++) yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      // Runnable, unclaimed (as a full worker elsewhere would leave it).
      const id = yield* Holder.executionId({ id: "left" })
      yield* store.create({ executionId: id, workflow: Holder.name, payload: { id: "left" }, parent: undefined, at: 0 })
      yield* Holder.execute({ id: "left" }).pipe(Effect.provide(engine))
      assert.strictEqual((yield* Effect.provide(record(id), engine)).execution.status, "succeeded")
    }))

  it.live("a run here whose claim looks expired takes no place: the due timer fires beside it", () =>
    Effect.gen(function* () {
      // Leases of 1 ms that this engine (no heartbeat) never renews: the store lists the held run as runnable.
      const { engine, nap, release } = yield* setUp(2, 1, true)
      yield* waitUntil(Effect.provide(hasStatus(nap, "succeeded"), engine), "the nap fired while the holder holds")
      yield* Deferred.succeed(release, undefined)
    }))
})

const Napper = Workflow.make({ name: "Napper", payload: { id: Schema.String }, idempotencyKey: ({ id }) => id })
const Holder = Workflow.make({ name: "Holder", payload: { id: Schema.String }, idempotencyKey: ({ id }) => id })

describe("engine: timers it cannot fire", () => {
  it.live("does not spin on a due timer of a workflow this engine has not registered", () =>
    Effect.gen(function* () {
      const inner = MemoryStore.make()
      let lookups = 0
      const store: WorkflowStore.Service = {
        ...inner,
        nextWakeAt: (workflows) => Effect.suspend(() => (lookups++, inner.nextWakeAt(workflows)))
      }
      // A suspended execution of another service's workflow, whose timer is long due.
      yield* inner.create({ executionId: "x", workflow: "Elsewhere", payload: {}, parent: undefined, at: 0 })
      const claim = Option.getOrThrow(yield* inner.claim("x", "other", 0))
      yield* inner.suspend("x", claim.fence, 0, 1, 0)
      yield* Effect.provide(
        Effect.gen(function* () {
          // Let the event loop turn a few hundred times: a spinning timer loop would look up on each turn.
          for (let i = 0; i < 300; i++) yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
        }),
        WorkflowEngine.layer().pipe(Layer.provide(Layer.succeed(WorkflowStore.WorkflowStore, store)))
      )
      assert.isAtMost(lookups, 2)
    }))
})

describe("engine: a parent's end and its children", () => {
  /** A memory engine whose store counts reads of single executions and of a parent's live children. */
  const counted = (withLiveChildren: boolean) => {
    const inner = MemoryStore.make()
    const counts = { gets: 0, liveChildren: 0 }
    const { liveChildren: _, ...rest } = inner
    const store: WorkflowStore.Service = {
      ...rest,
      get: (executionId) => Effect.suspend(() => (counts.gets++, inner.get(executionId))),
      ...(withLiveChildren
        ? { liveChildren: (parentId: string) => Effect.suspend(() => (counts.liveChildren++, inner.liveChildren!(parentId))) }
        : {})
    }
    const layer = Layer.mergeAll(FamilyLive, ChildLive).pipe(
      Layer.provideMerge(WorkflowEngine.layer()),
      Layer.provide(Layer.succeed(WorkflowStore.WorkflowStore, store))
    )
    return { counts, layer }
  }

  for (const withLiveChildren of [true, false]) {
    it.effect(
      `interrupting a parent stops its linked children, not the discarded ones, ${withLiveChildren ? "in one read" : "one read per child"}`,
      () =>
        Effect.gen(function* () {
          const { counts, layer } = counted(withLiveChildren)
          const engine = yield* Layer.build(layer)
          const parentId = yield* Family.execute({ id: "f" }, { discard: true }).pipe(Effect.provide(engine))
          const ids = (prefix: string) => Effect.forEach([0, 1, 2], (i) => Child.executionId({ id: `f-${prefix}${i}` }))
          const linked = yield* ids("linked")
          const discarded = yield* ids("discarded")
          for (const id of [...linked, ...discarded]) yield* Effect.provide(suspended(Child, id), engine)
          yield* Effect.provide(suspended(Family, parentId), engine)

          const before = { ...counts }
          yield* Family.interrupt(parentId).pipe(Effect.provide(engine))
          yield* Effect.provide(waitUntil(hasStatus(parentId, "interrupted"), "the parent interrupted"), engine)
          for (const id of linked) yield* Effect.provide(waitUntil(hasStatus(id, "interrupted"), `child ${id} interrupted`), engine)
          for (const id of discarded) assert.strictEqual((yield* Effect.provide(record(id), engine)).execution.status, "suspended")
          if (withLiveChildren) {
            assert.strictEqual(counts.liveChildren - before.liveChildren, 1)
            // The engine's own reads (the interrupt's look-up of the parent) touch no child.
            assert.isAtMost(counts.gets - before.gets, 1)
          } else {
            assert.isAtLeast(counts.gets - before.gets, 6)
          }
        })
    )
  }
})

/** Starts three children it awaits (all at once) and three it discards; each child waits forever on a deferred. */
const Family = Workflow.make({ name: "Family", payload: { id: Schema.String }, idempotencyKey: ({ id }) => id })
const Child = Workflow.make({ name: "Child", payload: { id: Schema.String }, idempotencyKey: ({ id }) => id })
const Forever = DurableDeferred.make("forever")
const ChildLive = Child.toLayer(() => DurableDeferred.await(Forever))
const FamilyLive = Family.toLayer(({ id }) =>
  Effect.gen(function* () {
    for (const i of [0, 1, 2]) yield* Effect.orDie(Child.execute({ id: `${id}-discarded${i}` }, { discard: true }))
    yield* Effect.all([0, 1, 2].map((i) => Effect.orDie(Child.execute({ id: `${id}-linked${i}` }))), { concurrency: "unbounded" })
  })
)
