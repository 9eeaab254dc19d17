import { familyApp } from "../../lib/openapi";
import { adminAudit } from "../../middleware/audit";
import * as accounts from "./accounts.handlers";
import * as accountRoutes from "./accounts.routes";
import * as audit from "./audit.handlers";
import * as auditRoutes from "./audit.routes";
import * as handlers from "./clinics.handlers";
import * as routes from "./clinics.routes";
import * as userHandlers from "./users.handlers";
import * as userRoutes from "./users.routes";

const app = familyApp("admin");
// First: every call of the operators' API, refused ones included, is an audit row.
app.use("*", adminAudit);

export const admin = app
  .openapi(routes.createClinic, handlers.createClinic)
  .openapi(routes.listClinics, handlers.listClinics)
  .openapi(routes.getClinic, handlers.getClinic)
  .openapi(routes.patchClinic, handlers.patchClinic)
  .openapi(routes.rotateKey, handlers.rotateKey)
  .openapi(userRoutes.patchUser, userHandlers.patchUser)

  .openapi(accountRoutes.listWaitlist, accounts.listWaitlist)
  .openapi(accountRoutes.approveEntry, accounts.approveEntry)
  .openapi(accountRoutes.listOutbox, accounts.listOutbox)
  .openapi(auditRoutes.listAudit, audit.listAudit);
