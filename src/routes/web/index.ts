import { familyApp } from "../../lib/openapi";
import { webAuthHandler } from "./auth.handlers";
import { webAuth } from "./auth.routes";
import { pageErrors } from "./guard";
import * as pages from "./pages.handlers";
import * as r from "./pages.routes";
import * as records from "./records.handlers";
import * as rr from "./records.routes";

/**
 * Browser-facing routes of the portal (mounted at the root): sign-in, the pages, their assets and data.
 * Errors on the pages are pages; its JSON endpoints answer in the generic (admin) shape.
 */
export const web = familyApp("admin", pageErrors)
  .openapi(webAuth, webAuthHandler)
  .openapi(r.home, pages.home)
  .openapi(r.loginPage, pages.loginPage)
  .openapi(r.loginSubmit, pages.loginSubmit)
  .openapi(r.loginCodeSubmit, pages.loginCodeSubmit)
  .openapi(r.logoutPage, pages.logoutPage)
  .openapi(r.logoutSubmit, pages.logoutSubmit)
  .openapi(r.dashboard, pages.dashboard)
  .openapi(r.dashboardRooms, pages.dashboardRooms)
  .openapi(r.clinicPage, pages.clinicPage)
  .openapi(r.patientRecordPage, pages.patientRecordPage)
  .openapi(rr.portalRecord, records.getRecord)
  .openapi(rr.portalRecordWrite, records.putRecord)
  .openapi(rr.portalRecordHistory, records.recordHistory)
  .openapi(rr.portalRecordAccessLog, records.recordAccessLog)
  .openapi(rr.portalRecordLive, records.recordLive)
  .openapi(r.clinicStylesheet, pages.clinicStylesheet)
  .openapi(r.asset, pages.asset);

export { pageErrors };
