import { familyApp } from "../../lib/openapi";
import { adminAudit } from "../../middleware/audit";
import { approveEntry, listOutbox, listWaitlist } from "./accounts.handlers";
import * as accountRoutes from "./accounts.routes";
import { listAudit } from "./audit.handlers";
import * as auditRoutes from "./audit.routes";
import { createClinic, getClinic, listClinics, patchClinic, rotateKey } from "./clinics.handlers";
import * as clinicRoutes from "./clinics.routes";
import { patchUser } from "./users.handlers";
import * as userRoutes from "./users.routes";

const app = familyApp("admin");
// First: every call of the operators' API, refused ones included, is an audit row.
app.use("*", adminAudit);

export const admin = app
  .openapi(clinicRoutes.createClinic, createClinic)
  .openapi(clinicRoutes.listClinics, listClinics)
  .openapi(clinicRoutes.getClinic, getClinic)
  .openapi(clinicRoutes.patchClinic, patchClinic)
  .openapi(clinicRoutes.rotateKey, rotateKey)
  .openapi(userRoutes.patchUser, patchUser)

  .openapi(accountRoutes.listWaitlist, listWaitlist)
  .openapi(accountRoutes.approveEntry, approveEntry)
  .openapi(accountRoutes.listOutbox, listOutbox)
  .openapi(auditRoutes.listAudit, listAudit);
