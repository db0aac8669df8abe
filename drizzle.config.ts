import { defineConfig } from "drizzle-kit";

// Flat SQL files in drizzle/, the layout `wrangler d1 migrations apply` reads.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./drizzle",
  migrations: { prefix: "index" },
});
