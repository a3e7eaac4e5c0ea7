/**
 * The runnable backlog: how many executions of this engine's workflows could run now and nobody runs, sampled in real
 * time (one count query per interval, never one per claim pass) into the `weft_runnable_backlog` gauge.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Metrics from "../WorkflowMetrics.js"
import type { Engine } from "./definitions.js"
import { MAX_TIMER_MS, sleepLive } from "./time.js"

/** One sample: every registered workflow's gauge set, to zero where the store counted none. */
export const sample = (engine: Engine): Effect.Effect<void, unknown> =>
  Effect.gen(function* () {
    const backlog = engine.store.backlog
    const workflows = [...engine.registry.keys()]
    if (backlog === undefined || workflows.length === 0) return
    const counts = new Map((yield* backlog(yield* Clock.currentTimeMillis, workflows)).map((c) => [c.workflow, c.runnable]))
    for (const workflow of workflows) engine.telemetry.metric(Metrics.backlogOf(workflow), counts.get(workflow) ?? 0)
  })

/** Samples every `intervalMs` of real time, for the life of the engine; a failed sample is logged and skipped. */
export const periodic = (engine: Engine, intervalMs: number): Effect.Effect<never> =>
  Effect.forever(
    Effect.andThen(
      sleepLive(Math.min(intervalMs, MAX_TIMER_MS)),
      Effect.catchCause(sample(engine), (cause) => Effect.logDebug("Weft: could not count the runnable backlog", cause))
    )
  )

/** The option checked at start: a number of milliseconds above zero, or Infinity (never). */
export const checkOption = (intervalMs: unknown): string | undefined =>
  typeof intervalMs === "number" && intervalMs > 0
    ? undefined
    : `WorkflowEngine option backlogIntervalMs must be a number of milliseconds above zero (or Infinity), got ${String(intervalMs)}`
