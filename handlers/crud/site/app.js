/* awslab CRUD lab: a plain frontend for the items API (no build step, no dependencies).
 *
 * config.js (generated at deploy) sets window.AWSLAB_CONFIG = {"API_URL": "https://.../stage"}.
 *
 * Stable DOM ids, for people and browser tests:
 *   #config-error   alert shown (hidden attribute removed) when config.js is missing or has no API_URL
 *   #status         the status line (role=status); data-kind="info" | "ok" | "error"
 *   #create-form    new item: #create-id (optional), #create-name, #create-extra (JSON object of
 *                   other fields), submit button #create-submit
 *   #edit-form      hidden until a row's Edit button is pressed: #edit-id (read-only), #edit-name,
 *                   #edit-extra, submit button #edit-save, #edit-cancel
 *   #sort           select: "id" | "name";  #refresh  reloads the list
 *   #items          the table; #items-body its tbody, one <tr data-id="ID"> per item with cells
 *                   .item-id, .item-name, .item-extra and buttons [data-action="edit"] and
 *                   [data-action="delete"];  #items-empty  shown when there are no items
 *   #api-url        shows the API address in use
 *   <body data-state="loading" | "ready" | "busy" | "error">: "ready" once a request has finished
 *                   and the list is shown, "error" when the last request failed or config is missing.
 *
 * The helpers below (and start(document, window)) are exported for Node
 * (tests/handlers/test_crud_site.py); in a browser the script wires itself to the page.
 */
(function () {
  "use strict";

  var ITEM_KEYS = ["id", "name"];

  /* --- pure helpers ------------------------------------------------------------------------ */

  /** {apiUrl} from window.AWSLAB_CONFIG, or {error} saying what is wrong. */
  function readConfig(config) {
    if (!config || typeof config !== "object") {
      return {
        error:
          "config.js was not loaded, so the page does not know the API's address. " +
          "Deploy the lab with `awslab up crud` (it writes config.js next to this page), " +
          'or create config.js containing: window.AWSLAB_CONFIG = {"API_URL": "https://..."};',
      };
    }
    var url = config.API_URL;
    if (typeof url !== "string" || !/^https?:\/\/[^/]+/i.test(url.trim())) {
      return { error: "config.js has no usable API_URL (got " + JSON.stringify(url) + ")." };
    }
    return { apiUrl: url.trim().replace(/\/+$/, "") };
  }

  function itemsUrl(apiUrl, sort) {
    return apiUrl + "/items" + (sort ? "?sort=" + encodeURIComponent(sort) : "");
  }

  function itemUrl(apiUrl, id) {
    return apiUrl + "/items/" + encodeURIComponent(id);
  }

  function isScalar(value) {
    return value === null || ["string", "number", "boolean"].indexOf(typeof value) >= 0;
  }

  /** The "other fields" text: empty, or a JSON object of scalars without id/name. */
  function parseExtra(text) {
    var trimmed = (text || "").trim();
    if (!trimmed) return { fields: {} };
    var value;
    try {
      value = JSON.parse(trimmed);
    } catch (err) {
      return { error: "Other fields must be JSON, e.g. {\"price\": 1.5}: " + err.message };
    }
    if (!value || typeof value !== "object" || Array.isArray(value)) {
      return { error: "Other fields must be a JSON object, e.g. {\"price\": 1.5}." };
    }
    for (var key in value) {
      if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
      if (ITEM_KEYS.indexOf(key) >= 0) {
        return { error: "Put " + key + " in its own box, not in other fields." };
      }
      if (!isScalar(value[key])) {
        return { error: "Field \"" + key + "\" must be a string, number, true/false or null." };
      }
    }
    return { fields: value };
  }

  /** The JSON body for POST (id optional) or PUT (id omitted: it is in the URL). */
  function buildItem(form) {
    var name = (form.name || "").trim();
    if (!name) return { error: "Name is required." };
    var id = (form.id || "").trim();
    if (id.indexOf("/") >= 0) return { error: "Id must not contain '/'." };
    var extra = parseExtra(form.extra);
    if (extra.error) return { error: extra.error };
    var item = {};
    if (id) item.id = id;
    item.name = name;
    Object.keys(extra.fields).forEach(function (key) {
      item[key] = extra.fields[key];
    });
    return { item: item };
  }

  function extraFields(item) {
    var out = {};
    Object.keys(item || {}).forEach(function (key) {
      if (ITEM_KEYS.indexOf(key) < 0) out[key] = item[key];
    });
    return out;
  }

  /** Other fields as text for the edit box ("" when there are none). */
  function extraText(item) {
    var fields = extraFields(item);
    return Object.keys(fields).length ? JSON.stringify(fields, null, 2) : "";
  }

  /** Other fields as one line for the list: "price: 1.5, ripe: true". */
  function describeExtra(item) {
    var fields = extraFields(item);
    return Object.keys(fields)
      .sort()
      .map(function (key) {
        var value = fields[key];
        return key + ": " + (typeof value === "string" ? value : JSON.stringify(value));
      })
      .join(", ");
  }

  /** A readable error from an API response: its {"message"} when there is one. */
  function errorText(status, bodyText) {
    var detail = "";
    try {
      var body = JSON.parse(bodyText);
      if (body && typeof body.message === "string") detail = body.message;
    } catch (err) {
      detail = (bodyText || "").trim().slice(0, 200);
    }
    return "HTTP " + status + (detail ? ": " + detail : "");
  }

  function ApiError(status, message) {
    this.name = "ApiError";
    this.status = status;
    this.message = message;
  }
  ApiError.prototype = Object.create(Error.prototype);
  ApiError.prototype.constructor = ApiError;

  /** The items API over fetch: every method resolves to the parsed body (null for 204) or
   * rejects with an ApiError (status 0 when the API could not be reached at all). */
  function createClient(apiUrl, fetchImpl) {
    apiUrl = apiUrl.replace(/\/+$/, "");
    function send(method, url, body) {
      var init = { method: method, headers: { Accept: "application/json" } };
      if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      return fetchImpl(url, init).then(
        function (response) {
          return response.text().then(function (text) {
            if (!response.ok) throw new ApiError(response.status, errorText(response.status, text));
            return text ? JSON.parse(text) : null;
          });
        },
        function (err) {
          throw new ApiError(
            0,
            "could not reach the API at " + apiUrl + " (is it deployed, and does it allow this " +
              "page's origin through CORS?): " + (err && err.message ? err.message : err)
          );
        }
      );
    }
    return {
      list: function (sort) {
        return send("GET", itemsUrl(apiUrl, sort)).then(function (body) {
          return body.items;
        });
      },
      get: function (id) {
        return send("GET", itemUrl(apiUrl, id));
      },
      create: function (item) {
        return send("POST", itemsUrl(apiUrl), item);
      },
      update: function (id, item) {
        return send("PUT", itemUrl(apiUrl, id), item);
      },
      remove: function (id) {
        return send("DELETE", itemUrl(apiUrl, id));
      },
    };
  }

  var helpers = {
    readConfig: readConfig,
    itemsUrl: itemsUrl,
    itemUrl: itemUrl,
    parseExtra: parseExtra,
    buildItem: buildItem,
    extraText: extraText,
    describeExtra: describeExtra,
    errorText: errorText,
    createClient: createClient,
    ApiError: ApiError,
    start: start,
  };

  /* --- the page ---------------------------------------------------------------------------- */

  function start(doc, win) {
    var $ = function (id) {
      return doc.getElementById(id);
    };
    var status = $("status");
    var editForm = $("edit-form");

    function setStatus(kind, text) {
      status.dataset.kind = kind;
      status.textContent = text;
    }

    function setBusy(busy) {
      doc.body.dataset.state = busy ? "busy" : doc.body.dataset.state;
      var buttons = doc.querySelectorAll("button, select");
      for (var i = 0; i < buttons.length; i++) buttons[i].disabled = busy;
    }

    var config = readConfig(win.AWSLAB_CONFIG);
    if (config.error) {
      var banner = $("config-error");
      banner.textContent = config.error;
      banner.hidden = false;
      setStatus("error", "Not connected: config.js is missing or incomplete.");
      setBusy(true);
      doc.body.dataset.state = "error";
      return;
    }
    var api = createClient(config.apiUrl, win.fetch.bind(win));

    function fail(label, err) {
      setBusy(false);
      doc.body.dataset.state = "error";
      setStatus("error", label + " failed: " + (err && err.message ? err.message : String(err)));
    }

    /** Runs one API operation with the page busy, then reloads the list. `done` turns the
     * result into the status message (null: the list's own count is the message). */
    function run(label, operation, done) {
      setBusy(true);
      setStatus("info", label + "…");
      return operation().then(
        function (result) {
          var message = done(result);
          return refresh().then(
            function () {
              if (message) setStatus("ok", message);
            },
            function (err) {
              fail((message ? message + " " : "") + "Reloading the list", err);
            }
          );
        },
        function (err) {
          fail(label, err);
        }
      );
    }

    function reload() {
      setBusy(true);
      setStatus("info", "Loading items…");
      return refresh().catch(function (err) {
        fail("Loading items", err);
      });
    }

    function refresh() {
      setBusy(true);
      return api.list($("sort").value).then(function (items) {
        render(items);
        setBusy(false);
        doc.body.dataset.state = "ready";
        setStatus("ok", items.length === 1 ? "1 item." : items.length + " items.");
      });
    }

    function render(items) {
      var body = $("items-body");
      while (body.firstChild) body.removeChild(body.firstChild);
      items.forEach(function (item) {
        var row = doc.createElement("tr");
        row.dataset.id = item.id;
        [["item-id", item.id], ["item-name", item.name], ["item-extra", describeExtra(item)]].forEach(
          function (cell) {
            var td = doc.createElement("td");
            td.className = cell[0];
            td.textContent = cell[1] === undefined ? "" : String(cell[1]);
            row.appendChild(td);
          }
        );
        var actions = doc.createElement("td");
        actions.className = "item-actions";
        actions.appendChild(button("edit", "Edit", "Edit item " + item.id, function () {
          openEditor(item);
        }));
        actions.appendChild(button("delete", "Delete", "Delete item " + item.id, function () {
          run("Deleting item '" + item.id + "'", function () {
            return api.remove(item.id);
          }, function () {
            if (editForm.dataset.id === item.id) closeEditor();
            return "Deleted item '" + item.id + "'.";
          });
        }));
        row.appendChild(actions);
        body.appendChild(row);
      });
      $("items-empty").hidden = items.length > 0;
      $("items").hidden = items.length === 0;
    }

    function button(action, text, label, onClick) {
      var b = doc.createElement("button");
      b.type = "button";
      b.dataset.action = action;
      b.className = action;
      b.textContent = text;
      b.setAttribute("aria-label", label);
      b.addEventListener("click", onClick);
      return b;
    }

    function openEditor(item) {
      editForm.dataset.id = item.id;
      $("edit-id").value = item.id;
      $("edit-name").value = item.name === undefined ? "" : String(item.name);
      $("edit-extra").value = extraText(item);
      editForm.hidden = false;
      $("edit-name").focus();
    }

    function closeEditor() {
      editForm.hidden = true;
      delete editForm.dataset.id;
      editForm.reset();
    }

    $("create-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var built = buildItem({ id: $("create-id").value, name: $("create-name").value, extra: $("create-extra").value });
      if (built.error) {
        setStatus("error", built.error);
        return;
      }
      run("Creating item", function () {
        return api.create(built.item);
      }, function (created) {
        $("create-form").reset();
        $("create-name").focus();
        return "Created item '" + created.id + "'.";
      });
    });

    editForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var id = editForm.dataset.id;
      var built = buildItem({ name: $("edit-name").value, extra: $("edit-extra").value });
      if (built.error) {
        setStatus("error", built.error);
        return;
      }
      run("Saving item '" + id + "'", function () {
        return api.update(id, built.item);
      }, function () {
        closeEditor();
        return "Saved item '" + id + "'.";
      });
    });

    $("edit-cancel").addEventListener("click", function () {
      closeEditor();
      setStatus("info", "Edit cancelled.");
    });
    $("refresh").addEventListener("click", reload);
    $("sort").addEventListener("change", reload);
    $("api-url").textContent = config.apiUrl;
    reload();
  }

  if (typeof module === "object" && module.exports) {
    module.exports = helpers;
  } else if (typeof document !== "undefined") {
    var boot = function () {
      start(document, window);
    };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
    else boot();
  }
})();
