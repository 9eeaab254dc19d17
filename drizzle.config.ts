import { defineConfig } from "drizzle-kit";

// Generates SQL migrations into migrations/ from src/db/schema.ts; wrangler applies them
// (`npm run db:migrate:local`, `npm run db:migrate:remote`).
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
