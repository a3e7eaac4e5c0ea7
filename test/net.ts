/**
 * Network helpers for tests.
 */
import { createServer } from "node:net"

/** A port nothing listens on right now (bound on 127.0.0.1, then closed): for a server to start on, or to find refused. */
export const freePort = (): Promise<number> =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })
