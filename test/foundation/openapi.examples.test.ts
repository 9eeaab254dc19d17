/**
 * The OpenAPI document as tools read it: every operation has a unique camelCase operationId and a
 * security requirement (`[]` when public), every documented pattern is a flagless ECMA-262 pattern that
 * accepts the seeds' values, every example validates against its own schema, and the request examples
 * are requests the worker accepts (the reference page at /docs sends them as they are).
 */
import { Validator } from "@cfworker/json-schema";
import { describe, expect, it } from "vitest";
import { EXAMPLES } from "../../src/lib/openapi-examples";
import { call, createClinic, json } from "../helpers";

type Json = Record<string, unknown>;
interface Doc {
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
}

async function documentOf(): Promise<Doc> {
  const res = await call("GET", "/openapi.json");
  expect(res.status).toBe(200);
  return json<Doc>(res);
}

const METHODS = new Set(["get", "put", "post", "delete", "patch", "head", "options"]);

function operations(doc: Doc): { method: string; path: string; op: Json }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.has(method))
      .map(([method, op]) => ({ method, path, op })),
  );
}

/** Every value under `node` with its JSON pointer. */
function* walk(node: unknown, pointer = ""): Generator<[string, Json]> {
  if (node === null || typeof node !== "object") return;
  if (!Array.isArray(node)) yield [pointer, node as Json];
  for (const [key, value] of Object.entries(node)) yield* walk(value, `${pointer}/${key}`);
}

/** A validator for `schema`, whose `#/components/schemas/…` references resolve in the document. */
function validatorFor(doc: Doc, schema: unknown): Validator {
  const rewrite = (s: unknown) =>
    JSON.parse(JSON.stringify(s).replaceAll('"#/components/schemas/', '"#/$defs/')) as Json;
  return new Validator({ ...rewrite(schema), $defs: rewrite(doc.components.schemas) }, "2020-12", false);
}

/** The examples of the document and the schema each must satisfy. */
function examplesOf(doc: Doc): { where: string; schema: unknown; value: unknown }[] {
  const out: { where: string; schema: unknown; value: unknown }[] = [];
  for (const [pointer, node] of walk(doc)) {
    // A media type or a parameter: `example` / `examples` (named Example objects) beside its `schema`.
    const isHolder = "schema" in node && (pointer.includes("/content/") || "in" in node);
    if (isHolder) {
      if ("example" in node)
        out.push({ where: `${pointer}/example`, schema: node.schema, value: node.example });
      for (const [name, ex] of Object.entries((node.examples ?? {}) as Record<string, { value: unknown }>))
        out.push({ where: `${pointer}/examples/${name}`, schema: node.schema, value: ex.value });
    }
    // A schema: `example` (OpenAPI) and `examples` (JSON Schema, an array).
    const isSchema =
      pointer.startsWith("/components/schemas/") ||
      pointer.endsWith("/schema") ||
      pointer.includes("/schema/");
    if (isSchema && !isHolder) {
      if ("example" in node && !pointer.endsWith("/properties"))
        out.push({ where: `${pointer}/example`, schema: node, value: node.example });
      if (Array.isArray(node.examples))
        node.examples.forEach((value, i) => {
          out.push({ where: `${pointer}/examples/${i}`, schema: node, value });
        });
    }
  }
  return out;
}

describe("OpenAPI document for tools", () => {
  it("gives every operation a unique camelCase operationId and a security requirement", async () => {
    const doc = await documentOf();
    const ops = operations(doc);
    expect(ops.length).toBeGreaterThan(50);
    const ids = ops.map(({ op }) => op.operationId);
    for (const [i, { method, path }] of ops.entries()) {
      expect(ids[i], `${method} ${path}`).toMatch(/^[a-z][a-zA-Z0-9]*$/);
    }
    expect(new Set(ids).size).toBe(ids.length);
    const schemes = Object.keys(doc.components.securitySchemes);
    for (const { method, path, op } of ops) {
      expect(Array.isArray(op.security), `${method} ${path} has no security`).toBe(true);
      for (const requirement of op.security as Json[])
        for (const name of Object.keys(requirement)) expect(schemes, `${method} ${path}`).toContain(name);
    }
    // Public operations say so with `security: []`; the sign-in doors are public, SSO is not.
    const byId = Object.fromEntries(ops.map(({ op }) => [op.operationId, op]));
    expect(byId.vseeLogin?.security).toEqual([]);
    expect(byId.getHealth?.security).toEqual([]);
    expect(byId.vseeSso?.security).toEqual([{ apiKey: [], accountCode: [] }]);
    expect(byId.getState?.security).toEqual([{ registerToken: [] }]);
  });

  it("defines the security schemes of each family", async () => {
    const { components } = await documentOf();
    const s = components.securitySchemes;
    expect(s.apiKey).toMatchObject({ type: "apiKey", in: "header", name: "X-ApiKey" });
    expect(s.accountCode).toMatchObject({ type: "apiKey", in: "header", name: "X-AccountCode" });
    expect(s.apiToken).toMatchObject({ type: "apiKey", in: "header", name: "X-ApiToken" });
    expect(s.apiBearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(s.bearerJwt).toMatchObject({ type: "http", scheme: "bearer", bearerFormat: "JWT" });
    expect(s.adminKey).toMatchObject({ type: "http", scheme: "bearer" });
  });

  it("marks request bodies as required", async () => {
    const withBody = operations(await documentOf()).filter(({ op }) => op.requestBody);
    expect(withBody.length).toBeGreaterThan(20);
    for (const { method, path, op } of withBody)
      expect((op.requestBody as Json).required, `${method} ${path}`).toBe(true);
  });

  it("documents only flagless patterns, which compile and accept the seeds' values", async () => {
    const doc = await documentOf();
    const patterns = [...walk(doc)]
      .filter(([, node]) => typeof node.pattern === "string")
      .map(([where, node]) => ({ where, pattern: node.pattern as string }));
    expect(patterns.length).toBeGreaterThan(10);
    for (const { where, pattern } of patterns) {
      // A flag written into the text ("…$/u") makes a pattern that matches nothing.
      expect(pattern, where).not.toMatch(/\/[dgimsuvy]+$/);
      // JSON Schema patterns are ECMA-262 regular expressions, compiled Unicode-aware by validators.
      expect(() => new RegExp(pattern, "u"), where).not.toThrow();
    }
    const names = doc.components.schemas.RegisterBody as { properties: Record<string, { pattern: string }> };
    const name = new RegExp(names.properties.firstName?.pattern ?? "(?!)", "u");
    for (const ok of ["John", "Doe", "Test", "Patient", "Zoë", "O'Brien", "Jean-Luc", "José María", "Nguyễn"])
      expect(name.test(ok), ok).toBe(true);
    for (const bad of ["R2-D2", "<script>", "a@b"]) expect(name.test(bad), bad).toBe(false);
    const listUsers = doc.paths["/api_v3/users"]?.get as { parameters: Json[] };
    const sortParam = listUsers.parameters.find((p) => p.name === "sort") as { schema: { pattern: string } };
    const sort = new RegExp(sortParam.schema.pattern, "u");
    for (const ok of ["full_name.asc", "full_name.desc", "created.DESC", "Last_Name.Asc"])
      expect(sort.test(ok), ok).toBe(true);
    for (const bad of ["full_name", "full_name.up", "full name.asc"]) expect(sort.test(bad), bad).toBe(false);
  });

  it("has seed examples for SSO, login, register and authentication, each valid against its schema", async () => {
    const doc = await documentOf();
    const all = examplesOf(doc);
    const ops = Object.fromEntries(operations(doc).map(({ op }) => [op.operationId, op]));
    for (const id of ["vseeSso", "vseeLogin", "register", "authenticate"]) {
      const op = ops[id] as {
        requestBody: { content: Record<string, Json> };
        responses: Record<string, Json>;
      };
      for (const media of Object.values(op.requestBody.content)) expect(media.examples, id).toBeDefined();
      expect(JSON.stringify(op.responses), id).toContain('"examples"');
    }
    expect(all.length).toBeGreaterThan(30);
    for (const { where, schema, value } of all) {
      const result = validatorFor(doc, schema).validate(value);
      expect(result.errors.slice(0, 3), where).toEqual([]);
    }
    // The check is not a formality: the seed's own login response (no nationality/timezone) fails it.
    const login = EXAMPLES.vseeLogin?.responses?.[200]?.member?.value as { data: { user: Json } };
    const { nationality: _n, timezone: _t, ...seedUser } = login.data.user;
    const loginSchema = (ops.vseeLogin as { responses: Record<string, { content: Record<string, Json> }> })
      .responses[200]?.content["application/json"]?.schema;
    expect(validatorFor(doc, loginSchema).validate({ data: { ...login.data, user: seedUser } }).valid).toBe(
      false,
    );
  });
});

describe("the documented request examples are sendable", () => {
  const body = (id: string, name: string) => EXAMPLES[id]?.request?.[name]?.value;

  it("SSO: the patient, provider and guest examples sign in (200)", async () => {
    const clinic = await createClinic();
    for (const name of ["patient", "provider", "guest"]) {
      const res = await call("POST", "/api_v3/users/sso", {
        headers: clinic.server,
        json: body("vseeSso", name),
      });
      expect(res.status, `${name}: ${await res.clone().text()}`).toBe(200);
      // As multipart, the way the seed's curl sends it.
      const form = Object.fromEntries(
        Object.entries(body("vseeSso", name) as Json).map(([k, v]) => [k, String(v)]),
      );
      const multi = await call("POST", "/api_v3/users/sso", { headers: clinic.server, multipart: form });
      expect(multi.status, name).toBe(200);
    }
  });

  it("login: both examples pass validation (unknown users: 401, not 400)", async () => {
    for (const name of ["password", "emailToken"]) {
      const res = await call("POST", "/api_v3/users/login", { json: body("vseeLogin", name) });
      expect(res.status, `${name}: ${await res.clone().text()}`).toBe(401);
    }
  });

  it("register: the example registers (200)", async () => {
    const clinic = await createClinic();
    const res = await call("POST", "/register", {
      headers: clinic.server,
      json: body("register", "patient"),
    });
    expect(res.status, await res.clone().text()).toBe(200);
  });

  it("authentication: each strategy's example passes validation (unknown account or token)", async () => {
    for (const name of ["local", "localMfa", "jwt", "refresh"]) {
      const res = await call("POST", "/authentication", { json: body("authenticate", name) });
      expect([401, 404], `${name}: ${await res.clone().text()}`).toContain(res.status);
    }
  });

  it("authentication: the sign-up example's account signs in with the local example (201)", async () => {
    const clinic = await createClinic();
    const headers = { "X-AccountCode": clinic.code };
    const signup = await call("POST", "/accounts", { headers, json: body("createAccount", "account") });
    expect(signup.status, await signup.clone().text()).toBe(201);
    const res = await call("POST", "/authentication", { headers, json: body("authenticate", "local") });
    expect(res.status, await res.clone().text()).toBe(201);
    const result = await json<{ accessToken: string }>(res);
    const jwt = await call("POST", "/authentication", {
      headers,
      json: { ...(body("authenticate", "jwt") as Json), accessToken: result.accessToken },
    });
    expect(jwt.status, await jwt.clone().text()).toBe(201);
  });

  it("the other request examples pass validation", async () => {
    const clinic = await createClinic();
    for (const [id, path] of [
      ["createAccount", "/accounts"],
      ["createWaitlistEntry", "/account-waitlist"],
    ] as const) {
      for (const example of Object.values(EXAMPLES[id]?.request ?? {})) {
        const res = await call("POST", path, {
          headers: { "X-AccountCode": clinic.code },
          json: example.value,
        });
        expect(res.status, `${id}: ${await res.clone().text()}`).not.toBe(400);
        expect(res.status).toBeLessThan(500);
      }
    }
  });
});
