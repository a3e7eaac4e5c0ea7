/**
 * The determinism guard on a changed step kind: a deploy that turns a journaled step into another kind of step under
 * the same name (an activity into a durable sleep, say) fails the replay at that step, before the new step runs.
 * Concurrent branches may use one name for two kinds: those are never judged, and pass.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import { Activity, DurableClock, DurableDeferred, Workflow, WorkflowEngine } from "@weft/workflow"
import { record, suspended, waitUntil } from "./util.js"

const dir = mkdtempSync(join(tmpdir(), "weft-kindguard-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("the kind guard", () => {
  it.live("an activity turned into a durable sleep of the same name fails at the step; no clock is stored", () =>
    deploy("activity", "sleep", WorkflowEngine.layerMemory).pipe(
      Effect.map(({ detail, ran }) => {
        assert.isFalse(detail.clocks.some((c) => c.name === "@weft/clock/charge"), "the new sleep was not stored")
        assert.deepStrictEqual(ran, ["charge"])
      })
    ))

  it.live("an activity turned into a deferred await of the same name fails at the step instead of waiting", () =>
    deploy("activity", "deferred", WorkflowEngine.layerMemory).pipe(
      Effect.map(({ ran }) => assert.deepStrictEqual(ran, ["charge"]))
    ))

  it.live("a durable sleep turned into an activity of the same name fails at the step; the activity never runs", () =>
    deploy("sleep", "activity", WorkflowEngine.layerMemory).pipe(
      Effect.map(({ detail, ran }) => {
        assert.deepStrictEqual(ran, [])
        assert.isFalse(detail.attempts.some((a) => a.name === "charge"), "the new activity was not recorded")
      })
    ))

  it.live("a durable sleep turned into a deferred await of the same name fails at the step", () =>
    deploy("sleep", "deferred", WorkflowEngine.layerMemory).pipe(
      Effect.map(({ ran }) => assert.deepStrictEqual(ran, []))
    ))

  it.live("on SQLite too: an activity turned into a durable sleep fails at the step", () =>
    deploy("activity", "sleep", SqliteEngine.layer({ filename: join(dir, "kind.db") })).pipe(
      Effect.map(({ detail, ran }) => {
        assert.isFalse(detail.clocks.some((c) => c.name === "@weft/clock/charge"))
        assert.deepStrictEqual(ran, ["charge"])
      })
    ))

  it.live("the same code replays as before: no deploy, no error", () => {
    const code = { charge: "activity" as Kind }
    const ran: Array<string> = []
    return Effect.gen(function* () {
      const id = yield* Pay.execute({ id: "same" }, { discard: true })
      yield* suspended(Pay, id)
      yield* go(id)
      yield* waitUntil(Effect.map(WorkflowEngine.get(id), (r) => r.status === "succeeded"), "succeeded")
      assert.deepStrictEqual(ran, ["charge", "ship"])
    }).pipe(Effect.provide(Layer.provideMerge(payBodies(code, ran), WorkflowEngine.layerMemory)))
  })
})

describe("the kind guard never judges legitimate code", () => {
  it.live("a sleep after an activity of the same name, and an await of that name after both, pass", () => {
    let bodyRuns = 0
    const ran: Array<string> = []
    const x = Activity.make({ name: "x", execute: Effect.sync(() => void ran.push("x")) })
    const X = DurableDeferred.make("x")
    const Live = Legit.toLayer(() =>
      Effect.gen(function* () {
        bodyRuns++
        yield* x
        yield* DurableDeferred.await(Go)
        // Asked after the journal's activity "x" was asked again: nothing to judge.
        yield* DurableClock.sleep({ name: "x", duration: "1 millis" })
        yield* DurableDeferred.await(X)
        return "done"
      })
    )
    return Effect.gen(function* () {
      const id = yield* Legit.execute({ id: "sequential" }, { discard: true })
      yield* suspended(Legit, id)
      yield* signal(Go, Legit, id)
      yield* waitUntil(Effect.sync(() => bodyRuns >= 2), "second run")
      yield* suspended(Legit, id)
      // A third run (the await of "x" is still new to the journal, whose activity "x" is asked before it).
      yield* (yield* WorkflowEngine.WorkflowEngine).resume(id)
      yield* waitUntil(Effect.sync(() => bodyRuns >= 3), "third run")
      yield* suspended(Legit, id)
      yield* signal(X, Legit, id)
      yield* waitUntil(Effect.map(WorkflowEngine.get(id), (r) => r.status === "succeeded"), "succeeded")
      assert.deepStrictEqual(ran, ["x"])
      assert.deepStrictEqual(yield* Workflow.result(Legit, id), Option.some(Exit.succeed("done")))
    }).pipe(Effect.provide(Layer.provideMerge(Live, WorkflowEngine.layerMemory)))
  })

  it.live("an activity and a deferred of one name in concurrent branches pass, the await asked first", () =>
    legitConcurrent((x, X) =>
      Effect.map(
        Effect.all([DurableDeferred.await(X), x, DurableDeferred.await(Other)], {
          concurrency: "unbounded"
        }),
        () => "done"
      )
    ))

  it.live("an activity in a forked fiber and a deferred of the same name awaited by the body pass", () =>
    legitConcurrent((x, X) =>
      Effect.gen(function* () {
        const fiber = yield* Effect.forkChild(x)
        yield* DurableDeferred.await(Other)
        yield* DurableDeferred.await(X)
        yield* Fiber.join(fiber)
        return "done"
      })
    ))

  it.live("an activity forked into the execution's scope and a deferred of the same name pass", () =>
    legitConcurrent((x, X) =>
      Effect.gen(function* () {
        const fiber = yield* Effect.forkScoped(x)
        yield* DurableDeferred.await(Other)
        yield* DurableDeferred.await(X)
        yield* Fiber.join(fiber)
        return "done"
      })
    ))

  it.live("an activity in a detached fiber and a deferred of the same name pass (its step replays first)", () =>
    legitConcurrent(
      (x, X) =>
        Effect.gen(function* () {
          const fiber = yield* Effect.forkDetach(x)
          yield* DurableDeferred.await(Other)
          yield* DurableDeferred.await(X)
          yield* Fiber.join(fiber)
          return "done"
        }),
      { holdBack: false }
    ))

  it.live("a sleep and an activity of one name in concurrent branches pass, the sleep asked first", () => {
    let bodyRuns = 0
    const ran: Array<string> = []
    const gate = Deferred.makeUnsafe<void>()
    const x = Activity.make({ name: "x", execute: Effect.sync(() => void ran.push("x")) })
    const Live = Legit.toLayer(() =>
      Effect.gen(function* () {
        bodyRuns++
        // The first run records the activity and suspends on "other" before the sleep's branch asks its clock; in
        // the second, the activity's branch is held back, so the sleep is asked first.
        yield* Effect.all(
          [
            Effect.andThen(DurableDeferred.await(Other), DurableClock.sleep({ name: "x", duration: "1 millis" })),
            bodyRuns === 2 ? Effect.andThen(Deferred.await(gate), x) : x
          ],
          { concurrency: "unbounded" }
        )
        return "done"
      })
    )
    return Effect.gen(function* () {
      const id = yield* Legit.execute({ id: "sleep-branch" }, { discard: true })
      yield* suspended(Legit, id)
      yield* signal(Other, Legit, id)
      yield* waitUntil(Effect.map(record(id), (d) => d.clocks.some((c) => c.name === "@weft/clock/x")), "slept")
      yield* Deferred.succeed(gate, undefined)
      yield* waitUntil(Effect.map(WorkflowEngine.get(id), (r) => r.status === "succeeded"), "succeeded")
      assert.deepStrictEqual(ran, ["x"])
      assert.strictEqual(bodyRuns, 2)
    }).pipe(Effect.provide(Layer.provideMerge(Live, WorkflowEngine.layerMemory)))
  })
})

// Fixtures

/** The kinds of step the deploys switch "charge" between. */
type Kind = "activity" | "sleep" | "deferred"

const Go = DurableDeferred.make("go")
const Other = DurableDeferred.make("other")
const ChargeSignal = DurableDeferred.make("charge")

const Pay = Workflow.make({
  name: "Pay",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const Legit = Workflow.make({
  name: "Legit",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

/** The code in production: step "charge" is of kind `code.charge`, switched by the test between deploys. */
const payBodies = (code: { charge: Kind }, ran: Array<string>) => {
  const step = (name: string) => Activity.make({ name, execute: Effect.sync(() => void ran.push(name)) })
  const charge = step("charge")
  const ship = step("ship")
  return Pay.toLayer(() =>
    Effect.gen(function* () {
      if (code.charge === "activity") yield* charge
      else if (code.charge === "sleep") yield* DurableClock.sleep({ name: "charge", duration: "1 millis" })
      else yield* DurableDeferred.await(ChargeSignal)
      yield* DurableDeferred.await(Go)
      yield* ship
      return ran.join(",")
    })
  )
}

const signal = (deferred: typeof Go, workflow: Workflow.Any, executionId: string) =>
  Effect.flatMap(DurableDeferred.tokenFor(deferred, { workflow: workflow.name, executionId }), (token) =>
    DurableDeferred.succeed(deferred, { token, value: undefined }))

const go = (executionId: string) => signal(Go, Pay, executionId)

const kindNames: Record<Kind, string> = {
  activity: "an activity",
  sleep: "a durable sleep",
  deferred: "a deferred await"
}

/**
 * Runs "Pay" under code `from` until it waits for "go", deploys `to`, and lets it replay: it must fail at "charge",
 * naming both kinds and the way out, with "ship" never run.
 */
const deploy = (from: Kind, to: Kind, engine: Layer.Layer<WorkflowEngine.WorkflowEngine, unknown>) => {
  const code = { charge: from }
  const ran: Array<string> = []
  return Effect.gen(function* () {
    const id = yield* Pay.execute({ id: `${from}-to-${to}` }, { discard: true })
    yield* suspended(Pay, id)
    code.charge = to
    yield* go(id)
    yield* waitUntil(Effect.map(WorkflowEngine.get(id), (r) => r.status === "failed"), "failed")
    const end = JSON.stringify((yield* WorkflowEngine.get(id)).result).replaceAll("\\\"", "\"")
    assert.include(end, "NonDeterminismError")
    assert.include(end, `Execution ${id} of workflow "Pay" diverged from its journal at "charge"`)
    assert.include(end, `the journal holds ${kindNames[from]}`)
    assert.include(end, `but the body now asks for ${kindNames[to]}`)
    assert.include(end, "Workflow.patched")
    assert.notInclude(end, "finished without asking")
    const detail = yield* record(id)
    assert.isFalse(detail.attempts.some((a) => a.name === "ship"), "nothing after the changed step ran")
    return { detail, ran }
  }).pipe(Effect.provide(Layer.provideMerge(payBodies(code, ran), engine)))
}

/**
 * A body where activity "x" and an await of deferred "x" run concurrently: the first run records the activity and
 * suspends; "other" wakes a second run where the await is new to the journal and may be asked before the activity
 * (which must pass); "x" then ends it.
 */
const legitConcurrent = (
  body: (x: Effect.Effect<void, never, any>, X: typeof Go) => Effect.Effect<string, unknown, any>,
  options: { readonly holdBack: boolean } = { holdBack: true }
) => {
  let bodyRuns = 0
  const ran: Array<string> = []
  const gate = Deferred.makeUnsafe<void>()
  const activity: Effect.Effect<void, never, any> = Activity.make({
    name: "x",
    execute: Effect.sync(() => void ran.push("x"))
  })
  // In the second run the activity's branch is held back (as by a slow non-durable wait): the await is asked first.
  const x = Effect.suspend(() =>
    options.holdBack && bodyRuns === 2 ? Effect.andThen(Deferred.await(gate), activity) : activity
  )
  const X = DurableDeferred.make("x")
  const Live = Legit.toLayer(() =>
    Effect.suspend(() => {
      bodyRuns++
      return Effect.orDie(body(x, X))
    })
  )
  return Effect.gen(function* () {
    const id = yield* Legit.execute({ id: "concurrent" }, { discard: true })
    yield* waitUntil(Effect.map(record(id), (d) => d.attempts.some((a) => a.name === "x")), "x recorded")
    yield* suspended(Legit, id)
    yield* signal(Other, Legit, id)
    yield* waitUntil(Effect.sync(() => bodyRuns >= 2), "second run")
    yield* suspended(Legit, id)
    assert.strictEqual((yield* WorkflowEngine.get(id)).status, "suspended")
    yield* Deferred.succeed(gate, undefined)
    yield* signal(X, Legit, id)
    yield* waitUntil(
      Effect.map(WorkflowEngine.get(id), (r) => r.status !== "suspended" && r.status !== "running"),
      "ended"
    )
    assert.deepStrictEqual(yield* Workflow.result(Legit, id), Option.some(Exit.succeed("done")))
    assert.deepStrictEqual(ran, ["x"])
  }).pipe(Effect.provide(Layer.provideMerge(Live, WorkflowEngine.layerMemory)))
}
