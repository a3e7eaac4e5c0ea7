/**
 * The dashboard's routes: the page, its script and style, the JSON reads and the action posts, each behind the
 * policy (403 for all without one), every answer JSON with a message, never a bare error.
 */
import * as ByteSize from "effect/ByteSize"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as HttpIncomingMessage from "effect/http/HttpIncomingMessage"
import * as HttpRouter from "effect/http/HttpRouter"
import type * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import { type WorkflowError, WorkflowEngine, WorkflowSchedule, WorkflowStore } from "@weft/workflow"
import type * as Dashboard from "../Dashboard.js"
import * as DashboardAction from "../DashboardAction.js"
import type * as DashboardPolicy from "../DashboardPolicy.js"
import * as Assets from "./assets.js"
import * as Json from "./json.js"

/** The header every action must carry: a cross-site form or a simple request cannot set it (CSRF). */
export const csrfHeader = "x-weft-dashboard"

/** A 4xx or 5xx answer: its status, a tag and a message for people. */
class Refusal {
  constructor(readonly status: number, readonly tag: string, readonly message: string) {}
}

type Handler = (
  request: HttpServerRequest.HttpServerRequest
) => Effect.Effect<HttpServerResponse.HttpServerResponse, Refusal, HttpRouter.RouteContext>

type Answer = (
  request: HttpServerRequest.HttpServerRequest
) => Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpRouter.RouteContext>

/** The dashboard's routes over the engine in context. */
export const layer = (
  options: Dashboard.Options
): Layer.Layer<never, never, HttpRouter.HttpRouter | WorkflowEngine.WorkflowEngine> =>
  Layer.unwrap(Effect.map(WorkflowEngine.WorkflowEngine, (engine) => HttpRouter.addAll(routes(engine, options))))

const routes = (engine: WorkflowEngine.Service, options: Dashboard.Options): Array<HttpRouter.Route<never, never>> => {
  const base = options.path === undefined ? "" : options.path.replace(/\/+$/, "")
  const actions = new Map((options.actions ?? DashboardAction.defaults).map((action) => [action.name, action]))
  const maxBodyBytes = options.maxBodyBytes ?? 8 * 1024
  const config = {
    title: options.title ?? "Weft",
    refreshMs: Math.max(250, options.refreshMs ?? 2000),
    statuses: WorkflowStore.statuses,
    actions: [...actions.values()].map(({ description, fields, label, name }) => ({ name, label, description, fields }))
  }
  const guard = (access: DashboardPolicy.Access, handler: Handler): Answer => (request) =>
    answer(Effect.gen(function*() {
      const policy = options.policy
      if (policy === undefined) {
        return yield* Effect.fail(
          new Refusal(
            403,
            "PolicyRequired",
            "The Weft dashboard serves nothing without a policy: give Dashboard.layer({ policy })"
          )
        )
      }
      const allowed = yield* Effect.catchCause(policy.authorize(request, access), (cause) =>
        Effect.as(Effect.logWarning("Weft dashboard: the policy failed; the request is denied", cause), false))
      if (!allowed) {
        return yield* Effect.fail(
          new Refusal(401, "Unauthorized", "Not authorized: sign in (or give the dashboard's token) to see this")
        )
      }
      return yield* handler(request)
    }))

  // The router matches `/weft` as `/weft/`; the page's relative URLs need the slash, so it redirects (relatively,
  // which holds behind a proxy that adds a prefix).
  const page: Handler = (request) => {
    const path = pathOf(request.url)
    return Effect.succeed(
      path.endsWith("/")
        ? Assets.page(config.title)
        : HttpServerResponse.redirect(`${path.slice(path.lastIndexOf("/") + 1)}/`, { status: 308, headers })
    )
  }
  const list: Handler = (request) =>
    Effect.gen(function*() {
      const query = new URL(request.url, "http://localhost").searchParams
      const filter = yield* Effect.mapError(Effect.fromResult(Json.listFilter(query)), badRequest)
      const listed = yield* Effect.mapError(engine.list(filter), fromWorkflowError)
      return json({ items: listed.items.map(Json.summary), nextCursor: listed.nextCursor ?? null })
    })
  // The schedules the store keeps (none where it keeps none): timing and next fires, never their payloads.
  const schedules: Handler = () =>
    Effect.map(
        Effect.mapError(
          Effect.catchIf(
            Effect.provideService(WorkflowSchedule.list(), WorkflowEngine.WorkflowEngine, engine),
            (error: WorkflowError.WorkflowError) => error.reason === "StoreRejected",
            () => Effect.succeed([])
          ),
          fromWorkflowError
        ),
        (all) =>
          json({
            schedules: all.slice(0, 200).map((s) => ({
              id: s.id,
              workflow: s.workflow,
              timing: s.cron !== undefined
                ? `cron ${s.cron}${s.timezone === undefined ? "" : ` (${s.timezone})`}`
                : s.everyMs !== undefined
                ? `every ${s.everyMs} ms`
                : s.at !== undefined
                ? `once at ${s.at.toISOString()}`
                : "",
              paused: s.paused,
              nextFires: s.nextFireTimes.map((d) => d.getTime())
            }))
          })
      )
  const detail: Handler = () =>
    Effect.gen(function*() {
      const executionId = yield* pathId
      const detail = yield* Effect.mapError(engine.detail(executionId), fromWorkflowError)
      if (Option.isNone(detail)) return yield* Effect.fail(notFound(executionId))
      const now = yield* Clock.currentTimeMillis
      const available = [...actions.values()].filter((action) => action.refuse(detail.value.execution) === undefined)
      return json({ ...Json.trace(detail.value, now), actions: available.map((action) => action.name) })
    })
  const act: Handler = (request) =>
    Effect.gen(function*() {
      const params = yield* HttpRouter.params
      const action = actions.get(params.action ?? "")
      if (action === undefined) {
        const name = JSON.stringify(cut(params.action ?? ""))
        return yield* Effect.fail(new Refusal(404, "UnknownAction", `No action ${name}`))
      }
      yield* checkOrigin(request)
      const executionId = yield* pathId
      const body = yield* readBody(request, maxBodyBytes)
      const input = yield* Effect.mapError(Effect.fromResult(Json.actionInput(body, action)), badRequest)
      const execution = yield* Effect.mapError(engine.get(executionId, input.workflow), fromWorkflowError)
      const refused = action.refuse(execution)
      if (refused !== undefined) return yield* Effect.fail(new Refusal(409, "ActionRefused", refused))
      const result = yield* Effect.mapError(action.run(engine, { execution, ...input }), fromWorkflowError)
      const after = yield* Effect.mapError(engine.get(executionId), fromWorkflowError)
      return json({
        executionId,
        action: action.name,
        previousStatus: execution.status,
        status: after.status,
        result: result === undefined ? null : result
      })
    })

  const at = (path: string) => `${base}${path}` as HttpRouter.PathInput
  const routes: Array<HttpRouter.Route<never, never>> = [
    HttpRouter.route("GET", at("/"), guard("page", page)),
    HttpRouter.route("GET", at("/app.js"), guard("page", () => Effect.succeed(Assets.script))),
    HttpRouter.route("GET", at("/app.css"), guard("page", () => Effect.succeed(Assets.style))),
    HttpRouter.route("GET", at("/api/config"), guard("read", () =>
      Effect.map(engine.workflows(), (workflows) => json({ ...config, workflows: workflows.map((w) => w.name) })))),
    HttpRouter.route("GET", at("/api/executions"), guard("read", list)),
    HttpRouter.route("GET", at("/api/schedules"), guard("read", schedules)),
    HttpRouter.route("GET", at("/api/executions/:executionId"), guard("read", detail)),
    HttpRouter.route("POST", at("/api/executions/:executionId/:action"), guard("operate", act)),
    HttpRouter.route("*", at("/api/*"), (request) =>
      answer(Effect.fail(new Refusal(404, "RouteNotFound", `No route ${request.method} ${cut(pathOf(request.url))}`))))
  ]
  return routes
}

/** Runs a handler: a refusal is its JSON answer, anything unexpected a logged 500 with a JSON message. */
const answer = (
  effect: Effect.Effect<HttpServerResponse.HttpServerResponse, Refusal, HttpRouter.RouteContext>
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpRouter.RouteContext> =>
  effect.pipe(
    Effect.catch((refusal) => Effect.succeed(json({ _tag: refusal.tag, message: refusal.message }, refusal.status))),
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.failCause(cause as Cause.Cause<never>)
        : Effect.as(
          Effect.logError("Weft dashboard: a request failed unexpectedly", cause),
          json({ _tag: "InternalError", message: "The dashboard failed to answer this request" }, 500)
        )
    )
  )

/** Headers on every answer: nothing cached, sniffed, framed or referred. */
const headers = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer"
} as const

const json = (body: unknown, status = 200): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.jsonUnsafe(body, { status, headers })

/** The execution id of the path: 1 to 256 printable characters. */
const pathId: Effect.Effect<string, Refusal, HttpRouter.RouteContext> = Effect.flatMap(HttpRouter.params, (params) => {
  const id = params.executionId ?? ""
  return id.length === 0 || id.length > 256 || /[\u0000-\u001f\u007f]/.test(id)
    ? Effect.fail(new Refusal(400, "InvalidExecutionId", "The execution id must be 1 to 256 printable characters"))
    : Effect.succeed(id)
})

/** An action comes from this page: a browser sets `Origin` on a cross-site POST, and cannot set our header there. */
const checkOrigin = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<void, Refusal> => {
  if (request.headers[csrfHeader] !== "1") {
    return Effect.fail(
      new Refusal(
        403,
        "CsrfRejected",
        `An action must carry the header ${csrfHeader}: 1 (sent by the dashboard's page)`
      )
    )
  }
  const origin = request.headers["origin"]
  if (origin !== undefined && origin !== "null") {
    let host: string | undefined
    try {
      host = new URL(origin).host
    } catch {
      host = undefined
    }
    // Behind a proxy that rewrites Host, the browser's host is the forwarded one.
    const forwarded = request.headers["x-forwarded-host"]?.split(",")[0]?.trim()
    if (host === undefined || (host !== request.headers["host"] && host !== forwarded)) {
      return Effect.fail(new Refusal(403, "CsrfRejected", "An action must come from the dashboard's own origin"))
    }
  }
  return Effect.void
}

/** A JSON body within `max` bytes: 415 unless it says it is JSON, 413 past the size, 400 when it does not parse. */
const readBody = (request: HttpServerRequest.HttpServerRequest, max: number): Effect.Effect<unknown, Refusal> => {
  const type = (request.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase()
  if (type !== "application/json") {
    return Effect.fail(new Refusal(415, "UnsupportedMediaType", "An action's body must be application/json"))
  }
  const tooLarge = new Refusal(413, "PayloadTooLarge", `The request body is over the limit of ${max} bytes`)
  const length = Number(request.headers["content-length"] ?? "0")
  if (Number.isFinite(length) && length > max) return Effect.fail(tooLarge)
  return request.text.pipe(
    Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(max)),
    Effect.mapError((error) =>
      (error as any)?.reason?.reason === "BodyTooLarge" || (error as any)?.reason?._tag === "BodyTooLarge"
        ? tooLarge
        : new Refusal(400, "InvalidBody", "The request body could not be read")
    ),
    Effect.flatMap((text) => {
      if (text.length > max) return Effect.fail(tooLarge)
      try {
        return Effect.succeed(text.trim() === "" ? {} : JSON.parse(text) as unknown)
      } catch {
        return Effect.fail(new Refusal(400, "InvalidBody", "The request body is not valid JSON"))
      }
    })
  )
}

const notFound = (executionId: string) => new Refusal(404, "ExecutionNotFound", `No execution ${cut(executionId)}`)

/** An engine error as an answer: what the caller got wrong is a 4xx; the store's own words are never sent. */
const fromWorkflowError = (error: WorkflowError.WorkflowError): Refusal => {
  switch (error.reason) {
    case "ExecutionNotFound":
      return new Refusal(404, "ExecutionNotFound", error.message)
    case "InvalidPayload":
    case "InvalidToken":
      return new Refusal(400, error.reason, error.message)
    case "NotRegistered":
    case "ExecutionConflict":
    case "InvalidState":
      return new Refusal(409, error.reason, error.message)
    case "StoreUnavailable":
    case "LeaseLost":
      return new Refusal(503, error.reason, "The workflow store is unavailable; try again")
    default:
      return new Refusal(500, error.reason, "The workflow store refused the operation")
  }
}

const badRequest = (message: string): Refusal => new Refusal(400, "InvalidInput", message)

const pathOf = (url: string): string => url.split("?")[0]!

const cut = (text: string): string => text.length <= 200 ? text : `${text.slice(0, 200)}…`
