/**
 * What the engine reports: metrics into the registry it was built with, spans for runs and activity attempts
 * when an exporter would see them, and the test hooks (fault points) that are a no-op in production.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import { type Point, TestHooks } from "../TestHooks.js"

/** The engine's reporting. */
export interface Telemetry {
  /** Adds `value` to one of the engine's metrics, in the metric registry the engine was built with. */
  readonly metric: <In>(metric: Metric.Metric<In, unknown>, value: In) => void
  /** Whether runs and activity attempts get spans. */
  readonly tracing: boolean
  /** Whether test hooks are installed (production skips the hook calls entirely). */
  readonly hooked: boolean
  readonly hook: (point: Point, executionId: string, detail?: string) => Effect.Effect<void>
}

/** Reads the registry, the tracer and the test hooks of the context the engine is built in. */
export const make = (tracing: boolean | undefined): Effect.Effect<Telemetry> =>
  Effect.gen(function* () {
    const hooks = yield* Effect.serviceOption(TestHooks)
    // Effect 3 kept one global registry; effect 4 reads the registry from the context (by default one
    // global map too), so the engine writes where it was built, and nothing else of that context is taken.
    const metricContext = Context.make(Metric.MetricRegistry, yield* Metric.MetricRegistry)
    return {
      metric: (series, value) => series.updateUnsafe(value, metricContext),
      // Spans cost more than a step; without an exporter nobody would see them.
      tracing: tracing ?? (yield* Effect.tracer) !== Tracer.nativeTracer,
      hooked: Option.isSome(hooks),
      hook: Option.isNone(hooks)
        ? () => Effect.void
        : (point, executionId, detail) => hooks.value.at(point, executionId, detail)
    }
  })

/** `effect` in a span named `name`, when tracing; as it is otherwise (a span costs more than a step). */
const span = <A, E, R>(
  telemetry: Telemetry,
  effect: Effect.Effect<A, E, R>,
  name: string,
  attributes: Record<string, unknown>
): Effect.Effect<A, E, R> =>
  telemetry.tracing ? Effect.withSpan(effect, name, { attributes, captureStackTrace: false }) : effect

/**
 * A span around a public entry point called once per execution (`Workflow.execute`), when tracing. Not
 * `Effect.fn`: its call-site stack capture and span cost more than a step, on every call, traced or not.
 */
export const entrySpan = <A, E, R>(
  telemetry: Telemetry,
  effect: Effect.Effect<A, E, R>,
  name: string,
  attributes: Record<string, unknown>
): Effect.Effect<A, E, R> => span(telemetry, effect, name, attributes)

/** A span around one run of an execution, when tracing. */
export const runSpan = <A, E, R>(
  telemetry: Telemetry,
  effect: Effect.Effect<A, E, R>,
  workflow: string,
  executionId: string,
  fence: number
): Effect.Effect<A, E, R> =>
  span(telemetry, effect, `weft.workflow ${workflow}`, {
    "weft.workflow": workflow,
    "weft.execution_id": executionId,
    "weft.fence": fence
  })

/** A span around one attempt of an activity body, when tracing. */
export const attemptSpan = <A, E, R>(
  telemetry: Telemetry,
  effect: Effect.Effect<A, E, R>,
  executionId: string,
  activity: string,
  attempt: number
): Effect.Effect<A, E, R> =>
  span(telemetry, effect, `weft.activity ${activity}`, {
    "weft.execution_id": executionId,
    "weft.activity": activity,
    "weft.attempt": attempt
  })
