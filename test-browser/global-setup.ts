/** Starts the browser tests' `wrangler dev` once for the run and stops it (by PID) afterwards. */
import type { TestProject } from "vitest/node";
import { type Server, startServer } from "./server";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    adminKey: string;
    demoKey: string;
  }
}

let server: Server | undefined;

export async function setup(project: TestProject) {
  server = await startServer();
  project.provide("baseUrl", server.baseUrl);
  project.provide("adminKey", server.adminKey);
  project.provide("demoKey", server.demoKey);
}

export async function teardown() {
  await server?.stop();
}
