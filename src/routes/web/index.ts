import { familyApp } from "../../lib/openapi";
import { webAuthHandler } from "./auth.handlers";
import { webAuth } from "./auth.routes";

/** Browser-facing routes of the portal (mounted at the root). */
export const web = familyApp().openapi(webAuth, webAuthHandler);
