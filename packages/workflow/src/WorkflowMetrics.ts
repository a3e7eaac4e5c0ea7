/**
 * The engine's metrics, as `effect` Metrics labelled by workflow (and activity): export them with any Effect
 * metrics exporter (OpenTelemetry, Prometheus). Updated on the hot path without extra effects.
 */
import * as Metric from "effect/Metric"

/** The buckets of `activityDuration`, in milliseconds (0.5 ms to about 16 s). */
const durationBoundaries = Metric.exponentialBoundaries({ start: 0.5, factor: 2, count: 16 })

/** Activity attempts that ran and were recorded, by `workflow`, `activity` and `outcome` (success, failure, defect). */
export const activityAttempts = Metric.counter("weft_activity_attempts_total", {
  description: "Activity attempts that ran and were recorded",
  incremental: true
})

/** Activity attempts after the first (retries) that started, by `workflow` and `activity`. */
export const activityRetries = Metric.counter("weft_activity_retries_total", {
  description: "Activity attempts after the first that started",
  incremental: true
})

/** Wall time of an activity attempt's body, in milliseconds, by `workflow` and `activity`. */
export const activityDuration = Metric.histogram("weft_activity_duration_ms", {
  boundaries: durationBoundaries,
  description: "Duration of an activity attempt, in milliseconds"
})

/** Executions created, by `workflow`. */
export const executionsStarted = Metric.counter("weft_executions_started_total", {
  description: "Executions created",
  incremental: true
})

/** Executions that reached a terminal status, by `workflow` and `status` (succeeded, failed, interrupted). */
export const executionsCompleted = Metric.counter("weft_executions_completed_total", {
  description: "Executions that reached a terminal status",
  incremental: true
})

/** Times an execution suspended (holding no fiber until a signal, timer or resume), by `workflow`. */
export const suspensions = Metric.counter("weft_suspensions_total", {
  description: "Times an execution suspended",
  incremental: true
})

/** Runs of an execution (each claim that replays the body), by `workflow`. */
export const runs = Metric.counter("weft_runs_total", { description: "Runs of an execution", incremental: true })

/** Ended executions deleted by a purge (`WorkflowEngine.purge` or the `retention` option), by `status`. */
export const executionsPurged = Metric.counter("weft_executions_purged_total", {
  description: "Ended executions deleted by a purge",
  incremental: true
})

/**
 * Executions that could run now and nobody runs (running with no live claim, or suspended on a timer that is due), by
 * `workflow`: what the workers have yet to pick up. Sampled by each engine every `backlogIntervalMs` (one count
 * query, not one per claim pass), for the workflows it registered.
 */
export const runnableBacklog = Metric.gauge("weft_runnable_backlog", {
  description: "Executions that could run now and nobody runs"
})

/** The series of `runnableBacklog` for one workflow, made once and kept. */
export const backlogOf = (workflow: string): Metric.Gauge<number> => {
  let series = backlogs.get(workflow)
  if (series === undefined) {
    series = Metric.gauge(runnableBacklog.id, { description: runnableBacklog.description, attributes: { workflow } })
    backlogs.set(workflow, series)
  }
  return series
}

/** The series of `executionsPurged` for one status, made once and kept. */
export const purgedWith = (status: string): Metric.Counter<number> => {
  let series = purged.get(status)
  if (series === undefined) purged.set(status, (series = counter(executionsPurged, { status })))
  return series
}

/** The series of one workflow. */
export interface WorkflowSeries {
  readonly started: Metric.Counter<number>
  readonly succeeded: Metric.Counter<number>
  readonly failed: Metric.Counter<number>
  readonly interrupted: Metric.Counter<number>
  readonly suspended: Metric.Counter<number>
  readonly runs: Metric.Counter<number>
}

/** The series of one activity of one workflow. */
export interface ActivitySeries {
  readonly succeeded: Metric.Counter<number>
  readonly failed: Metric.Counter<number>
  readonly defects: Metric.Counter<number>
  readonly retries: Metric.Counter<number>
  readonly duration: Metric.Histogram<number>
}

/**
 * The series of workflow `workflow`, made once and kept (one metric per label set, so an update is a lookup, not a
 * merge of attributes).
 */
export const forWorkflow = (workflow: string): WorkflowSeries => {
  let series = workflows.get(workflow)
  if (series === undefined) {
    const completed = (status: string) => counter(executionsCompleted, { workflow, status })
    series = {
      started: counter(executionsStarted, { workflow }),
      succeeded: completed("succeeded"),
      failed: completed("failed"),
      interrupted: completed("interrupted"),
      suspended: counter(suspensions, { workflow }),
      runs: counter(runs, { workflow })
    }
    workflows.set(workflow, series)
  }
  return series
}

/** How many activity names of one workflow get series of their own; the rest share `otherActivities`. */
export const maxActivitySeries = 200

/** The `activity` label of the activities of a workflow past its first `maxActivitySeries` names. */
export const otherActivities = "(other)"

/**
 * The series of activity `activity` of workflow `workflow`, made once and kept. Activity names are labels, and a
 * body that names activities after data (`process/<item id>`, as unique names want) would make a series per
 * item, kept for the life of the process: past `maxActivitySeries` names per workflow, new names share one.
 */
export const forActivity = (workflow: string, name: string): ActivitySeries => {
  let byName = activities.get(workflow)
  if (byName === undefined) activities.set(workflow, (byName = new Map()))
  const known = byName.get(name)
  if (known !== undefined) return known
  const activity = byName.size < maxActivitySeries ? name : otherActivities
  let series = byName.get(activity)
  if (series === undefined) {
    const attempts = (outcome: string) => counter(activityAttempts, { workflow, activity, outcome })
    series = {
      succeeded: attempts("success"),
      failed: attempts("failure"),
      defects: attempts("defect"),
      retries: counter(activityRetries, { workflow, activity }),
      duration: Metric.histogram(activityDuration.id, {
        boundaries: durationBoundaries,
        description: activityDuration.description,
        attributes: { workflow, activity }
      })
    }
    byName.set(activity, series)
  }
  return series
}

const workflows = new Map<string, WorkflowSeries>()
const purged = new Map<string, Metric.Counter<number>>()
const backlogs = new Map<string, Metric.Gauge<number>>()
const activities = new Map<string, Map<string, ActivitySeries>>()

/** A series of counter `of`: its own metric, with the labels as its attributes. */
const counter = (of: Metric.Metric<number, unknown>, attributes: Record<string, string>): Metric.Counter<number> =>
  Metric.counter(of.id, { description: of.description, incremental: true, attributes })
