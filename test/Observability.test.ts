/**
 * Runs are traced and counted: a span per run with a child span per executed activity attempt
 * (replays make none), and the engine's metrics move with what it records.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Tracer from "effect/Tracer"
import { Activity, DurableDeferred, Workflow, WorkflowEngine, WorkflowMetrics } from "@weft/workflow"
import { suspended } from "./util.js"

describe("observability", () => {
  it.effect("traces each run with a child span per executed activity, and none for replayed ones", () =>
    Effect.gen(function* () {
      const spans: Array<Tracer.Span> = []
      const native = yield* Effect.tracer
      const tracer = Tracer.make({
        span(options) {
          const span = native.span(options)
          spans.push(span)
          return span
        },
        context: native.context
      })
      const succeeded = Effect.map(
        Effect.all([
          Metric.value(WorkflowMetrics.forActivity("Traced", "first").succeeded),
          Metric.value(WorkflowMetrics.forActivity("Traced", "second").succeeded)
        ]),
        ([first, second]) => first.count + second.count
      )
      const succeededBefore = yield* succeeded
      const program = Effect.gen(function* () {
        const id = yield* Traced.execute({ id: "o1" }, { discard: true })
        yield* suspended(Traced, id)
        const token = yield* DurableDeferred.tokenFor(Go, { workflow: Traced.name, executionId: id })
        yield* DurableDeferred.succeed(Go, { token, value: undefined })
        return yield* Traced.execute({ id: "o1" })
      })
      assert.strictEqual(
        yield* program.pipe(Effect.provide(Layer.provideMerge(TracedLive, WorkflowEngine.layerMemory)), Effect.withTracer(tracer)),
        "done"
      )
      const runs = spans.filter((s) => s.name === "weft.workflow Traced")
      const activities = spans.filter((s) => s.name.startsWith("weft.activity"))
      assert.strictEqual(runs.length, 2)
      assert.deepStrictEqual(
        activities.map((s) => s.name),
        ["weft.activity first", "weft.activity second"]
      )
      // Each run is a child of the call that set it going: the start, then the signal that woke it.
      const spanNamed = (spanId: string) => spans.find((s) => s.spanId === spanId)?.name
      assert.deepStrictEqual(
        runs.map((run) => spanNamed(Option.getOrThrow(run.parent).spanId)),
        ["Workflow.execute", "DurableDeferred.succeed"]
      )
      for (const activity of activities) {
        const parent = Option.getOrThrow(activity.parent)
        assert.isTrue(runs.some((run) => run.spanId === parent.spanId))
        assert.strictEqual(activity.attributes.get("weft.attempt"), 1)
      }
      const succeededAfter = yield* succeeded
      assert.strictEqual(succeededAfter - succeededBefore, 2)
    }))

  it.effect("bounds the activity series of a workflow: names past the first ones share the (other) series", () =>
    Effect.gen(function* () {
      const series = Array.from({ length: WorkflowMetrics.maxActivitySeries + 50 }, (_, n) =>
        WorkflowMetrics.forActivity("ManyNames", `process/${n}`))
      // Each of the first names has its own series, returned again on every step; later names share one.
      assert.strictEqual(new Set(series).size, WorkflowMetrics.maxActivitySeries + 1)
      assert.strictEqual(WorkflowMetrics.forActivity("ManyNames", "process/0"), series[0])
      assert.strictEqual(WorkflowMetrics.forActivity("ManyNames", "never-seen"), series.at(-1))
      yield* Metric.update(series.at(-1)!.succeeded, 1)
      const other = (yield* Metric.snapshot).filter((m) =>
        m.attributes?.workflow === "ManyNames" && m.attributes?.activity === WorkflowMetrics.otherActivities
      )
      assert.isAbove(other.length, 0)
    }))
})

const Go = DurableDeferred.make("go")

const Traced = Workflow.make({ name: "Traced", payload: { id: Schema.String }, success: Schema.String, idempotencyKey: ({ id }) => id })

const TracedLive = Traced.toLayer(() =>
  Effect.gen(function* () {
    yield* Activity.make({ name: "first", execute: Effect.void })
    yield* DurableDeferred.await(Go)
    yield* Activity.make({ name: "second", execute: Effect.void })
    return "done"
  })
)
