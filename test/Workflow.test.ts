import * as Layer from "effect/Layer"
import { WorkflowEngine } from "@weft/workflow"
import { engineSuite } from "./suites/engineSuite.js"

engineSuite("memory", (hooks) => WorkflowEngine.layerMemoryWith().pipe(Layer.provide(hooks ?? Layer.empty)))
