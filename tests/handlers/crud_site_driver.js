// Drives handlers/crud/site/app.js under Node for tests/handlers/test_crud_site.py.
//   node crud_site_driver.js helpers SITE_DIR             -> JSON results of the pure helpers
//   node crud_site_driver.js client  SITE_DIR API_URL     -> JSON results of the API client
//   node crud_site_driver.js page    SITE_DIR API_URL|-   -> JSON snapshots of the page after each step
// The page mode runs start(document, window) on a small fake DOM built from index.html's element
// ids, so an id that app.js needs but the page lacks fails here; the real browser test is separate.
"use strict";

const fs = require("fs");
const path = require("path");

const [mode, siteDir, apiUrl] = process.argv.slice(2);
const app = require(path.resolve(siteDir, "app.js"));

async function helpers() {
  const out = {};
  out.config = [
    app.readConfig(undefined),
    app.readConfig({}),
    app.readConfig({ API_URL: "" }),
    app.readConfig({ API_URL: "ftp://x" }),
    app.readConfig({ API_URL: " http://127.0.0.1:4566/_aws/execute-api/abc/prod/ " }),
  ];
  out.urls = [
    app.itemsUrl("https://api.example/prod"),
    app.itemsUrl("https://api.example/prod", "name"),
    app.itemUrl("https://api.example/prod", "a b/c?d"),
  ];
  out.extra = ["", "  ", '{"price": 1.5, "ok": true, "n": null}', "[1]", "{bad", '{"name": "x"}', '{"a": [1]}'].map(
    app.parseExtra
  );
  out.build = [
    { name: "  apple ", id: " 1 ", extra: '{"price": 2}' },
    { name: "pear" },
    { name: "" },
    { name: "x", id: "a/b" },
    { name: "x", extra: "[]" },
  ].map(app.buildItem);
  out.extraText = [app.extraText({ id: "1", name: "a" }), app.extraText({ id: "1", name: "a", p: 1, s: "t" })];
  out.describe = app.describeExtra({ id: "1", name: "a", ripe: true, colour: "red", price: 1.5, note: null });
  out.errors = [
    app.errorText(409, '{"message": "item \'1\' already exists"}'),
    app.errorText(502, "<html>Bad Gateway</html>"),
    app.errorText(500, ""),
    app.errorText(400, '{"error": "other shape"}'),
  ];
  return out;
}

async function client() {
  const api = app.createClient(apiUrl, fetch);
  const caught = async (promise) => {
    try {
      return { ok: await promise };
    } catch (err) {
      return { error: { name: err.name, status: err.status, message: err.message, isError: err instanceof Error } };
    }
  };
  return {
    created: await caught(api.create({ id: "k 1", name: "kiwi", price: 2.5 })),
    duplicate: await caught(api.create({ id: "k 1", name: "again" })),
    generated: await caught(api.create({ name: "lime" })),
    listed: await caught(api.list("name")),
    got: await caught(api.get("k 1")),
    updated: await caught(api.update("k 1", { name: "gold kiwi" })),
    removed: await caught(api.remove("k 1")),
    missing: await caught(api.get("k 1")),
    removedAgain: await caught(api.remove("k 1")),
    invalid: await caught(api.update("nope", { name: 5 })),
    unreachable: await caught(app.createClient("http://127.0.0.1:9", fetch).list()),
  };
}

// --- a fake DOM: just what app.js touches ---------------------------------------------------

class FakeElement {
  constructor(doc, tag, id) {
    this.doc = doc;
    this.tagName = tag.toUpperCase();
    this.id = id || "";
    this.children = [];
    this.parentNode = null;
    this.dataset = {};
    this.attributes = {};
    this.listeners = {};
    this.hidden = false;
    this.disabled = false;
    this.readOnly = false;
    this.value = "";
    this.textContent = "";
    this.className = "";
    this.type = "";
    this.fields = []; // for forms: the inputs reset() clears
  }
  get firstChild() {
    return this.children[0] || null;
  }
  appendChild(child) {
    child.parentNode = this;
    this.children.push(child);
    return child;
  }
  removeChild(child) {
    this.children.splice(this.children.indexOf(child), 1);
    child.parentNode = null;
    return child;
  }
  setAttribute(name, value) {
    this.attributes[name] = String(value);
  }
  addEventListener(type, listener) {
    (this.listeners[type] = this.listeners[type] || []).push(listener);
  }
  dispatch(type) {
    const event = { type, target: this, defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
    for (const listener of this.listeners[type] || []) listener.call(this, event);
    return event;
  }
  click() {
    if (!this.disabled) this.dispatch("click");
  }
  focus() {
    this.doc.activeElement = this;
  }
  reset() {
    for (const field of this.fields) field.value = "";
  }
  attached() {
    for (let node = this; node; node = node.parentNode) if (node.isStatic) return true;
    return false;
  }
}

function fakeDocument(html) {
  const doc = { byId: {}, all: [], activeElement: null };
  doc.createElement = (tag) => {
    const el = new FakeElement(doc, tag);
    doc.all.push(el);
    return el;
  };
  doc.getElementById = (id) => doc.byId[id] || null;
  doc.querySelectorAll = (selector) => {
    const tags = selector.split(",").map((s) => s.trim().toUpperCase());
    return doc.all.filter((el) => tags.includes(el.tagName) && el.attached());
  };
  doc.body = new FakeElement(doc, "body");
  doc.body.isStatic = true;
  doc.body.dataset.state = (html.match(/<body[^>]*data-state="([^"]*)"/) || [])[1];
  const forms = [...html.matchAll(/<form\b[^>]*\bid="([^"]+)"[\s\S]*?<\/form>/g)];
  for (const match of html.matchAll(/<(\w+)\b([^>]*)\bid="([^"]+)"([^>]*)>/g)) {
    const [, tag, before, id, after] = match;
    const attrs = before + " " + after;
    const el = doc.createElement(tag);
    el.id = id;
    el.isStatic = true;
    el.hidden = /\shidden\b/.test(" " + attrs);
    el.readOnly = /\sreadonly\b/.test(" " + attrs);
    const text = html.slice(match.index + match[0].length).match(/^([^<]*)<\//);
    if (text) el.textContent = text[1];
    if (tag === "select") el.value = (html.slice(match.index).match(/<option value="([^"]*)"/) || [])[1];
    doc.byId[id] = el;
    const form = forms.find((f) => match.index > f.index && match.index < f.index + f[0].length);
    if (form && (tag === "input" || tag === "textarea")) doc.byId[form[1]].fields.push(el);
  }
  return doc;
}

function snapshot(doc, step) {
  const $ = (id) => doc.getElementById(id);
  return {
    step,
    state: doc.body.dataset.state,
    status: { kind: $("status").dataset.kind, text: $("status").textContent },
    rows: $("items-body").children.map((row) => ({
      id: row.dataset.id,
      cells: Object.fromEntries(row.children.slice(0, 3).map((td) => [td.className, td.textContent])),
      actions: row.children[3].children.map((b) => [b.dataset.action, b.attributes["aria-label"]]),
    })),
    tableHidden: $("items").hidden,
    emptyHidden: $("items-empty").hidden,
    editHidden: $("edit-form").hidden,
    edit: { id: $("edit-id").value, name: $("edit-name").value, extra: $("edit-extra").value },
    createName: $("create-name").value,
    configError: $("config-error").hidden ? null : $("config-error").textContent,
    apiUrl: $("api-url").textContent,
    disabled: doc.querySelectorAll("button, select").filter((b) => b.disabled).length,
    focused: doc.activeElement ? doc.activeElement.id : null,
  };
}

async function settled(doc) {
  // The page marks itself busy during a request; wait (bounded) until it is not.
  const deadline = Date.now() + 10000;
  await new Promise((resolve) => setImmediate(resolve));
  while (doc.body.dataset.state === "busy" || doc.body.dataset.state === "loading") {
    if (Date.now() > deadline) throw new Error("page still busy after 10 s");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function page() {
  const html = fs.readFileSync(path.resolve(siteDir, "index.html"), "utf8");
  const doc = fakeDocument(html);
  const win = { fetch, AWSLAB_CONFIG: apiUrl === "-" ? undefined : { API_URL: apiUrl } };
  const $ = (id) => doc.getElementById(id);
  const shots = [];
  const step = async (name, action) => {
    if (action) action();
    await settled(doc);
    shots.push(snapshot(doc, name));
  };
  const row = (id) => $("items-body").children.find((r) => r.dataset.id === id);
  const button = (id, action) => row(id).children[3].children.find((b) => b.dataset.action === action);
  const fill = (values) => Object.entries(values).forEach(([id, value]) => ($(id).value = value));

  app.start(doc, win);
  await step("loaded");
  if (doc.body.dataset.state !== "ready") return shots; // no config, or the API is unreachable
  await step("created", () => {
    fill({ "create-id": "1", "create-name": "apple", "create-extra": '{"price": 1.5}' });
    $("create-form").dispatch("submit");
  });
  await step("generated", () => {
    fill({ "create-name": "banana" });
    $("create-form").dispatch("submit");
  });
  await step("duplicate", () => {
    fill({ "create-id": "1", "create-name": "again" });
    $("create-form").dispatch("submit");
  });
  await step("bad-extra", () => {
    fill({ "create-id": "", "create-name": "cherry", "create-extra": "[1]" });
    $("create-form").dispatch("submit");
  });
  await step("edit-open", () => button("1", "edit").click());
  await step("edit-saved", () => {
    fill({ "edit-name": "Zucchini", "edit-extra": '{"colour": "green"}' });
    $("edit-form").dispatch("submit");
  });
  await step("sorted-by-name", () => {
    $("sort").value = "name";
    $("sort").dispatch("change");
  });
  await step("edit-cancelled", () => {
    button("1", "edit").click();
    $("edit-cancel").click();
  });
  await step("deleted", () => button("1", "delete").click());
  const other = $("items-body").children[0].dataset.id;
  await step("edit-open-again", () => button(other, "edit").click());
  // Delete it behind the page's back, then save: the API's 404 must reach the status line.
  await fetch(app.itemUrl(apiUrl.replace(/\/+$/, ""), other), { method: "DELETE" });
  await step("save-missing", () => {
    fill({ "edit-name": "ghost" });
    $("edit-form").dispatch("submit");
  });
  await step("refreshed", () => $("refresh").click());
  return shots;
}

const modes = { helpers, client, page };
modes[mode]()
  .then((result) => process.stdout.write(JSON.stringify(result)))
  .catch((err) => {
    process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
    process.exit(1);
  });
