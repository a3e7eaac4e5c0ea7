import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { PgEngine } from "@weft/engine-sql/pg"
import { testDatabase } from "./pg.js"
import { engineSuite } from "./suites/engineSuite.js"

engineSuite("postgres", (hooks, options) =>
  Layer.unwrap(
    Effect.map(testDatabase(), (url) =>
      PgEngine.layer({ ...options, url, maxConnections: 4 })
    )
  ).pipe(Layer.provide(hooks ?? Layer.empty))
)
