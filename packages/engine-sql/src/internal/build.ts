/**
 * Building the engines' connection layers: a connection that cannot be opened becomes `StoreUnavailable`,
 * and a failed try releases what it opened before the next one.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import { WorkflowError } from "@weft/workflow"

/** The error of a database that could not be opened: `what` names it, for the message. */
export const unavailable = (what: string) => (error: unknown): WorkflowError.WorkflowError =>
  new WorkflowError.WorkflowError({
    reason: "StoreUnavailable",
    message: `Could not open ${what}: ${error instanceof Error ? error.message : String(error)}`
  })

/**
 * `self`, built again by `schedule` (if any) while it fails, then failing with `onError`. Each try builds in
 * a scope of its own, closed when that try fails: a pool opened before the failure does not outlive it.
 */
export const buildOrFail = <A, E, E2>(
  self: Layer.Layer<A, E>,
  onError: (error: E) => E2,
  schedule?: Schedule.Schedule<unknown, unknown>
): Layer.Layer<A, E2> => {
  const once = Effect.flatMap(Effect.scope, (outer) =>
    Effect.flatMap(Scope.fork(outer), (scope) =>
      Effect.onExit(Layer.buildWithScope(self, scope), (exit) =>
        Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void
      )
    )
  )
  return Layer.effectContext(Effect.mapError(schedule === undefined ? once : Effect.retry(once, schedule), onError))
}
