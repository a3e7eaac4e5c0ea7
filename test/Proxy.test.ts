/**
 * @weft/proxy against a real server on 127.0.0.1 (port 0, @effect/platform-node): the typed HttpApi and RPC
 * clients, bad input and its status codes, signed tokens, operator routes, and the approval example driven by
 * the curl commands of the README.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { createHmac } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import { WorkflowProxy, WorkflowProxyServer } from "@weft/proxy"
import { Activity, DurableDeferred, Workflow, WorkflowEngine, WorkflowError } from "@weft/workflow"
import { Effect, Exit, Layer, Option, Redacted, Schema } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpRouter, HttpServer } from "effect/http"
import {
  HttpApi,
  HttpApiBuilder,
  HttpApiClient,
  HttpApiError,
  HttpApiMiddleware,
  HttpApiSecurity
} from "effect/http-api"
import { type Rpc, RpcClient, type RpcGroup, RpcMiddleware, RpcSerialization, RpcServer } from "effect/rpc"
import { Go, LedgerLive, LedgerV2 } from "./ledger.js"
import { Counter, waitUntil } from "./util.js"

const root = resolve(import.meta.dirname, "..")

layer(Layer.suspend(() => ServerLive), { excludeTestServices: true })("WorkflowProxy over HTTP", (it) => {
  it.effect("the HttpApi client starts a workflow, polls it and gets its typed result", () =>
    Effect.gen(function* () {
      const client = yield* apiClient()
      const { executionId } = yield* client.workflows.GreetStart({ payload: { name: "Ada" } })
      assert.strictEqual(executionId, Workflow.executionIdFor("Greet", "Ada"))
      const polled = yield* settled(client.workflows.GreetPoll({ params: { executionId } }))
      assert.strictEqual(polled.status, "succeeded")
      assert.deepStrictEqual(polled.exit, Exit.succeed("Hello, Ada"))
      const result: string = yield* client.workflows.GreetExecute({ payload: { name: "Ada" } })
      assert.strictEqual(result, "Hello, Ada")
      const status = yield* client.workflows.ExecutionStatus({ params: { executionId } })
      assert.strictEqual(status.workflow, "Greet")
      assert.strictEqual(status.status, "succeeded")
    }))

  it.effect("the HttpApi client gets the typed error of a failing workflow (HTTP 422)", () =>
    Effect.gen(function* () {
      const client = yield* apiClient()
      const error = yield* Effect.flip(client.workflows.ChargeExecute({ payload: { id: "c-http", amount: 500 } }))
      assert.instanceOf(error, Declined)
      assert.strictEqual((error as Declined).reason, "500 is over the limit")
      const { executionId } = yield* client.workflows.ChargeStart({ payload: { id: "c-http", amount: 500 } })
      const polled = yield* client.workflows.ChargePoll({ params: { executionId } })
      assert.strictEqual(polled.status, "failed")
      assert.deepStrictEqual(polled.exit, Exit.fail(new Declined({ reason: "500 is over the limit" })))
      const raw = yield* post("/charge/execute", { id: "c-http", amount: 500 })
      assert.strictEqual(raw.status, 422)
      assert.deepStrictEqual(raw.body, { _tag: "Declined", reason: "500 is over the limit" })
    }))

  it.effect("the RPC client starts a workflow, polls it and gets its typed result and typed error", () =>
    Effect.gen(function* () {
      const client = yield* rpcClient(Rpcs, "/rpc")
      const { executionId } = yield* client.GreetStart({ name: "Grace" })
      const polled = yield* settled(client.GreetPoll({ executionId }))
      assert.strictEqual(polled.status, "succeeded")
      assert.deepStrictEqual(polled.exit, Exit.succeed("Hello, Grace"))
      assert.strictEqual(yield* client.GreetExecute({ name: "Grace" }), "Hello, Grace")
      const error = yield* Effect.flip(client.ChargeExecute({ id: "c-rpc", amount: 900 }))
      assert.instanceOf(error, Declined)
      const failed = yield* client.ChargePoll({ executionId: Workflow.executionIdFor("Charge", "c-rpc") })
      assert.strictEqual(failed.status, "failed")
      assert.deepStrictEqual(failed.exit, Exit.fail(new Declined({ reason: "900 is over the limit" })))
      const status = yield* client.ExecutionStatus({ executionId })
      assert.strictEqual(status.status, "succeeded")
      const missing = yield* Effect.flip(client.GreetPoll({ executionId: "nope" }))
      assert.instanceOf(missing, WorkflowError.WorkflowError)
      assert.strictEqual((missing as WorkflowError.WorkflowError).reason, "ExecutionNotFound")
    }))

  it.effect("answers bad input with 400 naming the field, and unknown workflows or executions with 404", () =>
    Effect.gen(function* () {
      const malformed = yield* post("/greet/start", '{"name":')
      assert.strictEqual(malformed.status, 400)
      assert.match(malformed.body.message, /not valid JSON/)
      const missing = yield* post("/charge/start", { id: "c-bad" })
      assert.strictEqual(missing.status, 400)
      assert.deepStrictEqual(missing.body.issues[0].path, ["amount"])
      assert.match(missing.body.message, /\["amount"\][\s\S]*is missing/)
      const wrongType = yield* post("/charge/start", { id: "c-bad", amount: "lots" })
      assert.strictEqual(wrongType.status, 400)
      assert.deepStrictEqual(wrongType.body.issues[0].path, ["amount"])
      assert.isFalse(yield* exists(Workflow.executionIdFor("Charge", "c-bad")))
      assert.strictEqual((yield* post("/nope/start", { name: "Ada" })).status, 404)
      // In the contract, but not registered with the engine.
      const unserved = yield* post("/closed/unserved/start", { id: "u-1" })
      assert.strictEqual(unserved.status, 404)
      assert.strictEqual(unserved.body.reason, "NotRegistered")
      assert.strictEqual((yield* get("/greet/executions/nope")).status, 404)
      const unknown = yield* get("/executions/nope")
      assert.strictEqual(unknown.status, 404)
      assert.strictEqual(unknown.body.reason, "ExecutionNotFound")
      // An execution of another workflow is not found under this workflow's routes.
      const charge = Workflow.executionIdFor("Charge", "c-http")
      assert.strictEqual((yield* get(`/greet/executions/${charge}`)).status, 404)
    }))

  it.effect("rejects a forged or tampered token with 403 and writes nothing; a bad value is a 400 naming it", () =>
    Effect.gen(function* () {
      const { body } = yield* post("/expense/start", { id: "e-token" })
      const executionId: string = body.executionId
      yield* suspendedOverHttp("/expense", executionId)
      const token = yield* DurableDeferred.tokenFor(Approval, { workflow: "Expense", executionId })
      const [, keyId, claims, signature] = token.split(".")
      const forged = `v2.${keyId}.${claims}.${
        createHmac("sha256", "not-the-key").update(`v2.${keyId}.${claims}`).digest("base64url")
      }`
      const otherClaims = Buffer.from(JSON.stringify(["Expense", "someone-else", "approval"])).toString("base64url")
      const tampered = `v2.${keyId}.${otherClaims}.${signature}`
      for (const bad of [forged, tampered, "not-a-token"]) {
        const response = yield* post("/deferreds/succeed", { token: bad, value: { approver: "mallory" } }, operator)
        assert.strictEqual(response.status, 403, bad)
        assert.strictEqual(response.body.reason, "InvalidToken")
      }
      const badValue = yield* post("/deferreds/succeed", { token, value: { approver: 7 } }, operator)
      assert.strictEqual(badValue.status, 400)
      assert.deepStrictEqual(badValue.body.issues[0].path, ["value", "approver"])
      const detail = yield* journal(executionId)
      assert.deepStrictEqual(detail.deferreds, [])
      assert.isFalse(detail.events.some((e) => e.kind.startsWith("signal")))
      assert.strictEqual(detail.execution.status, "suspended")

      const ok = yield* post("/deferreds/succeed", { token, value: { approver: "grace" } }, operator)
      assert.strictEqual(ok.status, 204)
      const polled = yield* settled((yield* apiClient()).workflows.ExpensePoll({ params: { executionId } }))
      assert.deepStrictEqual(polled.exit, Exit.succeed("e-token approved by grace"))
    }))

  it.effect("completes a deferred with its typed error, and answers 404 for a deferred the group does not expose", () =>
    Effect.gen(function* () {
      const client = yield* apiClient(secret)
      const { executionId } = yield* client.workflows.ExpenseStart({ payload: { id: "e-fail" } })
      yield* suspendedOverHttp("/expense", executionId)
      const other = yield* DurableDeferred.tokenFor(Unexposed, { workflow: "Expense", executionId })
      const unexposed = yield* post("/deferreds/succeed", { token: other, value: null }, operator)
      assert.strictEqual(unexposed.status, 404)
      const token = yield* DurableDeferred.tokenFor(Approval, { workflow: "Expense", executionId })
      yield* client.workflows.DeferredFail({ payload: { token, error: new Refused({ reason: "no receipt" }) } })
      const error = yield* Effect.flip(client.workflows.ExpenseExecute({ payload: { id: "e-fail" } }))
      assert.deepStrictEqual(error, new Refused({ reason: "no receipt" }))
    }))

  it.effect("denies operator routes without auth: 403 when none is configured, 401 without credentials", () =>
    Effect.gen(function* () {
      const { body } = yield* post("/expense/start", { id: "e-auth" })
      const executionId: string = body.executionId
      yield* suspendedOverHttp("/expense", executionId)
      const token = yield* DurableDeferred.tokenFor(Approval, { workflow: "Expense", executionId })

      // A group built without `auth` or the opt-out: every operator route answers 403.
      for (const action of ["interrupt", "resume"]) {
        const denied = yield* post(`/closed/expense/executions/${executionId}/${action}`, undefined)
        assert.strictEqual(denied.status, 403)
        assert.strictEqual(denied.body._tag, "OperatorRoutesDisabled")
      }
      const deniedSignal = yield* post("/closed/deferreds/succeed", { token, value: { approver: "x" } })
      assert.strictEqual(deniedSignal.status, 403)
      const closed = yield* apiClient(secret)
      const typed = yield* Effect.flip(closed.closed.ExpenseInterrupt({ params: { executionId } }))
      assert.instanceOf(typed, WorkflowProxy.OperatorRoutesDisabled)

      // A group with an auth middleware: 401 without or with wrong credentials.
      const interrupt = `/expense/executions/${executionId}/interrupt`
      assert.strictEqual((yield* post(interrupt, undefined)).status, 401)
      assert.strictEqual((yield* post(interrupt, undefined, { authorization: "Bearer guess" })).status, 401)
      assert.strictEqual((yield* post("/deferreds/succeed", { token, value: { approver: "x" } })).status, 401)
      assert.strictEqual((yield* journal(executionId)).execution.status, "suspended")
      assert.deepStrictEqual((yield* journal(executionId)).deferreds, [])

      // With credentials, the operator interrupts it.
      const client = yield* apiClient(secret)
      yield* client.workflows.ExpenseInterrupt({ params: { executionId } })
      const polled = yield* settled(client.workflows.ExpensePoll({ params: { executionId } }))
      assert.strictEqual(polled.status, "interrupted")
    }))

  it.effect("serves operator routes unauthenticated only with the explicit dangerous flag", () =>
    Effect.gen(function* () {
      const { body } = yield* post("/open/expense/start", { id: "e-open" })
      const executionId: string = body.executionId
      yield* suspendedOverHttp("/open/expense", executionId)
      assert.strictEqual((yield* post(`/open/expense/executions/${executionId}/resume`, undefined)).status, 204)
      yield* suspendedOverHttp("/open/expense", executionId)
      const token = yield* DurableDeferred.tokenFor(Approval, { workflow: "Expense", executionId })
      assert.strictEqual((yield* post("/open/deferreds/succeed", { token, value: { approver: "anyone" } })).status, 204)
      const polled = yield* settled((yield* apiClient()).open.ExpensePoll({ params: { executionId } }))
      assert.deepStrictEqual(polled.exit, Exit.succeed("e-open approved by anyone"))
    }))

  it.effect("guards operator RPCs: denied without auth, Unauthorized without credentials, allowed with them", () =>
    Effect.gen(function* () {
      const closed = yield* rpcClient(ClosedRpcs, "/rpc-closed")
      const { executionId } = yield* closed["closed.GreetStart"]({ name: "Linus" })
      const denied = yield* Effect.flip(closed["closed.GreetResume"]({ executionId }))
      assert.instanceOf(denied, WorkflowProxy.OperatorRoutesDisabled)

      const client = yield* rpcClient(Rpcs, "/rpc")
      const started = yield* client.ExpenseStart({ id: "e-rpc" })
      yield* suspendedOverHttp("/expense", started.executionId)
      const token = yield* DurableDeferred.tokenFor(Approval, { workflow: "Expense", executionId: started.executionId })
      const refused = yield* Effect.flip(client.DeferredSucceed({ token, value: { approver: "rpc" } }))
      assert.instanceOf(refused, Unauthorized)
      const forged = yield* Effect.flip(
        client.DeferredSucceed({ token: token.slice(0, -2), value: { approver: "rpc" } }, { headers: operator })
      )
      assert.strictEqual((forged as WorkflowError.WorkflowError).reason, "InvalidToken")
      assert.deepStrictEqual((yield* journal(started.executionId)).deferreds, [])
      yield* client.DeferredSucceed({ token, value: { approver: "rpc" } }, { headers: operator })
      assert.strictEqual(yield* client.ExpenseExecute({ id: "e-rpc" }), "e-rpc approved by rpc")
    }))

  it.effect("retry, restart and purge: operator routes, denied without auth; bad input is a 4xx naming the field", () =>
    Effect.gen(function* () {
      settle.declines = 1
      const { body } = yield* post("/settle/start", { id: "s-http" })
      const executionId: string = body.executionId
      yield* waitUntil(Effect.map(get(`/settle/executions/${executionId}`), (r) => r.body?.status === "failed"), "failed")
      const retryPath = `/settle/executions/${executionId}/retry`
      const restartPath = `/settle/executions/${executionId}/restart`

      // Denied: no auth configured (403), no or wrong credentials (401); nothing written.
      assert.strictEqual((yield* post(`/closed/greet/executions/${executionId}/retry`, undefined)).status, 403)
      assert.strictEqual((yield* post(`/closed/greet/executions/${executionId}/restart`, {})).status, 403)
      assert.strictEqual((yield* post("/closed/executions/purge", { olderThanMs: 0 })).status, 403)
      assert.strictEqual((yield* post(retryPath, undefined)).status, 401)
      assert.strictEqual((yield* post(restartPath, {}, { authorization: "Bearer guess" })).status, 401)
      assert.strictEqual((yield* post("/executions/purge", { olderThanMs: 0 })).status, 401)
      assert.strictEqual((yield* journal(executionId)).execution.status, "failed")

      const auth = { authorization: `Bearer ${secret}` }
      const retried = yield* post(retryPath, undefined, auth)
      assert.strictEqual(retried.status, 200, JSON.stringify(retried.body))
      assert.deepStrictEqual(retried.body, { executionId, activities: ["settle"] })
      yield* waitUntil(Effect.map(get(`/settle/executions/${executionId}`), (r) => r.body?.status === "succeeded"), "retried")
      // Ended well: another retry is a 409 saying why.
      const again = yield* post(retryPath, undefined, auth)
      assert.strictEqual(again.status, 409)
      assert.match(again.body.message, /only a failed execution is retried/)

      const badBody = yield* post(restartPath, { fromStep: 5 }, auth)
      assert.strictEqual(badBody.status, 400)
      const unknownStep = yield* post(restartPath, { fromStep: "setle" }, auth)
      assert.strictEqual(unknownStep.status, 400)
      assert.strictEqual(unknownStep.body.field, "fromStep")
      const restarted = yield* post(restartPath, { fromStep: "settle", idempotencyKey: "ticket-1" }, auth)
      assert.strictEqual(restarted.status, 200, JSON.stringify(restarted.body))
      assert.deepStrictEqual(
        { ...restarted.body, executionId: typeof restarted.body.executionId },
        { executionId: "string", restartedFrom: executionId, fromStep: "settle", copiedSteps: 1, created: true }
      )
      yield* waitUntil(
        Effect.map(get(`/settle/executions/${restarted.body.executionId}`), (r) => r.body?.status === "succeeded"),
        "restarted"
      )
      assert.deepStrictEqual([settle.runs.get("fetch:s-http"), settle.runs.get("settle:s-http")], [1, 3])

      assert.strictEqual((yield* post("/executions/purge", { olderThanMs: -1 }, auth)).status, 400)
      assert.strictEqual((yield* post("/executions/purge", { olderThanMs: 0, status: ["running"] }, auth)).status, 400)
      const purged = yield* post("/executions/purge", { olderThanMs: 86_400_000, status: ["interrupted"] }, auth)
      assert.strictEqual(purged.status, 200)
      assert.deepStrictEqual(purged.body, { deleted: 0 })

      // Over RPC, with the operator's credentials.
      settle.declines = 1
      const client = yield* rpcClient(Rpcs, "/rpc")
      const started = yield* client.SettleStart({ id: "s-rpc" })
      yield* waitUntil(Effect.map(get(`/settle/executions/${started.executionId}`), (r) => r.body?.status === "failed"), "failed")
      assert.instanceOf(yield* Effect.flip(client.SettleRetry({ executionId: started.executionId })), Unauthorized)
      const viaRpc = yield* client.SettleRetry({ executionId: started.executionId }, { headers: operator })
      assert.deepStrictEqual(viaRpc.activities, ["settle"])
      assert.strictEqual(yield* client.SettleExecute({ id: "s-rpc" }), "settled s-rpc")

      // Executions by idempotency key prefix (the restart has no key of its own).
      const listed = yield* get("/executions?workflow=Settle&idempotencyKeyPrefix=s-")
      assert.strictEqual(listed.status, 200)
      assert.deepStrictEqual(
        listed.body.items.map((e: { idempotencyKey: string }) => e.idempotencyKey),
        ["s-rpc", "s-http"]
      )
      assert.strictEqual((yield* get(`/executions/${executionId}`)).body.idempotencyKey, "s-http")

      // The trace: the declined attempt (its error shown: this group's reads show failures), the retry, the rest.
      const traced = yield* get(`/executions/${executionId}/trace`)
      assert.strictEqual(traced.status, 200, JSON.stringify(traced.body))
      assert.strictEqual(traced.body.execution.status, "succeeded")
      const steps = traced.body.entries.flatMap((e: any) =>
        e.kind === "activity" ? [`${e.name}#${e.attempt} ${e.outcome} ${JSON.stringify(e.value)}`] : e.kind === "event" && e.event === "retried" ? ["retried"] : []
      )
      assert.deepStrictEqual(steps, [
        "fetch#1 success undefined",
        `settle#1 failure {"reason":"not yet","_tag":"Late"}`,
        "retried",
        `settle#3 success "settled s-http"`
      ])
      assert.strictEqual((yield* get("/executions/nope/trace")).status, 404)
      // Another group answers for its own workflows only; a public one (no publicFailures) shows no values.
      assert.strictEqual((yield* get(`/closed/executions/${executionId}/trace`)).status, 404)
      const greeted = (yield* post("/greet/start", { name: "Traced" })).body.executionId as string
      yield* waitUntil(Effect.map(get(`/greet/executions/${greeted}`), (r) => r.body?.status === "succeeded"), "greeted")
      const open = (yield* get(`/closed/executions/${greeted}/trace`)).body
      const step = open.entries.find((e: any) => e.kind === "activity")
      assert.deepStrictEqual([step.name, step.outcome, "value" in step], ["greet", "success", false])
      assert.notInclude(JSON.stringify(open), "Hello, Traced")
      const full = (yield* get(`/executions/${greeted}/trace`)).body
      assert.include(JSON.stringify(full), "Hello, Traced")
    }))

  it.effect("executions carry their version; the list filters by it, /versions counts live ones, restart picks one", () =>
    Effect.gen(function* () {
      const auth = { authorization: `Bearer ${secret}` }
      // Both versions registered: a start runs version 2; a restart with { version: 1 } runs the old body.
      const first: string = (yield* post("/ledger/start", { id: "l-a" })).body.executionId
      yield* suspendedOverHttp("/ledger", first)
      const status = yield* get(`/executions/${first}`)
      assert.deepStrictEqual([status.body.workflow, status.body.version], ["Ledger", 2])
      assert.strictEqual((yield* post(`/ledger/executions/${first}/interrupt`, undefined, auth)).status, 204)
      yield* waitUntil(Effect.map(get(`/ledger/executions/${first}`), (r) => r.body?.status === "interrupted"), "interrupted")
      const restartPath = `/ledger/executions/${first}/restart`
      for (const version of [0, 1.5, "1", 2 ** 31]) {
        const refused = yield* post(restartPath, { version }, auth)
        assert.strictEqual(refused.status, 400, JSON.stringify(version))
        assert.strictEqual(refused.body._tag, "HttpApiDecodeError")
      }
      const restarted = yield* post(restartPath, { version: 1 }, auth)
      assert.strictEqual(restarted.status, 200, JSON.stringify(restarted.body))
      const onOne: string = restarted.body.executionId
      yield* suspendedOverHttp("/ledger", onOne)
      const second: string = (yield* post("/ledger/start", { id: "l-b" })).body.executionId
      yield* suspendedOverHttp("/ledger", second)

      const versions = yield* get("/versions?workflow=Ledger")
      assert.strictEqual(versions.status, 200, JSON.stringify(versions.body))
      const inFlight = {
        versions: [
          { workflow: "Ledger", version: 1, running: 0, suspended: 1 },
          { workflow: "Ledger", version: 2, running: 0, suspended: 1 }
        ]
      }
      assert.deepStrictEqual(versions.body, inFlight)
      const unknown = yield* get("/versions?workflow=Other")
      assert.deepStrictEqual([unknown.status, unknown.body.field], [400, "workflow"])
      const listed = (yield* get("/executions?workflow=Ledger&version=1")).body
      assert.deepStrictEqual(listed.items.map((e: any) => [e.executionId, e.version]), [[onOne, 1]])
      const onTwo = (yield* get("/executions?workflow=Ledger&version=2")).body
      assert.deepStrictEqual(onTwo.items.map((e: any) => e.executionId), [second, first])
      const bad = yield* get("/executions?version=0")
      assert.deepStrictEqual([bad.status, bad.body.field], [400, "version"])
      assert.strictEqual((yield* get(`/executions/${onOne}/trace`)).body.execution.version, 1)

      // Over RPC: the same answers.
      const client = yield* rpcClient(Rpcs, "/rpc")
      assert.deepStrictEqual(yield* client.Versions({ workflow: "Ledger" }), inFlight)
      const page = yield* client.ListExecutions({ workflow: "Ledger", version: 1 })
      assert.deepStrictEqual(page.items.map((e) => [e.executionId, e.version]), [[onOne, 1]])
      assert.strictEqual((yield* client.ExecutionStatus({ executionId: second })).version, 2)
      const refused = yield* Effect.flip(client.ListExecutions({ version: 0 }))
      assert.deepStrictEqual([refused._tag, (refused as WorkflowError.WorkflowError).field], ["WorkflowError", "version"])

      // Each ends on its own version's body.
      for (const id of [onOne, second]) {
        const token = yield* DurableDeferred.tokenFor(Go, { workflow: "Ledger", executionId: id })
        yield* DurableDeferred.succeed(Go, { token, value: undefined })
      }
      for (const [id, value] of [[onOne, "v1:l-a"], [second, "v2:l-b"]] as const) {
        const { exit } = yield* settled(client.LedgerPoll({ executionId: id }))
        assert.isTrue(exit !== undefined && Exit.isSuccess(exit) && exit.value === value, `${id} ended with ${value}`)
      }
      assert.deepStrictEqual((yield* get("/versions?workflow=Ledger")).body, { versions: [] })
    }))

  it.effect("starting the same payload twice over HTTP returns the same executionId and runs once", () =>
    Effect.gen(function* () {
      const first = yield* post("/greet/start", { name: "Twice" })
      const second = yield* post("/greet/start", { name: "Twice" })
      assert.strictEqual(first.status, 202)
      assert.strictEqual(second.status, 202)
      assert.strictEqual(first.body.executionId, second.body.executionId)
      const client = yield* apiClient()
      yield* settled(client.workflows.GreetPoll({ params: { executionId: first.body.executionId } }))
      assert.strictEqual((yield* post("/greet/execute", { name: "Twice" })).body, "Hello, Twice")
      assert.strictEqual(counter.get("greet:Twice"), 1)
      const detail = yield* journal(first.body.executionId)
      assert.deepStrictEqual(detail.attempts.map((a) => `${a.name}#${a.attempt}`), ["greet#1"])
      assert.strictEqual(detail.events.filter((e) => e.kind === "started").length, 1)
    }))
})

describe("WorkflowProxy contracts", () => {
  it("rejects two workflows that would share an HTTP path", () => {
    const a = Workflow.make({ name: "SendMail", payload: {}, idempotencyKey: () => "a" })
    const b = Workflow.make({ name: "send-mail", payload: {}, idempotencyKey: () => "b" })
    assert.throws(() => WorkflowProxy.toHttpApiGroup("g", [a, b]), /share the HTTP path "\/send-mail"/)
  })

  it("gives a workflow's typed error HTTP 422, unless its schema names a status", () => {
    class Conflict extends Schema.TaggedError<Conflict>()("Conflict", {}, { httpApiStatus: 409 }) {}
    const Book = Workflow.make({ name: "Book", payload: {}, error: Conflict, idempotencyKey: () => "b" })
    const statuses = (workflow: Workflow.Any) => {
      const own: Array<number> = []
      HttpApi.reflect(HttpApi.make("t").add(WorkflowProxy.toHttpApiGroup("g", [workflow])), {
        predicate: ({ endpoint }) => endpoint.identifier === `${workflow.name}Execute`,
        onGroup: () => {},
        onEndpoint: ({ errors }) => {
          // The WorkflowError members are checked by reason; HttpApiDecodeError is the 400; the rest is the
          // workflow's own error.
          for (const [status, schemas] of errors) {
            if (schemas.some((s) => s.ast.checks === undefined && !isProxyError(s))) own.push(status)
          }
        }
      })
      return own
    }
    assert.deepStrictEqual(statuses(Book), [409])
    assert.deepStrictEqual(statuses(Charge), [422])
  })

  it("names routes after the workflow, and puts the prefix on every RPC tag", () => {
    const group = WorkflowProxy.toHttpApiGroup("g", [Greet, Expense], { deferreds: [Approval] })
    assert.deepStrictEqual(
      Object.values(group.endpoints).map((e) => `${e.identifier} ${e.method} ${e.path}`),
      [
        "GreetExecute POST /greet/execute",
        "GreetStart POST /greet/start",
        "GreetPoll GET /greet/executions/:executionId",
        "GreetResult GET /greet/executions/:executionId/result",
        "GreetInterrupt POST /greet/executions/:executionId/interrupt",
        "GreetResume POST /greet/executions/:executionId/resume",
        "GreetRetry POST /greet/executions/:executionId/retry",
        "GreetRestart POST /greet/executions/:executionId/restart",
        "ExpenseExecute POST /expense/execute",
        "ExpenseStart POST /expense/start",
        "ExpensePoll GET /expense/executions/:executionId",
        "ExpenseResult GET /expense/executions/:executionId/result",
        "ExpenseInterrupt POST /expense/executions/:executionId/interrupt",
        "ExpenseResume POST /expense/executions/:executionId/resume",
        "ExpenseRetry POST /expense/executions/:executionId/retry",
        "ExpenseRestart POST /expense/executions/:executionId/restart",
        "DeferredSucceed POST /deferreds/succeed",
        "DeferredFail POST /deferreds/fail",
        "TokenSucceed POST /tokens/succeed",
        "TokenFail POST /tokens/fail",
        "ExecutionStatus GET /executions/:executionId",
        "ListExecutions GET /executions",
        "ExecutionTrace GET /executions/:executionId/trace",
        "Workflows GET /workflows",
        "Versions GET /versions",
        "Purge POST /executions/purge",
        "ChannelSend POST /channels/send",
        "TokenSend POST /tokens/send"
      ]
    )
    assert.deepStrictEqual([...WorkflowProxy.toRpcGroup([Greet], { prefix: "wf." }).requests.keys()], [
      "wf.GreetExecute",
      "wf.GreetStart",
      "wf.GreetPoll",
      "wf.GreetResult",
      "wf.GreetInterrupt",
      "wf.GreetResume",
      "wf.GreetRetry",
      "wf.GreetRestart",
      "wf.DeferredSucceed",
      "wf.DeferredFail",
      "wf.TokenSucceed",
      "wf.TokenFail",
      "wf.ExecutionStatus",
      "wf.ListExecutions",
      "wf.ExecutionTrace",
      "wf.Workflows",
      "wf.Versions",
      "wf.Purge",
      "wf.ChannelSend",
      "wf.TokenSend"
    ])
  })
})

describe("examples/approval.ts", () => {
  it("runs the README's curl commands: start, approve with the token, read the result, across a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-approval-"))
    const env = { ...process.env, PORT: "0", WEFT_DB: join(dir, "approval.db"), WEFT_OPERATOR_TOKEN: "operator-secret" }
    const { approve, read, start } = readmeCurls()
    let server = await startExample(env)
    try {
      const run = (command: string, vars: Record<string, string> = {}) =>
        execFileSync("bash", ["-c", command.replaceAll("http://127.0.0.1:3000", server.url)], {
          env: { ...env, ...vars },
          encoding: "utf8"
        })
      const started = JSON.parse(run(start))
      assert.match(started.executionId, /^[0-9a-f]{32}$/)
      // Starting again is the same execution.
      assert.strictEqual(JSON.parse(run(start)).executionId, started.executionId)
      const token = await server.output(/TOKEN=(\S+)/)
      assert.strictEqual(server.lines().filter((l) => l.includes("TOKEN=")).length, 1)

      // The execution is suspended in the SQLite file: a new process serves it, and the token is still valid.
      await server.stop()
      server = await startExample(env)
      const vars = { ID: started.executionId, TOKEN: token }
      assert.strictEqual(run(approve, vars).trim(), "204")
      let result: any
      for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
        result = JSON.parse(run(read, vars))
        if (result.status === "succeeded") break
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      assert.deepStrictEqual(result, {
        executionId: started.executionId,
        status: "succeeded",
        exit: { _tag: "Success", value: "exp-42: 120 approved by grace" }
      })
      // The approver was notified once, before the restart; the second process replayed the journal.
      assert.isFalse(server.lines().some((l) => l.includes("TOKEN=")))
    } finally {
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

// ---------------------------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------------------------

const counter = new Counter()
const secret = "operator-secret"
const operator = { authorization: `Bearer ${secret}` }

const Greet = Workflow.make({
  name: "Greet",
  payload: { name: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ name }) => name
})

const GreetLive = Greet.toLayer(({ name }) =>
  Activity.make({
    name: "greet",
    success: Schema.String,
    execute: Effect.as(counter.bump(`greet:${name}`), `Hello, ${name}`)
  })
)

class Declined extends Schema.TaggedError<Declined>()("Declined", { reason: Schema.String }) {}

const Charge = Workflow.make({
  name: "Charge",
  payload: { id: Schema.String, amount: Schema.Number },
  success: Schema.String,
  error: Declined,
  idempotencyKey: ({ id }) => id
})

const ChargeLive = Charge.toLayer(({ amount, id }) =>
  amount > 100 ? Effect.fail(new Declined({ reason: `${amount} is over the limit` })) : Effect.succeed(`charged ${id}`)
)

class Refused extends Schema.TaggedError<Refused>()("Refused", { reason: Schema.String }) {}

const Approval = DurableDeferred.make("approval", {
  success: Schema.Struct({ approver: Schema.String }),
  error: Refused
})
const Unexposed = DurableDeferred.make("unexposed")

const Expense = Workflow.make({
  name: "Expense",
  payload: { id: Schema.String },
  success: Schema.String,
  error: Refused,
  idempotencyKey: ({ id }) => id
})

const ExpenseLive = Expense.toLayer(({ id }) =>
  Effect.map(DurableDeferred.await(Approval), ({ approver }) => `${id} approved by ${approver}`)
)

class Late extends Schema.TaggedError<Late>()("Late", { reason: Schema.String }) {}

/** Fetch, then settle: declined while `settle.declines` is above zero. Runs counted per step and id. */
const Settle = Workflow.make({
  name: "Settle",
  payload: { id: Schema.String },
  success: Schema.String,
  error: Late,
  idempotencyKey: ({ id }) => id
})

const settle = { declines: 0, runs: new Map<string, number>() }
const ranSettle = (key: string) => Effect.sync(() => void settle.runs.set(key, (settle.runs.get(key) ?? 0) + 1))

const SettleLive = Settle.toLayer(({ id }) =>
  Effect.gen(function* () {
    yield* Activity.make({ name: "fetch", execute: ranSettle(`fetch:${id}`) })
    return yield* Activity.make({
      name: "settle",
      success: Schema.String,
      error: Late,
      execute: Effect.andThen(
        ranSettle(`settle:${id}`),
        Effect.suspend(() => (settle.declines-- > 0 ? Effect.fail(new Late({ reason: "not yet" })) : Effect.succeed(`settled ${id}`)))
      )
    })
  })
)


const Unserved = Workflow.make({ name: "Unserved", payload: { id: Schema.String }, idempotencyKey: ({ id }) => id })

class OperatorAuth extends HttpApiMiddleware.Service<OperatorAuth>()("OperatorAuth", {
  error: HttpApiError.Unauthorized,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

const OperatorAuthLive = Layer.succeed(OperatorAuth, {
  bearer: (httpEffect, { credential }) =>
    Redacted.value(credential) === secret ? httpEffect : Effect.fail(new HttpApiError.Unauthorized())
})

class Api extends HttpApi.make("test")
  .add(
    WorkflowProxy.toHttpApiGroup("workflows", [Greet, Charge, Expense, Settle, LedgerV2], {
      deferreds: [Approval],
      start: "public",
      read: "public",
      publicFailures: true,
      auth: OperatorAuth
    })
  )
  .add(
    WorkflowProxy.toHttpApiGroup("closed", [Greet, Expense, Unserved], {
      deferreds: [Approval],
      start: "public",
      read: "public"
    }).prefix("/closed")
  )
  .add(
    WorkflowProxy.toHttpApiGroup("open", [Expense], {
      deferreds: [Approval],
      start: "public",
      read: "public",
      dangerouslyAllowUnauthenticatedOperatorRoutes: true
    }).prefix("/open")
  )
{}

class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {}) {}

class RpcOperatorAuth extends RpcMiddleware.Service<RpcOperatorAuth>()("RpcOperatorAuth", { error: Unauthorized }) {}

const RpcOperatorAuthLive = Layer.succeed(RpcOperatorAuth, (effect, { headers }) =>
  headers.authorization === operator.authorization ? effect : Effect.fail(new Unauthorized()))

const Rpcs = WorkflowProxy.toRpcGroup([Greet, Charge, Expense, Settle, LedgerV2], {
  deferreds: [Approval],
  start: "public",
  read: "public",
  publicFailures: true,
  auth: RpcOperatorAuth
})
const ClosedRpcs = WorkflowProxy.toRpcGroup([Greet], { prefix: "closed.", start: "public" })

const HttpRoutes = HttpApiBuilder.layer(Api).pipe(
  Layer.provide(
    Layer.mergeAll(
      WorkflowProxyServer.layerHttpApi(Api, "workflows", [Greet, Charge, Expense, Settle, LedgerV2]),
      WorkflowProxyServer.layerHttpApi(Api, "closed", [Greet, Expense, Unserved]),
      WorkflowProxyServer.layerHttpApi(Api, "open", [Expense])
    ).pipe(Layer.provide(OperatorAuthLive))
  )
)

const RpcRoutes = Layer.mergeAll(
  RpcServer.layerHttp({ group: Rpcs, path: "/rpc", protocol: "http" }).pipe(
    Layer.provide(
      WorkflowProxyServer.layerRpcHandlers([Greet, Charge, Expense, Settle, LedgerV2], { deferreds: [Approval] })
    ),
    Layer.provide(RpcOperatorAuthLive)
  ),
  RpcServer.layerHttp({ group: ClosedRpcs, path: "/rpc-closed", protocol: "http" }).pipe(
    Layer.provide(WorkflowProxyServer.layerRpcHandlers([Greet], { prefix: "closed." }))
  )
)

const ServerLive = HttpRouter.serve(Layer.mergeAll(HttpRoutes, RpcRoutes), {
  disableListenLog: true,
  disableLogger: true
}).pipe(
  Layer.merge(Layer.mergeAll(GreetLive, ChargeLive, ExpenseLive, SettleLive, LedgerLive)),
  Layer.provideMerge(Layer.mergeAll(WorkflowEngine.layerMemory, RpcSerialization.layerNdjson, FetchHttpClient.layer)),
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
)

/** Whether an error schema is one the proxy adds itself (a bad body, a denied route, a pending execute, ...). */
const isProxyError = (schema: Schema.Top) =>
  [
    new WorkflowProxy.HttpApiDecodeError({ issues: [], message: "" }),
    new WorkflowProxy.InternalError({ message: "" }),
    new WorkflowProxy.PayloadTooLarge({ message: "" }),
    new WorkflowProxy.UnsupportedMediaType({ message: "" }),
    new WorkflowProxy.RoutesDisabled({ message: "" }),
    new WorkflowProxy.ExecutionPending({ executionId: "", poll: "", message: "" })
  ].some((error) => Schema.is(Schema.toType(schema))(error))

const baseUrl = Effect.map(HttpServer.HttpServer, (server) => HttpServer.formatAddress(server.address))

const apiClient = (token?: string) =>
  Effect.flatMap(baseUrl, (url) =>
    HttpApiClient.make(Api, {
      baseUrl: url,
      ...(token === undefined ? {} : { transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(token)) })
    }))

const rpcClient = <R extends Rpc.Any>(group: RpcGroup.RpcGroup<R>, path: string) =>
  Effect.gen(function* () {
    const url = yield* baseUrl
    const http = HttpClient.mapRequest(yield* HttpClient.HttpClient, HttpClientRequest.prependUrl(`${url}${path}`))
    const protocol = yield* RpcClient.makeProtocolHttp(http)
    return yield* Effect.provideService(RpcClient.make(group), RpcClient.Protocol, protocol)
  })

/** A raw request: status and parsed JSON body (the text when it is not JSON, undefined when empty). */
const request = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  Effect.flatMap(baseUrl, (url) =>
    Effect.promise(async () => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
        ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) })
      })
      const text = await response.text()
      let parsed: any = text === "" ? undefined : text
      try {
        parsed = JSON.parse(text)
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, body: parsed }
    }))

const post = (path: string, body: unknown, headers?: Record<string, string>) => request("POST", path, body, headers)
const get = (path: string) => request("GET", path)

/** Re-polls until the execution is neither running nor suspended. */
const settled = <A extends { readonly status: string }, E, R>(poll: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    let last: A | undefined
    yield* waitUntil(
      Effect.map(poll, (result) => {
        last = result
        return result.status !== "running" && result.status !== "suspended"
      }),
      "execution settled"
    )
    return last!
  })

/** Waits until an execution reports `suspended` over HTTP. */
const suspendedOverHttp = (workflowPath: string, executionId: string) =>
  waitUntil(
    Effect.map(get(`${workflowPath}/executions/${executionId}`), (r) => r.body?.status === "suspended"),
    `${executionId} suspended`
  )

const journal = (executionId: string) =>
  Effect.flatMap(WorkflowEngine.detail(executionId), (detail) =>
    Option.match(detail, {
      onNone: () => Effect.die(new Error(`no execution ${executionId}`)),
      onSome: Effect.succeed
    }))

const exists = (executionId: string) => Effect.map(WorkflowEngine.detail(executionId), Option.isSome)

/** The start, approve and read commands of the README's curl walk-through. */
const readmeCurls = () => {
  const readme = readFileSync(join(root, "README.md"), "utf8")
  const section = readme.slice(readme.indexOf("## Exposing workflows over HTTP and RPC"))
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!
  const commands = block
    .replace(/\\\n\s*/g, "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.startsWith("curl "))
  const find = (needle: string) => {
    const found = commands.find((c) => c.includes(needle))
    assert.isDefined(found, `README curl command with ${needle}`)
    return found!
  }
  return { start: find("/start"), approve: find("/tokens/succeed"), read: find("/executions/$ID") }
}

interface Example {
  readonly url: string
  readonly lines: () => Array<string>
  readonly output: (pattern: RegExp) => Promise<string>
  readonly stop: () => Promise<void>
}

/** Spawns the approval example and waits until it listens. */
const startExample = async (env: NodeJS.ProcessEnv): Promise<Example> => {
  const child: ChildProcess = spawn(process.execPath, ["--conditions=@weft/source", "--import", "tsx", join(root, "examples", "approval.ts")], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (chunk) => (stdout += chunk))
  child.stderr!.on("data", (chunk) => (stderr += chunk))
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const output = async (pattern: RegExp) => {
    for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
      const match = pattern.exec(stdout)
      if (match !== null) return match[1]!
      if (child.exitCode !== null) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    throw new Error(`the example never printed ${pattern}:\n${stdout}\n${stderr}`)
  }
  const url = await output(/listening on (http:\/\/\S+)/)
  return {
    url,
    lines: () => stdout.split("\n"),
    output,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM")
      await exited
    }
  }
}
