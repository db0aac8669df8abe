/** RFC 9457 problem details, the error format of the admin JSON API. */

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** Thrown anywhere under an admin route; rendered by `renderError` as problem+json. */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = "ProblemError";
  }
}

/** The JSON body of a problem: `type` is left as about:blank, so `title` is the status phrase. */
export function problemBody(status: number, detail: string, extra: Record<string, unknown> = {}) {
  return { type: "about:blank", title: TITLES[status] ?? "Error", status, detail, ...extra };
}

/**
 * The 409 of a change to what a provisioning integration owns (its token, its SCIMProvisioner
 * binding): made directly, it would break provisioning while the integration still shows enabled.
 */
export function managedByIntegration(what: string, tenantId: string, integration: { integrationId: string; integrationName: string }): ProblemError {
  const path = `/api/v1/${tenantId}/integrations/${integration.integrationId}`;
  return new ProblemError(
    409,
    `${what} belongs to the provisioning integration '${integration.integrationName}': change it there (Provisioning in the console; POST ${path}/token rotates its token, DELETE ${path} removes the integration with its token and binding).`,
    { integrationId: integration.integrationId },
  );
}
