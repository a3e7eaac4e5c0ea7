import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { inject } from "vitest"
import { PgEngine } from "@weft/engine-sql/pg"
import { freshDatabase } from "./pg.js"
import { engineSuite } from "./suites/engineSuite.js"

engineSuite("postgres", (hooks, options) =>
  Layer.unwrap(
    Effect.map(Effect.promise(() => freshDatabase(inject("pgUrl"))), (url) =>
      PgEngine.layer({ ...options, url, maxConnections: 4 })
    )
  ).pipe(Layer.provide(hooks ?? Layer.empty))
)
