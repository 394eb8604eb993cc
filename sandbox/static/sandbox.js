// warroom sandbox: a little plain JavaScript over server-rendered HTML. It polls the state
// (what the current person sees) and sends what they do; the server talks to the bot.
"use strict";

const API = "/sandbox/api";
const state = {
  user: localStorage.getItem("sandbox.user") || "U_ALICE",
  channel: localStorage.getItem("sandbox.channel") || "",
  thread: null,
  home: false,
  last: "",
  modalId: null,
  busy: false,
};

const $ = (id) => document.getElementById(id);

async function post(name, body) {
  const answer = await fetch(`${API}/${name}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user: state.user, ...body }),
  });
  if (!answer.ok) throw new Error(`${name}: ${answer.status} ${await answer.text()}`);
  const data = await answer.json();
  refresh();
  return data;
}

function timeText(iso) {
  if (!iso) return "";
  const tz = state.tz || "UTC";
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", timeZone: tz });
}

function messageHtml(m, inThread) {
  const reactions = (m.reactions || [])
    .map((r) => {
      const mine = r.users.includes(state.user) ? " mine" : "";
      const name = escapeText(r.name);
      return `<button type="button" class="reaction${mine}" data-react="${name}">:${name}: ${r.count}</button>`;
    })
    .join("");
  const shortcuts = (state.shortcuts || [])
    .map((s) => `<option value="${s.callback_id}">${s.name}</option>`)
    .join("");
  const replies =
    !inThread && m.replies
      ? `<button type="button" class="replies-link" data-thread="${m.ts}">${m.replies} repl${m.replies === 1 ? "y" : "ies"}</button>`
      : "";
  const files = (m.files || []).map((f) => `<div class="file">📄 ${escapeText(f)}</div>`).join("");
  return `<div class="message" data-ts="${m.ts}">
    <div class="meta"><span class="author">${escapeText(m.author)}</span>${m.bot ? '<span class="app-badge">APP</span> ' : ""}<time>${timeText(m.time)}</time>${m.edited ? " (edited)" : ""}${m.pinned ? " · 📌 pinned" : ""}</div>
    <div class="body">${m.html}</div>${files}
    <div class="reactions">${reactions}</div>${replies}
    <div class="tools">
      <button type="button" data-react="pushpin" title="React with :pushpin:">📌</button>
      <button type="button" data-react="eyes" title="React with :eyes:">👀</button>
      <button type="button" data-pin="1">${m.pinned ? "Unpin" : "Pin"}</button>
      ${inThread ? "" : `<button type="button" data-thread="${m.ts}">Reply</button>`}
      <select data-shortcut="1" aria-label="More actions"><option value="">⋯ Shortcuts</option>${shortcuts}</select>
    </div>
  </div>`;
}

function escapeText(text) {
  const div = document.createElement("div");
  div.textContent = text == null ? "" : String(text);
  return div.innerHTML;
}

function render(data) {
  state.tz = (data.people.find((p) => p.id === state.user) || {}).tz || "UTC";
  state.shortcuts = data.shortcuts;
  const switcher = $("user-switcher");
  if (switcher.options.length !== data.people.length) {
    switcher.innerHTML = data.people
      .map((p) => `<option value="${p.id}">${escapeText(p.real_name)} (${escapeText(p.tz)})</option>`)
      .join("");
  }
  switcher.value = state.user;

  const item = (c) => {
    const active = !state.home && c.id === data.channel.id ? " active" : "";
    const unread = c.unread ? " unread" : "";
    const badge = c.unread ? `<span class="badge">${c.unread}</span>` : "";
    const sigil = c.im ? "" : c.private ? "🔒 " : "# ";
    return `<li><button type="button" class="nav-item${active}${unread}" data-channel="${c.id}">${sigil}${escapeText(c.name)}${badge}</button></li>`;
  };
  $("channel-list").innerHTML = data.channels.filter((c) => !c.im).map(item).join("");
  $("dm-list").innerHTML = data.channels.filter((c) => c.im).map(item).join("");
  $("home-tab").classList.toggle("active", state.home);

  state.channel = data.channel.id;
  localStorage.setItem("sandbox.channel", state.channel);
  $("channel-name").textContent = (data.channel.name.startsWith("warroom") ? "" : "#") + data.channel.name;
  $("channel-topic").innerHTML = data.channel.topic;
  $("join").hidden = data.channel.member || data.channels.find((c) => c.id === data.channel.id).private;
  $("pin-list").innerHTML = data.channel.pins.map((m) => messageHtml(m, true)).join("") || "<em>Nothing pinned</em>";
  const ephemerals = data.channel.ephemerals
    .map((e) => `<div class="message ephemeral"><div class="meta"><span class="author">warroom</span> Only visible to you</div><div class="body">${e.html}</div></div>`)
    .join("");
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.innerHTML = data.channel.messages.map((m) => messageHtml(m, false)).join("") + ephemerals;
  if (atBottom) box.scrollTop = box.scrollHeight;

  $("home").hidden = !state.home;
  box.hidden = state.home;
  $("composer").hidden = state.home;
  state.homeViewId = data.home ? data.home.id : null;
  if (state.home) $("home").innerHTML = data.home ? data.home.html : "<em>The app has not published a Home tab for you yet.</em>";

  const thread = data.thread;
  $("thread").hidden = !thread;
  if (thread) {
    $("thread-messages").innerHTML =
      messageHtml(thread.parent, true) + thread.replies.map((m) => messageHtml(m, true)).join("");
  }

  const modal = data.modal;
  $("modal-backdrop").hidden = !modal;
  if (!modal) {
    state.modalId = null;
    $("modal-host").innerHTML = "";
  } else if (modal.id !== state.modalId || modal.html !== state.modalHtml) {
    // A new or changed view (update / push / errors): rendered afresh; one being typed in
    // is left alone unless the app changed it.
    state.modalId = modal.id;
    state.modalHtml = modal.html;
    $("modal-host").innerHTML = modal.html;
  }
  if (data.channel.messages.length && !state.home) {
    const newest = data.channel.messages[data.channel.messages.length - 1].ts;
    if (state.readTs !== `${state.user}:${data.channel.id}:${newest}`) {
      state.readTs = `${state.user}:${data.channel.id}:${newest}`;
      fetch(`${API}/read`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user: state.user, channel: data.channel.id }),
      });
    }
  }
}

async function refresh() {
  const query = new URLSearchParams({ user: state.user, channel: state.channel });
  if (state.thread) query.set("thread", state.thread);
  try {
    const answer = await fetch(`${API}/state?${query}`);
    const text = await answer.text();
    const data = JSON.parse(text);
    $("clock").textContent = `${new Date(data.now).toLocaleString([], { timeZone: state.tz || "UTC" })} · ${state.tz || "UTC"}`;
    // Redrawn only when something else changed: a list being used is not pulled away.
    const key = text.replace(/"now":\s*"[^"]*"/, "");
    if (key !== state.last) {
      state.last = key;
      render(data);
    }
  } catch (error) {
    console.warn("sandbox: state not read", error);
  }
}

function confirmed(el) {
  const raw = el.getAttribute("data-confirm");
  if (!raw) return true;
  try {
    const c = JSON.parse(raw);
    const text = [c.title && c.title.text, c.text && c.text.text].filter(Boolean).join("\n\n");
    return window.confirm(text || "Are you sure?");
  } catch (error) {
    return window.confirm("Are you sure?");
  }
}

function where(el) {
  const msg = el.closest(".message");
  const form = el.closest("form.modal");
  if (form) return { view: form.getAttribute("data-view-id") };
  if (el.closest("#home")) return { view: state.homeViewId };
  if (msg) return { channel: state.channel, ts: msg.getAttribute("data-ts") };
  return { home: true };
}

async function blockAction(el, selected) {
  if (!confirmed(el)) return;
  const at = where(el);
  const body = {
    action_id: el.getAttribute("data-action-id"),
    block_id: el.getAttribute("data-block-id"),
    selected,
  };
  if (at.view) body.view = at.view;
  else if (at.ts) Object.assign(body, { channel: at.channel, ts: at.ts });
  await post("action", body);
}

function formAnswers(form) {
  const answers = {};
  for (const el of form.querySelectorAll("[name]")) {
    const name = el.getAttribute("name");
    if (el.type === "checkbox" || el.type === "radio") {
      if (!(name in answers)) answers[name] = el.type === "checkbox" ? [] : null;
      if (el.checked) {
        if (el.type === "checkbox") answers[name].push(el.value);
        else answers[name] = el.value;
      }
    } else if (el.multiple) {
      answers[name] = Array.from(el.selectedOptions).map((o) => o.value);
    } else if (el.value !== "") {
      answers[name] = el.value;
    }
  }
  return answers;
}

document.addEventListener("click", async (event) => {
  const el = event.target.closest("button, [data-channel], [data-thread]");
  if (!el) return;
  if (el.id === "home-tab") {
    state.home = true;
    state.thread = null;
    await post("home", {});
    return;
  }
  if (el.id === "join") {
    await post("join", { channel: state.channel });
    return;
  }
  if (el.id === "thread-close") {
    state.thread = null;
    refresh();
    return;
  }
  if (el.hasAttribute("data-channel") && el.classList.contains("nav-item")) {
    state.channel = el.getAttribute("data-channel");
    state.home = false;
    state.thread = null;
    refresh();
    return;
  }
  if (el.hasAttribute("data-thread") && !el.hasAttribute("data-action-id")) {
    state.thread = el.getAttribute("data-thread");
    refresh();
    return;
  }
  const msg = el.closest(".message");
  if (el.hasAttribute("data-react") && msg) {
    await post("react", { channel: state.channel, ts: msg.getAttribute("data-ts"), name: el.getAttribute("data-react") });
    return;
  }
  if (el.hasAttribute("data-pin") && msg) {
    await post("pin", { channel: state.channel, ts: msg.getAttribute("data-ts") });
    return;
  }
  if (el.getAttribute("data-role") === "close") {
    await post("close", { view: el.closest("form.modal").getAttribute("data-view-id") });
    return;
  }
  if (el.getAttribute("data-type") === "button" && el.hasAttribute("data-action-id")) {
    event.preventDefault();
    await blockAction(el, null);
  }
});

document.addEventListener("change", async (event) => {
  const el = event.target;
  if (el.id === "user-switcher") {
    state.user = el.value;
    localStorage.setItem("sandbox.user", state.user);
    state.thread = null;
    state.last = "";
    if (state.home) await post("home", {});
    refresh();
    return;
  }
  if (el.hasAttribute("data-shortcut") && el.value) {
    const msg = el.closest(".message");
    await post("shortcut", { channel: state.channel, ts: msg.getAttribute("data-ts"), callback_id: el.value });
    el.value = "";
    return;
  }
  // A select or a picker outside a modal's inputs acts at once, as in Slack.
  if (el.hasAttribute("data-action-id") && !el.getAttribute("name")) {
    await blockAction(el, el.value);
  }
});

document.addEventListener("submit", async (event) => {
  const form = event.target;
  event.preventDefault();
  if (form.id === "composer" || form.id === "thread-composer") {
    const box = form.querySelector("textarea");
    const text = box.value.trim();
    if (!text) return;
    box.value = "";
    await post("send", { channel: state.channel, text, thread: form.id === "thread-composer" ? state.thread : null });
    return;
  }
  if (form.classList.contains("modal")) {
    state.modalHtml = null; // the answer (errors, update, push, clear) is drawn afresh
    await post("submit", { view: form.getAttribute("data-view-id"), answers: formAnswers(form) });
  }
});

document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && event.target.matches(".composer textarea")) {
    event.preventDefault();
    event.target.form.requestSubmit();
  }
});

refresh();
setInterval(refresh, 700);
