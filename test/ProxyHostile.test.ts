/**
 * @weft/proxy against hostile callers, on a real server (127.0.0.1, port 0): a fuzz corpus of bad bodies, paths
 * and tokens (no 5xx, every 4xx a JSON message, nothing written), route policies (denied by default, public polls
 * without failure details, status only for the group's workflows), token-only completion, its 409 and an expired
 * token's 403, HTTP hygiene (415, 413, bounded execute, store errors redacted), and the engine's signing-key checks.
 */
import { createHmac } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import { WorkflowProxy, WorkflowProxyServer } from "@weft/proxy"
import {
  DurableDeferred,
  MemoryStore,
  Workflow,
  WorkflowEngine,
  WorkflowError,
  WorkflowStore
} from "@weft/workflow"
import { Cause, Effect, Exit, Layer, Logger, Option, Redacted, Schema } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiMiddleware, HttpApiSecurity } from "effect/http-api"
import { type Rpc, RpcClient, type RpcGroup, RpcSerialization, RpcServer } from "effect/rpc"
import { TestClock } from "effect/testing"
import * as Fiber from "effect/Fiber"
import * as Engine from "../packages/workflow/src/internal/engine.js"
import { waitUntil } from "./util.js"

layer(Layer.suspend(() => ServerLive), { excludeTestServices: true })("WorkflowProxy against hostile callers", (it) => {
  it.effect("answers a fuzz corpus with no 5xx, a JSON message on every 4xx, nothing written, and stays up", () =>
    Effect.gen(function* () {
      const { body } = yield* post("/expense/start", { id: "fuzz-target" })
      const target: string = body.executionId
      yield* suspended(target)
      const token = yield* DurableDeferred.tokenFor(Approval, { workflow: "Expense", executionId: target })
      const otherDeferred = yield* DurableDeferred.tokenFor(Unexposed, { workflow: "Expense", executionId: target })
      const [, keyId, claims] = token.split(".")
      const forged = `v2.${keyId}.${claims}.${createHmac("sha256", "guessed-key").update(`v2.${keyId}.${claims}`).digest("base64url")}`
      const before = yield* stored()

      const deep = (n: number) => `{"id":${"[".repeat(n)}${"]".repeat(n)}}`
      const bodies: ReadonlyArray<string | Uint8Array> = [
        "",
        "{",
        "{\"id\":",
        "nul",
        "[1,]",
        "}{",
        "{\"id\":\"x\"}}",
        "\"\\u0000",
        "[]",
        "null",
        "1",
        "\"text\"",
        "{\"id\":1,\"amount\":\"x\"}",
        "{\"id\":[],\"amount\":{}}",
        JSON.stringify({ id: "huge", amount: "9".repeat(1_000_000) }),
        JSON.stringify({ id: 7, amount: 1, ["k".repeat(100_000)]: "v".repeat(100_000) }),
        deep(100_000),
        deep(65),
        `{"id":"x","amount":${"[".repeat(100_000)}`,
        JSON.stringify({ id: { "\u0000": "\ud800" }, amount: 1 }),
        JSON.stringify({ "\ud800": 1, id: ["\udfff"], amount: "\u0000" }),
        new Uint8Array([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]),
        new Uint8Array([0xff, 0xfe, 0x00, 0x7b])
      ]
      const routes = ["/charge/start", "/charge/execute", "/greet/start", "/greet/execute"]
      const responses: Array<readonly [string, Answer]> = []
      for (const route of routes) {
        for (const body of bodies) responses.push([`${route} ${describeBody(body)}`, yield* send("POST", route, body)])
      }
      const tokenBodies: ReadonlyArray<unknown> = [
        { token: forged, value: { approver: "mallory" } },
        { token: `${token}x`, value: { approver: "mallory" } },
        { token: token.replace(/^v2\.[^.]*\./, "v1."), value: { approver: "mallory" } },
        { token: token.replace(/^v2\.[^.]*\./, "v2.unknown-key."), value: { approver: "mallory" } },
        { token: token.replace("v2.", "v3."), value: { approver: "mallory" } },
        { token: "v1..", value: { approver: "mallory" } },
        { token: "v2...", value: { approver: "mallory" } },
        { token: "x".repeat(5_000), value: { approver: "mallory" } },
        { token: "\u0000\ud800", value: { approver: "mallory" } },
        { token: 42, value: { approver: "mallory" } },
        { token, value: { approver: 7 } },
        { token, value: { approver: 7 }, extra: deepValue(60) },
        { token, value: deepValue(70) },
        { token, error: { reason: 1 } },
        { token: otherDeferred, value: null },
        {}
      ]
      for (const route of ["/tokens/succeed", "/tokens/fail", "/deferreds/succeed", "/deferreds/fail"]) {
        for (const value of tokenBodies) {
          responses.push([`${route} ${describeBody(value)}`, yield* post(route, value, operator)])
        }
      }
      const paths = [
        "/greet/executions/%00",
        "/greet/executions/%ED%A0%80",
        `/greet/executions/${"a".repeat(10_000)}`,
        "/greet/executions/a%20b",
        "/executions/%F0%9F%92%A9",
        "/executions/..%2F..%2Fetc",
        `/expense/executions/${target}/interrupt`,
        "/greet/start",
        "/nope",
        // The list, result and discovery routes: bad filters, repeated keys, bad waits, bad ids.
        "/executions?limit=0",
        "/executions?limit=501",
        "/executions?limit=abc",
        "/executions?limit=1&limit=2",
        "/executions?limit=1e3",
        "/executions?status=bogus",
        "/executions?status=",
        "/executions?workflow=Other",
        "/executions?workflow=%00%ED%A0%80",
        `/executions?workflow=${"w".repeat(10_000)}`,
        "/executions?cursor=garbage",
        `/executions?cursor=${"9".repeat(20)}:x`,
        "/executions?cursor=1:%00",
        "/executions?createdAfter=-1",
        "/executions?createdBefore=1.5",
        `/executions?createdAfter=${"9".repeat(30)}`,
        "/executions?createdAfter=1&createdAfter=2&createdAfter=3",
        "/executions?parent=%00",
        `/executions?parent=${"p".repeat(300)}`,
        "/executions?parent=a%20b",
        "/executions?parent=a&parent=b",
        "/executions?idempotencyKeyPrefix=",
        "/executions?idempotencyKeyPrefix=%00",
        `/executions?idempotencyKeyPrefix=${"k".repeat(2_000)}`,
        "/executions?idempotencyKeyPrefix=a&idempotencyKeyPrefix=b",
        "/executions?version=0",
        "/executions?version=-1",
        "/executions?version=abc",
        "/executions?version=1.5",
        "/executions?version=1e3",
        "/executions?version=",
        "/executions?version=2147483648",
        `/executions?version=${"9".repeat(30)}`,
        "/executions?version=1&version=2",
        "/versions?workflow=Other",
        "/versions?workflow=%00%ED%A0%80",
        `/versions?workflow=${"w".repeat(10_000)}`,
        "/versions?workflow=Greet&workflow=Charge",
        `/expense/executions/${target}/result?timeoutMs=-1`,
        `/expense/executions/${target}/result?timeoutMs=abc`,
        `/expense/executions/${target}/result?timeoutMs=1.5`,
        `/expense/executions/${target}/result?timeoutMs=${"9".repeat(40)}`,
        `/expense/executions/${target}/result?timeoutMs=1&timeoutMs=2`,
        `/greet/executions/${target}/result?timeoutMs=0`,
        "/greet/executions/%00/result",
        `/greet/executions/${"a".repeat(10_000)}/result`,
        "/expense/executions/does-not-exist/result?timeoutMs=0",
        "/workflows/%00",
        "/executions/%00/trace",
        `/executions/${"t".repeat(10_000)}/trace`,
        "/executions/does-not-exist/trace"
      ]
      for (const path of paths) {
        responses.push([`GET ${path.slice(0, 60)}`, yield* send("GET", path)])
        responses.push([`POST ${path.slice(0, 60)}`, yield* send("POST", path, "{}")])
      }
      // Operator routes with the operator's credentials: every body bad, or the target live (a restart or retry of a
      // suspended execution is refused), so nothing is written.
      const operatorBodies: ReadonlyArray<string | Uint8Array> = [
        ...bodies,
        "{}",
        JSON.stringify({ fromStep: "x".repeat(2_000) }),
        JSON.stringify({ fromStep: "" }),
        JSON.stringify({ fromStep: "nope", idempotencyKey: 7 }),
        JSON.stringify({ version: 0 }),
        JSON.stringify({ version: -1 }),
        JSON.stringify({ version: 1.5 }),
        JSON.stringify({ version: "2" }),
        JSON.stringify({ version: 2 ** 31 }),
        JSON.stringify({ version: null }),
        JSON.stringify({ version: 2 }),
        JSON.stringify({ olderThanMs: 1.5 }),
        JSON.stringify({ olderThanMs: -1 }),
        JSON.stringify({ olderThanMs: "0" }),
        JSON.stringify({ olderThanMs: 0, status: ["running"] }),
        JSON.stringify({ olderThanMs: 0, status: ["failed", "failed", "failed", "failed"] }),
        JSON.stringify({ olderThanMs: 0, status: "failed" })
      ]
      for (const route of [`/expense/executions/${target}/restart`, `/expense/executions/${target}/retry`, "/executions/purge"]) {
        for (const body of operatorBodies) {
          responses.push([`${route} ${describeBody(body)} (operator)`, yield* send("POST", route, body, operator)])
        }
      }
      for (const contentType of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""]) {
        const answer = yield* send("POST", "/greet/start", "{\"name\":\"form\"}", { "content-type": contentType })
        assert.strictEqual(answer.status, 415, contentType)
        responses.push([`content-type ${contentType}`, answer])
      }

      for (const [label, answer] of responses) {
        assert.isBelow(answer.status, 500, `${label}: ${answer.status} ${answer.text.slice(0, 200)}`)
        assert.isAtLeast(answer.status, 400, `${label} was accepted: ${answer.text.slice(0, 200)}`)
        assert.isString(answer.body?.message, `${label}: ${answer.status} without a JSON message: ${answer.text}`)
        assert.isAbove(answer.body.message.length, 0, label)
      }
      // A bad filter or wait is the caller's mistake, named: a 400 whose `field` says which.
      for (const [label, answer] of responses) {
        if (/^GET \/executions\?|^GET \/versions\?|^GET \/expense\/executions\/[0-9a-f]{32}\/result\?/.test(label)) {
          assert.strictEqual(answer.status, 400, `${label}: ${answer.text.slice(0, 200)}`)
          assert.isString(answer.body.field, label)
        }
      }
      const deepAnswer = responses.find(([label]) => label.startsWith("/charge/start deep"))![1]
      assert.strictEqual(deepAnswer.status, 400)
      assert.match(deepAnswer.body.message, /deeper than 64/)

      // Nothing written: no new execution, no completion of the target's deferred, no signal in its journal.
      assert.deepStrictEqual(yield* stored(), before)
      const detail = yield* journal(target)
      assert.deepStrictEqual(detail.deferreds, [])
      assert.strictEqual(detail.execution.status, "suspended")
      // The server still answers a good request.
      const good = yield* post("/greet/start", { name: "after the storm" })
      assert.strictEqual(good.status, 202)
      assert.strictEqual(good.body.executionId, Workflow.executionIdFor("Greet", "after the storm"))
    }))

  it.effect("accepts brackets in strings, NUL and lone surrogates where the schema allows them, without a 5xx", () =>
    Effect.gen(function* () {
      // Brackets inside strings (an escaped quote included) are not nesting.
      const brackets = yield* post("/greet/start", { name: `a\\"${"[{".repeat(100)}` })
      assert.strictEqual(brackets.status, 202, brackets.text)
      for (const name of ["nul\u0000inside", "lone\ud800surrogate", "\udfff", "emoji 💩"]) {
        const answer = yield* post("/greet/start", { name })
        assert.isBelow(answer.status, 500, `${JSON.stringify(name)}: ${answer.text}`)
        if (answer.status >= 400) assert.isString(answer.body?.message, answer.text)
      }
    }))

  it.effect("answers 413 for a body over the limit, by Content-Length or while reading a chunked one", () =>
    Effect.gen(function* () {
      const big = JSON.stringify({ id: "big", amount: 1, pad: "x".repeat(5 * 1024 * 1024) })
      const declared = yield* send("POST", "/charge/start", big)
      assert.strictEqual(declared.status, 413)
      assert.strictEqual(declared.body._tag, "PayloadTooLarge")
      assert.match(declared.body.message, /4194304 bytes/)
      // Small limit (64 KiB) on the "small" group; a chunked body sends no Content-Length.
      const url = yield* baseUrl
      const chunked = yield* Effect.promise(async () => {
        const chunk = new TextEncoder().encode(`{"id":"chunked","pad":"${"y".repeat(16 * 1024)}`)
        let sent = 0
        const stream = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent++ < 16) controller.enqueue(chunk)
            else {
              controller.enqueue(new TextEncoder().encode("\"}"))
              controller.close()
            }
          }
        })
        const response = await fetch(`${url}/small/charge/start`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: stream,
          duplex: "half"
        } as RequestInit)
        return { status: response.status, body: (await response.json()) as any }
      })
      assert.strictEqual(chunked.status, 413)
      assert.strictEqual(chunked.body._tag, "PayloadTooLarge")
      assert.isFalse(yield* exists(Workflow.executionIdFor("Charge", "chunked")))
      assert.isFalse(yield* exists(Workflow.executionIdFor("Charge", "big")))
    }))

  it.effect("denies every class of routes without a policy, with a JSON message", () =>
    Effect.gen(function* () {
      const id = Workflow.executionIdFor("Greet", "closed")
      for (
        const [method, path] of [
          ["POST", "/closed/greet/start"],
          ["POST", "/closed/greet/execute"],
          ["GET", `/closed/greet/executions/${id}`],
          ["GET", `/closed/executions/${id}`],
          ["GET", `/closed/greet/executions/${id}/result`],
          ["GET", "/closed/executions"],
          ["GET", `/closed/executions/${id}/trace`],
          ["GET", "/closed/workflows"],
          ["GET", "/closed/versions"],
          ["POST", `/closed/greet/executions/${id}/interrupt`],
          ["POST", `/closed/greet/executions/${id}/retry`],
          ["POST", `/closed/greet/executions/${id}/restart`],
          ["POST", "/closed/executions/purge"]
        ] as const
      ) {
        const answer = yield* send(method, path, method === "POST" ? JSON.stringify({ name: "closed" }) : undefined)
        assert.strictEqual(answer.status, 403, path)
        assert.include(["RoutesDisabled", "OperatorRoutesDisabled"], answer.body._tag)
        assert.isString(answer.body.message)
      }
      assert.isFalse(yield* exists(id))
      const rpc = yield* rpcClient(ClosedRpcs, "/rpc-closed")
      const denied = yield* Effect.flip(rpc.GreetStart({ name: "closed" }))
      assert.instanceOf(denied, WorkflowProxy.RoutesDisabled)
      const deniedPoll = yield* Effect.flip(rpc.GreetPoll({ executionId: id }))
      assert.instanceOf(deniedPoll, WorkflowProxy.RoutesDisabled)
      assert.instanceOf(yield* Effect.flip(rpc.GreetResult({ executionId: id })), WorkflowProxy.RoutesDisabled)
      assert.instanceOf(yield* Effect.flip(rpc.ListExecutions({})), WorkflowProxy.RoutesDisabled)
      assert.instanceOf(yield* Effect.flip(rpc.Workflows()), WorkflowProxy.RoutesDisabled)
      assert.instanceOf(yield* Effect.flip(rpc.Versions({})), WorkflowProxy.RoutesDisabled)
      assert.isFalse(yield* exists(id))
    }))

  it.effect("guards start and read with their own middleware: 401 without the client's credentials", () =>
    Effect.gen(function* () {
      const noCredentials = yield* post("/guarded/greet/start", { name: "guarded" })
      assert.strictEqual(noCredentials.status, 401)
      assert.isString(noCredentials.body.message)
      // The operator's credentials are not the client's.
      assert.strictEqual((yield* post("/guarded/greet/start", { name: "guarded" }, operator)).status, 401)
      assert.isFalse(yield* exists(Workflow.executionIdFor("Greet", "guarded")))
      const started = yield* post("/guarded/greet/start", { name: "guarded" }, client)
      assert.strictEqual(started.status, 202)
      const path = `/guarded/greet/executions/${started.body.executionId}`
      assert.strictEqual((yield* send("GET", path)).status, 401)
      yield* waitUntil(
        Effect.map(send("GET", path, undefined, client), (a) => a.body?.status === "succeeded"),
        "guarded greet succeeded"
      )
    }))

  it.effect("a public poll hides failure details; a guarded one and an opted-in public one show them", () =>
    Effect.gen(function* () {
      const { body } = yield* post("/charge/start", { id: "c-secret", amount: 500 })
      const executionId: string = body.executionId
      const publicPoll = `/charge/executions/${executionId}`
      yield* waitUntil(Effect.map(send("GET", publicPoll), (a) => a.body?.status === "failed"), "charge failed")
      const hidden = yield* send("GET", publicPoll)
      assert.deepStrictEqual(hidden.body, { executionId, status: "failed" })
      assert.notInclude(hidden.text, "over the limit")
      const guarded = yield* send("GET", `/guarded/charge/executions/${executionId}`, undefined, client)
      assert.strictEqual(guarded.body.exit.cause.error.reason, "500 is over the limit")
      const optedIn = yield* send("GET", `/small/charge/executions/${executionId}`)
      assert.strictEqual(optedIn.body.exit.cause.error.reason, "500 is over the limit")
      // Over RPC, the public poll hides it too.
      const rpc = yield* rpcClient(Rpcs, "/rpc")
      const polled = yield* rpc.ChargePoll({ executionId })
      assert.strictEqual(polled.status, "failed")
      assert.isUndefined(polled.exit)
    }))

  it.effect("answers status by id only for the group's own workflows: another's id is a 404 without its data", () =>
    Effect.gen(function* () {
      const { body } = yield* post("/charge/start", { id: "c-other", amount: 1 })
      const executionId: string = body.executionId
      const own = yield* send("GET", `/executions/${executionId}`)
      assert.strictEqual(own.body.workflow, "Charge")
      const foreign = yield* send("GET", `/guarded/executions/${executionId}`, undefined, client)
      assert.strictEqual(foreign.status, 200) // Charge is in the guarded group too
      const other = yield* send("GET", `/other/executions/${executionId}`)
      assert.strictEqual(other.status, 404)
      assert.strictEqual(other.body.reason, "ExecutionNotFound")
      assert.notInclude(other.text, "Charge")
      const missing = yield* send("GET", "/other/executions/does-not-exist")
      assert.deepStrictEqual(Object.keys(missing.body).sort(), Object.keys(other.body).sort())
    }))

  it.effect("completes a deferred by token alone; a second completion is a 409 with a message, and changes nothing", () =>
    Effect.gen(function* () {
      const { body } = yield* post("/expense/start", { id: "e-token-only" })
      const executionId: string = body.executionId
      yield* suspended(executionId)
      const token = yield* DurableDeferred.tokenFor(Approval, { workflow: "Expense", executionId })
      const first = yield* post("/tokens/succeed", { token, value: { approver: "grace" } })
      assert.strictEqual(first.status, 204)
      const again = yield* post("/tokens/succeed", { token, value: { approver: "mallory" } })
      assert.strictEqual(again.status, 409)
      assert.strictEqual(again.body._tag, "DeferredAlreadyCompleted")
      assert.match(again.body.message, /completed before/)
      const asOperator = yield* post("/deferreds/fail", { token, error: { _tag: "Refused", reason: "late" } }, operator)
      assert.strictEqual(asOperator.status, 409)
      yield* waitUntil(
        Effect.map(send("GET", `/expense/executions/${executionId}`), (a) => a.body?.status === "succeeded"),
        "expense approved"
      )
      const result = yield* send("GET", `/expense/executions/${executionId}`)
      assert.strictEqual(result.body.exit.value, "e-token-only approved by grace")
      // Over RPC: the same, typed.
      const rpc = yield* rpcClient(Rpcs, "/rpc")
      const typed = yield* Effect.flip(rpc.TokenSucceed({ token, value: { approver: "rpc" } }))
      assert.instanceOf(typed, WorkflowProxy.DeferredAlreadyCompleted)
    }))

  it.effect("answers an expired token with a 403 and a JSON message saying when it expired, and writes nothing", () =>
    Effect.gen(function* () {
      const { body } = yield* post("/expense/start", { id: "e-expired" })
      const executionId: string = body.executionId
      yield* suspended(executionId)
      // Minted at the test clock's epoch with an hour to live: long expired by the server's clock.
      const token = yield* DurableDeferred.tokenFor(Approval, { workflow: "Expense", executionId, expiresIn: "1 hour" }).pipe(
        Effect.provide(TestClock.layer())
      )
      for (const [route, value, headers] of [
        ["/tokens/succeed", { token, value: { approver: "late" } }, {}],
        ["/deferreds/fail", { token, error: { _tag: "Refused", reason: "late" } }, operator]
      ] as const) {
        const answer = yield* post(route, value, headers)
        assert.strictEqual(answer.status, 403, route)
        assert.strictEqual(answer.body.reason, "InvalidToken")
        assert.strictEqual(answer.body.message, "The deferred token is rejected: it expired at 1970-01-01T01:00:00.000Z")
      }
      const rpc = yield* rpcClient(Rpcs, "/rpc")
      const typed = yield* Effect.flip(rpc.TokenSucceed({ token, value: { approver: "rpc" } }))
      assert.instanceOf(typed, WorkflowError.WorkflowError)
      const detail = yield* journal(executionId)
      assert.deepStrictEqual(detail.deferreds, [])
      assert.isFalse(detail.events.some((e) => e.kind.startsWith("signal")))
      assert.strictEqual(detail.execution.status, "suspended")
    }))

  it.effect("execute answers 202 with the execution id and its poll path once the wait is over", () =>
    Effect.gen(function* () {
      const answer = yield* post("/small/expense/execute", { id: "e-slow" })
      assert.strictEqual(answer.status, 202)
      assert.strictEqual(answer.body._tag, "ExecutionPending")
      assert.strictEqual(answer.body.executionId, Workflow.executionIdFor("Expense", "e-slow"))
      assert.strictEqual(answer.body.poll, `/small/expense/executions/${answer.body.executionId}`)
      const polled = yield* send("GET", answer.body.poll)
      assert.include(["running", "suspended"], polled.body.status)
    }))

  it.effect("lists only the group's executions, filtered, page by page with a cursor", () =>
    Effect.gen(function* () {
      const names = ["list-a", "list-b", "list-c", "list-d", "list-e"]
      const ids = new Set<string>()
      for (const name of names) ids.add((yield* post("/greet/start", { name })).body.executionId)
      yield* waitUntil(
        Effect.map(send("GET", "/executions?workflow=Greet&status=succeeded&limit=500"), (a) =>
          [...ids].every((id) => a.body.items.some((e: any) => e.executionId === id))),
        "the greets succeeded"
      )
      // Two at a time, newest first, following the cursor: every page is the group's, no execution twice.
      const seen: Array<string> = []
      let cursor: string | undefined
      for (let pages = 0; pages < 1_000; pages++) {
        const query = `/executions?workflow=Greet&limit=2${cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`}`
        const answer = yield* send("GET", query)
        assert.strictEqual(answer.status, 200, answer.text)
        assert.isAtMost(answer.body.items.length, 2)
        for (const item of answer.body.items) {
          assert.strictEqual(item.workflow, "Greet")
          seen.push(item.executionId)
        }
        cursor = answer.body.nextCursor
        if (cursor === undefined) break
      }
      assert.strictEqual(new Set(seen).size, seen.length)
      for (const id of ids) assert.include(seen, id)
      const times = yield* Effect.forEach(seen, (id) => Effect.map(journal(id), (d) => d.execution.createdAt))
      assert.deepStrictEqual(times, [...times].sort((a, b) => b - a))

      // Without a workflow, the group's workflows only: the "other" group sees none of these.
      const all = yield* send("GET", "/executions?limit=500")
      assert.isTrue(all.body.items.every((e: any) => ["Greet", "Charge", "Expense"].includes(e.workflow)))
      const other = yield* send("GET", "/other/executions?limit=500")
      assert.strictEqual(other.status, 200)
      assert.deepStrictEqual(other.body.items, [])
      const later = yield* send("GET", `/executions?workflow=Greet&createdAfter=${Number.MAX_SAFE_INTEGER - 1}`)
      assert.deepStrictEqual(later.body, { items: [] })
      const bad = yield* send("GET", "/executions?workflow=Other")
      assert.strictEqual(bad.status, 400)
      assert.strictEqual(bad.body.field, "workflow")
      assert.match(bad.body.message, /Greet, Charge, Expense/)
      // Over RPC, the same filters, typed, and the same checks.
      const rpc = yield* rpcClient(Rpcs, "/rpc")
      const page = yield* rpc.ListExecutions({ limit: 500 })
      assert.isTrue(page.items.every((e) => e.workflow === "Charge"))
      const refused = yield* Effect.flip(rpc.ListExecutions({ limit: 0 }))
      assert.strictEqual(refused instanceof WorkflowError.WorkflowError && refused.field, "limit")
    }))

  it.effect("long-polls a result: 202 while it runs, then the exit; failures only where the read policy shows them", () =>
    Effect.gen(function* () {
      const { body } = yield* post("/expense/start", { id: "e-result" })
      const executionId: string = body.executionId
      yield* suspended(executionId)
      const path = `/expense/executions/${executionId}/result`
      const pending = yield* send("GET", `${path}?timeoutMs=0`)
      assert.strictEqual(pending.status, 202)
      assert.strictEqual(pending.body._tag, "ExecutionPending")
      assert.strictEqual(pending.body.poll, path)

      const waiting = yield* Effect.forkChild(send("GET", `${path}?timeoutMs=60000`))
      const engine = Engine.of(yield* WorkflowEngine.WorkflowEngine)
      yield* waitUntil(Effect.sync(() => engine.results.has(executionId)), "the long-poll waits")
      const token = yield* DurableDeferred.tokenFor(Approval, { workflow: "Expense", executionId })
      assert.strictEqual((yield* post("/tokens/succeed", { token, value: { approver: "ada" } })).status, 204)
      const done = yield* Fiber.join(waiting)
      assert.strictEqual(done.status, 200, done.text)
      assert.deepStrictEqual(done.body, {
        executionId,
        status: "succeeded",
        exit: { _tag: "Success", value: "e-result approved by ada" }
      })
      assert.deepStrictEqual(engine.results.ids(), [])

      const charged = yield* post("/charge/start", { id: "c-result", amount: 900 })
      const failed: string = charged.body.executionId
      const hidden = yield* send("GET", `/charge/executions/${failed}/result`)
      assert.deepStrictEqual(hidden.body, { executionId: failed, status: "failed" })
      const shown = yield* send("GET", `/guarded/charge/executions/${failed}/result`, undefined, client)
      assert.strictEqual(shown.body.exit.cause.error.reason, "900 is over the limit")
      assert.strictEqual((yield* send("GET", `/other/other/executions/${failed}/result?timeoutMs=0`)).status, 404)
      const rpc = yield* rpcClient(Rpcs, "/rpc")
      const overRpc = yield* rpc.ChargeResult({ executionId: failed, timeoutMs: 10 })
      assert.strictEqual(overRpc.status, "failed")
      assert.isUndefined(overRpc.exit)
      const notFound = yield* Effect.flip(rpc.ChargeResult({ executionId: "0".repeat(32) }))
      assert.strictEqual(notFound instanceof WorkflowError.WorkflowError && notFound.reason, "ExecutionNotFound")
    }))

  it.effect("lists the group's workflows with their JSON Schemas", () =>
    Effect.gen(function* () {
      const answer = yield* send("GET", "/workflows")
      assert.strictEqual(answer.status, 200)
      assert.deepStrictEqual(answer.body.workflows.map((w: any) => w.name), ["Greet", "Charge", "Expense"])
      const charge = answer.body.workflows[1]
      assert.deepStrictEqual(charge.payload.schema.required, ["id", "amount"])
      assert.deepStrictEqual(charge.success, { _tag: "JsonSchema", schema: { type: "string" } })
      assert.strictEqual(charge.error.schema.$defs[charge.error.schema.$ref.split("/").pop()].properties._tag.enum[0], "Declined")
      const other = yield* send("GET", "/other/workflows")
      assert.deepStrictEqual(other.body.workflows.map((w: any) => w.name), ["Other"])
      const rpc = yield* rpcClient(Rpcs, "/rpc")
      assert.deepStrictEqual((yield* rpc.Workflows()).workflows.map((w) => w.name), ["Charge"])
    }))

  it.effect("answers a store failure with a generic message: no database URL or driver text reaches the caller", () =>
    Effect.gen(function* () {
      for (const path of [`/greet/executions/${brokenId}`, `/executions/${brokenId}`]) {
        const answer = yield* send("GET", path)
        assert.strictEqual(answer.status, 503, path)
        assert.strictEqual(answer.body.reason, "StoreUnavailable")
        assert.isString(answer.body.message)
        assert.notInclude(answer.text, "hunter2")
        assert.notInclude(answer.text, "postgres://")
      }
      assert.isTrue(logged.some((line) => line.includes("hunter2")), "the cause is logged")
    }))
})

describe("the engine's signing key", () => {
  it.effect("refuses a key shorter than 32 bytes at construction, naming the option", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Effect.scoped(Layer.build(WorkflowEngine.layerMemoryWith({ signingKey: "short" }))))
      assert.isTrue(Exit.isFailure(exit))
      const message = Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
      assert.match(message, /signingKey.*5 bytes.*at least 32 bytes/s)
      const bytes = yield* Effect.exit(
        Effect.scoped(Layer.build(WorkflowEngine.layerMemoryWith({ signingKey: new Uint8Array(31) })))
      )
      assert.isTrue(Exit.isFailure(bytes))
      const ok = yield* Effect.exit(
        Effect.scoped(Layer.build(WorkflowEngine.layerMemoryWith({ signingKey: "k".repeat(32) })))
      )
      assert.isTrue(Exit.isSuccess(ok))
    }))

  it.effect("warns at start when the key comes from the store's own table, not when it is configured", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "weft-key-"))
      try {
        const warnings = (options: { readonly signingKey?: string }) =>
          Effect.gen(function* () {
            const logs: Array<string> = []
            const logger = Logger.make(({ logLevel, message }) => {
              if (logLevel === "Warn") logs.push(String(Array.isArray(message) ? message.join(" ") : message))
            })
            yield* Effect.scoped(
              Layer.build(SqliteEngine.layer({ filename: join(dir, "key.db"), ...options })).pipe(
                Effect.provide(Logger.layer([logger]))
              )
            )
            return logs
          })
        const fromTable = yield* warnings({})
        assert.isTrue(fromTable.some((line) => /signingKey/.test(line) && /weft_meta/.test(line)), fromTable.join("\n"))
        const configured = yield* warnings({ signingKey: "a-secret-of-at-least-32-bytes-long!" })
        assert.isFalse(configured.some((line) => /signingKey/.test(line)), configured.join("\n"))
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }))
})

// ---------------------------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------------------------

const operatorSecret = "operator-secret"
const clientSecret = "client-secret"
const operator = { authorization: `Bearer ${operatorSecret}` }
const client = { authorization: `Bearer ${clientSecret}` }
const brokenId = "broken-store-id"

const Greet = Workflow.make({
  name: "Greet",
  payload: { name: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ name }) => name
})
const GreetLive = Greet.toLayer(({ name }) => Effect.succeed(`Hello, ${name}`))

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

const Other = Workflow.make({ name: "Other", payload: { id: Schema.String }, idempotencyKey: ({ id }) => id })

class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  { message: Schema.String },
  { httpApiStatus: 401 }
) {}

const bearer = (secret: string) => ({
  bearer: (httpEffect: any, { credential }: { readonly credential: Redacted.Redacted<string> }) =>
    Redacted.value(credential) === secret
      ? httpEffect
      : Effect.fail(new Unauthorized({ message: "Expected Authorization: Bearer <secret>" }))
})

class OperatorAuth extends HttpApiMiddleware.Service<OperatorAuth>()("OperatorAuth", {
  error: Unauthorized,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

class ClientAuth extends HttpApiMiddleware.Service<ClientAuth>()("ClientAuth", {
  error: Unauthorized,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

class Api extends HttpApi.make("hostile")
  .add(
    WorkflowProxy.toHttpApiGroup("workflows", [Greet, Charge, Expense], {
      deferreds: [Approval],
      start: "public",
      read: "public",
      auth: OperatorAuth
    })
  )
  .add(WorkflowProxy.toHttpApiGroup("closed", [Greet]).prefix("/closed"))
  .add(
    WorkflowProxy.toHttpApiGroup("guarded", [Greet, Charge], { start: ClientAuth, read: ClientAuth }).prefix(
      "/guarded"
    )
  )
  .add(
    WorkflowProxy.toHttpApiGroup("small", [Charge, Expense], {
      start: "public",
      read: "public",
      publicFailures: true
    }).prefix("/small")
  )
  .add(WorkflowProxy.toHttpApiGroup("other", [Other], { read: "public" }).prefix("/other"))
{}

const Rpcs = WorkflowProxy.toRpcGroup([Charge], { deferreds: [Approval], start: "public", read: "public" })
const ClosedRpcs = WorkflowProxy.toRpcGroup([Greet])

const HttpRoutes = HttpApiBuilder.layer(Api).pipe(
  Layer.provide(
    Layer.mergeAll(
      WorkflowProxyServer.layerHttpApi(Api, "workflows", [Greet, Charge, Expense]),
      WorkflowProxyServer.layerHttpApi(Api, "closed", [Greet]),
      WorkflowProxyServer.layerHttpApi(Api, "guarded", [Greet, Charge]),
      WorkflowProxyServer.layerHttpApi(Api, "small", [Charge, Expense], {
        maxBodyBytes: 64 * 1024,
        executeTimeout: "100 millis"
      }),
      WorkflowProxyServer.layerHttpApi(Api, "other", [Other])
    ).pipe(
      Layer.provide(Layer.succeed(OperatorAuth, bearer(operatorSecret))),
      Layer.provide(Layer.succeed(ClientAuth, bearer(clientSecret)))
    )
  )
)

const RpcRoutes = Layer.mergeAll(
  RpcServer.layerHttp({ group: Rpcs, path: "/rpc", protocol: "http" }).pipe(
    Layer.provide(WorkflowProxyServer.layerRpcHandlers([Charge], { deferreds: [Approval] }))
  ),
  RpcServer.layerHttp({ group: ClosedRpcs, path: "/rpc-closed", protocol: "http" }).pipe(
    Layer.provide(WorkflowProxyServer.layerRpcHandlers([Greet]))
  )
)

/** A memory store whose reads of one id fail as a database would, with a URL and a password in the message. */
const BrokenStore = Layer.sync(WorkflowStore.WorkflowStore, () => {
  const store = MemoryStore.make()
  return {
    ...store,
    get: (executionId: string) =>
      executionId === brokenId
        ? Effect.fail(
          new WorkflowError.WorkflowError({
            reason: "StoreUnavailable",
            message: "connect ECONNREFUSED postgres://weft:hunter2@db.internal:5432/prod"
          })
        )
        : store.get(executionId)
  }
})

/** What the proxy logged: the causes it keeps from callers. */
const logged: Array<string> = []

const ServerLive = HttpRouter.serve(Layer.mergeAll(HttpRoutes, RpcRoutes, WorkflowProxyServer.layerNotFound), {
  disableListenLog: true,
  disableLogger: true
}).pipe(
  Layer.merge(Layer.mergeAll(GreetLive, ChargeLive, ExpenseLive)),
  Layer.provideMerge(
    Layer.mergeAll(
      WorkflowEngine.layer().pipe(Layer.provideMerge(BrokenStore), Layer.orDie),
      RpcSerialization.layerNdjson,
      FetchHttpClient.layer
    )
  ),
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.provide(Logger.layer([Logger.make(({ cause, message }) => logged.push(`${message} ${Cause.pretty(cause)}`))]))
)

const baseUrl = Effect.map(HttpServer.HttpServer, (server) => HttpServer.formatAddress(server.address))

interface Answer {
  readonly status: number
  readonly text: string
  readonly body: any
}

/** A raw request: status, text and parsed JSON body (undefined when not JSON). */
const send = (
  method: string,
  path: string,
  body?: string | Uint8Array,
  headers: Record<string, string> = {}
): Effect.Effect<Answer, never, HttpServer.HttpServer> =>
  Effect.flatMap(baseUrl, (url) =>
    Effect.promise(async () => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
        ...(body === undefined ? {} : { body })
      })
      const text = await response.text()
      let parsed: any
      try {
        parsed = JSON.parse(text)
      } catch {
        // not JSON
      }
      return { status: response.status, text, body: parsed }
    }))

const post = (path: string, body: unknown, headers?: Record<string, string>) =>
  send("POST", path, JSON.stringify(body), headers)

const describeBody = (body: unknown): string => {
  const text = body instanceof Uint8Array ? `bytes ${Buffer.from(body).toString("hex")}` : typeof body === "string"
    ? body
    : JSON.stringify(body)
  return text.startsWith("{\"id\":[[[") ? "deep" : text.slice(0, 60)
}

const deepValue = (n: number): unknown => {
  let value: unknown = "leaf"
  for (let i = 0; i < n; i++) value = [value]
  return value
}

const rpcClient = <R extends Rpc.Any>(group: RpcGroup.RpcGroup<R>, path: string) =>
  Effect.gen(function* () {
    const url = yield* baseUrl
    const http = HttpClient.mapRequest(yield* HttpClient.HttpClient, HttpClientRequest.prependUrl(`${url}${path}`))
    const protocol = yield* RpcClient.makeProtocolHttp(http)
    return yield* Effect.provideService(RpcClient.make(group), RpcClient.Protocol, protocol)
  })

/** Every stored execution, as id and status: the store's view, to check that rejected input wrote nothing. */
const stored = () =>
  Effect.map(WorkflowEngine.list({ limit: 1_000 }), (page) =>
    page.items.map((e) => `${e.executionId} ${e.status}`).sort())

const journal = (executionId: string) =>
  Effect.flatMap(WorkflowEngine.detail(executionId), (detail) =>
    Option.match(detail, {
      onNone: () => Effect.die(new Error(`no execution ${executionId}`)),
      onSome: Effect.succeed
    }))

const exists = (executionId: string) => Effect.map(WorkflowEngine.detail(executionId), Option.isSome)

const suspended = (executionId: string) =>
  waitUntil(
    Effect.map(WorkflowEngine.detail(executionId), (d) => Option.isSome(d) && d.value.execution.status === "suspended"),
    `${executionId} suspended`
  )
