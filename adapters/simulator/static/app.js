// The simulator page: a small chat client over the JSON API in adapters/simulator/web.py.
// Plain modern JS, no build step. Every piece of server text goes into the DOM through
// textContent / text nodes (never innerHTML), so user messages cannot inject markup.
"use strict";

const POLL_MS = 1000;
const SIDE_POLL_MS = 3000;
const STATE_POLL_MS = 5000;

const S = {
  state: null, // GET /sim/api/state
  platform: null,
  person: null, // person handle
  conv: null, // "dm" or "g:<group id>"
  shown: new Map(), // message id -> {version, node}
  viewKey: "",
  lastSeen: {}, // "<person>|<platform>|<conv>" -> last message id seen
  unread: {}, // conv -> count
};

// ------------------------------------------------------------------ small helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function store(key, value) {
  try {
    if (value === undefined) return JSON.parse(localStorage.getItem("collabbot." + key) ?? "null");
    localStorage.setItem("collabbot." + key, JSON.stringify(value));
  } catch {
    // storage may be disabled (private mode); the page works without it
  }
  return null;
}

async function api(method, path, body) {
  const options = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch (error) {
    return { ok: false, error: `网络错误 / network error: ${error.message}` };
  }
  let data;
  try {
    data = await response.json();
  } catch {
    return { ok: false, error: `HTTP ${response.status} ${response.statusText}` };
  }
  if (!response.ok && data.ok !== false) return { ok: false, error: `HTTP ${response.status}` };
  return data;
}

function showError(message) {
  const banner = document.getElementById("error");
  document.getElementById("error-text").textContent = `错误 / Error: ${message}`;
  banner.hidden = false;
}

function clearError() {
  document.getElementById("error").hidden = true;
}

function initials(name) {
  const s = String(name || "?").trim();
  return /^[\x00-\x7F]/.test(s) ? s.slice(0, 1).toUpperCase() : s.slice(-1);
}

function avatarColor(name) {
  let h = 0;
  for (const ch of String(name)) h = (h * 31 + ch.codePointAt(0)) % 360;
  return `hsl(${h} 45% 52%)`;
}

function formatTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso ?? "");
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getMonth() + 1}/${d.getDate()} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function asText(value) {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map(asText).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

// ------------------------------------------------------------------ markdown subset
// **bold**, `code`, [label](url), bare http(s) links, "- " lists, line breaks.

function safeLink(href, label) {
  if (!/^(https?:|mailto:)/i.test(href)) return document.createTextNode(label === href ? href : `${label} (${href})`);
  return el("a", { href, target: "_blank", rel: "noopener noreferrer", text: label });
}

function inline(text, parent) {
  const re = /`([^`\n]+)`|\*\*(.+?)\*\*|\[([^\]\n]+)\]\(([^)\s]+)\)|(https?:\/\/[^\s<>()"'，。、；）】]+)/g;
  let last = 0;
  let m;
  while ((m = re.exec(text)) !== null) {
    if (m.index > last) parent.append(text.slice(last, m.index));
    if (m[1] !== undefined) parent.append(el("code", { text: m[1] }));
    else if (m[2] !== undefined) {
      const strong = el("strong");
      inline(m[2], strong);
      parent.append(strong);
    } else if (m[3] !== undefined) parent.append(safeLink(m[4], m[3]));
    else parent.append(safeLink(m[5], m[5]));
    last = re.lastIndex;
  }
  if (last < text.length) parent.append(text.slice(last));
  return parent;
}

function markdown(text, className = "md") {
  const root = el("div", { class: className });
  const lines = asText(text).replace(/\r\n?/g, "\n").split("\n");
  let list = null;
  let para = null;
  for (const line of lines) {
    const item = /^\s*[-•*]\s+(.*)$/.exec(line);
    if (item) {
      para = null;
      if (!list) root.append((list = el("ul")));
      list.append(inline(item[1], el("li")));
      continue;
    }
    list = null;
    if (!line.trim()) {
      para = null;
      continue;
    }
    if (!para) root.append((para = el("p")));
    else para.append(el("br"));
    inline(line, para);
  }
  return root;
}

// ------------------------------------------------------------------ who, where

function people() {
  return S.state?.people ?? [];
}

function personName(id) {
  return people().find((p) => p.id === id)?.name ?? id;
}

function groups() {
  return (S.state?.groups ?? []).filter((g) => g.platform === S.platform);
}

function conversations() {
  const list = groups().map((g) => ({ key: `g:${g.id}`, name: g.name, group: g }));
  list.push({ key: "dm", name: "与机器人私聊 / Bot DMs", group: null });
  return list;
}

function messagesQuery(conv, after = 0) {
  const params = new URLSearchParams({ platform: S.platform, person: S.person, after: String(after) });
  if (conv !== "dm") params.set("conversation", conv.slice(2));
  return `/sim/api/messages?${params}`;
}

function seenKey(conv) {
  return `${S.person}|${S.platform}|${conv}`;
}

function currentViewKey() {
  return `${S.platform}|${S.person}|${S.conv}`;
}

// ------------------------------------------------------------------ sidebar

function renderSidebar() {
  const peopleList = document.getElementById("people");
  peopleList.replaceChildren(
    ...people().map((p) =>
      el(
        "li",
        {},
        el(
          "button",
          {
            type: "button",
            dataset: { person: p.id },
            "aria-current": p.id === S.person ? "true" : "false",
            title: `${p.name} (${p.id})${p.locale ? " · " + p.locale : ""}`,
            onclick: () => selectPerson(p.id),
          },
          el("span", { class: "avatar", style: `background:${avatarColor(p.name)}`, text: initials(p.name) }),
          el("span", { class: "who" }, p.name, " ", el("span", { class: "dept", text: p.department ?? "" })),
        ),
      ),
    ),
  );
  const convList = document.getElementById("conversations");
  convList.replaceChildren(
    ...conversations().map((c) =>
      el(
        "li",
        {},
        el(
          "button",
          {
            type: "button",
            dataset: { conv: c.key },
            "aria-current": c.key === S.conv ? "true" : "false",
            onclick: () => selectConversation(c.key),
          },
          el("span", { class: "hash", text: c.group ? "#" : "@" }),
          el("span", { class: "who", text: c.name }),
          S.unread[c.key] ? el("span", { class: "unread", text: String(S.unread[c.key]) }) : null,
        ),
      ),
    ),
  );
  const platforms = S.state?.platforms ?? [];
  const pick = document.getElementById("platform");
  document.getElementById("platform-pick").hidden = platforms.length < 2;
  pick.replaceChildren(...platforms.map((name) => el("option", { value: name, selected: name === S.platform, text: name })));
}

function renderHeader() {
  const conv = conversations().find((c) => c.key === S.conv);
  document.getElementById("conversation-title").textContent = conv ? (conv.group ? `# ${conv.name}` : conv.name) : "…";
  const me = personName(S.person);
  const where = conv?.group ? `群聊 / group “${conv.group.id}”` : `${me} ↔ collabbot`;
  document.getElementById("conversation-sub").textContent = `${where} · 以 ${me} 的身份发言 / speaking as ${me}`;
}

function renderClock() {
  const st = S.state;
  document.getElementById("clock").hidden = !st;
  if (!st) return;
  document.getElementById("clock-now").textContent = formatTime(st.now);
  document.getElementById("clock-now").setAttribute("datetime", st.now);
  document.getElementById("clock-buttons").hidden = !st.manual_clock;
}

async function loadState() {
  const data = await api("GET", "/sim/api/state");
  if (!data.ok) {
    showError(data.error);
    return false;
  }
  const before = JSON.stringify([S.state?.people, S.state?.groups, S.state?.platforms]);
  S.state = data;
  if (!data.platforms.includes(S.platform)) S.platform = data.platforms[0];
  if (!people().some((p) => p.id === S.person)) S.person = people()[0]?.id ?? null;
  if (!conversations().some((c) => c.key === S.conv)) S.conv = conversations()[0].key;
  if (before !== JSON.stringify([data.people, data.groups, data.platforms])) renderSidebar();
  renderClock();
  return true;
}

function remember() {
  store("view", { platform: S.platform, person: S.person, conv: S.conv });
}

function resetView() {
  S.shown.clear();
  S.viewKey = currentViewKey();
  S.unread[S.conv] = 0;
  document.getElementById("messages").replaceChildren();
  remember();
  renderSidebar();
  renderHeader();
  refresh();
  refreshUnread();
}

function selectPerson(id) {
  if (id === S.person) return;
  S.person = id;
  S.unread = {};
  resetView();
}

function selectConversation(key) {
  if (key === S.conv) return;
  S.conv = key;
  resetView();
  document.getElementById("composer-text").focus();
}

// ------------------------------------------------------------------ messages

function renderMessageList(messages) {
  const box = document.getElementById("messages");
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  let added = false;
  box.querySelector(".empty")?.remove();
  for (const m of messages) {
    const known = S.shown.get(m.id);
    if (!known) {
      const node = el("div", { class: "msg", dataset: { id: String(m.id) } });
      fillMessage(node, m);
      box.append(node);
      S.shown.set(m.id, { version: m.version, node });
      added = true;
    } else if (known.version !== m.version) {
      // the same element is refilled: a decided card changes in place, as on Slack/DingTalk
      known.version = m.version;
      fillMessage(known.node, m);
      known.node.classList.remove("flash");
      void known.node.offsetWidth;
      known.node.classList.add("flash");
    }
  }
  if (!S.shown.size) {
    box.append(
      el(
        "div",
        { class: "empty" },
        "还没有消息。试试发送“帮助”。",
        el("br"),
        "No messages yet. Try sending “help”.",
      ),
    );
  }
  const last = messages.length ? messages[messages.length - 1].id : 0;
  const key = seenKey(S.conv);
  if (last > (S.lastSeen[key] ?? 0)) {
    S.lastSeen[key] = last;
    store("seen", S.lastSeen);
  }
  if (added && (nearBottom || messages.some((m) => m.sender === S.person))) box.scrollTop = box.scrollHeight;
}

function fillMessage(node, m) {
  const mine = m.sender === S.person;
  const bot = m.sender === "bot";
  node.className = `msg ${bot ? "from-bot" : mine ? "mine" : "from-other"}${m.ephemeral ? " ephemeral" : ""}`;
  node.dataset.version = String(m.version);
  node.dataset.sender = m.sender;
  const avatar = bot
    ? el("span", { class: "avatar bot", text: "C" })
    : el("span", { class: "avatar", style: `background:${avatarColor(m.sender_name)}`, text: initials(m.sender_name) });
  const meta = el(
    "div",
    { class: "msg-meta" },
    el("span", { class: "sender", text: m.sender_name }),
    el("time", { datetime: m.created_at, title: m.created_at, text: formatTime(m.created_at) }),
    m.ephemeral ? el("span", { class: "badge", text: "仅你可见 / only visible to you" }) : null,
    m.version > 1 ? el("span", { class: "badge updated", title: m.updated_at, text: `已更新 / updated ${formatTime(m.updated_at)}` }) : null,
  );
  const content = m.content ?? {};
  let bodyNode;
  if (content.type === "card") bodyNode = renderCard(m, content);
  else if (content.type === "text") {
    bodyNode = bot ? markdown(content.body, "bubble md") : el("div", { class: "bubble plain", text: asText(content.body) });
    if (content.mentions?.length) bodyNode.prepend(el("div", { class: "card-mentions", text: mentionLine(content.mentions) }));
  } else if (content.type === "file") bodyNode = renderFile(content);
  else bodyNode = el("pre", { class: "bubble", text: JSON.stringify(content, null, 2) });
  node.replaceChildren(avatar, el("div", { class: "msg-main" }, meta, bodyNode));
}

function mentionLine(mentions) {
  return mentions.map((name) => `@${name}`).join(" ");
}

function renderFile(file) {
  // A chart shows inline; any other file (an export) is a download link.
  const node = el("div", { class: "bubble file" });
  if (file.caption !== null && file.caption !== undefined && file.caption !== "") node.append(markdown(file.caption, "md"));
  if (String(file.mime).startsWith("image/")) {
    node.append(el("a", { href: file.url, target: "_blank", rel: "noopener" }, el("img", { class: "file-image", src: file.url, alt: file.filename })));
  }
  node.append(el("a", { class: "file-link", href: file.url, download: file.filename, text: `⬇ ${file.filename}` }));
  return node;
}

function renderCard(m, card) {
  const node = el("div", { class: "card", dataset: { color: card.color || "blue", key: card.key ?? "" } });
  node.append(el("div", { class: "card-title", text: asText(card.title) }));
  if (card.mentions?.length) node.append(el("div", { class: "card-mentions", text: mentionLine(card.mentions) }));
  if (card.body !== null && card.body !== undefined && card.body !== "") node.append(markdown(card.body, "card-body md"));
  if (card.fields?.length) {
    const dl = el("dl", { class: "card-fields" });
    for (const f of card.fields) {
      dl.append(el("dt", { text: asText(f.label) }), inline(asText(f.value), el("dd")));
    }
    node.append(dl);
  }
  if (card.status !== null && card.status !== undefined && card.status !== "") {
    node.append(inline(asText(card.status), el("div", { class: "card-status" })));
  }
  const formSlot = el("div", { class: "card-form-slot" });
  const buttons = card.buttons ?? [];
  if (buttons.length) {
    const row = el("div", { class: "card-buttons" });
    buttons.forEach((button, index) => {
      const style = ["primary", "danger"].includes(button.style) ? button.style : "";
      const b = el("button", {
        type: "button",
        class: `btn ${style}`,
        dataset: { action: button.action },
        title: button.command ? `或输入 / or type: ${button.command}` : null,
        text: asText(button.label),
      });
      b.addEventListener("click", () => onButton(m, button, index, buttons, b, formSlot));
      row.append(b);
    });
    node.append(row);
  }
  node.append(formSlot);
  if (card.form) {
    node.append(buildForm(card.form, { messageId: m.id, action: null, keepAfterSubmit: true }));
  }
  return node;
}

async function onButton(m, button, index, buttons, node, formSlot) {
  if (button.opens_form) {
    const open = formSlot.firstElementChild;
    if (open && open.dataset.action === button.action) {
      formSlot.replaceChildren();
      return;
    }
    const form = buildForm(button.opens_form, {
      messageId: m.id,
      action: button.action,
      onCancel: () => formSlot.replaceChildren(),
    });
    form.dataset.action = button.action;
    formSlot.replaceChildren(form);
    form.querySelector("input, textarea, select")?.focus();
    return;
  }
  // value too: if the card was decided meanwhile, the bot itself answers that it was (not a bare 400)
  const body = { platform: S.platform, person: S.person, message_id: m.id, action: button.action, value: button.value ?? {} };
  if (buttons.filter((b) => b.action === button.action).length > 1) body.index = index;
  node.disabled = true;
  const result = await api("POST", "/sim/api/actions", body);
  node.disabled = false;
  if (!result.ok) showError(result.error);
  else clearError();
  afterAction();
}

// ------------------------------------------------------------------ forms

function fieldInput(field, id) {
  const placeholder = field.placeholder ? asText(field.placeholder) : null;
  const initial = field.initial ?? "";
  const common = { id, name: field.name, placeholder, "aria-required": field.required ? "true" : null };
  switch (field.kind) {
    case "textarea":
      return el("textarea", { ...common, rows: 3, text: initial });
    case "number":
      return el("input", { ...common, type: "number", step: "any", value: initial });
    case "date":
      // the bot also reads 下周五 / next Friday; a native date picker only when the value fits it
      return el("input", { ...common, type: !initial || /^\d{4}-\d{2}-\d{2}$/.test(initial) ? "date" : "text", value: initial });
    case "select":
    case "person": {
      const choices = field.choices?.length
        ? field.choices.map((c) => ({ value: c.value, label: asText(c.label) }))
        : field.kind === "person"
          ? people().map((p) => ({ value: p.id, label: p.department ? `${p.name} · ${p.department}` : p.name }))
          : [];
      const select = el("select", common);
      select.append(el("option", { value: "", text: placeholder ?? "— 请选择 / choose —" }));
      for (const c of choices) select.append(el("option", { value: c.value, selected: c.value === initial, text: c.label }));
      return select;
    }
    case "multiselect":
    case "checkboxes": {
      const chosen = new Set(String(initial).split(",").map((s) => s.trim()).filter(Boolean));
      const box = el("div", { class: "checks", id, role: "group" });
      for (const c of field.choices ?? []) {
        box.append(
          el(
            "label",
            {},
            el("input", { type: "checkbox", name: field.name, value: c.value, checked: chosen.has(c.value) }),
            asText(c.label),
          ),
        );
      }
      return box;
    }
    default:
      return el("input", { ...common, type: "text", value: initial });
  }
}

let formCounter = 0;

function buildForm(form, { messageId, action, onCancel = null, keepAfterSubmit = false }) {
  const prefix = `f${++formCounter}`;
  const node = el("form", { class: "card-form", novalidate: true, dataset: { formId: form.id } });
  if (form.title) node.append(el("div", { class: "form-title", text: asText(form.title) }));
  const rows = new Map();
  for (const field of form.fields ?? []) {
    const id = `${prefix}-${field.name}`;
    const labelTag = ["multiselect", "checkboxes"].includes(field.kind) ? "div" : "label";
    const label = el(labelTag, { class: "label", for: labelTag === "label" ? id : null }, asText(field.label));
    if (field.required) label.append(el("span", { class: "req", title: "必填 / required", text: "*" }));
    const row = el("div", { class: "form-field", dataset: { field: field.name, kind: field.kind } }, label, fieldInput(field, id));
    rows.set(field.name, row);
    node.append(row);
  }
  const note = el("span", { class: "form-note" });
  const submit = el("button", { type: "submit", class: "btn primary", text: asText(form.submit_label) || "提交 / Submit" });
  const actions = el("div", { class: "form-actions" }, submit);
  if (onCancel) actions.append(el("button", { type: "button", class: "btn", text: "取消 / Cancel", onclick: onCancel }));
  if (form.template) {
    actions.append(
      el("button", {
        type: "button",
        class: "link-btn",
        text: "改用文本模板 / use the text template",
        onclick: () => insertIntoComposer(asText(form.template)),
      }),
    );
  }
  actions.append(note);
  node.append(actions);

  const values = () => {
    const out = {};
    for (const field of form.fields ?? []) {
      const row = rows.get(field.name);
      if (["multiselect", "checkboxes"].includes(field.kind)) {
        out[field.name] = [...row.querySelectorAll("input:checked")].map((i) => i.value);
      } else {
        out[field.name] = row.querySelector("input, textarea, select").value;
      }
    }
    return out;
  };
  const markErrors = (errors) => {
    for (const [name, row] of rows) {
      row.classList.toggle("invalid", Boolean(errors[name]));
      row.querySelector(".field-error")?.remove();
      if (errors[name]) row.append(el("div", { class: "field-error", text: asText(errors[name]) }));
    }
  };

  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    const fields = values();
    const missing = {};
    for (const field of form.fields ?? []) {
      const v = fields[field.name];
      if (field.required && (Array.isArray(v) ? v.length === 0 : !String(v).trim())) missing[field.name] = "必填 / required";
    }
    markErrors(missing);
    if (Object.keys(missing).length) {
      note.className = "form-note bad";
      note.textContent = "请填写必填项 / fill in the required fields";
      return;
    }
    submit.disabled = true;
    note.className = "form-note";
    note.textContent = "提交中… / submitting…";
    const body = { platform: S.platform, person: S.person, message_id: messageId, fields };
    if (action) body.action = action;
    const result = await api("POST", "/sim/api/forms", body);
    submit.disabled = false;
    if (!result.ok) {
      note.className = "form-note bad";
      note.textContent = result.error;
      showError(result.error);
    } else if (result.form_errors && Object.keys(result.form_errors).length) {
      markErrors(result.form_errors);
      note.className = "form-note bad";
      note.textContent = "请修改标红的字段 / fix the fields marked in red";
    } else if (result.error) {
      note.className = "form-note bad";
      note.textContent = result.error; // localized for the person; the bot's private reply says it too
    } else {
      clearError();
      markErrors({});
      if (onCancel && !keepAfterSubmit) onCancel();
      else {
        note.className = "form-note good";
        note.textContent = "已提交 / submitted ✓";
      }
    }
    afterAction();
  });
  return node;
}

// ------------------------------------------------------------------ refresh loops

let refreshing = false;
let refreshAgain = false;

async function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  try {
    do {
      refreshAgain = false;
      await refreshOnce();
    } while (refreshAgain);
  } finally {
    refreshing = false;
  }
}

async function refreshOnce() {
  if (!S.person || !S.conv) return;
  const key = currentViewKey();
  // the whole conversation each time: a card edited in place keeps its id and only its version changes
  const data = await api("GET", messagesQuery(S.conv));
  if (key !== currentViewKey() || key !== S.viewKey) return;
  if (!data.ok) {
    showError(data.error);
    return;
  }
  renderMessageList(data.messages);
}

async function refreshUnread() {
  if (!S.person) return;
  const key = currentViewKey();
  const counts = {};
  for (const c of conversations()) {
    if (c.key === S.conv) continue;
    const data = await api("GET", messagesQuery(c.key, S.lastSeen[seenKey(c.key)] ?? 0));
    if (!data.ok) continue;
    counts[c.key] = data.messages.filter((m) => m.sender !== S.person).length;
  }
  if (key !== currentViewKey()) return;
  const changed = conversations().some((c) => c.key !== S.conv && (counts[c.key] ?? 0) !== (S.unread[c.key] ?? 0));
  S.unread = { ...counts, [S.conv]: 0 };
  if (changed) renderSidebar();
}

function afterAction() {
  refresh();
  loadState();
  refreshUnread();
}

// ------------------------------------------------------------------ composer

const TEMPLATES = {
  new: [
    "新建协作",
    "标题：",
    "背景：",
    "目标：",
    "范围：",
    "协作部门：",
    "期望启动：",
    "截止：",
    "优先级：中",
    "交付物：",
    "验收人：",
  ].join("\n"),
};

function insertIntoComposer(text) {
  const box = document.getElementById("composer-text");
  box.value = text;
  box.focus();
  const firstEmpty = text.search(/[:：]\n/);
  const at = firstEmpty >= 0 ? firstEmpty + 1 : text.length;
  box.setSelectionRange(at, at);
}

async function send() {
  const box = document.getElementById("composer-text");
  const text = box.value;
  if (!text.trim() || !S.person) return;
  const button = document.getElementById("send");
  button.disabled = true;
  const body = {
    platform: S.platform,
    person: S.person,
    conversation: S.conv === "dm" ? null : S.conv.slice(2),
    text,
  };
  const result = await api("POST", "/sim/api/messages", body);
  button.disabled = false;
  if (!result.ok) {
    showError(result.error);
  } else {
    clearError();
    if (box.value === text) box.value = "";
  }
  box.focus();
  afterAction();
}

// ------------------------------------------------------------------ start

function wire() {
  const composer = document.getElementById("composer");
  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  const box = document.getElementById("composer-text");
  box.addEventListener("keydown", (event) => {
    // Enter sends; Shift+Enter is a newline; Enter that confirms an IME composition (Chinese input) does neither
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      send();
    }
  });
  for (const chip of document.querySelectorAll("#quick [data-insert]")) {
    chip.addEventListener("click", () => insertIntoComposer(chip.dataset.insert));
  }
  for (const chip of document.querySelectorAll("#quick [data-template]")) {
    chip.addEventListener("click", () => insertIntoComposer(TEMPLATES[chip.dataset.template]));
  }
  document.getElementById("error-close").addEventListener("click", clearError);
  document.getElementById("platform").addEventListener("change", (event) => {
    S.platform = event.target.value;
    if (!conversations().some((c) => c.key === S.conv)) S.conv = conversations()[0].key;
    S.unread = {};
    resetView();
  });
  for (const button of document.querySelectorAll("[data-advance]")) {
    button.addEventListener("click", async () => {
      const [unit, amount] = button.dataset.advance.split(":");
      button.disabled = true;
      const result = await api("POST", "/sim/api/clock", { [unit]: Number(amount) });
      button.disabled = false;
      if (!result.ok) showError(result.error);
      else clearError();
      afterAction();
    });
  }
}

async function start() {
  const saved = store("view") ?? {};
  S.lastSeen = store("seen") ?? {};
  S.platform = saved.platform ?? null;
  S.person = saved.person ?? null;
  S.conv = saved.conv ?? null;
  const params = new URLSearchParams(location.search);
  for (const name of ["platform", "person", "conv"]) if (params.get(name)) S[name] = params.get(name);
  while (!(await loadState())) await new Promise((resolve) => setTimeout(resolve, 2000));
  if (!S.person) {
    showError("没有配置任何人 / no people are configured: add [[people]] to the configuration");
    return;
  }
  resetView();
  setInterval(() => document.hidden || refresh(), POLL_MS);
  setInterval(() => document.hidden || refreshUnread(), SIDE_POLL_MS);
  setInterval(() => document.hidden || loadState(), STATE_POLL_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  wire();
  start();
});
