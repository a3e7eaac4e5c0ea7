/**
 * API contracts derived from workflow definitions: an `effect/rpc` RpcGroup and an `effect/http-api`
 * HttpApiGroup whose routes start, poll and steer workflows with their own schemas, so clients are fully typed.
 */
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Context from "effect/Context"
import * as HttpApiEndpoint from "effect/http-api/HttpApiEndpoint"
import * as HttpApiGroup from "effect/http-api/HttpApiGroup"
import * as HttpApiSchema from "effect/http-api/HttpApiSchema"
import * as Rpc from "effect/rpc/Rpc"
import * as RpcGroup from "effect/rpc/RpcGroup"
import type * as RpcMiddleware from "effect/rpc/RpcMiddleware"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import { type DurableChannel, type DurableDeferred, Workflow, WorkflowError } from "@weft/workflow"
import {
  DeferredAlreadyCompleted,
  DenyOperatorHttp,
  DenyOperatorRpc,
  DenyReadHttp,
  DenyReadRpc,
  DenyStartHttp,
  DenyStartRpc,
  ExecutionPending,
  HttpApiDecodeError,
  InternalError,
  PayloadTooLarge,
  UnsupportedMediaType
} from "./internal/errors.js"
import type {
  ChannelHttpEndpoints,
  ChannelRpcs,
  GroupHttpEndpoints,
  GroupRpcs,
  HttpAuth,
  HttpEndpointsOf,
  OperatorHttp,
  OperatorRpc,
  PolicyHttp,
  PolicyRpc,
  RpcsOf
} from "./internal/contracts.js"
import {
  Execution,
  ExecutionId,
  ExecutionPage,
  ExecutionParams,
  ExecutionRef,
  ListQuery,
  ListRequest,
  PollResult,
  PurgeAnswer,
  PurgeBody,
  RestartAnswer,
  RestartBody,
  RestartRequest,
  ResultQuery,
  ResultRequest,
  RetryAnswer,
  Started,
  TraceAnswer,
  TokenString,
  VersionList,
  VersionsQuery,
  VersionsRequest,
  WorkflowList
} from "./internal/schemas.js"

const WE = WorkflowError.WorkflowError

export * from "./internal/schemas.js"
export * from "./internal/errors.js"
export type * from "./internal/contracts.js"

/** The deferreds a group can complete by token, kept on the group so the server finds their schemas. */
export class Deferreds extends Context.Service<Deferreds, ReadonlyArray<DurableDeferred.Any>>()(
  "@weft/proxy/Deferreds"
) {}

/** The channels a group can send to (by execution id or token), kept on the group so the server finds their schemas. */
export class Channels extends Context.Service<Channels, ReadonlyArray<DurableChannel.Any>>()("@weft/proxy/Channels") {}

/** What a send to a channel answers: the message's index in its channel (1 for the first). */
export const ChannelSent = Schema.Struct({ index: Schema.Number })

/** On a poll route: whether it answers the Exit of failed executions (its read policy is a middleware, or opted in). */
export class FailureDetails extends Context.Service<FailureDetails, boolean>()("@weft/proxy/FailureDetails") {}

/** HTTP status of each `WorkflowError` reason. */
export const httpStatus: Record<WorkflowError.Reason, number> = {
  InvalidPayload: 400,
  InvalidToken: 403,
  ExecutionNotFound: 404,
  NotRegistered: 404,
  ExecutionConflict: 409,
  InvalidState: 409,
  InvalidResult: 500,
  StoreUnavailable: 503,
  StoreRejected: 422,
  LeaseLost: 503
}

/** The status given to a workflow's own typed error when its schema names none. */
export const workflowErrorStatus = 422

/**
 * Who may call a class of routes: an auth middleware (an `HttpApiMiddleware.Service` for HTTP, an
 * `RpcMiddleware.Service` for RPC), or `"public"`: anyone who reaches the server.
 */
export type Policy<Auth> = Auth | "public"

/**
 * Options shared by both contracts. Every class of routes is denied (403) until it is given a policy: `start`
 * (start, execute), `read` (poll, result, status, list, trace, workflows, versions) and `auth` (operator routes:
 * interrupt, resume, retry, restart, purge, complete a deferred with the operator's credentials). The token routes
 * need no policy: the signed token is the capability.
 */
export interface Options<
  Deferreds extends ReadonlyArray<DurableDeferred.Any>,
  Auth,
  Unsafe extends boolean,
  Start = never,
  Read = never,
  Cs extends ReadonlyArray<DurableChannel.Any> = readonly []
> {
  /** The deferreds that `DeferredSucceed` / `DeferredFail` and the token routes may complete. */
  readonly deferreds?: Deferreds | undefined
  /** The channels that `ChannelSend` (an operator route, by execution id) and `TokenSend` (by token) may send to. */
  readonly channels?: Cs | undefined
  /** Who may start and execute workflows. Default: nobody (`RoutesDisabled`, HTTP 403). */
  readonly start?: Start | undefined
  /**
   * Who may poll, await, list and read executions, and list the workflows and their versions in flight. Default:
   * nobody (`RoutesDisabled`, HTTP 403).
   */
  readonly read?: Read | undefined
  /**
   * With `read: "public"`, poll answers carry the Exit of failed and interrupted executions too (their errors may
   * say more than an anonymous reader should know). Default false: those answers have the status only.
   */
  readonly publicFailures?: boolean | undefined
  /** The middleware that authenticates operator routes (interrupt, resume, retry, restart, purge, complete a deferred). */
  readonly auth?: Auth | undefined
  /**
   * Serves operator routes to anyone who can reach the server. Without this flag or `auth`, they answer
   * `OperatorRoutesDisabled` (HTTP 403).
   */
  readonly dangerouslyAllowUnauthenticatedOperatorRoutes?: Unsafe | undefined
}

// ---------------------------------------------------------------------------------------------------------------
// RPC
// ---------------------------------------------------------------------------------------------------------------

/**
 * Derives an RpcGroup from workflows. Per workflow `W`: `WExecute` (payload → result), `WStart` (payload →
 * `{ executionId }`), `WPoll`, `WResult` (`{ executionId, timeoutMs? }`: waits for the result), `WInterrupt`, `WResume`,
 * `WRetry` (`{ executionId }`), `WRestart` (`{ executionId, fromStep?, idempotencyKey?, version? }`); once per group:
 * `DeferredSucceed`, `DeferredFail` (`{ token, value | error }`, operator routes), `TokenSucceed`, `TokenFail` (the
 * same, by token alone), `ExecutionStatus`, `ListExecutions` (filters, cursor), `ExecutionTrace` (the timeline),
 * `Workflows` (discovery), `Versions` (`{ workflow? }`: live executions per workflow version), `Purge`
 * (`{ olderThanMs, status? }`, an operator route over the whole store), `ChannelSend` (`{ executionId, channel,
 * message }`, an operator route) and `TokenSend` (`{ token, message }`) for the `channels` given. Every tag starts with
 * `prefix`.
 *
 * @example
 * class ApprovalRpcs extends WorkflowProxy.toRpcGroup([Expense], {
 *   deferreds: [Approval], start: ClientAuth, read: ClientAuth, auth: OperatorAuth
 * }) {}
 */
export const toRpcGroup = <
  const Workflows extends NonEmptyReadonlyArray<Workflow.Any>,
  const Prefix extends string = "",
  const Ds extends ReadonlyArray<DurableDeferred.Any> = readonly [],
  Auth extends RpcMiddleware.AnyService = never,
  const Unsafe extends boolean = false,
  const Start extends Policy<RpcMiddleware.AnyService> = never,
  const Read extends Policy<RpcMiddleware.AnyService> = never,
  const Cs extends ReadonlyArray<DurableChannel.Any> = readonly []
>(
  workflows: Workflows,
  options: Options<Ds, Auth, Unsafe, Start, Read, Cs> & { readonly prefix?: Prefix | undefined } = {}
): RpcGroup.RpcGroup<
  | RpcsOf<
    Workflows[number],
    Prefix,
    OperatorRpc<Auth, Unsafe>,
    PolicyRpc<Start, typeof DenyStartRpc>,
    PolicyRpc<Read, typeof DenyReadRpc>
  >
  | GroupRpcs<Ds[number], Prefix, OperatorRpc<Auth, Unsafe>, PolicyRpc<Read, typeof DenyReadRpc>>
  | ChannelRpcs<Cs[number], Prefix, OperatorRpc<Auth, Unsafe>>
> => {
  const prefix = options.prefix ?? ""
  checkNames(workflows)
  const guard = (policy: unknown, deny: unknown) => (rpc: Rpc.Any): Rpc.Any =>
    policy === "public" ? rpc : (rpc as any).middleware(policy ?? deny)
  const operator = guard(
    options.auth ?? (options.dangerouslyAllowUnauthenticatedOperatorRoutes === true ? "public" : undefined),
    DenyOperatorRpc
  )
  const starter = guard(options.start, DenyStartRpc)
  const reader = guard(options.read, DenyReadRpc)
  const details = failureDetails(options)
  const rpcs: Array<Rpc.Any> = []
  for (const workflow of workflows) {
    const tag = `${prefix}${workflow.name}`
    rpcs.push(
      starter(Rpc.make(`${tag}Execute`, {
        payload: workflow.payloadSchema,
        success: workflow.successSchema,
        error: Schema.Union([workflow.errorSchema, WE])
      })),
      starter(Rpc.make(`${tag}Start`, { payload: workflow.payloadSchema, success: Started, error: WE })),
      reader(
        Rpc.make(`${tag}Poll`, {
          payload: ExecutionRef,
          success: PollResult(workflow.successSchema, workflow.errorSchema),
          error: WE
        }).annotate(FailureDetails, details)
      ),
      reader(
        Rpc.make(`${tag}Result`, {
          payload: ResultRequest,
          success: PollResult(workflow.successSchema, workflow.errorSchema),
          error: Schema.Union([WE, ExecutionPending])
        }).annotate(FailureDetails, details)
      ),
      operator(Rpc.make(`${tag}Interrupt`, { payload: ExecutionRef, error: WE })),
      operator(Rpc.make(`${tag}Resume`, { payload: ExecutionRef, error: WE })),
      operator(Rpc.make(`${tag}Retry`, { payload: ExecutionRef, success: RetryAnswer, error: WE })),
      operator(Rpc.make(`${tag}Restart`, { payload: RestartRequest, success: RestartAnswer, error: WE }))
    )
  }
  const deferreds = options.deferreds ?? []
  const values = Schema.Union(deferreds.map((d) => d.successSchema))
  const errors = Schema.Union(deferreds.map((d) => d.errorSchema))
  const completeError = Schema.Union([WE, DeferredAlreadyCompleted])
  const succeedPayload = { token: TokenString, value: values }
  const failPayload = { token: TokenString, error: errors }
  rpcs.push(
    operator(Rpc.make(`${prefix}DeferredSucceed`, { payload: succeedPayload, error: completeError })),
    operator(Rpc.make(`${prefix}DeferredFail`, { payload: failPayload, error: completeError })),
    Rpc.make(`${prefix}TokenSucceed`, { payload: succeedPayload, error: completeError }),
    Rpc.make(`${prefix}TokenFail`, { payload: failPayload, error: completeError }),
    reader(Rpc.make(`${prefix}ExecutionStatus`, { payload: ExecutionRef, success: Execution, error: WE })),
    reader(Rpc.make(`${prefix}ListExecutions`, { payload: ListRequest, success: ExecutionPage, error: WE })),
    reader(
      Rpc.make(`${prefix}ExecutionTrace`, { payload: ExecutionRef, success: TraceAnswer, error: WE }).annotate(
        FailureDetails,
        details
      )
    ),
    reader(Rpc.make(`${prefix}Workflows`, { success: WorkflowList, error: WE })),
    reader(Rpc.make(`${prefix}Versions`, { payload: VersionsRequest, success: VersionList, error: WE })),
    operator(Rpc.make(`${prefix}Purge`, { payload: PurgeBody, success: PurgeAnswer, error: WE }))
  )
  const channels = options.channels ?? []
  const { byExecution, byToken } = channelPayloads(channels)
  rpcs.push(
    operator(Rpc.make(`${prefix}ChannelSend`, { payload: byExecution, success: ChannelSent, error: WE })),
    Rpc.make(`${prefix}TokenSend`, { payload: byToken, success: ChannelSent, error: WE })
  )
  return (RpcGroup.make(...rpcs) as RpcGroup.RpcGroup<Rpc.Any>).annotate(Deferreds, deferreds).annotate(
    Channels,
    channels
  ) as any
}

// ---------------------------------------------------------------------------------------------------------------
// HttpApi
// ---------------------------------------------------------------------------------------------------------------

/**
 * Derives an HttpApiGroup from workflows. Per workflow (path `/<kebab-name>`): `POST /execute` and `POST /start`
 * (JSON payload), `GET /executions/:executionId` (poll), `GET /executions/:executionId/result?timeoutMs=` (a long-poll
 * for the result), `POST /executions/:executionId/interrupt`, `/resume`, `/retry` and `/restart` (operator routes; restart's
 * body `{ fromStep?, idempotencyKey?, version? }`); once per group: `POST /deferreds/succeed`, `POST /deferreds/fail`
 * (operator routes), `POST /tokens/succeed`, `POST /tokens/fail` (by token alone), `GET /executions/:executionId`
 * (status), `GET /executions` (list, filtered, by cursor), `GET /executions/:executionId/trace` (the trace),
 * `GET /workflows` (discovery), `GET /versions?workflow=` (live executions per workflow version),
 * `POST /executions/purge` (an operator route over the whole store, body `{ olderThanMs, status? }`), `POST /channels/send` (an operator route,
 * body `{ executionId, channel, message }`) and `POST /tokens/send` (`{ token, message }`), both answering `{ index }`. Endpoint names are those of `toRpcGroup` (`GreetStart`, `DeferredSucceed`, ...).
 *
 * @example
 * class Api extends HttpApi.make("api").add(
 *   WorkflowProxy.toHttpApiGroup("workflows", [Expense], {
 *     deferreds: [Approval], start: ClientAuth, read: ClientAuth, auth: OperatorAuth
 *   })
 * ) {}
 */
export const toHttpApiGroup = <
  const Name extends string,
  const Workflows extends NonEmptyReadonlyArray<Workflow.Any>,
  const Ds extends ReadonlyArray<DurableDeferred.Any> = readonly [],
  Auth extends HttpAuth = never,
  const Unsafe extends boolean = false,
  const Start extends Policy<HttpAuth> = never,
  const Read extends Policy<HttpAuth> = never,
  const Cs extends ReadonlyArray<DurableChannel.Any> = readonly []
>(
  name: Name,
  workflows: Workflows,
  options: Options<Ds, Auth, Unsafe, Start, Read, Cs> = {}
): HttpApiGroup.HttpApiGroup<
  Name,
  | HttpEndpointsOf<
    Workflows[number],
    OperatorHttp<Auth, Unsafe>,
    PolicyHttp<Start, DenyStartHttp>,
    PolicyHttp<Read, DenyReadHttp>
  >
  | GroupHttpEndpoints<Ds[number], OperatorHttp<Auth, Unsafe>, PolicyHttp<Read, DenyReadHttp>>
  | ChannelHttpEndpoints<Cs[number], OperatorHttp<Auth, Unsafe>>
> => {
  checkNames(workflows)
  // Endpoints are assembled at run time; the signature above gives them their types.
  type Endpoint = any
  const guard = (policy: unknown, deny: unknown) => (endpoint: Endpoint): Endpoint =>
    policy === "public" ? endpoint : endpoint.middleware(policy ?? deny)
  const operator = guard(
    options.auth ?? (options.dangerouslyAllowUnauthenticatedOperatorRoutes === true ? "public" : undefined),
    DenyOperatorHttp
  )
  const starter = guard(options.start, DenyStartHttp)
  const reader = guard(options.read, DenyReadHttp)
  const details = failureDetails(options)
  const deferreds = options.deferreds ?? []
  const executionRoute = { params: ExecutionParams, error: routeErrors }
  const endpoints: Array<Endpoint> = []
  for (const workflow of workflows) {
    const name = workflow.name
    const path = `/${toPath(name)}` as const
    const execution = `${path}/executions/:executionId` as const
    endpoints.push(
      starter(HttpApiEndpoint.post(`${name}Execute`, `${path}/execute`, {
        payload: workflow.payloadSchema,
        success: successOf(workflow.successSchema),
        error: [...bodyErrors, ExecutionPending, ...ownErrors(workflow.errorSchema)]
      })),
      starter(HttpApiEndpoint.post(`${name}Start`, `${path}/start`, {
        payload: workflow.payloadSchema,
        success: Started.pipe(HttpApiSchema.status(202)),
        error: bodyErrors
      })),
      reader(
        HttpApiEndpoint.get(`${name}Poll`, execution, {
          params: ExecutionParams,
          success: PollResult(workflow.successSchema, workflow.errorSchema),
          error: routeErrors
        }).annotate(FailureDetails, details)
      ),
      reader(
        HttpApiEndpoint.get(`${name}Result`, `${execution}/result`, {
          params: ExecutionParams,
          query: ResultQuery,
          success: PollResult(workflow.successSchema, workflow.errorSchema),
          error: [...routeErrors, ExecutionPending]
        }).annotate(FailureDetails, details)
      ),
      operator(HttpApiEndpoint.post(`${name}Interrupt`, `${execution}/interrupt`, executionRoute)),
      operator(HttpApiEndpoint.post(`${name}Resume`, `${execution}/resume`, executionRoute)),
      operator(HttpApiEndpoint.post(`${name}Retry`, `${execution}/retry`, { ...executionRoute, success: RetryAnswer })),
      operator(HttpApiEndpoint.post(`${name}Restart`, `${execution}/restart`, {
        params: ExecutionParams,
        payload: RestartBody,
        success: RestartAnswer,
        error: bodyErrors
      }))
    )
  }
  const values = Schema.Union(deferreds.map((d) => d.successSchema))
  const errors = Schema.Union(deferreds.map((d) => d.errorSchema))
  const completion = (id: string, path: `/${string}`, payload: Schema.Top) =>
    HttpApiEndpoint.post(id, path, { payload, error: [...bodyErrors, DeferredAlreadyCompleted] })
  endpoints.push(
    operator(completion("DeferredSucceed", "/deferreds/succeed", Schema.Struct({ token: TokenString, value: values }))),
    operator(completion("DeferredFail", "/deferreds/fail", Schema.Struct({ token: TokenString, error: errors }))),
    completion("TokenSucceed", "/tokens/succeed", Schema.Struct({ token: TokenString, value: values })),
    completion("TokenFail", "/tokens/fail", Schema.Struct({ token: TokenString, error: errors })),
    reader(HttpApiEndpoint.get("ExecutionStatus", "/executions/:executionId", {
      params: ExecutionParams,
      success: Execution,
      error: routeErrors
    })),
    reader(HttpApiEndpoint.get("ListExecutions", "/executions", {
      query: ListQuery,
      success: ExecutionPage,
      error: routeErrors
    })),
    reader(
      HttpApiEndpoint.get("ExecutionTrace", "/executions/:executionId/trace", {
        params: ExecutionParams,
        success: TraceAnswer,
        error: routeErrors
      }).annotate(FailureDetails, details)
    ),
    reader(HttpApiEndpoint.get("Workflows", "/workflows", { success: WorkflowList, error: routeErrors })),
    reader(HttpApiEndpoint.get("Versions", "/versions", {
      query: VersionsQuery,
      success: VersionList,
      error: routeErrors
    })),
    operator(HttpApiEndpoint.post("Purge", "/executions/purge", { payload: PurgeBody, success: PurgeAnswer, error: bodyErrors }))
  )
  const channels = options.channels ?? []
  const { byExecution, byToken } = channelPayloads(channels)
  endpoints.push(
    operator(HttpApiEndpoint.post("ChannelSend", "/channels/send", {
      payload: byExecution,
      success: ChannelSent,
      error: bodyErrors
    })),
    HttpApiEndpoint.post("TokenSend", "/tokens/send", { payload: byToken, success: ChannelSent, error: bodyErrors })
  )
  return (HttpApiGroup.make(name) as any).add(...endpoints).annotate(Deferreds, deferreds).annotate(Channels, channels)
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

const channelPayloads = (channels: ReadonlyArray<DurableChannel.Any>) => {
  const message = Schema.Union(channels.map((c) => c.messageSchema))
  return {
    byExecution: Schema.Struct({ executionId: ExecutionId, channel: Schema.String, message }),
    byToken: Schema.Struct({ token: TokenString, message })
  }
}

/** The HTTP path segment of a workflow: its name in kebab case (`ExpenseApproval` → `expense-approval`). */
export const toPath = (name: string): string =>
  name
    .replace(/[^a-zA-Z0-9]+/g, "-")
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/^-+|-+$/g, "")
    .toLowerCase()

/** The HTTP status a schema names for itself (`{ httpApiStatus }` or `HttpApiSchema.status`), if any. */
export const statusOf = (schema: Schema.Top): number | undefined => {
  const ast = schema.ast
  if (ast.checks) {
    for (let i = ast.checks.length - 1; i >= 0; i--) {
      const status = ast.checks[i]!.annotations?.httpApiStatus
      if (typeof status === "number") return status
    }
  }
  const own = ast.annotations?.httpApiStatus
  if (typeof own === "number") return own
  const key = ast.context?.annotations?.httpApiStatus
  return typeof key === "number" ? key : undefined
}

// One WorkflowError schema per status, each accepting the reasons that answer it.
const workflowErrors: ReadonlyArray<Schema.Top> = Array.from(
  new Set(Object.values(httpStatus)),
  (status) =>
    WE.check(Schema.makeFilter((error: WorkflowError.WorkflowError) => httpStatus[error.reason] === status)).pipe(
      HttpApiSchema.status(status)
    )
)

const routeErrors: ReadonlyArray<Schema.Top> = [...workflowErrors, HttpApiDecodeError, InternalError]

const bodyErrors: ReadonlyArray<Schema.Top> = [...routeErrors, PayloadTooLarge, UnsupportedMediaType]

/** A workflow's result schema: with no status of its own, a void result answers 204 No Content, others 200. */
const successOf = (schema: Schema.Top): Schema.Top =>
  statusOf(schema) === undefined && HttpApiSchema.isNoContent(schema.ast)
    ? schema.pipe(HttpApiSchema.status(204))
    : schema

/** A workflow's own errors, one schema per union member, each with its own status or 422. */
const ownErrors = (schema: Schema.Top): ReadonlyArray<Schema.Top> => {
  if (SchemaAST.isNever(schema.ast)) return []
  const members: ReadonlyArray<Schema.Top> = SchemaAST.isUnion(schema.ast) && "members" in schema
    ? (schema as unknown as Schema.Union<ReadonlyArray<Schema.Top>>).members
    : [schema]
  return members.flatMap((member) =>
    SchemaAST.isNever(member.ast)
      ? []
      : [statusOf(member) === undefined ? member.pipe(HttpApiSchema.status(workflowErrorStatus)) : member]
  )
}

const checkNames = (workflows: ReadonlyArray<Workflow.Any>): void => {
  const paths = new Map<string, string>()
  for (const workflow of workflows) {
    const path = toPath(workflow.name)
    const other = paths.get(path)
    if (path === "") throw new Error(`Workflow "${workflow.name}" has no letters or digits for its HTTP path`)
    if (other !== undefined) {
      throw new Error(`Workflows "${other}" and "${workflow.name}" would share the HTTP path "/${path}": rename one`)
    }
    paths.set(path, workflow.name)
  }
}

/** Whether a contract's poll routes answer failures: behind a read middleware, or public with `publicFailures`. */
const failureDetails = (options: { readonly read?: unknown; readonly publicFailures?: boolean | undefined }) =>
  options.read === "public" ? options.publicFailures === true : options.read !== undefined
