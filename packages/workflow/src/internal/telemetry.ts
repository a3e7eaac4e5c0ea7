/**
 * What the engine reports: metrics into the registry it was built with, spans for runs, activity attempts, durable
 * sleeps and deferred waits when an exporter would see them, and the test hooks (fault points), a no-op in production.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import { type Point, TestHooks } from "../TestHooks.js"
import { isInterruptedOnly } from "./causes.js"
import { CHILD_START, ENQUEUE, isReserved, SLEEP } from "./reserved.js"

/** The engine's reporting. */
export interface Telemetry {
  /** Adds `value` to one of the engine's metrics, in the metric registry the engine was built with. */
  readonly metric: <In>(metric: Metric.Metric<In, unknown>, value: In) => void
  /** Whether runs, activity attempts, sleeps and waits get spans. */
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

/** How a span's work ended: the `weft.outcome` attribute of runs, attempts, sleeps and waits. */
export type Outcome = "success" | "failure" | "defect" | "interrupted" | "suspended" | "timeout" | "stopped" | "rerun"

/** The outcome of an Exit: a success, a typed failure, a defect, or an interrupt only. */
export const outcomeOf = (exit: Exit.Exit<unknown, unknown>): "success" | "failure" | "defect" | "interrupted" => {
  if (Exit.isSuccess(exit)) return "success"
  if (exit.cause.reasons.some(Cause.isFailReason)) return "failure"
  return exit.cause.reasons.some(Cause.isDieReason) ? "defect" : "interrupted"
}

/**
 * The label a step's journal name gets in metrics: a runtime step named after an id (a child's start, a queue
 * hand-over) is labelled by its kind and target, so ids do not make a series each.
 */
export const metricName = (name: string): string =>
  isReserved(name) && (name.startsWith(CHILD_START) || name.startsWith(ENQUEUE))
    ? name.slice(0, name.lastIndexOf("/"))
    : name

/** A sleep's name as the body gave it (a retry's backoff keeps its own: `<activity>/retry-<attempt>`). */
export const sleepName = (name: string): string => (name.startsWith(SLEEP) ? name.slice(SLEEP.length) : name)

/** `effect` in a span named `name`, when tracing; as it is otherwise (a span costs more than a step). */
const span = <A, E, R>(
  telemetry: Telemetry,
  effect: Effect.Effect<A, E, R>,
  name: string,
  attributes: Record<string, unknown>
): Effect.Effect<A, E, R> =>
  telemetry.tracing ? Effect.withSpan(effect, name, { attributes, captureStackTrace: false }) : effect

/**
 * `effect` in a span named `name` whose `weft.outcome` is set from its Exit when it ends (`interrupted` tells an
 * interrupt's meaning), when tracing; as it is otherwise.
 */
const spanWithOutcome = <A, E, R>(
  telemetry: Telemetry,
  effect: Effect.Effect<A, E, R>,
  name: string,
  attributes: Record<string, unknown>,
  outcome: (exit: Exit.Exit<A, E>) => Outcome
): Effect.Effect<A, E, R> =>
  telemetry.tracing
    ? Effect.useSpan(name, { attributes }, (span) =>
        Effect.onExit(Effect.withParentSpan(effect, span, { captureStackTrace: false }), (exit) =>
          Effect.sync(() => span.attribute("weft.outcome", outcome(exit)))
        )
      )
    : effect

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

/**
 * Opens the span of one run of an execution (`weft.workflow <name>`), a child of whoever woke it, when tracing. The
 * runner ends it with `endRun` once it knows what became of the run: the body's Exit alone cannot tell a suspension
 * from an interrupt.
 */
export const startRun = (
  telemetry: Telemetry,
  workflow: string,
  executionId: string,
  fence: number,
  version: number
): Effect.Effect<Tracer.Span | undefined> =>
  telemetry.tracing
    ? Effect.makeSpan(`weft.workflow ${workflow}`, {
        attributes: {
          "weft.workflow": workflow,
          "weft.workflow.version": version,
          "weft.execution_id": executionId,
          "weft.fence": fence
        }
      })
    : Effect.succeed(undefined)

/** Runs `body` under the run's span, if it has one. */
export const inRun = <A, E, R>(span: Tracer.Span | undefined, body: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  span === undefined ? body : Effect.withParentSpan(body, span, { captureStackTrace: false })

/** Ends a run's span (if open still) with what became of the run. */
export const endRun = (
  span: Tracer.Span | undefined,
  outcome: Outcome,
  exit: Exit.Exit<unknown, unknown>
): Effect.Effect<void> =>
  span === undefined || span.status._tag === "Ended"
    ? Effect.void
    : Effect.clockWith((clock) =>
        Effect.sync(() => {
          span.attribute("weft.outcome", outcome)
          // A suspension is how a run waits, not a failure of it.
          span.end(clock.currentTimeNanosUnsafe(), outcome === "suspended" || outcome === "rerun" ? Exit.void : exit)
        })
      )

/** What an interrupt of a step's wait means: the run suspended on it, or the execution is being interrupted. */
export const interruptedAs = (run: {
  readonly interrupting: boolean
  readonly suspension: { readonly suspended: boolean }
}): Outcome => (run.suspension.suspended && !run.interrupting ? "suspended" : "interrupted")

/** The outcome of a run that ended its execution with `status` (a refused end is stored as a defect). */
export const endOutcome = (
  status: "succeeded" | "failed" | "interrupted",
  exit: Exit.Exit<unknown, unknown>
): Outcome => {
  if (status !== "failed") return status === "succeeded" ? "success" : "interrupted"
  return outcomeOf(exit) === "failure" ? "failure" : "defect"
}

/** A span around one attempt of an activity body, when tracing; its outcome is the body's. */
export const attemptSpan = <A, E, R>(
  telemetry: Telemetry,
  effect: Effect.Effect<A, E, R>,
  workflow: string,
  executionId: string,
  activity: string,
  attempt: number
): Effect.Effect<A, E, R> =>
  spanWithOutcome(
    telemetry,
    effect,
    `weft.activity ${activity}`,
    {
      "weft.workflow": workflow,
      "weft.execution_id": executionId,
      "weft.activity": activity,
      "weft.attempt": attempt
    },
    outcomeOf
  )

/**
 * A span around a durable sleep (`weft.sleep <name>`) that waits in this run, when tracing: `success` when it woke
 * here, `suspended` when the run suspended on it (a later run replays it as passed).
 */
export const sleepSpan = <A, E, R>(
  telemetry: Telemetry,
  effect: Effect.Effect<A, E, R>,
  workflow: string,
  executionId: string,
  name: string,
  wakeAt: number,
  interrupted: () => Outcome
): Effect.Effect<A, E, R> => {
  const shown = sleepName(name)
  return spanWithOutcome(
    telemetry,
    effect,
    `weft.sleep ${shown}`,
    { "weft.workflow": workflow, "weft.execution_id": executionId, "weft.sleep": shown, "weft.wake_at": wakeAt },
    (exit) => (Exit.isFailure(exit) && isInterruptedOnly(exit.cause) ? interrupted() : outcomeOf(exit))
  )
}

/**
 * A span around a wait on a deferred (`weft.deferred <name>`) that is not stored yet, when tracing: its outcome is
 * the deferred's (a `timeout`, or `suspended` when the run suspended on it).
 */
export const waitSpan = <A, E, R>(
  telemetry: Telemetry,
  effect: Effect.Effect<Option.Option<A>, E, R>,
  workflow: string,
  executionId: string,
  name: string,
  timeoutMillis: number | undefined,
  interrupted: () => Outcome
): Effect.Effect<Option.Option<A>, E, R> =>
  spanWithOutcome(
    telemetry,
    effect,
    `weft.deferred ${name}`,
    {
      "weft.workflow": workflow,
      "weft.execution_id": executionId,
      "weft.deferred": name,
      ...(timeoutMillis === undefined ? {} : { "weft.timeout_ms": timeoutMillis })
    },
    (exit) =>
      Exit.isSuccess(exit)
        ? Option.isNone(exit.value) ? "timeout" : "success"
        : isInterruptedOnly(exit.cause)
          ? interrupted()
          : outcomeOf(exit)
  )

/**
 * A zero-length `weft.replayed` event on the enclosing span (the run's, or the user's own around the step) for a
 * step answered from the journal, when tracing: a replayed step did not run again, so it gets no span of its own.
 */
export const replayed = (telemetry: Telemetry, attributes: Record<string, unknown>): Effect.Effect<void> =>
  telemetry.tracing
    ? Effect.withFiber((fiber) => {
        const span = fiber.cache.span
        if (span !== undefined && span._tag === "Span") {
          span.event("weft.replayed", fiber.getRef(Clock.Clock).currentTimeNanosUnsafe(), attributes)
        }
        return Effect.void
      })
    : Effect.void
