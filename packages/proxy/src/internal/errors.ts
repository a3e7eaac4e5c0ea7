/**
 * The errors the proxy answers itself, and the deny-all middlewares of routes given no policy. Each error has a
 * message and its HTTP status; `_tag` is its last field, the key order Weft answered on Effect 3. Re-exported by
 * `WorkflowProxy`.
 */
import * as HttpApiMiddleware from "effect/http-api/HttpApiMiddleware"
import * as RpcMiddleware from "effect/rpc/RpcMiddleware"
import * as Schema from "effect/Schema"
import { formatPath, issuesOf } from "./issues.js"

const named = (cls: { readonly prototype: object }, name: string) =>
  Object.defineProperty(cls.prototype, "name", { value: name, configurable: true, writable: true })

/**
 * An operator route was called, but the contract has neither an auth middleware nor the explicit opt-out (HTTP 403).
 */
export class OperatorRoutesDisabled extends Schema.Error<OperatorRoutesDisabled>("@weft/proxy/OperatorRoutesDisabled")(
  { message: Schema.String, _tag: Schema.tag("OperatorRoutesDisabled") },
  { httpApiStatus: 403 }
) {
  static {
    named(this, "OperatorRoutesDisabled")
  }
}

/** A start or read route was called, but the contract gives that class of routes no policy (HTTP 403). */
export class RoutesDisabled extends Schema.Error<RoutesDisabled>("@weft/proxy/RoutesDisabled")(
  { message: Schema.String, _tag: Schema.tag("RoutesDisabled") },
  { httpApiStatus: 403 }
) {
  static {
    named(this, "RoutesDisabled")
  }
}

/** The deferred a token names was completed before: the first completion stands (HTTP 409). */
export class DeferredAlreadyCompleted extends Schema.Error<DeferredAlreadyCompleted>(
  "@weft/proxy/DeferredAlreadyCompleted"
)(
  { message: Schema.String, _tag: Schema.tag("DeferredAlreadyCompleted") },
  { httpApiStatus: 409 }
) {
  static {
    named(this, "DeferredAlreadyCompleted")
  }
}

/** A request body over the server's limit (HTTP 413); the rest of it is not read. */
export class PayloadTooLarge extends Schema.Error<PayloadTooLarge>("@weft/proxy/PayloadTooLarge")(
  { message: Schema.String, _tag: Schema.tag("PayloadTooLarge") },
  { httpApiStatus: 413 }
) {
  static {
    named(this, "PayloadTooLarge")
  }
}

/** A JSON route called without `Content-Type: application/json` (HTTP 415; this also refuses cross-site form posts). */
export class UnsupportedMediaType extends Schema.Error<UnsupportedMediaType>("@weft/proxy/UnsupportedMediaType")(
  { message: Schema.String, _tag: Schema.tag("UnsupportedMediaType") },
  { httpApiStatus: 415 }
) {
  static {
    named(this, "UnsupportedMediaType")
  }
}

/** The server failed (HTTP 500/503 with a generic message; the cause is logged, never answered). */
export class InternalError extends Schema.Error<InternalError>("@weft/proxy/InternalError")(
  { message: Schema.String, _tag: Schema.tag("InternalError") },
  { httpApiStatus: 500 }
) {
  static {
    named(this, "InternalError")
  }
}

/**
 * `execute` over HTTP did not complete within the server's wait (HTTP 202): poll `poll` (the execution's poll
 * route) for the result. The typed client sees it as this error.
 */
export class ExecutionPending extends Schema.Error<ExecutionPending>("@weft/proxy/ExecutionPending")(
  { executionId: Schema.String, poll: Schema.String, message: Schema.String, _tag: Schema.tag("ExecutionPending") },
  { httpApiStatus: 202 }
) {
  static {
    named(this, "ExecutionPending")
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
 * A request body that is not JSON, nests too deep, or does not fit the route's schema: HTTP 400, with `issues`
 * naming the fields. The wire shape (`{ issues, message, _tag: "HttpApiDecodeError" }`) is Weft's on Effect 3.
 */
export class HttpApiDecodeError extends Schema.Error<HttpApiDecodeError>("@weft/proxy/HttpApiDecodeError")(
  { issues: Schema.Array(Issue), message: Schema.String, _tag: Schema.tag("HttpApiDecodeError") },
  { httpApiStatus: 400 }
) {
  static {
    named(this, "HttpApiDecodeError")
  }

  /** The 400 of a schema failure: one issue per failing field (at most 20, each message cut at 300 characters). */
  static fromSchemaError(error: Schema.SchemaError): HttpApiDecodeError {
    const issues = issuesOf(error.issue).slice(0, 20).map((issue) => ({ ...issue, message: cut(issue.message) }))
    return new HttpApiDecodeError({
      issues,
      message: issues.map((issue) => `${formatPath(issue.path)} ${issue.message}`.trim()).join("\n") ||
        "The request does not fit the route's schema"
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

/** The RPC middleware on start routes given no `start` policy; `WorkflowProxyServer` provides it. */
export class DenyStartRpc extends RpcMiddleware.Service<DenyStartRpc>()("@weft/proxy/DenyStartRpc", {
  error: RoutesDisabled
}) {}

/** The HttpApi middleware on start routes given no `start` policy; `WorkflowProxyServer` provides it. */
export class DenyStartHttp extends HttpApiMiddleware.Service<DenyStartHttp>()("@weft/proxy/DenyStartHttp", {
  error: RoutesDisabled
}) {}

/** The RPC middleware on read routes given no `read` policy; `WorkflowProxyServer` provides it. */
export class DenyReadRpc extends RpcMiddleware.Service<DenyReadRpc>()("@weft/proxy/DenyReadRpc", {
  error: RoutesDisabled
}) {}

/** The HttpApi middleware on read routes given no `read` policy; `WorkflowProxyServer` provides it. */
export class DenyReadHttp extends HttpApiMiddleware.Service<DenyReadHttp>()("@weft/proxy/DenyReadHttp", {
  error: RoutesDisabled
}) {}

/** The message of `OperatorRoutesDisabled`, saying how to enable the routes. */
export const operatorRoutesDisabledMessage =
  "Operator routes (interrupt, resume, complete a deferred) are disabled: give the proxy an auth middleware " +
  "(the `auth` option), or set `dangerouslyAllowUnauthenticatedOperatorRoutes: true`"

/** The message of `RoutesDisabled` for start routes. */
export const startRoutesDisabledMessage =
  "Start routes (start, execute) are disabled: give the proxy a `start` policy (an auth middleware, or \"public\")"

/** The message of `RoutesDisabled` for read routes. */
export const readRoutesDisabledMessage =
  "Read routes (poll, result, status, list, workflows) are disabled: give the proxy a `read` policy (an auth " +
  "middleware, or \"public\")"

const cut = (message: string): string => message.length <= 300 ? message : `${message.slice(0, 300)}…`
