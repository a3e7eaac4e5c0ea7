/**
 * An engine that cannot do what it is asked says why: an `execute` that no worker of this engine runs warns
 * after a while (and keeps waiting), and a workflow registered on another engine instance of the process is
 * reported as that, not as unknown.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as References from "effect/References"
import * as Schema from "effect/Schema"
import { TestClock } from "effect/testing"
import { Activity, Workflow, WorkflowEngine } from "@weft/workflow"
import { hasStatus, waitUntil } from "./util.js"

describe("an execute that no worker of this engine runs", () => {
  it.effect("warns once after noWorkerWarningMs, naming the workflow and execution, and keeps waiting", () =>
    withWarnings((warnings) =>
      Effect.gen(function* () {
        const fiber = yield* Effect.forkChild(Greet.execute({ name: "Ada" }))
        const executionId = yield* Greet.executionId({ name: "Ada" })
        yield* waitUntil(hasStatus(executionId, "running"), "the execution is stored")
        yield* TestClock.adjust("29 seconds")
        assert.deepStrictEqual(warnings(), [])
        yield* TestClock.adjust("1 second")
        const [warning, ...more] = warnings()
        assert.deepStrictEqual(more, [])
        assert.include(warning!.message, `execution ${executionId} of workflow "Greet" has waited 30 s`)
        assert.include(warning!.message, "No worker in this process runs it, so it keeps waiting for a worker elsewhere")
        assert.deepStrictEqual(warning!.annotations, { "weft.workflow": "Greet", "weft.execution": executionId })
        // Still waiting, not failed, and warned once.
        yield* TestClock.adjust("1 hour")
        assert.isUndefined(fiber.pollUnsafe())
        assert.strictEqual(warnings().length, 1)
        // A worker for it arrives (here, the workflow's layer on this very engine): the caller gets the result.
        yield* Layer.build(GreetLive)
        assert.strictEqual(yield* Fiber.join(fiber), "Hello, Ada")
      }).pipe(Effect.provide(WorkflowEngine.layerMemoryWith({ acceptUnregistered: true })))
    ))

  it.effect("warns after the configured time; never with Infinity; never for a workflow the engine runs", () =>
    withWarnings((warnings) =>
      Effect.gen(function* () {
        const submitted = (noWorkerWarningMs: number) =>
          Effect.gen(function* () {
            const fiber = yield* Effect.forkChild(Greet.execute({ name: "Grace" }))
            yield* waitUntil(hasStatus(yield* Greet.executionId({ name: "Grace" }), "running"), "stored")
            yield* TestClock.adjust("5 seconds")
            const warned = warnings().length
            yield* TestClock.adjust("1 day")
            yield* Fiber.interrupt(fiber)
            return warned
          }).pipe(Effect.provide(WorkflowEngine.layerMemoryWith({ acceptUnregistered: true, noWorkerWarningMs })))
        assert.strictEqual(yield* submitted(5_000), 1)
        assert.strictEqual(yield* submitted(Infinity), 1)

        // Registered here: it runs here, nothing to warn of, however long its body takes.
        const started = Deferred.makeUnsafe<void>()
        const gate = Deferred.makeUnsafe<void>()
        const ran = yield* Effect.gen(function* () {
          const fiber = yield* Effect.forkChild(Slow.execute({ name: "Edsger" }))
          yield* Deferred.await(started)
          yield* TestClock.adjust("1 day")
          yield* Deferred.succeed(gate, undefined)
          return yield* Fiber.join(fiber)
        }).pipe(
          Effect.provide(
            Slow.toLayer(({ name }) =>
              Effect.andThen(Deferred.succeed(started, undefined), Effect.andThen(Deferred.await(gate), greet(name)))
            ).pipe(Layer.provideMerge(WorkflowEngine.layerMemoryWith({ acceptUnregistered: true })))
          )
        )
        assert.strictEqual(ran, "Hello, Edsger")
        assert.strictEqual(warnings().length, 1)
      })
    ))

  it.effect("says when the workflow is registered on another engine instance of this process", () =>
    withWarnings((warnings) =>
      Effect.gen(function* () {
        yield* Layer.build(GreetLive.pipe(Layer.provideMerge(WorkflowEngine.layerMemoryWith())))
        const submitter = yield* Layer.build(WorkflowEngine.layerMemoryWith({ acceptUnregistered: true }))
        const fiber = yield* Effect.forkChild(Effect.provideContext(Greet.execute({ name: "Barbara" }), submitter))
        const executionId = yield* Greet.executionId({ name: "Barbara" })
        yield* waitUntil(Effect.provideContext(hasStatus(executionId, "running"), submitter), "stored")
        yield* TestClock.adjust("30 seconds")
        const [warning] = warnings()
        assert.include(warning?.message ?? "", `"Greet" is registered on another engine instance of this process`)
        yield* Fiber.interrupt(fiber)
      })
    ))
})

describe("a workflow not registered with the engine called", () => {
  it.effect("is reported as registered on another engine instance when one of this process has it", () =>
    Effect.gen(function* () {
      // Two engine layers (each call of a layer constructor is a layer of its own, built on its own): the workflow's
      // layer got one, its caller the other.
      const error = yield* Greet.execute({ name: "Ada" }).pipe(
        Effect.provide(GreetLive.pipe(Layer.provide(WorkflowEngine.layerMemoryWith()))),
        Effect.provide(WorkflowEngine.layerMemoryWith()),
        Effect.flip
      )
      assert.strictEqual(error.reason, "NotRegistered")
      assert.strictEqual(error.workflow, "Greet")
      assert.match(
        error.message,
        /^Workflow "Greet" is registered on another engine instance, not the one in this context/
      )
      // The same program with one engine layer, given to both, runs it.
      const engine = WorkflowEngine.layerMemoryWith()
      const result = yield* Greet.execute({ name: "Ada" }).pipe(
        Effect.provide(GreetLive.pipe(Layer.provide(engine))),
        Effect.provide(engine)
      )
      assert.strictEqual(result, "Hello, Ada")
    }))

  it.effect("is plainly not registered once the engine that had it is closed (the record keeps no engine)", () =>
    Effect.gen(function* () {
      const notRegistered = Effect.suspend(() =>
        Greet.execute({ name: "Ada" }).pipe(Effect.provide(WorkflowEngine.layerMemoryWith()), Effect.flip)
      )
      yield* Effect.scoped(
        Effect.gen(function* () {
          yield* Layer.build(GreetLive.pipe(Layer.provideMerge(WorkflowEngine.layerMemoryWith())))
          assert.match((yield* notRegistered).message, /registered on another engine instance/)
        })
      )
      const error = yield* notRegistered
      assert.strictEqual(error.reason, "NotRegistered")
      assert.strictEqual(
        error.message,
        `Workflow "Greet" is not registered with this engine: provide its layer (Greet.toLayer(...))`
      )
    }))
})

// ---------------------------------------------------------------------------------------------------------
// Fixtures

interface Logged {
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
}

/** Runs `body` with a logger that keeps the warnings logged, which `body` can read. */
const withWarnings = <A, E, R>(
  body: (warnings: () => ReadonlyArray<Logged>) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    const seen: Array<Logged> = []
    const logger = Logger.make(({ fiber, logLevel, message }) => {
      if (logLevel !== "Warn") return
      seen.push({
        message: (Array.isArray(message) ? message : [message]).map(String).join(" "),
        annotations: { ...fiber.getRef(References.CurrentLogAnnotations) }
      })
    })
    return body(() => [...seen]).pipe(Effect.provide(Logger.layer([logger])))
  })

const Greet = Workflow.make({
  name: "Greet",
  payload: { name: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ name }) => name
})

const greet = (name: string) =>
  Activity.make({ name: "greet", success: Schema.String, execute: Effect.succeed(`Hello, ${name}`) })

const GreetLive = Greet.toLayer(({ name }) => greet(name))

/** A workflow whose body the test holds as long as it likes. */
const Slow = Workflow.make({
  name: "Slow",
  payload: { name: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ name }) => name
})
