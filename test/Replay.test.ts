/**
 * Replay tests: the fixtures recorded from the examples (test/fixtures/replay, made by its record.ts) replay against
 * today's code, and a body changed under a recorded execution fails with `NonDeterminismError` naming the step,
 * without running any activity body.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { TestClock } from "effect/testing"
import {
  Activity,
  DurableClock,
  DurableDeferred,
  Workflow,
  WorkflowEngine,
  WorkflowError,
  WorkflowReplayer
} from "@weft/workflow"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import { ExpenseApprovalLive } from "../examples/approval.js"
import { ProcessOrderLive } from "../examples/order-processing.js"

const root = resolve(import.meta.dirname, "..")
const fixtures = join(root, "test", "fixtures", "replay")
const tsx = pathToFileURL(join(root, "node_modules", "tsx", "dist", "loader.mjs")).href
const bin = join(root, "packages", "cli", "src", "bin.ts")

describe("WorkflowReplayer: the recorded examples", () => {
  const files = readdirSync(fixtures).filter((file) => file.endsWith(".json")).sort()
  const ExamplesLive = Layer.mergeAll(ProcessOrderLive, ExpenseApprovalLive).pipe(
    Layer.provideMerge(WorkflowEngine.layerMemory)
  )

  it("holds fixtures of every example workflow, succeeded and failed", () => {
    assert.deepStrictEqual(files, [
      "expense-approved.json",
      "expense-rejected.json",
      "order-cancelled.json",
      "order-confirmed-sqlite.json",
      "order-confirmed.json"
    ])
  })

  for (const file of files) {
    it.effect(`replays ${file} against today's code to its recorded end`, () =>
      Effect.gen(function* () {
        const fixture = yield* WorkflowReplayer.fromJson(readFileSync(join(fixtures, file), "utf8"))
        const replayed = yield* WorkflowReplayer.replay(fixture).pipe(Effect.provide(ExamplesLive))
        assert.strictEqual(replayed.status, fixture.execution.status)
        assert.strictEqual(replayed.executionId, fixture.execution.executionId)
      })
    )
  }
})

describe("WorkflowReplayer: a changed body", () => {
  it.effect("replays an unchanged body without running any activity body", () =>
    Effect.gen(function* () {
      const fixture = yield* recorded
      const before = ran.count
      const replayed = yield* replayWith(fixture, original)
      assert.strictEqual(ran.count, before)
      assert.strictEqual(replayed.status, "succeeded")
      assert.deepStrictEqual(replayed.steps.filter((step) => !step.startsWith("@weft/")), ["a", "b", "c"])
    })
  )

  it.effect("fails naming an activity renamed since the recording", () =>
    Effect.gen(function* () {
      const error = yield* divergence(
        replayWith(yield* recorded, (p) => steps(p, [step("a", 1), step("b-renamed", 2), step("c", 3)]))
      )
      assert.strictEqual(error.activity, "b-renamed")
      assert.include(error.message, "never ran it")
      assert.include(error.message, "ReplayFlow")
    })
  )

  it.effect("fails naming an activity asked for after one the recording started only once it had finished", () =>
    Effect.gen(function* () {
      const fixture = yield* recorded
      const error = yield* divergence(replayWith(fixture, (p) => steps(p, [step("a", 1), step("c", 3), step("b", 2)])))
      // The runtime's own guard stops it where the order breaks: "b" asked after "c", which the recording began
      // only after "b" had finished.
      assert.strictEqual(error.activity, "b")
      assert.include(error.message, `after "c", but the journal finished it before "c" started (a reordered body)`)
    })
  )

  it.effect("fails naming an activity the recording holds and the body no longer asks for", () =>
    Effect.gen(function* () {
      const error = yield* divergence(replayWith(yield* recorded, (p) => steps(p, [step("a", 1), step("c", 3)])))
      assert.strictEqual(error.activity, "b")
      assert.include(error.message, "finished without asking")
    })
  )

  it.effect("fails naming an activity added since the recording, without running it", () =>
    Effect.gen(function* () {
      const fixture = yield* recorded
      const before = ran.count
      const error = yield* divergence(
        replayWith(fixture, (p) => steps(p, [step("a", 1), step("b", 2), step("new", 9), step("c", 3)]))
      )
      assert.strictEqual(error.activity, "new")
      assert.strictEqual(ran.count, before)
    })
  )

  it.effect("fails naming an activity whose success schema no longer decodes its stored result", () =>
    Effect.gen(function* () {
      const changed = Activity.make({ name: "b", success: Schema.String, execute: Effect.succeed("two") })
      const error = yield* divergence(
        replayWith(yield* recorded, (p) =>
          Effect.gen(function* () {
            yield* step("a", 1)
            yield* changed
            yield* step("c", 3)
            return p.id
          })
        )
      )
      assert.strictEqual(error.activity, "b")
      assert.include(error.message, "no longer decodes")
    })
  )

  it.effect("fails naming a sleep and a deferred the recorded execution never had", () =>
    Effect.gen(function* () {
      const fixture = yield* recorded
      const slept = yield* divergence(
        replayWith(fixture, (p) =>
          Effect.andThen(DurableClock.sleep({ name: "pause", duration: "1 hour" }), original(p))
        )
      )
      assert.strictEqual(slept.activity, "pause")
      const waited = yield* divergence(
        replayWith(fixture, (p) => Effect.andThen(DurableDeferred.await(Go), original(p)))
      )
      assert.strictEqual(waited.activity, "go")
      assert.include(waited.message, "never received it")
      const timed = yield* divergence(
        replayWith(fixture, (p) => Effect.andThen(DurableDeferred.await(Go, { timeout: "1 second" }), original(p)))
      )
      assert.strictEqual(timed.activity, "go")
      const short = yield* divergence(
        replayWith(fixture, (p) =>
          Effect.andThen(
            DurableClock.sleep({ name: "blink", duration: "1 millis", inMemoryThreshold: "1 hour" }),
            original(p)
          )
        )
      )
      assert.strictEqual(short.activity, "blink")
    })
  )

  it.effect("fails when the replayed end differs from the recorded one", () =>
    Effect.gen(function* () {
      const error = yield* divergence(replayWith(yield* recorded, (p) => Effect.as(original(p), "other")))
      assert.include(error.message, "different end")
      assert.include(error.message, `"other"`)
    })
  )

  it.effect("refuses a fixture of another format and a live execution", () =>
    Effect.gen(function* () {
      const bad = yield* Effect.flip(WorkflowReplayer.fromJson(JSON.stringify({ format: "weft-replay/0" })))
      assert.strictEqual(bad.reason, "InvalidPayload")
      const live = yield* Effect.gen(function* () {
        const id = yield* Flow.execute({ id: "live" }, { discard: true })
        return yield* Effect.flip(WorkflowReplayer.exportExecution(id))
      }).pipe(Effect.provide(Flow.toLayer((p) => Effect.andThen(DurableDeferred.await(Go), original(p))).pipe(
        Layer.provideMerge(WorkflowEngine.layerMemory)
      )))
      assert.strictEqual(live.reason, "InvalidState")
    })
  )
})

describe("WorkflowReplayer: what a recording holds", () => {
  it.effect("replays an interrupted execution to its interrupted end, and a parent without starting its child", () =>
    Effect.gen(function* () {
      const { interrupted, parent } = yield* Effect.gen(function* () {
        const waiting = yield* Flow.execute({ id: "interrupted" }, { discard: true })
        yield* suspendedUntil(waiting)
        yield* WorkflowEngine.WorkflowEngine.use((engine) => engine.interrupt(waiting))
        yield* Effect.exit(Workflow.result(Flow, waiting))
        const parentId = yield* Parent.execute({ id: "p" }, { discard: true })
        yield* Workflow.result(Parent, parentId)
        return {
          interrupted: yield* WorkflowReplayer.exportExecution(waiting),
          parent: yield* WorkflowReplayer.exportExecution(parentId)
        }
      }).pipe(Effect.provide(WithChildren))
      assert.strictEqual(interrupted.execution.status, "interrupted")
      const before = ran.count
      const replayed = yield* Effect.all([WorkflowReplayer.replay(interrupted), WorkflowReplayer.replay(parent)]).pipe(
        Effect.provide(WithChildren)
      )
      assert.deepStrictEqual(replayed.map((r) => r.status), ["interrupted", "succeeded"])
      assert.strictEqual(ran.count, before)
    })
  )

  it.effect("replays an execution that failed by a defect to the same failure, without trying the step again", () =>
    Effect.gen(function* () {
      const fixture = yield* Effect.gen(function* () {
        const id = yield* Dies.execute({ id: "dies" }, { discard: true })
        yield* Effect.exit(Workflow.result(Dies, id))
        return yield* WorkflowReplayer.exportExecution(id)
      }).pipe(Effect.provide(DiesLive))
      assert.strictEqual(fixture.execution.status, "failed")
      const before = ran.count
      const replayed = yield* WorkflowReplayer.replay(fixture).pipe(Effect.provide(DiesLive))
      assert.strictEqual(replayed.status, "failed")
      assert.strictEqual(ran.count, before)
    })
  )

  it.live("weft export writes a fixture of a SQLite execution that replays on the memory engine", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "weft-export-"))
      const db = join(dir, "weft.db")
      const out = join(dir, "fixture.json")
      const executionId = yield* Effect.gen(function* () {
        const id = yield* Flow.execute({ id: "sqlite" }, { discard: true })
        yield* Workflow.result(Flow, id)
        return id
      }).pipe(Effect.provide(Flow.toLayer(liveOriginal).pipe(Layer.provideMerge(SqliteEngine.layer({ filename: db })))))
      const cli = spawnSync(
        process.execPath,
        ["--conditions=@weft/source", "--import", tsx, bin, "export", executionId, "--db", db, "--out", out],
        { encoding: "utf8", timeout: 60_000 }
      )
      assert.strictEqual(cli.status, 0, cli.stderr)
      assert.include(cli.stdout, `Wrote ${out}`)
      const fixture = yield* WorkflowReplayer.fromJson(readFileSync(out, "utf8"))
      assert.strictEqual(fixture.format, WorkflowReplayer.FORMAT)
      assert.deepStrictEqual(fixture.attempts.map((attempt) => attempt.name), ["a", "b", "c"])
      const replayed = yield* WorkflowReplayer.replay(fixture).pipe(
        Effect.provide(Flow.toLayer(liveOriginal).pipe(Layer.provideMerge(WorkflowEngine.layerMemory)))
      )
      assert.strictEqual(replayed.status, "succeeded")
      rmSync(dir, { recursive: true, force: true })
    })
  )
})

// ---------------------------------------------------------------------------------------------------------
// Fixtures

const Flow = Workflow.make({
  name: "ReplayFlow",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const Go = DurableDeferred.make("go")

/** How many activity bodies ran, in any test of this file. */
const ran = { count: 0 }

/** An activity taking a millisecond of (test) time, so the recording shows its steps one after another. */
const step = (name: string, value: number) =>
  Activity.make({
    name,
    success: Schema.Number,
    execute: Effect.andThen(TestClock.adjust("1 millis"), Effect.sync(() => (ran.count++, value)))
  })

const steps = (
  payload: { readonly id: string },
  activities: ReadonlyArray<Effect.Effect<unknown, never, Workflow.WorkflowInstance>>
): Effect.Effect<string, never, Workflow.WorkflowInstance> =>
  Effect.as(Effect.forEach(activities, (activity) => activity, { discard: true }), payload.id)

const original = (payload: { readonly id: string }) => steps(payload, [step("a", 1), step("b", 2), step("c", 3)])

/** A recorded execution of the original body, as a fixture file would hold it. */
const recorded = Effect.gen(function* () {
  const executionId = yield* Flow.execute({ id: "recorded" }, { discard: true })
  yield* Workflow.result(Flow, executionId)
  return yield* WorkflowReplayer.exportExecution(executionId)
}).pipe(Effect.provide(Flow.toLayer(original).pipe(Layer.provideMerge(WorkflowEngine.layerMemory))))

/** The original body without the test clock (for `it.live`). */
const liveOriginal = (payload: { readonly id: string }) =>
  steps(
    payload,
    ["a", "b", "c"].map((name, i) => Activity.make({ name, success: Schema.Number, execute: Effect.succeed(i) }))
  )

const Parent = Workflow.make({
  name: "ReplayParent",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const Child = Workflow.make({
  name: "ReplayChild",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

/** A parent that starts a child and waits for it, and the flow that waits for `Go`, on one memory engine. */
const WithChildren = Layer.mergeAll(
  Flow.toLayer((p) => Effect.andThen(DurableDeferred.await(Go), original(p))),
  Parent.toLayer(({ id }) => Effect.orDie(Child.execute({ id: `${id}/child` }))),
  Child.toLayer(({ id }) => Effect.sync(() => (ran.count++, id)))
).pipe(Layer.provideMerge(WorkflowEngine.layerMemory))

const Dies = Workflow.make({ name: "ReplayDies", payload: { id: Schema.String }, idempotencyKey: ({ id }) => id })

const DiesLive = Dies.toLayer(() =>
  Activity.make({ name: "boom", execute: Effect.suspend(() => (ran.count++, Effect.die(new Error("boom")))) })
).pipe(Layer.provideMerge(WorkflowEngine.layerMemory))

const suspendedUntil = (executionId: string) =>
  Effect.gen(function* () {
    while ((yield* WorkflowEngine.get(executionId)).status !== "suspended") yield* Effect.yieldNow
  })

const replayWith = (
  fixture: WorkflowReplayer.Fixture,
  body: (payload: { readonly id: string }) => Effect.Effect<string, never, Workflow.WorkflowInstance>
) =>
  WorkflowReplayer.replay(fixture).pipe(
    Effect.provide(Flow.toLayer(body).pipe(Layer.provideMerge(WorkflowEngine.layerMemory)))
  )

/** The `NonDeterminismError` a replay failed with (any other outcome fails the test). */
const divergence = <A>(replayed: Effect.Effect<A, WorkflowError.NonDeterminismError | WorkflowError.WorkflowError>) =>
  Effect.flatMap(Effect.exit(replayed), (exit) => {
    if (Exit.isFailure(exit)) {
      const error = Option.getOrUndefined(Exit.findErrorOption(exit))
      if (error instanceof WorkflowError.NonDeterminismError) return Effect.succeed(error)
    }
    return Effect.die(new Error(`expected a NonDeterminismError, got ${String(exit)}`))
  })
