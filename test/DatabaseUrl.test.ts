/**
 * A bad `DATABASE_URL` says what is wrong: connection refused, host not found, database missing, bad credentials,
 * malformed URL (not a URL, a bad port, percent-encoding or parameter: what the drivers would refuse). Causes retrying
 * cannot fix fail at once (no tries of `connectRetry`); a refused connection (a database still starting) is tried
 * again. No error shows a password, in the authority or the query string, however odd its characters.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import { inject } from "vitest"
import { PgEngine } from "@weft/engine-sql/pg"
import { freePort } from "./net.js"

const SECRET = "hunter2-secret"

/** Builds the engine on `url`, retried twice, counting the retries; its error and that count. */
const open = (url: string) =>
  Effect.gen(function* () {
    let retries = 0
    const connectRetry = Schedule.recurs(2).pipe(Schedule.tap(() => Effect.sync(() => retries++)))
    const error = yield* Effect.flip(Effect.scoped(Layer.build(PgEngine.layer({ url, connectRetry }))))
    return { error, retries }
  })

/**
 * Builds the engine on `url` with a retry an hour away: an error retrying cannot fix must come back at once, so
 * a build still going after 30 s (it waits for its retry) fails the test.
 */
const openOnce = (url: string) =>
  Effect.scoped(Layer.build(PgEngine.layer({ url, connectRetry: Schedule.spaced("1 hour") }))).pipe(
    Effect.flip,
    Effect.timeoutOrElse({ duration: "30 seconds", orElse: () => Effect.die(new Error(`${url} was retried`)) })
  )

/** The shared test server's URL with another path, user or password. */
const variant = (edit: (url: URL) => void) => {
  const url = new URL(inject("pgUrl"))
  edit(url)
  return url.toString()
}

describe("a bad database URL", () => {
  it.live("connection refused: says so, and is tried again (the database may be starting)", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      const { error, retries } = yield* open(`postgres://weft:${SECRET}@127.0.0.1:${port}/db?password=${SECRET}`)
      assert.strictEqual(error.reason, "StoreUnavailable")
      assert.match(error.message, /connection refused/)
      assert.include(error.message, `127.0.0.1:${port}`)
      assert.notInclude(error.message, SECRET)
      assert.strictEqual(retries, 2)
    }))

  it.live("host not found: says so at once, without retrying", () =>
    Effect.gen(function* () {
      const error = yield* openOnce(`postgres://weft:${SECRET}@no-such-host.invalid:5432/db`)
      assert.match(error.message, /host not found/)
      assert.include(error.message, "no-such-host.invalid")
      assert.notInclude(error.message, SECRET)
    }))

  it.live("database missing: says which, at once, without retrying", () =>
    Effect.gen(function* () {
      const error = yield* openOnce(variant((url) => (url.pathname = "/weft_no_such_database")))
      assert.match(error.message, /database missing: database "weft_no_such_database" does not exist/)
    }))

  it.live("malformed URL: a typed error naming the field and what was expected, the password redacted", () =>
    Effect.gen(function* () {
      for (const url of [`postgres://weft:${SECRET}@[bad/db`, "not a url at all", `mysql://weft:${SECRET}@localhost/db`]) {
        const error = yield* openOnce(url)
        assert.strictEqual(error.reason, "StoreUnavailable")
        assert.match(error.message, /malformed URL/)
        assert.strictEqual(error.field, "url")
        assert.strictEqual(error.expected, "postgres://user:password@host:port/database")
        assert.notInclude(error.message, SECRET)
      }
    }))

  it.live("a URL the drivers cannot read fails at once, not after the connect retries, and says what is wrong", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      const cases: ReadonlyArray<readonly [string, RegExp]> = [
        ["postgres://:@:::/x", /not a URL/],
        ["not a url", /not a URL/],
        ["", /empty/],
        [`postgres://weft:${SECRET}@127.0.0.1:99999/db`, /not a URL/],
        [`postgres://weft:${SECRET}@127.0.0.1:abc/db`, /not a URL/],
        [`postgres://weft:${SECRET}@127.0.0.1:0/db`, /the port is 0/],
        [`postgres://weft:%zz${SECRET}@127.0.0.1:${port}/db`, /the password has a bad percent-encoding/],
        [`postgres://weft@127.0.0.1:${port}/db?password=${SECRET}&sslmode=bogus`, /sslmode "bogus" is not one of/],
        [`postgres://weft@127.0.0.1:${port}/db?port=none&password=${SECRET}`, /the port parameter is not a port/],
        [`postgres://weft@127.0.0.1:${port}/db?connect_timeout=soon`, /connect_timeout is not a whole number/],
        [`weft:${SECRET}@127.0.0.1:${port}/db`, /the scheme is "weft:"/]
      ]
      for (const [url, problem] of cases) {
        // A retry an hour away: an error that waited for the retries never comes back.
        const error = yield* openOnce(url)
        assert.strictEqual(error.reason, "StoreUnavailable", url)
        assert.strictEqual(error.field, "url", url)
        assert.match(error.message, /^Could not open PostgreSQL: malformed URL /, url)
        assert.match(error.message, problem, url)
        assert.notInclude(error.message, SECRET, url)
        assert.notInclude(error.message, "zz", url)
      }
    }))

  it.live("no error shows a password: a query-string password, one holding @, /, ? or a space, a bad URL's", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      const at = `127.0.0.1:${port}`
      for (const url of [
        `postgres://weft@${at}/db?password=${SECRET}`,
        `postgres://weft@${at}/db?sslmode=disable&password=${SECRET}&application_name=x`,
        `postgres://weft@${at}/db?PassWord=${SECRET}`,
        `postgres://weft:p@ss-${SECRET}@${at}/db`,
        `postgres://weft:pa ss-${SECRET}@${at}/db`,
        `postgresql://weft:${SECRET}@${at}/db?sslpassword=${SECRET}`
      ]) {
        const { error } = yield* open(url)
        assert.match(error.message, /connection refused/, url)
        assert.include(error.message, at, url)
        assert.notInclude(error.message, SECRET, url)
        assert.notInclude(error.message, "ss-", url)
      }
      // Malformed ones are shown too, as masked as the rest.
      for (const url of [`postgres://weft:pa/ss-${SECRET}@${at}/db`, `postgres://weft:pa?ss-${SECRET}@${at}/db`]) {
        const error = yield* openOnce(url)
        assert.match(error.message, /malformed URL "postgres:\/\/weft:\*\*\*@127\.0\.0\.1:\d+\/db"/, url)
        assert.notInclude(error.message, SECRET, url)
      }
    }))
})

