/**
 * What a route answers when it fails inside: a store error keeps its reason but not the driver's words (logged
 * instead), and a defect is a logged `InternalError` (500) with a JSON body.
 */
import * as Effect from "effect/Effect"
import { WorkflowError } from "@weft/workflow"
import { InternalError } from "./errors.js"

/** The reasons whose messages may carry the store's or driver's words (a database URL, a statement). */
const internalReasons: ReadonlySet<WorkflowError.Reason> = new Set([
  "StoreUnavailable",
  "StoreRejected",
  "LeaseLost",
  "InvalidResult"
])

const genericMessage: Partial<Record<WorkflowError.Reason, string>> = {
  StoreUnavailable: "The workflow store is unavailable; try again later",
  StoreRejected: "The workflow store refused the operation",
  LeaseLost: "The execution moved to another worker; try again",
  InvalidResult: "The execution's stored result could not be read"
}

/**
 * A route's effect as it may answer a caller: errors of the store keep their reason but get a generic message (the
 * original is logged), and a defect is a logged `InternalError` (500) with a JSON body rather than an empty 500.
 */
export const redact = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | InternalError, R> =>
  effect.pipe(
    Effect.catchIf(
      (error): error is E & WorkflowError.WorkflowError =>
        error instanceof WorkflowError.WorkflowError && internalReasons.has(error.reason),
      (error) =>
        Effect.andThen(
          Effect.logError("Weft proxy: a request failed in the store", error),
          Effect.fail(
            new WorkflowError.WorkflowError({
              reason: error.reason,
              message: genericMessage[error.reason] ?? "The request failed",
              ...(error.workflow === undefined ? {} : { workflow: error.workflow }),
              ...(error.executionId === undefined ? {} : { executionId: error.executionId })
            }) as E & WorkflowError.WorkflowError
          )
        )
    ),
    Effect.catchDefect((defect) =>
      Effect.andThen(
        Effect.logError("Weft proxy: a request failed unexpectedly", defect),
        Effect.fail(new InternalError({ message: "The server failed to answer this request" }))
      )
    )
  )

