/**
 * An expense approval served over HTTP, durable on the embedded SQLite default. The expense system starts an
 * approval (with its bearer token); the workflow sends the approver a signed token and waits, suspended, for the
 * answer; the approver completes it with that token alone (`/tokens/succeed`: the token is the capability); the
 * expense system reads the result. Stop and restart the server at any point: the execution and its token survive.
 *
 *   WEFT_OPERATOR_TOKEN=change-me npx tsx --conditions=@weft/source examples/approval.ts   # http://127.0.0.1:3000; PORT and WEFT_DB to change
 *
 * README.md ("Exposing workflows over HTTP and RPC") walks through it with curl.
 */
import { timingSafeEqual } from "node:crypto"
import { createServer } from "node:http"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import { WorkflowProxy, WorkflowProxyServer } from "@weft/proxy"
import { Activity, DurableDeferred, Workflow } from "@weft/workflow"
import { Console, Effect, Layer, Redacted, Schema } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiMiddleware, HttpApiSecurity } from "effect/http-api"

/** The approver's answer: a signal completed by token from outside. */
export const Approval = DurableDeferred.make("approval", {
  success: Schema.Struct({ approver: Schema.String, approved: Schema.Boolean })
})

/** The typed error of a rejected expense. */
export class Rejected extends Schema.TaggedError<Rejected>()("Rejected", { approver: Schema.String }) {}

/** One approval per expense id: starting the same expense twice is the same execution. */
export const ExpenseApproval = Workflow.make({
  name: "ExpenseApproval",
  payload: { expenseId: Schema.String, amount: Schema.Number },
  success: Schema.String,
  error: Rejected,
  idempotencyKey: ({ expenseId }) => expenseId
})

export const ExpenseApprovalLive = ExpenseApproval.toLayer(({ amount, expenseId }) =>
  Effect.gen(function* () {
    const token = yield* DurableDeferred.token(Approval)
    // An activity, so the approver is notified once however often the body replays. A real app sends an e-mail.
    yield* Activity.make({
      name: "notify-approver",
      execute: Console.log(`approval requested for ${expenseId}: TOKEN=${token}`)
    })
    const { approved, approver } = yield* DurableDeferred.await(Approval)
    if (!approved) return yield* new Rejected({ approver })
    return `${expenseId}: ${amount} approved by ${approver}`
  })
)

/** A request without the right bearer token (HTTP 401, with a message). */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  { message: Schema.String },
  { httpApiStatus: 401 }
) {}

/**
 * Every route but the token routes (start, execute, poll, status, interrupt, resume) needs
 * `Authorization: Bearer $WEFT_OPERATOR_TOKEN`.
 */
export class OperatorAuth extends HttpApiMiddleware.Service<OperatorAuth>()("OperatorAuth", {
  error: Unauthorized,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

export const OperatorAuthLive = (secret: string) =>
  Layer.succeed(OperatorAuth, {
    bearer: (httpEffect, { credential }) => {
      const given = Buffer.from(Redacted.value(credential))
      const expected = Buffer.from(secret)
      return given.length === expected.length && timingSafeEqual(given, expected)
        ? httpEffect
        : Effect.fail(new Unauthorized({ message: "Expected Authorization: Bearer <the operator token>" }))
    }
  })

/** The HTTP API: the workflow's routes behind `OperatorAuth`, and the approval deferred by token. */
export class Api extends HttpApi.make("approvals").add(
  WorkflowProxy.toHttpApiGroup("workflows", [ExpenseApproval], {
    deferreds: [Approval],
    start: OperatorAuth,
    read: OperatorAuth,
    auth: OperatorAuth
  })
) {}

/**
 * The server on 127.0.0.1:`port` (0 picks a free one) over the SQLite file `filename`. Slow clients are cut off:
 * 10 s to send the headers, 30 s for the whole request.
 */
export const ServerLive = (options: {
  readonly port: number
  readonly filename: string
  readonly operatorToken: string
}) =>
  Layer.mergeAll(
    HttpRouter.serve(
      Layer.mergeAll(
        HttpApiBuilder.layer(Api).pipe(
          Layer.provide(WorkflowProxyServer.layerHttpApi(Api, "workflows", [ExpenseApproval])),
          Layer.provide(OperatorAuthLive(options.operatorToken))
        ),
        // Unknown paths answer a 404 with a JSON message too.
        WorkflowProxyServer.layerNotFound
      ),
      { disableListenLog: true, disableLogger: true }
    ),
    ExpenseApprovalLive
  ).pipe(
    Layer.provide(SqliteEngine.layer({ filename: options.filename })),
    Layer.provideMerge(
      NodeHttpServer.layer(() => createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }), {
        port: options.port,
        host: "127.0.0.1"
      })
    )
  )

const main = Effect.gen(function* () {
  const address = (yield* HttpServer.HttpServer).address
  yield* Console.log(`listening on ${HttpServer.formatAddress(address)}`)
  return yield* Effect.never
})

if (import.meta.url === `file://${process.argv[1]}`) {
  const operatorToken = process.env.WEFT_OPERATOR_TOKEN ?? "dev-operator-token"
  if (process.env.WEFT_OPERATOR_TOKEN === undefined) {
    console.log(`WEFT_OPERATOR_TOKEN is not set: operator routes take "${operatorToken}"`)
  }
  main.pipe(
    Effect.provide(
      ServerLive({
        port: Number(process.env.PORT ?? 3000),
        filename: process.env.WEFT_DB ?? ".weft/approval.db",
        operatorToken
      })
    ),
    NodeRuntime.runMain
  )
}
