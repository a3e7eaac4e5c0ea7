/**
 * Retention: ended executions older than a bound deleted from the store in batches, on demand (`purge`) or
 * periodically (the engine's `retention` option), counted in `WorkflowMetrics.executionsPurged` by status.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Metrics from "../WorkflowMetrics.js"
import { WorkflowError } from "../WorkflowError.js"
import { terminal, type TerminalStatus, terminalStatuses } from "../WorkflowStore.js"
import type { Engine } from "./definitions.js"

/** What to purge: executions that ended (by `updatedAt`) more than `olderThan` ago, in `status` (default: any end). */
export interface PurgeOptions {
  readonly olderThan: Duration.Input
  readonly status?: ReadonlyArray<TerminalStatus> | undefined
}

/** The engine's periodic purge: `PurgeOptions`, run at start and then `every` (default one hour) by the `Clock`. */
export interface RetentionOptions extends PurgeOptions {
  readonly every?: Duration.Input | undefined
}

/** Executions deleted per store call: each call is one transaction, so a long purge never holds locks for long. */
export const BATCH = 500

/** Checked options: the age in milliseconds and the statuses. */
interface Checked {
  readonly olderThanMs: number
  readonly statuses: ReadonlyArray<TerminalStatus>
}

const invalid = (field: string, expected: string, message: string) =>
  new WorkflowError({ reason: "InvalidPayload", field, expected, message })

/** The options checked: a negative or unreadable age, or a status that is not an end, names its field. */
export const check = (options: PurgeOptions): Checked | WorkflowError => {
  const duration = Duration.fromInput(options.olderThan)
  const olderThanMs = Option.isSome(duration) ? Duration.toMillis(duration.value) : Number.NaN
  if (!(Number.isFinite(olderThanMs) && olderThanMs >= 0)) {
    return invalid(
      "olderThan",
      "a finite duration of at least zero",
      `purge: olderThan must be a finite duration of at least zero, got ${String(options.olderThan)}`
    )
  }
  const statuses = options.status ?? terminalStatuses
  const bad = statuses.find((status) => !terminal.has(status))
  if (bad !== undefined || statuses.length === 0) {
    return invalid(
      "status",
      `one or more of ${terminalStatuses.join(", ")}`,
      bad === undefined
        ? "purge: status must name at least one end"
        : `purge: status "${String(bad)}" is not an end (only ${terminalStatuses.join(", ")} can be purged)`
    )
  }
  return { olderThanMs, statuses: [...new Set(statuses)] }
}

/**
 * Deletes every execution the options select, `batch` per store call until a call deletes fewer; returns how many.
 * Bad options fail before anything is deleted. A store without `purge` cannot: `StoreRejected`.
 */
export const purge = (
  engine: Engine,
  options: PurgeOptions,
  batch: number = BATCH
): Effect.Effect<number, WorkflowError> =>
  Effect.suspend(() => {
    const checked = check(options)
    if (checked instanceof WorkflowError) return Effect.fail(checked)
    const store = engine.store
    if (store.purge === undefined) {
      return Effect.fail(new WorkflowError({ reason: "StoreRejected", message: "This store cannot purge executions" }))
    }
    const purgeBatch = store.purge
    return Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const filter = { before: now - checked.olderThanMs, statuses: checked.statuses, limit: batch }
      const loop = (total: number): Effect.Effect<number, WorkflowError> =>
        // Uninterruptible: a statement once sent is awaited (a cancelled one can hit the next on its connection).
        Effect.flatMap(Effect.uninterruptible(purgeBatch(filter)), (purged) => {
          const counts = new Map<TerminalStatus, number>()
          for (const { status } of purged) counts.set(status, (counts.get(status) ?? 0) + 1)
          for (const [status, n] of counts) engine.telemetry.metric(Metrics.purgedWith(status), n)
          const sum = total + purged.length
          return purged.length < batch ? Effect.succeed(sum) : loop(sum)
        })
      return loop(0)
    })
  })

/** The periodic purge: at once, then every `every`; a failure is logged and the next round tries again. */
export const periodic = (engine: Engine, options: RetentionOptions): Effect.Effect<never> => {
  const every = Duration.fromInputUnsafe(options.every ?? "1 hour")
  const round = Effect.catchCause(
    Effect.flatMap(purge(engine, options), (n) =>
      n > 0 ? Effect.logDebug(`Weft: retention purged ${n} execution(s)`) : Effect.void
    ),
    (cause) => Effect.logWarning("Weft: the periodic purge failed; it runs again at its next round", cause)
  )
  return Effect.forever(Effect.andThen(round, Effect.sleep(every)))
}

/** The engine's `retention` option checked at start: a bad one is a defect naming the option, as other options. */
export const checkOption = (options: RetentionOptions): string | undefined => {
  const checked = check(options)
  if (checked instanceof WorkflowError) return `WorkflowEngine option retention.${checked.field}: ${checked.message}`
  const every = options.every === undefined ? Option.some(Duration.hours(1)) : Duration.fromInput(options.every)
  const ms = Option.isSome(every) ? Duration.toMillis(every.value) : Number.NaN
  return Number.isFinite(ms) && ms > 0
    ? undefined
    : `WorkflowEngine option retention.every must be a finite duration above zero, got ${String(options.every)}`
}
