/**
 * Replay tests: a recorded journal loaded into a sandbox engine whose activities never run, the body replayed
 * against it, and every way it left its journal (a step not held, held but not asked, asked out of order, a wait the
 * recording never had, a different end) named as a `NonDeterminismError`.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import { NonDeterminismError, WorkflowError } from "../WorkflowError.js"
import { versionOf } from "../WorkflowStore.js"
import type {
  ActivityAttempt,
  ClockRecord,
  DeferredRecord,
  EventRecord,
  ExecutionStatus,
  TerminalStatus
} from "../WorkflowStore.js"
import type { ActivityDef } from "./definitions.js"
import type * as Engine from "./engine.js"
import { diverged, skippedStep } from "./replay.js"
import * as Names from "./reserved.js"
import type { Run } from "./run.js"
import * as Sandbox from "./sandbox.js"

/** The format tag every fixture carries; a fixture of another format is refused, never misread. */
export const FORMAT = "weft-replay/1"

/** A finished execution's journal, as JSON data. */
export interface Fixture {
  readonly format: typeof FORMAT
  readonly execution: {
    readonly executionId: string
    readonly workflow: string
    readonly payload: unknown
    readonly status: ExecutionStatus
    readonly result?: unknown
    readonly createdAt: number
    readonly updatedAt: number
    /** The version it ran on; absent in fixtures recorded before versions (version 1). */
    readonly version?: number | undefined
  }
  /** In the order the store returned them. */
  readonly attempts: ReadonlyArray<ActivityAttempt>
  readonly deferreds: ReadonlyArray<DeferredRecord>
  readonly clocks: ReadonlyArray<ClockRecord>
  readonly events: ReadonlyArray<EventRecord>
}

/** What a replay that kept to its fixture saw. */
export interface Replayed {
  readonly workflow: string
  readonly executionId: string
  readonly status: TerminalStatus
  /** The steps the body asked for, in the order it asked (runtime steps by their journal names). */
  readonly steps: ReadonlyArray<string>
}

/** Replays `fixture` with the body the engine `source` registered for its workflow. */
export const replay = (
  source: Engine.Live,
  fixture: Fixture
): Effect.Effect<Replayed, NonDeterminismError | WorkflowError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const { execution } = fixture
      const where = { workflow: execution.workflow, executionId: execution.executionId }
      if (source.registered.get(execution.workflow)?.get(versionOf(execution)) === undefined) {
        const registered = source.registered.get(execution.workflow)
        return yield* Effect.fail(
          new WorkflowError({
            reason: "NotRegistered",
            workflow: execution.workflow,
            message: registered === undefined
              ? `Replaying execution ${execution.executionId}: workflow "${execution.workflow}" is not ` +
                `registered on the engine in context; provide its layer (and the layers of the children it starts)`
              : `Replaying execution ${execution.executionId}: it ran on version ${versionOf(execution)} of workflow ` +
                `"${execution.workflow}", and the engine in context registers only version ${
                  [...registered.keys()].join(", ")
                }; provide the layer of the version it ran on`
          })
        )
      }
      const newClocks: Array<string> = []
      const sandbox = yield* Sandbox.make({
        source,
        mode: (run, def, attempt) => {
          // A note is the body's own record, not work: one more than the recording had is written, not refused.
          if (def.name.startsWith(Names.NOTE)) return { _tag: "Body", body: def.execute }
          const last = run.replay.lastAttempt(def.name)
          // A defect the recording ended with would be tried again on a resume: a replay replays it as it was.
          const ended = last === undefined || last.attempt !== attempt - 1 ? undefined : endedWithDefect(def, last)
          if (ended !== undefined) return { _tag: "Body", body: Effect.failCause(ended) }
          const why = last === undefined
            ? "the body asks for it, but the recorded execution never ran it (the fixture holds no result for it)"
            : `the recorded execution stopped at attempt ${last.attempt}, but the body would run attempt ${attempt}`
          return { _tag: "Stop", defect: diverged(run, def.name, why) }
        },
        // A timer the recording never had: it never fires, so the body suspends there (even a short sleep).
        onClock: (executionId, clock) => {
          if (executionId === execution.executionId) newClocks.push(clock.name)
          return { ...clock, wakeAt: Number.MAX_SAFE_INTEGER }
        }
      })
      const { store } = sandbox
      yield* store.fork!({
        execution: {
          executionId: execution.executionId,
          workflow: execution.workflow,
          payload: execution.payload,
          parent: undefined,
          at: execution.createdAt,
          version: versionOf(execution),
          announce: false
        },
        source: "",
        attempts: fixture.attempts,
        deferreds: fixture.deferreds,
        // Every timer the recording stored had fired or been passed: here it is over at once.
        clocks: fixture.clocks.map((clock) => ({ ...clock, wakeAt: 0 })),
        startedDetail: "replay",
        sourceDetail: "replay"
      })
      if (execution.status === "interrupted") yield* store.requestInterrupt(execution.executionId, execution.updatedAt)
      yield* sandbox.engine.scheduler.schedule(execution.executionId)
      const stop = yield* sandbox.next(execution.executionId)
      const seen = sandbox.runs.get(execution.executionId)
      if (seen === undefined) {
        return yield* Effect.die(new Error(`Replaying execution ${execution.executionId}: its body never ran`))
      }
      const { run } = seen
      if (stop === "suspended") return yield* Effect.fail(waited(run, fixture, newClocks))
      if (seen.exit !== undefined && Exit.isFailure(seen.exit)) {
        const divergence = firstDivergence(seen.exit.cause)
        if (divergence !== undefined) return yield* Effect.fail(divergence)
      }
      const skipped = run.replay.skipped()
      if (skipped !== undefined) return yield* Effect.fail(skippedStep(where, skipped))
      const ended = yield* store.get(execution.executionId)
      if (Option.isNone(ended)) {
        return yield* Effect.die(new Error(`Replaying execution ${execution.executionId}: it vanished`))
      }
      const end = ended.value
      if (end.status !== execution.status || canonical(end.result) !== canonical(execution.result)) {
        return yield* Effect.fail(
          new NonDeterminismError({
            ...where,
            activity: lastStep(run) ?? "",
            message: `Execution ${execution.executionId} of workflow "${execution.workflow}" replayed to a ` +
              `different end: recorded ${execution.status} with ${canonical(execution.result)}, replayed ` +
              `${end.status} with ${canonical(end.result)}`
          })
        )
      }
      return {
        workflow: execution.workflow,
        executionId: execution.executionId,
        status: end.status as TerminalStatus,
        steps: [...run.replay.asked]
      }
    })
  )

/** The divergence of a replay that had to wait: for a sleep or a deferred its finished recording never had. */
const waited = (run: Run, fixture: Fixture, newClocks: ReadonlyArray<string>): NonDeterminismError => {
  const clock = newClocks[0]
  if (clock !== undefined && clock.startsWith(Names.SLEEP)) {
    const name = clock.slice(Names.SLEEP.length)
    return diverged(run, name, "the body sleeps there, but the recorded execution holds no such timer")
  }
  if (clock !== undefined && clock.endsWith("/timeout")) {
    const name = clock.slice(0, -"/timeout".length)
    return diverged(run, name, "the body waits for it with a timeout, but the recorded execution never did")
  }
  if (clock !== undefined) return diverged(run, clock, "the body sets this timer, but the recorded execution never did")
  const recorded = new Set(fixture.deferreds.map((deferred) => deferred.name))
  const waiting = [...(run.waiters?.keys() ?? [])].filter((name) => !recorded.has(name))
  const name = waiting[0] ?? lastStep(run) ?? "(unknown)"
  return diverged(
    run,
    name,
    `the body waits for it, but the recorded execution, which ${fixture.execution.status}, never received it`
  )
}

/** The cause of a stored attempt that ended in a defect, if it did. */
const endedWithDefect = (def: ActivityDef, last: ActivityAttempt): Cause.Cause<unknown> | undefined => {
  const decoded = def.codec.decodeExit(last.exit)
  if (Result.isFailure(decoded) || Exit.isSuccess(decoded.success)) return undefined
  const cause = decoded.success.cause
  return cause.reasons.some(Cause.isDieReason) ? cause : undefined
}

/** The first `NonDeterminismError` a body died with. */
const firstDivergence = (cause: Cause.Cause<unknown>): NonDeterminismError | undefined => {
  for (const reason of cause.reasons) {
    if (Cause.isDieReason(reason) && reason.defect instanceof NonDeterminismError) return reason.defect
  }
  return undefined
}

const lastStep = (run: Run): string | undefined => {
  let last: string | undefined
  for (const name of run.replay.asked) last = name
  return last
}

/** Fields of an encoded result that name the process that wrote it (its files, its fibers), not what happened. */
const processLocal = new Set(["stack", "fiberId"])

/** An encoded result as comparable text: keys sorted, process-local fields left out. */
const canonical = (value: unknown): string => JSON.stringify(sorted(value)) ?? "nothing"

const sorted = (value: unknown): unknown => {
  if (typeof value !== "object" || value === null) return value
  if (Array.isArray(value)) return value.map(sorted)
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort()) {
    const field = (value as Record<string, unknown>)[key]
    if (!processLocal.has(key) && field !== undefined) out[key] = sorted(field)
  }
  return out
}
