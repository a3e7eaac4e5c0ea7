/**
 * @weft/dashboard: a web page over the inspection API (executions, their trace as a timeline, operator actions),
 * served by a Layer on Effect's HTTP router, in your app or standalone (`weft dashboard`).
 */
export * as Dashboard from "./Dashboard.js"
export * as DashboardAction from "./DashboardAction.js"
export * as DashboardPolicy from "./DashboardPolicy.js"
