/**
 * API contracts derived from workflow definitions: an `effect/rpc` RpcGroup and an `effect/http-api`
 * HttpApiGroup whose routes start, poll and steer workflows with their own schemas, so clients are fully typed.
 */
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Context from "effect/Context"
import type * as Exit from "effect/Exit"
import * as HttpApiEndpoint from "effect/http-api/HttpApiEndpoint"
import * as HttpApiGroup from "effect/http-api/HttpApiGroup"
import * as HttpApiMiddleware from "effect/http-api/HttpApiMiddleware"
import * as HttpApiSchema from "effect/http-api/HttpApiSchema"
import * as Rpc from "effect/rpc/Rpc"
import * as RpcGroup from "effect/rpc/RpcGroup"
import * as RpcMiddleware from "effect/rpc/RpcMiddleware"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import * as SchemaIssue from "effect/SchemaIssue"
import { type DurableDeferred, Workflow, WorkflowError } from "@weft/workflow"

const WE = WorkflowError.WorkflowError

/** Where an execution stands, as the store records it. */
export const Status = Schema.Literals(["running", "suspended", "succeeded", "failed", "interrupted"])

/** Where an execution stands, as the store records it. */
export type Status = typeof Status.Type

/** What `start` answers: the id of the execution (the same payload always gets the same id). */
export const Started = Schema.Struct({ executionId: Schema.String })

/** Names one execution: the RPC payload of poll, interrupt, resume and status, and the HTTP path parameters. */
export const ExecutionRef = Schema.Struct({ executionId: Schema.String })

/** An execution's status by id, whatever its workflow. Times are epoch milliseconds. */
export const Execution = Schema.Struct({
  executionId: Schema.String,
  workflow: Schema.String,
  status: Status,
  createdAt: Schema.Number,
  updatedAt: Schema.Number
})

/**
 * What `poll` answers: the status, and the typed Exit once the execution is complete. The Exit goes over the wire
 * as the engine stores it (`Workflow.exitSchema`): `{"_tag":"Failure","cause":{"_tag":"Fail","error":…}}`.
 */
export interface PollResult<S extends Schema.Top, E extends Schema.Top> extends
  Schema.Struct<{
    readonly executionId: Schema.String
    readonly status: typeof Status
    readonly exit: Schema.optional<Schema.Codec<Exit.Exit<S["Type"], E["Type"]>, Schema.Json>>
  }>
{}

/** The poll answer of a workflow with these success and error schemas. */
export const PollResult = <S extends Schema.Top, E extends Schema.Top>(success: S, error: E): PollResult<S, E> =>
  Schema.Struct({
    executionId: Schema.String,
    status: Status,
    exit: Schema.optional(Workflow.exitSchema(success, error))
  })

/**
 * An operator route was called, but the contract has neither an auth middleware nor the explicit opt-out (HTTP 403).
 * `_tag` is its last field, so the body keeps the key order Weft answered on Effect 3.
 */
export class OperatorRoutesDisabled extends Schema.Error<OperatorRoutesDisabled>("@weft/proxy/OperatorRoutesDisabled")(
  { message: Schema.String, _tag: Schema.tag("OperatorRoutesDisabled") },
  { httpApiStatus: 403 }
) {
  static {
    Object.defineProperty(this.prototype, "name", {
      value: "OperatorRoutesDisabled",
      configurable: true,
      writable: true
    })
  }
}

/** One problem in a request body: where it is (`["value", "approver"]`) and what is wrong. */
export const Issue = Schema.Struct({
  _tag: Schema.Literals([
    "Pointer",
    "Unexpected",
    "Missing",
    "Composite",
    "Refinement",
    "Transformation",
    "Type",
    "Forbidden"
  ]),
  path: Schema.Array(Schema.Union([Schema.String, Schema.Number])),
  message: Schema.String
})

/**
 * A request body that is not JSON, or does not fit the route's schema: HTTP 400, with `issues` naming the fields.
 * The wire shape (`{ issues, message, _tag: "HttpApiDecodeError" }`, `_tag` last) is the one Weft answered on
 * Effect 3, where it was `@effect/platform`'s error of that name.
 */
export class HttpApiDecodeError extends Schema.Error<HttpApiDecodeError>("@weft/proxy/HttpApiDecodeError")(
  { issues: Schema.Array(Issue), message: Schema.String, _tag: Schema.tag("HttpApiDecodeError") },
  { httpApiStatus: 400 }
) {
  static {
    Object.defineProperty(this.prototype, "name", { value: "HttpApiDecodeError", configurable: true, writable: true })
  }

  /** The 400 of a schema failure: one issue per failing field, and the issues as text. */
  static fromSchemaError(error: Schema.SchemaError): HttpApiDecodeError {
    const issues = issuesOf(error.issue)
    return new HttpApiDecodeError({
      issues,
      message: issues.map((issue) => `${formatPath(issue.path)} ${issue.message}`.trim()).join("\n")
    })
  }
}

/** The RPC middleware that refuses operator routes when no auth was supplied; `WorkflowProxyServer` provides it. */
export class DenyOperatorRpc extends RpcMiddleware.Service<DenyOperatorRpc>()("@weft/proxy/DenyOperatorRpc", {
  error: OperatorRoutesDisabled
}) {}

/** The HttpApi middleware that refuses operator routes when no auth was supplied; `WorkflowProxyServer` provides it. */
export class DenyOperatorHttp extends HttpApiMiddleware.Service<DenyOperatorHttp>()("@weft/proxy/DenyOperatorHttp", {
  error: OperatorRoutesDisabled
}) {}

/** The message of `OperatorRoutesDisabled`, saying how to enable the routes. */
export const operatorRoutesDisabledMessage =
  "Operator routes (interrupt, resume, complete a deferred) are disabled: give the proxy an auth middleware " +
  "(the `auth` option), or set `dangerouslyAllowUnauthenticatedOperatorRoutes: true`"

/** The deferreds a group can complete by token, kept on the group so the server finds their schemas. */
export class Deferreds extends Context.Service<Deferreds, ReadonlyArray<DurableDeferred.Any>>()(
  "@weft/proxy/Deferreds"
) {}

/** HTTP status of each `WorkflowError` reason. */
export const httpStatus: Record<WorkflowError.Reason, number> = {
  InvalidPayload: 400,
  InvalidToken: 403,
  ExecutionNotFound: 404,
  NotRegistered: 404,
  InvalidResult: 500,
  StoreUnavailable: 503,
  LeaseLost: 503
}

/** The status given to a workflow's own typed error when its schema names none. */
export const workflowErrorStatus = 422

/** Options shared by both contracts. */
export interface Options<Deferreds extends ReadonlyArray<DurableDeferred.Any>, Auth, Unsafe extends boolean> {
  /** The deferreds that `DeferredSucceed` / `DeferredFail` may complete; each token names one of them. */
  readonly deferreds?: Deferreds | undefined
  /** The middleware that authenticates operator routes (interrupt, resume, complete a deferred). */
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
 * `{ executionId }`), `WPoll`, `WInterrupt`, `WResume` (`{ executionId }`); once per group: `DeferredSucceed`,
 * `DeferredFail` (`{ token, value | error }`) and `ExecutionStatus`. Every tag starts with `prefix`.
 *
 * @example
 * class ApprovalRpcs extends WorkflowProxy.toRpcGroup([Expense], { deferreds: [Approval], auth: OperatorAuth }) {}
 */
export const toRpcGroup = <
  const Workflows extends NonEmptyReadonlyArray<Workflow.Any>,
  const Prefix extends string = "",
  const Ds extends ReadonlyArray<DurableDeferred.Any> = readonly [],
  Auth extends RpcMiddleware.AnyService = never,
  const Unsafe extends boolean = false
>(
  workflows: Workflows,
  options: Options<Ds, Auth, Unsafe> & { readonly prefix?: Prefix | undefined } = {}
): RpcGroup.RpcGroup<
  | RpcsOf<Workflows[number], Prefix, OperatorRpc<Auth, Unsafe>>
  | GroupRpcs<Ds[number], Prefix, OperatorRpc<Auth, Unsafe>>
> => {
  const prefix = options.prefix ?? ""
  checkNames(workflows)
  const operator = (rpc: Rpc.Any): Rpc.Any => {
    if (options.auth !== undefined) return (rpc as any).middleware(options.auth)
    if (options.dangerouslyAllowUnauthenticatedOperatorRoutes === true) return rpc
    return (rpc as any).middleware(DenyOperatorRpc)
  }
  const rpcs: Array<Rpc.Any> = []
  for (const workflow of workflows) {
    const tag = `${prefix}${workflow.name}`
    rpcs.push(
      Rpc.make(`${tag}Execute`, {
        payload: workflow.payloadSchema,
        success: workflow.successSchema,
        error: Schema.Union([workflow.errorSchema, WE])
      }),
      Rpc.make(`${tag}Start`, { payload: workflow.payloadSchema, success: Started, error: WE }),
      Rpc.make(`${tag}Poll`, {
        payload: ExecutionRef,
        success: PollResult(workflow.successSchema, workflow.errorSchema),
        error: WE
      }),
      operator(Rpc.make(`${tag}Interrupt`, { payload: ExecutionRef, error: WE })),
      operator(Rpc.make(`${tag}Resume`, { payload: ExecutionRef, error: WE }))
    )
  }
  const deferreds = options.deferreds ?? []
  rpcs.push(
    operator(
      Rpc.make(`${prefix}DeferredSucceed`, {
        payload: { token: Schema.String, value: Schema.Union(deferreds.map((d) => d.successSchema)) },
        error: WE
      })
    ),
    operator(
      Rpc.make(`${prefix}DeferredFail`, {
        payload: { token: Schema.String, error: Schema.Union(deferreds.map((d) => d.errorSchema)) },
        error: WE
      })
    ),
    Rpc.make(`${prefix}ExecutionStatus`, { payload: ExecutionRef, success: Execution, error: WE })
  )
  return (RpcGroup.make(...rpcs) as RpcGroup.RpcGroup<Rpc.Any>).annotate(Deferreds, deferreds) as any
}

/** The middleware on operator RPCs: the auth given, none when explicitly unprotected, else the deny-all one. */
export type OperatorRpc<Auth, Unsafe extends boolean> = [Auth] extends [never]
  ? [Unsafe] extends [true] ? never : typeof DenyOperatorRpc
  : Auth

/** The RPCs of one workflow. */
export type RpcsOf<W, Prefix extends string, M extends RpcMiddleware.AnyService> = W extends Workflow.Workflow<
  infer Name,
  infer P,
  infer S,
  infer E
>
  ?
    | Rpc.Rpc<`${Prefix}${Name}Execute`, P, S, Schema.Union<readonly [E, typeof WE]>>
    | Rpc.Rpc<`${Prefix}${Name}Start`, P, typeof Started, typeof WE>
    | Rpc.Rpc<`${Prefix}${Name}Poll`, typeof ExecutionRef, PollResult<S, E>, typeof WE>
    | OperatorRpcOf<`${Prefix}${Name}Interrupt`, typeof ExecutionRef, M>
    | OperatorRpcOf<`${Prefix}${Name}Resume`, typeof ExecutionRef, M>
  : never

/** The RPCs once per group: complete a deferred by token, and read an execution's status. */
export type GroupRpcs<D, Prefix extends string, M extends RpcMiddleware.AnyService> =
  | OperatorRpcOf<
    `${Prefix}DeferredSucceed`,
    Schema.Struct<{ readonly token: Schema.String; readonly value: Schema.Union<ReadonlyArray<DeferredSuccess<D>>> }>,
    M
  >
  | OperatorRpcOf<
    `${Prefix}DeferredFail`,
    Schema.Struct<{ readonly token: Schema.String; readonly error: Schema.Union<ReadonlyArray<DeferredError<D>>> }>,
    M
  >
  | Rpc.Rpc<`${Prefix}ExecutionStatus`, typeof ExecutionRef, typeof Execution, typeof WE>

/** An operator RPC (no result) behind middleware `M`. */
export type OperatorRpcOf<Tag extends string, Payload extends Schema.Top, M extends RpcMiddleware.AnyService> =
  Rpc.Rpc<Tag, Payload, Schema.Void, typeof WE, M, RpcMiddleware.ApplyServices<Context.Service.Identifier<M>, never>>

// ---------------------------------------------------------------------------------------------------------------
// HttpApi
// ---------------------------------------------------------------------------------------------------------------

/**
 * Derives an HttpApiGroup from workflows. Per workflow (path `/<kebab-name>`): `POST /execute` and `POST /start`
 * (JSON payload), `GET /executions/:executionId` (poll), `POST /executions/:executionId/interrupt` and `/resume`;
 * once per group: `POST /deferreds/succeed`, `POST /deferreds/fail` and `GET /executions/:executionId` (status).
 * Endpoint names are those of `toRpcGroup` (`GreetStart`, `DeferredSucceed`, ...).
 *
 * @example
 * class Api extends HttpApi.make("api").add(
 *   WorkflowProxy.toHttpApiGroup("workflows", [Expense], { deferreds: [Approval], auth: OperatorAuth })
 * ) {}
 */
export const toHttpApiGroup = <
  const Name extends string,
  const Workflows extends NonEmptyReadonlyArray<Workflow.Any>,
  const Ds extends ReadonlyArray<DurableDeferred.Any> = readonly [],
  Auth extends HttpAuth = never,
  const Unsafe extends boolean = false
>(
  name: Name,
  workflows: Workflows,
  options: Options<Ds, Auth, Unsafe> = {}
): HttpApiGroup.HttpApiGroup<
  Name,
  | HttpEndpointsOf<Workflows[number], OperatorHttp<Auth, Unsafe>>
  | GroupHttpEndpoints<Ds[number], OperatorHttp<Auth, Unsafe>>
> => {
  checkNames(workflows)
  // Endpoints are assembled at run time; the signature above gives them their types.
  type Endpoint = any
  const operator = (endpoint: Endpoint): Endpoint => {
    if (options.auth !== undefined) return endpoint.middleware(options.auth)
    if (options.dangerouslyAllowUnauthenticatedOperatorRoutes === true) return endpoint
    return endpoint.middleware(DenyOperatorHttp)
  }
  const deferreds = options.deferreds ?? []
  const executionRoute = { params: ExecutionRef, error: routeErrors }
  const endpoints: Array<Endpoint> = []
  for (const workflow of workflows) {
    const name = workflow.name
    const path = `/${toPath(name)}` as const
    const execution = `${path}/executions/:executionId` as const
    endpoints.push(
      HttpApiEndpoint.post(`${name}Execute`, `${path}/execute`, {
        payload: workflow.payloadSchema,
        success: successOf(workflow.successSchema),
        error: [...routeErrors, ...ownErrors(workflow.errorSchema)]
      }),
      HttpApiEndpoint.post(`${name}Start`, `${path}/start`, {
        payload: workflow.payloadSchema,
        success: Started.pipe(HttpApiSchema.status(202)),
        error: routeErrors
      }),
      HttpApiEndpoint.get(`${name}Poll`, execution, {
        params: ExecutionRef,
        success: PollResult(workflow.successSchema, workflow.errorSchema),
        error: routeErrors
      }),
      operator(HttpApiEndpoint.post(`${name}Interrupt`, `${execution}/interrupt`, executionRoute)),
      operator(HttpApiEndpoint.post(`${name}Resume`, `${execution}/resume`, executionRoute))
    )
  }
  const values = Schema.Union(deferreds.map((d) => d.successSchema))
  const errors = Schema.Union(deferreds.map((d) => d.errorSchema))
  endpoints.push(
    operator(HttpApiEndpoint.post("DeferredSucceed", "/deferreds/succeed", {
      payload: Schema.Struct({ token: Schema.String, value: values }),
      error: routeErrors
    })),
    operator(HttpApiEndpoint.post("DeferredFail", "/deferreds/fail", {
      payload: Schema.Struct({ token: Schema.String, error: errors }),
      error: routeErrors
    })),
    HttpApiEndpoint.get("ExecutionStatus", "/executions/:executionId", {
      params: ExecutionRef,
      success: Execution,
      error: routeErrors
    })
  )
  return (HttpApiGroup.make(name) as any).add(...endpoints).annotate(Deferreds, deferreds)
}

/** An HttpApiMiddleware service class (what `toHttpApiGroup`'s `auth` accepts). */
export type HttpAuth = Context.Key<HttpApiMiddleware.AnyId, any>

/** The identifier of the middleware on operator endpoints: the auth given, none when unprotected, else deny-all. */
export type OperatorHttp<Auth, Unsafe extends boolean> = [Auth] extends [never]
  ? [Unsafe] extends [true] ? never : DenyOperatorHttp
  : Auth extends Context.Key<infer I, infer _S> ? I
  : never

/** The errors every route may answer: `WorkflowError` (its status by reason) and `HttpApiDecodeError` (400). */
export type RouteErrors = typeof WE | typeof HttpApiDecodeError

/** The HTTP endpoints of one workflow. */
export type HttpEndpointsOf<W, M> = W extends Workflow.Workflow<infer Name, infer P, infer S, infer E> ?
    | HttpApiEndpoint.HttpApiEndpoint<
      `${Name}Execute`,
      "POST",
      `/${string}`,
      never,
      never,
      P,
      never,
      S,
      E | RouteErrors
    >
    | HttpApiEndpoint.HttpApiEndpoint<
      `${Name}Start`,
      "POST",
      `/${string}`,
      never,
      never,
      P,
      never,
      typeof Started,
      RouteErrors
    >
    | HttpApiEndpoint.HttpApiEndpoint<
      `${Name}Poll`,
      "GET",
      `/${string}`,
      typeof ExecutionRef,
      never,
      never,
      never,
      PollResult<S, E>,
      RouteErrors
    >
    | OperatorEndpoint<`${Name}Interrupt`, typeof ExecutionRef, never, M>
    | OperatorEndpoint<`${Name}Resume`, typeof ExecutionRef, never, M>
  : never

/** The HTTP endpoints once per group: complete a deferred by token, and read an execution's status. */
export type GroupHttpEndpoints<D, M> =
  | OperatorEndpoint<
    "DeferredSucceed",
    never,
    Schema.Struct<{ readonly token: Schema.String; readonly value: Schema.Union<ReadonlyArray<DeferredSuccess<D>>> }>,
    M
  >
  | OperatorEndpoint<
    "DeferredFail",
    never,
    Schema.Struct<{ readonly token: Schema.String; readonly error: Schema.Union<ReadonlyArray<DeferredError<D>>> }>,
    M
  >
  | HttpApiEndpoint.HttpApiEndpoint<
    "ExecutionStatus",
    "GET",
    `/${string}`,
    typeof ExecutionRef,
    never,
    never,
    never,
    typeof Execution,
    RouteErrors
  >

/** A POST operator endpoint (no result, HTTP 204) behind middleware `M`. */
export type OperatorEndpoint<Name extends string, Params extends Schema.Top, Payload extends Schema.Top, M> =
  HttpApiEndpoint.HttpApiEndpoint<
    Name,
    "POST",
    `/${string}`,
    Params,
    never,
    Payload,
    never,
    HttpApiSchema.NoContent,
    RouteErrors,
    M,
    [M] extends [never] ? never : M extends HttpApiMiddleware.AnyId ? HttpApiMiddleware.Requires<M> : never
  >

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

/** The success schemas of deferreds `D`. */
export type DeferredSuccess<D> = D extends DurableDeferred.DurableDeferred<infer S, infer _E> ? S : never

/** The error schemas of deferreds `D`. */
export type DeferredError<D> = D extends DurableDeferred.DurableDeferred<infer _S, infer E> ? E : never

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

const routeErrors: ReadonlyArray<Schema.Top> = [...workflowErrors, HttpApiDecodeError]

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

type IssueEntry = typeof Issue.Type

const formatPath = (path: ReadonlyArray<string | number>): string =>
  path.length === 0 ? "" : path.map((key) => `[${JSON.stringify(key)}]`).join("")

const filterFormatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** The leaf problems of a schema issue with their paths, tagged as Effect 3 tagged them. */
const issuesOf = (issue: SchemaIssue.Issue, path: ReadonlyArray<string | number> = []): Array<IssueEntry> => {
  switch (issue._tag) {
    case "Pointer":
      return issuesOf(issue.issue, [...path, ...issue.path.map((key) => typeof key === "number" ? key : String(key))])
    case "Encoding":
      return issuesOf(issue.issue, path)
    case "Composite":
      return issue.issues.flatMap((inner) => issuesOf(inner, path))
    case "AnyOf":
      return issue.issues.length > 0
        ? issue.issues.flatMap((inner) => issuesOf(inner, path))
        : [{ _tag: "Type", path, message: filterFormatter(issue).issues[0]?.message ?? "Expected a valid value" }]
    case "Filter":
      return filterFormatter(issue).issues.map((entry) => ({
        _tag: "Refinement",
        path: [...path, ...(entry.path ?? []).map(pathKey)],
        message: entry.message
      }))
    case "MissingKey":
      return [{ _tag: "Missing", path, message: "is missing" }]
    case "UnexpectedKey":
      return [{ _tag: "Unexpected", path, message: SchemaIssue.defaultLeafHook(issue) }]
    case "Forbidden":
      return [{ _tag: "Forbidden", path, message: SchemaIssue.defaultLeafHook(issue) }]
    case "InvalidType":
    case "InvalidValue":
    case "OneOf":
      return [{ _tag: "Type", path, message: SchemaIssue.defaultLeafHook(issue) }]
  }
}

const pathKey = (segment: PropertyKey | { readonly key: PropertyKey }): string | number => {
  const key = typeof segment === "object" ? segment.key : segment
  return typeof key === "number" ? key : String(key)
}
