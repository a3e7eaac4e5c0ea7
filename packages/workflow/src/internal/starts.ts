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
import { type ExecutionRecord, type ParentLink, terminal, versionOf } from "../WorkflowStore.js"
import type { Engine, WorkflowDef } from "./definitions.js"
import { stableId } from "./hash.js"
import * as Deadline from "./deadline.js"
import * as InvalidInput from "./invalidInput.js"
import * as Signals from "./signals.js"
import * as Versioning from "./versioning.js"

interface Admitted {
  readonly executionId: string
  readonly idempotencyKey: string
  readonly encoded: unknown
  /** The version a new execution records: the newest registered here (`Versioning.startTarget`). */
  readonly version: number
}

/** How a start is made: a parent to link, an idempotency key and a deadline of its own, the caller's exact version. */
export interface StartOptions {
  /** The parent that awaits it (a linked child). */
  readonly parent?: ParentLink | undefined
  /** Replaces the workflow's own key of the payload (a schedule's fire: `<scheduleId>@<fire time>`). */
  readonly idempotencyKey?: string | undefined
  /** The execution's own deadline from now, replacing its workflow's. */
  readonly deadlineMs?: number | undefined
  /** Run the version of the definition given, not the newest registered (describe); it must be registered. */
  readonly exact?: boolean | undefined
}

/**
 * Validates a start: the workflow can run (or be submitted) and the payload fits its schema, and the schema of the
 * version it will run on, whose key function names the execution. Writes nothing.
 */
const admit = (engine: Engine, def: WorkflowDef, payload: unknown, options: StartOptions): WorkflowError | Admitted => {
  if (!engine.registry.has(def.name) && !engine.settings.acceptUnregistered) return notRegistered(engine, def.name)
  if (options.exact === true && engine.registered.get(def.name)?.has(def.version) !== true) {
    return notRegistered(engine, def.name, def.version)
  }
  const encoded = def.codec.encodePayload(payload)
  if (Result.isFailure(encoded)) return InvalidInput.invalid("InvalidPayload", "The payload", encoded.failure, { workflow: def.name })
  const target = Versioning.startTarget(engine, def, options.exact)
  const idempotencyKey = options.idempotencyKey ?? keyOf(def, target, payload, encoded.success)
  if (idempotencyKey instanceof WorkflowError) return idempotencyKey
  return { executionId: stableId(def.name, idempotencyKey), idempotencyKey, encoded: encoded.success, version: target.version }
}

/**
 * The idempotency key of a start of `def` for `payload` (`encoded` by `def`): the key function of the version it
 * runs (`target`), given the payload as that version reads it; the typed error when that version refuses it.
 */
const keyOf = (def: WorkflowDef, target: WorkflowDef, payload: unknown, encoded: unknown): string | WorkflowError => {
  if (target === def) return def.idempotencyKey(payload)
  const read = Versioning.targetPayload(def, target, payload, encoded)
  return read instanceof WorkflowError ? read : target.idempotencyKey(read.payload)
}

/**
 * The execution id a start of `def` for `payload` (`encoded` by `def`) creates or joins: from the key function of the
 * version the start runs. A child's start journals it before starting.
 */
export const executionIdOf = (engine: Engine, def: WorkflowDef, payload: unknown, encoded: unknown): string | WorkflowError => {
  const key = keyOf(def, Versioning.startTarget(engine, def), payload, encoded)
  return key instanceof WorkflowError ? key : stableId(def.name, key)
}

const create = (
  engine: Engine,
  def: WorkflowDef,
  admitted: Admitted,
  parent: ParentLink | undefined,
  awaiting: boolean,
  deadlineMs: number | undefined
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
    // A deadline given at the start is the execution's deadline timer, stored with it (a join keeps the one it has).
    const clocks = deadlineMs === undefined ? undefined : [Deadline.clock(at, deadlineMs)]
    const { created, record, fence } = yield* engine.store.create({
      executionId,
      workflow: def.name,
      payload: admitted.encoded,
      parent,
      at,
      idempotencyKey: admitted.idempotencyKey,
      version: admitted.version,
      announce: !runsHere || full,
      claimFor,
      awaited: awaiting,
      clocks
    })
    // Another payload under this id (its key squatted, or reused by mistake) never joins: it touches nothing.
    if (!created && !sameJson(record.payload, admitted.encoded)) return yield* Effect.fail(conflict(def, executionId))
    if (created) engine.telemetry.metric(Metrics.forWorkflow(def.name).started, 1)
    if (created && fence !== undefined) {
      yield* scheduler.schedule(executionId, {
        fence,
        journal: { execution: record, attempts: [], deferreds: [], clocks: clocks ?? [] }
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

/** Starts (or joins) the execution of `def` for `payload`, as `options` say; does not wait. */
export const start = (
  engine: Engine,
  def: WorkflowDef,
  payload: unknown,
  options: StartOptions = {}
): Effect.Effect<{ readonly executionId: string; readonly record: ExecutionRecord }, WorkflowError> =>
  Effect.suspend(() => {
    if (engine.closed) return Effect.interrupt
    const admitted = admit(engine, def, payload, options)
    return admitted instanceof WorkflowError
      ? Effect.fail(admitted)
      : create(engine, def, admitted, options.parent, false, options.deadlineMs)
  })

/**
 * Starts (or joins) the execution for `payload` and waits for its result, decoded as an Exit of its workflow's types.
 * `deadlineMs`: the execution's own deadline from now, as `start` takes it.
 */
export const execute = (
  engine: Engine,
  def: WorkflowDef,
  payload: unknown,
  deadlineMs?: number
): Effect.Effect<Exit.Exit<unknown, unknown>, WorkflowError> =>
  Effect.suspend(() => {
    if (engine.closed) return Effect.interrupt
    const admitted = admit(engine, def, payload, {})
    if (admitted instanceof WorkflowError) return Effect.fail(admitted)
    const { executionId } = admitted
    // The waiter exists before the execution does, so no completion can slip between the two.
    const waiter = engine.results.join(executionId)
    return create(engine, def, admitted, undefined, true, deadlineMs).pipe(
      Effect.flatMap(({ record }) => {
        const ended = terminal.has(record.status)
        if (ended) engine.results.notify(executionId, record.result)
        const awaited = Deferred.await(waiter.done)
        // Unserved here: a workflow this engine only submits, or a joined execution of a version it does not register.
        const served = ended || Versioning.registrationOf(engine, record) !== undefined
        const waited = served ? awaited : warnUnserved(engine, def.name, executionId, awaited, versionOf(record))
        return Effect.flatMap(waited, (encoded) => decodeResult(def, { ...record, result: encoded }))
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

/**
 * Notes that `engine` registered workflow `name`, in the process-wide record of who registered what (held weakly,
 * and forgotten when the engine closes): a refusal elsewhere can then say where the workflow is registered.
 */
export const noteRegistered = (engine: Engine, name: string): void => {
  let engines = registeredOn.get(name)
  if (engines === undefined) registeredOn.set(name, (engines = new Set()))
  engines.add(refOf(engine))
}

/** Takes a closing engine out of the process-wide record of registrations. */
export const forgetEngine = (engine: Engine): void => {
  const ref = refs.get(engine)
  if (ref === undefined) return
  for (const name of engine.registry.keys()) {
    const engines = registeredOn.get(name)
    engines?.delete(ref)
    if (engines?.size === 0) registeredOn.delete(name)
  }
}

/**
 * The refusal of a workflow this engine has not registered: it says when another engine instance of this process
 * did (its layer was provided to another engine than the one called: an engine layer built twice).
 */
export const notRegistered = (engine: Engine, name: string, version?: number): WorkflowError =>
  new WorkflowError({
    reason: "NotRegistered",
    workflow: name,
    message: version !== undefined && engine.registry.has(name)
      ? `Version ${version} of workflow "${name}" is not registered with this engine (it registers version ` +
        `${[...(engine.registered.get(name)?.keys() ?? [])].join(", ")}): provide that version's layer`
      : registeredElsewhere(engine, name)
      ? `Workflow "${name}" is registered on another engine instance, not the one in this context: its layer ` +
        `(${name}.toLayer(...)) was provided to another engine than the one it is called on (an engine layer built ` +
        `twice?). Build the engine layer once and provide it to both (Layer.provideMerge)`
      : `Workflow "${name}" is not registered with this engine: provide its layer (${name}.toLayer(...))`
  })

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

/**
 * `wait` for an execution that no worker of this engine runs (a submit-only engine), with a warning once it has
 * waited `noWorkerWarningMs` by the caller's `Clock`: it goes on waiting for a worker elsewhere, but not silently.
 */
const warnUnserved = <A, E>(
  engine: Engine,
  workflow: string,
  executionId: string,
  wait: Effect.Effect<A, E>,
  version: number
): Effect.Effect<A, E> => {
  const after = engine.settings.noWorkerWarningMs
  if (!Number.isFinite(after)) return wait
  return Effect.timeoutOrElse(wait, {
    duration: after,
    orElse: () =>
      Effect.andThen(
        Effect.suspend(() => Effect.logWarning(unserved(engine, workflow, executionId, after, version))).pipe(
          Effect.annotateLogs({ "weft.workflow": workflow, "weft.execution": executionId })
        ),
        wait
      )
  })
}

const unserved = (engine: Engine, workflow: string, executionId: string, after: number, version: number): string => {
  const waited = after % 1_000 === 0 ? `${after / 1_000} s` : `${after} ms`
  if (engine.registry.has(workflow)) {
    return `Weft: execution ${executionId} of workflow "${workflow}" has waited ${waited} for its result. It runs on ` +
      `version ${version}, which this engine does not register (it registers version ` +
      `${[...(engine.registered.get(workflow)?.keys() ?? [])].join(", ")}): only a worker that registers version ` +
      `${version} runs it. It keeps waiting; register that version's definition again until its executions end.`
  }
  const head = `Weft: execution ${executionId} of workflow "${workflow}" has waited ${waited} for its result, and this ` +
    `engine does not run "${workflow}" (it only submits it: acceptUnregistered).`
  return registeredElsewhere(engine, workflow)
    ? `${head} "${workflow}" is registered on another engine instance of this process, not on the one this call ` +
      `used: if that engine shares this store it will run it; else provide ${workflow}.toLayer(...) to this one. ` +
      `It keeps waiting.`
    : `${head} No worker in this process runs it, so it keeps waiting for a worker elsewhere; if none runs, start ` +
      `one that provides ${workflow}.toLayer(...) over the same store.`
}

// Which engines of this process registered each workflow. Weak references, so a record never keeps an engine
// alive; an engine leaves it when it closes, and a reference whose engine is gone or closed is dropped when met.
const registeredOn = new Map<string, Set<WeakRef<Engine>>>()
const refs = new WeakMap<Engine, WeakRef<Engine>>()

const refOf = (engine: Engine): WeakRef<Engine> => {
  let ref = refs.get(engine)
  if (ref === undefined) refs.set(engine, (ref = new WeakRef(engine)))
  return ref
}

/** Whether a live engine of this process other than `engine` registered workflow `name`. */
const registeredElsewhere = (engine: Engine, name: string): boolean => {
  const engines = registeredOn.get(name)
  if (engines === undefined) return false
  let found = false
  for (const ref of engines) {
    const other = ref.deref()
    if (other === undefined || other.closed) engines.delete(ref)
    else if (other !== engine) found = true
  }
  if (engines.size === 0) registeredOn.delete(name)
  return found
}
