/**
 * Durable channels on every engine: messages received in arrival order, kept until a receive, each consumed once
 * (the k-th receive always answers message k), a receive's durable timeout, and bad input that writes nothing.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder } from "effect/http-api"
import { RpcClient, RpcSerialization, RpcServer } from "effect/rpc"
import { TestClock } from "effect/testing"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"
import { PgEngine } from "@weft/engine-sql/pg"
import { WorkflowProxy, WorkflowProxyServer } from "@weft/proxy"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import {
  Activity,
  DurableChannel,
  DurableDeferred,
  Workflow,
  WorkflowEngine,
  WorkflowError,
  type WorkflowStore,
  WorkflowTrace
} from "@weft/workflow"
import { bodyRuns, Chat as CrashChat, ChatMessages } from "./crash/fixtures.js"
import * as Workers from "./crash/workers.js"
import { testDatabase } from "./pg.js"
import { Counter, hasStatus, record, suspended, waitUntil } from "./util.js"

const dir = mkdtempSync(join(tmpdir(), "weft-channels-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
type Engine = Layer.Layer<WorkflowEngine.WorkflowEngine | WorkflowStore.WorkflowStore, unknown>
const engines: ReadonlyArray<readonly [string, () => Engine]> = [
  ["memory", () => WorkflowEngine.layerMemory],
  ["sqlite", () => SqliteEngine.layer({ filename: join(dir, `channels-${n++}.db`) })],
  [
    "postgres",
    () => Layer.unwrap(Effect.map(testDatabase(), (url) => PgEngine.layer({ url, maxConnections: 4 })))
  ]
]

/** The names of an execution's stored channel messages, by index, with their text (or "timed out"). */
const stored = (executionId: string) =>
  Effect.map(record(executionId), (detail) =>
    detail.deferreds
      .filter((d) => d.name.startsWith("@weft/channel/chat/"))
      .map((d) => {
        const exit = d.exit as { readonly _tag: string; readonly value?: { readonly text: string } }
        const index = Number(d.name.slice("@weft/channel/chat/".length))
        return [index, exit._tag === "Success" ? exit.value!.text : exit._tag] as const
      })
      .sort((a, b) => a[0] - b[0]))

const errorOf = <A>(effect: Effect.Effect<A, WorkflowError.WorkflowError, any>) =>
  Effect.map(Effect.exit(effect), (exit) => {
    if (Exit.isSuccess(exit)) return assert.fail(`expected a failure, got ${JSON.stringify(exit.value)}`)
    const error = exit.cause.reasons.find((r) => r._tag === "Fail")
    assert.isDefined(error, "the effect did not fail with an error")
    return (error as { readonly error: WorkflowError.WorkflowError }).error
  })

for (const [engine, layer] of engines) {
  describe(`DurableChannel on ${engine}`, () => {
    const run = <A, E>(effect: Effect.Effect<A, E, any>) =>
      effect.pipe(Effect.provide(Layer.provideMerge(Fixtures, layer()))) as Effect.Effect<A, unknown, never>

    it.effect("receives messages in the order they were sent, each under its own index", () =>
      run(
        Effect.gen(function* () {
          const id = yield* Inbox.execute({ id: `${engine}-order`, count: 3 }, { discard: true })
          yield* suspended(Inbox, id)
          const indices: Array<number> = []
          for (const text of ["a", "b", "c"]) {
            indices.push(yield* DurableChannel.send(Chat, { executionId: id, message: { text } }))
          }
          assert.deepStrictEqual(indices, [1, 2, 3])
          assert.deepStrictEqual(yield* Inbox.execute({ id: `${engine}-order`, count: 3 }), ["a", "b", "c"])
          assert.deepStrictEqual(yield* stored(id), [[1, "a"], [2, "b"], [3, "c"]])
          const trace = WorkflowTrace.fromDetail(yield* record(id))
          const messages = trace.entries.filter((e) => e.kind === "message")
          assert.deepStrictEqual(messages.map((e) => e.kind === "message" ? [e.channel, e.index, e.outcome] : []), [
            ["chat", 1, "success"],
            ["chat", 2, "success"],
            ["chat", 3, "success"]
          ])
        })
      ))

    it.effect("keeps messages sent before anyone receives, and hands them over in order", () =>
      run(
        Effect.gen(function* () {
          const id = yield* Gated.execute({ id: `${engine}-early` }, { discard: true })
          yield* suspended(Gated, id)
          yield* DurableChannel.send(Chat, { executionId: id, message: { text: "first" } })
          const token = yield* DurableChannel.tokenFor(Chat, { workflow: Gated.name, executionId: id })
          yield* DurableChannel.sendByToken(Chat, { token, message: { text: "second" } })
          // Nobody has received yet: the body still waits at its gate.
          assert.deepStrictEqual(yield* stored(id), [[1, "first"], [2, "second"]])
          const gate = yield* DurableDeferred.tokenFor(Gate, { workflow: Gated.name, executionId: id })
          yield* DurableDeferred.succeed(Gate, { token: gate, value: undefined })
          assert.deepStrictEqual(yield* Gated.execute({ id: `${engine}-early` }), ["first", "second"])
        })
      ))

    it.effect("many senders at once: every message stored under its own index and received once, in index order", () =>
      run(
        Effect.gen(function* () {
          const count = 24
          const id = yield* Inbox.execute({ id: `${engine}-many`, count }, { discard: true })
          yield* suspended(Inbox, id)
          const texts = Array.from({ length: count }, (_, i) => `m${i}`)
          const indices = yield* Effect.forEach(
            texts,
            (text) => DurableChannel.send(Chat, { executionId: id, message: { text } }),
            { concurrency: "unbounded" }
          )
          assert.deepStrictEqual([...indices].sort((a, b) => a - b), Array.from({ length: count }, (_, i) => i + 1))
          const received = yield* Inbox.execute({ id: `${engine}-many`, count })
          const byIndex = yield* stored(id)
          assert.deepStrictEqual(received, byIndex.map(([, text]) => text))
          assert.deepStrictEqual([...received].sort(), [...texts].sort())
          // Each message was handled once, by the receive of its index.
          for (const text of texts) assert.strictEqual(counter.get(`${engine}-many:${text}`), 1, text)
        })
      ))

    it.effect("a receive that timed out takes its index: the message sent after it goes to the next receive", () =>
      run(
        Effect.gen(function* () {
          const id = yield* Patient.execute({ id: `${engine}-late` }, { discard: true })
          yield* suspended(Patient, id)
          yield* TestClock.adjust("2 hours")
          // The timeout's marker holds index 1 once the timer fired and the execution waits on its second receive.
          yield* waitUntil(Effect.map(stored(id), (s) => s.length === 1), "the first receive timed out")
          yield* suspended(Patient, id)
          assert.deepStrictEqual(yield* stored(id), [[1, "TimedOut"]])
          assert.strictEqual(yield* DurableChannel.send(Chat, { executionId: id, message: { text: "late" } }), 2)
          assert.deepStrictEqual(yield* Patient.execute({ id: `${engine}-late` }), { first: "none", second: "late" })
          assert.deepStrictEqual(yield* stored(id), [[1, "TimedOut"], [2, "late"]])
        })
      ))

    it.effect("a short timeout waits in the run: a message meanwhile is received, the next receive times out", () =>
      run(
        Effect.gen(function* () {
          const id = yield* Quick.execute({ id: `${engine}-quick` }, { discard: true })
          const hasClock = (name: string) =>
            Effect.map(record(id), (detail) => detail.clocks.some((c) => c.name === name))
          yield* waitUntil(hasClock("@weft/channel/chat/1/timeout"), "the first receive waits")
          assert.strictEqual(yield* DurableChannel.send(Chat, { executionId: id, message: { text: "early" } }), 1)
          yield* waitUntil(hasClock("@weft/channel/chat/2/timeout"), "the second receive waits")
          yield* TestClock.adjust("2 seconds")
          assert.deepStrictEqual(yield* Quick.execute({ id: `${engine}-quick` }), { first: "early", second: "none" })
          assert.deepStrictEqual(yield* stored(id), [[1, "early"], [2, "TimedOut"]])
        })
      ))

    it.effect("a message that does not fit the schema, or a forged token, is refused and writes nothing", () =>
      run(
        Effect.gen(function* () {
          const id = yield* Inbox.execute({ id: `${engine}-bad`, count: 1 }, { discard: true })
          yield* suspended(Inbox, id)
          const before = yield* record(id)
          const invalid = yield* errorOf(DurableChannel.send(Chat, { executionId: id, message: { text: 42 as any } }))
          assert.strictEqual(invalid.reason, "InvalidPayload")
          assert.strictEqual(invalid.field, "text")
          assert.include(invalid.message, `channel "chat"`)
          const token = yield* DurableChannel.tokenFor(Chat, { workflow: Inbox.name, executionId: id })
          const badByToken = yield* errorOf(DurableChannel.sendByToken(Chat, { token, message: { nope: 1 } as any }))
          assert.strictEqual(badByToken.reason, "InvalidPayload")
          const forged = `${token.slice(0, -4)}AAAA`
          const rejected = yield* errorOf(DurableChannel.sendByToken(Chat, { token: forged, message: { text: "x" } }))
          assert.strictEqual(rejected.reason, "InvalidToken")
          // A deferred's token does not send to a channel.
          const gate = yield* DurableDeferred.tokenFor(Gate, { workflow: Inbox.name, executionId: id })
          const other = yield* errorOf(DurableChannel.sendByToken(Chat, { token: gate, message: { text: "x" } }))
          assert.strictEqual(other.reason, "InvalidToken")
          assert.include(other.message, `deferred "gate"`)
          const after = yield* record(id)
          assert.deepStrictEqual(after.deferreds, before.deferreds)
          assert.deepStrictEqual(after.events, before.events)
          assert.strictEqual(after.execution.wakeSeq, before.execution.wakeSeq)
        })
      ))

    it.effect("sending to an ended execution says it ended; to an unknown one, ExecutionNotFound", () =>
      run(
        Effect.gen(function* () {
          const id = yield* Inbox.execute({ id: `${engine}-ended`, count: 1 }, { discard: true })
          yield* suspended(Inbox, id)
          yield* DurableChannel.send(Chat, { executionId: id, message: { text: "only" } })
          assert.deepStrictEqual(yield* Inbox.execute({ id: `${engine}-ended`, count: 1 }), ["only"])
          yield* waitUntil(hasStatus(id, "succeeded"), "the execution ended")
          const ended = yield* errorOf(DurableChannel.send(Chat, { executionId: id, message: { text: "more" } }))
          assert.strictEqual(ended.reason, "InvalidState")
          assert.include(ended.message, "has ended (succeeded)")
          assert.deepStrictEqual(yield* stored(id), [[1, "only"]])
          const unknown = yield* errorOf(
            DurableChannel.send(Chat, { executionId: "0000000000000000000000000000dead", message: { text: "x" } })
          )
          assert.strictEqual(unknown.reason, "ExecutionNotFound")
        })
      ))
  })
}

/** A database the test and its worker processes share. */
interface Shared {
  readonly spec: string
  readonly layer: Engine
}

const shared: ReadonlyArray<readonly [string, Effect.Effect<Shared, never, Scope.Scope>]> = [
  [
    "sqlite",
    Effect.sync(() => {
      const filename = join(dir, `crash-${n++}.db`)
      return { spec: `sqlite:${filename}`, layer: SqliteEngine.layer({ filename }) }
    })
  ],
  [
    "postgres",
    Effect.map(testDatabase(), (url) => ({ spec: `pg:${url}`, layer: PgEngine.layer({ url, maxConnections: 2 }) }))
  ]
]

for (const [backend, database] of shared) {
  describe(`DurableChannel across a crash on ${backend}`, { timeout: 120_000 }, () => {
    it.effect("a worker killed between two receives: the new one answers receive 1 with message 1, 2 with 2", () =>
      Effect.gen(function* () {
        const db = yield* database
        const log = join(dir, `chat-${n++}.log`)
        yield* Effect.gen(function* () {
          const id = yield* CrashChat.executionId({ id: "c1" })
          const first = yield* worker(db.spec, log, { start: true, kill: "activity-recorded:handle-one" })
          yield* first.line("hook after-suspend")
          assert.strictEqual(yield* DurableChannel.send(ChatMessages, { executionId: id, message: { text: "one" } }), 1)
          // Killed once message 1 was handled, before the second receive.
          const killedBy = yield* first.exit
          assert.deepStrictEqual(killedBy, { code: null, signal: "SIGKILL" }, first.output())
          assert.strictEqual(yield* DurableChannel.send(ChatMessages, { executionId: id, message: { text: "two" } }), 2)
          const second = yield* worker(db.spec, log, {})
          const ended = yield* second.exit
          assert.deepStrictEqual(ended, { code: 0, signal: null }, second.output())
          assert.include(second.output(), "complete succeeded\n")
          // Each message was handled once: "one" by the killed worker, "two" by the new one.
          assert.deepStrictEqual(bodyRuns(log), [
            { name: "handle-one", pid: first.pid },
            { name: "handle-two", pid: second.pid }
          ])
          const polled = yield* CrashChat.poll(id)
          assert.isTrue(Option.isSome(polled) && polled.value._tag === "Complete")
          if (Option.isSome(polled) && polled.value._tag === "Complete") {
            assert.deepStrictEqual(polled.value.exit, Exit.succeed("one/two"))
          }
          const detail = yield* record(id)
          assert.deepStrictEqual(
            detail.deferreds.map((d) => d.name).sort(),
            ["@weft/channel/crash-chat/1", "@weft/channel/crash-chat/2"]
          )
        }).pipe(Effect.provide(db.layer)) as Effect.Effect<void, unknown, Scope.Scope>
      }))
  })
}

layer(Layer.suspend(() => ProxyLive), { excludeTestServices: true })("DurableChannel over the proxy", (it) => {
  it.effect("sends over HTTP by execution id (operator) and by token; bad input is a 400 or 403, writes nothing", () =>
    Effect.gen(function* () {
      const started = yield* httpPost("/inbox/start", { id: "http", count: 2 })
      const executionId: string = started.body.executionId
      yield* suspended(Inbox, executionId)
      const byId = yield* httpPost("/channels/send", { executionId, channel: "chat", message: { text: "a" } })
      assert.deepStrictEqual([byId.status, byId.body], [200, { index: 1 }])
      const bad = yield* httpPost("/channels/send", { executionId, channel: "chat", message: { text: 1 } })
      assert.strictEqual(bad.status, 400)
      assert.deepStrictEqual(bad.body.issues[0].path, ["message", "text"])
      const unexposed = yield* httpPost("/channels/send", { executionId, channel: "other", message: { text: "a" } })
      assert.deepStrictEqual([unexposed.status, unexposed.body.reason], [404, "NotRegistered"])
      const token = yield* DurableChannel.tokenFor(Chat, { workflow: Inbox.name, executionId })
      const forged = yield* httpPost("/tokens/send", { token: `${token.slice(0, -4)}AAAA`, message: { text: "x" } })
      assert.deepStrictEqual([forged.status, forged.body.reason], [403, "InvalidToken"])
      assert.deepStrictEqual(yield* stored(executionId), [[1, "a"]])
      const byToken = yield* httpPost("/tokens/send", { token, message: { text: "b" } })
      assert.deepStrictEqual([byToken.status, byToken.body], [200, { index: 2 }])
      assert.deepStrictEqual(yield* Inbox.execute({ id: "http", count: 2 }), ["a", "b"])
      const ended = yield* httpPost("/channels/send", { executionId, channel: "chat", message: { text: "c" } })
      assert.deepStrictEqual([ended.status, ended.body.reason], [409, "InvalidState"])
    }))

  it.effect("sends over RPC by execution id and by token, with the channel's typed message", () =>
    Effect.gen(function* () {
      const url = yield* Effect.map(HttpServer.HttpServer, (server) => HttpServer.formatAddress(server.address))
      const http = HttpClient.mapRequest(yield* HttpClient.HttpClient, HttpClientRequest.prependUrl(`${url}/rpc`))
      const protocol = yield* RpcClient.makeProtocolHttp(http)
      const client = yield* Effect.provideService(RpcClient.make(ChatRpcs), RpcClient.Protocol, protocol)
      const { executionId } = yield* client.InboxStart({ id: "rpc", count: 2 })
      yield* suspended(Inbox, executionId)
      const sent = yield* client.ChannelSend({ executionId, channel: "chat", message: { text: "x" } })
      assert.deepStrictEqual(sent, { index: 1 })
      const token = yield* DurableChannel.tokenFor(Chat, { workflow: Inbox.name, executionId })
      assert.deepStrictEqual(yield* client.TokenSend({ token, message: { text: "y" } }), { index: 2 })
      assert.deepStrictEqual(yield* client.InboxExecute({ id: "rpc", count: 2 }), ["x", "y"])
    }))
})

describe("DurableChannel", () => {
  it("refuses reserved channel names", () => {
    assert.throws(() => DurableChannel.make("@weft/x", { message: Schema.String }), /reserved/)
  })

  it.effect("each message is handled once, by the receive of its index, across the wake-ups between receives", () =>
    Effect.gen(function* () {
      const id = yield* Inbox.execute({ id: "replay", count: 2 }, { discard: true })
      yield* suspended(Inbox, id)
      yield* DurableChannel.send(Chat, { executionId: id, message: { text: "one" } })
      // The run that takes message 1 replays on the next wake-up: "one" is handled once, by its receive.
      yield* suspended(Inbox, id)
      yield* DurableChannel.send(Chat, { executionId: id, message: { text: "two" } })
      assert.deepStrictEqual(yield* Inbox.execute({ id: "replay", count: 2 }), ["one", "two"])
      assert.strictEqual(counter.get("replay:one"), 1)
      assert.strictEqual(counter.get("replay:two"), 1)
    }).pipe(Effect.provide(Layer.provideMerge(Fixtures, WorkflowEngine.layerMemory))))
})

// Fixtures

/** A worker process of test/crash/child.ts running the `chat` scenario (crash/workers.ts). */
const worker = (spec: string, log: string, options: { readonly start?: boolean; readonly kill?: string }) =>
  Workers.worker(spec, log, "chat", "c1", options)

const counter = new Counter()

const Chat = DurableChannel.make("chat", { message: Schema.Struct({ text: Schema.String }) })
const Gate = DurableDeferred.make("gate")

/** Receives `count` messages, handling each in an activity (that counts how often it ran). */
const Inbox = Workflow.make({
  name: "Inbox",
  payload: { id: Schema.String, count: Schema.Number },
  success: Schema.Array(Schema.String),
  idempotencyKey: ({ id }) => id
})

const InboxLive = Inbox.toLayer(({ count, id }) =>
  Effect.gen(function* () {
    const texts: Array<string> = []
    for (let i = 1; i <= count; i++) {
      const { text } = yield* DurableChannel.receive(Chat)
      texts.push(
        yield* Activity.make({
          name: `handle-${i}`,
          success: Schema.String,
          execute: Effect.as(counter.bump(`${id}:${text}`), text)
        })
      )
    }
    return texts
  })
)

/** Waits at a gate first, then receives two messages. */
const Gated = Workflow.make({
  name: "Gated",
  payload: { id: Schema.String },
  success: Schema.Array(Schema.String),
  idempotencyKey: ({ id }) => id
})

const GatedLive = Gated.toLayer(() =>
  Effect.gen(function* () {
    yield* DurableDeferred.await(Gate)
    const first = yield* DurableChannel.receive(Chat)
    const second = yield* DurableChannel.receive(Chat)
    return [first.text, second.text]
  })
)

/** A receive with a timeout, then one without. */
const Patient = Workflow.make({
  name: "Patient",
  payload: { id: Schema.String },
  success: Schema.Struct({ first: Schema.String, second: Schema.String }),
  idempotencyKey: ({ id }) => id
})

const PatientLive = Patient.toLayer(() =>
  Effect.gen(function* () {
    const first = yield* DurableChannel.receive(Chat, { timeout: "1 hour" })
    const second = yield* DurableChannel.receive(Chat)
    return { first: Option.match(first, { onNone: () => "none", onSome: (m) => m.text }), second: second.text }
  })
)

/** Two receives with a timeout short enough to wait in the run rather than suspend. */
const Quick = Workflow.make({
  name: "Quick",
  payload: { id: Schema.String },
  success: Schema.Struct({ first: Schema.String, second: Schema.String }),
  idempotencyKey: ({ id }) => id
})

const QuickLive = Quick.toLayer(() =>
  Effect.gen(function* () {
    const text = Option.match({ onNone: () => "none", onSome: (m: { readonly text: string }) => m.text })
    const first = yield* DurableChannel.receive(Chat, { timeout: "1 second" })
    const second = yield* DurableChannel.receive(Chat, { timeout: "1 second" })
    return { first: text(first), second: text(second) }
  })
)

const Fixtures = Layer.mergeAll(InboxLive, GatedLive, PatientLive, QuickLive)

class ChatApi extends HttpApi.make("chat").add(
  WorkflowProxy.toHttpApiGroup("chat", [Inbox], {
    channels: [Chat],
    start: "public",
    read: "public",
    dangerouslyAllowUnauthenticatedOperatorRoutes: true
  })
) {}

const ChatRpcs = WorkflowProxy.toRpcGroup([Inbox], {
  channels: [Chat],
  start: "public",
  read: "public",
  dangerouslyAllowUnauthenticatedOperatorRoutes: true
})

const ProxyLive = HttpRouter.serve(
  Layer.mergeAll(
    HttpApiBuilder.layer(ChatApi).pipe(Layer.provide(WorkflowProxyServer.layerHttpApi(ChatApi, "chat", [Inbox]))),
    RpcServer.layerHttp({ group: ChatRpcs, path: "/rpc", protocol: "http" }).pipe(
      Layer.provide(WorkflowProxyServer.layerRpcHandlers([Inbox], { channels: [Chat] }))
    )
  ),
  { disableListenLog: true, disableLogger: true }
).pipe(
  Layer.merge(InboxLive),
  Layer.provideMerge(Layer.mergeAll(WorkflowEngine.layerMemory, RpcSerialization.layerNdjson, FetchHttpClient.layer)),
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
)

/** A POST with a JSON body to the proxy: status and parsed body. */
const httpPost = (path: string, body: unknown) =>
  Effect.flatMap(HttpServer.HttpServer, (server) =>
    Effect.promise(async () => {
      const response = await fetch(`${HttpServer.formatAddress(server.address)}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body)
      })
      const text = await response.text()
      return { status: response.status, body: text === "" ? undefined : JSON.parse(text) }
    }))
