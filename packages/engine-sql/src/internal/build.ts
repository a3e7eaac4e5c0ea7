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

/**
 * The error of a database that could not be opened: `what` names it; the message says the cause in words
 * (connection refused, host not found, database missing, authentication failed, malformed URL), passwords redacted.
 */
export const unavailable = (what: string) => (error: unknown): WorkflowError.WorkflowError =>
  new WorkflowError.WorkflowError({
    reason: "StoreUnavailable",
    message: redactUrls(`Could not open ${what}: ${connectCause(error).words}`)
  })

/** Why a connection could not be opened, in words, and whether trying again can help. */
export const connectCause = (error: unknown): { readonly words: string; readonly permanent: boolean } => {
  const { code, message } = innermost(error)
  switch (code) {
    case "ERR_INVALID_URL":
      return { words: `malformed URL (${message})`, permanent: true }
    case "ENOTFOUND":
      return { words: `host not found (${message})`, permanent: true }
    case "EAI_AGAIN":
      return { words: `host not found: DNS did not answer (${message})`, permanent: false }
    case "ECONNREFUSED":
      return { words: `connection refused: nothing listens at that host and port (${message})`, permanent: false }
    case "3D000":
      return { words: `database missing: ${message}`, permanent: true }
    case "28P01":
    case "28000":
      return { words: `authentication failed: ${message}`, permanent: true }
    default:
      return { words: message, permanent: false }
  }
}

/** Whether trying to open the database again can help (not for a missing host or database, or bad credentials). */
export const isTransient = (error: unknown): boolean => !connectCause(error).permanent

/** `text` with every URL's password masked: `user:***@`, and `password=***` in query strings. */
export const redactUrls = (text: string): string =>
  text
    .replace(/(\/\/[^:@/\s]*):[^@/\s]*@/g, "$1:***@")
    .replace(/([?&](?:password|sslpassword|pass|pwd)=)[^&#\s]*/gi, "$1***")

/** The driver's own code and words, found through the error's reasons, causes and aggregated errors. */
const innermost = (error: unknown): { readonly code: string | undefined; readonly message: string } => {
  let code: string | undefined
  let message = error instanceof Error ? error.message : String(error)
  let current: unknown = error
  for (let depth = 0; depth < 6 && typeof current === "object" && current !== null; depth++) {
    const c = (current as { readonly code?: unknown }).code
    if (typeof c === "string") code = c
    if (current instanceof Error && current.message !== "") message = current.message
    const next = current as { readonly reason?: unknown; readonly cause?: unknown; readonly errors?: unknown }
    current = typeof next.reason === "object" && next.reason !== null
      ? next.reason
      : next.cause !== undefined
      ? next.cause
      : Array.isArray(next.errors)
      ? next.errors[0]
      : undefined
  }
  return { code, message }
}

/**
 * `self`, built again by `schedule` (if any) while it fails with an error `transient` accepts, then failing with
 * `onError`. Each try builds in a scope of its own, closed when that try fails: a pool opened before the failure
 * does not outlive it.
 */
export const buildOrFail = <A, E, E2>(
  self: Layer.Layer<A, E>,
  onError: (error: E) => E2,
  schedule?: Schedule.Schedule<unknown, unknown>,
  transient: (error: E) => boolean = () => true
): Layer.Layer<A, E2> => {
  const once = Effect.flatMap(Effect.scope, (outer) =>
    Effect.flatMap(Scope.fork(outer), (scope) =>
      Effect.onExit(Layer.buildWithScope(self, scope), (exit) =>
        Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void
      )
    )
  )
  return Layer.effectContext(Effect.mapError(schedule === undefined ? once : Effect.retry(once, { schedule, while: transient }), onError))
}
