import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Tests run inside workerd with the project's real bindings (local D1, KV, Durable Object, rate limiters).
export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            ADMIN_API_KEY: "test-admin-key",
            JWT_SECRET: "test-jwt-secret-0123456789abcdef0123456789",
            MFA_ENCRYPTION_KEY: "dGVzdC1tZmEta2V5LTMyLWJ5dGVzLWxvbmctMTIzNDU=",
            SIGNING_KEY: JSON.stringify({
              kty: "EC",
              crv: "P-256",
              x: "HtW704ALfZPxxGG-XzZv7yVOq32_X7s1ZsY07wX_uaU",
              y: "pzpm2WsmXOrVvzhYfI45UL25TE55UTwljswte2JceOo",
              d: "3hl1bIL2FCzoR9wTBXN6CEyjZ_2Xu3jPMSv5kP0oEME",
              kid: "test-1",
            }),
          },
        },
      }),
    ],
    test: {
      setupFiles: ["./test/setup.ts"],
      include: ["test/**/*.test.ts"],
      // The Feathers client packages are CommonJS that require each other: pre-bundled together, so that the
      // error classes a test imports are the ones the rest client throws (one @feathersjs/errors instance).
      deps: {
        optimizer: {
          ssr: {
            enabled: true,
            include: [
              "@feathersjs/feathers",
              "@feathersjs/rest-client",
              "@feathersjs/authentication-client",
              "@feathersjs/errors",
            ],
          },
        },
      },
    },
  };
});
