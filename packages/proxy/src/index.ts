/**
 * @weft/proxy: workflows as typed RPC (effect/rpc) and HTTP (effect/http-api HttpApi) APIs.
 */
export * as WorkflowProxy from "./WorkflowProxy.js"
export * as WorkflowProxyServer from "./WorkflowProxyServer.js"
