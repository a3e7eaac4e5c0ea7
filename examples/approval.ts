/**
 * An expense approval served over HTTP, durable on the embedded SQLite default. Starting an approval runs a
 * workflow that sends the approver a signed token and waits, suspended, for the answer; the approver completes it
 * over HTTP with that token (an operator route: it also needs the operator's bearer token); the result is read
 * over HTTP. Stop and restart the server at any point: the execution and its token survive.
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
import { HttpApi, HttpApiBuilder, HttpApiError, HttpApiMiddleware, HttpApiSecurity } from "effect/http-api"

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

/** Operator routes (interrupt, resume, complete a deferred) need `Authorization: Bearer $WEFT_OPERATOR_TOKEN`. */
export class OperatorAuth extends HttpApiMiddleware.Service<OperatorAuth>()("OperatorAuth", {
  // An empty 401 (`HttpApiError.Unauthorized` alone answers `{"_tag":"Unauthorized"}`).
  error: HttpApiError.UnauthorizedNoContent,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

export const OperatorAuthLive = (secret: string) =>
  Layer.succeed(OperatorAuth, {
    bearer: (httpEffect, { credential }) => {
      const given = Buffer.from(Redacted.value(credential))
      const expected = Buffer.from(secret)
      return given.length === expected.length && timingSafeEqual(given, expected)
        ? httpEffect
        : Effect.fail(new HttpApiError.Unauthorized())
    }
  })

/** The HTTP API: the workflow's routes and the approval deferred, with operator routes behind `OperatorAuth`. */
export class Api extends HttpApi.make("approvals").add(
  WorkflowProxy.toHttpApiGroup("workflows", [ExpenseApproval], { deferreds: [Approval], auth: OperatorAuth })
) {}

/** The server on 127.0.0.1:`port` (0 picks a free one) over the SQLite file `filename`. */
export const ServerLive = (options: {
  readonly port: number
  readonly filename: string
  readonly operatorToken: string
}) =>
  Layer.mergeAll(
    HttpRouter.serve(
      HttpApiBuilder.layer(Api).pipe(
        Layer.provide(WorkflowProxyServer.layerHttpApi(Api, "workflows", [ExpenseApproval])),
        Layer.provide(OperatorAuthLive(options.operatorToken))
      ),
      { disableListenLog: true, disableLogger: true }
    ),
    ExpenseApprovalLive
  ).pipe(
    Layer.provide(SqliteEngine.layer({ filename: options.filename })),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: options.port, host: "127.0.0.1" }))
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
