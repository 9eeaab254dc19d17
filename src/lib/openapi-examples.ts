/**
 * Request and response examples of the OpenAPI document, keyed by operationId, taken from the seed
 * documents (/users/sso and /users/login of the VSee User API, POST /register of the care-team demo,
 * the Feathers accounts guide) and adapted where this API answers more than the seed shows (VSee
 * profiles always carry `nationality` and `timezone`; a registration also returns its bearer token; a
 * SCIM group's value is the group's name). Every request example is a request the worker accepts (the
 * reference page at /docs sends them as they are), and every example validates against its schema
 * (test/foundation/openapi.examples.test.ts).
 */

export interface Example {
  summary: string;
  value: unknown;
}

export interface OperationExamples {
  /** Request body examples (every media type of the body gets them). */
  request?: Record<string, Example>;
  /** Response examples per status (application/json). */
  responses?: Record<string, Record<string, Example>>;
}

const SSO_TOKEN = {
  user_id: "10008",
  token: "0437c1ce3b7079906e2ff247aad1adda",
  expiry: 1473821786,
  refresh_token: {
    user_id: "10008",
    token: "2693615fd2a46edf13334b3f35580e26",
    expiry: 1476327386,
    created: 1473735386,
  },
};

const PATIENT_CODE = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
const PROVIDER_CODE = "cd978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";

const ACCESS_JWT =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzb21lLXVpZCIsInNpZCI6IjAxSjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwIiwiYXVkIjoiYWNjb3VudHMiLCJpYXQiOjE3MzU2ODk2MDAsImV4cCI6MTczNTY5MDUwMH0.7yJ3k6mV9yQmH3t0u4mNf7m8bq2r1W0ZpXh4n6bC2dE";

export const EXAMPLES: Record<string, OperationExamples> = {
  vseeSso: {
    request: {
      patient: {
        summary: "Patient SSO (type 200, your id in `code`)",
        value: { first_name: "John", last_name: "Smith", code: PATIENT_CODE, type: 200 },
      },
      provider: {
        summary: "Provider SSO (type 400)",
        value: { first_name: "John", last_name: "Provider", code: PROVIDER_CODE, type: 400 },
      },
      guest: {
        summary: "Guest SSO (type 600, no code)",
        value: { first_name: "John", last_name: "Smith", dob: "1990-01-01", type: 600 },
      },
    },
    responses: {
      200: {
        patient: {
          summary: "The patient and its tokens",
          value: {
            data: {
              id: "10008",
              code: PATIENT_CODE,
              first_name: "John",
              last_name: "Smith",
              username: "57d76ad979b843e6973e7855ac1f0144",
              vseeid: "vclinic+57d76ad979b843e6973e7855ac1f0144",
              active: true,
              tos: false,
              subtype: "",
              token: SSO_TOKEN,
            },
          },
        },
      },
    },
  },
  vseeLogin: {
    request: {
      password: {
        summary: "An active user: username and password",
        value: { username: "member-201", password: "111111" },
      },
      emailToken: {
        summary: "A user who has not set a password yet: email and the emailed token",
        value: { email: "an+1@vsee.com", email_token: "ztpand" },
      },
    },
    responses: {
      200: {
        member: {
          summary: "The member's tokens and profile",
          value: {
            data: {
              user_id: "201",
              token: "18c31fa10afb6f0857c803eb01a2b392",
              expiry: 1473822319,
              created: 1473735919,
              user_type: "200",
              refresh_token: {
                user_id: "201",
                token: "6338a6e42f407acf39d07a63442efb9d",
                expiry: 1476327919,
                created: 1473735919,
              },
              user: {
                id: "201",
                code: "54bdf165f02c4a0fbaac2603ac1f0144",
                first_name: "Lemuel",
                last_name: "Eveline",
                username: "member-201",
                vseeid: "vclinic+member-201",
                dob: "1960-01-01",
                email: "an+user1@vsee.com",
                gender: 2,
                photo: null,
                active: true,
                tos: false,
                phone: "800-555-5555",
                subtype: "",
                street_addr: "First str 12",
                state: "CA",
                city: "San Francisco",
                zip: "01234",
                pcp_name: "",
                pcp_phone: "",
                nationality: null,
                timezone: null,
              },
            },
          },
        },
      },
    },
  },
  register: {
    request: {
      patient: {
        summary: "Register a patient",
        value: { email: "user@example.com", groupName: "patients", firstName: "John", lastName: "Doe" },
      },
    },
    responses: {
      200: {
        patient: {
          summary: "The enrollment assertion, the SCIM user and the bearer token for /state",
          value: {
            assertion: {
              "X-Ionic-Reg-Uidauth":
                "eyJhbGciOiJFUzI1NiIsImtpZCI6ImtleS0xIn0.eyJzdWIiOiI1Y2I1Zjg2NWU1YTczMjBjZjBmZGYwZWUifQ.c2lnbmF0dXJl",
              "X-Ionic-Reg-Stoken": "5b0d1f1e6a3c4e2f9a8b7c6d5e4f3a2b",
              "X-Ionic-Reg-Ionic-API-Urls": "https://api.ionic.com",
              "X-Ionic-Reg-Enrollment-Tag": "clinic-edge",
              "X-Ionic-Reg-Pubkey":
                "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEHtW704ALfZPxxGG+XzZv7yVOq32/\nX7s1ZsY07wX/uaWnOmbZaxZc69W/OFhiPjlQvblMTnlRPCWOzC17Ylx46g==\n-----END PUBLIC KEY-----\n",
            },
            user: {
              id: "5cb5f865e5a7320cf0fdf0ee",
              schemas: ["urn:scim:schemas:core:1.0"],
              meta: {
                created: "2019-04-16T15:44:37Z",
                lastModified: "2019-04-16T15:44:37Z",
                location: "/scim/Users/5cb5f865e5a7320cf0fdf0ee",
                version: "2",
              },
              name: { formatted: "John Doe", familyName: "Doe", givenName: "John" },
              emails: [{ value: "user@example.com" }],
              groups: [{ value: "patients", display: "Patients" }],
            },
            token: "3f6c2a9e8b7d4c1e0f5a6b7c8d9e0f1a",
          },
        },
      },
    },
  },
  authenticate: {
    request: {
      local: {
        summary: "Sign in with email and password (strategy local)",
        value: { strategy: "local", email: "email@domain.com", password: "supersecretpass" },
      },
      localMfa: {
        summary: "Sign in when two-factor is on: the authenticator's code in totpToken",
        value: {
          strategy: "local",
          email: "email@domain.com",
          password: "supersecretpass",
          totpToken: "123456",
        },
      },
      jwt: {
        summary: "Re-authenticate with an access token (strategy jwt)",
        value: { strategy: "jwt", accessToken: ACCESS_JWT },
      },
      refresh: {
        summary: "Rotate the refresh token (action refreshAccessToken)",
        value: { action: "refreshAccessToken", refreshToken: "6338a6e42f407acf39d07a63442efb9d" },
      },
    },
    responses: {
      201: {
        signedIn: {
          summary: "Signed in",
          value: {
            uid: "some-uid",
            accessToken: ACCESS_JWT,
            refreshToken: "2693615fd2a46edf13334b3f35580e26",
            expiresAt: "2025-01-01T00:15:00.000Z",
            user: {
              uid: "some-uid",
              email: "email@domain.com",
              mobileNo: null,
              isEmailVerified: true,
              isMobileNoVerified: false,
              isDoctor: false,
              isDisabled: false,
              isFirstLogin: false,
              mfaEnabled: false,
              createdAt: "2025-01-01T00:00:00.000Z",
              updatedAt: "2025-01-01T00:00:00.000Z",
            },
          },
        },
      },
      206: {
        missingMfa: {
          summary: "Two-factor is on and no totpToken was sent",
          value: { code: 206, message: "Missing MFA token" },
        },
      },
    },
  },
  createAccount: {
    request: {
      account: {
        summary: "Sign up with email and password",
        value: { email: "email@domain.com", password: "supersecretpass" },
      },
      doctor: {
        summary: "A doctor's account (personalDetails.doc_PRCLicenseNo)",
        value: {
          email: "test@mail.com",
          password: "supersecretpass",
          personalDetails: { doc_PRCLicenseNo: 1234 },
        },
      },
    },
  },
  createWaitlistEntry: {
    request: {
      entry: {
        summary: "Ask to be invited",
        value: {
          email: "email@domain.com",
          mobileNo: "09171234567",
          personalDetails: { name: { firstName: "First", lastName: "Last" }, doc_PRCLicenseNo: 123456 },
        },
      },
    },
  },
  updatePersonalDetails: {
    request: { maritalStatus: { summary: "Update one field", value: { maritalStatus: "single" } } },
  },
  updateState: {
    request: {
      medicalHistory: {
        summary: "A patient writes their medical history",
        value: { medical_history: "my medical history" },
      },
    },
  },
};
