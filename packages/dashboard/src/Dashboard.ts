/**
 * The Weft dashboard: one HTML page with its script and style, and the JSON routes it reads (executions, one
 * execution's trace) and posts to (operator actions), added to Effect's HTTP router under a path of your choice.
 */
import type * as Layer from "effect/Layer"
import type * as HttpRouter from "effect/http/HttpRouter"
import type { WorkflowEngine } from "@weft/workflow"
import type * as DashboardAction from "./DashboardAction.js"
import type * as DashboardPolicy from "./DashboardPolicy.js"
import * as Routes from "./internal/routes.js"

/** How the dashboard is mounted and bounded. */
export interface Options {
  /**
   * Who may see it and act from it. Without a policy every route answers 403 with a message saying so: nothing is
   * readable and no action possible.
   */
  readonly policy?: DashboardPolicy.Policy | undefined
  /** Where it is mounted: `"/"` (the default) or a path such as `"/weft"` (the page is then `/weft/`). */
  readonly path?: `/${string}` | undefined
  /** The operator actions offered (default `DashboardAction.defaults`: interrupt and resume). */
  readonly actions?: ReadonlyArray<DashboardAction.Action> | undefined
  /** The largest action body read; a larger one answers 413. Default 8 KiB. */
  readonly maxBodyBytes?: number | undefined
  /** How often the page refreshes what it shows, in milliseconds. Default 2000. */
  readonly refreshMs?: number | undefined
  /** The page's title. Default "Weft". */
  readonly title?: string | undefined
}

/**
 * Adds the dashboard's routes to the HTTP router, over the engine in context. Serve it with `HttpRouter.serve`
 * beside your own routes.
 *
 * @example
 * const DashboardLive = Dashboard.layer({
 *   path: "/weft",
 *   policy: DashboardPolicy.make((request) => Effect.succeed(request.headers["x-admin"] === "yes"))
 * })
 */
export const layer = (
  options: Options = {}
): Layer.Layer<never, never, HttpRouter.HttpRouter | WorkflowEngine.WorkflowEngine> => Routes.layer(options)
