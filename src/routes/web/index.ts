import { familyApp } from "../../lib/openapi";
import { webAuthHandler } from "./auth.handlers";
import { webAuth } from "./auth.routes";
import { pageErrors } from "./guard";
import * as pages from "./pages.handlers";
import * as pageRoutes from "./pages.routes";
import * as recordHandlers from "./records.handlers";
import * as recordRoutes from "./records.routes";

/**
 * Browser-facing routes of the portal (mounted at the root): sign-in, the pages, their assets and data.
 * Errors on the pages are pages; its JSON endpoints answer in the generic (admin) shape.
 */
export const web = familyApp("admin", pageErrors)
  .openapi(webAuth, webAuthHandler)
  .openapi(pageRoutes.home, pages.home)
  .openapi(pageRoutes.loginPage, pages.loginPage)
  .openapi(pageRoutes.loginSubmit, pages.loginSubmit)
  .openapi(pageRoutes.loginCodeSubmit, pages.loginCodeSubmit)
  .openapi(pageRoutes.logoutPage, pages.logoutPage)
  .openapi(pageRoutes.logoutSubmit, pages.logoutSubmit)
  .openapi(pageRoutes.dashboard, pages.dashboard)
  .openapi(pageRoutes.dashboardRooms, pages.dashboardRooms)
  .openapi(pageRoutes.clinicPage, pages.clinicPage)
  .openapi(pageRoutes.patientRecordPage, pages.patientRecordPage)
  .openapi(recordRoutes.portalRecord, recordHandlers.getRecord)
  .openapi(recordRoutes.portalRecordWrite, recordHandlers.putRecord)
  .openapi(recordRoutes.portalRecordHistory, recordHandlers.recordHistory)
  .openapi(recordRoutes.portalRecordAccessLog, recordHandlers.recordAccessLog)
  .openapi(recordRoutes.portalRecordLive, recordHandlers.recordLive)
  .openapi(pageRoutes.clinicStylesheet, pages.clinicStylesheet)
  .openapi(pageRoutes.asset, pages.asset);

export { pageErrors };
