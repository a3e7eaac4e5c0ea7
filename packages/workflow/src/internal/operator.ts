/**
 * An operator's second chances. `retry`: a failed execution runs again where it stands; the activities whose
 * failure ended it get a fresh round of attempts (a `RETRIED` marker after their last attempt), every other step
 * keeps its stored result. `restart`: a new execution (new id, linked both ways by events) with a copy of the
 * journal up to a step, which runs the rest (Temporal's reset, DBOS's fork). Both refuse, loudly, what they
 * cannot do faithfully: an execution whose compensations ran, a child it stopped or still waits on.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { WorkflowError } from "../WorkflowError.js"
import {
  type ActivityAttempt,
  type ClockRecord,
  type DeferredRecord,
  type ExecutionDetail,
  type ExecutionRecord,
  versionOf,
  isRetriedMarker,
  live,
  RETRIED
} from "../WorkflowStore.js"
import type { Engine } from "./definitions.js"
import * as Deadline from "./deadline.js"
import * as ExitEncoding from "./exitEncoding.js"
import { stableId } from "./hash.js"
import * as Metrics from "../WorkflowMetrics.js"
import * as NameRules from "./nameRules.js"
import * as Names from "./reserved.js"

/** What `retry` did: the activities given a fresh round of attempts (none: the body itself failed). */
export interface RetryResult {
  readonly executionId: string
  readonly activities: ReadonlyArray<string>
}

/** Options of `restart`. */
export interface RestartOptions {
  /**
   * The activity to start again from: it and every step after it run anew, those completed before its first
   * attempt started keep their results. Default: from the beginning (nothing is copied).
   */
  readonly fromStep?: string | undefined
  /**
   * The restart's idempotency key: the same key restarts once (the new id comes from it). Default: the source's end
   * and the step, so the same restart asked twice (a double click, a retried request) is one execution.
   */
  readonly idempotencyKey?: string | undefined
  /** Only an execution of this workflow. */
  readonly workflow?: string | undefined
  /**
   * The version of its workflow the new execution runs on (a whole number from 1). Default: the source's version,
   * whose body wrote the steps it keeps. Another version replays them on its own body.
   */
  readonly version?: number | undefined
}

/** What `restart` did: the new execution's id, and how much of the old journal it holds. */
export interface RestartResult {
  readonly executionId: string
  readonly restartedFrom: string
  readonly fromStep: string | undefined
  readonly copiedSteps: number
  /** False when `idempotencyKey` named a restart made before: nothing new was written. */
  readonly created: boolean
}

const refused = (record: ExecutionRecord, message: string): WorkflowError =>
  new WorkflowError({ reason: "InvalidState", executionId: record.executionId, workflow: record.workflow, message })

/** The refusal of a restart's `version`: what was expected, and why (`detail` follows the execution it restarts). */
const badVersion = (record: ExecutionRecord, expected: string, detail: string): WorkflowError =>
  new WorkflowError({
    reason: "InvalidPayload",
    executionId: record.executionId,
    workflow: record.workflow,
    field: "version",
    expected,
    message: `Restarting execution ${record.executionId} of workflow "${record.workflow}"${detail}`
  })

const unsupported = (operation: string): WorkflowError =>
  new WorkflowError({
    reason: "StoreRejected",
    message: `This store cannot ${operation} executions: it does not implement the store's optional "${operation === "restart" ? "fork" : operation}" member`
  })

/** The execution's detail, of `workflow` when given; unknown: `ExecutionNotFound`. */
const detailOf = (engine: Engine, executionId: string, workflow: string | undefined) =>
  Effect.gen(function* () {
    const found = NameRules.problem(executionId) === undefined ? yield* engine.store.detail(executionId) : Option.none()
    if (Option.isNone(found) || (workflow !== undefined && found.value.execution.workflow !== workflow)) {
      return yield* Effect.fail(
        new WorkflowError({
          reason: "ExecutionNotFound",
          executionId,
          ...(workflow === undefined ? {} : { workflow }),
          message: `No execution ${executionId}${workflow === undefined ? "" : ` of workflow "${workflow}"`}`
        })
      )
    }
    return found.value
  })

/** The latest attempt of every activity, by name. */
const lastAttempts = (attempts: ReadonlyArray<ActivityAttempt>): Map<string, ActivityAttempt> => {
  const last = new Map<string, ActivityAttempt>()
  for (const attempt of attempts) {
    const seen = last.get(attempt.name)
    if (seen === undefined || attempt.attempt > seen.attempt) last.set(attempt.name, attempt)
  }
  return last
}

const failed = (attempt: ActivityAttempt): boolean =>
  !isRetriedMarker(attempt.exit) && (attempt.exit as { readonly _tag?: unknown } | undefined)?._tag === "Failure"

/**
 * The activities whose failure ended the execution: user activities whose last attempt failed and after which no
 * other step was stored (a failure the body caught and went on from is part of its history, not its end). Journal
 * order is the order attempts were stored (the store contract), not their times: many steps share a millisecond.
 */
export const endingFailures = (detail: ExecutionDetail): Array<ActivityAttempt> => {
  const attempts = detail.attempts
  const ending: Array<ActivityAttempt> = []
  const seen = new Set<string>()
  // From the end: the names met before another name's attempt are the last steps stored.
  for (let i = attempts.length - 1; i >= 0; i--) {
    const attempt = attempts[i]!
    if (seen.has(attempt.name)) continue
    seen.add(attempt.name)
    if (Names.isReserved(attempt.name) || !failed(attempt)) break
    ending.push(attempt)
  }
  return ending.reverse()
}

/** The typed error of an encoded failed Exit (its first `Fail`), as JSON text to compare; none for another end. */
const failureText = (encoded: unknown): string | undefined => {
  const exit = encoded as { readonly _tag?: string; readonly cause?: unknown } | undefined
  if (exit?._tag !== "Failure") return undefined
  const find = (cause: any): unknown =>
    cause?._tag === "Fail"
      ? cause
      : cause?._tag === "Sequential" || cause?._tag === "Parallel"
      ? find(cause.left) ?? find(cause.right)
      : undefined
  const fail = find(exit.cause) as { readonly error?: unknown } | undefined
  return fail === undefined ? undefined : JSON.stringify(fail.error) ?? "undefined"
}

/**
 * The activities to run again: those whose failure ended the execution (`endingFailures`); when the body went on after
 * the failure (a `tapError` that told someone, a note), the activities whose last attempt failed with the very error
 * the execution failed with — and, `after`, the steps stored after them: the failed path's own steps, which a
 * retried run that succeeds never asks for again (their markers let it skip them; asked again, they run again).
 */
const toRetry = (detail: ExecutionDetail): { readonly failed: Array<ActivityAttempt>; readonly after: Array<ActivityAttempt> } => {
  const ending = endingFailures(detail)
  if (ending.length > 0) return { failed: ending, after: [] }
  const error = failureText(detail.execution.result)
  if (error === undefined) return { failed: [], after: [] }
  const last = lastAttempts(detail.attempts)
  const matching = [...last.values()].filter(
    (attempt) => !Names.isReserved(attempt.name) && failed(attempt) && failureText(attempt.exit) === error
  )
  if (matching.length === 0) return { failed: [], after: [] }
  const names = new Set(matching.map((a) => a.name))
  const from = Math.min(...matching.map((a) => detail.attempts.indexOf(a)))
  const after = [...last.values()].filter(
    (attempt) => !names.has(attempt.name) && !Names.isReserved(attempt.name) && detail.attempts.indexOf(attempt) > from
  )
  return { failed: matching, after }
}

/** Why a failed execution cannot be retried faithfully, if it cannot. */
const retryProblem = (engine: Engine, detail: ExecutionDetail): Effect.Effect<string | undefined, WorkflowError> =>
  Effect.gen(function* () {
    const id = detail.execution.executionId
    const restartHint = `restart it instead (WorkflowEngine.restart("${id}", { fromStep }), or \`weft restart ${id} --from-step <activity>\`), which starts a new execution from a step of your choice`
    const restarted = detail.events.find((e) => e.kind === "restarted")
    if (restarted !== undefined) {
      return `Execution ${id} was restarted (${restarted.detail ?? "as another execution"}): retrying it too would run its steps a second time. Retry or restart the new execution instead`
    }
    const deadline = detail.clocks.find((c) => c.name === Names.DEADLINE)
    if (deadline !== undefined && deadline.wakeAt <= (yield* Clock.currentTimeMillis)) {
      return `Execution ${id}'s deadline passed at ${new Date(deadline.wakeAt).toISOString()}: a retry would be interrupted at once and run its compensations. To run it again, ${restartHint} (a restart has a deadline of its own)`
    }
    const parent = detail.execution.parent
    if (parent !== undefined) {
      const parentDetail = yield* engine.store.detail(parent.executionId)
      if (Option.isSome(parentDetail) && parentDetail.value.deferreds.some((d) => d.name === parent.deferred)) {
        return `Execution ${id} is a child of ${parent.executionId}, which already holds its failure (the first result a parent gets stands): retrying the child would not reach the parent. Retry or restart the parent instead`
      }
    }
    if (detail.attempts.some((a) => a.name.startsWith(Names.COMPENSATION)) || detail.events.some((e) => e.kind === "compensated")) {
      return `Execution ${id} ran its compensations when it failed: a retry would go on as if the steps they undid were still done. To run it again, ${restartHint}`
    }
    if (!ExitEncoding.isDefect(detail.execution.result)) {
      const stopped = yield* stoppedChildren(engine, detail)
      if (stopped.length > 0) {
        return `Execution ${id} stopped its child execution(s) ${stopped.join(", ")} when it failed: a retry would find them interrupted. To run it again, ${restartHint}`
      }
    }
    return undefined
  })

/**
 * The children an execution awaited that its failure stopped: those whose result came back interrupted, and those
 * linked to it (not started with `discard`) with no result yet.
 */
const stoppedChildren = (engine: Engine, detail: ExecutionDetail): Effect.Effect<Array<string>, WorkflowError> =>
  Effect.gen(function* () {
    const results = new Map(detail.deferreds.map((d) => [d.name, d]))
    const stopped: Array<string> = []
    for (const [name, attempt] of lastAttempts(detail.attempts)) {
      if (!name.startsWith(Names.CHILD_START) || !ExitEncoding.isSuccess(attempt.exit)) continue
      const childId = (attempt.exit as { readonly value?: unknown }).value
      if (typeof childId !== "string") continue
      const workflow = name.slice(Names.CHILD_START.length, name.length - childId.length - 1)
      const result = results.get(Names.childResult(workflow, childId))
      if (result !== undefined) {
        if (isInterruptedOnly(result.exit)) stopped.push(childId)
        continue
      }
      // No result: a discarded child never reports (it is not linked); a linked one is being stopped.
      const child = yield* engine.store.get(childId)
      if (Option.isSome(child) && child.value.parent?.executionId === detail.execution.executionId) stopped.push(childId)
    }
    return stopped
  })

const isInterruptedOnly = (encoded: unknown): boolean => {
  const exit = encoded as { readonly _tag?: string; readonly cause?: unknown } | undefined
  if (exit?._tag !== "Failure") return false
  const walk = (cause: any): boolean =>
    cause?._tag === "Interrupt" ||
    ((cause?._tag === "Sequential" || cause?._tag === "Parallel") && walk(cause.left) && walk(cause.right))
  return walk(exit.cause)
}

/**
 * Runs a failed execution again: the activities whose failure ended it get a fresh round of attempts (their retry
 * policy counts from the retry), every other step replays its stored result. One atomic write, journaled as a
 * `retried` event; the execution is scheduled here when this engine runs its workflow, else by its workers.
 */
export const retry = (
  engine: Engine,
  executionId: string,
  workflow?: string | undefined
): Effect.Effect<RetryResult, WorkflowError> =>
  Effect.gen(function* () {
    const store = engine.store
    if (store.retry === undefined) return yield* Effect.fail(unsupported("retry"))
    const detail = yield* detailOf(engine, executionId, workflow)
    const record = detail.execution
    if (record.status !== "failed") {
      return yield* Effect.fail(
        refused(
          record,
          `Execution ${executionId} of workflow "${record.workflow}" is ${record.status}: only a failed execution is retried` +
            (record.status === "interrupted"
              ? ` (an interrupted one ran its compensations; restart it to run it again)`
              : live.has(record.status)
              ? ` (this one has not ended)`
              : "")
        )
      )
    }
    const problem = yield* retryProblem(engine, detail)
    if (problem !== undefined) return yield* Effect.fail(refused(record, problem))
    const at = yield* Clock.currentTimeMillis
    const chosen = toRetry(detail)
    const ending = chosen.failed
    const markers = [...chosen.failed, ...chosen.after].map((last): ActivityAttempt => ({
      name: last.name,
      attempt: last.attempt + 1,
      exit: RETRIED,
      startedAt: at,
      completedAt: at
    }))
    const activities = ending.map((a) => a.name)
    const detailText = activities.length === 0
      ? "the body itself failed: it runs again from the top"
      : `again: ${activities.map((name) => JSON.stringify(name)).join(", ")}` +
        (chosen.after.length === 0 ? "" : `; the steps after the failure void: ${chosen.after.map((a) => JSON.stringify(a.name)).join(", ")}`)
    const applied = yield* store.retry(executionId, {
      at,
      expectedUpdatedAt: record.updatedAt,
      markers,
      detail: detailText
    })
    if (!applied) {
      // Changed meanwhile: retried or resumed by someone else (it runs again: done), or anything else (say so).
      const now = yield* detailOf(engine, executionId, workflow)
      if (!live.has(now.execution.status)) {
        return yield* Effect.fail(
          refused(now.execution, `Execution ${executionId} changed while it was being retried (now ${now.execution.status}); look at it again`)
        )
      }
      return { executionId, activities: [] }
    }
    if (engine.registry.has(record.workflow)) yield* engine.scheduler.schedule(executionId)
    return { executionId, activities }
  })

/**
 * The part of a journal a restart from `fromStep` keeps: the attempts stored before its first one (journal order),
 * the deferreds completed and timers due by the time it started; never compensations; a child or queue hand-over
 * only with its answer.
 */
const copied = (detail: ExecutionDetail, fromStep: string | undefined) => {
  const first = fromStep === undefined ? 0 : detail.attempts.findIndex((a) => a.name === fromStep)
  const cutoff = first < 0 || fromStep === undefined ? Number.NEGATIVE_INFINITY : detail.attempts[first]!.startedAt
  const before = (t: number) => t <= cutoff
  const deferreds = detail.deferreds.filter((d) => before(d.completedAt))
  const kept = new Set(deferreds.map((d) => d.name))
  const attempts = detail.attempts.slice(0, Math.max(first, 0)).filter((a) => {
    if (a.name.startsWith(Names.COMPENSATION)) return false
    // A hand-over whose answer is not kept would wait for an answer that goes to the old execution.
    if (a.name.startsWith(Names.CHILD_START)) {
      const childId = (a.exit as { readonly value?: unknown }).value
      const workflow = typeof childId === "string" ? a.name.slice(Names.CHILD_START.length, a.name.length - childId.length - 1) : ""
      return typeof childId === "string" && kept.has(Names.childResult(workflow, childId))
    }
    if (a.name.startsWith(Names.ENQUEUE)) return kept.has(Names.QUEUE_RESULT + a.name.slice(Names.ENQUEUE.length))
    return true
  })
  // Never the source's deadline timer: a restart's counts from its own start (`restart` adds it).
  const clocks = detail.clocks.filter((c: ClockRecord) => before(c.wakeAt) && c.name !== Names.DEADLINE)
  return { attempts, deferreds: deferreds as ReadonlyArray<DeferredRecord>, clocks }
}

/**
 * Starts a new execution of an ended one's workflow and payload that holds a copy of its journal up to
 * `fromStep` and runs the rest. Journaled on both (`started` names the source and step, `restarted` the new id).
 */
export const restart = (
  engine: Engine,
  executionId: string,
  options: RestartOptions = {}
): Effect.Effect<RestartResult, WorkflowError> =>
  Effect.gen(function* () {
    const store = engine.store
    if (store.fork === undefined) return yield* Effect.fail(unsupported("restart"))
    const detail = yield* detailOf(engine, executionId, options.workflow)
    const record = detail.execution
    if (live.has(record.status)) {
      return yield* Effect.fail(
        refused(
          record,
          `Execution ${executionId} of workflow "${record.workflow}" is ${record.status}: a restart would run its steps twice at once. Interrupt it first (or wait for its end), then restart it`
        )
      )
    }
    const { fromStep } = options
    if (fromStep !== undefined && (Names.isReserved(fromStep) || !detail.attempts.some((a) => a.name === fromStep))) {
      const steps = [...new Set(detail.attempts.map((a) => a.name).filter((name) => !Names.isReserved(name)))]
      {
        return yield* Effect.fail(
          new WorkflowError({
            reason: "InvalidPayload",
            executionId,
            workflow: record.workflow,
            field: "fromStep",
            expected: steps.length === 0 ? "no step: this execution ran no activity" : `one of ${steps.slice(0, 20).map((s) => JSON.stringify(s)).join(", ")}${steps.length > 20 ? ", …" : ""}`,
            message: `Execution ${executionId} of workflow "${record.workflow}" has no activity ${JSON.stringify(fromStep)} to restart from` +
              (steps.length === 0 ? ": it ran no activity (omit fromStep to restart from the beginning)" : `; its activities: ${steps.slice(0, 20).map((s) => JSON.stringify(s)).join(", ")}${steps.length > 20 ? ", …" : ""}`)
          })
        )
      }
    }
    // A child still running reports to the old execution: the new one, starting it again, would join it and wait forever.
    const liveChildren = store.liveChildren === undefined ? [] : yield* store.liveChildren(executionId)
    if (liveChildren.length > 0) {
      return yield* Effect.fail(
        refused(
          record,
          `Execution ${executionId} has child execution(s) still running (${liveChildren.map((c) => c.executionId).join(", ")}), which report to it: interrupt them or wait for their end, then restart it`
        )
      )
    }
    const kept = copied(detail, fromStep)
    // By default the same restart (same source as it ended, same step) is one execution: a double click or a retried
    // request does not run the rest twice. A key of the caller's own makes another.
    const version = options.version ?? versionOf(record)
    if (!(Number.isSafeInteger(version) && version >= 1 && version <= 2_147_483_647)) {
      return yield* Effect.fail(
        badVersion(
          record,
          "a whole number from 1 to 2147483647",
          `: version must be a whole number from 1 to 2147483647, got ${String(options.version)}`
        )
      )
    }
    const registered = engine.registered.get(record.workflow)
    if (options.version !== undefined && registered !== undefined && !registered.has(version)) {
      // A worker of this workflow that lacks the version asked for: refused, rather than an execution that may wait
      // for a worker that never comes (an engine that runs none of it, the CLI's, cannot tell and lets it through).
      const listed = [...registered.keys()].join(", ")
      return yield* Effect.fail(
        badVersion(
          record,
          `a registered version: ${listed}`,
          ` on version ${version}: this engine registers version ${listed} of it. Restart on one of those, or from an ` +
            `engine that registers version ${version}`
        )
      )
    }
    const onVersion = version === versionOf(record) ? "" : `/v${version}`
    const key = options.idempotencyKey ?? `@${record.updatedAt}/${fromStep ?? ""}${onVersion}`
    const newId = stableId(record.workflow, `@weft/restart/${executionId}/${key}`)
    const at = yield* Clock.currentTimeMillis
    const runsHere = registered?.has(version) ?? false
    const step = fromStep === undefined ? "the beginning" : `step ${JSON.stringify(fromStep)}`
    // A deadline the source was given at its start counts again, as long, from the restart's start; its workflow's
    // (the length the source's version defines) is left to the version the restart runs, which stores its own.
    const deadline = detail.clocks.find((c) => c.name === Names.DEADLINE)
    const length = deadline?.setAt === undefined ? undefined : Math.max(1, deadline.wakeAt - deadline.setAt)
    const sourceDef = registered?.get(versionOf(record))?.def
    const own = length !== undefined && (sourceDef === undefined || sourceDef.deadlineMs !== length)
    const clocks = own ? [...kept.clocks, Deadline.clock(at, length)] : kept.clocks
    const { created } = yield* store.fork({
      execution: {
        executionId: newId,
        workflow: record.workflow,
        payload: record.payload,
        parent: undefined,
        at,
        version,
        announce: !runsHere
      },
      source: executionId,
      attempts: kept.attempts,
      deferreds: kept.deferreds,
      clocks,
      startedDetail: `restart of ${executionId} from ${step}`,
      sourceDetail: `as ${newId} from ${step}`
    })
    if (created) engine.telemetry.metric(Metrics.forWorkflow(record.workflow).started, 1)
    if (created && runsHere) yield* engine.scheduler.schedule(newId)
    return {
      executionId: newId,
      restartedFrom: executionId,
      fromStep,
      copiedSteps: new Set(kept.attempts.map((a) => a.name)).size,
      created
    }
  })
