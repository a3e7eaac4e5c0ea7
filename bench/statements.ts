/**
 * Counts the statements the SQL drivers execute, so the bench can report round trips per activity
 * without touching the store. It patches the drivers once per process:
 *
 * - `pg`: `Client.prototype.query`, which every statement of the engine's `PgDriver` goes through
 *   (pooled or not, the heartbeat's and LISTEN connections too). One call is one round trip (parse,
 *   bind and execute are pipelined), BEGIN and COMMIT included. `@effect/sql-pg` 4's `PgClient` (the
 *   `SqlClient` of `PgEngine.layer`: your queries and transactional activities) speaks the protocol itself
 *   and is not counted there; no workload uses it. A `PgClient` of your own is counted when its
 *   connections come from `pgStream` (its `stream` option): the counter reads the wire protocol.
 * - better-sqlite3: the statement methods (`run`, `all`, `get`, `iterate`); `@weft/engine-sql`'s
 *   SqliteClient prepares every statement, BEGIN and COMMIT included. In-process, so a statement is a
 *   call, not a round trip.
 *
 * A commit is a COMMIT, or a writing statement outside a transaction that changed a row (one that
 * changed nothing has no transaction to flush): with `synchronous_commit = on` (PostgreSQL) or WAL
 * with `synchronous = FULL` (SQLite's default), each one waits for a flush to disk.
 */
import { createRequire } from "node:module"
import * as Net from "node:net"
import type { Duplex } from "node:stream"
import Pg from "pg"

/** Totals since the process started; subtract two to count a stretch. */
export interface Tally {
  readonly statements: number
  readonly commits: number
  /** Statements by their kind (see `kindOf`). */
  readonly byKind: ReadonlyMap<string, number>
}

let statements = 0
let commits = 0
const byText = new Map<string, number>()
const inTransaction = new WeakSet<object>()
const WRITE = /^\s*(?:INSERT|UPDATE|DELETE|WITH\b[\s\S]*\b(?:INSERT|UPDATE|DELETE)\b)/i

/** Counts a statement; true when it is a write outside a transaction, a commit if it changes a row. */
const count = (connection: object, text: string): boolean => {
  statements++
  byText.set(text, (byText.get(text) ?? 0) + 1)
  if (/^\s*BEGIN/i.test(text)) inTransaction.add(connection)
  else if (/^\s*COMMIT/i.test(text)) {
    if (inTransaction.delete(connection)) commits++
  } else if (/^\s*ROLLBACK\s*$/i.test(text)) inTransaction.delete(connection)
  else return !inTransaction.has(connection) && WRITE.test(text)
  return false
}

/** Statements sent and not answered yet (with `pg`, from the pool's hand-out of a connection on). */
let unanswered = 0

/** How many counted statements are in flight: 0 when every one sent has been answered. */
export const inFlight = (): number => unanswered

let heard = 0

/** How many notifications (LISTEN/NOTIFY) `pg` connections have received. */
export const notifications = (): number => heard

let installed = false

/** Patches both drivers; idempotent. */
export const install = (): void => {
  if (installed) return
  installed = true
  const query = Pg.Client.prototype.query as (...args: Array<any>) => any
  const emit = Pg.Client.prototype.emit as (...args: Array<any>) => boolean
  Pg.Client.prototype.emit = function (this: Pg.Client, event: string | symbol, ...args: Array<any>) {
    if (event === "notification") heard++
    return emit.call(this, event, ...args)
  } as typeof Pg.Client.prototype.emit
  const poolQuery = Pg.Pool.prototype.query as (...args: Array<any>) => any
  Pg.Pool.prototype.query = function (this: Pg.Pool, ...args: Array<any>) {
    const i = args.length - 1
    if (typeof args[i] === "function") {
      const callback = args[i] as (...results: Array<unknown>) => void
      unanswered++
      args[i] = (...results: Array<unknown>) => {
        unanswered--
        callback(...results)
      }
    }
    return poolQuery.apply(this, args)
  } as typeof Pg.Pool.prototype.query
  Pg.Client.prototype.query = function (this: Pg.Client, ...args: Array<any>) {
    const config = args[0]
    const text = typeof config === "string" ? config : typeof config?.text === "string" ? config.text : ""
    if (count(this, text)) {
      // An autocommit write: a commit that flushes only if it changed a row (else no transaction id).
      const i = args.length - 1
      if (typeof args[i] !== "function") commits++
      else {
        const callback = args[i] as (error: unknown, result: any) => void
        args[i] = (error: unknown, result: any) => {
          if (error == null && (result?.rowCount ?? 0) > 0) commits++
          callback(error, result)
        }
      }
    }
    return query.apply(this, args)
  } as typeof Pg.Client.prototype.query

  const require = createRequire(import.meta.url)
  const Database = require("better-sqlite3") as new(filename: string) => any
  const db = new Database(":memory:")
  const proto = Object.getPrototypeOf(db.prepare("SELECT 1"))
  db.close()
  const changed: Record<string, (result: any) => boolean> = {
    run: (info) => (info?.changes ?? 0) > 0,
    all: (rows) => Array.isArray(rows) && rows.length > 0,
    get: (row) => row !== undefined,
    iterate: () => true
  }
  for (const method of Object.keys(changed)) {
    const original = proto[method] as (...args: Array<any>) => any
    proto[method] = function (this: { readonly database: object; readonly source: string }, ...args: Array<any>) {
      const write = count(this.database, this.source)
      const result = original.apply(this, args)
      if (write && changed[method]!(result)) commits++
      return result
    }
  }
}

/** The totals so far. `byKind` is computed on demand: take it outside measured stretches. */
export const tally = (withKinds = false): Tally => {
  const kinds = new Map<string, number>()
  if (withKinds) {
    for (const [text, n] of byText) {
      const kind = kindOf(text)
      kinds.set(kind, (kinds.get(kind) ?? 0) + n)
    }
  }
  return { statements, commits, byKind: kinds }
}

/** What happened between two tallies. */
export const since = (before: Tally, after: Tally = tally(before.byKind.size > 0)): Tally => {
  const kinds = new Map<string, number>()
  for (const [kind, n] of after.byKind) {
    const delta = n - (before.byKind.get(kind) ?? 0)
    if (delta !== 0) kinds.set(kind, delta)
  }
  return { statements: after.statements - before.statements, commits: after.commits - before.commits, byKind: kinds }
}

/**
 * A statement's kind: its verb and the first table it names, e.g. `INSERT weft_attempts`, `BEGIN`,
 * `SELECT pg_notify`, `WITH…UPDATE weft_executions` (the PostgreSQL claim).
 */
export const kindOf = (text: string): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  const verb = (flat.match(/^\w+/)?.[0] ?? "?").toUpperCase()
  if (verb === "BEGIN" || verb === "COMMIT" || verb === "ROLLBACK" || verb === "SAVEPOINT") return verb
  if (/^SELECT pg_notify/i.test(flat)) return "SELECT pg_notify"
  const table = flat.match(/\bweft_\w+/)?.[0] ?? flat.match(/\bbench_\w+/)?.[0] ?? ""
  if (verb === "WITH") {
    const inner = flat.match(/\b(INSERT|UPDATE|DELETE)\b/i)?.[1]?.toUpperCase() ?? "SELECT"
    return `WITH…${inner} ${table}`.trim()
  }
  // A read of an execution that also gathers its journal (the claim on SQLite, `detail`).
  if (verb === "SELECT" && /json_(group_array|agg)/i.test(flat)) return `SELECT ${table}+journal`
  return `${verb} ${table}`.trim()
}

/**
 * A TCP connection to `url`'s server for `@effect/sql-pg`'s `PgClient` (its `stream` option) that counts
 * what goes over it as `install` counts `pg`'s statements: each Execute (extended protocol) or Query
 * (simple protocol) is a statement; a COMMIT, or a write outside a transaction whose CommandComplete
 * reports a row, is a commit.
 */
export const pgStream = (url: string) => (): Duplex => {
  const { hostname, port } = new URL(url)
  const socket = Net.connect({ host: hostname, port: Number(port || 5432), noDelay: true })
  const wire = new Wire(socket)
  const write = socket.write.bind(socket) as (...args: Array<any>) => boolean
  socket.write = ((chunk: unknown, ...rest: Array<any>) => {
    if (typeof chunk !== "string") wire.sent(chunk as Uint8Array)
    return write(chunk, ...rest)
  }) as typeof socket.write
  socket.on("data", (chunk: Uint8Array) => wire.received(chunk))
  socket.on("close", () => wire.closed())
  return socket
}

/** What awaits an answer: a statement (CommandComplete or an error answers it) or a Sync or Query (ReadyForQuery). */
type Awaited = { readonly kind: "execute"; readonly write: boolean } | { readonly kind: "sync" }

/** One connection's protocol state: the texts of its prepared statements and portals, and what awaits an answer. */
class Wire {
  private out: Buffer = Buffer.alloc(0)
  private in: Buffer = Buffer.alloc(0)
  private started = false
  private readonly statements = new Map<string, string>()
  private readonly portals = new Map<string, string>()
  private readonly awaiting: Array<Awaited> = []
  constructor(readonly connection: object) {}

  sent(chunk: Uint8Array): void {
    this.out = Buffer.concat([this.out, chunk])
    if (!this.started) {
      // The startup message has no type byte.
      if (this.out.length < 4) return
      const length = this.out.readInt32BE(0)
      if (this.out.length < length) return
      this.out = this.out.subarray(length)
      this.started = true
    }
    while (this.out.length >= 5) {
      const length = this.out.readInt32BE(1)
      if (this.out.length < 1 + length) return
      const type = String.fromCharCode(this.out[0]!)
      const body = this.out.subarray(5, 1 + length)
      this.out = this.out.subarray(1 + length)
      const [first, second] = cstrings(body, 2)
      if (type === "P") this.statements.set(first!, second!)
      else if (type === "B") this.portals.set(first!, this.statements.get(second!) ?? "")
      else if (type === "E") this.expect(this.portals.get(first!) ?? "")
      else if (type === "S") this.push({ kind: "sync" })
      else if (type === "Q") {
        this.expect(first!)
        this.push({ kind: "sync" })
      }
    }
  }

  received(chunk: Uint8Array): void {
    this.in = Buffer.concat([this.in, chunk])
    while (this.in.length >= 5) {
      const length = this.in.readInt32BE(1)
      if (this.in.length < 1 + length) return
      const type = String.fromCharCode(this.in[0]!)
      const body = this.in.subarray(5, 1 + length)
      this.in = this.in.subarray(1 + length)
      const head = this.awaiting[0]
      if (type === "C" || type === "I" || type === "s") {
        if (head?.kind !== "execute") continue
        this.shift()
        const rows = Number(cstrings(body, 1)[0]!.split(" ").at(-1))
        if (type === "C" && head.write && rows > 0) commits++
      } else if (type === "E") {
        // After an error the server skips to the next Sync: the statements before it get no answer.
        while (this.awaiting[0]?.kind === "execute") this.shift()
      } else if (type === "Z" && head?.kind === "sync") this.shift()
    }
  }

  closed(): void {
    while (this.awaiting.length > 0) this.shift()
  }

  private expect(text: string) {
    this.push({ kind: "execute", write: count(this.connection, text) })
  }

  private push(entry: Awaited) {
    if (entry.kind === "execute") unanswered++
    this.awaiting.push(entry)
  }

  private shift() {
    if (this.awaiting.shift()?.kind === "execute") unanswered--
  }
}

/** The first `n` NUL-terminated strings of a message body. */
const cstrings = (body: Buffer, n: number): Array<string> => {
  const found: Array<string> = []
  let at = 0
  while (found.length < n && at < body.length) {
    const end = body.indexOf(0, at)
    if (end < 0) break
    found.push(body.toString("utf8", at, end))
    at = end + 1
  }
  return found
}
