/**
 * Starting executions: a start is checked before anything is written (registered workflow, payload fits its
 * schema), then created (or joined, by the same payload only) under its stable id in one store call that may
 * also claim it for a run here; `execute` waits for the result, whichever worker runs it.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import { WorkflowError } from "../WorkflowError.js"
import * as Metrics from "../WorkflowMetrics.js"
import { type ExecutionRecord, type ParentLink, terminal } from "../WorkflowStore.js"
import type { Engine, WorkflowDef } from "./definitions.js"
import { stableId } from "./hash.js"
import * as InvalidInput from "./invalidInput.js"
import * as Signals from "./signals.js"

interface Admitted {
  readonly executionId: string
  readonly encoded: unknown
}

/** Validates a start: the workflow can run (or be submitted) and the payload fits its schema. Writes nothing. */
const admit = (engine: Engine, def: WorkflowDef, payload: unknown): WorkflowError | Admitted => {
  if (!engine.registry.has(def.name) && !engine.settings.acceptUnregistered) {
    return new WorkflowError({
      reason: "NotRegistered",
      workflow: def.name,
      message: `Workflow "${def.name}" is not registered with this engine: provide its layer (${def.name}.toLayer(...))`
    })
  }
  const encoded = def.codec.encodePayload(payload)
  if (Result.isFailure(encoded)) return InvalidInput.invalid("InvalidPayload", "The payload", encoded.failure, { workflow: def.name })
  return { executionId: stableId(def.name, def.idempotencyKey(payload)), encoded: encoded.success }
}

const create = (
  engine: Engine,
  def: WorkflowDef,
  admitted: Admitted,
  parent: ParentLink | undefined,
  awaiting: boolean
): Effect.Effect<{ readonly executionId: string; readonly record: ExecutionRecord }, WorkflowError> => {
  const { scheduler } = engine
  let unreserve: Effect.Effect<void> = Effect.void
  return Effect.gen(function* () {
    const { executionId } = admitted
    const at = yield* Clock.currentTimeMillis
    // A workflow this engine only submits runs on the workers that registered it: claiming it here would
    // only hold it from them until the claim is released (without a wake-up) or expires. One it runs
    // itself needs no announcement: the others would only race it for the claim.
    const runsHere = engine.registry.has(def.name)
    // An engine with no room leaves a new execution unclaimed, for whichever worker has room first. A
    // create that may claim holds a place until it is scheduled, so concurrent ones cannot overfill.
    const here = runsHere && !scheduler.running.has(executionId)
    const full = here && !scheduler.hasRoom()
    const claimFor = here && !full ? engine.owner : undefined
    if (claimFor !== undefined) unreserve = scheduler.reserve()
    const { created, record, fence } = yield* engine.store.create({
      executionId,
      workflow: def.name,
      payload: admitted.encoded,
      parent,
      at,
      announce: !runsHere || full,
      claimFor,
      awaited: awaiting
    })
    // Another payload under this id (its key squatted, or reused by mistake) never joins: it touches nothing.
    if (!created && !sameJson(record.payload, admitted.encoded)) return yield* Effect.fail(conflict(def, executionId))
    if (created) engine.telemetry.metric(Metrics.executionsStarted, 1)
    if (created && fence !== undefined) {
      yield* scheduler.schedule(executionId, {
        fence,
        journal: { execution: record, attempts: [], deferreds: [], clocks: [] }
      })
    } else if (runsHere && (created || (record.status === "running" && !scheduler.running.has(executionId)))) {
      // It existed: the place held for it is free again, for this very run.
      yield* unreserve
      yield* scheduler.schedule(executionId)
    }
    if (!created && parent !== undefined && terminal.has(record.status)) {
      yield* Signals.completeDeferred(engine, parent.executionId, parent.deferred, record.result, def.name)
    }
    return { executionId, record }
  }).pipe(Effect.ensuring(Effect.suspend(() => unreserve)))
}

/** Starts (or joins) the execution of `def` for `payload`, linked to `parent` when given; does not wait. */
export const start = (
  engine: Engine,
  def: WorkflowDef,
  payload: unknown,
  parent?: ParentLink
): Effect.Effect<{ readonly executionId: string; readonly record: ExecutionRecord }, WorkflowError> =>
  Effect.suspend(() => {
    if (engine.closed) return Effect.interrupt
    const admitted = admit(engine, def, payload)
    return admitted instanceof WorkflowError ? Effect.fail(admitted) : create(engine, def, admitted, parent, false)
  })

/** Starts (or joins) the execution for `payload` and waits for its result, decoded as an Exit of its workflow's types. */
export const execute = (
  engine: Engine,
  def: WorkflowDef,
  payload: unknown
): Effect.Effect<Exit.Exit<unknown, unknown>, WorkflowError> =>
  Effect.suspend(() => {
    if (engine.closed) return Effect.interrupt
    const admitted = admit(engine, def, payload)
    if (admitted instanceof WorkflowError) return Effect.fail(admitted)
    const { executionId } = admitted
    // The waiter exists before the execution does, so no completion can slip between the two.
    const waiter = engine.results.join(executionId)
    return create(engine, def, admitted, undefined, true).pipe(
      Effect.flatMap(({ record }) => {
        if (terminal.has(record.status)) engine.results.notify(executionId, record.result)
        return Effect.flatMap(Deferred.await(waiter.done), (encoded) => decodeResult(def, { ...record, result: encoded }))
      }),
      Effect.ensuring(Effect.sync(() => engine.results.leave(executionId, waiter)))
    )
  })

/** The stored result of an execution as an Exit of its workflow's types; a result that no longer decodes is an error. */
export const decodeResult = (
  def: WorkflowDef,
  record: ExecutionRecord
): Effect.Effect<Exit.Exit<unknown, unknown>, WorkflowError> => {
  const decoded = def.codec.decodeExit(record.result)
  return Result.isSuccess(decoded)
    ? Effect.succeed(decoded.success)
    : Effect.fail(
        InvalidInput.invalid("InvalidResult", "The stored result", decoded.failure, {
          workflow: def.name,
          executionId: record.executionId
        })
      )
}

/** The refusal of a start whose id is taken by an execution of another payload. */
const conflict = (def: WorkflowDef, executionId: string): WorkflowError =>
  new WorkflowError({
    reason: "ExecutionConflict",
    workflow: def.name,
    executionId,
    message: `Workflow "${def.name}" has an execution ${executionId} for another payload: its idempotency key is ` +
      `already used with a different payload (the same payload joins it; another key starts a new execution)`
  })

/**
 * Whether two encoded payloads are the same JSON value, as stored: key order aside (a record's keys come in the
 * caller's order, and a SQL store reads back what `JSON.stringify` wrote), an undefined property as none.
 */
const sameJson = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false
    return true
  }
  const x = a as Record<string, unknown>
  const y = b as Record<string, unknown>
  let keys = 0
  for (const key of Object.keys(x)) {
    if (x[key] === undefined) continue
    if (!Object.hasOwn(y, key) || !sameJson(x[key], y[key])) return false
    keys++
  }
  for (const key of Object.keys(y)) if (y[key] !== undefined) keys--
  return keys === 0
}
