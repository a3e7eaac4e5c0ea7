/**
 * The types of the contracts `WorkflowProxy` derives: each RPC and endpoint of a group, with the middleware its policy
 * puts on it, for the workflows, deferreds and channels it is given. Re-exported by `WorkflowProxy`.
 */
import type * as Context from "effect/Context"
import type * as HttpApiEndpoint from "effect/http-api/HttpApiEndpoint"
import type * as HttpApiMiddleware from "effect/http-api/HttpApiMiddleware"
import type * as HttpApiSchema from "effect/http-api/HttpApiSchema"
import type * as Rpc from "effect/rpc/Rpc"
import type * as RpcMiddleware from "effect/rpc/RpcMiddleware"
import type * as Schema from "effect/Schema"
import type { DurableChannel, DurableDeferred, Workflow, WorkflowError } from "@weft/workflow"
import type { ChannelSent } from "../WorkflowProxy.js"
import type {
  DeferredAlreadyCompleted,
  DenyOperatorHttp,
  DenyOperatorRpc,
  ExecutionPending,
  HttpApiDecodeError,
  InternalError,
  PayloadTooLarge,
  UnsupportedMediaType
} from "./errors.js"
import type {
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
  TokenString,
  TraceAnswer,
  VersionList,
  VersionsQuery,
  VersionsRequest,
  WorkflowList
} from "./schemas.js"

/** The middleware on operator RPCs: the auth given, none when explicitly unprotected, else the deny-all one. */
export type OperatorRpc<Auth, Unsafe extends boolean> = [Auth] extends [never]
  ? [Unsafe] extends [true] ? never : typeof DenyOperatorRpc
  : Auth

/** The middleware on RPCs under policy `P`: its middleware, none when `"public"`, `Deny` when none was given. */
export type PolicyRpc<P, Deny> = [P] extends [never] ? Deny : P extends "public" ? never : P

/** An RPC behind middleware `M` (none when `M` is never). */
export type GuardedRpc<
  Tag extends string,
  Payload extends Schema.Top,
  Success extends Schema.Top,
  Error extends Schema.Top,
  M
> = [M] extends [never] ? Rpc.Rpc<Tag, Payload, Success, Error>
  : M extends RpcMiddleware.AnyService ? Rpc.Rpc<
      Tag,
      Payload,
      Success,
      Error,
      M,
      RpcMiddleware.ApplyServices<Context.Service.Identifier<M>, never>
    >
  : never

/** The RPCs of one workflow. */
export type RpcsOf<W, Prefix extends string, M, S = never, R = never> = W extends Workflow.Workflow<
  infer Name,
  infer P,
  infer Succ,
  infer E
>
  ?
    | GuardedRpc<`${Prefix}${Name}Execute`, P, Succ, Schema.Union<readonly [E, typeof WorkflowError.WorkflowError]>, S>
    | GuardedRpc<`${Prefix}${Name}Start`, P, typeof Started, typeof WorkflowError.WorkflowError, S>
    | GuardedRpc<`${Prefix}${Name}Poll`, typeof ExecutionRef, PollResult<Succ, E>, typeof WorkflowError.WorkflowError, R>
    | GuardedRpc<`${Prefix}${Name}Result`, typeof ResultRequest, PollResult<Succ, E>, ResultError, R>
    | GuardedRpc<`${Prefix}${Name}Interrupt`, typeof ExecutionRef, Schema.Void, typeof WorkflowError.WorkflowError, M>
    | GuardedRpc<`${Prefix}${Name}Resume`, typeof ExecutionRef, Schema.Void, typeof WorkflowError.WorkflowError, M>
    | GuardedRpc<`${Prefix}${Name}Retry`, typeof ExecutionRef, typeof RetryAnswer, typeof WorkflowError.WorkflowError, M>
    | GuardedRpc<`${Prefix}${Name}Restart`, typeof RestartRequest, typeof RestartAnswer, typeof WorkflowError.WorkflowError, M>
  : never

/** The error of a result long-poll: a `WorkflowError`, or `ExecutionPending` when it has not ended in time. */
export type ResultError = Schema.Union<readonly [typeof WorkflowError.WorkflowError, typeof ExecutionPending]>

/** The error of a completion by token: a `WorkflowError`, or `DeferredAlreadyCompleted`. */
export type CompleteError = Schema.Union<readonly [typeof WorkflowError.WorkflowError, typeof DeferredAlreadyCompleted]>

/** The payload of a completion with a value. */
export type SucceedPayload<D> = Schema.Struct<
  { readonly token: typeof TokenString; readonly value: Schema.Union<ReadonlyArray<DeferredSuccess<D>>> }
>

/** The payload of a completion with an error. */
export type FailPayload<D> = Schema.Struct<
  { readonly token: typeof TokenString; readonly error: Schema.Union<ReadonlyArray<DeferredError<D>>> }
>

/** The RPCs once per group: complete a deferred by token (as operator, or by token alone), and read a status. */
export type GroupRpcs<D, Prefix extends string, M, R = never> =
  | GuardedRpc<`${Prefix}DeferredSucceed`, SucceedPayload<D>, Schema.Void, CompleteError, M>
  | GuardedRpc<`${Prefix}DeferredFail`, FailPayload<D>, Schema.Void, CompleteError, M>
  | GuardedRpc<`${Prefix}TokenSucceed`, SucceedPayload<D>, Schema.Void, CompleteError, never>
  | GuardedRpc<`${Prefix}TokenFail`, FailPayload<D>, Schema.Void, CompleteError, never>
  | GuardedRpc<`${Prefix}ExecutionStatus`, typeof ExecutionRef, typeof Execution, typeof WorkflowError.WorkflowError, R>
  | GuardedRpc<`${Prefix}ListExecutions`, typeof ListRequest, typeof ExecutionPage, typeof WorkflowError.WorkflowError, R>
  | GuardedRpc<`${Prefix}ExecutionTrace`, typeof ExecutionRef, typeof TraceAnswer, typeof WorkflowError.WorkflowError, R>
  | GuardedRpc<`${Prefix}Workflows`, Schema.Void, typeof WorkflowList, typeof WorkflowError.WorkflowError, R>
  | GuardedRpc<`${Prefix}Versions`, typeof VersionsRequest, typeof VersionList, typeof WorkflowError.WorkflowError, R>
  | GuardedRpc<`${Prefix}Purge`, typeof PurgeBody, typeof PurgeAnswer, typeof WorkflowError.WorkflowError, M>

/** The payload of a send to a channel by execution id (`ChannelSend`): the channel by name, and its message. */
export type ChannelSendPayload<C> = Schema.Struct<
  {
    readonly executionId: typeof ExecutionId
    readonly channel: typeof Schema.String
    readonly message: Schema.Union<ReadonlyArray<ChannelMessage<C>>>
  }
>

/** The payload of a send to a channel by token (`TokenSend`): the token names the execution and the channel. */
export type TokenSendPayload<C> = Schema.Struct<
  { readonly token: typeof TokenString; readonly message: Schema.Union<ReadonlyArray<ChannelMessage<C>>> }
>

/** The RPCs once per group that send to channels `C`: as operator by execution id, or by token alone. */
export type ChannelRpcs<C, Prefix extends string, M> =
  | GuardedRpc<`${Prefix}ChannelSend`, ChannelSendPayload<C>, typeof ChannelSent, typeof WorkflowError.WorkflowError, M>
  | GuardedRpc<`${Prefix}TokenSend`, TokenSendPayload<C>, typeof ChannelSent, typeof WorkflowError.WorkflowError, never>

/** An operator RPC (no result) behind middleware `M`. */
export type OperatorRpcOf<Tag extends string, Payload extends Schema.Top, M extends RpcMiddleware.AnyService> =
  GuardedRpc<Tag, Payload, Schema.Void, typeof WorkflowError.WorkflowError, M>

/** An HttpApiMiddleware service class (what `toHttpApiGroup`'s `auth`, `start` and `read` accept). */
export type HttpAuth = Context.Key<HttpApiMiddleware.AnyId, any>

/** The identifier of the middleware on operator endpoints: the auth given, none when unprotected, else deny-all. */
export type OperatorHttp<Auth, Unsafe extends boolean> = [Auth] extends [never]
  ? [Unsafe] extends [true] ? never : DenyOperatorHttp
  : Auth extends Context.Key<infer I, infer _S> ? I
  : never

/** The identifier of the middleware on endpoints under policy `P`: its own, none when `"public"`, else `Deny`. */
export type PolicyHttp<P, Deny> = [P] extends [never] ? Deny
  : P extends "public" ? never
  : P extends Context.Key<infer I, infer _S> ? I
  : never

/**
 * The errors every route may answer: `WorkflowError` (its status by reason), `HttpApiDecodeError` (400) and
 * `InternalError` (500); routes with a body also `PayloadTooLarge` (413) and `UnsupportedMediaType` (415).
 */
export type RouteErrors = typeof WorkflowError.WorkflowError | typeof HttpApiDecodeError | typeof InternalError

/** The errors of a route that reads a JSON body. */
export type BodyErrors = RouteErrors | typeof PayloadTooLarge | typeof UnsupportedMediaType

/** An endpoint behind middleware `M` (none when `M` is never). */
export type GuardedEndpoint<
  Name extends string,
  Method extends "GET" | "POST",
  Params extends Schema.Top,
  Payload extends Schema.Top,
  Success extends Schema.Top,
  Error extends Schema.Top,
  M,
  Query extends Schema.Top = never
> = HttpApiEndpoint.HttpApiEndpoint<
  Name,
  Method,
  `/${string}`,
  Params,
  Query,
  Payload,
  never,
  Success,
  Error,
  M,
  [M] extends [never] ? never : M extends HttpApiMiddleware.AnyId ? HttpApiMiddleware.Requires<M> : never
>

/** The HTTP endpoints of one workflow. */
export type HttpEndpointsOf<W, M, S = never, R = never> = W extends
  Workflow.Workflow<infer Name, infer P, infer Succ, infer E> ?
    | GuardedEndpoint<`${Name}Execute`, "POST", never, P, Succ, E | BodyErrors | typeof ExecutionPending, S>
    | GuardedEndpoint<`${Name}Start`, "POST", never, P, typeof Started, BodyErrors, S>
    | GuardedEndpoint<`${Name}Poll`, "GET", typeof ExecutionParams, never, PollResult<Succ, E>, RouteErrors, R>
    | GuardedEndpoint<
      `${Name}Result`,
      "GET",
      typeof ExecutionParams,
      never,
      PollResult<Succ, E>,
      RouteErrors | typeof ExecutionPending,
      R,
      typeof ResultQuery
    >
    | OperatorEndpoint<`${Name}Interrupt`, typeof ExecutionParams, never, M>
    | OperatorEndpoint<`${Name}Resume`, typeof ExecutionParams, never, M>
    | GuardedEndpoint<`${Name}Retry`, "POST", typeof ExecutionParams, never, typeof RetryAnswer, RouteErrors, M>
    | GuardedEndpoint<`${Name}Restart`, "POST", typeof ExecutionParams, typeof RestartBody, typeof RestartAnswer, BodyErrors, M>
  : never

/** The HTTP endpoints once per group: complete a deferred (as operator, or by token alone), and read a status. */
export type GroupHttpEndpoints<D, M, R = never> =
  | GuardedEndpoint<
    "DeferredSucceed",
    "POST",
    never,
    SucceedPayload<D>,
    HttpApiSchema.NoContent,
    BodyErrors | typeof DeferredAlreadyCompleted,
    M
  >
  | GuardedEndpoint<
    "DeferredFail",
    "POST",
    never,
    FailPayload<D>,
    HttpApiSchema.NoContent,
    BodyErrors | typeof DeferredAlreadyCompleted,
    M
  >
  | GuardedEndpoint<
    "TokenSucceed",
    "POST",
    never,
    SucceedPayload<D>,
    HttpApiSchema.NoContent,
    BodyErrors | typeof DeferredAlreadyCompleted,
    never
  >
  | GuardedEndpoint<
    "TokenFail",
    "POST",
    never,
    FailPayload<D>,
    HttpApiSchema.NoContent,
    BodyErrors | typeof DeferredAlreadyCompleted,
    never
  >
  | GuardedEndpoint<"ExecutionStatus", "GET", typeof ExecutionParams, never, typeof Execution, RouteErrors, R>
  | GuardedEndpoint<"ListExecutions", "GET", never, never, typeof ExecutionPage, RouteErrors, R, typeof ListQuery>
  | GuardedEndpoint<"ExecutionTrace", "GET", typeof ExecutionParams, never, typeof TraceAnswer, RouteErrors, R>
  | GuardedEndpoint<"Workflows", "GET", never, never, typeof WorkflowList, RouteErrors, R>
  | GuardedEndpoint<"Versions", "GET", never, never, typeof VersionList, RouteErrors, R, typeof VersionsQuery>
  | GuardedEndpoint<"Purge", "POST", never, typeof PurgeBody, typeof PurgeAnswer, BodyErrors, M>

/** The HTTP endpoints once per group that send to channels `C`: as operator by execution id, or by token alone. */
export type ChannelHttpEndpoints<C, M> =
  | GuardedEndpoint<"ChannelSend", "POST", never, ChannelSendPayload<C>, typeof ChannelSent, BodyErrors, M>
  | GuardedEndpoint<"TokenSend", "POST", never, TokenSendPayload<C>, typeof ChannelSent, BodyErrors, never>

/** A POST operator endpoint (no result, HTTP 204) behind middleware `M`. */
export type OperatorEndpoint<Name extends string, Params extends Schema.Top, Payload extends Schema.Top, M> =
  GuardedEndpoint<Name, "POST", Params, Payload, HttpApiSchema.NoContent, RouteErrors, M>

/** The success schemas of deferreds `D`. */
export type DeferredSuccess<D> = D extends DurableDeferred.DurableDeferred<infer S, infer _E> ? S : never

/** The error schemas of deferreds `D`. */
export type DeferredError<D> = D extends DurableDeferred.DurableDeferred<infer _S, infer E> ? E : never

/** The message schemas of channels `C`. */
export type ChannelMessage<C> = C extends DurableChannel.DurableChannel<infer M> ? M : never

/** The payloads of the channel routes: by execution id (with the channel's name) and by token. */
