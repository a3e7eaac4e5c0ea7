/**
 * Changing code under running executions. `Workflow.patched(id)` answers true for an execution that reaches it under
 * the new code and false for one replaying a journal that already went past that point, and journals the answer;
 * `deprecatePatch` stops an execution that took the old path instead of letting it take the new one. The guard
 * catches a reordered body: a journaled step asked for after one the journal finished it before.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { TestClock } from "effect/testing"
import { Activity, DurableClock, DurableDeferred, MemoryStore, Workflow, WorkflowEngine, WorkflowStore } from "@weft/workflow"
import { record, suspended, waitUntil } from "./util.js"

const Go = DurableDeferred.make("go")

const Ship = Workflow.make({
  name: "Ship",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

/** The code in production, switched by the test between deploys. */
type Version = "v1" | "v2" | "v3" | "reordered"

const bodies = (code: { version: Version }, ran: Array<string>) => {
  // Each step takes a few milliseconds of work, so the recording orders them by time.
  const step = (name: string) =>
    Activity.make({ name, execute: Effect.andThen(Effect.sync(() => void ran.push(name)), Effect.sleep("3 millis")) })
  const pack = step("pack")
  const label = step("label")
  const insure = step("insure")
  const send = step("send")
  return Ship.toLayer(() =>
    Effect.gen(function* () {
      if (code.version === "reordered") {
        yield* label
        yield* pack
      } else {
        yield* pack
        // v2 adds insurance before the wait; v3 has only the new path left.
        if (code.version === "v2") {
          if (yield* Workflow.patched("insure")) yield* insure
        } else if (code.version === "v3") {
          yield* Workflow.deprecatePatch("insure")
          yield* insure
        }
        yield* label
      }
      yield* DurableDeferred.await(Go)
      yield* send
      return ran.join(",")
    })
  )
}

const go = (id: string) =>
  Effect.flatMap(DurableDeferred.tokenFor(Go, { workflow: Ship.name, executionId: id }), (token) =>
    DurableDeferred.succeed(Go, { token, value: undefined }))

const layer = (code: { version: Version }, ran: Array<string>) =>
  Layer.provideMerge(bodies(code, ran), WorkflowEngine.layerMemory)

describe("Workflow.patched", () => {
  it.live("an execution that went past the patch under the old code keeps the old path; a new one takes the new", () => {
    const code = { version: "v1" as Version }
    const ran: Array<string> = []
    return Effect.gen(function* () {
      const old = yield* Ship.execute({ id: "old" }, { discard: true })
      yield* suspended(Ship, old)
      // Deploy v2 while "old" waits past the patch point; a new execution starts under v2.
      code.version = "v2"
      const fresh = yield* Ship.execute({ id: "new" }, { discard: true })
      yield* suspended(Ship, fresh)
      yield* go(old)
      yield* go(fresh)
      yield* waitUntil(
        Effect.map(Effect.all([WorkflowEngine.get(old), WorkflowEngine.get(fresh)]), (rs) => rs.every((r) => r.status === "succeeded")),
        "both ended"
      )
      const markers = (id: string) =>
        Effect.map(record(id), (d) => d.attempts.filter((a) => a.name === "@weft/patch/insure").map((a) => (a.exit as { value: boolean }).value))
      assert.deepStrictEqual(yield* markers(old), [false])
      assert.deepStrictEqual(yield* markers(fresh), [true])
      // "old" never insured (its journal had gone past the point); "new" did, once.
      assert.deepStrictEqual((yield* record(old)).attempts.map((a) => a.name).filter((n) => !n.startsWith("@weft/")), ["pack", "label", "send"])
      assert.deepStrictEqual((yield* record(fresh)).attempts.map((a) => a.name).filter((n) => !n.startsWith("@weft/")), ["pack", "insure", "label", "send"])
      const trace = Option.getOrThrow(yield* WorkflowEngine.trace(old))
      assert.deepStrictEqual(trace.entries.flatMap((e) => (e.kind === "patch" ? [[e.id, e.taken]] : [])), [["insure", false]])
    }).pipe(Effect.provide(layer(code, ran)))
  })

  it.live("deprecatePatch: the new path only; an execution that stored the old path dies naming the patch", () => {
    const code = { version: "v2" as Version }
    const ran: Array<string> = []
    return Effect.gen(function* () {
      // "took-new" decided under v2 with the patch; "took-old" went past it under v1 and decided false under v2.
      const tookNew = yield* Ship.execute({ id: "took-new" }, { discard: true })
      yield* suspended(Ship, tookNew)
      code.version = "v1"
      const tookOld = yield* Ship.execute({ id: "took-old" }, { discard: true })
      yield* suspended(Ship, tookOld)
      code.version = "v2"
      yield* (yield* WorkflowEngine.WorkflowEngine).resume(tookOld)
      yield* suspended(Ship, tookOld)
      // v3 removes the old path.
      code.version = "v3"
      yield* go(tookNew)
      yield* go(tookOld)
      yield* waitUntil(
        Effect.map(Effect.all([WorkflowEngine.get(tookNew), WorkflowEngine.get(tookOld)]), (rs) => rs.every((r) => r.status !== "suspended" && r.status !== "running")),
        "both ended"
      )
      assert.strictEqual((yield* WorkflowEngine.get(tookNew)).status, "succeeded")
      const end = yield* WorkflowEngine.get(tookOld)
      assert.strictEqual(end.status, "failed")
      assert.match(JSON.stringify(end.result), /NonDeterminismError.*took the old path of patch \\"insure\\", which deprecatePatch says the code no longer has/)
    }).pipe(Effect.provide(layer(code, ran)))
  })

  it.effect("a bad patch id is a defect naming it", () => {
    const Bad = Workflow.make({ name: "BadPatch", payload: {}, success: Schema.Boolean, idempotencyKey: () => "b" })
    const BadLive = Bad.toLayer(() => Workflow.patched(""))
    return Effect.gen(function* () {
      const exit = yield* Effect.exit(Bad.execute({}))
      assert.isTrue(Exit.hasDies(exit))
      assert.match(String(exit._tag === "Failure" ? exit.cause : ""), /Workflow.patched: the patch id "" it is empty/)
    }).pipe(Effect.provide(Layer.provideMerge(BadLive, WorkflowEngine.layerMemory)))
  })
})

describe("Workflow.patched, more runs", () => {
  it.live("an execution that took the old path runs on under the new code (its marker is not a reordered step)", () => {
    const code = { version: "v1" as Version }
    const ran: Array<string> = []
    return Effect.gen(function* () {
      const id = yield* Ship.execute({ id: "third-run" }, { discard: true })
      yield* suspended(Ship, id)
      code.version = "v2"
      // A second run decides the patch (false: it went past it under v1) and suspends again; a third run finishes.
      yield* (yield* WorkflowEngine.WorkflowEngine).resume(id)
      yield* suspended(Ship, id)
      yield* go(id)
      yield* waitUntil(Effect.map(WorkflowEngine.get(id), (r) => r.status !== "suspended" && r.status !== "running"), "ended")
      assert.strictEqual((yield* WorkflowEngine.get(id)).status, "succeeded")
      assert.deepStrictEqual(ran, ["pack", "label", "send"])
    }).pipe(Effect.provide(layer(code, ran)))
  })

  it.live("a signal delivered during a new execution's first steps does not send it down the old path", () => {
    const Signalled = Workflow.make({ name: "Signalled", payload: {}, success: Schema.Boolean, idempotencyKey: () => "s" })
    const Early = DurableDeferred.make("early")
    let release: (() => void) | undefined
    const gate = new Promise<void>((resolve) => (release = resolve))
    const first = Activity.make({ name: "first", execute: Effect.promise(() => gate) })
    const SignalledLive = Signalled.toLayer(() =>
      Effect.gen(function* () {
        yield* first
        const taken = yield* Workflow.patched("p")
        yield* DurableDeferred.await(Early)
        return taken
      })
    )
    return Effect.gen(function* () {
      const id = yield* Signalled.execute({}, { discard: true })
      // The signal lands while "first" runs: the patch is decided after it, in the same run.
      const token = yield* DurableDeferred.tokenFor(Early, { workflow: Signalled.name, executionId: id })
      yield* waitUntil(Effect.map(record(id), (d) => d.events.length > 0), "started")
      yield* DurableDeferred.succeed(Early, { token, value: undefined })
      release!()
      yield* waitUntil(Effect.map(WorkflowEngine.get(id), (r) => r.status === "succeeded"), "succeeded")
      assert.deepStrictEqual(yield* Workflow.result(Signalled, id), Option.some(Exit.succeed(true)))
    }).pipe(Effect.provide(Layer.provideMerge(SignalledLive, WorkflowEngine.layerMemory)))
  })
})

describe("the determinism guard", () => {
  it.live("a reordered body (a journaled step asked for after one the journal finished it before) is a NonDeterminismError", () => {
    const code = { version: "v1" as Version }
    const ran: Array<string> = []
    return Effect.gen(function* () {
      const id = yield* Ship.execute({ id: "r" }, { discard: true })
      yield* suspended(Ship, id)
      // The recording's steps must not share a millisecond for their order to be known.
      const detail = yield* record(id)
      const [pack, label] = [detail.attempts[0]!, detail.attempts[1]!]
      assert.isBelow(pack.startedAt, label.startedAt, "the steps took time")
      code.version = "reordered"
      yield* go(id)
      yield* waitUntil(Effect.map(WorkflowEngine.get(id), (r) => r.status === "failed"), "failed")
      const end = yield* WorkflowEngine.get(id)
      assert.match(
        JSON.stringify(end.result),
        /diverged from its journal at \\"pack\\": the body asks for it after \\"label\\", but the journal finished it before \\"label\\" started/
      )
      // Nothing ran again, nothing new ran.
      assert.deepStrictEqual(ran, ["pack", "label"])
    }).pipe(Effect.provide(layer(code, ran)))
  })

  it.live("concurrent branches replay in any order: a branch that waited runs its step after the other branch's", () => {
    const Branches = Workflow.make({ name: "Branches", payload: {}, success: Schema.String, idempotencyKey: () => "b" })
    const D = DurableDeferred.make("d")
    const Go2 = DurableDeferred.make("go2")
    const slow = (name: string) =>
      Activity.make({ name, success: Schema.String, execute: Effect.as(Effect.sleep("3 millis"), name) })
    const BranchesLive = Branches.toLayer(() =>
      Effect.gen(function* () {
        const [a, b] = yield* Effect.all([Effect.andThen(DurableDeferred.await(D), slow("A")), slow("B")], {
          concurrency: "unbounded"
        })
        yield* DurableDeferred.await(Go2)
        return `${a}${b}`
      })
    )
    const signal = (id: string, d: DurableDeferred.Any) =>
      Effect.flatMap(DurableDeferred.tokenFor(d, { workflow: Branches.name, executionId: id }), (token) =>
        DurableDeferred.done(d as typeof D, { token, exit: Exit.void }))
    return Effect.gen(function* () {
      const id = yield* Branches.execute({}, { discard: true })
      yield* suspended(Branches, id) // B ran; waiting for d
      yield* signal(id, D)
      yield* waitUntil(Effect.map(record(id), (r) => r.attempts.length === 2 && r.execution.status === "suspended"), "A ran")
      // A third run replays both: A's branch answers its wait at once and asks A before B was asked.
      yield* signal(id, Go2)
      yield* waitUntil(Effect.map(WorkflowEngine.get(id), (r) => r.status !== "suspended" && r.status !== "running"), "ended")
      assert.deepStrictEqual(yield* Workflow.result(Branches, id), Option.some(Exit.succeed("AB")))
    }).pipe(Effect.provide(Layer.provideMerge(BranchesLive, WorkflowEngine.layerMemory)))
  })

  it.live("steps written by two workers whose clocks disagree replay in their stored order without a false alarm", () => {
    // Worker A stored "pack" by its clock; worker B, whose clock runs a second behind, took over and stored "label"
    // with times before pack's. The store's order says pack came first: a healthy execution, not a reordered body.
    const store = MemoryStore.make()
    const Skewed = Workflow.make({ name: "Skewed", payload: {}, success: Schema.String, idempotencyKey: () => "s" })
    const step = (name: string) => Activity.make({ name, success: Schema.String, execute: Effect.succeed(`ran ${name}`) })
    const SkewedLive = Skewed.toLayer(() =>
      Effect.gen(function* () {
        const a = yield* step("pack")
        const b = yield* step("label")
        return `${a}, ${b}`
      })
    )
    const done = (value: string) => ({ _tag: "Success", value })
    return Effect.gen(function* () {
      const id = yield* Skewed.executionId({})
      yield* store.create({ executionId: id, workflow: "Skewed", payload: {}, parent: undefined, at: 1_000, announce: false })
      const claim = Option.getOrThrow(yield* store.claim(id, "worker-a", 1_000))
      yield* store.recordAttempt(id, claim.fence, { name: "pack", attempt: 1, exit: done("stored pack"), startedAt: 2_000, completedAt: 2_010 })
      yield* store.recordAttempt(id, claim.fence, { name: "label", attempt: 1, exit: done("stored label"), startedAt: 1_500, completedAt: 1_505 })
      yield* store.release(id, claim.fence)
      const engine = yield* Layer.build(
        Layer.provideMerge(SkewedLive, WorkflowEngine.layer().pipe(Layer.provide(Layer.succeed(WorkflowStore.WorkflowStore, store))))
      )
      yield* Effect.gen(function* () {
        yield* (yield* WorkflowEngine.WorkflowEngine).resume(id).pipe(Effect.ignore)
        yield* waitUntil(Effect.map(WorkflowEngine.get(id), (r) => r.status !== "running"), "ended")
        assert.deepStrictEqual(yield* Workflow.result(Skewed, id), Option.some(Exit.succeed("stored pack, stored label")))
      }).pipe(Effect.provide(engine))
    }).pipe(Effect.scoped)
  })

  it.effect("the same steps asked in the same order, or one asked again, pass", () => {
    const Twice = Workflow.make({ name: "Twice", payload: {}, success: Schema.Number, idempotencyKey: () => "t" })
    let runs = 0
    const count = Activity.make({ name: "count", success: Schema.Number, execute: Effect.sync(() => ++runs) })
    const other = Activity.make({ name: "other", success: Schema.Number, execute: Effect.succeed(10) })
    return Effect.gen(function* () {
      const id = yield* Twice.execute({}, { discard: true })
      yield* suspended(Twice, id)
      yield* TestClock.adjust("2 minutes")
      yield* waitUntil(Effect.map(WorkflowEngine.get(id), (r) => r.status === "succeeded"), "succeeded")
      assert.deepStrictEqual(yield* Workflow.result(Twice, id), Option.some(Exit.succeed(12)))
      assert.strictEqual(runs, 1)
    }).pipe(
      Effect.provide(
        Layer.provideMerge(
          Twice.toLayer(() =>
            Effect.gen(function* () {
              const a = yield* count
              yield* Effect.yieldNow
              const b = yield* other
              yield* DurableClock.sleep({ name: "nap", duration: "90 seconds" })
              // Asked again after "other": the same value, never a divergence.
              const again = yield* count
              return a + b + again
            })
          ),
          WorkflowEngine.layerMemory
        )
      )
    )
  })
})
