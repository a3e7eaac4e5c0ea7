/**
 * @weft/dashboard end to end: a SQLite engine runs real executions (activities, a failure, a retry, a note, a sleep,
 * a deferred wait), the dashboard serves them on 127.0.0.1, and Debian's chromium (driven by playwright-core) reads
 * the list and the timeline and interrupts a suspended execution; over plain HTTP, no route answers without a
 * policy, none without the token, and bad input is a 4xx with a JSON message. No sleep waits for state.
 */
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Dashboard, DashboardPolicy } from "@weft/dashboard"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import { Activity, DurableClock, DurableDeferred, Workflow, WorkflowEngine, WorkflowSchedule } from "@weft/workflow"
import { Effect, Layer, ManagedRuntime, Schedule, Schema } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import type { BrowserContext, Page } from "playwright-core"
import { afterAll, beforeAll } from "vitest"
import { hasStatus, suspended, waitUntil } from "./util.js"

const root = resolve(import.meta.dirname, "..")
const chromiumPath = "/usr/bin/chromium"
const hasChromium = existsSync(chromiumPath)
const token = "dashboard-test-token-0123456789"
const hostile = `<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">`

if (!hasChromium && process.env.CI === "true") {
  throw new Error(`${chromiumPath} is missing: .ci/run installs Debian's chromium before the tests`)
}
if (!hasChromium) {
  console.warn(`Skipping the dashboard's browser tests: ${chromiumPath} is missing (apt-get install chromium)`)
}

const dir = mkdtempSync(join(tmpdir(), "weft-dashboard-"))
let runtime: ManagedRuntime.ManagedRuntime<WorkflowEngine.WorkflowEngine | HttpServer.HttpServer, unknown>
let base = ""
const ids = { failed: "", waiting: "", hostile: "", approved: "" }

beforeAll(async () => {
  // The served layer's requirements are all provided; its type keeps the router's request markers.
  runtime = ManagedRuntime.make(
    serverLive(join(dir, "dashboard.db")) as Layer.Layer<WorkflowEngine.WorkflowEngine | HttpServer.HttpServer, unknown>
  )
  base = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (server) => HttpServer.formatAddress(server.address)))
  await runtime.runPromise(Effect.gen(function*() {
    ids.failed = yield* Order.execute({ customer: "Ada Lovelace", card: "declined" }, { discard: true })
    ids.waiting = yield* Order.execute({ customer: "Grace Hopper", card: "ok" }, { discard: true })
    ids.hostile = yield* Order.execute({ customer: hostile, card: "ok" }, { discard: true })
    ids.approved = yield* Order.execute({ customer: "Alan Turing", card: "ok" }, { discard: true })
    yield* waitUntil(hasStatus(ids.failed, "failed"), "the declined order failed")
    yield* suspended(Order, ids.waiting)
    yield* suspended(Order, ids.hostile)
    yield* suspended(Order, ids.approved)
    const approval = yield* DurableDeferred.tokenFor(Approval, { workflow: Order.name, executionId: ids.approved })
    yield* DurableDeferred.succeed(Approval, { token: approval, value: { by: "Grace" } })
    yield* waitUntil(hasStatus(ids.approved, "succeeded"), "the approved order succeeded")
  }))
}, 60_000)

afterAll(async () => {
  await runtime?.dispose()
  rmSync(dir, { recursive: true, force: true })
})

const call = (path: string, init: RequestInit = {}) =>
  fetch(`${base}${path}`, init).then(async (response) => ({
    status: response.status,
    type: response.headers.get("content-type") ?? "",
    headers: response.headers,
    text: await response.text()
  }))

const auth = { authorization: `Bearer ${token}` }
const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  call(path, {
    method: "POST",
    body,
    headers: { ...auth, "content-type": "application/json", "x-weft-dashboard": "1", ...headers }
  })

/** A JSON refusal: the status, and a body with a tag and a message. */
const refused = (answer: { status: number; type: string; text: string }, status: number, tag?: string) => {
  assert.strictEqual(answer.status, status, answer.text)
  assert.include(answer.type, "application/json")
  const body = JSON.parse(answer.text) as { _tag: string; message: string }
  assert.isString(body.message)
  assert.isAbove(body.message.length, 0)
  if (tag !== undefined) assert.strictEqual(body._tag, tag)
  return body
}

describe("the dashboard over HTTP", () => {
  it("without a policy, no route answers anything: page, reads and actions are 403 with a message", async () => {
    for (const path of ["/bare/", "/bare/app.js", "/bare/api/config", "/bare/api/executions"]) {
      refused(await call(path, { headers: auth }), 403, "PolicyRequired")
    }
    refused(await call(`/bare/api/executions/${ids.failed}`, { headers: auth }), 403, "PolicyRequired")
    refused(await post(`/bare/api/executions/${ids.waiting}/interrupt`, "{}"), 403, "PolicyRequired")
    assert.strictEqual(await runtime.runPromise(Effect.map(WorkflowEngine.get(ids.waiting), (r) => r.status)), "suspended")
  })

  it("with the token policy, the page (no data) is served, and nothing is readable or doable without the token", async () => {
    const page = await call("/")
    assert.strictEqual(page.status, 200)
    assert.include(page.type, "text/html")
    assert.include(page.headers.get("content-security-policy") ?? "", "script-src 'self'")
    assert.notInclude(page.text, ids.failed)
    refused(await call("/api/executions"), 401, "Unauthorized")
    refused(await call(`/api/executions/${ids.failed}`), 401, "Unauthorized")
    refused(await call("/api/executions", { headers: { authorization: "Bearer wrong-token-0123456789xx" } }), 401)
    refused(await post(`/api/executions/${ids.waiting}/interrupt`, "{}", { authorization: "" }), 401, "Unauthorized")
    const listed = await call("/api/executions", { headers: auth })
    assert.strictEqual(listed.status, 200)
    const ids2 = (JSON.parse(listed.text) as { items: Array<{ executionId: string }> }).items.map((x) => x.executionId)
    assert.includeMembers(ids2, [ids.failed, ids.waiting, ids.hostile])
  })

  it("lists the schedules the store keeps (timing, state, next fires; never payloads), behind the read policy", async () => {
    await runtime.runPromise(
      WorkflowSchedule.ensure(Order, { customer: "Yearly", card: "ok" }, { id: "new-year", cron: "0 0 1 1 *", timezone: "UTC" })
    )
    refused(await call("/api/schedules"), 401, "Unauthorized")
    const listed = await call("/api/schedules", { headers: auth })
    assert.strictEqual(listed.status, 200)
    const [schedule] = (JSON.parse(listed.text) as { schedules: Array<Record<string, unknown>> }).schedules
    assert.deepStrictEqual(Object.keys(schedule!).sort(), ["id", "nextFires", "paused", "timing", "workflow"])
    assert.strictEqual(schedule!.timing, "cron 0 0 1 1 * (UTC)")
    assert.strictEqual(new Date((schedule!.nextFires as Array<number>)[0]!).toISOString().slice(5, 16), "01-01T00:00")
    assert.notInclude(listed.text, "Yearly")
  })

  it("an app's policy is asked per access: a viewer reads but cannot act", async () => {
    assert.strictEqual((await call("/viewer/api/executions")).status, 200)
    // The page needs its trailing slash (its URLs are relative): a redirect adds it.
    assert.strictEqual((await call("/viewer", { redirect: "manual" })).status, 308)
    assert.strictEqual((await call("/viewer/")).status, 200)
    refused(await post(`/viewer/api/executions/${ids.waiting}/interrupt`, "{}", { authorization: "" }), 401)
    assert.strictEqual(await runtime.runPromise(Effect.map(WorkflowEngine.get(ids.waiting), (r) => r.status)), "suspended")
  })

  it("bad input is a 4xx with a JSON message, never a 5xx", async () => {
    const reads: Array<readonly [string, number]> = [
      ["/api/executions?status=bogus", 400],
      ["/api/executions?limit=0", 400],
      ["/api/executions?limit=100000", 400],
      ["/api/executions?createdAfter=yesterday", 400],
      ["/api/executions?status=failed&status=running", 400],
      ["/api/executions?nope=1", 400],
      ["/api/executions?workflow=" + "w".repeat(300), 400],
      // Past the router's longest path parameter: no route, a 404.
      ["/api/executions/" + "x".repeat(300), 404],
      ["/api/executions/" + "x".repeat(99) + "%0A", 400],
      ["/api/executions/no-such-execution", 404],
      ["/api/nothing-here", 404]
    ]
    for (const [path, status] of reads) refused(await call(path, { headers: auth }), status)
    const action = `/api/executions/${ids.waiting}`
    refused(await post(`${action}/explode`, "{}"), 404, "UnknownAction")
    refused(await post(`${action}/interrupt`, "{}", { "x-weft-dashboard": "" }), 403, "CsrfRejected")
    refused(await post(`${action}/interrupt`, "{}", { origin: "https://evil.example" }), 403, "CsrfRejected")
    refused(await post(`${action}/interrupt`, "{}", { "content-type": "text/plain" }), 415)
    refused(await post(`${action}/interrupt`, "{not json"), 400)
    refused(await post(`${action}/interrupt`, "[1,2]"), 400)
    refused(await post(`${action}/interrupt`, JSON.stringify({ workflow: 7 })), 400)
    refused(await post(`${action}/interrupt`, JSON.stringify({ surprise: true })), 400)
    refused(await post(`${action}/interrupt`, JSON.stringify({ workflow: "x".repeat(20_000) })), 413, "PayloadTooLarge")
    refused(await post("/api/executions/no-such-execution/interrupt", "{}"), 404)
    refused(await post(`/api/executions/${ids.failed}/interrupt`, "{}"), 409, "ActionRefused")
    refused(await post(`/api/executions/${ids.failed}/resume`, "{}"), 409, "ActionRefused")
    refused(await post(`${action}/retry`, "{}"), 409, "ActionRefused")
    refused(await post(`${action}/restart`, JSON.stringify({ fromStep: 7 })), 400)
    // A chunked body past the bound (no Content-Length to refuse it by) is cut off while read.
    const chunked = await fetch(`${base}${action}/interrupt`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json", "x-weft-dashboard": "1" },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(JSON.stringify({ workflow: "y".repeat(64 * 1024) })))
          controller.close()
        }
      }),
      duplex: "half"
    } as RequestInit)
    refused({ status: chunked.status, type: chunked.headers.get("content-type") ?? "", text: await chunked.text() }, 413)
    assert.strictEqual(await runtime.runPromise(Effect.map(WorkflowEngine.get(ids.waiting), (r) => r.status)), "suspended")
  })

  it("the trace route answers the execution's entries, with the attempts, the backoff, the note and the failure", async () => {
    const answer = await call(`/api/executions/${ids.failed}`, { headers: auth })
    assert.strictEqual(answer.status, 200)
    const trace = JSON.parse(answer.text) as {
      execution: { status: string; outcome: string; version: number }
      entries: Array<{ kind: string; name?: string; outcome?: string; message?: string }>
    }
    assert.deepInclude(trace.execution, { status: "failed", outcome: "failure", version: 1 })
    const listed = JSON.parse((await call("/api/executions?limit=200", { headers: auth })).text) as {
      items: Array<{ executionId: string; version: number }>
    }
    assert.strictEqual(listed.items.find((x) => x.executionId === ids.failed)?.version, 1)
    const charges = trace.entries.filter((e) => e.kind === "activity" && e.name === "charge").map((e) => e.outcome)
    assert.deepStrictEqual(charges, ["failure", "failure"])
    assert.isDefined(trace.entries.find((e) => e.kind === "retry-wait"))
    assert.isDefined(trace.entries.find((e) => e.kind === "note" && e.message === "order received"))
  })
})

describe("weft dashboard", () => {
  const bin = ["--conditions=@weft/source", "--import", "tsx", join(root, "packages", "cli", "src", "bin.ts"), "dashboard"]
  const env = { ...process.env, WEFT_DASHBOARD_TOKEN: "" }

  it("refuses to start without a token (usage, exit 2)", () => {
    const run = spawnSync(process.execPath, [...bin, "--db", join(dir, "dashboard.db")], {
      cwd: root,
      env,
      encoding: "utf8",
      timeout: 30_000
    })
    assert.strictEqual(run.status, 2, run.stderr)
    assert.include(run.stderr, "WEFT_DASHBOARD_TOKEN")
  }, 40_000)

  it("serves the database's executions on 127.0.0.1 to the token only, until stopped", async () => {
    const secret = "cli-token-0123456789abcdef"
    const child = spawn(process.execPath, [...bin, "--db", join(dir, "dashboard.db"), "--port", "0"], {
      cwd: root,
      env: { ...env, WEFT_DASHBOARD_TOKEN: secret },
      stdio: ["ignore", "pipe", "pipe"]
    })
    try {
      let output = ""
      const url = await new Promise<string>((done, fail) => {
        child.stdout.on("data", (chunk) => {
          output += String(chunk)
          const found = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(output)
          if (found !== null) done(found[1]!)
        })
        child.stderr.on("data", (chunk) => void (output += String(chunk)))
        child.once("exit", (code) => fail(new Error(`weft dashboard exited (${code}):\n${output}`)))
      })
      const anonymous = await fetch(`${url}/api/executions`)
      assert.strictEqual(anonymous.status, 401)
      const listed = await fetch(`${url}/api/executions?status=failed`, { headers: { authorization: `Bearer ${secret}` } })
      assert.strictEqual(listed.status, 200)
      const items = (await listed.json() as { items: Array<{ executionId: string }> }).items
      assert.include(items.map((x) => x.executionId), ids.failed)
    } finally {
      const exited = new Promise((done) => child.once("exit", done))
      child.kill("SIGTERM")
      await exited
    }
  }, 60_000)
})

describe.skipIf(!hasChromium)("the dashboard in chromium", () => {
  let context: BrowserContext
  let profile = ""

  beforeAll(async () => {
    const { chromium } = await import("playwright-core")
    profile = mkdtempSync(join(tmpdir(), "weft-chromium-"))
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      viewport: { width: 1360, height: 900 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync"
      ]
    })
  }, 60_000)

  afterAll(async () => {
    await context?.close()
    if (profile !== "") rmSync(profile, { recursive: true, force: true })
  })

  const open = async (hash: string): Promise<Page> => {
    const page = await context.newPage()
    page.on("dialog", (dialog) => void dialog.accept())
    await page.goto(`${base}/${hash}`)
    return page
  }

  it("lists the real executions, and shows one's timeline: activities, the failed attempts, the backoff, the note", async () => {
    const page = await open(`#token=${token}`)
    try {
      for (const id of [ids.failed, ids.waiting, ids.hostile]) {
        await page.locator(`tr[data-execution="${id}"]`).waitFor()
      }
      // The token left the address bar once read.
      assert.notInclude(page.url(), token)
      assert.strictEqual(await page.locator(`tr[data-execution="${ids.failed}"] .badge`).textContent(), "failed")
      assert.strictEqual(await page.locator(`tr[data-execution="${ids.failed}"] td.version`).textContent(), "v1")

      await page.locator(`a[href="#/executions/${ids.failed}"]`).click()
      const timeline = page.locator("#timeline")
      await timeline.locator(".row[data-kind=activity]").first().waitFor()
      const labels = await timeline.locator(".row[data-kind=activity] .label").allTextContents()
      assert.deepStrictEqual(labels, ["activityreserve #1", "activitycharge #1", "activitycharge #2"])
      assert.strictEqual(await timeline.locator(".row[data-kind=activity] .bar.failure").count(), 2)
      assert.include(await timeline.locator(".row.failed-row .caption").first().textContent(), "CardDeclined")
      assert.strictEqual(await timeline.locator(".bar.wait.backoff").count(), 1)
      assert.include(await timeline.locator(".row[data-kind=note] .caption").first().textContent(), "order received")
      assert.isAtLeast(await timeline.locator(".event.failure").count(), 1)
      assert.strictEqual(await page.locator("#summary .badge").textContent(), "failed")
      assert.strictEqual(await page.locator("#summary .fact", { hasText: "Version" }).locator(".v").textContent(), "1")
      assert.include(await page.locator("#summary pre.bad").textContent(), "CardDeclined")
      // An execution that failed with a typed error can be retried or restarted, not interrupted nor resumed.
      await page.locator("#actions button[data-action=retry]").waitFor()
      assert.deepStrictEqual(await page.locator("#actions button").allTextContents(), ["Retry", "Restart…"])

      // One that waited: a failed attempt then a successful one, the sleep and the deferred wait, then its end.
      await page.locator("a.back").click()
      await page.locator(`a[href="#/executions/${ids.approved}"]`).click()
      await page.locator("#summary .badge", { hasText: "succeeded" }).waitFor()
      await timeline.locator(".bar.wait.deferred").waitFor()
      assert.strictEqual(await timeline.locator(".bar.wait.sleep").count(), 1)
      assert.deepStrictEqual(await timeline.locator(".row[data-kind=activity] .bar").evaluateAll((bars) =>
        bars.map((bar) => bar.className)), ["bar success", "bar failure", "bar success"])
      // `WEFT_DASHBOARD_SCREENSHOT=1 npx vitest run test/Dashboard.test.ts` renews the README's picture.
      if (process.env.WEFT_DASHBOARD_SCREENSHOT === "1") {
        await page.screenshot({ path: join(root, "docs", "dashboard.png"), fullPage: true })
      }
    } finally {
      await page.close()
    }
  })

  it("shows a payload holding markup as text: no element is made of it, no script runs", async () => {
    const page = await open(`#token=${token}`)
    try {
      await page.evaluate((hash) => void ((globalThis as any).location.hash = hash), `#/executions/${ids.hostile}`)
      await page.locator("#summary pre.json").first().waitFor()
      assert.include(await page.locator("#summary pre.json").first().textContent(), "<script>window.__xss = 1</script>")
      assert.include(await page.locator("#entries").textContent(), "<img src=x")
      assert.strictEqual(await page.locator("main img, main script").count(), 0)
      assert.isUndefined(await page.evaluate(() => (globalThis as { __xss?: number }).__xss))
    } finally {
      await page.close()
    }
  })

  it("refuses reads and actions without the token, and interrupts a suspended execution with it", async () => {
    // A fresh tab of the same profile shares sessionStorage only within a tab: this one has no token.
    const anonymous = await open("#/")
    try {
      await anonymous.locator("#signin").waitFor()
      const status = await anonymous.evaluate(async (id) => {
        const response = await fetch(`api/executions/${id}/interrupt`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-weft-dashboard": "1" },
          body: "{}"
        })
        return response.status
      }, ids.waiting)
      assert.strictEqual(status, 401)
    } finally {
      await anonymous.close()
    }
    assert.strictEqual(await runtime.runPromise(Effect.map(WorkflowEngine.get(ids.waiting), (r) => r.status)), "suspended")

    const page = await open(`#token=${token}`)
    try {
      await page.locator(`a[href="#/executions/${ids.waiting}"]`).click()
      await page.locator("#summary .badge", { hasText: "suspended" }).waitFor()
      assert.isAtLeast(await page.locator("#timeline .bar.wait.deferred, #timeline .bar.wait.sleep").count(), 1)
      await page.locator("#actions button[data-action=interrupt]").click()
      await page.locator("#message.ok").waitFor()
      await runtime.runPromise(waitUntil(hasStatus(ids.waiting, "interrupted"), "the interrupted order ended"))
      await page.locator("#summary .badge", { hasText: "interrupted" }).waitFor()

      // Restart (from the beginning: the prompt for a step is answered empty) opens the new execution.
      await page.locator("#actions button[data-action=restart]").click()
      await page.locator("#message.ok", { hasText: "new execution" }).waitFor()
      await page.waitForURL((url) => url.hash.startsWith("#/executions/") && !url.hash.includes(ids.waiting))
      const restarted = decodeURIComponent(new URL(page.url()).hash.slice("#/executions/".length))
      await page.locator("#summary code.id", { hasText: restarted }).waitFor()
      await runtime.runPromise(suspended(Order, restarted))
    } finally {
      await page.close()
    }
  })
})

// ---------------------------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------------------------

class CardDeclined extends Schema.TaggedError<CardDeclined>()("CardDeclined", { card: Schema.String }) {}

const Approval = DurableDeferred.make("approval", { success: Schema.Struct({ by: Schema.String }) })

const Order = Workflow.make({
  name: "Order",
  payload: { customer: Schema.String, card: Schema.String },
  success: Schema.String,
  error: CardDeclined,
  idempotencyKey: ({ customer }) => customer
})

const OrderLive = Order.toLayer(({ card, customer }) =>
  Effect.gen(function*() {
    yield* Workflow.note("order received", { customer })
    yield* Activity.make({
      name: "reserve",
      success: Schema.String,
      execute: Effect.as(Effect.sleep("30 millis"), "reserved")
    })
    yield* Activity.retry(
      Activity.make({
        name: "charge",
        success: Schema.String,
        error: CardDeclined,
        execute: Effect.gen(function*() {
          yield* Effect.sleep("20 millis")
          const attempt = yield* Activity.CurrentAttempt
          if (card === "declined" || attempt < 2) return yield* new CardDeclined({ card })
          return "charged"
        })
      }),
      { times: 1, schedule: Schedule.spaced("60 millis") }
    )
    yield* DurableClock.sleep({ name: "cool-off", duration: "40 millis" })
    const { by } = yield* DurableDeferred.await(Approval)
    return `approved by ${by}`
  })
)

const serverLive = (filename: string) =>
  HttpRouter.serve(
    Layer.mergeAll(
      Dashboard.layer({ policy: DashboardPolicy.bearerToken(token), refreshMs: 500 }),
      Dashboard.layer({ path: "/bare" }),
      // A policy of the mounting app: anyone may read, nobody may act.
      Dashboard.layer({ path: "/viewer", policy: DashboardPolicy.make((_, access) => Effect.succeed(access !== "operate")) })
    ),
    { disableListenLog: true, disableLogger: true }
  ).pipe(
    Layer.provideMerge(OrderLive),
    Layer.provideMerge(SqliteEngine.layer({ filename }).pipe(Layer.orDie)),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
  )
