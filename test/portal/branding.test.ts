/**
 * Clinic branding (issue 15): settings `logoUrl` (https only) and `accentColor` (#rrggbb), validated by the
 * admin API, kept across other settings changes, and applied without inline styles: a per-clinic stylesheet
 * and the logo's origin added to the page's img-src.
 */
import { describe, expect, it } from "vitest";
import { ADMIN_AUTH, call, createClinic, json, type TestClinic } from "../helpers";
import { loginForm, signedIn } from "./support";

const patch = (clinic: TestClinic, settings: Record<string, unknown>) =>
  call("PATCH", `/admin/clinics/${clinic.code}`, { headers: ADMIN_AUTH, json: { settings } });

describe("validation", () => {
  it("refuses a logo URL that is not https and a colour that is not #rrggbb", async () => {
    const clinic = await createClinic();
    const bad: [Record<string, unknown>, string][] = [
      [{ logoUrl: "http://cdn.example/logo.png" }, "settings.logoUrl"],
      [{ logoUrl: "javascript:alert(1)" }, "settings.logoUrl"],
      [{ logoUrl: "data:image/png;base64,AAAA" }, "settings.logoUrl"],
      [{ logoUrl: "https://user:pw@cdn.example/logo.png" }, "settings.logoUrl"],
      [{ logoUrl: "/logo.png" }, "settings.logoUrl"],
      [{ accentColor: "red" }, "settings.accentColor"],
      [{ accentColor: "#12345" }, "settings.accentColor"],
      [{ accentColor: "#1234567" }, "settings.accentColor"],
      [{ accentColor: "#12345g" }, "settings.accentColor"],
      [{ accentColor: "#fff; } body { display: none" }, "settings.accentColor"],
    ];
    for (const [settings, param] of bad) {
      const res = await patch(clinic, settings);
      expect(res.status, JSON.stringify(settings)).toBe(400);
      const body = await json<{ errors: { param: string }[] }>(res);
      expect(body.errors.map((e) => e.param)).toContain(param);
    }
    const ok = await patch(clinic, { logoUrl: "https://cdn.example/logo.png", accentColor: "#FFCC00" });
    expect(ok.status).toBe(200);
    expect((await json<{ clinic: { settings: Record<string, unknown> } }>(ok)).clinic.settings).toMatchObject(
      {
        logoUrl: "https://cdn.example/logo.png",
        accentColor: "#FFCC00",
      },
    );
  });

  it("branding survives a change of other settings, and null removes it", async () => {
    const clinic = await createClinic({
      settings: { logoUrl: "https://cdn.example/a.png", accentColor: "#123456" },
    });
    const other = await patch(clinic, { corsOrigins: ["https://portal.example"] });
    expect(
      (await json<{ clinic: { settings: Record<string, unknown> } }>(other)).clinic.settings,
    ).toMatchObject({
      logoUrl: "https://cdn.example/a.png",
      accentColor: "#123456",
    });
    await patch(clinic, { logoUrl: null, accentColor: null });
    const { html } = await loginForm(`?clinic=${clinic.code}`);
    expect(html).not.toContain('class="logo"');
    expect(html).not.toContain("/portal/assets/clinic/");
  });
});

describe("applied to the pages", () => {
  it("the logo in the header (its origin in img-src only), the accent colour as the clinic's stylesheet", async () => {
    const clinic = await createClinic({
      settings: { logoUrl: "https://cdn.example/brand/logo.svg?v=2", accentColor: "#FFCC00" },
    });
    const provider = await signedIn(clinic, { type: "400" });
    for (const res of [
      await call("GET", `/login?clinic=${clinic.code}`),
      await provider.call("GET", "/providers/dashboard"),
      await provider.call("GET", "/nowhere", { headers: { accept: "text/html" } }),
    ]) {
      const html = await res.text();
      expect(html).toContain(
        '<img class="logo" src="https://cdn.example/brand/logo.svg?v=2" alt="" width="32" height="32"/>',
      );
      expect(html).toContain(
        `<link rel="stylesheet" href="/portal/assets/clinic/${clinic.code}.css?v=ffcc00"/>`,
      );
      expect(html).not.toMatch(/<style|style="/);
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("img-src 'self' https://cdn.example;");
      expect(csp).toContain("style-src 'self';");
      expect(csp).toContain("script-src 'self';");
    }
    const css = await call("GET", `/portal/assets/clinic/${clinic.code}.css?v=ffcc00`);
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
    // A light accent gets dark button text (readable contrast), a dark one white.
    expect(await css.text()).toBe(":root { --accent: #ffcc00; --accent-text: #111111; }\n");
    const dark = await createClinic({ settings: { accentColor: "#0b3d91" } });
    expect(await (await call("GET", `/portal/assets/clinic/${dark.code}.css`)).text()).toBe(
      ":root { --accent: #0b3d91; --accent-text: #ffffff; }\n",
    );
  });

  it("a clinic without branding keeps the default look; unknown stylesheets are 404", async () => {
    const clinic = await createClinic();
    const res = await call("GET", `/login?clinic=${clinic.code}`);
    expect(res.headers.get("content-security-policy")).toContain("img-src 'self';");
    const html = await res.text();
    expect(html).not.toContain('class="logo"');
    expect((await call("GET", `/portal/assets/clinic/${clinic.code}.css`)).status).toBe(404);
    expect((await call("GET", "/portal/assets/clinic/nosuchclinic.css")).status).toBe(404);
    expect((await call("GET", `/portal/assets/clinic/${clinic.code}`)).status).toBe(404);
  });
});
