import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Layer from "effect/Layer"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import { engineSuite } from "./suites/engineSuite.js"

let n = 0
const dir = join(tmpdir(), `weft-sqlite-${process.pid}`)

engineSuite("sqlite", (hooks, options) =>
  SqliteEngine.layer({ ...options, filename: join(dir, `engine-${n++}.db`) }).pipe(Layer.provide(hooks ?? Layer.empty))
)
