/**
 * Child workflows: a start is a journaled step whose result is the child's id; the child's end completes a
 * deferred of its parent. A parent that ends takes the children it still awaits with it.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { WorkflowError } from "../WorkflowError.js"
import { type ExecutionRecord, terminal } from "../WorkflowStore.js"
import * as Activities from "./activities.js"
import * as Codec from "./codec.js"
import * as Deferreds from "./deferreds.js"
import type { WorkflowDef } from "./definitions.js"
import * as InvalidInput from "./invalidInput.js"
import * as Names from "./reserved.js"
import type { Run } from "./run.js"
import * as Signals from "./signals.js"
import * as Starts from "./starts.js"

/** A child's start: its id, or the refusal of an id another payload holds (journaled, so every replay sees it). */
const startCodec = Codec.make(undefined, Schema.String, WorkflowError)

/**
 * Starts (or joins) child `def` of the running execution for `payload`, once: with `discard` returns its id,
 * else waits durably for its result. A discarded child is not linked and outlives its parent. An id another
 * payload holds fails the start with `ExecutionConflict`, a typed error of the body.
 */
export const execute = (
  run: Run,
  def: WorkflowDef,
  payload: unknown,
  discard: boolean,
  deadlineMs?: number
): Effect.Effect<any, any> => {
  const engine = run.engine
  if (!engine.registry.has(def.name)) return Effect.fail(Starts.notRegistered(engine, def.name))
  const encoded = def.codec.encodePayload(payload)
  if (Result.isFailure(encoded)) {
    return Effect.fail(InvalidInput.invalid("InvalidPayload", "The payload", encoded.failure, { workflow: def.name }))
  }
  // The id the start creates or joins: the key of the version it runs (a newer version may key another way).
  const childId = Starts.executionIdOf(engine, def, payload, encoded.success)
  if (childId instanceof WorkflowError) return Effect.fail(childId)
  const deferred = Names.childResult(def.name, childId)
  const link = discard ? undefined : { executionId: run.executionId, deferred }
  run.children.add(childId)
  const started = Activities.activity(run, {
    name: Names.childStart(def.name, childId),
    codec: startCodec,
    // Tried again while the database does not answer (a start is idempotent); then the run stops unrecorded.
    // An id another payload holds is the step's typed failure, kept through `persist`.
    execute: Effect.flatMap(
      run.persist(
        Effect.catch(Effect.as(Starts.start(engine, def, payload, { parent: link, deadlineMs }), childId), (error) =>
          error.reason === "ExecutionConflict" ? Effect.succeed(error) : Effect.fail(error)
        )
      ),
      (started) => (typeof started === "string" ? Effect.succeed(started) : Effect.fail(started))
    ),
    retry: undefined
  }) as Effect.Effect<string>
  if (discard) return started
  return Effect.andThen(started, Effect.map(Deferreds.await_(run, deferred, def.codec), Option.getOrThrow))
}

/**
 * The children this execution may have started whose result it has not received: those its journal
 * records and those asked for in this run (linked or not, existing or not: the caller checks).
 */
const open = (run: Run): Array<string> => {
  const open = new Set(run.children)
  for (const [name, list] of run.replay.attempts) {
    if (!name.startsWith(Names.CHILD_START)) continue
    const exit = list[list.length - 1]!.exit as { readonly _tag?: string; readonly value?: unknown }
    if (exit._tag === "Success" && typeof exit.value === "string") open.add(exit.value)
  }
  if (open.size === 0) return []
  for (const name of run.replay.deferreds.keys()) {
    if (name.startsWith(Names.CHILD_RESULT)) open.delete(Names.childOfResult(name))
  }
  return [...open]
}

/**
 * A parent that ends takes its awaited children with it: each one still running is asked to stop
 * (an interrupt, so its compensations run). Asked before the parent's end is stored, so a crash in
 * between asks again on the next run; a child started with `discard` is not linked and goes on.
 * Those the journal names and has no result of, read at once where the store can (`liveChildren`), else
 * one read per child. An unreachable store fails the run (it is tried again); a child that cannot
 * be read is skipped.
 */
export const interruptOpen = (run: Run): Effect.Effect<void, WorkflowError> => {
  const children = open(run)
  if (children.length === 0) return Effect.void
  const { engine, executionId: parentId } = run
  const store = engine.store
  const stop = (child: ExecutionRecord) =>
    Effect.catch(Signals.interruptRecord(engine, child), (error) => skipUnlessUnavailable(error, child.executionId))
  const skipUnlessUnavailable = (error: WorkflowError, childId: string) =>
    error.reason === "StoreUnavailable"
      ? Effect.fail(error)
      : Effect.logWarning(`Weft: could not interrupt child ${childId} of execution ${parentId}`, error)
  const oneByOne = Effect.forEach(
    children,
    (childId) =>
      Effect.flatMap(store.get(childId), (child) =>
        Option.isSome(child) && child.value.parent?.executionId === parentId && !terminal.has(child.value.status)
          ? stop(child.value)
          : Effect.void
      ).pipe(Effect.catch((error) => skipUnlessUnavailable(error, childId))),
    { concurrency: 8, discard: true }
  )
  if (store.liveChildren === undefined) return oneByOne
  // Should the one read fail on a row that no longer reads, one read per child skips just that one.
  return store.liveChildren(parentId).pipe(
    Effect.matchEffect({
      onFailure: (error) => (error.reason === "StoreUnavailable" ? Effect.fail(error) : oneByOne),
      // Only those the journal still counts as open: a child whose result the parent has is no longer its
      // to stop (resumed by hand after a defect, say).
      onSuccess: (live) => {
        const named = new Set(children)
        return Effect.forEach(live.filter((child) => named.has(child.executionId)), stop, {
          concurrency: 8,
          discard: true
        })
      }
    })
  )
}
