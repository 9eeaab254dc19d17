import { familyApp } from "../../lib/openapi";
import * as accounts from "./accounts.handlers";
import * as accountRoutes from "./accounts.routes";
import * as auth from "./authentication.handlers";
import * as authRoutes from "./authentication.routes";
import * as details from "./personal-details.handlers";
import * as detailsRoutes from "./personal-details.routes";
import * as waitlist from "./waitlist.handlers";
import * as waitlistRoutes from "./waitlist.routes";

/** The Feathers-style accounts family, mounted at the root (/accounts, /authentication, …). */
export const accountsFamily = familyApp("accounts")
  .openapi(waitlistRoutes.createEntry, waitlist.createEntry)
  .openapi(waitlistRoutes.getEntry, waitlist.getEntry)
  .openapi(accountRoutes.findAccounts, accounts.findAccounts)
  .openapi(accountRoutes.createAccount, accounts.createAccount)
  .openapi(accountRoutes.getAccount, accounts.getAccount)
  .openapi(accountRoutes.patchAccount, accounts.patchAccount)
  .openapi(authRoutes.authenticate, auth.authenticate, auth.authenticationHook)
  .openapi(authRoutes.logout, auth.logout)
  .openapi(authRoutes.logoutToken, auth.logoutToken)
  .openapi(detailsRoutes.findDetails, details.findDetails)
  .openapi(detailsRoutes.getDetails, details.getDetails)
  .openapi(detailsRoutes.patchDetails, details.patchDetails);
