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
 * The error of a database that could not be opened: `what` names it (any URL in it already redacted, with
 * `redactUrl`); the message says the cause in words (connection refused, host not found, database missing,
 * authentication failed, malformed URL), passwords redacted.
 */
export const unavailable = (what: string) => (error: unknown): WorkflowError.WorkflowError =>
  new WorkflowError.WorkflowError({
    reason: "StoreUnavailable",
    message: `Could not open ${what}: ${redactUrls(connectCause(error).words)}`
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
      // @effect/sql-pg's own check, with no code: a URL without a user, and no USER in the environment.
      return /No username configured/.test(message)
        ? { words: "no user name: the URL names none (postgres://user@host/database) and USER is not set", permanent: true }
        : { words: message, permanent: false }
  }
}

/** Whether trying to open the database again can help (not for a missing host or database, or bad credentials). */
export const isTransient = (error: unknown): boolean => !connectCause(error).permanent

/**
 * `text` (a driver's words) with every URL's password masked: `user:***@` (up to the last `@` of the authority),
 * and `password=***` in query strings.
 */
export const redactUrls = (text: string): string =>
  text
    .replace(/(\/\/[^:@/?#\s]*):[^/?#\s]*@/g, "$1:***@")
    .replace(PASSWORD_PARAMS, "$1***")

/**
 * One connection URL, whole (well-formed or not), with its password masked: in the authority, `user:***@`, and as
 * a query parameter, `password=***`. A password holding `@`, `/`, `?`, `#` or a space is masked whole: when in
 * doubt, more is masked, never less.
 */
export const redactUrl = (url: string): string => {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? ""
  const rest = url.slice(scheme.length)
  const query = rest.indexOf("?")
  // The user info ends at the last `@` before the query; or, with none there, at the last `@` of all (a `?` in
  // the password).
  const before = query < 0 ? rest.lastIndexOf("@") : rest.lastIndexOf("@", query)
  const at = before >= 0 ? before : rest.lastIndexOf("@")
  const colon = at < 0 ? -1 : rest.slice(0, at).indexOf(":")
  const authority = colon < 0 ? rest : `${rest.slice(0, colon)}:***${rest.slice(at)}`
  return scheme + authority.replace(PASSWORD_PARAMS_IN_URL, "$1***")
}

const PASSWORD_PARAMS = /([?&](?:password|sslpassword|pass|pwd)=)[^&#\s]*/gi
const PASSWORD_PARAMS_IN_URL = /([?&](?:password|sslpassword|pass|pwd)=)[^&#]*/gi

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
