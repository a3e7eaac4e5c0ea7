/**
 * Who may see the dashboard and act from it: a policy the mounting app gives, asked once per request with the kind
 * of access the request needs. Without one the dashboard answers nothing (403 on every route).
 */
import { timingSafeEqual } from "node:crypto"
import * as Effect from "effect/Effect"
import type * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as Redacted from "effect/Redacted"

/**
 * What a request asks for: `page` the HTML, script and style (no execution data), `read` the executions and their
 * traces, `operate` an operator action (interrupt, resume, …).
 */
export type Access = "page" | "read" | "operate"

/** A policy: whether `request` may have `access`. A failure or defect of the check denies. */
export interface Policy {
  readonly authorize: (request: HttpServerRequest.HttpServerRequest, access: Access) => Effect.Effect<boolean>
}

/**
 * A policy from a function, for an app that authenticates its own way (a session cookie, a header its proxy sets).
 *
 * @example
 * const policy = DashboardPolicy.make((request, access) =>
 *   Effect.succeed(request.headers["x-user-role"] === (access === "operate" ? "admin" : "viewer"))
 * )
 */
export const make = (
  authorize: (request: HttpServerRequest.HttpServerRequest, access: Access) => Effect.Effect<boolean>
): Policy => ({ authorize })

/**
 * A shared secret: reads and actions need `Authorization: Bearer <token>` (compared in constant time); the page
 * itself, which holds no data, is served to anyone, and asks for the token. What `weft dashboard --token` uses.
 *
 * @example
 * const policy = DashboardPolicy.bearerToken(Redacted.make(process.env.WEFT_DASHBOARD_TOKEN ?? ""))
 */
export const bearerToken = (token: string | Redacted.Redacted<string>): Policy => {
  const secret = Buffer.from(Redacted.isRedacted(token) ? Redacted.value(token) : token, "utf8")
  if (secret.length < 8) throw new Error("DashboardPolicy.bearerToken: the token must be at least 8 characters")
  return make((request, access) =>
    Effect.sync(() => {
      if (access === "page") return true
      const header = request.headers["authorization"] ?? ""
      const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header)
      if (match === null) return false
      const given = Buffer.from(match[1]!, "utf8")
      return given.length === secret.length && timingSafeEqual(given, secret)
    })
  )
}

/** Both policies must allow. */
export const both = (first: Policy, second: Policy): Policy =>
  make((request, access) =>
    Effect.flatMap(
      first.authorize(request, access),
      (ok) => ok ? second.authorize(request, access) : Effect.succeed(false)
    )
  )
