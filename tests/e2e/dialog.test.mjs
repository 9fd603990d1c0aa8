// The error dialog's code is fetched only when first used, from beside the script-tag build too.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loopbackAndBrowser, openPage } from "./harness.mjs";

const live = loopbackAndBrowser();

test("the script-tag build loads the dialog from beside itself on first use, once", async () => {
  const { page, context, errors } = await openPage(live.browser, `${live.server.origin("app.shop.test")}/script.html`);
  const fetched = [];
  page.on("request", (r) => fetched.push(new URL(r.url()).pathname));
  await page.waitForFunction(() => window.Threadline);
  await page.evaluate(async () => {
    window.tl = await Threadline.init({});
  });
  assert.ok(!fetched.includes("/dist/threadline-dialog.js"), "not fetched before it is needed");
  await page.evaluate(() => tl.showErrorDialog({ title: "Oops", message: "Something broke", debugId: "0af7651916cd43dd8448eb211c80319c" }));
  const dialog = page.getByRole("alertdialog");
  await dialog.waitFor();
  assert.match(await dialog.textContent(), /Oops.*Something broke.*0af7651916cd43dd8448eb211c80319c/s);
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  await page.evaluate(() => tl.showErrorDialog({ title: "Again" }));
  await page.getByRole("alertdialog").waitFor();
  assert.equal(fetched.filter((p) => p === "/dist/threadline-dialog.js").length, 1);
  assert.deepEqual(errors, []);
  await context.close();
});
