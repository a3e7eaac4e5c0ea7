/**
 * The server side of `WorkflowProxy`'s contracts: RPC handlers and HttpApi handlers that run every route on the
 * engine in context, and the deny-all middleware that guards operator routes when no auth was supplied.
 */
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as HttpServerRequest from "effect/http/HttpServerRequest"
import type * as HttpApi from "effect/http-api/HttpApi"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import type * as HttpApiEndpoint from "effect/http-api/HttpApiEndpoint"
import type * as HttpApiGroup from "effect/http-api/HttpApiGroup"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Rpc from "effect/rpc/Rpc"
import * as Schema from "effect/Schema"
import { DurableDeferred, Workflow, WorkflowEngine, WorkflowError } from "@weft/workflow"
import * as WorkflowProxy from "./WorkflowProxy.js"

/** The handlers `layerRpcHandlers` provides for workflows `W` under `Prefix`. */
export type RpcHandlers<W, Prefix extends string> =
  | (W extends Workflow.Workflow<infer Name, infer _P, infer _S, infer _E> ? Rpc.Handler<
      | `${Prefix}${Name}Execute`
      | `${Prefix}${Name}Start`
      | `${Prefix}${Name}Poll`
      | `${Prefix}${Name}Interrupt`
      | `${Prefix}${Name}Resume`
    >
    : never)
  | Rpc.Handler<`${Prefix}DeferredSucceed` | `${Prefix}DeferredFail` | `${Prefix}ExecutionStatus`>

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
  } = {}
): Layer.Layer<
  RpcHandlers<Workflows[number], Prefix> | WorkflowProxy.DenyOperatorRpc,
  never,
  WorkflowEngine.WorkflowEngine
> => {
  const prefix = options.prefix ?? ""
  const group = WorkflowProxy.toRpcGroup(workflows, {
    prefix,
    deferreds: options.deferreds ?? [],
    dangerouslyAllowUnauthenticatedOperatorRoutes: true
  })
  const handlers: Record<string, (payload: any) => Effect.Effect<any, any, WorkflowEngine.WorkflowEngine>> = {}
  for (const workflow of workflows) {
    const tag = `${prefix}${workflow.name}`
    handlers[`${tag}Execute`] = (payload) => workflow.execute(payload)
    handlers[`${tag}Start`] = (payload) => start(workflow, payload)
    handlers[`${tag}Poll`] = ({ executionId }) => poll(workflow, executionId)
    handlers[`${tag}Interrupt`] = ({ executionId }) => workflow.interrupt(executionId)
    handlers[`${tag}Resume`] = ({ executionId }) => workflow.resume(executionId)
  }
  // The RPC server decoded the payload against the union of the deferreds' schemas; check it fits the one named.
  const deferreds = byName(options.deferreds ?? [])
  const validate = (field: string, schema: Schema.Top, value: unknown) =>
    Effect.mapError(
      Schema.decodeUnknownEffect(Schema.toType(field1(field, schema)))({ [field]: value }, parseOptions),
      invalidPayload
    )
  handlers[`${prefix}DeferredSucceed`] = ({ token, value }) =>
    complete(deferreds, token, (d) => Effect.as(validate("value", d.successSchema, value), Exit.succeed(value)))
  handlers[`${prefix}DeferredFail`] = ({ token, error }) =>
    complete(deferreds, token, (d) => Effect.as(validate("error", d.errorSchema, error), Exit.fail(error)))
  handlers[`${prefix}ExecutionStatus`] = ({ executionId }) => status(executionId)
  return Layer.merge((group as any).toLayer(handlers), denyRpc) as any
}

/**
 * Implements the group `name` of `api` (made by `WorkflowProxy.toHttpApiGroup`) on the engine in context. Payloads
 * are read here, so malformed JSON and schema failures answer 400 with issues naming the field; the deferreds
 * come from the group. Requires the auth middleware the group was given, if any.
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
  workflows: Workflows
): Layer.Layer<
  HttpApiGroup.Service<ApiId, Name>,
  never,
  | WorkflowEngine.WorkflowEngine
  | Exclude<
    | HttpApiEndpoint.Middleware<HttpApiGroup.EndpointsWithIdentifier<Groups, Name>>
    | HttpApiEndpoint.MiddlewareServices<HttpApiGroup.EndpointsWithIdentifier<Groups, Name>>,
    WorkflowProxy.DenyOperatorHttp
  >
> =>
  HttpApiBuilder.group(api, name, (initial: any) => {
    const group = (api as unknown as HttpApi.Top).groups[name]!
    const deferreds = byName(Option.getOrElse(Context.getOption(group.annotations, WorkflowProxy.Deferreds), () => []))
    const expect = (endpoint: string) => {
      if (!(endpoint in group.endpoints)) {
        throw new Error(`Group "${name}" has no endpoint "${endpoint}": build it with WorkflowProxy.toHttpApiGroup`)
      }
      return endpoint
    }
    let handlers = initial as RawHandlers
    for (const workflow of workflows) {
      const n = workflow.name
      handlers = handlers
        .handleRaw(expect(`${n}Execute`), ({ request }) =>
          Effect.flatMap(readPayload(request, workflow.payloadSchema), (payload) => workflow.execute(payload)))
        .handleRaw(expect(`${n}Start`), ({ request }) =>
          Effect.flatMap(readPayload(request, workflow.payloadSchema), (payload) => start(workflow, payload)))
        .handle(expect(`${n}Poll`), ({ params }) => poll(workflow, params.executionId))
        .handle(expect(`${n}Interrupt`), ({ params }) => workflow.interrupt(params.executionId))
        .handle(expect(`${n}Resume`), ({ params }) => workflow.resume(params.executionId))
    }
    // The value is decoded with the schema of the deferred the token names, so a failure names `value.<field>`.
    const decode = (field: string, schema: Schema.Top, value: unknown) =>
      Effect.map(
        Effect.mapError(
          Schema.decodeUnknownEffect(Schema.toCodecJson(field1(field, schema)))({ [field]: value }, parseOptions),
          WorkflowProxy.HttpApiDecodeError.fromSchemaError
        ),
        (decoded) => decoded[field]
      )
    return handlers
      .handleRaw(expect("DeferredSucceed"), ({ request }) =>
        Effect.flatMap(readPayload(request, SucceedBody), ({ token, value }) =>
          complete(deferreds, token, (d) => Effect.map(decode("value", d.successSchema, value), Exit.succeed))))
      .handleRaw(expect("DeferredFail"), ({ request }) =>
        Effect.flatMap(readPayload(request, FailBody), ({ token, error }) =>
          complete(deferreds, token, (d) => Effect.map(decode("error", d.errorSchema, error), Exit.fail))))
      .handle(expect("ExecutionStatus"), ({ params }) => status(params.executionId)) as any
  }).pipe(Layer.provide(denyHttp)) as any

// ---------------------------------------------------------------------------------------------------------------
// Operations shared by both transports
// ---------------------------------------------------------------------------------------------------------------

const start = (workflow: Workflow.Any, payload: unknown) =>
  Effect.map(workflow.execute(payload, { discard: true }), (executionId) => ({ executionId }))

type Polled = WorkflowProxy.PollResult<Schema.Unknown, Schema.Unknown>["Type"]

const poll = (workflow: Workflow.Any, executionId: string) =>
  Effect.map(workflow.poll(executionId), (result): Polled => {
    if (Option.isNone(result)) return { executionId, status: "running" }
    if (result.value._tag === "Suspended") return { executionId, status: "suspended" }
    const exit = result.value.exit as Exit.Exit<unknown, unknown>
    const status = Exit.isSuccess(exit) ? "succeeded" : Cause.hasInterruptsOnly(exit.cause) ? "interrupted" : "failed"
    return { executionId, status, exit }
  })

const status = (executionId: string) =>
  Effect.flatMap(WorkflowEngine.WorkflowEngine, (engine) =>
    Effect.map(engine.get(executionId), (record): typeof WorkflowProxy.Execution.Type => ({
      executionId: record.executionId,
      workflow: record.workflow,
      status: record.status,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt
    })))

/**
 * Completes the deferred a token names. The token is verified before anything else, so a forged or tampered one
 * fails with `InvalidToken` and nothing is written; the value is checked against the deferred's own schema.
 */
const complete = <E>(
  deferreds: ReadonlyMap<string, DurableDeferred.Any>,
  token: string,
  toExit: (deferred: DurableDeferred.Any) => Effect.Effect<Exit.Exit<unknown, unknown>, E>
): Effect.Effect<void, E | WorkflowError.WorkflowError, WorkflowEngine.WorkflowEngine> =>
  Effect.gen(function*() {
    const claims = yield* DurableDeferred.readToken(token)
    const deferred = deferreds.get(claims.deferred)
    if (deferred === undefined) {
      return yield* Effect.fail(
        new WorkflowError.WorkflowError({
          reason: "NotRegistered",
          workflow: claims.workflow,
          executionId: claims.executionId,
          message: `Deferred "${claims.deferred}" is not exposed by this proxy: add it to the group's \`deferreds\``
        })
      )
    }
    const exit = yield* toExit(deferred)
    yield* DurableDeferred.done(deferred, { token, exit })
  })

// The rejected value goes into the issue's message ("Expected string, got 7"), as it did on Effect 3.
const parseOptions = { reportInput: true } as const

/** A struct with one field, so that schema issues carry the field's name in their path. */
const field1 = (field: string, schema: Schema.Top): Schema.Codec<Record<string, unknown>, unknown> =>
  Schema.Struct({ [field]: schema }) as any

const byName = (deferreds: ReadonlyArray<DurableDeferred.Any>): ReadonlyMap<string, DurableDeferred.Any> =>
  new Map(deferreds.map((deferred) => [deferred.name, deferred]))

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

const denyRpc = Layer.succeed(
  WorkflowProxy.DenyOperatorRpc,
  () => Effect.fail(new WorkflowProxy.OperatorRoutesDisabled({ message: WorkflowProxy.operatorRoutesDisabledMessage }))
)

const denyHttp = Layer.succeed(
  WorkflowProxy.DenyOperatorHttp,
  () => Effect.fail(new WorkflowProxy.OperatorRoutesDisabled({ message: WorkflowProxy.operatorRoutesDisabledMessage }))
)

// ---------------------------------------------------------------------------------------------------------------
// HTTP payloads: read here rather than by HttpApiBuilder, so that a body that is not JSON answers 400 with a reason
// (and a body sent without a JSON content type, as curl -d does, is still read as JSON).
// ---------------------------------------------------------------------------------------------------------------

const SucceedBody = Schema.Struct({ token: Schema.String, value: Schema.Unknown })
const FailBody = Schema.Struct({ token: Schema.String, error: Schema.Unknown })

const readPayload = <S extends Schema.Top>(
  request: HttpServerRequest.HttpServerRequest,
  schema: S
): Effect.Effect<S["Type"], WorkflowProxy.HttpApiDecodeError, S["DecodingServices"]> =>
  Effect.flatMap(
    Effect.mapError(request.text, (error) => badBody(`The request body could not be read: ${error}`)),
    (text) => {
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error)
        return Effect.fail(badBody(`The request body is not valid JSON: ${reason}`))
      }
      return Effect.mapError(
        Schema.decodeUnknownEffect(Schema.toCodecJson(schema))(json, parseOptions),
        WorkflowProxy.HttpApiDecodeError.fromSchemaError
      )
    }
  )

const badBody = (message: string) => new WorkflowProxy.HttpApiDecodeError({ issues: [], message })

/** The untyped view of `HttpApiBuilder.Handlers` used to register routes built at run time. */
interface RawHandlers {
  handle(
    name: string,
    handler: (request: { readonly params: { readonly executionId: string } }) => Effect.Effect<any, any, any>
  ): RawHandlers
  handleRaw(
    name: string,
    handler: (request: { readonly request: HttpServerRequest.HttpServerRequest }) => Effect.Effect<any, any, any>
  ): RawHandlers
}
