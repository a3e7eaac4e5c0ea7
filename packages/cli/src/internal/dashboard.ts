/**
 * `weft dashboard`: serves @weft/dashboard over the selected database until stopped, on 127.0.0.1 unless told
 * otherwise, and only with a token (`--token` or `WEFT_DASHBOARD_TOKEN`) that every read and action must carry.
 */
import { createServer } from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServer from "effect/http/HttpServer"
import { Dashboard, DashboardPolicy } from "@weft/dashboard"
import { CommandError } from "../CommandError.js"
import * as Database from "../Database.js"
import { Json, report } from "./command.js"

/** `weft dashboard [--token <t>] [--host 127.0.0.1] [--port 4400]`. */
export const dashboard = Command.make("dashboard", {
  token: Flag.Redacted("token").pipe(
    Flag.withDescription("The token the page asks for (default: WEFT_DASHBOARD_TOKEN); at least 16 characters"),
    Flag.optional
  ),
  host: Flag.String("host").pipe(
    Flag.withDescription("The address to listen on (default 127.0.0.1: this machine only)"),
    Flag.withDefault("127.0.0.1")
  ),
  port: Flag.Int("port").pipe(Flag.withDescription("The port to listen on (default 4400)"), Flag.withDefault(4400))
}, ({ host, port, token }) =>
  Effect.gen(function*() {
    const json = yield* Json
    const result = yield* Effect.exit(Effect.gen(function*() {
      const secret = yield* tokenOf(token)
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        return yield* new CommandError({ reason: "Usage", message: `--port must be from 0 to 65535, got ${port}` })
      }
      const target = yield* Database.target
      const engine = Database.engine(target, yield* Database.signingKey)
      const server = HttpRouter.serve(
        Dashboard.layer({ policy: DashboardPolicy.bearerToken(secret) }),
        { disableListenLog: true, disableLogger: true }
      ).pipe(
        Layer.provide(engine),
        Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host }))
      )
      yield* Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(server).pipe(
          Effect.mapError((error) =>
            error instanceof CommandError ? error : new CommandError({
              reason: "Failed",
              message: `Could not serve the dashboard on ${host}:${port}: ${messageOf(error)}`
            })
          )
        )
        const address = HttpServer.formatAddress(Context.get(context, HttpServer.HttpServer).address)
        yield* Console.log(
          json
            ? JSON.stringify({ url: `${address}/`, database: Database.describe(target) })
            : `Weft dashboard on ${address}/ (${Database.describe(target)}); sign in with your token. Ctrl-C stops it.`
        )
        if (!isLoopback(host)) {
          yield* Console.error(`weft: the dashboard listens on ${host}, beyond this machine: put it behind TLS`)
        }
        return yield* Effect.never
      }))
    }))
    if (result._tag === "Success") return
    if (Cause.hasInterruptsOnly(result.cause)) return yield* Effect.interrupt
    return yield* Effect.fail(yield* report(result.cause, json))
  })).pipe(Command.withDescription("Serve the web dashboard (executions, their timelines, interrupt and resume)"))

/** The token from `--token`, else `WEFT_DASHBOARD_TOKEN`; none, or a short one, is a usage error. */
const tokenOf = (
  flag: Option.Option<Redacted.Redacted<string>>
): Effect.Effect<Redacted.Redacted<string>, CommandError> =>
  Effect.gen(function*() {
    const env = yield* Config.option(Config.Redacted("WEFT_DASHBOARD_TOKEN")).pipe(
      Effect.orElseSucceed(() => Option.none())
    )
    const token = Option.orElse(flag, () => Option.filter(env, (value) => Redacted.value(value) !== ""))
    if (Option.isNone(token)) {
      return yield* new CommandError({
        reason: "Usage",
        message: "weft dashboard needs a token: give --token <secret> or set WEFT_DASHBOARD_TOKEN"
      })
    }
    if (Redacted.value(token.value).length < 16 || !/^[\x21-\x7e]+$/.test(Redacted.value(token.value))) {
      return yield* new CommandError({
        reason: "Usage",
        message: "The dashboard token must be at least 16 printable characters without spaces"
      })
    }
    return token.value
  })

const isLoopback = (host: string): boolean => host === "localhost" || host === "::1" || host.startsWith("127.")

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === "object" && error !== null && "message" in error
    ? String((error as { message: unknown }).message)
    : String(error)
