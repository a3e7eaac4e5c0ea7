/**
 * API contracts derived from workflow definitions: an `@effect/rpc` RpcGroup and an `@effect/platform`
 * HttpApiGroup whose routes start, poll and steer workflows with their own schemas, so clients are fully typed.
 */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as RpcMiddleware from "@effect/rpc/RpcMiddleware"
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Context from "effect/Context"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import { type DurableDeferred, type Workflow, WorkflowError } from "@weft/workflow"

const WE = WorkflowError.WorkflowError

/** Where an execution stands, as the store records it. */
export const Status = Schema.Literal("running", "suspended", "succeeded", "failed", "interrupted")

/** Where an execution stands, as the store records it. */
export type Status = typeof Status.Type

/** What `start` answers: the id of the execution (the same payload always gets the same id). */
export const Started = Schema.Struct({ executionId: Schema.String })

/** Names one execution: the RPC payload of poll, interrupt, resume and status, and the HTTP path parameter. */
export const ExecutionRef = Schema.Struct({ executionId: Schema.String })

/** An execution's status by id, whatever its workflow. Times are epoch milliseconds. */
export const Execution = Schema.Struct({
  executionId: Schema.String,
  workflow: Schema.String,
  status: Status,
  createdAt: Schema.Number,
  updatedAt: Schema.Number
})

/** What `poll` answers: the status, and the typed Exit once the execution is complete. */
export interface PollResult<S extends Schema.Schema.All, E extends Schema.Schema.All>
  extends Schema.Struct<{
    executionId: typeof Schema.String
    status: typeof Status
    exit: Schema.optional<Schema.Exit<S, E, typeof Schema.Defect>>
  }>
{}

/** The poll answer of a workflow with these success and error schemas. */
export const PollResult = <S extends Schema.Schema.All, E extends Schema.Schema.All>(
  success: S,
  error: E
): PollResult<S, E> =>
  Schema.Struct({
    executionId: Schema.String,
    status: Status,
    exit: Schema.optional(Schema.Exit({ success, failure: error, defect: Schema.Defect }))
  })

/** An operator route was called, but the contract has neither an auth middleware nor the explicit opt-out. */
export class OperatorRoutesDisabled extends Schema.TaggedError<OperatorRoutesDisabled>(
  "@weft/proxy/OperatorRoutesDisabled"
)(
  "OperatorRoutesDisabled",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 403 })
) {}

/** The RPC middleware that refuses operator routes when no auth was supplied; `WorkflowProxyServer` provides it. */
export class DenyOperatorRpc extends RpcMiddleware.Tag<DenyOperatorRpc>()("@weft/proxy/DenyOperatorRpc", {
  failure: OperatorRoutesDisabled
}) {}

/** The HttpApi middleware that refuses operator routes when no auth was supplied; `WorkflowProxyServer` provides it. */
export class DenyOperatorHttp extends HttpApiMiddleware.Tag<DenyOperatorHttp>()("@weft/proxy/DenyOperatorHttp", {
  failure: OperatorRoutesDisabled
}) {}

/** The message of `OperatorRoutesDisabled`, saying how to enable the routes. */
export const operatorRoutesDisabledMessage =
  "Operator routes (interrupt, resume, complete a deferred) are disabled: give the proxy an auth middleware " +
  "(the `auth` option), or set `dangerouslyAllowUnauthenticatedOperatorRoutes: true`"

/** The deferreds a group can complete by token, kept on the group so the server finds their schemas. */
export class Deferreds extends Context.Tag("@weft/proxy/Deferreds")<Deferreds, ReadonlyArray<DurableDeferred.Any>>() {}

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
  Auth extends RpcMiddleware.TagClassAny = never,
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
  const operator = <R extends Rpc.Any>(rpc: R): R => {
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
        error: Schema.Union(workflow.errorSchema, WorkflowError.WorkflowError)
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
        payload: { token: Schema.String, value: Schema.Union(...deferreds.map((d) => d.successSchema)) },
        error: WE
      })
    ),
    operator(
      Rpc.make(`${prefix}DeferredFail`, {
        payload: { token: Schema.String, error: Schema.Union(...deferreds.map((d) => d.errorSchema)) },
        error: WE
      })
    ),
    Rpc.make(`${prefix}ExecutionStatus`, { payload: ExecutionRef, success: Execution, error: WE })
  )
  return RpcGroup.make(...rpcs).annotate(Deferreds, deferreds) as any
}

/** The middleware on operator RPCs: the auth given, none when explicitly unprotected, else the deny-all one. */
export type OperatorRpc<Auth, Unsafe extends boolean> = [Auth] extends [never]
  ? [Unsafe] extends [true] ? never : typeof DenyOperatorRpc
  : Auth

/** The RPCs of one workflow. */
export type RpcsOf<W, Prefix extends string, M extends RpcMiddleware.TagClassAny> = W extends Workflow.Workflow<
  infer Name,
  infer P,
  infer S,
  infer E
>
  ?
    | Rpc.Rpc<`${Prefix}${Name}Execute`, P, SchemaOf<S>, ErrorOf<E>>
    | Rpc.Rpc<`${Prefix}${Name}Start`, P, typeof Started, typeof WE>
    | Rpc.Rpc<`${Prefix}${Name}Poll`, typeof ExecutionRef, PollResult<S, E>, typeof WE>
    | Rpc.Rpc<`${Prefix}${Name}Interrupt`, typeof ExecutionRef, typeof Schema.Void, typeof WE, M>
    | Rpc.Rpc<`${Prefix}${Name}Resume`, typeof ExecutionRef, typeof Schema.Void, typeof WE, M>
  : never

/** The RPCs once per group: complete a deferred by token, and read an execution's status. */
export type GroupRpcs<D, Prefix extends string, M extends RpcMiddleware.TagClassAny> =
  | Rpc.Rpc<
    `${Prefix}DeferredSucceed`,
    Schema.Struct<{ token: typeof Schema.String; value: SchemaOf<DeferredSuccess<D>> }>,
    typeof Schema.Void,
    typeof WE,
    M
  >
  | Rpc.Rpc<
    `${Prefix}DeferredFail`,
    Schema.Struct<{ token: typeof Schema.String; error: SchemaOf<DeferredError<D>> }>,
    typeof Schema.Void,
    typeof WE,
    M
  >
  | Rpc.Rpc<`${Prefix}ExecutionStatus`, typeof ExecutionRef, typeof Execution, typeof WE>

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
  const route = (endpoint: Endpoint): Endpoint => httpWorkflowErrors.reduce((e, schema) => e.addError(schema), endpoint)
  const operatorRoute = (endpoint: Endpoint): Endpoint => {
    if (options.auth !== undefined) return route(endpoint).middleware(options.auth)
    if (options.dangerouslyAllowUnauthenticatedOperatorRoutes === true) return route(endpoint)
    return route(endpoint).middleware(DenyOperatorHttp)
  }
  const deferreds = options.deferreds ?? []
  let group: any = HttpApiGroup.make(name).annotate(Deferreds, deferreds)
  for (const workflow of workflows) {
    const name = workflow.name
    const path = `/${toPath(name)}` as const
    let execute: Endpoint = HttpApiEndpoint.post(`${name}Execute`, `${path}/execute`)
      .setPayload(workflow.payloadSchema)
      .addSuccess(workflow.successSchema)
    if (!SchemaAST.isNeverKeyword(workflow.errorSchema.ast)) {
      const status = hasStatus(workflow.errorSchema) ? {} : { status: workflowErrorStatus }
      execute = execute.addError(workflow.errorSchema, status)
    }
    const execution = `${path}/executions/:executionId` as const
    group = group
      .add(route(execute))
      .add(
        route(
          HttpApiEndpoint.post(`${name}Start`, `${path}/start`)
            .setPayload(workflow.payloadSchema)
            .addSuccess(Started, { status: 202 })
        )
      )
      .add(
        route(
          HttpApiEndpoint.get(`${name}Poll`, execution)
            .setPath(ExecutionRef)
            .addSuccess(PollResult(workflow.successSchema, workflow.errorSchema))
        )
      )
      .add(operatorRoute(HttpApiEndpoint.post(`${name}Interrupt`, `${execution}/interrupt`).setPath(ExecutionRef)))
      .add(operatorRoute(HttpApiEndpoint.post(`${name}Resume`, `${execution}/resume`).setPath(ExecutionRef)))
  }
  const values = Schema.Union(...deferreds.map((d) => d.successSchema))
  const errors = Schema.Union(...deferreds.map((d) => d.errorSchema))
  group = group
    .add(
      operatorRoute(
        HttpApiEndpoint.post("DeferredSucceed", "/deferreds/succeed").setPayload(
          Schema.Struct({ token: Schema.String, value: values })
        )
      )
    )
    .add(
      operatorRoute(
        HttpApiEndpoint.post("DeferredFail", "/deferreds/fail").setPayload(
          Schema.Struct({ token: Schema.String, error: errors })
        )
      )
    )
    .add(
      route(
        HttpApiEndpoint.get("ExecutionStatus", "/executions/:executionId").setPath(ExecutionRef).addSuccess(Execution)
      )
    )
  return group as any
}

/** An HttpApiMiddleware tag class (what `toHttpApiGroup`'s `auth` accepts). */
export type HttpAuth = Context.Tag<any, any> & { readonly [HttpApiMiddleware.TypeId]: HttpApiMiddleware.TypeId }

/** The identifier of the middleware on operator endpoints: the auth given, none when unprotected, else deny-all. */
export type OperatorHttp<Auth, Unsafe extends boolean> = [Auth] extends [never]
  ? [Unsafe] extends [true] ? never : DenyOperatorHttp
  : Auth extends Context.Tag<infer I, infer _S> ? I
  : never

/** The HTTP endpoints of one workflow. */
export type HttpEndpointsOf<W, M> = W extends Workflow.Workflow<infer Name, infer P, infer S, infer E>
  ?
    | HttpApiEndpoint.HttpApiEndpoint<
      `${Name}Execute`,
      "POST",
      never,
      never,
      P["Type"],
      never,
      S["Type"],
      E["Type"] | WorkflowError.WorkflowError,
      P["Context"] | S["Context"],
      E["Context"]
    >
    | HttpApiEndpoint.HttpApiEndpoint<
      `${Name}Start`,
      "POST",
      never,
      never,
      P["Type"],
      never,
      typeof Started.Type,
      WorkflowError.WorkflowError,
      P["Context"]
    >
    | HttpApiEndpoint.HttpApiEndpoint<
      `${Name}Poll`,
      "GET",
      typeof ExecutionRef.Type,
      never,
      never,
      never,
      PollResult<S, E>["Type"],
      WorkflowError.WorkflowError,
      S["Context"] | E["Context"]
    >
    | OperatorEndpoint<`${Name}Interrupt`, typeof ExecutionRef.Type, never, never, M>
    | OperatorEndpoint<`${Name}Resume`, typeof ExecutionRef.Type, never, never, M>
  : never

/** The HTTP endpoints once per group: complete a deferred by token, and read an execution's status. */
export type GroupHttpEndpoints<D, M> =
  | OperatorEndpoint<
    "DeferredSucceed",
    never,
    { readonly token: string; readonly value: DeferredSuccess<D>["Type"] },
    DeferredSuccess<D>["Context"],
    M
  >
  | OperatorEndpoint<
    "DeferredFail",
    never,
    { readonly token: string; readonly error: DeferredError<D>["Type"] },
    DeferredError<D>["Context"],
    M
  >
  | HttpApiEndpoint.HttpApiEndpoint<
    "ExecutionStatus",
    "GET",
    typeof ExecutionRef.Type,
    never,
    never,
    never,
    typeof Execution.Type,
    WorkflowError.WorkflowError
  >

/** A POST operator endpoint behind middleware `M`. */
export type OperatorEndpoint<Name extends string, Path, Payload, R, M> = HttpApiEndpoint.HttpApiEndpoint<
  Name,
  "POST",
  Path,
  never,
  Payload,
  never,
  void,
  WorkflowError.WorkflowError | HttpApiMiddleware.HttpApiMiddleware.Error<M>,
  R | M,
  HttpApiMiddleware.HttpApiMiddleware.ErrorContext<M>
>

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

/** A schema seen through its three type parameters (what `Rpc.Rpc` accepts). */
export type SchemaOf<S> = S extends Schema.Schema<infer A, infer I, infer R> ? Schema.Schema<A, I, R> : never

/** A workflow's error schema with `WorkflowError` added. */
export type ErrorOf<E> = E extends Schema.Schema<infer A, infer I, infer R>
  ? Schema.Schema<A | WorkflowError.WorkflowError, I | typeof WE.Encoded, R>
  : never

/** The union of the success schemas of deferreds `D`. */
export type DeferredSuccess<D> = Schema.Schema<
  D extends DurableDeferred.DurableDeferred<infer S, infer _E> ? S["Type"] : never,
  D extends DurableDeferred.DurableDeferred<infer S, infer _E> ? S["Encoded"] : never,
  D extends DurableDeferred.DurableDeferred<infer S, infer _E> ? S["Context"] : never
>

/** The union of the error schemas of deferreds `D`. */
export type DeferredError<D> = Schema.Schema<
  D extends DurableDeferred.DurableDeferred<infer _S, infer E> ? E["Type"] : never,
  D extends DurableDeferred.DurableDeferred<infer _S, infer E> ? E["Encoded"] : never,
  D extends DurableDeferred.DurableDeferred<infer _S, infer E> ? E["Context"] : never
>

/** The HTTP path segment of a workflow: its name in kebab case (`ExpenseApproval` → `expense-approval`). */
export const toPath = (name: string): string =>
  name
    .replace(/[^a-zA-Z0-9]+/g, "-")
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/^-+|-+$/g, "")
    .toLowerCase()

const httpWorkflowErrors = Array.from(new Set(Object.values(httpStatus)), (status) =>
  WorkflowError.WorkflowError.pipe(Schema.filter((error) => httpStatus[error.reason] === status)).annotations(
    HttpApiSchema.annotations({ status })
  )
)

const hasStatus = (schema: Schema.Schema.All): boolean => {
  const has = (ast: SchemaAST.AST): boolean =>
    HttpApiSchema.AnnotationStatus in ast.annotations ||
    (SchemaAST.isTransformation(ast) && has(ast.to)) ||
    (SchemaAST.isUnion(ast) && ast.types.every(has))
  return has(schema.ast)
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
