/**
 * scim-edge: builds the app, mounts the routers, exports the handlers and the Durable Object class.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { consoleRoutes } from "./admin/console";
import { adminRoutes } from "./admin/routes";
import type { AppEnv } from "./app-env";
import { renderError, renderNotFound } from "./errors";
import { requestLog } from "./observability";
import { LIMITS } from "./scim/model/limits";
import { scheduled } from "./scheduled";
import { canonicalPath, SCIM_MOUNT } from "./scim/http/paths";
import { scimRoutes } from "./scim/http/routes";

export { TenantMover } from "./admin/tenant-mover";
export { IntegrationWriter } from "./scim/writer/integration-writer";

const app = new Hono<AppEnv>({ getPath: canonicalPath });

// The request id is always the server's own (a client's X-Request-Id is logged apart as its
// correlation id): audit rows and logs must not carry identifiers a client chose.
app.use(requestId({ headerName: "" }));
app.use(requestLog());
app.use(secureHeaders({ xFrameOptions: "DENY" }));
app.use(
  bodyLimit({
    maxSize: LIMITS.maxPayloadSize,
    onError: () => {
      throw new HTTPException(413, { message: `The request body is larger than ${LIMITS.maxPayloadSize} bytes.` });
    },
  }),
);

// SCIM first: its catch-all answers every path under …/scim/v2 in SCIM's own error format.
app.route(SCIM_MOUNT, scimRoutes);
app.route("/api/v1", adminRoutes);
app.route("/ui", consoleRoutes);
// A person who opens the service's address wants the console.
app.get("/", (c) => c.redirect("/ui/", 302));

app.onError(renderError);
app.notFound(renderNotFound);

export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>;
