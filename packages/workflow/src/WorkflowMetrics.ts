/**
 * The engine's metrics, as `effect` Metrics: export them with any Effect metrics exporter
 * (OpenTelemetry, Prometheus). Updated on the hot path without extra effects.
 */
import * as Metric from "effect/Metric"

/** Activity attempts that ran and were recorded, by outcome. */
export const activityAttempts = Metric.counter("weft_activity_attempts_total", {
  description: "Activity attempts that ran and were recorded",
  incremental: true
})

/** Activity attempts whose result was a success. */
export const activitySucceeded = Metric.withAttributes(activityAttempts, { outcome: "success" })

/** Activity attempts whose result was a failure or a defect. */
export const activityFailed = Metric.withAttributes(activityAttempts, { outcome: "failure" })

/** Wall time of an activity attempt's body, in milliseconds. */
export const activityDuration = Metric.histogram("weft_activity_duration_ms", {
  boundaries: Metric.exponentialBoundaries({ start: 0.5, factor: 2, count: 16 }),
  description: "Duration of an activity attempt, in milliseconds"
})

/** Executions created. */
export const executionsStarted = Metric.counter("weft_executions_started_total", { incremental: true })

/** Executions that reached a terminal status, by status. */
export const executionsCompleted = Metric.counter("weft_executions_completed_total", { incremental: true })

/** Per-status views of `executionsCompleted`. */
export const completedBy = {
  succeeded: Metric.withAttributes(executionsCompleted, { status: "succeeded" }),
  failed: Metric.withAttributes(executionsCompleted, { status: "failed" }),
  interrupted: Metric.withAttributes(executionsCompleted, { status: "interrupted" })
} as const

/** Times an execution suspended (holding no fiber until a signal, timer or resume). */
export const suspensions = Metric.counter("weft_suspensions_total", { incremental: true })

/** Runs of an execution (each claim that replays the body). */
export const runs = Metric.counter("weft_runs_total", { incremental: true })
