/**
 * Stored data crosses the upgrade. `test/fixtures/effect3` holds a SQLite database recorded by the
 * Effect 3.22 build (executions in every state) and a manifest of its exact rows. Each test opens a
 * copy with this build's `SqliteEngine.layer` (the pinned signing key of the recording) and checks:
 * nothing is rewritten, ids and tokens are the same, every stored result and error reads back with its
 * schema, and the suspended executions complete, storing what 3.22 stored for the same steps
 * (`manifest.continuation`).
 */
import { createHash } from "node:crypto"
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as SqlClient from "effect/sql/SqlClient"
import { TestClock } from "effect/testing"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import { Activity, DurableClock, DurableDeferred, Workflow, WorkflowEngine, type WorkflowStore } from "@weft/workflow"
import { hasStatus, record, waitUntil } from "./util.js"

// The fixture ---------------------------------------------------------------------------------

const fixtureDir = join(import.meta.dirname, "fixtures", "effect3")
const fixtureDb = join(fixtureDir, "weft-effect3.db")

type Row = Record<string, unknown>

interface Recorded {
  readonly label: string
  readonly workflow: string
  readonly idempotencyKey: string
  readonly executionId: string
  readonly status: WorkflowStore.ExecutionStatus
  readonly token?: string
  readonly tokenDeferred?: string
  readonly payload: string
  readonly result: string | null
  readonly wakeAt: number | null
}

interface Continued {
  readonly label: string
  readonly executionId: string
  readonly status: WorkflowStore.ExecutionStatus
  readonly payload: string
  readonly result: string | null
  readonly attempts: ReadonlyArray<{ readonly name: string; readonly attempt: number; readonly exit: string }>
  readonly deferreds: ReadonlyArray<{ readonly name: string; readonly exit: string }>
  readonly clocks: ReadonlyArray<{ readonly name: string; readonly wakeAt: number }>
  readonly events: ReadonlyArray<{ readonly kind: string; readonly detail: string | null }>
}

interface Manifest {
  readonly sha256: string
  readonly signingKey: string
  readonly executions: ReadonlyArray<Recorded>
  readonly continuation: { readonly recordedAt: number; readonly executions: ReadonlyArray<Continued> }
  readonly schema: ReadonlyArray<Row>
  readonly tables: Readonly<Record<string, ReadonlyArray<Row>>>
}

const manifest: Manifest = JSON.parse(readFileSync(join(fixtureDir, "manifest.json"), "utf8"))

const byLabel = (label: string): Recorded => {
  const found = manifest.executions.find((e) => e.label === label)
  if (found === undefined) throw new Error(`no execution labelled ${label} in the manifest`)
  return found
}
const idOf = (label: string) => byLabel(label).executionId
const tokenOf = (label: string) => byLabel(label).token!
const wakeOf = (label: string) => byLabel(label).wakeAt!

/** A fresh copy of the fixture in a temp folder, removed with the scope: the committed file is never opened. */
const copyOfFixture = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = mkdtempSync(join(tmpdir(), "weft-upgrade-"))
    const filename = join(dir, "weft-effect3.db")
    copyFileSync(fixtureDb, filename)
    return filename
  }),
  (filename) => Effect.sync(() => rmSync(join(filename, ".."), { recursive: true, force: true }))
)

// The workflows of the recording, as a user writes them on Effect 4 -----------------------------

class OutOfStock extends Schema.TaggedError<OutOfStock>()("OutOfStock", { sku: Schema.String, available: Schema.Number }) {}
class Rejected extends Schema.TaggedError<Rejected>()("Rejected", { reason: Schema.String }) {}
class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", { status: Schema.Number }) {}
class SoldOut extends Schema.TaggedError<SoldOut>()("SoldOut", { item: Schema.String }) {}

const OrderPayload = Schema.Struct({
  orderId: Schema.String,
  // Effect 3's `Schema.Date` (an ISO string stored) is Effect 4's `Schema.DateFromString`.
  placedAt: Schema.DateFromString,
  note: Schema.optional(Schema.String),
  amount: Schema.Number,
  customer: Schema.String
})

const Receipt = Schema.Struct({
  orderId: Schema.String,
  total: Schema.Number,
  reservedAt: Schema.DateFromString,
  lines: Schema.Array(Schema.String),
  gift: Schema.optional(Schema.Boolean)
})

const Decision = DurableDeferred.make("decision", {
  success: Schema.Struct({ approver: Schema.String, at: Schema.DateFromString }),
  error: Rejected
})
const Confirm = DurableDeferred.make("confirm", { error: SoldOut })
const Printed = DurableDeferred.make("printed", { success: Schema.String })

/** What bodies and compensations did here, in order. */
const ran: Array<string> = []

const Order = Workflow.make({
  name: "Order",
  payload: OrderPayload,
  success: Receipt,
  error: OutOfStock,
  idempotencyKey: ({ orderId }) => orderId
})

const OrderLive = Order.toLayer((order) =>
  Effect.gen(function* () {
    const reservation = yield* Activity.make({
      name: "reserve",
      success: Schema.Struct({ sku: Schema.String, at: Schema.DateFromString }),
      error: OutOfStock,
      execute: order.orderId.startsWith("oos")
        ? Effect.fail(new OutOfStock({ sku: `sku-${order.orderId}`, available: 0 }))
        : Effect.succeed({ sku: `sku-${order.orderId}`, at: new Date("2026-12-01T08:00:00.000Z") })
    })
    const total = yield* Activity.make({
      name: "charge",
      success: Schema.Number,
      // The card processor's bug is fixed: boom-4, resumed, is charged this time.
      execute: Effect.sync(() => {
        ran.push(`charge ${order.orderId}`)
        return Math.round(order.amount * 1.2 * 100) / 100
      })
    })
    yield* DurableClock.sleep({ name: "settle", duration: "5 millis" })
    return {
      orderId: order.orderId,
      total,
      reservedAt: reservation.at,
      lines: [reservation.sku, order.note ?? "—", order.customer],
      ...(order.note === undefined ? {} : { gift: true })
    }
  })
)

const Approval = Workflow.make({
  name: "Approval",
  payload: { requestId: Schema.String, amount: Schema.Number },
  success: Schema.String,
  error: Rejected,
  idempotencyKey: ({ requestId }) => requestId
})

const ApprovalLive = Approval.toLayer(({ amount, requestId }) =>
  Effect.gen(function* () {
    const token = yield* DurableDeferred.token(Decision)
    yield* Activity.make({ name: "notify", success: Schema.String, execute: Effect.succeed(token) })
    const { approver, at } = yield* DurableDeferred.await(Decision)
    return yield* Activity.make({
      name: "record",
      success: Schema.String,
      execute: Effect.succeed(`${requestId}: ${amount} approved by ${approver} at ${at.toISOString()}`)
    })
  })
)

const Expense = Workflow.make({
  name: "Expense",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const ExpenseLive = Expense.toLayer(() =>
  // Expense declares no error (as recorded): a Rejected decision would be a defect.
  Effect.map(Effect.orDie(DurableDeferred.await(Decision, { timeout: "3 days" })), (decision) =>
    Option.match(decision, { onNone: () => "expired", onSome: ({ approver }) => `approved by ${approver}` })
  )
)

const Reminder = Workflow.make({
  name: "Reminder",
  payload: { userId: Schema.String },
  idempotencyKey: ({ userId }) => userId
})

const ReminderLive = Reminder.toLayer(({ userId }) =>
  Effect.gen(function* () {
    yield* Activity.make({ name: "schedule", success: Schema.String, execute: Effect.succeed(`scheduled ${userId}`) })
    yield* DurableClock.sleep({ name: "wait", duration: "30 days" })
    yield* Activity.make({ name: "remind", execute: Effect.sync(() => void ran.push(`remind ${userId}`)) })
  })
)

const Sync = Workflow.make({
  name: "Sync",
  payload: { partner: Schema.String },
  success: Schema.Struct({ synced: Schema.Number }),
  error: Unavailable,
  idempotencyKey: ({ partner }) => partner
})

const SyncLive = Sync.toLayer(() =>
  Activity.retry(
    Activity.make({
      name: "call-partner",
      success: Schema.Struct({ synced: Schema.Number }),
      error: Unavailable,
      execute: Effect.flatMap(Effect.service(Activity.CurrentAttempt), (attempt) =>
        attempt === 1 ? Effect.fail(new Unavailable({ status: 503 })) : Effect.succeed({ synced: 42 })
      )
    }),
    { times: 3, schedule: Schedule.spaced("2 hours") }
  )
)

const Trip = Workflow.make({
  name: "Trip",
  payload: { tripId: Schema.String },
  success: Schema.String,
  error: SoldOut,
  idempotencyKey: ({ tripId }) => tripId
})

const book = (name: string, tripId: string) =>
  Activity.make({ name, success: Schema.String, execute: Effect.succeed(`${name}:${tripId}`) })

const TripLive = Trip.toLayer(({ tripId }) =>
  Effect.gen(function* () {
    const flight = yield* book("book-flight", tripId).pipe(
      Workflow.withCompensation((id) => Effect.sync(() => void ran.push(`cancel ${id}`)))
    )
    const hotel = yield* book("book-hotel", tripId).pipe(
      Workflow.withCompensation((id) => Effect.sync(() => void ran.push(`cancel ${id}`)))
    )
    yield* DurableDeferred.await(Confirm)
    return `${flight}+${hotel}`
  })
)

const Label = Workflow.make({
  name: "Label",
  payload: { shipmentId: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ shipmentId }) => shipmentId
})

const LabelLive = Label.toLayer(({ shipmentId }) =>
  Effect.map(DurableDeferred.await(Printed), (printer) => `label ${shipmentId} by ${printer}`)
)

const Shipment = Workflow.make({
  name: "Shipment",
  payload: { shipmentId: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ shipmentId }) => shipmentId
})

const ShipmentLive = Shipment.toLayer(({ shipmentId }) =>
  Effect.gen(function* () {
    const packed = yield* Activity.make({ name: "pack", success: Schema.String, execute: Effect.succeed(`packed ${shipmentId}`) })
    const label = yield* Effect.orDie(Label.execute({ shipmentId }))
    return `${packed} / ${label}`
  })
)

const Ping = Workflow.make({
  name: "Ping",
  payload: Schema.Void,
  idempotencyKey: () => "ping"
})

const PingLive = Ping.toLayer(() => Activity.make({ name: "pong", execute: Effect.void }))

const workflows: ReadonlyArray<Workflow.Any> = [Order, Approval, Expense, Reminder, Sync, Trip, Label, Shipment, Ping]

const Live = Layer.mergeAll(OrderLive, ApprovalLive, ExpenseLive, ReminderLive, SyncLive, TripLive, LabelLive, ShipmentLive, PingLive)

/** The schemas each recorded activity declares (a compensation is a void step; a child's start, its id). */
const activitySchemas = (name: string): { readonly success: Schema.Top; readonly error?: Schema.Top } => {
  if (name.startsWith("@weft/compensation/")) return { success: Schema.Void }
  if (name.startsWith("@weft/start/")) return { success: Schema.String }
  switch (name) {
    case "reserve":
      return { success: Schema.Struct({ sku: Schema.String, at: Schema.DateFromString }), error: OutOfStock }
    case "charge":
      return { success: Schema.Number }
    case "call-partner":
      return { success: Schema.Struct({ synced: Schema.Number }), error: Unavailable }
    case "pong":
    case "remind":
      return { success: Schema.Void }
    case "notify":
    case "record":
    case "schedule":
    case "book-flight":
    case "book-hotel":
    case "pack":
      return { success: Schema.String }
  }
  throw new Error(`no schemas for activity ${name}`)
}

/**
 * The engine of this build on a copy of the fixture, with the recording's signing key, and the recorded
 * workflows, started a minute after the recording (the `TestClock`'s time).
 */
const onCopy = <A, E>(
  body: (filename: string) => Effect.Effect<A, E, WorkflowEngine.WorkflowEngine | SqlClient.SqlClient>
) =>
  Effect.gen(function* () {
    const filename = yield* copyOfFixture
    yield* TestClock.setTime(manifest.continuation.recordedAt + 60_000)
    return yield* body(filename).pipe(
      Effect.provide(Layer.provideMerge(Live, SqliteEngine.layer({ filename, signingKey: manifest.signingKey })))
    )
  })

// Reading rows --------------------------------------------------------------------------------

const tableNames = ["weft_executions", "weft_attempts", "weft_deferreds", "weft_clocks", "weft_events", "weft_queue", "weft_meta", "weft_migrations"]

/** Every row of a table as stored, in rowid order, with the rowid: the manifest's `tables` format. */
const rowsOf = (table: string) =>
  Effect.flatMap(Effect.service(SqlClient.SqlClient), (sql) =>
    sql.unsafe<Row>(`SELECT rowid AS "rowid", * FROM ${table} ORDER BY rowid`)
  ).pipe(Effect.map((rows) => rows.map((row) => ({ ...row }))))

/**
 * What the migrations newer than the recording add, and all they may change in it: their rows of weft_migrations,
 * columns (as their definitions; null on every recorded row, or the definition's DEFAULT) and schema objects of their own.
 */
const sinceRecording: {
  readonly migrations: ReadonlyArray<string>
  readonly columns: Readonly<Record<string, ReadonlyArray<string>>>
  readonly objects: ReadonlyArray<string>
} = {
  migrations: ["add_recoveries", "add_idempotency_keys", "add_schedules", "add_versions"],
  columns: {
    weft_executions: ["in_flight TEXT", "claimed_at BIGINT", "idempotency_key TEXT", "version INTEGER NOT NULL DEFAULT 1"],
    weft_clocks: ["set_at BIGINT"]
  },
  objects: ["weft_schedules_due", "weft_schedules", "weft_taken_over"]
}

/** A row as recorded: the columns added since, which must be null on it (or hold their DEFAULT), left out. */
const asRecorded = (table: string, row: Row | undefined): Row | undefined => {
  if (row === undefined) return undefined
  const out: Row = { ...row }
  for (const definition of sinceRecording.columns[table] ?? []) {
    const column = definition.split(" ")[0]!
    const fallback = / DEFAULT (\S+)$/.exec(definition)?.[1]
    if (fallback === undefined) assert.isNull(out[column], `${table} rowid ${row.rowid}: column ${column}, added since, is set`)
    else assert.strictEqual(String(out[column]), fallback, `${table} rowid ${row.rowid}: column ${column} holds its default`)
    delete out[column]
  }
  return out
}

/** A schema row as recorded: the definitions of columns added since (", <definition>", once each) taken out. */
const schemaAsRecorded = (row: Row): Row => {
  const added = sinceRecording.columns[String(row.name)]
  if (row.type !== "table" || added === undefined) return { ...row }
  let sql = String(row.sql)
  for (const column of added) {
    assert.include(sql, `, ${column}`, `${String(row.name)} has its added column ${column}`)
    sql = sql.replace(`, ${column}`, "")
  }
  return { ...row, sql }
}

/**
 * Asserts that the rows recorded by 3.22 are all there, unchanged byte for byte (new rows may follow; columns added
 * since are null), but those `skip` names.
 */
const assertRecordedRowsUnchanged = (skip: (table: string, row: Row) => boolean = () => false) =>
  Effect.gen(function* () {
    for (const table of tableNames) {
      const now = yield* rowsOf(table)
      for (const recorded of manifest.tables[table] ?? []) {
        if (skip(table, recorded)) continue
        const current = asRecorded(table, now.find((row) => row.rowid === recorded.rowid))
        assert.deepStrictEqual(current, recorded, `${table} rowid ${recorded.rowid} changed`)
      }
    }
  })

/** An interrupt's fiber id is whatever fiber ran it: the same shape, any numbers. */
const withoutFiberIds = (json: string | null) =>
  json?.replace(/"fiberId":\{"_tag":"Runtime","id":\d+,"startTimeMillis":\d+\}/g, `"fiberId":{"_tag":"Runtime"}`) ?? null

/**
 * What this build stored is what 3.22 stored for the same step, byte for byte, but for an interrupt's fiber id
 * (whichever fiber it was; Effect 4 keeps no start time, so it writes 0 there).
 */
const assertSameStored = (actual: string | null, expected: string | null, what: string) =>
  assert.strictEqual(withoutFiberIds(actual), withoutFiberIds(expected), `${what}: stored ${actual}, 3.22 stored ${expected}`)

// Reading results -----------------------------------------------------------------------------

const workflowOf = (name: string): Workflow.Any => {
  const found = workflows.find((w) => w.name === name)
  if (found === undefined) throw new Error(`no workflow ${name}`)
  return found
}

/** The execution's Exit, decoded by its workflow's schemas through `poll`. */
const exitOf = (label: string) =>
  Effect.gen(function* () {
    const recorded = byLabel(label)
    const polled = yield* workflowOf(recorded.workflow).poll(recorded.executionId)
    if (Option.isNone(polled) || polled.value._tag !== "Complete") {
      return assert.fail(`${label} is not complete: ${JSON.stringify(polled)}`)
    }
    return polled.value.exit as Exit.Exit<unknown, unknown>
  })

const successOf = (label: string) =>
  Effect.map(exitOf(label), (exit) => {
    if (Exit.isFailure(exit)) return assert.fail(`${label} failed: ${Cause.pretty(exit.cause)}`)
    return exit.value
  })

const reasonsOf = (label: string) =>
  Effect.map(exitOf(label), (exit) => {
    if (Exit.isSuccess(exit)) return assert.fail(`${label} succeeded`)
    return exit.cause.reasons
  })

const errorOf = (label: string) =>
  Effect.map(reasonsOf(label), (reasons) => {
    assert.strictEqual(reasons.length, 1, `${label}: one reason`)
    const [reason] = reasons
    if (reason === undefined || !Cause.isFailReason(reason)) return assert.fail(`${label}: not a typed failure`)
    return reason.error
  })

const waitForStatus = (label: string, status: WorkflowStore.ExecutionStatus) =>
  waitUntil(
    Effect.zipWith(hasStatus(idOf(label), status), Effect.service(WorkflowEngine.WorkflowEngine), (is, engine) =>
      is && engine.activeRuns() === 0
    ),
    `${label} ${status}`
  )

const eventsOf = (label: string) => Effect.map(record(idOf(label)), (detail) => detail.events.map((e) => e.kind))

// The tests -----------------------------------------------------------------------------------

describe("upgrade from the Effect 3.22 build", () => {
  it.effect("the committed fixture is the recorded file, whole in one file (no -wal or -shm needed)", () =>
    Effect.sync(() => {
      assert.strictEqual(createHash("sha256").update(readFileSync(fixtureDb)).digest("hex"), manifest.sha256)
      assert.isFalse(existsSync(`${fixtureDb}-wal`))
      assert.isFalse(existsSync(`${fixtureDb}-shm`))
      assert.strictEqual(manifest.executions.length, manifest.tables.weft_executions!.length)
    }))

  it.effect("execution ids recompute from name and idempotency key, and the recorded v1 tokens still verify", () =>
    onCopy(() =>
      Effect.gen(function* () {
        for (const recorded of manifest.executions) {
          assert.strictEqual(Workflow.executionIdFor(recorded.workflow, recorded.idempotencyKey), recorded.executionId, recorded.label)
          if (recorded.token === undefined) continue
          const deferred = [Decision, Confirm, Printed].find((d) => d.name === recorded.tokenDeferred)!
          const claims = { workflow: recorded.workflow, executionId: recorded.executionId, deferred: deferred.name }
          assert.isTrue(recorded.token.startsWith("v1."), recorded.label)
          assert.deepStrictEqual(yield* DurableDeferred.readToken(recorded.token), claims, `the token of ${recorded.label}`)
          // Tokens minted today are v2 (a key id), under the same key: they name the same deferred.
          const token = yield* DurableDeferred.tokenFor(deferred, { workflow: recorded.workflow, executionId: recorded.executionId })
          assert.isTrue(token.startsWith("v2.default."), recorded.label)
          assert.deepStrictEqual(yield* DurableDeferred.readToken(token), claims, `today's token of ${recorded.label}`)
        }
        // The tokens handed out from inside the workflows under 3.22 are stored as the "notify" results.
        for (const label of ["approval-suspended-succeed", "approval-suspended-fail", "approval-completed"]) {
          const notify = (yield* record(idOf(label))).attempts.find((a) => a.name === "notify")
          assert.deepStrictEqual(notify?.exit, { _tag: "Success", value: tokenOf(label) })
        }
      })
    ))

  it.effect("opens the 3.22 database without rewriting a row: every table, row and index is as recorded", () =>
    onCopy(() =>
      Effect.gen(function* () {
        const sql = yield* Effect.service(SqlClient.SqlClient)
        // Let the engine start up fully (migrations ran when the layer was built; the timer loop looks around).
        yield* Effect.repeat(Effect.yieldNow, { times: 64 })
        yield* assertRecordedRowsUnchanged()
        for (const table of tableNames) {
          const rows = yield* rowsOf(table)
          if (table !== "weft_migrations") {
            assert.strictEqual(rows.length, manifest.tables[table]!.length, `rows of ${table}`)
            continue
          }
          // The migrations since the recording, each once, after the recorded ones.
          assert.deepStrictEqual(rows.slice(manifest.tables[table]!.length).map((row) => row.name), [...sinceRecording.migrations])
        }
        const schema = yield* sql.unsafe<Row>(
          "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
        )
        const own = schema.filter((row) => sinceRecording.objects.includes(String(row.name)))
        assert.deepStrictEqual(own.map((row) => row.name), [...sinceRecording.objects])
        assert.deepStrictEqual(schema.filter((row) => !own.includes(row)).map(schemaAsRecorded), manifest.schema)
        // Every execution reads back through the inspection API with its status and stored payload.
        for (const recorded of manifest.executions) {
          const detail = yield* record(recorded.executionId)
          assert.strictEqual(detail.execution.status, recorded.status, recorded.label)
          assert.strictEqual(detail.execution.workflow, recorded.workflow, recorded.label)
          assert.deepStrictEqual(
            detail.execution.payload,
            recorded.payload === "" ? undefined : JSON.parse(recorded.payload),
            recorded.label
          )
        }
      })
    ))

  it.effect("reads every stored payload, result and error back with its schema", () =>
    onCopy(() =>
      Effect.gen(function* () {
        // Payloads decode with their workflow's schema (a Date, an optional field left out, unicode, void).
        for (const recorded of manifest.executions) {
          const detail = yield* record(recorded.executionId)
          const schema = workflowOf(recorded.workflow).payloadSchema as Schema.Codec<unknown, unknown>
          yield* Effect.orDie(Schema.decodeUnknownEffect(schema)(detail.execution.payload))
        }
        const first = (yield* record(idOf("order-succeeded-note"))).execution.payload
        assert.deepStrictEqual(
          yield* Effect.orDie(Schema.decodeUnknownEffect(OrderPayload)(first)),
          {
            orderId: "bestellung-ß-1",
            placedAt: new Date("2026-11-30T12:34:56.789Z"),
            note: "Geschenk 🎁, bitte „schön“ verpacken",
            amount: 19.99,
            customer: "Zoë Ålander 山田"
          }
        )

        assert.deepStrictEqual(yield* successOf("order-succeeded-note"), {
          orderId: "bestellung-ß-1",
          total: 23.99,
          reservedAt: new Date("2026-12-01T08:00:00.000Z"),
          lines: ["sku-bestellung-ß-1", "Geschenk 🎁, bitte „schön“ verpacken", "Zoë Ålander 山田"],
          gift: true
        })
        assert.deepStrictEqual(yield* successOf("order-succeeded-plain"), {
          orderId: "order-2",
          total: 0.12,
          reservedAt: new Date("2026-12-01T08:00:00.000Z"),
          lines: ["sku-order-2", "—", "Bob"]
        })
        assert.strictEqual(yield* successOf("ping-void"), undefined)
        assert.strictEqual(
          yield* successOf("approval-completed"),
          "req-3: 120.5 approved by Grace Hopper at 2026-12-02T09:30:00.000Z"
        )

        const outOfStock = yield* errorOf("order-failed-typed")
        assert.instanceOf(outOfStock, OutOfStock)
        assert.deepStrictEqual({ ...(outOfStock as OutOfStock) }, { _tag: "OutOfStock", sku: "sku-oos-3", available: 0 })

        const [defect, ...more] = yield* reasonsOf("order-failed-defect")
        assert.strictEqual(more.length, 0)
        if (defect === undefined || !Cause.isDieReason(defect)) return assert.fail("boom-4 did not fail by a defect")
        assert.instanceOf(defect.defect, Error)
        assert.strictEqual((defect.defect as Error).message, "card processor crashed: ümlaut ✓")
        assert.strictEqual((defect.defect as Error).name, "Error")

        const interrupted = yield* reasonsOf("trip-interrupted")
        assert.isAbove(interrupted.length, 0)
        assert.isTrue(interrupted.every(Cause.isInterruptReason))

        // Every stored attempt and deferred decodes with the schemas of its activity or deferred.
        const decode = (schema: Schema.Top, value: unknown) =>
          Effect.orDie(Schema.decodeUnknownEffect(schema as Schema.Codec<unknown, unknown>)(value))
        for (const row of manifest.tables.weft_attempts!) {
          const name = row.name as string
          const schemas = activitySchemas(name)
          const exit = JSON.parse(row.exit as string)
          const what = `attempt ${name}#${row.attempt} of ${row.execution_id}`
          if (exit._tag === "Success") {
            yield* decode(schemas.success, exit.value)
          } else if (exit.cause._tag === "Fail") {
            assert.isDefined(schemas.error, what)
            assert.instanceOf(yield* decode(schemas.error!, exit.cause.error), schemas.error as any, what)
          } else {
            assert.deepStrictEqual(exit.cause, { _tag: "Die", defect: { name: "Error", message: "card processor crashed: ümlaut ✓" } }, what)
          }
        }
        for (const row of manifest.tables.weft_deferreds!) {
          const exit = JSON.parse(row.exit as string)
          assert.strictEqual(row.name, "decision")
          assert.deepStrictEqual(yield* decode(Decision.successSchema, exit.value), {
            approver: "Grace Hopper",
            at: new Date("2026-12-02T09:30:00.000Z")
          })
        }

        // Suspended ones poll as suspended.
        for (const recorded of manifest.executions.filter((e) => e.status === "suspended")) {
          const polled = yield* workflowOf(recorded.workflow).poll(recorded.executionId)
          assert.isTrue(Option.isSome(polled) && polled.value._tag === "Suspended", recorded.label)
        }
        // Reading wrote nothing.
        yield* assertRecordedRowsUnchanged()
      })
    ))

  it.effect("completes the suspended executions: tokens, an interrupt with compensations, timers, a retry backoff, a resume", () =>
    onCopy(() =>
      Effect.gen(function* () {
        ran.length = 0

        // The recorded tokens complete and fail the deferreds.
        yield* DurableDeferred.succeed(Decision, {
          token: tokenOf("approval-suspended-succeed"),
          value: { approver: "Ada Lovelace", at: new Date("2026-12-24T18:00:00.000Z") }
        })
        yield* waitForStatus("approval-suspended-succeed", "succeeded")
        assert.strictEqual(
          yield* successOf("approval-suspended-succeed"),
          "req-1: 120.5 approved by Ada Lovelace at 2026-12-24T18:00:00.000Z"
        )
        yield* DurableDeferred.fail(Decision, { token: tokenOf("approval-suspended-fail"), error: new Rejected({ reason: "over budget ✗" }) })
        yield* waitForStatus("approval-suspended-fail", "failed")
        const rejected = yield* errorOf("approval-suspended-fail")
        assert.instanceOf(rejected, Rejected)
        assert.strictEqual((rejected as Rejected).reason, "over budget ✗")

        // The linked child completes, and its parent with it.
        yield* DurableDeferred.succeed(Printed, { token: tokenOf("label-child"), value: "printer-7" })
        yield* waitForStatus("label-child", "succeeded")
        yield* waitForStatus("shipment-parent", "succeeded")
        assert.strictEqual(yield* successOf("shipment-parent"), "packed ship-1 / label ship-1 by printer-7")

        // Interrupted while suspended: the compensations registered under 3.22 run, newest first.
        yield* Trip.interrupt(idOf("trip-suspended-interrupt"))
        yield* waitForStatus("trip-suspended-interrupt", "interrupted")
        assert.deepStrictEqual(ran.splice(0), ["cancel book-hotel:trip-1", "cancel book-flight:trip-1"])
        assert.isTrue((yield* reasonsOf("trip-suspended-interrupt")).every(Cause.isInterruptReason))

        // Failed through its deferred: the compensations run, and it fails with the typed error.
        yield* DurableDeferred.fail(Confirm, { token: tokenOf("trip-suspended-fail"), error: new SoldOut({ item: "hotel" }) })
        yield* waitForStatus("trip-suspended-fail", "failed")
        assert.deepStrictEqual(ran.splice(0), ["cancel book-hotel:trip-2", "cancel book-flight:trip-2"])
        assert.instanceOf(yield* errorOf("trip-suspended-fail"), SoldOut)

        // The retry backoff stored by 3.22 fires: attempt 2 succeeds.
        assert.isTrue(yield* hasStatus(idOf("sync-mid-retry"), "suspended"))
        yield* TestClock.setTime(wakeOf("sync-mid-retry"))
        yield* waitForStatus("sync-mid-retry", "succeeded")
        assert.deepStrictEqual(yield* successOf("sync-mid-retry"), { synced: 42 })

        // The durable await timeout fires: None.
        assert.isTrue(yield* hasStatus(idOf("expense-timeout"), "suspended"))
        yield* TestClock.setTime(wakeOf("expense-timeout"))
        yield* waitForStatus("expense-timeout", "succeeded")
        assert.strictEqual(yield* successOf("expense-timeout"), "expired")

        // The 30-day sleep fires.
        assert.isTrue(yield* hasStatus(idOf("reminder-timer"), "suspended"))
        yield* TestClock.setTime(wakeOf("reminder-timer"))
        yield* waitForStatus("reminder-timer", "succeeded")
        assert.deepStrictEqual(ran.splice(0), ["remind user-λ"])

        // The execution that failed by a defect under 3.22 is resumed once the bug is fixed.
        yield* Order.resume(idOf("order-failed-defect"))
        yield* waitUntil(
          Effect.map(record(idOf("order-failed-defect")), (detail) => detail.clocks.some((c) => c.name === "@weft/clock/settle")),
          "boom-4 stored its settle clock"
        )
        yield* TestClock.adjust("5 millis")
        yield* waitForStatus("order-failed-defect", "succeeded")
        assert.deepStrictEqual(ran.splice(0), ["charge boom-4"])
        assert.deepStrictEqual(yield* successOf("order-failed-defect"), {
          orderId: "boom-4",
          total: 8.4,
          reservedAt: new Date("2026-12-01T08:00:00.000Z"),
          lines: ["sku-boom-4", "—", "Dmitri Дмитрий"]
        })

        // Every execution ended as it did under 3.22, storing what 3.22 stored.
        for (const expected of manifest.continuation.executions) {
          const detail = yield* record(expected.executionId)
          const what = expected.label
          assert.strictEqual(detail.execution.status, expected.status, `${what}: status`)
          const [row] = yield* Effect.flatMap(Effect.service(SqlClient.SqlClient), (sql) =>
            sql<{ payload: string; result: string | null }>`SELECT payload, result FROM weft_executions WHERE execution_id = ${expected.executionId}`
          )
          assert.strictEqual(row!.payload, expected.payload, `${what}: payload`)
          assertSameStored(row!.result, expected.result, `${what}: result`)
          const attempts = yield* Effect.flatMap(Effect.service(SqlClient.SqlClient), (sql) =>
            sql<{ name: string; attempt: number; exit: string }>`SELECT name, attempt, exit FROM weft_attempts WHERE execution_id = ${expected.executionId} ORDER BY rowid`
          )
          assert.deepStrictEqual(attempts.map((a) => `${a.name}#${a.attempt}`), expected.attempts.map((a) => `${a.name}#${a.attempt}`), `${what}: attempts`)
          attempts.forEach((a, i) => assertSameStored(a.exit, expected.attempts[i]!.exit, `${what}: attempt ${a.name}#${a.attempt}`))
          const deferreds = yield* Effect.flatMap(Effect.service(SqlClient.SqlClient), (sql) =>
            sql<{ name: string; exit: string }>`SELECT name, exit FROM weft_deferreds WHERE execution_id = ${expected.executionId} ORDER BY rowid`
          )
          assert.deepStrictEqual(deferreds.map((d) => d.name), expected.deferreds.map((d) => d.name), `${what}: deferreds`)
          deferreds.forEach((d, i) => assertSameStored(d.exit, expected.deferreds[i]!.exit, `${what}: deferred ${d.name}`))
          assert.deepStrictEqual(
            detail.clocks.map((c) => ({ name: c.name, wakeAt: c.wakeAt })),
            expected.clocks.map((c) => ({ name: c.name, wakeAt: Number(c.wakeAt) })),
            `${what}: clocks`
          )
          assert.deepStrictEqual(
            detail.events.map((e) => ({ kind: e.kind, detail: e.detail ?? null })),
            expected.events.map((e) => ({ kind: e.kind, detail: e.detail })),
            `${what}: events`
          )
        }
        assert.deepStrictEqual(yield* eventsOf("trip-suspended-interrupt"), [
          "started",
          "suspended",
          "interrupt-requested",
          "compensated",
          "interrupted"
        ])
        // What 3.22 stored is all still there, unchanged: journal rows were only added, and only the execution
        // rows of those that went on (the suspended ones, and boom-4, resumed) were updated.
        const wentOn = new Set([
          ...manifest.executions.filter((e) => e.status === "suspended").map((e) => e.executionId),
          idOf("order-failed-defect")
        ])
        yield* assertRecordedRowsUnchanged((table, row) => table === "weft_executions" && wentOn.has(row.execution_id as string))
      })
    ))
})
