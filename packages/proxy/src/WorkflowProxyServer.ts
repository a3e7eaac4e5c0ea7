/**
 * The server side of `WorkflowProxy`'s contracts: RPC handlers and HttpApi handlers that run every route on the
 * engine in context, and the deny-all middleware that guards routes given no policy.
 */
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerError from "effect/http/HttpServerError"
import type * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import type * as HttpApi from "effect/http-api/HttpApi"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import type * as HttpApiEndpoint from "effect/http-api/HttpApiEndpoint"
import type * as HttpApiGroup from "effect/http-api/HttpApiGroup"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Rpc from "effect/rpc/Rpc"
import * as Schema from "effect/Schema"
import {
  DurableChannel,
  DurableDeferred,
  Workflow,
  WorkflowEngine,
  WorkflowError,
  type WorkflowStore
} from "@weft/workflow"
import * as Body from "./internal/body.js"
import { byName, channelsByName, complete, notInGroup, sendByExecution, sendByToken } from "./internal/completions.js"
import { redact } from "./internal/redact.js"
import { badInput, executionOf, list, single, singles, versions } from "./internal/listing.js"
import * as WorkflowProxy from "./WorkflowProxy.js"

/** The handlers `layerRpcHandlers` provides for workflows `W` under `Prefix`. */
export type RpcHandlers<W, Prefix extends string> =
  | (W extends Workflow.Workflow<infer Name, infer _P, infer _S, infer _E> ? Rpc.Handler<
      | `${Prefix}${Name}Execute`
      | `${Prefix}${Name}Start`
      | `${Prefix}${Name}Poll`
      | `${Prefix}${Name}Result`
      | `${Prefix}${Name}Interrupt`
      | `${Prefix}${Name}Resume`
      | `${Prefix}${Name}Retry`
      | `${Prefix}${Name}Restart`
    >
    : never)
  | Rpc.Handler<
    | `${Prefix}DeferredSucceed`
    | `${Prefix}DeferredFail`
    | `${Prefix}TokenSucceed`
    | `${Prefix}TokenFail`
    | `${Prefix}ExecutionStatus`
    | `${Prefix}ListExecutions`
    | `${Prefix}ExecutionTrace`
    | `${Prefix}Workflows`
    | `${Prefix}Versions`
    | `${Prefix}Purge`
    | `${Prefix}ChannelSend`
    | `${Prefix}TokenSend`
  >

/** The deny-all middlewares of routes given no policy, which the handler layers provide. */
export type DenyRpc = WorkflowProxy.DenyOperatorRpc | WorkflowProxy.DenyStartRpc | WorkflowProxy.DenyReadRpc

/** The deny-all middlewares of HTTP routes given no policy, which `layerHttpApi` provides. */
export type DenyHttp = WorkflowProxy.DenyOperatorHttp | WorkflowProxy.DenyStartHttp | WorkflowProxy.DenyReadHttp

/** Bounds of the HTTP server's handlers. */
export interface HttpOptions {
  /** The largest request body read; a larger one answers 413 `PayloadTooLarge`. Default 4 MiB. */
  readonly maxBodyBytes?: number | undefined
  /** The deepest nesting of arrays and objects in a body; deeper answers 400. Default 64. */
  readonly maxDepth?: number | undefined
  /**
   * How long `execute` holds the request; past it, the answer is 202 `ExecutionPending` with the execution id and
   * its poll path (the execution goes on). Default 30 seconds.
   */
  readonly executeTimeout?: Duration.Input | undefined
  /**
   * The longest a result long-poll (`GET .../executions/:executionId/result`) holds the request: a longer (or no)
   * `timeoutMs` waits this long. Past it, the answer is 202 `ExecutionPending`. Default 30 seconds.
   */
  readonly resultTimeout?: Duration.Input | undefined
}

/**
 * Implements `WorkflowProxy.toRpcGroup(workflows, options)` on the engine in context. Pass the same `prefix` and
 * `deferreds` as the group; auth stays in the group, and this layer also provides the deny-all middleware.
 *
 * @example
 * const RpcLive = RpcServer.layerHttp({ group: ApprovalRpcs, path: "/rpc", protocol: "http" }).pipe(
 *   Layer.provide(WorkflowProxyServer.layerRpcHandlers([Expense], { deferreds: [Approval] }))
 * )
 */
export const layerRpcHandlers = <
  const Workflows extends NonEmptyReadonlyArray<Workflow.Any>,
  const Prefix extends string = ""
>(
  workflows: Workflows,
  options: {
    readonly prefix?: Prefix | undefined
    readonly deferreds?: ReadonlyArray<DurableDeferred.Any> | undefined
    /** The channels `ChannelSend` and `TokenSend` may send to. */
    readonly channels?: ReadonlyArray<DurableChannel.Any> | undefined
    /** The longest `<Workflow>Result` waits: a longer (or no) `timeoutMs` waits this long. Default 30 seconds. */
    readonly resultTimeout?: Duration.Input | undefined
  } = {}
): Layer.Layer<
  RpcHandlers<Workflows[number], Prefix> | DenyRpc,
  never,
  WorkflowEngine.WorkflowEngine
> => {
  const prefix = options.prefix ?? ""
  const group = WorkflowProxy.toRpcGroup(workflows, {
    prefix,
    deferreds: options.deferreds ?? [],
    channels: options.channels ?? [],
    start: "public",
    read: "public",
    dangerouslyAllowUnauthenticatedOperatorRoutes: true
  })
  type Handler = (
    payload: any,
    options: { readonly rpc: Rpc.Any }
  ) => Effect.Effect<any, any, WorkflowEngine.WorkflowEngine>
  const handlers: Record<string, Handler> = {}
  const maxWait = resultBound(options.resultTimeout)
  for (const workflow of workflows) {
    const tag = `${prefix}${workflow.name}`
    handlers[`${tag}Execute`] = (payload) => workflow.execute(payload)
    handlers[`${tag}Start`] = (payload) => start(workflow, payload)
    handlers[`${tag}Poll`] = ({ executionId }, { rpc }) => poll(workflow, executionId, detailsOf(rpc.annotations))
    handlers[`${tag}Result`] = ({ executionId, timeoutMs }, { rpc }) =>
      Effect.flatMap(waitOf(timeoutMs, maxWait), (wait) =>
        result(workflow, executionId, wait, detailsOf(rpc.annotations), `${tag}Result`))
    handlers[`${tag}Interrupt`] = ({ executionId }) => workflow.interrupt(executionId)
    handlers[`${tag}Resume`] = ({ executionId }) => workflow.resume(executionId)
    handlers[`${tag}Retry`] = ({ executionId }) => retry(workflow, executionId)
    handlers[`${tag}Restart`] = ({ executionId, ...options }) => restart(workflow, executionId, options)
  }
  const names = new Set(workflows.map((w) => w.name))
  // The RPC server decoded the payload against the union of the deferreds' schemas; check it fits the one named.
  const deferreds = byName(options.deferreds ?? [])
  const validate = (field: string, schema: Schema.Top, value: unknown) =>
    Effect.mapError(
      Schema.decodeUnknownEffect(Schema.toType(field1(field, schema)))({ [field]: value }, Body.parseOptions),
      invalidPayload
    )
  const succeed: Handler = ({ token, value }) =>
    complete(deferreds, token, (d) => Effect.as(validate("value", d.successSchema, value), Exit.succeed(value)))
  const fail: Handler = ({ token, error }) =>
    complete(deferreds, token, (d) => Effect.as(validate("error", d.errorSchema, error), Exit.fail(error)))
  handlers[`${prefix}DeferredSucceed`] = succeed
  handlers[`${prefix}DeferredFail`] = fail
  handlers[`${prefix}TokenSucceed`] = succeed
  handlers[`${prefix}TokenFail`] = fail
  handlers[`${prefix}ExecutionStatus`] = ({ executionId }) => status(names, executionId)
  handlers[`${prefix}ListExecutions`] = (filter) => list(workflows, filter)
  handlers[`${prefix}ExecutionTrace`] = ({ executionId }, { rpc }) => trace(names, executionId, detailsOf(rpc.annotations))
  const described = describe(workflows)
  handlers[`${prefix}Workflows`] = () => Effect.succeed(described)
  handlers[`${prefix}Versions`] = ({ workflow }) => versions(workflows, workflow)
  handlers[`${prefix}Purge`] = (body) => purge(body)
  // As for deferreds: the message decoded against the union of the channels' schemas must fit the one named.
  const channels = channelsByName(options.channels ?? [])
  handlers[`${prefix}ChannelSend`] = ({ channel, executionId, message }) =>
    sendByExecution(names, channels, executionId, channel, (c) =>
      Effect.as(validate("message", c.messageSchema, message), message))
  handlers[`${prefix}TokenSend`] = ({ message, token }) =>
    sendByToken(channels, token, (c) => Effect.as(validate("message", c.messageSchema, message), message))
  const guarded: Record<string, Handler> = {}
  for (const [tag, handler] of Object.entries(handlers)) {
    guarded[tag] = (payload, opts) => redact(handler(payload, opts))
  }
  return Layer.merge((group as any).toLayer(guarded), denyRpc) as any
}

/**
 * Implements the group `name` of `api` (made by `WorkflowProxy.toHttpApiGroup`) on the engine in context. Bodies
 * are read here, within `options`' bounds: not JSON (415), too large (413), too deep, malformed or off-schema (400,
 * with issues naming the field). Errors of the store answer a generic message; the cause is logged. The deferreds
 * come from the group. Requires the auth middlewares the group was given, if any.
 *
 * @example
 * const ApiLive = HttpApiBuilder.layer(Api).pipe(
 *   Layer.provide(WorkflowProxyServer.layerHttpApi(Api, "workflows", [Expense]))
 * )
 */
export const layerHttpApi = <
  ApiId extends string,
  Groups extends HttpApiGroup.Constraint,
  const Name extends HttpApiGroup.Identifier<Groups>,
  const Workflows extends NonEmptyReadonlyArray<Workflow.Any>
>(
  api: HttpApi.HttpApi<ApiId, Groups>,
  name: Name,
  workflows: Workflows,
  options: HttpOptions = {}
): Layer.Layer<
  HttpApiGroup.Service<ApiId, Name>,
  never,
  | WorkflowEngine.WorkflowEngine
  | Exclude<
    | HttpApiEndpoint.Middleware<HttpApiGroup.EndpointsWithIdentifier<Groups, Name>>
    | HttpApiEndpoint.MiddlewareServices<HttpApiGroup.EndpointsWithIdentifier<Groups, Name>>,
    DenyHttp
  >
> => {
  const limits: Body.Limits = {
    maxBodyBytes: options.maxBodyBytes ?? Body.defaults.maxBodyBytes,
    maxDepth: options.maxDepth ?? Body.defaults.maxDepth
  }
  const executeTimeout = Duration.fromInputUnsafe(options.executeTimeout ?? "30 seconds")
  const maxWait = resultBound(options.resultTimeout)
  const names = new Set(workflows.map((w) => w.name))
  const described = describe(workflows)
  return HttpApiBuilder.group(api, name, (initial: any) => {
    const group = (api as unknown as HttpApi.Top).groups[name]!
    const deferreds = byName(Option.getOrElse(Context.getOption(group.annotations, WorkflowProxy.Deferreds), () => []))
    const expect = (endpoint: string) => {
      if (!(endpoint in group.endpoints)) {
        throw new Error(`Group "${name}" has no endpoint "${endpoint}": build it with WorkflowProxy.toHttpApiGroup`)
      }
      return endpoint
    }
    let handlers = initial as RawHandlers
    const read = <S extends Schema.Top>(request: HttpServerRequest.HttpServerRequest, schema: S) =>
      Body.read(request, schema, limits)
    for (const workflow of workflows) {
      const n = workflow.name
      const pollPath = `${group.endpoints[expect(`${n}Poll`)]!.path}`
      handlers = handlers
        .handleRaw(expect(`${n}Execute`), ({ request }) =>
          redact(Effect.flatMap(read(request, workflow.payloadSchema), (payload) =>
            executeBounded(workflow, payload, executeTimeout, pollPath))))
        .handleRaw(expect(`${n}Start`), ({ request }) =>
          redact(Effect.flatMap(read(request, workflow.payloadSchema), (payload) => start(workflow, payload))))
        .handle(expect(`${n}Poll`), ({ endpoint, params }) =>
          byId(params, (id) => poll(workflow, id, detailsOf(endpoint.annotations))))
        .handle(expect(`${n}Result`), ({ endpoint, params, query }) =>
          byId(params, (id) =>
            Effect.flatMap(waitOf(single("timeoutMs", query.timeoutMs), maxWait), (wait) => {
              const again = `${pollPath.replace(":executionId", id)}/result`
              return result(workflow, id, wait, detailsOf(endpoint.annotations), again)
            })))
        .handle(expect(`${n}Interrupt`), ({ params }) => byId(params, workflow.interrupt))
        .handle(expect(`${n}Resume`), ({ params }) => byId(params, workflow.resume))
        .handle(expect(`${n}Retry`), ({ params }) => byId(params, (id) => retry(workflow, id)))
        .handleRaw(expect(`${n}Restart`), ({ params, request }) =>
          byId(params, (id) =>
            Effect.flatMap(read(request, WorkflowProxy.RestartBody), (options) => restart(workflow, id, options))))
    }
    // The value is decoded with the schema of the deferred the token names, so a failure names `value.<field>`.
    const decode = (field: string, schema: Schema.Top, value: unknown) =>
      Effect.map(
        Effect.mapError(
          Schema.decodeUnknownEffect(Schema.toCodecJson(field1(field, schema)))({ [field]: value }, Body.parseOptions),
          WorkflowProxy.HttpApiDecodeError.fromSchemaError
        ),
        (decoded) => decoded[field]
      )
    const succeed = ({ request }: { readonly request: HttpServerRequest.HttpServerRequest }) =>
      redact(Effect.flatMap(read(request, SucceedBody), ({ token, value }) =>
        complete(deferreds, token, (d) => Effect.map(decode("value", d.successSchema, value), Exit.succeed))))
    const fail = ({ request }: { readonly request: HttpServerRequest.HttpServerRequest }) =>
      redact(Effect.flatMap(read(request, FailBody), ({ token, error }) =>
        complete(deferreds, token, (d) => Effect.map(decode("error", d.errorSchema, error), Exit.fail))))
    const exposed = Option.getOrElse(Context.getOption(group.annotations, WorkflowProxy.Channels), () => [])
    const channels = channelsByName(exposed)
    const sendTo = ({ request }: { readonly request: HttpServerRequest.HttpServerRequest }) =>
      redact(Effect.flatMap(read(request, ChannelSendBody), ({ channel, executionId, message }) =>
        sendByExecution(names, channels, executionId, channel, (c) => decode("message", c.messageSchema, message))))
    const sendWith = ({ request }: { readonly request: HttpServerRequest.HttpServerRequest }) =>
      redact(Effect.flatMap(read(request, TokenSendBody), ({ message, token }) =>
        sendByToken(channels, token, (c) => decode("message", c.messageSchema, message))))
    return handlers
      .handleRaw(expect("ChannelSend"), sendTo)
      .handleRaw(expect("TokenSend"), sendWith)
      .handleRaw(expect("DeferredSucceed"), succeed)
      .handleRaw(expect("DeferredFail"), fail)
      .handleRaw(expect("TokenSucceed"), succeed)
      .handleRaw(expect("TokenFail"), fail)
      .handle(expect("ExecutionStatus"), ({ params }) => byId(params, (id) => status(names, id)))
      .handle(expect("ExecutionTrace"), ({ endpoint, params }) =>
        byId(params, (id) => trace(names, id, detailsOf(endpoint.annotations))))
      .handle(expect("ListExecutions"), ({ query }) =>
        redact(Effect.flatMap(singles(query), (filter) => list(workflows, filter))))
      .handle(expect("Workflows"), () => Effect.succeed(described))
      .handle(expect("Versions"), ({ query }) => redact(versions(workflows, single("workflow", query.workflow))))
      .handleRaw(expect("Purge"), ({ request }) => redact(Effect.flatMap(read(request, WorkflowProxy.PurgeBody), purge))) as any
  }).pipe(Layer.provide(denyHttp)) as any
}

/**
 * Answers a request no route serves (an unknown path or method, a path that does not decode) with a 404 and a JSON
 * message, where the router would answer an empty one. Serve it beside the API, so every error answer has a body.
 *
 * @example
 * HttpRouter.serve(Layer.mergeAll(HttpApiBuilder.layer(Api).pipe(...), WorkflowProxyServer.layerNotFound))
 */
export const layerNotFound: Layer.Layer<never, never, HttpRouter.HttpRouter> = HttpRouter.middleware<
  { handles: HttpServerError.HttpServerError }
>()(
  // Other errors go on to the router's own answers; the overloads cannot express "handles one reason only".
  (httpEffect): any =>
    Effect.catchIf(
      httpEffect,
      (error): error is HttpServerError.HttpServerError =>
        HttpServerError.isHttpServerError(error) && error.reason._tag === "RouteNotFound",
      (error) =>
        Effect.succeed(
          HttpServerResponse.jsonUnsafe(
            {
              message: `No route ${error.reason.request.method} ${routeOf(error.reason.request.url)}`,
              _tag: "RouteNotFound"
            },
            { status: 404 }
          )
        )
    ),
  { global: true }
) as any

const routeOf = (url: string): string => url.split("?")[0]!.slice(0, 200)

// ---------------------------------------------------------------------------------------------------------------
// Operations shared by both transports
// ---------------------------------------------------------------------------------------------------------------

/** Runs a failed execution of `workflow` again (`WorkflowEngine.retry`). */
const retry = (workflow: Workflow.Any, executionId: string) =>
  Effect.flatMap(WorkflowEngine.WorkflowEngine, (engine) => engine.retry(executionId, workflow.name))

/** Restarts an ended execution of `workflow` (`WorkflowEngine.restart`); the answer says what it copied. */
const restart = (
  workflow: Workflow.Any,
  executionId: string,
  options: {
    readonly fromStep?: string | undefined
    readonly idempotencyKey?: string | undefined
    readonly version?: number | undefined
  }
) =>
  Effect.map(
    Effect.flatMap(WorkflowEngine.WorkflowEngine, (engine) =>
      engine.restart(executionId, { ...options, workflow: workflow.name })),
    ({ fromStep, ...rest }) => (fromStep === undefined ? rest : { ...rest, fromStep })
  )

/** Deletes ended executions of the whole store (`WorkflowEngine.purge`). */
const purge = ({ olderThanMs, status }: { readonly olderThanMs: number; readonly status?: ReadonlyArray<WorkflowStore.TerminalStatus> | undefined }) =>
  Effect.map(
    WorkflowEngine.purge({ olderThan: olderThanMs, ...(status === undefined ? {} : { status: [...new Set(status)] }) }),
    (deleted) => ({ deleted })
  )

const start = (workflow: Workflow.Any, payload: unknown) =>
  Effect.map(workflow.execute(payload, { discard: true }), (executionId) => ({ executionId }))

type Polled = WorkflowProxy.PollResult<Schema.Unknown, Schema.Unknown>["Type"]

/**
 * `execute` within `timeout`: the execution is started first (so it exists whatever happens to this request), then
 * its result awaited; past the timeout the answer is `ExecutionPending` (202) and the execution goes on.
 */
const executeBounded = (workflow: Workflow.Any, payload: unknown, timeout: Duration.Duration, pollPath: string) =>
  Effect.flatMap(workflow.execute(payload, { discard: true }), (executionId) =>
    Effect.flatMap(Effect.timeoutOption(workflow.execute(payload), timeout), (result) =>
      Option.isSome(result)
        ? Effect.succeed(result.value)
        : Effect.fail(
          new WorkflowProxy.ExecutionPending({
            executionId,
            poll: pollPath.replace(":executionId", executionId),
            message: `The execution did not complete within ${Duration.format(timeout)}: poll for its result`
          })
        )))

/** The poll answer; without `details`, a failed or interrupted execution's Exit is left out (status only). */
const poll = (workflow: Workflow.Any, executionId: string, details: boolean) =>
  Effect.map(workflow.poll(executionId), (result): Polled => {
    if (Option.isNone(result)) return { executionId, status: "running" }
    if (result.value._tag === "Suspended") return { executionId, status: "suspended" }
    return ended(executionId, result.value.exit as Exit.Exit<unknown, unknown>, details)
  })

/** The answer for an ended execution; without `details`, a failed or interrupted one's Exit is left out. */
const ended = (executionId: string, exit: Exit.Exit<unknown, unknown>, details: boolean): Polled => {
  const status = Exit.isSuccess(exit) ? "succeeded" : Cause.hasInterruptsOnly(exit.cause) ? "interrupted" : "failed"
  return status === "succeeded" || details ? { executionId, status, exit } : { executionId, status }
}

/**
 * The result long-poll: the execution's end as `poll` answers it, once it has ended, waiting at most `wait`; past it,
 * `ExecutionPending` (HTTP 202) naming `again`, where to ask again. The execution is not touched.
 */
const result = (
  workflow: Workflow.Any,
  executionId: string,
  wait: Duration.Duration,
  details: boolean,
  again: string
) =>
  Effect.flatMap(Workflow.result(workflow, executionId, { timeout: wait }), (exit) =>
    Option.isSome(exit)
      ? Effect.succeed(ended(executionId, exit.value as Exit.Exit<unknown, unknown>, details))
      : Effect.fail(
        new WorkflowProxy.ExecutionPending({
          executionId,
          poll: again,
          message: `The execution did not end within ${Duration.format(wait)}: ask again for its result`
        })
      ))

const resultBound = (input: Duration.Input | undefined): Duration.Duration =>
  Duration.fromInputUnsafe(input ?? "30 seconds")

/** How long a result request may wait: `timeoutMs` (a whole number of milliseconds, cut to `max`), else `max`. */
const waitOf = (
  timeoutMs: unknown,
  max: Duration.Duration
): Effect.Effect<Duration.Duration, WorkflowError.WorkflowError> => {
  if (timeoutMs === undefined) return Effect.succeed(max)
  if (timeoutMs instanceof WorkflowError.WorkflowError) return Effect.fail(timeoutMs)
  const millis = typeof timeoutMs === "string" && /^\d{1,15}$/.test(timeoutMs) ? Number(timeoutMs) : timeoutMs
  return typeof millis === "number" && Number.isSafeInteger(millis) && millis >= 0
    ? Effect.succeed(Duration.min(Duration.millis(millis), max))
    : Effect.fail(badInput("timeoutMs", "a whole number of milliseconds (0 or more)", timeoutMs))
}

/** The group's workflows as `Workflows` answers them, described once. */
const describe = (workflows: ReadonlyArray<Workflow.Any>): typeof WorkflowProxy.WorkflowList.Type => ({
  workflows: workflows.map((workflow) => WorkflowEngine.describe(workflow))
})

const detailsOf = (annotations: Context.Context<never>): boolean =>
  Option.getOrElse(Context.getOption(annotations, WorkflowProxy.FailureDetails), () => false)

/** The status of an execution of one of `workflows`; any other id is not found, as if it did not exist. */
const status = (workflows: ReadonlySet<string>, executionId: string) =>
  Effect.flatMap(WorkflowEngine.WorkflowEngine, (engine) =>
    Effect.flatMap(engine.get(executionId), (record) =>
      workflows.has(record.workflow) ? Effect.succeed(executionOf(record)) : Effect.fail(notInGroup(executionId))))


/** What a trace entry says of the data and the workers, left out where reads are public. */
const privateKeys: ReadonlySet<string> = new Set(["value", "data", "detail", "from", "to", "inFlight", "ranAgain"])

/**
 * An execution's trace, for the group's workflows only. Without details (a public read route without
 * `publicFailures`), entries keep their kinds, times, names and outcomes but no values: no step's result or error,
 * no note's data, no message, and no worker's name.
 */
const trace = (workflows: ReadonlySet<string>, executionId: string, details: boolean) =>
  Effect.flatMap(WorkflowEngine.trace(executionId), (found) => {
    if (Option.isNone(found) || !workflows.has(found.value.execution.workflow)) return Effect.fail(notInGroup(executionId))
    const entries = found.value.entries.map((entry): Schema.Json => {
      const shown = details ? entry : Object.fromEntries(Object.entries(entry).filter(([key]) => !privateKeys.has(key)))
      return JSON.parse(JSON.stringify(shown)) as Schema.Json
    })
    return Effect.succeed({ execution: executionOf(found.value.execution), entries })
  })

/** A struct with one field, so that schema issues carry the field's name in their path. */
const field1 = (field: string, schema: Schema.Top): Schema.Codec<Record<string, unknown>, unknown> =>
  Schema.Struct({ [field]: schema }) as any

const invalidPayload = (error: Schema.SchemaError): WorkflowError.WorkflowError => {
  const first = WorkflowProxy.HttpApiDecodeError.fromSchemaError(error).issues[0]
  const field = first === undefined || first.path.length === 0 ? undefined : first.path.map(String).join(".")
  return new WorkflowError.WorkflowError({
    reason: "InvalidPayload",
    ...(field === undefined ? {} : { field }),
    ...(first === undefined ? {} : { expected: first.message }),
    message: `The payload${field === undefined ? "" : ` at field "${field}"`} is invalid: ${
      first?.message ?? error.message
    }`
  })
}

/** Runs `f` on the execution id of a path once it is a valid id (else a 400 with a message), redacted. */
const byId = <A, E, R>(
  params: { readonly executionId: string },
  f: (executionId: string) => Effect.Effect<A, E, R>
) =>
  redact(
    Effect.flatMap(
      Effect.mapError(
        Schema.decodeUnknownEffect(WorkflowProxy.ExecutionRef)(params, Body.parseOptions),
        WorkflowProxy.HttpApiDecodeError.fromSchemaError
      ),
      ({ executionId }) => f(executionId)
    )
  )

const operatorMessage = WorkflowProxy.operatorRoutesDisabledMessage

const denyRpc = Layer.mergeAll(
  Layer.succeed(
    WorkflowProxy.DenyOperatorRpc,
    () => Effect.fail(new WorkflowProxy.OperatorRoutesDisabled({ message: operatorMessage }))
  ),
  Layer.succeed(
    WorkflowProxy.DenyStartRpc,
    () => Effect.fail(new WorkflowProxy.RoutesDisabled({ message: WorkflowProxy.startRoutesDisabledMessage }))
  ),
  Layer.succeed(
    WorkflowProxy.DenyReadRpc,
    () => Effect.fail(new WorkflowProxy.RoutesDisabled({ message: WorkflowProxy.readRoutesDisabledMessage }))
  )
)

const denyHttp = Layer.mergeAll(
  Layer.succeed(
    WorkflowProxy.DenyOperatorHttp,
    () => Effect.fail(new WorkflowProxy.OperatorRoutesDisabled({ message: operatorMessage }))
  ),
  Layer.succeed(
    WorkflowProxy.DenyStartHttp,
    () => Effect.fail(new WorkflowProxy.RoutesDisabled({ message: WorkflowProxy.startRoutesDisabledMessage }))
  ),
  Layer.succeed(
    WorkflowProxy.DenyReadHttp,
    () => Effect.fail(new WorkflowProxy.RoutesDisabled({ message: WorkflowProxy.readRoutesDisabledMessage }))
  )
)

const SucceedBody = Schema.Struct({ token: WorkflowProxy.TokenString, value: Schema.Unknown })
const FailBody = Schema.Struct({ token: WorkflowProxy.TokenString, error: Schema.Unknown })
const ChannelSendBody = Schema.Struct({
  executionId: WorkflowProxy.ExecutionId,
  channel: Schema.String,
  message: Schema.Unknown
})
const TokenSendBody = Schema.Struct({ token: WorkflowProxy.TokenString, message: Schema.Unknown })

/** The untyped view of `HttpApiBuilder.Handlers` used to register routes built at run time. */
interface RawHandlers {
  handle(
    name: string,
    handler: (request: {
      readonly params: { readonly executionId: string }
      readonly query: Readonly<Record<string, unknown>>
      readonly endpoint: { readonly annotations: Context.Context<never> }
    }) => Effect.Effect<any, any, any>
  ): RawHandlers
  handleRaw(
    name: string,
    handler: (request: {
      readonly request: HttpServerRequest.HttpServerRequest
      /** Present on routes with path parameters. */
      readonly params: { readonly executionId: string }
    }) => Effect.Effect<any, any, any>
  ): RawHandlers
}
