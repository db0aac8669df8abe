// @ts-check
/** The permission catalogue the console offers (roles' grid, a user's Check access form). */

/** @type {Promise<{ resources: string[], actions: string[] }> | undefined} */
let catalogue;

/**
 * What a role can grant, read from the API's own OpenAPI document (the server's catalogue), so
 * the console never lists a permission the API would refuse.
 */
export function permissionCatalogue() {
  catalogue ??= fetch("/api/v1/openapi.json")
    .then((response) => {
      if (!response.ok) throw new Error(`The permission catalogue could not be read (HTTP ${response.status}). Try again.`);
      return response.json();
    })
    .then((doc) => ({
      resources: Object.keys(doc.components.schemas.Permissions.properties),
      actions: /** @type {string[]} */ (doc.components.schemas.Action.enum),
    }))
    .catch((err) => {
      catalogue = undefined; // the next click tries again
      throw err instanceof TypeError ? new Error("Cannot reach the service. Check your connection and try again.") : err;
    });
  return catalogue;
}
