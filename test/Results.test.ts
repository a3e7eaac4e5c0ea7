/**
 * Waiting for a result by id alone (`WorkflowEngine.result`, `Workflow.result`) on every store: an execution that
 * another engine on the same store runs, an ended one, a typed failure, an unknown id, a timeout and an interrupted
 * wait; and discovery (`WorkflowEngine.workflows`) with the JSON Schemas of each registered workflow.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { TestClock } from "effect/testing"
import { PgEngine } from "@weft/engine-sql/pg"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import {
  Activity,
  DurableDeferred,
  MemoryStore,
  Workflow,
  WorkflowEngine,
  WorkflowError,
  type WorkflowStore
} from "@weft/workflow"
import * as Engine from "../packages/workflow/src/internal/engine.js"
import { testDatabase } from "./pg.js"
import { hasStatus, waitUntil } from "./util.js"

/** Engines over one store: each call is another engine on it, as another process would open it. */
type Engines = (
  options?: WorkflowEngine.Options
) => Layer.Layer<WorkflowEngine.WorkflowEngine | WorkflowStore.WorkflowStore, unknown>

/** A back-end: `open` makes a fresh store (closed with the scope) and returns how to open engines on it. */
interface Backend {
  readonly name: string
  readonly open: Effect.Effect<Engines, unknown, Scope.Scope>
}

const backends: ReadonlyArray<Backend> = [
  {
    name: "memory",
    open: Effect.map(Layer.build(MemoryStore.layer()), (store) => (options) =>
      // Engines sharing a memory store hear of each other's ends only by polling.
      WorkflowEngine.layer({ pollIntervalMs: 20, ...options }).pipe(Layer.provideMerge(Layer.succeedContext(store))))
  },
  {
    name: "sqlite",
    open: Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "weft-results-"))),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      ),
      (dir) => (options) => SqliteEngine.layer({ filename: join(dir, "weft.db"), ...options })
    )
  },
  {
    name: "postgres",
    open: Effect.map(testDatabase(), (url) => (options) => PgEngine.layer({ url, maxConnections: 4, ...options }))
  }
]

for (const backend of backends) {
  describe(`waiting for a result by id: ${backend.name}`, () => {
    it.live("gets the result of an execution that another engine on the same store started and runs", () =>
      Effect.gen(function* () {
        const engines = yield* backend.open
        const open = yield* Deferred.make<void>()
        const worker = yield* Layer.build(Layer.provideMerge(gateLive(open), engines()))
        // It has neither the body nor the payload: the definition and the id only.
        const other = yield* Layer.build(engines())
        const id = yield* Gate.execute({ id: "g1" }, { discard: true }).pipe(Effect.provide(worker))

        const waiting = yield* Effect.forkChild(Workflow.result(Gate, id).pipe(Effect.provide(other)))
        yield* waitUntil(Effect.sync(() => engineOf(other).results.has(id)), "the other engine waits")
        yield* Deferred.succeed(open, undefined)
        const exit = yield* Fiber.join(waiting)
        assert.deepStrictEqual(exit, Option.some(Exit.succeed("opened g1")))

        const record = yield* WorkflowEngine.result(id).pipe(Effect.provide(other))
        assert.strictEqual(Option.isSome(record) && record.value.status, "succeeded")
        assert.deepStrictEqual(engineOf(other).results.ids(), [])
      }))

    it.live("answers an ended execution at once, with a failed execution's typed error, even with a zero timeout", () =>
      Effect.gen(function* () {
        const engines = yield* backend.open
        const worker = yield* Layer.build(Layer.provideMerge(RefuseLive, engines()))
        const other = yield* Layer.build(engines())
        const error = yield* Effect.flip(Refuse.execute({ id: "r1" }).pipe(Effect.provide(worker)))
        assert.instanceOf(error, Declined)
        const id = yield* Refuse.executionId({ id: "r1" })

        const exit = yield* Workflow.result(Refuse, id, { timeout: 0 }).pipe(Effect.provide(other))
        assert.isTrue(Option.isSome(exit) && Exit.isFailure(exit.value))
        const failure = Option.isSome(exit) && Exit.isFailure(exit.value) ? exit.value.cause.reasons[0] : undefined
        assert.isTrue(failure?._tag === "Fail" && failure.error instanceof Declined && failure.error.why === "r1")
        const record = yield* WorkflowEngine.result(id).pipe(Effect.provide(other))
        assert.strictEqual(Option.isSome(record) && record.value.status, "failed")
      }))

    it.live("fails with ExecutionNotFound for an unknown id, an id of another workflow and a malformed id", () =>
      Effect.gen(function* () {
        const engines = yield* backend.open
        const engine = yield* Layer.build(Layer.provideMerge(RefuseLive, engines()))
        yield* Effect.flip(Refuse.execute({ id: "r2" }).pipe(Effect.provide(engine)))
        const refused = yield* Refuse.executionId({ id: "r2" })
        for (const [workflow, id] of [[Refuse, "0".repeat(32)], [Gate, refused], [Refuse, "a\u0000\ud800"]] as const) {
          const error = yield* Effect.flip(Workflow.result(workflow as typeof Refuse, id).pipe(Effect.provide(engine)))
          assert.instanceOf(error, WorkflowError.WorkflowError)
          assert.strictEqual(error.reason, "ExecutionNotFound")
        }
        const error = yield* Effect.flip(WorkflowEngine.result("0".repeat(32)).pipe(Effect.provide(engine)))
        assert.strictEqual(error.reason, "ExecutionNotFound")
        assert.deepStrictEqual(engineOf(engine).results.ids(), [])
      }))

    it.effect("answers None once the timeout passes, by the Clock, and leaves no waiter", () =>
      Effect.gen(function* () {
        const engines = yield* backend.open
        const engine = yield* Layer.build(Layer.provideMerge(ParkedLive, engines()))
        const id = yield* Parked.execute({ id: "t1" }, { discard: true }).pipe(Effect.provide(engine))
        yield* waitUntil(Effect.provide(hasStatus(id, "suspended"), engine), "suspended")

        const now = yield* Workflow.result(Parked, id, { timeout: 0 }).pipe(Effect.provide(engine))
        assert.deepStrictEqual(now, Option.none())
        const waiting = yield* Effect.forkChild(
          Workflow.result(Parked, id, { timeout: "1 hour" }).pipe(Effect.provide(engine))
        )
        yield* waitUntil(
          Effect.andThen(TestClock.adjust("1 hour"), Effect.sync(() => waiting.pollUnsafe() !== undefined)),
          "the wait timed out"
        )
        assert.deepStrictEqual(yield* Fiber.join(waiting), Option.none())
        assert.deepStrictEqual(engineOf(engine).results.ids(), [])
        assert.isTrue(yield* Effect.provide(hasStatus(id, "suspended"), engine))
      }))

    it.live("an interrupted wait leaves nothing behind, and the execution goes on to its result", () =>
      Effect.gen(function* () {
        const engines = yield* backend.open
        const engine = yield* Layer.build(Layer.provideMerge(ParkedLive, engines()))
        const id = yield* Parked.execute({ id: "i1" }, { discard: true }).pipe(Effect.provide(engine))
        yield* waitUntil(Effect.provide(hasStatus(id, "suspended"), engine), "suspended")

        const waiting = yield* Effect.forkChild(Workflow.result(Parked, id).pipe(Effect.provide(engine)))
        yield* waitUntil(Effect.sync(() => engineOf(engine).results.has(id)), "waiting")
        yield* Fiber.interrupt(waiting)
        assert.deepStrictEqual(engineOf(engine).results.ids(), [])
        assert.isTrue(yield* Effect.provide(hasStatus(id, "suspended"), engine))

        const token = yield* DurableDeferred.tokenFor(Go, { workflow: Parked.name, executionId: id }).pipe(
          Effect.provide(engine)
        )
        yield* DurableDeferred.succeed(Go, { token, value: "went" }).pipe(Effect.provide(engine))
        assert.deepStrictEqual(
          yield* Workflow.result(Parked, id).pipe(Effect.provide(engine)),
          Option.some(Exit.succeed("parked i1: went"))
        )
      }))
  })
}

describe("discovery", () => {
  it.effect("lists the registered workflows by name with the JSON Schemas of their payload, success and error", () =>
    Effect.gen(function* () {
      const workflows = yield* WorkflowEngine.workflows
      assert.deepStrictEqual(workflows.map((w) => w.name), ["Odd", "Parked", "Refuse"])
      const refuse = workflows.find((w) => w.name === "Refuse")!
      assert.deepStrictEqual(refuse.payload, {
        _tag: "JsonSchema",
        schema: {
          type: "object",
          properties: { id: { type: "string" } },
          required: ["id"],
          additionalProperties: true
        }
      })
      assert.deepStrictEqual(refuse.success, { _tag: "JsonSchema", schema: { type: "string" } })
      const error = refuse.error._tag === "JsonSchema" ? refuse.error.schema : {}
      assert.deepStrictEqual(error.$ref, "#/$defs/DeclinedEncoded")
      // A schema with no JSON Schema form says so in its entry, and the listing goes on.
      const odd = workflows.find((w) => w.name === "Odd")!
      assert.strictEqual(odd.success._tag, "Unsupported")
      assert.match(odd.success._tag === "Unsupported" ? odd.success.message : "", /no JSON Schema form/)
      assert.strictEqual(odd.payload._tag, "JsonSchema")
      // A definition is described the same way without an engine.
      assert.deepStrictEqual(WorkflowEngine.describe(Refuse), refuse)
    }).pipe(Effect.provide(Layer.provideMerge(Bodies, WorkflowEngine.layerMemory))))
})

const engineOf = (context: Context.Context<WorkflowEngine.WorkflowEngine>) =>
  Engine.of(Context.get(context, WorkflowEngine.WorkflowEngine))

class Declined extends Schema.TaggedError<Declined>()("Declined", { why: Schema.String }) {}

const Gate = Workflow.make({
  name: "Gate",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const gateLive = (open: Deferred.Deferred<void>) =>
  Gate.toLayer(({ id }) =>
    Activity.make({ name: "gate", success: Schema.String, execute: Effect.as(Deferred.await(open), `opened ${id}`) })
  )

const Refuse = Workflow.make({
  name: "Refuse",
  payload: { id: Schema.String },
  success: Schema.String,
  error: Declined,
  idempotencyKey: ({ id }) => id
})

const RefuseLive = Refuse.toLayer(({ id }) => Effect.fail(new Declined({ why: id })))

const Go = DurableDeferred.make("go", { success: Schema.String })

const Parked = Workflow.make({
  name: "Parked",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const ParkedLive = Parked.toLayer(({ id }) => Effect.map(DurableDeferred.await(Go), (by) => `parked ${id}: ${by}`))

// A success whose key is a symbol: JSON Schema has no form for it.
const Odd = Workflow.make({
  name: "Odd",
  payload: { id: Schema.String },
  success: Schema.Struct({ [Symbol.for("weft/odd")]: Schema.String }),
  idempotencyKey: ({ id }) => id
})

const OddLive = Odd.toLayer(() => Effect.die("never run"))

const Bodies = Layer.mergeAll(RefuseLive, ParkedLive, OddLive)
